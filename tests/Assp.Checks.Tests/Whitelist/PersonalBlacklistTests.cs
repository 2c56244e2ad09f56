using Assp.Checks.Whitelist;
using Assp.Storage;

namespace Assp.Checks.Tests.Whitelist;

public class PersonalBlacklistTests
{
    private const string Alice = "alice@local.com";

    private static IStoreTable Table(ListsFixture f) => f.Store.Table(StoreTables.PersBlack);

    [Theory]
    // stored key, recipient, sender, blocked?
    [InlineData("alice@local.com,spam@bad.com", Alice, "spam@bad.com", true)]
    [InlineData("alice@local.com,spam@bad.com", Alice, "Spam@BAD.com", true)]
    [InlineData("alice@local.com,spam@bad.com", Alice, "other@bad.com", false)]
    [InlineData("alice@local.com,@bad.com", Alice, "x@bad.com", true)]
    [InlineData("alice@local.com,@bad.com", Alice, "x@notbad.com", false)]
    [InlineData("alice@local.com,@bad.com", Alice, "x@sub.bad.com", false)]
    [InlineData("alice@local.com,*@bad.com", Alice, "x@bad.com", true)]
    [InlineData("alice@local.com,bad.com", Alice, "x@bad.com", true)]
    [InlineData("alice@local.com,*.bad.com", Alice, "x@sub.bad.com", true)]
    [InlineData("alice@local.com,*.bad.com", Alice, "x@bad.com", false)]
    [InlineData("alice@local.com,*@*.bad.com", Alice, "x@a.sub.bad.com", true)]
    [InlineData("alice@local.com,*bad.com", Alice, "x@bad.com", true)]
    [InlineData("alice@local.com,*bad.com", Alice, "x@sub.bad.com", true)]
    [InlineData("alice@local.com,@*bad.com", Alice, "x@sub.bad.com", true)]
    [InlineData("alice@local.com,*@*bad.com", Alice, "x@bad.com", true)]
    [InlineData("alice@local.com,*.com", Alice, "x@bad.com", true)]
    [InlineData("alice@local.com,@*.com", Alice, "x@a.b.bad.com", true)]
    [InlineData("alice@local.com,*@*.com", Alice, "x@bad.org", false)]
    [InlineData("local.com,spam@bad.com", Alice, "spam@bad.com", true)]
    [InlineData("@local.com,spam@bad.com", Alice, "spam@bad.com", true)]
    [InlineData("*@local.com,spam@bad.com", Alice, "spam@bad.com", true)]
    [InlineData("other-local.com,spam@bad.com", Alice, "spam@bad.com", false)]
    [InlineData("bob@local.com,spam@bad.com", Alice, "spam@bad.com", false)]
    [InlineData("alice@local.com,spam@bad.com", Alice, "", false)]
    public void RecordFormsCoverSendersAndRecipients(string key, string recipient, string sender, bool blocked)
    {
        var f = new ListsFixture();
        Table(f).Set(key, "1700000000");
        Assert.Equal(blocked, f.PersBlack.IsBlocked(recipient, sender));
    }

    [Fact]
    public void SenderFormsAreTriedMostSpecificFirstThenFromTheTopLevelDomainDown()
    {
        Assert.Equal(
            ["x@a.bad.com", "@a.bad.com", "*@a.bad.com", "a.bad.com",
             "*.com", "@*.com", "*@*.com",
             "*bad.com", "@*bad.com", "*@*bad.com", "*.bad.com", "*@*.bad.com",
             "*a.bad.com", "@*a.bad.com", "*@*a.bad.com"],
            PersonalBlacklist.SenderForms("X@A.Bad.com"));
        Assert.Equal(["alice@local.com", "local.com", "@local.com", "*@local.com"], PersonalBlacklist.RecipientForms(Alice));
        Assert.Empty(PersonalBlacklist.SenderForms("no-domain"));
    }

    [Fact]
    public void FindReturnsTheRecordAndRefreshesIt()
    {
        var f = new ListsFixture();
        Table(f).Set("alice@local.com,@bad.com", "1700000000");
        var m = f.PersBlack.Find(Alice, "x@bad.com");
        Assert.Equal(new PersBlackMatch("alice@local.com,@bad.com", Alice, "@bad.com"), m);
        Assert.True(Table(f).TryGetValue("alice@local.com,@bad.com", out var v));
        Assert.Equal(f.Clock.UnixNow.ToString(), v);
    }

    [Fact]
    public void AddKeysTheLocalUserAndTheBlockedForm()
    {
        var f = new ListsFixture();
        Assert.True(f.PersBlack.Add("Alice@Local.com", "*@*.Bad.com"));
        Assert.True(Table(f).ContainsKey("alice@local.com,*@*.bad.com"));
        Assert.False(f.PersBlack.Add(Alice, "x@sub.bad.com"));   // already covered: refreshed, not added
        Assert.Equal(1, Table(f).Count);
        Assert.Equal(["*@*.bad.com"], f.PersBlack.EntriesOf(Alice));
    }

    [Fact]
    public void RemoveTakesTheUsersOwnRecordsButNotDomainWideOnes()
    {
        var f = new ListsFixture();
        f.PersBlack.Add(Alice, "spam@bad.com");
        Table(f).Set("alice@local.com,@bad.com", "1700000000");
        Table(f).Set("local.com,spam@bad.com", "1700000000");
        Assert.Equal(2, f.PersBlack.Remove(Alice, "spam@bad.com"));
        Assert.True(f.PersBlack.IsBlocked(Alice, "spam@bad.com"));   // the domain-wide record stays (GUI only)
        Assert.Equal(0, f.PersBlack.Remove(Alice, "spam@bad.com"));
        Assert.Equal(1, f.PersBlack.RemoveEverywhere("spam@bad.com"));
        Assert.False(f.PersBlack.IsBlocked(Alice, "spam@bad.com"));
    }

    [Theory]
    [InlineData(29, "30", false)]
    [InlineData(30, "30", true)]
    [InlineData(3000, "0", false)]
    public void PurgeUsesMaxWhitelistDays(int idleDays, string maxDays, bool purged)
    {
        var f = new ListsFixture();
        f.PersBlack.Add(Alice, "spam@bad.com");
        f.Clock.Advance(TimeSpan.FromDays(idleDays));
        Assert.Equal(purged ? 1 : 0, f.PersBlack.PurgeExpired(TestConfig.Create(("MaxWhitelistDays", maxDays))));
    }

    [Fact]
    public void HitsKeepRecordsAlive()
    {
        var f = new ListsFixture();
        f.PersBlack.Add(Alice, "@bad.com");
        f.Clock.Advance(TimeSpan.FromDays(20));
        Assert.True(f.PersBlack.IsBlocked(Alice, "x@bad.com"));
        f.Clock.Advance(TimeSpan.FromDays(20));
        Assert.Equal(0, f.PersBlack.PurgeExpired(30));
    }

    [Fact]
    public void HeaderStageChecksEveryLocalRecipientAgainstEverySender()
    {
        var f = new ListsFixture();
        f.PersBlack.Add(Alice, "@bad.com");
        var hits = f.PersBlack.FindForMessage(
            [Alice, "bob@local.com", "carol@remote.com"],
            ["news@bad.com", "friend@good.com"],
            ListsFixture.IsLocal);
        var hit = Assert.Single(hits);
        Assert.Equal(Alice, hit.Recipient);
        Assert.Equal("news@bad.com", hit.Sender);
        Assert.Equal("@bad.com", hit.Match.From);
    }
}
