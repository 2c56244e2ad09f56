using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Logging;
using Assp.Config.Registry;
using Assp.Config.Scheduling;

namespace Assp.Server.Tests;

public class BlockReportJobTests
{
    private static ConfigManager Manager(Dictionary<string, string> values)
    {
        var baseDir = Path.Combine(Path.GetTempPath(), "assp-server-tests", Guid.NewGuid().ToString("N"));
        BaseFolder.Initialize(baseDir, OptionRegistry.Default, values);
        return new ConfigManager(new ConfigLoader(OptionRegistry.Default), new ConfigSource(baseDir));
    }

    [Fact]
    public async Task The_BlockReportFile_runs_at_the_BlockReportSchedule_hour_and_its_cron_lines_every_minute_they_match()
    {
        using var manager = Manager(new() { ["BlockReportFile"] = "file:files/blockreportlist.txt", ["BlockReportSchedule"] = "5" });
        await using var log = new MailLog(() => manager.Current);
        await using var scheduler = new Scheduler(TimeProvider.System, TimeZoneInfo.Utc);
        MaintenanceJobs.Register(scheduler, manager, log, _ => { });
        scheduler.Start();
        var daily = Assert.Single(scheduler.Jobs, j => j.Name == "BlockReportSchedule");
        Assert.Equal(5, daily.NextRun!.Value.UtcDateTime.Hour);
        var cron = Assert.Single(scheduler.Jobs, j => j.Name == "BlockReportFileCron");
        Assert.NotNull(cron.NextRun);
        Assert.True(cron.NextRun!.Value - DateTimeOffset.UtcNow <= TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Without_a_BlockReportFile_nothing_is_scheduled()
    {
        using var manager = Manager(new() { ["BlockReportSchedule"] = "5" });
        await using var log = new MailLog(() => manager.Current);
        await using var scheduler = new Scheduler(TimeProvider.System, TimeZoneInfo.Utc);
        MaintenanceJobs.Register(scheduler, manager, log, _ => { });
        scheduler.Start();
        Assert.Null(Assert.Single(scheduler.Jobs, j => j.Name == "BlockReportSchedule").NextRun);
        Assert.Null(Assert.Single(scheduler.Jobs, j => j.Name == "BlockReportFileCron").NextRun);
    }
}
