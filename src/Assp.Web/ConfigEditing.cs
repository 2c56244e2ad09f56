using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Registry;

namespace Assp.Web;

/// <summary>The outcome of applying option changes: what changed, the problems, and the options that need a restart.</summary>
public sealed record ApplyResult(IReadOnlyList<string> Changed, IReadOnlyList<ConfigIssue> Problems, IReadOnlyList<string> NeedRestart)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>A list file as the editor shows it.</summary>
public sealed record ListFile(string Option, string RelativePath, string FullPath, string Text, bool Exists);

/// <summary>
/// Changing the configuration from the web: option values (written to assp.cfg by ConfigManager, then reloaded)
/// and the list files that `file:` values point at, checked by the same parsers the proxy uses before saving.
/// </summary>
public sealed partial class ConfigEditing(ConfigManager manager)
{
    public static readonly TimeSpan FilterTimeout = TimeSpan.FromMilliseconds(200);
    public const int MaxListFileBytes = 4 * 1024 * 1024;

    /// <summary>True when a change of this option only takes effect after a restart of the process.</summary>
    public static bool NeedsRestart(OptionDefinition o) =>
        // The SMTP listeners are bound once at start (as root, before the privilege drop); the web admin rebinds itself.
        (o.Kind == OptionKind.Listen && o.Name is not "webAdminPort")
        || o.Name is "runAsUser" or "runAsGroup" or "runAsGroupSupplementary" or "ChangeRoot" or "logfile" or "AsADaemon" or "enableINET6"
            or "webStatPort" or "enableWebStatSSL" or "DisableSMTPNetworking"
        || RestartWords().IsMatch(o.Description);

    [GeneratedRegex(@"\b(restart (is )?needed|needs a restart|after a restart|restart is advised)\b", RegexOptions.IgnoreCase)]
    private static partial Regex RestartWords();

    /// <summary>Options whose name matches <paramref name="filter"/>: a regular expression (with a timeout), else plain text.</summary>
    public static IEnumerable<OptionDefinition> Filter(OptionRegistry registry, string? filter)
    {
        if (string.IsNullOrWhiteSpace(filter)) return registry.Options;
        Regex? re = null;
        try
        {
            re = new Regex(filter, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, FilterTimeout);
        }
        catch (ArgumentException)
        {
        }
        return registry.Options.Where(o =>
        {
            if (re is null) return o.Name.Contains(filter, StringComparison.OrdinalIgnoreCase);
            try
            {
                return re.IsMatch(o.Name);
            }
            catch (RegexMatchTimeoutException)
            {
                return false;
            }
        }).ToList();
    }

    /// <summary>Applies the values that differ from the current ones; nothing is written when one is invalid.</summary>
    public ApplyResult Apply(IEnumerable<KeyValuePair<string, string>> posted)
    {
        var cfg = manager.Current;
        var changes = new List<KeyValuePair<string, string>>();
        var problems = new List<ConfigIssue>();
        foreach (var (name, raw) in posted)
        {
            var def = cfg.Registry.Resolve(name, out _);
            if (def is null)
            {
                problems.Add(new ConfigIssue(IssueSeverity.Error, name, raw, "no such option"));
                continue;
            }
            var value = def.Kind == OptionKind.Password ? raw : raw.Trim();
            if (value == cfg[def.Name]) continue;
            // An unticked checkbox posts 0; an option stored empty is off too, so that is no change.
            if (def.Kind == OptionKind.Bool && value is "" or "0" && cfg[def.Name] is "" or "0") continue;
            changes.Add(new(def.Name, value));
        }
        if (problems.Count > 0) return new ApplyResult([], problems, []);
        if (changes.Count == 0) return new ApplyResult([], [], []);
        var issues = manager.SetValues(changes);
        if (issues.Count > 0) return new ApplyResult([], issues, []);
        var after = manager.Current;
        // Problems found while loading (a list entry that does not parse) are reported for the changed options.
        var loadIssues = after.Issues.Where(i => i.Severity == IssueSeverity.Error && changes.Any(c => c.Key == i.Option)).ToList();
        var restart = changes.Select(c => cfg.Registry.Get(c.Key)).Where(NeedsRestart).Select(d => d.Name).ToList();
        return new ApplyResult(changes.Select(c => c.Key).ToList(), loadIssues, restart);
    }

