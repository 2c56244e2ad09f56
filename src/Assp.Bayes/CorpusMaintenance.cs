using System.Globalization;

namespace Assp.Bayes;

/// <summary>ASSP's autoCorrectCorpus ("low-high-keep-days", default 0.6-1.4-4000-14), parsed.</summary>
public sealed record AutoCorrectRule(double LowNorm, double HighNorm, int KeepFiles, int MinDays)
{
    /// <summary>Null when the value is empty or not four numbers (the feature is off).</summary>
    public static AutoCorrectRule? Parse(string? value)
    {
        var parts = (value ?? "").Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length != 4) return null;
        if (!double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var low)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var high)
            || !int.TryParse(parts[2], CultureInfo.InvariantCulture, out var keep)
            || !int.TryParse(parts[3], CultureInfo.InvariantCulture, out var days)
            || low <= 0 || high <= low)
            return null;
        return new AutoCorrectRule(low, high, keep, days);
    }
}

/// <summary>Balancing the corpus after a rebuild (autoCorrectCorpus).</summary>
public static class CorpusMaintenance
{
    /// <summary>
    /// A corpus norm below the low bound means too much ham: the oldest files of the ham folder go; above the high
    /// bound the oldest spam files go. At most the share of files the norm is off by is removed (1 − low, or
    /// high − 1), never files younger than MinDays and never so many that fewer than KeepFiles remain.
    /// Returns the folder cleaned and how many files were deleted, or null when nothing was to do.
    /// </summary>
    public static (string Folder, int Deleted)? AutoCorrect(AutoCorrectRule rule, double norm, string spamFolder, string hamFolder, DateTimeOffset now)
    {
        (string folder, double share) = norm < rule.LowNorm ? (hamFolder, 1 - rule.LowNorm)
            : norm > rule.HighNorm ? (spamFolder, rule.HighNorm - 1) : ("", 0.0);
        if (folder.Length == 0 || !Directory.Exists(folder)) return null;
        var files = new DirectoryInfo(folder).EnumerateFiles().OrderBy(f => f.LastWriteTimeUtc).ToList();
        int removable = Math.Min((int)Math.Ceiling(files.Count * Math.Min(share, 1)), files.Count - rule.KeepFiles);
        int deleted = 0;
        var cutoff = now.UtcDateTime.AddDays(-rule.MinDays);
        foreach (var f in files)
        {
            if (deleted >= removable || f.LastWriteTimeUtc > cutoff) break;
            try { f.Delete(); deleted++; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* in use: leave it for the next run */ }
        }
        return (folder, deleted);
    }

    /// <summary>Files in the corrected folders written after <paramref name="since"/> (newReportedInterval counts them).</summary>
    public static int NewReported(IEnumerable<string> folders, DateTimeOffset since) =>
        folders.Where(Directory.Exists).Sum(f => new DirectoryInfo(f).EnumerateFiles().Count(x => x.LastWriteTimeUtc > since.UtcDateTime));

    /// <summary>The files of a folder written after <paramref name="since"/>, oldest first.</summary>
    public static IReadOnlyList<string> NewFiles(string folder, DateTimeOffset since) =>
        Directory.Exists(folder)
            ? [.. new DirectoryInfo(folder).EnumerateFiles().Where(x => x.LastWriteTimeUtc > since.UtcDateTime && !x.Name.StartsWith('.'))
                .OrderBy(x => x.LastWriteTimeUtc).Select(x => x.FullName)]
            : [];
}
