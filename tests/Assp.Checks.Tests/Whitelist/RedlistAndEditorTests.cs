using Assp.Checks.Whitelist;
using Assp.Storage;

namespace Assp.Checks.Tests.Whitelist;

public class RedlistAndEditorTests
{
    private const string Alice = "alice@local.com";
    private const string Bob = "bob@remote.com";

    [Fact]
    public void RedlistKeysAreLowerCaseAddressesWithTheTime()
    {
        var f = new ListsFixture();
        Assert.True(f.Red.Add("<Bob@Remote.COM>"));
        Assert.False(f.Red.Add(Bob));
        Assert.True(f.Store.Table(StoreTables.Redlist).TryGetValue(Bob, out var v));
        Assert.Equal(f.Clock.UnixNow.ToString(), v);
        Assert.True(f.Red.Contains("BOB@remote.com"));
        Assert.True(f.Red.IsRedlisted(Bob));
        Assert.False(f.Red.IsRedlisted("eve@remote.com"));
        Assert.True(f.Red.Remove(Bob));
        Assert.False(f.Red.IsRedlisted(Bob));
        Assert.False(f.Red.Remove(Bob));
    }

    [Fact]
    public void DomainWildcardEntry()
    {
        var f = new ListsFixture();
        f.Red.Add("*@remote.com");
        Assert.True(f.Red.IsRedlisted("anyone@remote.com"));
        Assert.False(f.Red.Contains("anyone@remote.com"));
        Assert.False(f.Red.IsRedlisted("anyone@sub.remote.com"));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public void EmailWhiteRemovalToRed(string option, bool redlisted)
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("EmailWhiteRemovalToRed", option));
        f.White.Add(Bob, Alice);
        var r = f.Editor.RemoveFromWhitelist(cfg, Bob, Alice);
        Assert.Equal(ListEditOutcome.Removed, r.Outcome);
        Assert.Equal(redlisted, r.Redlisted);
        Assert.Equal(redlisted, f.Red.IsRedlisted(Bob));
        Assert.False(f.White.IsWhite(cfg, Bob, Alice));

        // While redlisted it cannot be whitelisted again, by hand or by learning.
        var again = f.Editor.AddToWhitelist(cfg, Bob, Alice);
        Assert.Equal(redlisted ? ListEditOutcome.RefusedRedlisted : ListEditOutcome.Added, again.Outcome);
        f.Red.Remove(Bob);
        Assert.NotEqual(ListEditOutcome.RefusedRedlisted, f.Editor.AddToWhitelist(cfg, Bob, Alice).Outcome);
        Assert.True(f.White.IsWhite(cfg, Bob, Alice));
    }

    [Fact]
    public void RemovingWhatIsNotListedSaysSo()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("EmailWhiteRemovalToRed", "1"));
        Assert.Equal(ListEditOutcome.NotListed, f.Editor.RemoveFromWhitelist(cfg, Bob, Alice).Outcome);
        Assert.False(f.Red.IsRedlisted(Bob));
    }

    [Fact]
    public void GlobalRemovalWorksAtEveryPrivacyLevel()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("WhitelistPrivacyLevel", "2"));
        f.White.Add(Bob, Alice);
        var r = f.Editor.RemoveFromWhitelist(cfg, Bob, null);
        Assert.Equal(ListEditOutcome.Removed, r.Outcome);
        Assert.Equal(3, r.Keys.Count);
        Assert.False(f.White.IsWhite(cfg, Bob, Alice));
    }

    [Fact]
    public void WhitelistingRemovesThePersonalBlacklistEntryAndViceVersa()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create();
        f.White.Add(Bob, Alice);
        var pb = f.Editor.AddToPersonalBlacklist(cfg, Alice, Bob);
        Assert.Equal(ListEditOutcome.Added, pb.Outcome);
        Assert.True(pb.WhitelistRemoved);
        Assert.False(f.White.IsWhite(cfg, Bob, Alice));
        Assert.True(f.PersBlack.IsBlocked(Alice, Bob));

        var w = f.Editor.AddToWhitelist(cfg, Bob, Alice);
        Assert.Equal(ListEditOutcome.Added, w.Outcome);
        Assert.Equal(1, w.PersBlackRemoved);
        Assert.False(f.PersBlack.IsBlocked(Alice, Bob));
        Assert.True(f.White.IsWhite(cfg, Bob, Alice));
    }

    [Fact]
    public void AddingAnAlreadyWhitelistedAddressRefreshesIt()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create();
        f.White.Add(Bob, Alice);
        f.Clock.Advance(TimeSpan.FromHours(1));
        var r = f.Editor.AddToWhitelist(cfg, Bob, Alice);
        Assert.Equal(ListEditOutcome.AlreadyListed, r.Outcome);
        Assert.Equal(f.Clock.UnixNow.ToString(), f.WhiteValue("bob@remote.com,alice@local.com"));
    }
}
