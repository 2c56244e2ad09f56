using System.Globalization;
using Assp.Checks.Whitelist;

namespace Assp.Checks.Tests.Whitelist;

public class WhitelistDbTests
{
    private const string Sender = "bob@remote.com";
    private const string Alice = "alice@local.com";
    private const string Carol = "carol@local.com";

    [Fact]
    public void AddWritesPrivateDomainAndGlobalEntriesInAsspLayout()
    {
        var f = new ListsFixture();
        var keys = f.White.Add("<Bob@Remote.COM>", "Alice@Local.com");
        Assert.Equal(["bob@remote.com,alice@local.com", "bob@remote.com,@local.com", "bob@remote.com"], keys);
        var now = f.Clock.UnixNow.ToString(CultureInfo.InvariantCulture);
        foreach (var k in keys) Assert.Equal(now, f.WhiteValue(k));
        Assert.Equal(3, f.WhiteTable.Count);
    }

    [Theory]
    [InlineData("@local.com", new[] { "bob@remote.com,@local.com", "bob@remote.com" })]
    [InlineData(null, new[] { "bob@remote.com" })]
    [InlineData("", new[] { "bob@remote.com" })]
    public void AddWithDomainOrNoRecipient(string? recipient, string[] expected)
    {
        var f = new ListsFixture();
        Assert.Equal(expected, f.White.Add(Sender, recipient));
    }

    [Fact]
    public void BatvTagIsStrippedFromKeys()
    {
        var f = new ListsFixture();
        f.White.Add("prvs=1234abcd=bob@remote.com");
        Assert.NotNull(f.WhiteValue("bob@remote.com"));
        Assert.True(f.White.IsWhite("PRVS=9999ffff=Bob@Remote.com", null, WhitelistPrivacy.GlobalAndPrivate));
        Assert.Equal("srs0=abc=de=remote.com=bob@fwd.com", WhitelistAddress.Normalize("SRS0=abc=de=remote.com=bob@fwd.com"));
    }

    /// <summary>Which stored entries whitelist bob@remote.com for alice@local.com at each privacy level.</summary>
    [Theory]
    // entries (key suffix after "bob@remote.com"; "" = global; "!x" = removal mark), L0, L1, L2
    [InlineData(new[] { "" }, true, false, false)]
    [InlineData(new[] { ",@local.com" }, false, true, false)]
    [InlineData(new[] { ",alice@local.com" }, true, true, true)]
    [InlineData(new[] { ",carol@local.com" }, false, false, false)]
    [InlineData(new[] { ",@other.com" }, false, false, false)]
    [InlineData(new[] { "", ",@local.com", "!,alice@local.com" }, false, false, false)]
    [InlineData(new[] { "", ",@local.com", "!,carol@local.com" }, true, true, false)]
    [InlineData(new[] { "!" }, false, false, false)]
    [InlineData(new[] { "!,@local.com", ",alice@local.com" }, true, true, true)]
    public void QueryFollowsPrivacyLevel(string[] entries, bool level0, bool level1, bool level2)
    {
        var f = new ListsFixture();
        long now = f.Clock.UnixNow;
        foreach (var e in entries)
        {
            bool removed = e.StartsWith('!');
            var key = Sender + (removed ? e[1..] : e);
            f.WhiteTable.Set(key, (removed ? now + WhitelistDb.RemovedOffset : now).ToString(CultureInfo.InvariantCulture));
        }
        Assert.Equal(level0, f.White.IsWhite(Sender, Alice, WhitelistPrivacy.GlobalAndPrivate));
        Assert.Equal(level1, f.White.IsWhite(Sender, Alice, WhitelistPrivacy.DomainAndPrivate));
        Assert.Equal(level2, f.White.IsWhite(Sender, Alice, WhitelistPrivacy.PrivateOnly));
    }

