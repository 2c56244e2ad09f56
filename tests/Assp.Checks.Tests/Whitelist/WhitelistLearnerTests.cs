using Assp.Checks.Whitelist;

namespace Assp.Checks.Tests.Whitelist;

public class WhitelistLearnerTests
{
    private const string Alice = "alice@local.com";
    private const string Bob = "bob@remote.com";
    private const string Carol = "carol@remote.com";

    /// <summary>Alice (local) writes to Bob, with Carol and a local colleague on Cc.</summary>
    private static WhitelistLearningInput Outgoing(string sender = Alice) => new()
    {
        EnvelopeSender = sender,
        Recipients = [Bob, Carol, "dave@local.com"],
        HeaderRecipients = ["Bob@Remote.com", Carol, "dave@local.com"],
        HeaderSenders = [sender],
        IsRelayOk = true,
        IsLocal = ListsFixture.IsLocal,
    };

    /// <summary>Bob writes to Alice; a mailing-list address is in the headers and a remote Cc.</summary>
    private static WhitelistLearningInput Incoming(bool whitelisted = true, double score = 0) => new()
    {
        EnvelopeSender = Bob,
        Recipients = [Alice],
        HeaderRecipients = [Alice, Carol],
        HeaderSenders = [Bob, "list@lists.remote.org"],
        SendersWhitelisted = whitelisted,
        MessageScore = score,
        IsLocal = ListsFixture.IsLocal,
    };

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("2")]
    public void OutgoingMailAddsTheRemoteRecipientsUnderTheSenderAtEveryPrivacyLevel(string level)
    {
        var f = new ListsFixture();
        var r = f.Learner.Learn(TestConfig.Create(("WhitelistPrivacyLevel", level)), Outgoing());
        Assert.Equal(WhitelistLearningSkip.None, r.Skip);
        Assert.Equal([Bob, Carol], r.Added);
        foreach (var key in new[] { "bob@remote.com,alice@local.com", "bob@remote.com,@local.com", "bob@remote.com",
                                    "carol@remote.com,alice@local.com", "carol@remote.com,@local.com", "carol@remote.com" })
            Assert.NotNull(f.WhiteValue(key));
        Assert.Equal(6, f.WhiteTable.Count);
        Assert.True(f.White.IsWhite(Bob, Alice, WhitelistPrivacy.PrivateOnly));
    }

    [Fact]
    public void ASecondMailRefreshes()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create();
        f.Learner.Learn(cfg, Outgoing());
        f.Clock.Advance(TimeSpan.FromDays(1));
        var r = f.Learner.Learn(cfg, Outgoing());
        Assert.Empty(r.Added);
        Assert.Equal([Bob, Carol], r.Refreshed);
        Assert.Equal(f.Clock.UnixNow.ToString(), f.WhiteValue("bob@remote.com,alice@local.com"));
    }

    [Theory]
    [InlineData("NoAutoWhite", "1", WhitelistLearningSkip.NoAutoWhite)]
    [InlineData("NoAutoWhiteAdresses", "carol@remote.com", WhitelistLearningSkip.NoAutoWhiteAddress)]
    [InlineData("NoAutoWhiteAdresses", "@lists.remote.org|alice", WhitelistLearningSkip.NoAutoWhiteAddress)]
    [InlineData("BounceSenders", "alice", WhitelistLearningSkip.Bounce)]
    public void SwitchesThatStopOutgoingLearning(string option, string value, WhitelistLearningSkip expected)
    {
        var f = new ListsFixture();
        Assert.Equal(WhitelistLearningSkip.None, f.Learner.Learn(TestConfig.Create(), Outgoing()).Skip);
        var g = new ListsFixture();
        var r = g.Learner.Learn(TestConfig.Create((option, value)), Outgoing());
        Assert.Equal(expected, r.Skip);
        Assert.Equal(0, g.WhiteTable.Count);
    }

    [Fact]
    public void RedlistedRecipientsAreNeverAdded()
    {
        var f = new ListsFixture();
        f.Red.Add(Carol);
        var r = f.Learner.Learn(TestConfig.Create(), Outgoing());
        Assert.Equal([Bob], r.Added);
        Assert.Null(f.WhiteValue(Carol));
    }

    [Fact]
    public void ARedlistedSenderTeachesNothing()
    {
        var f = new ListsFixture();
        f.Red.Add(Alice);   // e.g. her autoresponder while she is away
        Assert.Equal(WhitelistLearningSkip.Redlisted, f.Learner.Learn(TestConfig.Create(), Outgoing()).Skip);
        Assert.Equal(0, f.WhiteTable.Count);
    }

    [Fact]
    public void RedReTeachesNothing()
    {
        var f = new ListsFixture();
        var r = f.Learner.Learn(TestConfig.Create(), Outgoing() with { RedRegexMatched = true });
        Assert.Equal(WhitelistLearningSkip.Redlisted, r.Skip);
    }

    [Theory]
    [InlineData("", WhitelistLearningSkip.NoEnvelopeSender)]
    [InlineData("postmaster@local.com", WhitelistLearningSkip.Bounce)]
    [InlineData("mailer-daemon@local.com", WhitelistLearningSkip.Bounce)]
    public void BouncesTeachNothing(string sender, WhitelistLearningSkip expected)
    {
        var f = new ListsFixture();
        Assert.Equal(expected, f.Learner.Learn(TestConfig.Create(), Outgoing(sender)).Skip);
    }

    [Theory]
    [InlineData("1", WhitelistLearningSkip.SenderNotLocal)]
    [InlineData("0", WhitelistLearningSkip.None)]
    public void WhitelistLocalFromOnlyNeedsALocalMailFrom(string value, WhitelistLearningSkip expected)
    {
        var f = new ListsFixture();
        // A relayed mail whose MAIL FROM is not local (a forward).
        var r = f.Learner.Learn(TestConfig.Create(("WhitelistLocalFromOnly", value)), Outgoing("someone@forwarded.net"));
        Assert.Equal(expected, r.Skip);
    }

    [Fact]
    public void IncomingLearningIsOffByDefaultBecauseMailFromIsNotLocal()
    {
        var f = new ListsFixture();
        Assert.Equal(WhitelistLearningSkip.SenderNotLocal, f.Learner.Learn(TestConfig.Create(), Incoming()).Skip);
    }

    [Theory]
    [InlineData("0", WhitelistLearningSkip.None)]
    [InlineData("1", WhitelistLearningSkip.NotLocalOrAuthenticated)]
    public void WhitelistLocalOnlyStopsWhitelistedSendersFromAdding(string value, WhitelistLearningSkip expected)
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("WhitelistLocalFromOnly", "0"), ("WhitelistLocalOnly", value));
        Assert.Equal(expected, f.Learner.Learn(cfg, Incoming()).Skip);
    }

    [Fact]
    public void WhitelistLocalOnlyStillLetsAuthenticatedUsersAdd()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("WhitelistLocalOnly", "1"));
        var r = f.Learner.Learn(cfg, Outgoing() with { IsRelayOk = false, IsAuthenticated = true });
        Assert.Equal(WhitelistLearningSkip.None, r.Skip);
        Assert.NotNull(f.WhiteValue("bob@remote.com,alice@local.com"));
    }

    [Theory]
    [InlineData(39.9, WhitelistLearningSkip.None)]
    [InlineData(40, WhitelistLearningSkip.ScoreTooHigh)]
    [InlineData(75, WhitelistLearningSkip.ScoreTooHigh)]
    public void IncomingScoreAtOrAbovePenaltyMessageLowBlocksAdditions(double score, WhitelistLearningSkip expected)
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("WhitelistLocalFromOnly", "0"), ("PenaltyMessageLow", "40"));
        Assert.Equal(expected, f.Learner.Learn(cfg, Incoming(score: score)).Skip);
    }

    [Fact]
    public void OutgoingMailIsNotHeldBackByItsScore()
    {
        var f = new ListsFixture();
        var r = f.Learner.Learn(TestConfig.Create(("PenaltyMessageLow", "40")), Outgoing() with { MessageScore = 90 });
        Assert.Equal(WhitelistLearningSkip.None, r.Skip);
    }

    [Fact]
    public void IncomingMailThatIsNotWhitelistedTeachesNothing()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("WhitelistLocalFromOnly", "0"));
        Assert.Equal(WhitelistLearningSkip.NotWhitelisted, f.Learner.Learn(cfg, Incoming(whitelisted: false)).Skip);
    }

    [Fact]
    public void ARedlistedHeaderSenderOfIncomingMailTeachesNothing()
    {
        var f = new ListsFixture();
        f.Red.Add("list@lists.remote.org");
        var cfg = TestConfig.Create(("WhitelistLocalFromOnly", "0"));
        Assert.Equal(WhitelistLearningSkip.RedlistedSender, f.Learner.Learn(cfg, Incoming()).Skip);
    }

    [Theory]
    // GreedyWhitelistAdditions → global entries written by a whitelisted incoming mail (Carol is a remote Cc)
    [InlineData("0", new[] { Carol })]
    [InlineData("1", new[] { Bob, Carol })]
    [InlineData("2", new[] { Bob, "list@lists.remote.org", Carol })]
    public void GreedyWhitelistAdditionsDecidesWhichSendersAreAdded(string greedy, string[] expected)
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("WhitelistLocalFromOnly", "0"), ("GreedyWhitelistAdditions", greedy));
        var r = f.Learner.Learn(cfg, Incoming());
        Assert.Equal(expected, r.Added);
        // Incoming additions have no local owner: global entries only.
        Assert.Equal(expected.Order(StringComparer.Ordinal), f.WhiteTable.Scan().Select(kv => kv.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void GreedyTwoWithEnvelopeOnlyComparisonAddsOnlyTheEnvelopeSender()
    {
        var f = new ListsFixture();
        var cfg = TestConfig.Create(("WhitelistLocalFromOnly", "0"), ("GreedyWhitelistAdditions", "2"), ("NotGreedyWhitelist", "1"));
        Assert.Equal([Bob, Carol], f.Learner.Learn(cfg, Incoming()).Added);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public void EmailAllowEqualDecidesOnAddressesWithEqualsSigns(string allow, bool added)
    {
        var f = new ListsFixture();
        var input = Outgoing() with { Recipients = ["news=2024@remote.com"], HeaderRecipients = [] };
        var r = f.Learner.Learn(TestConfig.Create(("EmailAllowEqual", allow)), input);
        Assert.Equal(added, r.Added.Count == 1);
    }

    [Fact]
    public void AddressesAreNormalized()
    {
        var f = new ListsFixture();
        var input = Outgoing("<Alice@Local.COM>") with { Recipients = ["<prvs=0123abcd=Bob@Remote.com>"], HeaderRecipients = [] };
        Assert.Equal([Bob], f.Learner.Learn(TestConfig.Create(), input).Added);
        Assert.NotNull(f.WhiteValue("bob@remote.com,alice@local.com"));
    }
}
