using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.Decision;

/// <summary>
/// The per-check spam haters (baysSpamHaters, hlSpamHaters, rblSpamHaters), baysTestModeUserAddresses, the Bayesian
/// spam-lover regex and baysSpamLoversRed, poTestMode with processOnlyAddresses and the local score limits.
/// </summary>
public class ScoringListTests
{
    private const string Plain = "From: a@sender.example\nTo: user@local.test\nSubject: hi\n\nhello password reset\n";

    private static DecisionPipeline Create() =>
        new(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation(), new NotSpamTags(new MemoryStore())));

    /// <summary>Connect, MAIL FROM and the recipients; returns the context for a check to decide on.</summary>
    private static async Task<FakeMailContext> Envelope(DecisionPipeline p, ConfigSnapshot cfg, params string[] rcpts)
    {
        var ctx = new FakeMailContext(cfg);
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "a@sender.example";
        await p.RunAsync(SmtpPhase.MailFrom, ctx, default);
        foreach (var r in rcpts)
        {
            ctx.RecipientList.Add(r);
            Assert.False((await p.RunAsync(SmtpPhase.RcptTo, ctx, default)).Refuses);
        }
        return ctx;
    }

    [Theory]
    [InlineData("hater@local.test", true)]
    [InlineData("other@local.test", false)]
    public async Task HeloHatersCancelTheTestMode(string rcpt, bool refused)
    {
        var p = Create();
        var cfg = TestConfig.Create(("useHeloBlacklist", "1"), ("hlTestMode", "1"), ("hlSpamHaters", "hater@local.test"));
        var ctx = await Envelope(p, cfg, rcpt);
        var verdict = p.Engine.Hit(BlackHeloCheck.Check, cfg, ctx.State, ctx.RemoteAddress, "blacklisted HELO", ctx.Log);
        Assert.Equal(refused, verdict.Refuses);
    }

    [Fact]
    public async Task HatersNeedEveryRecipient()
    {
        var p = Create();
        var cfg = TestConfig.Create(("ValidateRBL", "1"), ("rblSpamLovers", "@local.test"), ("rblSpamHaters", "hater@local.test"));
        var all = await Envelope(p, cfg, "hater@local.test");
        Assert.True(p.Engine.Hit(Assp.Checks.Decision.Checks.Dnsbl, cfg, all.State, all.RemoteAddress, "listed", all.Log).Refuses);
        var mixed = await Envelope(p, cfg, "hater@local.test", "lover@local.test");
        Assert.False(p.Engine.Hit(Assp.Checks.Decision.Checks.Dnsbl, cfg, mixed.State, mixed.RemoteAddress, "listed", mixed.Log).Refuses);
    }

    [Fact]
    public async Task BayesHatersOverrideTheBayesianSpamLover()
    {
        var p = Create();
        var cfg = TestConfig.Create(("DoBayesian", "1"), ("baysSpamLovers", "user@local.test"), ("baysSpamHaters", "user@local.test"));
        var ctx = await Envelope(p, cfg, "user@local.test");
        Assert.True(p.Engine.Hit(BayesianCheck.Check, cfg, ctx.State, ctx.RemoteAddress, "Bayesian Check Probability: 0.99", ctx.Log).Refuses);
    }

    [Fact]
    public async Task BayesTestModeUsersOnlyTag()
    {
        var p = Create();
        var cfg = TestConfig.Create(("DoBayesian", "1"), ("DoHMM", "1"), ("baysTestModeUserAddresses", "tester@local.test"));
        var tester = await Envelope(p, cfg, "tester@local.test");
        var verdict = p.Engine.Hit(BayesianCheck.Check, cfg, tester.State, tester.RemoteAddress, "Bayesian Check Probability: 0.99", tester.Log);
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (bayesian test mode user)", tester.State.Headers);
        Assert.False(p.Engine.Hit(HmmCheck.Check, cfg, tester.State, tester.RemoteAddress, "HMM", tester.Log).Refuses);
        // Other recipients, and other checks, are not in test mode.
        var other = await Envelope(p, cfg, "other@local.test");
        Assert.True(p.Engine.Hit(BayesianCheck.Check, cfg, other.State, other.RemoteAddress, "Bayesian Check Probability: 0.99", other.Log).Refuses);
        var again = await Envelope(p, TestConfig.Create(("useHeloBlacklist", "1"), ("baysTestModeUserAddresses", "tester@local.test")), "tester@local.test");
        Assert.True(p.Engine.Hit(BlackHeloCheck.Check, again.Config, again.State, again.RemoteAddress, "blacklisted HELO", again.Log).Refuses);
    }

    [Fact]
    public async Task BayesLoversReMakesABayesianSpamLover()
    {
        var p = Create();
        var cfg = TestConfig.Create(("DoBayesian", "1"), ("baysSpamLoversRe", "password\\s+reset"));
        var ctx = new FakeMailContext(cfg);
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(ctx.State.AllLove("baysSpamLovers"));
        Statistical.BayesLoversRe(new CheckContext(ctx, p.Engine, new CheckServices()));
        Assert.True(ctx.State.AllLove("baysSpamLovers"));
        Assert.False(p.Engine.Hit(BayesianCheck.Check, cfg, ctx.State, ctx.RemoteAddress, "Bayesian Check Probability: 0.99", ctx.Log).Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("baysSpamLoversRe found 'password reset'", StringComparison.Ordinal));

        var none = new FakeMailContext(TestConfig.Create(("DoBayesian", "1"), ("baysSpamLoversRe", "lottery")));
        await Transaction.RunAsync(p, none, "a@sender.example", ["user@local.test"], Plain);
        Statistical.BayesLoversRe(new CheckContext(none, p.Engine, new CheckServices()));
        Assert.False(none.State.AllLove("baysSpamLovers"));
    }

    [Theory]
    [InlineData("1", CollectTarget.Discard)]
    [InlineData("0", CollectTarget.Spam)]
    public async Task BayesLoversRedKeepsTheirSpamOutOfTheSpamFolder(string red, CollectTarget expected)
    {
        var p = Create();
        var cfg = TestConfig.Create(("DoBayesian", "1"), ("baysSpamLovers", "lover@local.test"), ("baysSpamLoversRed", red), ("SpamLog", "1"));
        var ctx = await Envelope(p, cfg, "lover@local.test");
        Assert.Equal(expected, DecisionEngine.CollectionRules(cfg, ctx.State, CollectTarget.Spam));
    }

    [Fact]
    public async Task ProcessOnlyAddressesLeaveTheRestUnprocessed()
    {
        var p = Create();
        var cfg = TestConfig.Create(("localDomains", "local.test"), ("poTestMode", "1"), ("processOnlyAddresses", "watched@local.test|boss@sender.example"));
        var watched = await Envelope(p, cfg, "watched@local.test");
        Assert.Null(watched.State.NoProcessing);
        Assert.Contains("processOnlyAddresses", watched.State.PassingReason);
        var other = await Envelope(p, cfg, "other@local.test");
        Assert.NotNull(other.State.NoProcessing);
        // A listed sender is processed whoever it writes to.
        var ctx = new FakeMailContext(cfg);
        await Transaction.RunAsync(p, ctx, "boss@sender.example", ["other@local.test"], Plain);
        Assert.Null(ctx.State.NoProcessing);
        // Off: everything is processed.
        var off = await Envelope(p, TestConfig.Create(("localDomains", "local.test"), ("processOnlyAddresses", "watched@local.test")), "other@local.test");
        Assert.Null(off.State.NoProcessing);
    }

    [Theory]
    [InlineData(45, false, true)]    // from LocalPenaltyMessageLow (40) up: tagged "probably"
    [InlineData(55, true, false)]    // at LocalPenaltyMessageLimit (50): refused
    [InlineData(35, false, false)]
    public void LocalMailHasItsOwnScoreLimits(double score, bool refused, bool low)
    {
        var p = Create();
        var cfg = TestConfig.Create(("DoLocalPenaltyMessage", "1"), ("LocalPenaltyMessageLimit", "50"), ("LocalPenaltyMessageLow", "40"),
            ("PenaltyMessageLimit", "500"), ("PenaltyMessageLow", "400"));
        var st = new MessageState { RelayOk = true, MessageScore = score };
        var verdict = p.Engine.Finish(cfg, st, null);
        Assert.Equal(refused, verdict.Refuses);
        Assert.Equal(low, st.MessageLow);
        // Incoming mail with the same score stays under its own limits.
        var incoming = new MessageState { MessageScore = score };
        Assert.False(p.Engine.Finish(cfg, incoming, null).Refuses);
        Assert.False(incoming.MessageLow);
    }
}

