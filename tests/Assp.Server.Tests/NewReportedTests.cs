using Assp.Config;
using Assp.Config.Registry;
using Assp.Storage;

namespace Assp.Server.Tests;

/// <summary>newReportedInterval: newly reported files update the database from the last full rebuild's kept weights.</summary>
public sealed class NewReportedTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "assp-newreported-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_base, true); } catch (IOException) { }
    }

    private ConfigSnapshot Config(params (string Name, string Value)[] values)
    {
        Directory.CreateDirectory(_base);
        return new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false }
            .Load(new ConfigSource(_base, Overrides: [.. values.Select(v => KeyValuePair.Create(v.Name, v.Value))]));
    }

    private string Mail(string folder, string name, string body)
    {
        Directory.CreateDirectory(Path.Combine(_base, folder));
        var path = Path.Combine(_base, folder, name + ".eml");
        File.WriteAllText(path, $"From: someone@example.org\r\nTo: user@example.com\r\nSubject: {name}\r\n\r\n{body}\r\n");
        return path;
    }

    [Fact]
    public void Reported_files_are_added_to_the_kept_weights_and_without_them_a_full_rebuild_runs()
    {
        var cfg = Config(("newReportedInterval", "1 5"));
        for (int i = 0; i < 5; i++)
        {
            Mail("spam", "s" + i, $"buy cheap pills now with a huge discount offer {i}");
            Mail("notspam", "h" + i, $"the project meeting moved to thursday please review the notes {i}");
        }
        using var store = new MemoryStore();
        var (summary, report) = SpamDbRebuild.Run(cfg, store, null, CancellationToken.None);
        Assert.NotNull(summary.Weights);
        Assert.Contains("HELO Blacklist:", report);
        Assert.False(store.Table(StoreTables.SpamDb).ContainsKey("overdue invoice"));

        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        Mail("errors/spam", "r1", "your overdue invoice is attached open the overdue invoice");
        var (added, full, _) = SpamDbRebuild.ProcessNewReported(cfg, store, since, CancellationToken.None);
        Assert.Equal(1, added);
        Assert.False(full);
        Assert.True(store.Table(StoreTables.SpamDb).ContainsKey("overdue invoice"));

        // Another store has no kept weights (as after a restart): the same call runs a full rebuild.
        using var other = new MemoryStore();
        var (files, fullRun, _) = SpamDbRebuild.ProcessNewReported(cfg, other, since, CancellationToken.None);
        Assert.True(fullRun);
        Assert.Equal(11, files);
        Assert.True(other.Table(StoreTables.SpamDb).ContainsKey("overdue invoice"));
    }

    [Theory]
    [InlineData("0", false, false)]
    [InlineData("1", true, false)]
    [InlineData("2", true, true)]
    public void BayesAlgorithm_decides_what_the_rebuild_builds(string algorithm, bool features, bool regression)
    {
        var options = SpamDbRebuild.Options(Config(("BayesAlgorithm", algorithm)));
        Assert.Equal(features, options.BuildFeatures);
        Assert.Equal(regression, options.BuildRegression);
    }

    [Fact]
    public async Task Weights_are_kept_only_when_newReportedInterval_is_on_and_RebuildNotify_without_addresses_sends_nothing()
    {
        Assert.True(SpamDbRebuild.Options(Config(("newReportedInterval", "10 5"))).KeepWeights);
        Assert.False(SpamDbRebuild.Options(Config(("newReportedInterval", "0 5"))).KeepWeights);
        Assert.False(SpamDbRebuild.Options(Config(("ReplaceOldSpamdb", "0"))).ReplaceOldSpamdb);
        int sent = 0;
        await SpamDbRebuild.NotifyAsync(Config(("RebuildNotify", "")), "report", _ => { }, CancellationToken.None,
            (_, _, _, _, _) => { sent++; return Task.FromResult<string?>(null); });
        Assert.Equal(0, sent);
    }
}
