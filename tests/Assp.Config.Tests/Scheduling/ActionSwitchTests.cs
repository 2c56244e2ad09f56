using Assp.Config.Files;
using Assp.Config.Registry;
using Assp.Config.Scheduling;

namespace Assp.Config.Tests.Scheduling;

public class ActionSwitchTests
{
    [Fact]
    public async Task JobRunsWhenTheSwitchIsOnAtStartAndWhenAReloadTurnsItOn()
    {
        var dir = Directory.CreateTempSubdirectory("assp-switch-").FullName;
        try
        {
            BaseFolder.Initialize(dir, OptionRegistry.Default, new Dictionary<string, string> { ["forceLDAPcrossCheck"] = "1" });
            var manager = new ConfigManager(new ConfigLoader(OptionRegistry.Default), new ConfigSource(dir));
            await using var scheduler = new Scheduler(TimeProvider.System);
            int runs = 0;
            scheduler.AddOrUpdate("LDAPcrossCheck", () => Schedule.Never, _ => { Interlocked.Increment(ref runs); return Task.CompletedTask; });
            scheduler.RunJobWhenSwitchedOn(manager, "forceLDAPcrossCheck", "LDAPcrossCheck");
            await scheduler.WhenIdleAsync();
            Assert.Equal(1, runs);

            manager.Reload("still on");                // unchanged: no second run
            await scheduler.WhenIdleAsync();
            Assert.Equal(1, runs);

            var cfgPath = manager.Source.ResolvedConfigPath;
            File.WriteAllText(cfgPath, File.ReadAllText(cfgPath).Replace("forceLDAPcrossCheck:=1", "forceLDAPcrossCheck:=0"));
            manager.Reload("off");
            Assert.False(manager.Current.GetBool("forceLDAPcrossCheck"));
            File.WriteAllText(cfgPath, File.ReadAllText(cfgPath).Replace("forceLDAPcrossCheck:=0", "forceLDAPcrossCheck:=1"));
            manager.Reload("on again");
            await scheduler.WhenIdleAsync();
            Assert.Equal(2, runs);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
