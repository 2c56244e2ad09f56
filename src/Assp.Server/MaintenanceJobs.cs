using System.Globalization;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Scheduling;

namespace Assp.Server;

/// <summary>The periodic jobs of this process, on the shared scheduler, each driven by its ASSP option.</summary>
internal static class MaintenanceJobs
{
    public static void Register(Scheduler scheduler, ConfigManager manager, MailLog log, Action<string> requestRestart)
    {
        // MemoryUsageLimit (MB) checked on MemoryUsageCheckSchedule: a process grown past it restarts.
        scheduler.AddOrUpdate("MemoryUsageCheck", () => Interval(manager.Current["MemoryUsageCheckSchedule"], TimeSpan.FromMinutes(1)), _ =>
        {
            long limitMb = manager.Current.GetLong("MemoryUsageLimit", 0);
            if (limitMb <= 0) return Task.CompletedTask;
            long usedMb = Environment.WorkingSet / (1024 * 1024);
            if (usedMb > limitMb) requestRestart($"memory use {usedMb} MB is over MemoryUsageLimit {limitMb} MB");
            return Task.CompletedTask;
        }, "restart when the process uses more than MemoryUsageLimit MB");

        // RestartEvery (seconds) and ReStartSchedule (crontab or noschedule): planned restarts.
        scheduler.AddOrUpdate("RestartEvery", () => Interval(manager.Current["RestartEvery"], TimeSpan.FromSeconds(1)), _ =>
        {
            requestRestart("RestartEvery");
            return Task.CompletedTask;
        }, "restart every RestartEvery seconds");
        scheduler.AddOrUpdate("ReStartSchedule", () => Interval(manager.Current["ReStartSchedule"], TimeSpan.FromHours(1)), _ =>
        {
            requestRestart("ReStartSchedule");
            return Task.CompletedTask;
        }, "restart at the ReStartSchedule times");

        // MaxLogAgeSchedule: an hour of the day (0-23, ASSP's form) or crontab entries.
        scheduler.AddOrUpdate("MaxLogAge", () => HourOrCron(manager.Current["MaxLogAgeSchedule"]), _ =>
        {
            int removed = log.DeleteOldLogs();
            if (removed > 0) log.Write($"MaxLogAge: removed {removed} log files older than {manager.Current["MaxLogAge"]} days");
            return Task.CompletedTask;
        }, "delete rolled maillogs older than MaxLogAge days");

        // MaxFileAgeSchedule (hour 0-23 or crontab; empty: never): the collection folders' age and MaxFiles clean-up.
        scheduler.AddOrUpdate("MaxFileAge", () => HourOrCron(manager.Current["MaxFileAgeSchedule"]), _ =>
            Task.Run(() => Assp.Checks.Collection.CollectionMaintenance.Run(manager.Current, DateTimeOffset.UtcNow, log.Write)),
            "delete collected mail older than MaxNoBayesFileAge/MaxBayesFileAge/MaxCorrectedDays days (or past MaxFiles)");

        // GroupsReloadEvery (minutes): groups filled by exec: (or ldap:) lines change outside ASSP's files.
        scheduler.AddOrUpdate("GroupsReload", () => Interval(manager.Current["GroupsReloadEvery"], TimeSpan.FromMinutes(1)), _ =>
        {
            if (GroupsAreDynamic(manager.Current)) manager.Reload("GroupsReloadEvery");
            return Task.CompletedTask;
        }, "re-read Groups when it runs exec: or ldap: lines");

        BlockReportJobs.Register(scheduler, manager, log);
    }

    internal static Schedule HourOrCron(string value)
    {
        var v = value.Trim();
        if (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var hour) && hour is >= 0 and <= 23)
            return Schedule.Parse($"0 {hour} * * *", TimeSpan.FromHours(1));
        return Schedule.TryParse(v, TimeSpan.FromHours(1), out var s, out _) ? s! : Schedule.Never;
    }

    internal static Schedule Interval(string value, TimeSpan unit) =>
        Schedule.TryParse(value, unit, out var s, out _) ? s! : Schedule.Never;

    private static bool GroupsAreDynamic(ConfigSnapshot cfg)
    {
        var path = ConfigLoader.FileReference(cfg["Groups"]);
        if (path is null) return false;
        var lines = new Assp.Config.Lists.ListFileReader(cfg.BaseDirectory).ReadEntries(path, "Groups", [], keepTrailingComments: true);
        return lines.Any(l => l.Text.StartsWith("exec:", StringComparison.OrdinalIgnoreCase) || l.Text.StartsWith("ldap:", StringComparison.OrdinalIgnoreCase));
    }
}
