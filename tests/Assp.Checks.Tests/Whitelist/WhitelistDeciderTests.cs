using Assp.Checks.Whitelist;
using Assp.Config;

namespace Assp.Checks.Tests.Whitelist;

public class WhitelistDeciderTests
{
    private const string Envelope = "bob@remote.com";
    private const string Header = "list@lists.remote.org";
    private const string Alice = "alice@local.com";

    private static IncomingWhitelistInput Input(string? envelope = Envelope, string[]? headerSenders = null, string[]? recipients = null, bool redRe = false) => new()
    {
        EnvelopeSender = envelope,
        HeaderSenders = headerSenders ?? [Header],
        Recipients = recipients ?? [Alice],
        IsLocal = ListsFixture.IsLocal,
        RedRegexMatched = redRe,
    };

    [Theory]
    // which senders are white, NotGreedyWhitelist, expected
    [InlineData(true, false, "0", true)]
    [InlineData(true, false, "1", true)]
    [InlineData(true, false, "2", false)]
    [InlineData(false, true, "0", true)]
    [InlineData(false, true, "1", false)]
    [InlineData(false, true, "2", false)]
    [InlineData(true, true, "0", true)]
    [InlineData(true, true, "1", true)]
    [InlineData(true, true, "2", true)]
    [InlineData(false, false, "0", false)]
    [InlineData(false, false, "1", false)]
    [InlineData(false, false, "2", false)]
    public void NotGreedyWhitelistModes(bool envelopeWhite, bool headerWhite, string mode, bool expected)
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("NotGreedyWhitelist", mode));
        if (envelopeWhite) f.White.Add(Envelope, Alice);
        if (headerWhite) f.White.Add(Header, Alice);
        var d = f.Decider.Decide(cfg, Input());
        Assert.Equal(expected, d.Whitelisted);
        Assert.Equal(mode == "1" ? [Envelope] : new[] { Envelope, Header }, d.Senders);
    }

    [Fact]
    public void WhiteListedDomainsMatchesTheEndOfTheSender()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(new Dictionary<string, string> { ["files/whitedomains.txt"] = "remote.com\n" });
        var d = f.Decider.Decide(cfg, Input(headerSenders: []));
        Assert.True(d.Whitelisted);
        Assert.Contains("whiteListedDomains", d.Reason);
    }

    [Fact]
    public void AllMustBeWhiteOverridesAWhiteListedDomainsMatch()
    {
        var f = new ListsFixture();
        var files = new Dictionary<string, string> { ["files/whitedomains.txt"] = "remote.com\n" };
        Assert.True(f.Decider.Decide(TestConfig.Create(files, ("NotGreedyWhitelist", "0")), Input()).Whitelisted);
        var strict = f.Decider.Decide(TestConfig.Create(files, ("NotGreedyWhitelist", "2")), Input());
        Assert.False(strict.Whitelisted);
        Assert.Contains("NotGreedyWhitelist", strict.Reason);
    }

    [Theory]
    [InlineData("alice@local.com", true)]
    [InlineData("erin@local.org", false)]
    public void ScopedWhiteListedDomainsNeedTheRecipientToMatch(string recipient, bool expected)
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(new Dictionary<string, string> { ["files/whitedomains.txt"] = "remote.com=>local.com\n" });
        Assert.Equal(expected, f.Decider.Decide(cfg, Input(headerSenders: [], recipients: [recipient])).Whitelisted);
    }

    [Fact]
    public void ScopedEntriesAreIgnoredForALocalRecipientThatIsItselfListed()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(new Dictionary<string, string> { ["files/whitedomains.txt"] = "local.com\nremote.com=>local.com\n" });
        Assert.False(f.Decider.Decide(cfg, Input(headerSenders: [])).Whitelisted);
    }

    [Fact]
    public void ARedlistedHeaderSenderBlocksWhitelisting()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create();
        f.White.Add(Envelope, Alice);
        f.Red.Add(Header);
        var d = f.Decider.Decide(cfg, Input());
        Assert.False(d.Whitelisted);
        Assert.Equal(Header, d.RedlistedSender);
        // With only the envelope sender compared, the header sender does not matter.
        Assert.True(f.Decider.Decide(TestConfig.Create(("NotGreedyWhitelist", "1")), Input()).Whitelisted);
    }

    [Fact]
    public void ADomainWildcardOnTheRedlistCountsToo()
    {
        var f = new ListsFixture();
        f.White.Add(Envelope, Alice);
        f.Red.Add("*@remote.com");
        Assert.False(f.Decider.Decide(TestConfig.Create(), Input(headerSenders: [])).Whitelisted);
    }

    [Fact]
    public void NoEnvelopeSenderIsNeverWhite()
    {
        var f = new ListsFixture();
        f.White.Add(Header, Alice);
        Assert.False(f.Decider.Decide(TestConfig.Create(), Input(envelope: "")).Whitelisted);
    }

    [Fact]
    public void LocalSendersAreNotWhitelistedByTheDatabase()
    {
        var f = new ListsFixture();
        f.White.Add("carol@local.com", Alice);
        Assert.False(f.Decider.Decide(TestConfig.Create(), Input(envelope: "carol@local.com", headerSenders: [])).Whitelisted);
        // ... nor do they count as "not white" when all must be white.
        f.White.Add(Envelope, Alice);
        var d = f.Decider.Decide(TestConfig.Create(("NotGreedyWhitelist", "2")), Input(headerSenders: ["carol@local.com"]));
        Assert.True(d.Whitelisted);
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("1", false)]
    [InlineData("2", false)]
    public void TheDecisionQueriesUnderThePrivacyLevel(string level, bool expected)
    {
        var f = new ListsFixture();
        f.White.Add(Envelope);   // a global entry only
        var d = f.Decider.Decide(TestConfig.Create(("WhitelistPrivacyLevel", level)), Input(headerSenders: []));
        Assert.Equal(expected, d.Whitelisted);
    }

    [Fact]
    public void RedReAndARedlistedEnvelopeAreReported()
    {
        var f = new ListsFixture();
        Assert.Equal("redRe", f.Decider.Decide(TestConfig.Create(), Input(redRe: true)).Redlisted);
        f.Red.Add(Envelope);
        var d = f.Decider.Decide(TestConfig.Create(), Input());
        Assert.NotNull(d.Redlisted);
        Assert.Equal(Envelope, d.RedlistedSender);
    }

    [Fact]
    public void MailFromHitRefreshesTheGlobalEntry()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create();
        f.White.Add(Envelope);
        long before = long.Parse(f.WhiteValue(Envelope)!);
        f.Clock.Advance(TimeSpan.FromDays(10));
        var r = f.Decider.CheckMailFrom(cfg, Envelope, isAuthenticated: false, isRelayOk: false, ListsFixture.IsLocal);
        Assert.True(r.Whitelisted);
        Assert.Equal("whitelistdb", r.Reason);
        Assert.Equal(before + 10 * 86400, long.Parse(f.WhiteValue(Envelope)!));
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("1", false)]
    public void MailFromAsksWithoutARecipientSoOnlyLevelZeroCounts(string level, bool expected)
    {
        var f = new ListsFixture();
        f.White.Add(Envelope, Alice);
        var r = f.Decider.CheckMailFrom(TestConfig.Create(("WhitelistPrivacyLevel", level)), Envelope, false, false, ListsFixture.IsLocal);
        Assert.Equal(expected, r.Whitelisted);
    }

    [Fact]
    public void MailFromWildcardDomainEntry()
    {
        var f = new ListsFixture();
        f.White.Add("*@remote.com");
        var r = f.Decider.CheckMailFrom(TestConfig.Create(), "anyone@remote.com", false, false, ListsFixture.IsLocal);
        Assert.True(r.Whitelisted);
        Assert.Equal("wildcardUser", r.Reason);
        Assert.NotNull(f.WhiteValue("@remote.com"));
        Assert.Null(f.WhiteValue("anyone@remote.com"));
    }

    [Theory]
    [InlineData("1", true, true)]
    [InlineData("0", true, false)]
    [InlineData("1", false, false)]
    public void WhitelistAuthWhitelistsAuthenticatedSessions(string whitelistAuth, bool authenticated, bool expected)
    {
        var f = new ListsFixture();
        var r = f.Decider.CheckMailFrom(TestConfig.Create(("WhitelistAuth", whitelistAuth)), Alice, authenticated, isRelayOk: authenticated, ListsFixture.IsLocal);
        Assert.Equal(expected, r.Whitelisted);
    }

    [Fact]
    public void MailFromIgnoresTheDatabaseForRelayedAndLocalSenders()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create();
        f.White.Add(Envelope);
        f.White.Add("carol@local.com");
        Assert.False(f.Decider.CheckMailFrom(cfg, Envelope, false, isRelayOk: true, ListsFixture.IsLocal).Whitelisted);
        Assert.False(f.Decider.CheckMailFrom(cfg, "carol@local.com", false, false, ListsFixture.IsLocal).Whitelisted);
    }

    [Fact]
    public void MailFromWhiteListedDomainsAndRedlist()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(new Dictionary<string, string> { ["files/whitedomains.txt"] = "remote.com\n" });
        f.Red.Add(Envelope);
        var r = f.Decider.CheckMailFrom(cfg, Envelope, false, false, ListsFixture.IsLocal);
        Assert.True(r.Whitelisted);
        Assert.Equal("whiteListedDomains", r.Reason);
        Assert.NotNull(r.Redlisted);
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("<>", true)]
    [InlineData("postmaster@remote.com", true)]
    [InlineData("MAILER-DAEMON@remote.com", true)]
    [InlineData("bob@remote.com", false)]
    public void BounceSenders(string sender, bool bounce)
    {
        Assert.Equal(bounce, WhitelistDecider.IsBounceSender(TestConfig.Create(), sender));
    }

    [Fact]
    public void BounceSendersFollowTheOption()
    {
        ConfigSnapshot cfg = TestConfig.Create(("BounceSenders", "@bounces.remote.com"));
        Assert.True(WhitelistDecider.IsBounceSender(cfg, "x@bounces.remote.com"));
        Assert.False(WhitelistDecider.IsBounceSender(cfg, "postmaster@remote.com"));
    }
}