/// <summary>tlsValencePB: the score (usually a bonus) for mail that came over an encrypted connection.</summary>
public class TlsValenceTests
{
    [Theory]
    [InlineData(true, -5)]
    [InlineData(false, 0)]
    public async Task EncryptedMailGetsTheTlsScore(bool tls, double expected)
    {
        var pb = new FakeIpReputation();
        var p = new DecisionPipeline(new DecisionEngine(pb, new FakeAddressReputation(), new NotSpamTags(new MemoryStore())));
        var ctx = new FakeMailContext(TestConfig.Create(("tlsValencePB", "-5"))) { IsTls = tls };
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "a@sender.example";
        await p.RunAsync(SmtpPhase.MailFrom, ctx, default);
        Assert.Equal(expected, ctx.State.MessageScore);
    }
}

/// <summary>DoRFC822: malformed envelope addresses are refused with 553 and scored.</summary>
public class Rfc822Tests
{
    private static (DecisionPipeline, FakeIpReputation) Create()
    {
        var pb = new FakeIpReputation();
        return (new DecisionPipeline(new DecisionEngine(pb, new FakeAddressReputation(), new NotSpamTags(new MemoryStore()))), pb);
    }

    [Theory]
    [InlineData("user@example.com", true)]
    [InlineData("first.last+tag@mail.example.com", true)]
    [InlineData("\"odd name\"@example.com", true)]
    [InlineData("user@[192.0.2.1]", true)]
    [InlineData("two..dots@example.com", false)]
    [InlineData(".lead@example.com", false)]
    [InlineData("user@-bad-.example", false)]
    [InlineData("usér@example.com", false)]
    [InlineData("user@exa_mple.com", false)]
    public void AddressForm(string address, bool valid) => Assert.Equal(valid, Assp.Checks.Recipients.Rfc822.IsValid(address));

