using System.Globalization;
using Assp.Config;
using Assp.Config.Lists;

namespace Assp.Checks.EmailInterface;

/// <summary>
/// Adds and removes entries in the list file behind a "file:" option (spamLovers, noProcessing,
/// blackListedDomains), as ASSP's email interface does; the web admin's maillog actions use it too. Only file lists can be edited: an inline option value
/// belongs to assp.cfg. The snapshot keeps the old list until the configuration is reloaded.
/// </summary>
public static class ListFileEditor
{
    private static readonly Lock s_write = new();

    /// <summary>The full path of the option's list file, or null when the option is not a "file:" reference.</summary>
    public static string? PathOf(ConfigSnapshot cfg, string option)
    {
        var relative = ConfigLoader.FileReference(cfg[option]);
        if (relative is null) return null;
        return Path.IsPathRooted(relative) ? relative : Path.Combine(cfg.BaseDirectory, relative);
    }

    /// <summary>Appends the entry with a comment saying who asked, through which interface, and when.</summary>
    public static void Add(string path, string entry, string requester, DateTimeOffset now, string origin = "email interface")
    {
        lock (s_write)
        {
            var dir = Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            // A file that does not end with a line break would glue the new entry to its last line.
            bool needsBreak = File.Exists(path) && new FileInfo(path).Length > 0 && !EndsWithLineBreak(path);
            var stamp = now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            File.AppendAllText(path, (needsBreak ? "\n" : "") + $"{entry}  # added by {origin} from {requester} {stamp}\n");
        }
    }

    /// <summary>Removes every line whose entry (without its comment) is the given one; returns how many went.</summary>
    public static int Remove(string path, string entry)
    {
        lock (s_write)
        {
            if (!File.Exists(path)) return 0;
            var lines = File.ReadAllLines(path);
            var kept = lines.Where(l => !IsEntry(l, entry)).ToList();
            int removed = lines.Length - kept.Count;
            if (removed > 0)
            {
                var temp = path + ".tmp";
                File.WriteAllLines(temp, kept);
                File.Move(temp, path, overwrite: true);
            }
            return removed;
        }
    }

    private static bool IsEntry(string line, string entry)
    {
        var t = line.Trim();
        if (t.Length == 0 || t[0] is '#' or ';') return false;
        var text = ListFileReader.StripTrailingComment(t).Trim();
        // A spamLovers entry may carry a "=>weight" suffix; the address part decides.
        int arrow = text.IndexOf("=>", StringComparison.Ordinal);
        if (arrow > 0) text = text[..arrow].Trim();
        return text.Equals(entry, StringComparison.OrdinalIgnoreCase);
    }

    private static bool EndsWithLineBreak(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (stream.Length == 0) return true;
        stream.Seek(-1, SeekOrigin.End);
        return stream.ReadByte() == '\n';
    }
}
