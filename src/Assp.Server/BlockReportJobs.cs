using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Scheduling;
using Assp.Smtp.BlockReports;

namespace Assp.Server;

/// <summary>
/// The scheduled block reports of BlockReportFile: the lines without their own cron run at BlockReportSchedule (an hour
/// 0-23 or cron entries); lines with a cron field are checked every minute and run when it matches. BlockReportNow
/// runs all lines once when a configuration with it switched on is applied.
/// </summary>
internal static class BlockReportJobs
{
    public static void Register(Scheduler scheduler, ConfigManager manager, MailLog log)
    {
        void Write(string line) => log.Write(line);

        scheduler.AddOrUpdate("BlockReportSchedule", () => BlockReportFileSet(manager.Current) ? MaintenanceJobs.HourOrCron(manager.Current["BlockReportSchedule"]) : Schedule.Never,
            ct => RunAsync(manager.Current, atSchedule: true, DateTime.Now, Write, ct),
            "send the BlockReportFile reports at BlockReportSchedule");

        ConfigSnapshot? lastNow = null;
        scheduler.AddOrUpdate("BlockReportFileCron", () => BlockReportFileSet(manager.Current) ? Schedule.Parse("* * * * *", TimeSpan.FromMinutes(1)) : Schedule.Never, async ct =>
        {
            var cfg = manager.Current;
            if (cfg.GetBool("BlockReportNow") && !ReferenceEquals(cfg, lastNow))
            {
                lastNow = cfg;
                var all = BlockReportJob.ReadFile(cfg, Write);
                Write($"BlockReportNow: running {all.Count} BlockReportFile line(s)");
                await BlockReportService.RunScheduledAsync(cfg, all, DateTimeOffset.UtcNow, Write, ct).ConfigureAwait(false);
            }
            var now = DateTime.Now;
            await RunAsync(cfg, atSchedule: false, new DateTime(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, DateTimeKind.Local), Write, ct).ConfigureAwait(false);
        }, "send the BlockReportFile reports that have their own cron field");
    }

    private static bool BlockReportFileSet(ConfigSnapshot cfg) => ConfigLoader.FileReference(cfg["BlockReportFile"]) is not null;

    private static async Task RunAsync(ConfigSnapshot cfg, bool atSchedule, DateTime localMinute, Action<string> log, CancellationToken ct)
    {
        var jobs = BlockReportService.DueJobs(cfg, atSchedule, localMinute, log);
        if (jobs.Count == 0) return;
        int sent = await BlockReportService.RunScheduledAsync(cfg, jobs, DateTimeOffset.UtcNow, log, ct).ConfigureAwait(false);
        log($"block reports: {jobs.Count} BlockReportFile line(s) run, {sent} report(s) sent");
    }
}
