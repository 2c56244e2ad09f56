using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Scheduling;
using Assp.Storage;

namespace Assp.Server;

/// <summary>
/// The decision engine of one instance with what it stands on: the store of ASSP's databases, the PenaltyBox,
/// the address databases, NotSpamTags, and their maintenance jobs.
/// </summary>
internal sealed class DecisionServices : IDisposable
{
    public IStore Store { get; }
    public DecisionEngine Engine { get; }
    public DecisionPipeline Pipeline { get; }

    private DecisionServices(IStore store, IIpReputation ip, IAddressReputation addresses, bool readOnly)
    {
        Store = store;
        var tags = new NotSpamTags(store);
        Engine = readOnly
            ? new DecisionEngine(new ReadOnlyIpReputation(ip), new ReadOnlyAddressReputation(addresses), null)
            : new DecisionEngine(ip, addresses, tags);
        Pipeline = new DecisionPipeline(Engine);
    }

    /// <summary>The path of the instance's database file.</summary>
    public static string StorePath(ConfigSnapshot cfg) => Path.Combine(cfg.BaseDirectory, "data", "assp.db");

    public static DecisionServices Open(ConfigSnapshot cfg) => Create(cfg, OpenStore(cfg), readOnly: false);

    /// <summary>For the analyzer: the instance's data read, never changed.</summary>
    public static DecisionServices OpenForAnalysis(ConfigSnapshot cfg) => Create(cfg, OpenStore(cfg), readOnly: true);

    private static IStore OpenStore(ConfigSnapshot cfg) => new MemoryStore();

    private static DecisionServices Create(ConfigSnapshot cfg, IStore store, bool readOnly) =>
        new(store, NoIpReputation.Instance, NoAddressReputation.Instance, readOnly);

    /// <summary>The databases' expiry and export jobs on the shared scheduler.</summary>
    public void RegisterJobs(Scheduler scheduler, ConfigManager manager, MailLog log)
    {
        scheduler.AddOrUpdate("NotSpamTagCleanup", () => Schedule.Parse("17 4 * * *", TimeSpan.FromHours(1)), _ =>
        {
            if (Engine.NotSpamTags is { } tags) tags.Purge(DateTimeOffset.UtcNow);
            return Task.CompletedTask;
        }, "forget used NotSpamTags after 30 days");
    }

    public void Dispose() => Store.Dispose();
}
