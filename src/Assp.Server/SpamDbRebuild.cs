using System.Globalization;
using System.Text;
using Assp.Bayes;
using Assp.Config;
using Assp.Config.Scheduling;
using Assp.Storage;

namespace Assp.Server;

/// <summary>
/// ASSP's RebuildSpamDB wired to the configuration: the corpus folders by their options (correctedspam ×2,
/// correctednotspam ×4, spamlog, notspamlog, relative to the base folder), MaxBytes, MaxFiles, DoHMM,
/// DoPrivatSpamdb with the local domains, files/disclaimer.txt, RebuildTestMode; afterwards autoCorrectCorpus, the
/// normfile and rebuildrun.txt. Used by `assp rebuild` and by the scheduled jobs (RebuildSchedule, RunRebuildNow,
/// newReportedInterval).
/// </summary>
internal static class SpamDbRebuild
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    public static RebuildOptions Options(ConfigSnapshot cfg)
    {
        string Folder(string option) => Path.GetFullPath(Path.Combine(cfg.BaseDirectory, cfg[option].Trim()));
        var folders = new List<CorpusFolder>();
        void Add(string option, bool spam, double weight)
        {
            if (cfg[option].Trim().Length > 0) folders.Add(new CorpusFolder(option, Folder(option), spam, weight));
        }
        Add("correctedspam", true, 2);
        Add("correctednotspam", false, 4);
        Add("spamlog", true, 1);
        Add("notspamlog", false, 1);
        var local = Assp.Checks.LocalDomains.For(cfg);
        string disclaimerFile = Path.Combine(cfg.BaseDirectory, "files", "disclaimer.txt");
        return new RebuildOptions
        {
            Folders = folders,
            MaxBytes = cfg.GetInt("MaxBytes", 4000),
            MaxFiles = cfg.GetInt("MaxFiles", 14000),
            // ASSP builds no valid HMM database while DoHMM is off.
            BuildHmm = cfg.GetChoice("DoHMM") != 0,
            BuildFeatures = cfg.GetChoice("BayesAlgorithm") >= 1,
            BuildRegression = cfg.GetChoice("BayesAlgorithm") == 2,
            DoPrivatSpamdb = cfg.GetChoice("DoPrivatSpamdb"),
            IsLocalDomain = local.IsLocal,
            IsLocalAddress = a => a.IndexOf('@') is var at and > 0 && local.IsLocal(a[(at + 1)..]),
            SpamAttachmentType = cfg.GetChoice("DoASSP_AFC") == 1 && cfg.GetRegex("ASSP_AFCDetectSpamAttachRe") is { Count: > 0 } spamAttachments
                ? spamAttachments.IsMatch : null,
            Disclaimer = File.Exists(disclaimerFile) ? CorpusRebuild.CompileDisclaimers(File.ReadAllText(disclaimerFile)) : null,
            TestMode = cfg.GetBool("RebuildTestMode"),
            MoveToNumbers = cfg.GetBool("doMove2Num"),
            SlowFileLog = FileTimeLimits(cfg["RebuildFileTimeLimit"]).Log,
            SlowFileMove = FileTimeLimits(cfg["RebuildFileTimeLimit"]).Move,
            SlowFileFolder = Path.Combine(cfg.BaseDirectory, "rebuild_error"),
            Extension = cfg["maillogExt"],
            ReplaceOldSpamdb = cfg.GetBool("ReplaceOldSpamdb"),
            // newReportedInterval's updates need the weights of the last full rebuild.
            KeepWeights = NewReportedValues(cfg["newReportedInterval"]).Count > 0,
        };
    }

    /// <summary>Runs a rebuild (one at a time per process) and its follow-up; returns the summary and the report text.</summary>
    public static (RebuildSummary Summary, string Report) Run(ConfigSnapshot cfg, IStore store, IProgress<RebuildProgress>? progress, CancellationToken ct)
    {
        OneAtATime.Wait(ct);
        try
        {
            var options = Options(cfg);
            var summary = CorpusRebuild.Run(options, store, progress, ct);
            LastWeights.AddOrUpdate(store, summary.Weights is { } kept && summary.Written ? new WeightsHolder(kept) : new WeightsHolder(null));
            var report = new StringBuilder();
            report.AppendLine(CultureInfo.InvariantCulture, $"{DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss} RebuildSpamDB");
            foreach (var (option, path, files) in summary.Folders) report.AppendLine(CultureInfo.InvariantCulture, $"{option} ({path}): {files} files");
            report.AppendLine(CultureInfo.InvariantCulture, $"Spam Weight:       {summary.SpamWeight:N0}");
            report.AppendLine(CultureInfo.InvariantCulture, $"Not-Spam Weight:   {summary.HamWeight:N0}");
            report.AppendLine(CultureInfo.InvariantCulture, $"Corpus norm:       {summary.Norm:0.0000} - ({summary.NormDescription})");
            report.AppendLine(CultureInfo.InvariantCulture, $"Corpus confidence: {BayesMath.CorpusConfidence(summary.Norm):0.00000000}");
            report.AppendLine(CultureInfo.InvariantCulture, $"Bayesian Pairs:    {summary.BayesRecords:N0} now in list");
            report.AppendLine(CultureInfo.InvariantCulture, $"HMM sequences:     {summary.HmmRecords:N0} now in list");
            report.AppendLine(CultureInfo.InvariantCulture, $"HELO Blacklist:    {summary.HeloRecords:N0} now in list (spamdb.helo)");
            if (!summary.Written) report.AppendLine("RebuildTestMode: the databases were not written");
            if (summary.RenamedToNumbers > 0) report.AppendLine(CultureInfo.InvariantCulture, $"doMove2Num: {summary.RenamedToNumbers} file(s) renamed to numbers");
            foreach (var slow in summary.SlowFiles)
            {
                report.Append(CultureInfo.InvariantCulture, $"file {slow.File} took {slow.Took.TotalSeconds:0.00} s (RebuildFileTimeLimit)");
                report.AppendLine(slow.MovedTo is { } moved ? " - moved to " + moved : "");
            }
            if (!options.TestMode && AutoCorrectRule.Parse(cfg["autoCorrectCorpus"]) is { } rule && options.Folders.Count > 0
                && CorpusMaintenance.AutoCorrect(rule, summary.Norm, Path.Combine(cfg.BaseDirectory, cfg["spamlog"]),
                    Path.Combine(cfg.BaseDirectory, cfg["notspamlog"]), store.Clock.GetUtcNow()) is { Deleted: > 0 } corrected)
                report.AppendLine(CultureInfo.InvariantCulture, $"auto correction for corpus: deleted {corrected.Deleted} old files from {corrected.Folder}");
            report.AppendLine(CultureInfo.InvariantCulture, $"Total processing time: {summary.Elapsed.TotalSeconds:0.0} second(s)");
            var text = report.ToString();
            TryWrite(Path.Combine(cfg.BaseDirectory, "rebuildrun.txt"), text);
            TryWrite(Path.Combine(cfg.BaseDirectory, "normfile"), string.Create(CultureInfo.InvariantCulture,
                $"{summary.Norm} {Files(summary, "correctedspam")} {Files(summary, "correctednotspam")} {Files(summary, "spamlog")} {Files(summary, "notspamlog")} 0 0 {summary.SpamWeight} {summary.HamWeight}"));
            return (summary, text);
        }
        finally { OneAtATime.Release(); }
    }

    /// <summary>RebuildFileTimeLimit "log [move]" in seconds (space or comma between; 0 or missing: that limit is off).</summary>
    public static (TimeSpan Log, TimeSpan Move) FileTimeLimits(string value)
    {
        var parts = value.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries);
        TimeSpan Seconds(int i) => parts.Length > i && double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.Zero;
        return (Seconds(0), Seconds(1));
    }

    /// <summary>The weights of the last full rebuild per store (null: that rebuild did not keep them).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IStore, WeightsHolder> LastWeights = new();

    private sealed class WeightsHolder(CorpusWeights? weights)
    {
        public CorpusWeights? Weights { get; } = weights;
    }

    /// <summary>
    /// newReportedInterval's work: the files added to the corrected folders since <paramref name="since"/> are added
    /// to the last full rebuild's weights, updating only the records they change. Without kept weights (no full
    /// rebuild in this process yet) a full rebuild runs instead, as before. Returns the files added, and the report.
    /// </summary>
    public static (int Added, bool FullRebuild, string Report) ProcessNewReported(ConfigSnapshot cfg, IStore store, DateTimeOffset since, CancellationToken ct)
    {
        if (!LastWeights.TryGetValue(store, out var holder) || holder.Weights is null)
        {
            var (summary, report) = Run(cfg, store, null, ct);
            return (summary.Folders.Sum(f => f.Files), true, report);
        }
        OneAtATime.Wait(ct);
        try
        {
            var options = Options(cfg);
            var files = new List<(string, bool, double)>();
            foreach (var folder in options.Folders.Where(f => f.Option is "correctedspam" or "correctednotspam"))
                foreach (var file in CorpusMaintenance.NewFiles(folder.Path, since))
                    files.Add((file, folder.IsSpam, folder.Weight));
            int added = CorpusRebuild.AddReported(holder.Weights, files, options, store, ct);
            var text = string.Create(CultureInfo.InvariantCulture,
                $"{DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss} processed {added} new reported file(s) into spamdb and HMMdb (corpus norm {holder.Weights.Trainer.Norm:0.0000})\n");
            return (added, false, text);
        }
        finally { OneAtATime.Release(); }
    }

    private static int Files(RebuildSummary s, string option) => s.Folders.Where(f => f.Option == option).Sum(f => f.Files);

    private static void TryWrite(string path, string text)
    {
        try { File.WriteAllText(path, text); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the report is a courtesy; the database is what counts */ }
    }

    /// <summary>
    /// The scheduled jobs: RebuildSchedule (crontab, "noschedule" = never), RunRebuildNow (runs when switched on),
    /// and newReportedInterval "count minutes": every that many minutes, a rebuild when at least count files have
    /// been added to the corrected folders since the last one (first value 0: off).
    /// </summary>
    public static void RegisterJobs(Scheduler scheduler, ConfigManager manager, IStore store, Action<string> log)
    {
        DateTimeOffset lastRun = store.Clock.GetUtcNow();
        async Task RunJob(CancellationToken ct)
        {
            var cfg = manager.Current;
            lastRun = store.Clock.GetUtcNow();
            var (summary, report) = Run(cfg, store, null, ct);
            log($"RebuildSpamDB: {summary.BayesRecords} Bayesian pairs, {summary.HmmRecords} HMM sequences, corpus norm {summary.Norm:0.0000} ({summary.NormDescription}) in {summary.Elapsed.TotalSeconds:0.0} s");
            await NotifyAsync(cfg, report, log, ct).ConfigureAwait(false);
        }
        scheduler.AddOrUpdate("RebuildSpamDB", () => Cron(manager.Current["RebuildSchedule"]), RunJob,
            "build spamdb and HMMdb from the corpus folders at the RebuildSchedule times");
        scheduler.RunJobWhenSwitchedOn(manager, "RunRebuildNow", "RebuildSpamDB");
        scheduler.AddOrUpdate("newReported", () => NewReportedSchedule(manager.Current["newReportedInterval"]), ct =>
        {
            var cfg = manager.Current;
            var (count, _) = NewReportedValues(cfg["newReportedInterval"]);
            var folders = new[] { "correctedspam", "correctednotspam" }.Select(o => Path.Combine(cfg.BaseDirectory, cfg[o]));
            if (count <= 0 || CorpusMaintenance.NewReported(folders, lastRun) < count) return Task.CompletedTask;
            var since = lastRun;
            lastRun = store.Clock.GetUtcNow();
            var (added, full, _) = ProcessNewReported(cfg, store, since, ct);
            log(full ? $"RebuildSpamDB: {added} corpus files rebuilt (no kept weights for an update of newly reported files)"
                : $"RebuildSpamDB: updated spamdb and HMMdb from {added} newly reported file(s)");
            return Task.CompletedTask;
        }, "rebuild when newReportedInterval's count of corrected mails has been reported");
    }

    /// <summary>RebuildNotify: the rebuild report (rebuildrun.txt's text) mailed to its addresses (| or , separated).</summary>
    internal static async Task NotifyAsync(ConfigSnapshot cfg, string report, Action<string> log, CancellationToken ct,
        Func<ConfigSnapshot, string, IReadOnlyList<string>, byte[], CancellationToken, Task<string?>>? send = null)
    {
        var to = cfg["RebuildNotify"].Split(['|', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (to.Length == 0) return;
        var failure = await Assp.Smtp.Notifications.LogNotifier.SendReportAsync(cfg, to, $"RebuildSpamDB-report from {cfg["myName"]}",
            $"RebuildSpamDB on host {cfg["myName"]}:\r\n\r\n{report}", ct, send).ConfigureAwait(false);
        log(failure is null ? $"info: the rebuild report was sent to {string.Join(",", to)}"
            : $"error: unable to send the rebuild report to {string.Join(",", to)} - {failure}");
    }

    private static Schedule Cron(string value)
    {
        var v = value.Trim();
        if (v.Length == 0 || v.Equals("noschedule", StringComparison.OrdinalIgnoreCase)) return Schedule.Never;
        return Schedule.TryParse(v, TimeSpan.FromHours(1), out var s, out _) ? s! : Schedule.Never;
    }

    internal static (int Count, int Minutes) NewReportedValues(string value)
    {
        var parts = value.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
        int count = parts.Length > 0 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var c) ? c : 0;
        int minutes = parts.Length > 1 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var m) && m > 0 ? m : 5;
        return (count, minutes);
    }

    private static Schedule NewReportedSchedule(string value)
    {
        var (count, minutes) = NewReportedValues(value);
        return count <= 0 ? Schedule.Never
            : Schedule.TryParse(minutes.ToString(CultureInfo.InvariantCulture), TimeSpan.FromMinutes(1), out var s, out _) ? s! : Schedule.Never;
    }
}