    [Theory]
    [InlineData("2", true)]
    [InlineData("1", false)]
    [InlineData("0", false)]
    public async Task MalformedSenderIsRefusedWithDoRFC822Sender(string mode, bool refused)
    {
        var (p, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("DoRFC822", mode), ("nofromValencePB", "50")));
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "two..dots@sender.example";
        var verdict = await p.RunAsync(SmtpPhase.MailFrom, ctx, default);
        Assert.Equal(refused, verdict.Refuses);
        if (refused)
        {
            Assert.Equal("553 Malformed (RFC822) address: two..dots@sender.example", verdict.Reply);
            Assert.Equal(50, ctx.State.MessageScore);
        }
    }

    [Fact]
    public async Task LocalAndWhitelistedSendersAreNotChecked()
    {
        var (p, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("DoRFC822", "3"), ("localDomains", "local.test")));
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "two..dots@local.test";
        Assert.False((await p.RunAsync(SmtpPhase.MailFrom, ctx, default)).Refuses);
        var white = new FakeMailContext(TestConfig.Create(("DoRFC822", "3"), ("whiteListedIPs", "203.0.113.0/24")));
        await p.RunAsync(SmtpPhase.Connect, white, default);
        white.MailFrom = "two..dots@sender.example";
        Assert.False((await p.RunAsync(SmtpPhase.MailFrom, white, default)).Refuses);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("3", true)]
    [InlineData("2", false)]
    public async Task MalformedRecipientIsRefusedWithDoRFC822Recipients(string mode, bool refused)
    {
        var (p, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("DoRFC822", mode), ("irValencePB", "20")));
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "a@sender.example";
        await p.RunAsync(SmtpPhase.MailFrom, ctx, default);
        ctx.RecipientList.Add("bad..user@local.test");
        var verdict = await p.RunAsync(SmtpPhase.RcptTo, ctx, default);
        Assert.Equal(refused, verdict.Refuses);
        if (refused)
        {
            Assert.Equal("553 Malformed (RFC822) address: bad..user@local.test", verdict.Reply);
            Assert.Equal(20, ctx.State.MessageScore);
        }
    }
}

