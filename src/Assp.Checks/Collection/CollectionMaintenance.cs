using Assp.Config;

namespace Assp.Checks.Collection;

/// <summary>
/// ASSP's scheduled clean-up of the collection folders (MaxFileAgeSchedule): files older than MaxNoBayesFileAge
/// days leave incomingOkMail, discarded and viruslog; with MaintBayesCollection, files older than MaxBayesFileAge leave
/// spamlog/notspamlog and older than MaxCorrectedDays leave correctedspam/correctednotspam. An age of 0 keeps the
/// newest MaxFiles files of that folder instead. A file's age is its last write time.
/// </summary>
public static class CollectionMaintenance
{
    /// <summary>Runs the clean-up as of now; returns how many files each folder option lost.</summary>
    public static IReadOnlyDictionary<string, int> Run(ConfigSnapshot cfg, DateTimeOffset now, Action<string>? log = null)
    {
        var removed = new Dictionary<string, int>(StringComparer.Ordinal);
        var noBayes = CollectFileNames.Numbers(cfg["MaxNoBayesFileAge"], 3);
        string[] noBayesFolders = ["incomingOkMail", "discarded", "viruslog"];
        for (int i = 0; i < noBayesFolders.Length; i++)
            if (noBayes[i] > 0) Count(removed, noBayesFolders[i], DeleteOlderThan(cfg, noBayesFolders[i], now - TimeSpan.FromDays(noBayes[i]), log));
        if (cfg.GetBool("MaintBayesCollection"))
        {
            long maxFiles = cfg.GetLong("MaxFiles", 14000);
            foreach (var (ageOption, folders) in new[] { ("MaxBayesFileAge", new[] { "spamlog", "notspamlog" }), ("MaxCorrectedDays", new[] { "correctedspam", "correctednotspam" }) })
            {
                var ages = CollectFileNames.Numbers(cfg[ageOption], 2);
                for (int i = 0; i < folders.Length; i++)
                {
                    int n = ages[i] > 0
                        ? DeleteOlderThan(cfg, folders[i], now - TimeSpan.FromDays(ages[i]), log)
                        : KeepNewest(cfg, folders[i], maxFiles, now, log);
                    Count(removed, folders[i], n);
                }
            }
        }
        foreach (var (option, n) in removed)
            if (n > 0) log?.Invoke($"info: deleted {n} old files from folder {cfg[option]}");
        return removed;
    }

    private static void Count(Dictionary<string, int> removed, string option, int n) =>
        removed[option] = removed.GetValueOrDefault(option) + n;

    private static int DeleteOlderThan(ConfigSnapshot cfg, string option, DateTimeOffset limit, Action<string>? log)
    {
        int n = 0;
        foreach (var file in Files(cfg, option))
            if (file.LastWriteTimeUtc < limit.UtcDateTime && Delete(file, log)) n++;
        return n;
    }

    /// <summary>Deletes the oldest files until maxFiles are left (ASSP's cleanUpMaxFiles).</summary>
    private static int KeepNewest(ConfigSnapshot cfg, string option, long maxFiles, DateTimeOffset now, Action<string>? log)
    {
        if (maxFiles <= 0) return 0;
        var files = Files(cfg, option).ToList();
        if (files.Count <= maxFiles) return 0;
        // A time in the future (a clock set wrong) does not make a file look new for ever: ASSP takes 60 days off.
        DateTime Age(FileInfo f) => f.LastWriteTimeUtc > now.UtcDateTime ? f.LastWriteTimeUtc.AddDays(-60) : f.LastWriteTimeUtc;
        int n = 0;
        foreach (var file in files.OrderBy(Age).Take(files.Count - (int)Math.Min(maxFiles, int.MaxValue)))
            if (Delete(file, log)) n++;
        return n;
    }

    private static IEnumerable<FileInfo> Files(ConfigSnapshot cfg, string option)
    {
        var dir = CorpusFolders.Resolve(cfg, option);
        if (dir is null || !Directory.Exists(dir)) return [];
        try
        {
            return new DirectoryInfo(dir).GetFiles();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static bool Delete(FileInfo file, Action<string>? log)
    {
        try
        {
            file.Delete();
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log?.Invoke($"warning: could not delete old collected file {file.FullName}: {ex.Message}");
            return false;
        }
    }
}
