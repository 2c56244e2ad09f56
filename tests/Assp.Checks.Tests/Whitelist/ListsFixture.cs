using Assp.Checks.Whitelist;
using Assp.Storage;

namespace Assp.Checks.Tests.Whitelist;

/// <summary>The learned lists on one in-memory store with a hand-moved clock.</summary>
internal sealed class ListsFixture
{
    public const string LocalDomain = "local.com";

    public ManualClock Clock { get; } = new();
    public MemoryStore Store { get; }
    public WhitelistDb White { get; }
    public Redlist Red { get; }
    public PersonalBlacklist PersBlack { get; }
    public WhitelistDecider Decider { get; }
    public WhitelistLearner Learner { get; }
    public WhitelistEditor Editor { get; }

    public ListsFixture()
    {
        Store = new MemoryStore(Clock);
        White = new WhitelistDb(Store);
        Red = new Redlist(Store);
        PersBlack = new PersonalBlacklist(Store);
        Decider = new WhitelistDecider(White, Red);
        Learner = new WhitelistLearner(White, Red);
        Editor = new WhitelistEditor(White, Red, PersBlack);
    }

    /// <summary>local.com and other-local.com are the local domains.</summary>
    public static bool IsLocal(string address)
    {
        var d = WhitelistAddress.Domain(address.ToLowerInvariant());
        return d is LocalDomain or "other-local.com";
    }

    public IStoreTable WhiteTable => Store.Table(StoreTables.Whitelist);

    public string? WhiteValue(string key) => WhiteTable.TryGetValue(key, out var v) ? v : null;
}
