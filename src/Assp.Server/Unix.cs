using System.Runtime.InteropServices;

namespace Assp.Server;

/// <summary>The few POSIX calls the service needs that .NET does not offer (signals to other processes, identity).</summary>
internal static partial class Unix
{
    public const int SIGHUP = 1;
    public const int SIGTERM = 15;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setuid(uint uid);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setgid(uint gid);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setgroups(nint size, uint[] list);

    [LibraryImport("libc")]
    public static partial uint geteuid();

    /// <summary>chown that never follows a symbolic link: a link planted in a folder cannot hand out its target.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int lchown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);

    /// <summary>chown -R with lchown; inaccessible entries are skipped.</summary>
    public static void ChownTree(string root, uint uid, uint gid)
    {
        lchown(root, uid, gid);
        if (!Directory.Exists(root) || File.GetAttributes(root).HasFlag(FileAttributes.ReparsePoint)) return;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (var entry in Directory.EnumerateFileSystemEntries(root, "*", options)) lchown(entry, uid, gid);
    }

    public static bool IsRoot => geteuid() == 0;

    /// <summary>True when a process with that id exists (signal 0 probes without sending anything).</summary>
    public static bool IsAlive(int pid) => pid > 0 && (kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == 1 /* EPERM: exists */);

    /// <summary>User id, primary group id and home of a user name or numeric id, read from /etc/passwd.</summary>
    public static (uint Uid, uint Gid)? LookupUser(string name)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var f = line.Split(':');
            if (f.Length < 4) continue;
            if (f[0] == name || f[2] == name) return (uint.Parse(f[2]), uint.Parse(f[3]));
        }
        return null;
    }

    /// <summary>Group id of a group name or numeric id, read from /etc/group.</summary>
    public static uint? LookupGroup(string name)
    {
        foreach (var line in File.ReadLines("/etc/group"))
        {
            var f = line.Split(':');
            if (f.Length < 3) continue;
            if (f[0] == name || f[2] == name) return uint.Parse(f[2]);
        }
        return null;
    }
}
