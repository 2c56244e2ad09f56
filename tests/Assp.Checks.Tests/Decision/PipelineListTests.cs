using Assp.Checks.Decision;
using Assp.Storage;

namespace Assp.Checks.Tests.Decision;

/// <summary>The list decisions of the pipeline, phase by phase, as an ASSP admin configures them.</summary>
public class PipelineListTests
{
    private const string Plain = "From: a@sender.example\nTo: user@local.test\nSubject: hi\n\nhello\n";

    private static (DecisionPipeline Pipeline, FakeIpReputation Pb, FakeAddressReputation Db) Create()
    {
        var pb = new FakeIpReputation();
        var db = new FakeAddressReputation();
        return (new DecisionPipeline(new DecisionEngine(pb, db, new NotSpamTags(new MemoryStore()))), pb, db);
    }

    [Fact]
    public async Task WhitelistedIpMakesTheMessageWhitelisted()
    {
        var (p, _, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("whiteListedIPs", "203.0.113.0/24")));
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.StartsWith("whiteListedIPs", ctx.State.Whitelisted);
    }

    [Fact]
    public async Task NoProcessingByRecipientNeedsEveryRecipient()
    {
        var (p, _, _) = Create();
        var cfg = TestConfig.Create(("noProcessing", "np@local.test"));
        var one = new FakeMailContext(cfg);
        await Transaction.RunAsync(p, one, "a@sender.example", ["np@local.test"], Plain);
        Assert.NotNull(one.State.NoProcessing);
        var two = new FakeMailContext(cfg);
        await Transaction.RunAsync(p, two, "a@sender.example", ["np@local.test", "other@local.test"], Plain);
        Assert.Null(two.State.NoProcessing);
    }

    [Fact]
    public async Task NoProcessingSenderAndDomain()
    {
        var (p, _, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("noProcessingDomains", "sender.example")));
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.StartsWith("noProcessingDomains", ctx.State.NoProcessing);
        ctx = new FakeMailContext(TestConfig.Create(("noProcessingFrom", "a@sender.example")));
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.StartsWith("noProcessingFrom", ctx.State.NoProcessing);
    }

    [Fact]
    public async Task TransparentRecipientSkipsEverything()
    {
        var (p, _, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("transparentRecipients", "open@local.test"), ("blackListedDomains", "sender.example")));
        var (verdict, _) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["open@local.test"], Plain);
        Assert.False(verdict.Refuses);
        Assert.True(ctx.State.Transparent);
        Assert.Empty(ctx.State.Headers);
    }

    [Fact]
    public async Task PersonalBlacklistRefusesThatRecipientOnly()
    {
        var (p, _, db) = Create();
        db.PersBlack.Add(("user@local.test", "a@sender.example"));
        var ctx = new FakeMailContext(TestConfig.Create());
        var (verdict, phase) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal("rcpt", phase);
        Assert.Equal("550 mailbox for <user@local.test> is unavailable", verdict.Reply);
    }

    [Fact]
    public async Task GroupSpamLoversRefusesTheOtherKind()
    {
        var (p, _, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("groupSpamLovers", "1"), ("spamLovers", "lover@local.test")));
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "a@sender.example";
        await p.RunAsync(SmtpPhase.MailFrom, ctx, default);
        ctx.RecipientList.Add("lover@local.test");
        Assert.False((await p.RunAsync(SmtpPhase.RcptTo, ctx, default)).Refuses);
        ctx.RecipientList.Add("plain@local.test");
        var second = await p.RunAsync(SmtpPhase.RcptTo, ctx, default);
        Assert.Equal("452 too many recipients", second.Reply);
    }

    [Fact]
    public async Task ContentRegexesSetTheClasses()
    {
        var (p, pb, _) = Create();
        pb.Black["203.0.113.9"] = 30;
        var cfg = TestConfig.Create(("whiteRe", "Project X"), ("redRe", "vacation"), ("npRe", "newsletter-id"), ("SpamLoversRe", "lovely"));
        var ctx = new FakeMailContext(cfg);
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"],
            "From: a@sender.example\nSubject: on vacation\n\nabout Project X\nnewsletter-id 7\nlovely\n");
        var st = ctx.State;
        Assert.Equal("vacation", st.Red);
        Assert.Contains("Project X", st.Whitelisted);
        Assert.Contains("newsletter-id", st.NoProcessing);
        Assert.Equal(3, st.SpamLover);
        Assert.False(pb.Black.ContainsKey("203.0.113.9"));   // npRe takes the IP out of the black box
        Assert.Contains("X-Assp-Redlisted: Yes (vacation)", st.Headers);
    }

    [Theory]
    [InlineData("1", "0")]
    [InlineData("0", "1")]
    public async Task RegexMatchesAreLoggedWithRegexLoggingAndNamedInAHeaderWithAddRegexHeader(string regexLogging, string addRegexHeader)
    {
        var (p, _, _) = Create();
        var cfg = TestConfig.Create(("whiteRe", @"Project\s+X\s+status"), ("regexLogging", regexLogging), ("AddRegexHeader", addRegexHeader), ("RegExLength", "12"));
        var ctx = new FakeMailContext(cfg);
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"],
            "From: a@sender.example\nSubject: hello\n\nabout Project\n   X  status report\n");
        Assert.Contains("Project", ctx.State.Whitelisted);
        // White space runs shown as one space, cut to RegExLength.
        bool logged = ctx.LogLines.Any(l => l.Contains("whiteRe", StringComparison.Ordinal) && l.Contains("'Project X st'", StringComparison.Ordinal));
        Assert.Equal(regexLogging == "1", logged);
        Assert.Equal(addRegexHeader == "1", ctx.State.Headers.Contains("X-Assp-Re-whiteRe: Project X st"));
    }

    private const string SignedMail = "From: a@partner.example\nSubject: signed\nMIME-Version: 1.0\n"
        + "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"S\"\n\n"
        + "--S\nContent-Type: text/plain\n\nhello\n--S\nContent-Type: application/pkcs7-signature; name=smime.p7s\n"
        + "Content-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n--S--\n";

    [Theory]
    [InlineData("From: a@partner.example\nSubject: plain\n\nhello\n", "a@partner.example", true)]
    [InlineData(SignedMail, "a@partner.example", false)]
    [InlineData("From: a@partner.example\nSubject: pgp\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhello\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n", "a@partner.example", false)]
    [InlineData("From: a@partner.example\nSubject: enc\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\nContent-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\n", "a@partner.example", false)]
    [InlineData("From: b@other.example\nSubject: plain\n\nhello\n", "b@other.example", false)]
    public async Task SignedSendersRefuseTheirUnsignedMailAndWhitelistTheSignedMail(string message, string from, bool refused)
    {
        var (p, _, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("signedSenders", "partner.example"), ("whiteListedDomains", "partner.example")));
        var (verdict, _) = await Transaction.RunAsync(p, ctx, from, ["user@local.test"], message);
        Assert.Equal(refused, verdict.Refuses);
        if (refused)
        {
            // Whitelisted by whiteListedDomains, and refused all the same.
            Assert.Equal("554 5.7.1 mail from <a@partner.example> must be S/MIME or PGP signed or encrypted", verdict.Reply);
        }
        else if (from.EndsWith("partner.example", StringComparison.Ordinal))
        {
            Assert.NotNull(ctx.State.Whitelisted);
        }
    }

    [Fact]
    public async Task A_scoped_signedSenders_entry_holds_only_for_its_recipients()
    {
        var (p, _, _) = Create();
        var cfg = TestConfig.Create(("signedSenders", "*@partner.example=>boss@local.test"));
        var toBoss = new FakeMailContext(cfg);
        Assert.True((await Transaction.RunAsync(p, toBoss, "a@partner.example", ["boss@local.test"], "Subject: x\n\nhello\n")).Verdict.Refuses);
        var toOther = new FakeMailContext(cfg);
        Assert.False((await Transaction.RunAsync(p, toOther, "a@partner.example", ["user@local.test"], "Subject: x\n\nhello\n")).Verdict.Refuses);
        var signed = new FakeMailContext(cfg);
        Assert.False((await Transaction.RunAsync(p, signed, "a@partner.example", ["boss@local.test"], SignedMail)).Verdict.Refuses);
        Assert.Contains("signedSenders", signed.State.Whitelisted);
    }

    [Fact]
    public async Task AutoReplyIsRedlisted()
    {
        var (p, _, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create());
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], "Auto-Submitted: auto-replied\nSubject: Out of office\n\nx\n");
        Assert.Equal("auto-submitted:", ctx.State.Red);
    }

    [Fact]
    public async Task WhitelistOnlyRefusesStrangers()
    {
        var (p, _, db) = Create();
        var cfg = TestConfig.Create(("WhitelistOnly", "1"));
        var ctx = new FakeMailContext(cfg);
        var (verdict, _) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.True(verdict.Refuses);
        db.Whitelist.Add("a@sender.example");
        ctx = new FakeMailContext(cfg);
        (verdict, _) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
    }

    [Theory]
    [InlineData(0, "x@other.example", true)]    // one white header sender is enough
    [InlineData(1, "x@other.example", false)]   // only the envelope sender counts
    [InlineData(2, "x@other.example", false)]   // every sender must be white
    [InlineData(2, "friend@white.example", true)]
    public async Task NotGreedyWhitelistModes(int mode, string envelope, bool whitelisted)
    {
        var (p, _, db) = Create();
        db.Whitelist.Add("friend@white.example");
        var ctx = new FakeMailContext(TestConfig.Create(("NotGreedyWhitelist", mode.ToString())));
        await Transaction.RunAsync(p, ctx, envelope, ["user@local.test"], "From: friend@white.example\nSubject: s\n\nb\n");
        Assert.Equal(whitelisted, ctx.State.IsWhitelisted);
    }

    [Fact]
    public async Task NpSizeMakesBigMailNoProcessing()
    {
        var (p, _, _) = Create();
        var ctx = new FakeMailContext(TestConfig.Create(("npSize", "100")));
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain + new string('x', 200) + "\n");
        Assert.StartsWith("message size", ctx.State.NoProcessing);
    }

    [Fact]
    public async Task NotSpamTagWorksOnce()
    {
        var store = new MemoryStore();
        var tags = new NotSpamTags(store);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation(), tags));
        var cfg = TestConfig.Create(("NotSpamTag", "a-long-secret-salt-for-tests"), ("blackListedDomains", "spam.example"),
            ("SpamError", "554 5.7.1 rejected, resend with NOTSPAMTAG in the subject"));
        var first = new FakeMailContext(cfg);
        var (verdict, _) = await Transaction.RunAsync(pipeline, first, "bad@spam.example", ["user@local.test"], "Subject: hi\n\nx\n");
        var tag = System.Text.RegularExpressions.Regex.Match(verdict.Reply!, @"\d{10}").Value;
        Assert.Equal(10, tag.Length);

        var resend = new FakeMailContext(cfg);
        (verdict, _) = await Transaction.RunAsync(pipeline, resend, "bad@spam.example", ["user@local.test"], $"Subject: hi {tag}\n\nx\n");
        Assert.True(resend.State.NotSpamTagged);
        Assert.Equal("NotSpamTag", resend.State.Whitelisted);

        var again = new FakeMailContext(cfg);
        await Transaction.RunAsync(pipeline, again, "bad@spam.example", ["user@local.test"], $"Subject: hi {tag}\n\nx\n");
        Assert.False(again.State.NotSpamTagged);
        Assert.False(tags.TryRedeem(cfg, "Subject 1234567890"));
    }

    [Fact]
    public async Task OutgoingMailIsLearnedAfterDelivery()
    {
        var (p, _, db) = Create();
        var ctx = new FakeMailContext(TestConfig.Create()) { IsAuthenticated = true };
        await Transaction.RunAsync(p, ctx, "me@local.test", ["friend@far.example"], "From: me@local.test\nTo: friend@far.example\nSubject: s\n\nb\n");
        var learned = Assert.Single(db.Learned);
        Assert.Equal(["friend@far.example"], learned.Recipients);
        Assert.Contains(ctx.LogLines, l => l.Contains("whitelist addition: friend@far.example"));
    }

    [Fact]
    public async Task GoodMailLowersTheIpScoreAndWhitelistedMailWhitensIt()
    {
        var (p, pb, db) = Create();
        db.Whitelist.Add("a@sender.example");
        var ctx = new FakeMailContext(TestConfig.Create());
        await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.Contains("203.0.113.9", pb.White);
        var (p2, pb2, _) = Create();
        ctx = new FakeMailContext(TestConfig.Create());
        await Transaction.RunAsync(p2, ctx, "b@sender.example", ["user@local.test"], Plain);
        Assert.Equal(-25, pb2.Black["203.0.113.9"]);
    }

    [Fact]
    public async Task PenaltyBoxBlocksAnIpOverTheLimit()
    {
        var (p, pb, _) = Create();
        pb.Black["203.0.113.9"] = 60;
        var ctx = new FakeMailContext(TestConfig.Create(("DoPenalty", "1")));
        var (verdict, phase) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal("DataBody", phase);
        Assert.StartsWith("554 5.7.1 Error for IP 203.0.113.9", verdict.Reply);
        ctx = new FakeMailContext(TestConfig.Create(("DoPenalty", "2")));
        (verdict, _) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task ExtremeAtConnectUsesHistoryOnly()
    {
        var (p, pb, _) = Create();
        pb.Black["203.0.113.9"] = 160;
        var ctx = new FakeMailContext(TestConfig.Create(("DoPenaltyExtremeSMTP", "1")));
        var (verdict, phase) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal("connect", phase);
        Assert.True(verdict.Refuses);
        ctx = new FakeMailContext(TestConfig.Create(("DoPenaltyExtremeSMTP", "1"), ("noExtremePB", "203.0.113.0/24")));
        (verdict, _) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task ExtremeAfterHeaderAddsThisMessage()
    {
        var (p, pb, _) = Create();
        pb.Black["203.0.113.9"] = 140;
        var cfg = TestConfig.Create(("DoPenaltyExtreme", "1"), ("blackListedDomains", "sender.example"), ("DoBlackDomain", "3"));
        var ctx = new FakeMailContext(cfg);
        // 140 + 20 (blValencePB) reaches 150 only after the black-domain score: the extreme check runs first and passes.
        var (verdict, _) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses && verdict.Reason!.StartsWith("extreme", StringComparison.Ordinal));
        pb.Black["203.0.113.9"] = 150;
        ctx = new FakeMailContext(cfg);
        (verdict, _) = await Transaction.RunAsync(p, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.StartsWith("extreme", verdict.Reason);
    }

    [Fact]
    public async Task PrivateAndNoPbAddressesAreNeverScored()
    {
        var (p, pb, _) = Create();
        var cfg = TestConfig.Create(("blackListedDomains", "sender.example"));
        var local = new FakeMailContext(cfg, "192.168.1.5");
        await Transaction.RunAsync(p, local, "a@sender.example", ["user@local.test"], Plain);
        Assert.Empty(pb.Black);
        var nopb = new FakeMailContext(TestConfig.Create(("blackListedDomains", "sender.example"), ("noPB", "203.0.113.9")));
        await Transaction.RunAsync(p, nopb, "a@sender.example", ["user@local.test"], Plain);
        Assert.Empty(pb.Black);
        var scored = new FakeMailContext(cfg);
        await Transaction.RunAsync(p, scored, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal(20, pb.Black["203.0.113.9"]);
    }
}

public class TrapAndLocalSwitchTests
{
    [Fact]
    public async Task SpamTrapRefusesWithThePoliteReplyAndScores()
    {
        var pb = new FakeIpReputation();
        var pipeline = new DecisionPipeline(new DecisionEngine(pb, new FakeAddressReputation()));
        var ctx = new FakeMailContext(TestConfig.Create(("spamtrapaddresses", "trap@local.test")));
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["trap@local.test"], "Subject: x\n\ny\n");
        Assert.Equal("rcpt", phase);
        Assert.Equal("550 5.1.1 User unknown: trap@local.test", verdict.Reply);
        Assert.Equal(50, pb.Black["203.0.113.9"]);

        ctx = new FakeMailContext(TestConfig.Create(("spamtrapaddresses", "trap@local.test"), ("noPenaltyMakeTraps", "trap@local.test")));
        (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["trap@local.test"], "Subject: x\n\ny\n");
        Assert.False(verdict.Refuses);
    }

    [Theory]
    [InlineData(false, false, false)]   // local mail skips the check
    [InlineData(true, false, true)]     // …Local switch on: it runs
    [InlineData(false, true, true)]     // a check that always runs on outgoing mail
    public void LocalSwitchDecidesForLocalMail(bool switchOn, bool runsOnOutgoing, bool applies)
    {
        var check = new CheckDefinition("DoBlackDomain", "[T]", "blValencePB", LocalSwitch: "BayesLocal", RunsOnOutgoing: runsOnOutgoing);
        var cfg = TestConfig.Create(("BayesLocal", switchOn ? "1" : "0"));
        var st = new MessageState { RelayOk = true };
        Assert.Equal(applies, DecisionEngine.Applies(check, cfg, st));
    }
}

public class WeightedScoreTests
{
    [Theory]
    [InlineData("20,10", 1.5, 30, 15)]     // small weight multiplies the valence
    [InlineData("20,10", -0.5, -10, -5)]   // a negative small weight is a bonus
    [InlineData("20,10", 45, 45, 22)]      // a large weight is the score; IP keeps the proportion
    [InlineData("20", 6, 120, 120)]        // 6 still multiplies
    [InlineData("20", 7, 7, 7)]
    public void AsspRule(string valence, double weight, double message, double ip)
    {
        var cfg = TestConfig.Create(("bombValencePB", valence));
        Assert.Equal((message, ip), DecisionEngine.WeightedScore(cfg, "bombValencePB", weight));
    }
}