    /// <summary>
    /// The list file an option's `file:` value names, confined to the base folder. Returns null with a reason when
    /// the option has no file or the path leaves the base folder.
    /// </summary>
    public ListFile? FileOf(string option, out string? problem)
    {
        var cfg = manager.Current;
        var def = cfg.Registry.Resolve(option, out _);
        problem = null;
        if (def is null)
        {
            problem = $"no option '{option}'";
            return null;
        }
        var relative = ConfigLoader.FileReference(cfg[def.Name]);
        if (relative is null)
        {
            problem = $"{def.Name} is not set to a file: value";
            return null;
        }
        var full = Confine(cfg.BaseDirectory, relative);
        if (full is null)
        {
            problem = $"{def.Name}: '{relative}' is outside the base folder {cfg.BaseDirectory}";
            return null;
        }
        bool exists = File.Exists(full);
        var text = exists ? File.ReadAllText(full) : "";
        return new ListFile(def.Name, relative, full, text, exists);
    }

    /// <summary>
    /// The absolute path of <paramref name="relative"/> when it really stays inside <paramref name="baseDir"/>, else
    /// null: "..", absolute names elsewhere, NUL bytes and symbolic links (of the file or of any folder on the way)
    /// that lead out are all refused.
    /// </summary>
    public static string? Confine(string baseDir, string relative)
    {
        if (relative.Contains('\0')) return null;
        var root = Path.GetFullPath(baseDir).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        string full;
        try
        {
            full = Path.GetFullPath(Path.IsPathRooted(relative) ? relative : Path.Combine(root, relative));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
        if (!full.StartsWith(root, StringComparison.Ordinal)) return null;
        return SafePaths.IsInside(full, root) ? full : null;
    }

    /// <summary>
    /// Checks <paramref name="text"/> as the content of <paramref name="option"/>'s list file with the proxy's own
    /// parsers (a trial load of the whole configuration with the new text in place), and saves it when it has no
    /// errors. Every option that reads the same file is checked.
    /// </summary>
    public (bool Saved, IReadOnlyList<ConfigIssue> Problems) SaveFile(string option, string text)
    {
        var file = FileOf(option, out var problem);
        if (file is null) return (false, [new ConfigIssue(IssueSeverity.Error, option, null, problem!)]);
        if (text.Length > MaxListFileBytes) return (false, [new ConfigIssue(IssueSeverity.Error, file.Option, null, "the file is too large")]);
        text = text.Replace("\r\n", "\n");
        var cfg = manager.Current;
        var dir = Path.GetDirectoryName(file.FullPath)!;
        Directory.CreateDirectory(dir);
        var trial = Path.Combine(dir, $".assp-check-{Guid.NewGuid():N}.txt");
        var trialRelative = Path.GetRelativePath(cfg.BaseDirectory, trial).Replace('\\', '/');
        try
        {
            File.WriteAllText(trial, text);
            var users = cfg.Registry.Options.Where(o => ConfigLoader.FileReference(cfg[o.Name]) is { } r
                && Confine(cfg.BaseDirectory, r) == file.FullPath).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            var overrides = (manager.Source.Overrides ?? []).Where(o => !users.Contains(o.Key))
                .Concat(users.Select(u => new KeyValuePair<string, string>(u, "file:" + trialRelative))).ToList();
            // No exec: lines and no group exports while trying: the check must have no side effects.
            var loader = new ConfigLoader(cfg.Registry) { ExportGroups = false, AllowExec = false };
            var loaded = loader.Load(manager.Source with { Overrides = overrides });
            var errors = loaded.Issues.Where(i => i.Severity == IssueSeverity.Error && i.Option is not null && users.Contains(i.Option))
                .Select(i => i with { File = i.File is null ? null : file.RelativePath }).ToList();
            if (errors.Count > 0) return (false, errors);
        }
        finally
        {
            try { File.Delete(trial); } catch (IOException) { }
        }
        var temp = file.FullPath + ".new";
        File.WriteAllText(temp, text);
        File.Move(temp, file.FullPath, overwrite: true);
        manager.Reload($"{file.RelativePath} edited in the web admin");
        return (true, []);
    }
}