/// <summary>Collect addresses (spamaddresses): saValencePB, DoNotBlockCollect and UseTrapToCollect.</summary>
public class CollectAddressTests
{
    private const string Plain = "From: a@sender.example\nTo: collect@local.test\nSubject: hi\n\nhello\n";

    private static async Task<(FakeMailContext Ctx, FakeIpReputation Pb, DecisionPipeline P)> ToCollectAddress(params (string, string)[] settings)
    {
        var pb = new FakeIpReputation();
        var p = new DecisionPipeline(new DecisionEngine(pb, new FakeAddressReputation(), new NotSpamTags(new MemoryStore())));
        var ctx = new FakeMailContext(TestConfig.Create([("DoPenalty", "2"), ("saValencePB", "25"), ("spamBucketLog", "1"), .. settings]));
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "a@sender.example";
        await p.RunAsync(SmtpPhase.MailFrom, ctx, default);
        ctx.RecipientList.Add("collect@local.test");
        Assert.False((await p.RunAsync(SmtpPhase.RcptTo, ctx, default)).Refuses);
        // What the recipient check does for an address on spamaddresses.
        ctx.State.AddressedToSpamBucket = "collect@local.test";
        ctx.SetMessage(Plain);
        return (ctx, pb, p);
    }

    [Fact]
    public async Task MailToACollectAddressIsTakenWith250AndCollected()
    {
        var (ctx, pb, p) = await ToCollectAddress();
        var verdict = await p.RunAsync(SmtpPhase.DataHeader, ctx, default);
        Assert.True(verdict.Refuses);
        Assert.Equal("250 OK", verdict.Reply);
        Assert.Equal(CollectTarget.Spam, ctx.State.Collect);
        Assert.Equal(25, pb.Black["203.0.113.9"]);
        Assert.Equal(0, ctx.State.MessageScore);   // the IP is scored, not the message
        Assert.StartsWith("[Collect]", ctx.State.Prepend.ToString());
    }

    [Fact]
    public async Task DoNotBlockCollectDecidesOnlyAfterTheOtherChecks()
    {
        var (ctx, _, p) = await ToCollectAddress(("DoNotBlockCollect", "1"));
        Assert.False((await p.RunAsync(SmtpPhase.DataHeader, ctx, default)).Refuses);
        var verdict = await p.RunAsync(SmtpPhase.DataBody, ctx, default);
        Assert.Equal("250 OK", verdict.Reply);
    }

    [Fact]
    public async Task WhitelistedMailToACollectAddressPasses()
    {
        var (ctx, pb, p) = await ToCollectAddress(("whiteListedIPs", "203.0.113.0/24"));
        Assert.False((await p.RunAsync(SmtpPhase.DataHeader, ctx, default)).Refuses);
        Assert.False((await p.RunAsync(SmtpPhase.DataBody, ctx, default)).Refuses);
        Assert.Empty(pb.Black);
    }

    [Theory]
    [InlineData("1", false)]
    [InlineData("0", true)]
    public async Task UseTrapToCollectTurnsTrapsIntoCollectAddresses(string use, bool refused)
    {
        var p = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation(), new NotSpamTags(new MemoryStore())));
        var ctx = new FakeMailContext(TestConfig.Create(("spamtrapaddresses", "trap@local.test"), ("UseTrapToCollect", use)));
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "a@sender.example";
        await p.RunAsync(SmtpPhase.MailFrom, ctx, default);
        ctx.RecipientList.Add("trap@local.test");
        Assert.Equal(refused, (await p.RunAsync(SmtpPhase.RcptTo, ctx, default)).Refuses);
        Assert.Equal(refused ? null : "trap@local.test", ctx.State.AddressedToSpamBucket);
    }
}
