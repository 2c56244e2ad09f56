using System.Globalization;

namespace Assp.LoadBench;

/// <summary>What Linux's /proc says about a process: RSS, CPU time, descriptor limit, who listens on a port.</summary>
internal static class ProcFs
{
    /// <summary>A field of /proc/PID/status in kB ("VmRSS", "VmHWM"), null when unreadable.</summary>
    public static long? StatusKb(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
                var parts = line[(field.Length + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out long kb) ? kb : null;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>MB (10^6 bytes) of a /proc/PID/status kB field.</summary>
    public static double? StatusMb(int pid, string field) => StatusKb(pid, field) is { } kb ? kb * 1024 / 1e6 : null;

    /// <summary>Open file descriptors of the process (entries of /proc/PID/fd), null when unreadable.</summary>
    public static int? OpenFds(int pid)
    {
        try
        {
            int n = 0;
            foreach (var _ in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd")) n++;
            return n;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The thread count of the process (the Threads line of /proc/PID/status), null when unreadable.</summary>
    public static int? Threads(int pid) => StatusKb(pid, "Threads") is { } n ? (int)n : null;

    /// <summary>User + system CPU seconds of the process (threads included), null when unreadable.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
            return ticks / 100.0; // USER_HZ is 100 on Linux
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The soft "Max open files" limit of a process ("self" for this one), null when unknown or unlimited.</summary>
    public static long? OpenFilesLimit(string pid = "self")
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
                var parts = line["Max open files".Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out long n) ? n : null;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>The process and all its descendants (from the parent ids in /proc/PID/stat), parents first.</summary>
    public static List<int> ProcessTree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                int ppid = int.Parse(rest[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(ppid, out var list)) children[ppid] = list = [];
                list.Add(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
            }
        }
        var tree = new List<int> { root };
        for (int i = 0; i < tree.Count; i++)
        {
            if (children.TryGetValue(tree[i], out var kids)) tree.AddRange(kids);
        }
        return tree;
    }

    /// <summary>True while the process exists and is not a zombie waiting to be reaped.</summary>
    public static bool Alive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] is not ('Z' or 'X');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The process with a listening TCP socket on 127.0.0.1/0.0.0.0/:: PORT (via /proc/net/tcp and fd links).</summary>
    public static int? ListenerPid(int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        string hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            try
            {
                foreach (var line in File.ReadLines(table).Skip(1))
                {
                    var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    if (f.Length > 9 && f[3] == "0A" && f[1].EndsWith(":" + hexPort, StringComparison.Ordinal)) inodes.Add(f[9]);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        if (inodes.Count == 0) return null;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out int pid)) continue;
            try
            {
                foreach (var fd in Directory.EnumerateFiles(Path.Combine(dir, "fd")))
                {
                    var target = new FileInfo(fd).LinkTarget;
                    if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal) && inodes.Contains(target[8..^1]))
                        return pid;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return null;
    }
}
