using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Logging;
using Assp.Config.Registry;
using Assp.Config.Scheduling;

namespace Assp.Server.Tests;

public class CollectionMaintenanceJobTests
{
    [Fact]
    public async Task The_MaxFileAge_job_runs_at_the_MaxFileAgeSchedule_hour_and_cleans_the_collection()
    {
        var baseDir = Path.Combine(Path.GetTempPath(), "assp-server-tests", Guid.NewGuid().ToString("N"));
        BaseFolder.Initialize(baseDir, OptionRegistry.Default, new Dictionary<string, string>
        {
            ["MaxFileAgeSchedule"] = "3",
            ["MaxNoBayesFileAge"] = "10",
        });
        using var manager = new ConfigManager(new ConfigLoader(OptionRegistry.Default), new ConfigSource(baseDir));
        await using var log = new MailLog(() => manager.Current);
        await using var scheduler = new Scheduler(TimeProvider.System, TimeZoneInfo.Utc);
        MaintenanceJobs.Register(scheduler, manager, log, _ => { });
        scheduler.Start();

        var job = Assert.Single(scheduler.Jobs, j => j.Name == "MaxFileAge");
        Assert.Equal(3, job.NextRun!.Value.UtcDateTime.Hour);

        var okmail = Path.Combine(baseDir, "okmail");
        Directory.CreateDirectory(okmail);
        var old = Path.Combine(okmail, "old--1.eml");
        var young = Path.Combine(okmail, "young--2.eml");
        File.WriteAllText(old, "Subject: old\r\n\r\nx\r\n");
        File.WriteAllText(young, "Subject: young\r\n\r\nx\r\n");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddDays(-11));
        await scheduler.RunNowAsync("MaxFileAge");
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(young));
    }
}