    [Theory]
    [InlineData("0", true, false)]
    [InlineData("1", false, true)]
    [InlineData("2", false, false)]
    public void QueryReadsThePrivacyLevelFromTheConfig(string level, bool globalCounts, bool domainCounts)
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("WhitelistPrivacyLevel", level));
        f.White.Add(Sender, Alice);
        Assert.True(f.White.IsWhite(cfg, Sender, Alice));
        Assert.Equal(globalCounts || domainCounts, f.White.IsWhite(cfg, Sender, Carol));
        Assert.Equal(globalCounts, f.White.IsWhite(cfg, Sender, "dave@elsewhere-local.org"));
    }

    [Fact]
    public void PrivateRemovalLeavesGlobalAndDomainEntries()
    {
        var f = new ListsFixture();
        f.White.Add(Sender, Alice);
        Assert.Equal(["bob@remote.com,alice@local.com"], f.White.Remove(Sender, Alice));
        Assert.Equal(WhitelistEntryState.Removed, f.White.StateOf("bob@remote.com,alice@local.com"));
        Assert.Equal(WhitelistEntryState.White, f.White.StateOf("bob@remote.com,@local.com"));
        Assert.Equal(WhitelistEntryState.White, f.White.StateOf("bob@remote.com"));
        foreach (var level in Enum.GetValues<WhitelistPrivacy>())
            Assert.False(f.White.IsWhite(Sender, Alice, level));
        Assert.True(f.White.IsWhite(Sender, Carol, WhitelistPrivacy.GlobalAndPrivate));
        Assert.True(f.White.IsWhite(Sender, Carol, WhitelistPrivacy.DomainAndPrivate));
        Assert.False(f.White.IsWhite(Sender, Carol, WhitelistPrivacy.PrivateOnly));
    }

    [Fact]
    public void PrivateAdditionAfterPrivateRemovalWhitelistsAgain()
    {
        var f = new ListsFixture();
        f.White.Add(Sender, Alice);
        f.White.Remove(Sender, Alice);
        f.White.Add(Sender, Alice);
        Assert.True(f.White.IsWhite(Sender, Alice, WhitelistPrivacy.PrivateOnly));
    }

    [Fact]
    public void GlobalRemovalDropsEverythingAndIsNotRevivedByAPrivateAddition()
    {
        var f = new ListsFixture();
        f.White.Add(Sender, Alice);
        f.White.Add(Sender, "erin@other-local.com");
        var removed = f.White.Remove(Sender);
        Assert.Equal(5, removed.Count);
        Assert.Equal(WhitelistEntryState.Removed, f.White.StateOf(Sender));
        Assert.Equal(1, f.WhiteTable.Count);

        var written = f.White.Add(Sender, Carol);
        Assert.Equal(["bob@remote.com,carol@local.com", "bob@remote.com,@local.com"], written);
        Assert.Equal(WhitelistEntryState.Removed, f.White.StateOf(Sender));
        Assert.False(f.White.IsWhite(Sender, "dave@other-local.com", WhitelistPrivacy.GlobalAndPrivate));
        Assert.True(f.White.IsWhite(Sender, Carol, WhitelistPrivacy.GlobalAndPrivate));

        // An explicit global addition (GUI, admin) clears the mark.
        f.White.Add(Sender);
        Assert.True(f.White.IsWhite(Sender, "dave@other-local.com", WhitelistPrivacy.GlobalAndPrivate));
    }

    [Fact]
    public void DomainRemovalDropsThatDomainsEntriesAndIsNotRevivedByAPrivateAddition()
    {
        var f = new ListsFixture();
        f.White.Add(Sender, Alice);
        f.White.Add(Sender, "erin@other-local.com");
        var removed = f.White.Remove(Sender, "@local.com");
        Assert.Equal(["bob@remote.com,@local.com", "bob@remote.com,alice@local.com"], removed.Order(StringComparer.Ordinal));
        Assert.Null(f.WhiteValue("bob@remote.com,alice@local.com"));
        Assert.Equal(WhitelistEntryState.White, f.White.StateOf("bob@remote.com,erin@other-local.com"));
        Assert.Equal(WhitelistEntryState.White, f.White.StateOf(Sender));

        f.White.Add(Sender, Carol);
        Assert.Equal(WhitelistEntryState.Removed, f.White.StateOf("bob@remote.com,@local.com"));
        Assert.False(f.White.IsWhite(Sender, "dave@local.com", WhitelistPrivacy.DomainAndPrivate));
        Assert.True(f.White.IsWhite(Sender, "dave@local.com", WhitelistPrivacy.GlobalAndPrivate));
        Assert.True(f.White.IsWhite(Sender, Carol, WhitelistPrivacy.DomainAndPrivate));

        // A domain addition clears the domain mark.
        f.White.Add(Sender, "@local.com");
        Assert.True(f.White.IsWhite(Sender, "dave@local.com", WhitelistPrivacy.DomainAndPrivate));
    }

    [Fact]
    public void AsspFileValuesAreReadAsTheyAre()
    {
        var f = new ListsFixture();
        f.WhiteTable.Set("bob@remote.com", "1700000000");
        f.WhiteTable.Set("bob@remote.com,alice@local.com", "11709999999");
        f.WhiteTable.Set("eve@remote.com", "0");
        Assert.True(f.White.IsWhite(Sender, Carol, WhitelistPrivacy.GlobalAndPrivate));
        Assert.False(f.White.IsWhite(Sender, Alice, WhitelistPrivacy.GlobalAndPrivate));
        Assert.False(f.White.IsWhite("eve@remote.com", null, WhitelistPrivacy.GlobalAndPrivate));
        var entries = f.White.EntriesOf(Sender).OrderBy(e => e.Key).ToList();
        Assert.Equal(new WhitelistEntry("bob@remote.com", WhitelistEntryState.White, 1700000000), entries[0]);
        Assert.Equal(new WhitelistEntry("bob@remote.com,alice@local.com", WhitelistEntryState.Removed, 1710000000), entries[1]);
    }

    [Theory]
    // days idle, MaxWhitelistDays, purged?
    [InlineData(364, "365", false)]
    [InlineData(365, "365", true)]
    [InlineData(400, "0", false)]
    [InlineData(31, "30", true)]
    public void PurgeDropsIdleEntries(int idleDays, string maxDays, bool purged)
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("MaxWhitelistDays", maxDays));
        f.White.Add(Sender, Alice);
        f.Clock.Advance(TimeSpan.FromDays(idleDays));
        int n = f.White.PurgeExpired(cfg);
        Assert.Equal(purged ? 3 : 0, n);
        Assert.Equal(!purged, f.White.IsWhite(Sender, Alice, WhitelistPrivacy.PrivateOnly));
    }

    [Fact]
    public void RefreshedEntriesSurviveThePurge()
    {
        var f = new ListsFixture();
        f.White.Add(Sender, Alice);
        f.Clock.Advance(TimeSpan.FromDays(200));
        f.White.Add(Sender, Alice);
        f.Clock.Advance(TimeSpan.FromDays(200));
        Assert.Equal(0, f.White.PurgeExpired(365));
        Assert.True(f.White.IsWhite(Sender, Alice, WhitelistPrivacy.PrivateOnly));
    }

    [Fact]
    public void RemovalMarksExpireMaxWhitelistDaysAfterTheRemoval()
    {
        var f = new ListsFixture();
        f.White.Add(Sender, Alice);
        f.Clock.Advance(TimeSpan.FromDays(100));
        f.White.Remove(Sender, Alice);
        f.Clock.Advance(TimeSpan.FromDays(300));
        Assert.Equal(2, f.White.PurgeExpired(365));   // the domain and global entries were idle 400 days
        Assert.Equal(WhitelistEntryState.Removed, f.White.StateOf("bob@remote.com,alice@local.com"));
        f.Clock.Advance(TimeSpan.FromDays(65));
        Assert.Equal(1, f.White.PurgeExpired(365));
        Assert.Equal(0, f.WhiteTable.Count);
    }

    [Fact]
    public void ValuesThatAreNoTimestampsAreNeverPurged()
    {
        var f = new ListsFixture();
        f.WhiteTable.Set("old@remote.com", "12345");
        f.WhiteTable.Set("odd@remote.com", "yes");
        f.Clock.Advance(TimeSpan.FromDays(5000));
        Assert.Equal(0, f.White.PurgeExpired(1));
        Assert.True(f.White.IsWhite("odd@remote.com", null, WhitelistPrivacy.GlobalAndPrivate));
    }
}
