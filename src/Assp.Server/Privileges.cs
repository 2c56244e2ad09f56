using Assp.Config;

namespace Assp.Server;

/// <summary>
/// runAsUser / runAsGroup / runAsGroupSupplementary: after the listeners are bound (port 25 needs root), the process
/// becomes the configured user for good. The folders it writes to are handed to that user first.
/// </summary>
internal static class Privileges
{
    /// <summary>Folders under the base the running proxy writes to.</summary>
    private static readonly string[] s_writable = ["logs", "files", "tmp", "certs", "pb", "notes", "data"];

    public static string? Drop(ConfigSnapshot cfg, Action<string> log)
    {
        var userName = cfg["runAsUser"].Trim();
        var groupName = cfg["runAsGroup"].Trim();
        if (userName.Length == 0 && groupName.Length == 0) return null;
        if (!OperatingSystem.IsLinux()) return "runAsUser/runAsGroup need Linux";
        if (!Unix.IsRoot) return $"runAsUser/runAsGroup: not running as root, so the identity cannot change (kept as is)";
        var user = userName.Length > 0 ? Unix.LookupUser(userName) : null;
        if (userName.Length > 0 && user is null) return $"runAsUser: no user '{userName}' on this system; still running as root";
        uint? gid = groupName.Length > 0 ? Unix.LookupGroup(groupName) : user?.Gid;
        if (groupName.Length > 0 && gid is null) return $"runAsGroup: no group '{groupName}' on this system; still running as root";

        var extra = new List<uint>();
        foreach (var g in cfg["runAsGroupSupplementary"].Split([',', '|', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            var id = Unix.LookupGroup(g);
            if (id is null) return $"runAsGroupSupplementary: no group '{g}'; still running as root";
            extra.Add(id.Value);
        }

        uint ownerUid = user?.Uid ?? 0;
        uint ownerGid = gid ?? 0;
        foreach (var folder in s_writable.Select(f => Path.Combine(cfg.BaseDirectory, f)).Append(Path.Combine(cfg.BaseDirectory, "assp.cfg"))
                     .Concat(CollectionFolders(cfg)))
        {
            ChownTree(folder, ownerUid, ownerGid);
        }
        ChownTree(cfg.BaseDirectory, ownerUid, ownerGid, recursive: false);

        // Order matters: groups first, while still root; the user last, after which there is no way back.
        if (gid is not null)
        {
            if (Unix.setgroups(extra.Count, extra.ToArray()) != 0) return "setgroups failed; still running as root";
            if (Unix.setgid(gid.Value) != 0) return "setgid failed; still running as root";
        }
        if (user is not null && Unix.setuid(user.Value.Uid) != 0) return "setuid failed; still running as root";
        log($"running as user {(userName.Length > 0 ? userName : "root")} group {(groupName.Length > 0 ? groupName : gid?.ToString() ?? "root")} from now on");
        return null;
    }

    private static IEnumerable<string> CollectionFolders(ConfigSnapshot cfg) =>
        new[] { "spamlog", "notspamlog", "incomingOkMail", "discarded", "viruslog", "correctedspam", "correctednotspam", "resendmail" }
            .Select(o => cfg[o].Trim()).Where(v => v.Length > 0).Select(v => Path.GetFullPath(Path.Combine(cfg.BaseDirectory, v)));

    private static void ChownTree(string path, uint uid, uint gid, bool recursive = true)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) return;
        if (recursive) Unix.ChownTree(path, uid, gid);
        else Unix.lchown(path, uid, gid);
    }
}
