using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Checks;

/// <summary>
/// The regex filters (bomb family, blackRe, scriptRe, testRe) through the real pipeline with every catalogued check,
/// fed from regex files written in ASSP's syntax: weights, ~…~ groups, N/W/L/I flags, comments and includes.
/// bombValencePB is 20 and bombMaxPenaltyVal 70 by default.
/// </summary>
public class RegexFilterCheckTests
{
    private const string Rcpt = "u@local.test";
    private const string BombReply = "554 5.7.1 Delivery not authorized, message refused -- .";

    /// <summary>bombre.txt as an admin would write it.</summary>
    private const string BombFile = """
        # spam bombs for the tests
        ; a comment line too
        viagra=>1.5
        ~casino|jackpot~=>3
        lottery\s+winner=>50
        tiny\s+offer=>0.5
        members-only-offer=>2:>W+
        # include files/bombre-extra.txt
        """;

    private const string BombExtra = """
        cheap\s+meds
        """;

    private static readonly Dictionary<string, string> Files = new()
    {
        ["files/bombre.txt"] = BombFile,
        ["files/bombre-extra.txt"] = BombExtra,
        ["files/bombheaderre.txt"] = "X-Mailer:\\s*SpamBlaster=>2\n",
        ["files/blackre.txt"] = "# black\nforbidden\\s+words=>1\n",
        ["files/bombskipheadertagre.txt"] = "DKIM-Signature|Domainkey-Signature\n",
        ["files/suspicious.txt"] = "!!!W!!!\nlimited\\s+time=>0.5\n",
    };

    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create(Files, [("localDomains", "local.test"), .. values]);

    private static string Message(string body, string subject = "hello", string extraHeaders = "") =>
        $"From: a@sender.example\nMessage-ID: <1234.5678@sender.example>\nSubject: {subject}\n{extraHeaders}\n{body}\n";

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string message,
        string from = "a@sender.example", Action<FakeMailContext>? setup = null)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg) { Helo = "mx.sender.example" };
        setup?.Invoke(ctx);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, from, [Rcpt], message);
        return (verdict, phase, ctx);
    }

    private static double Score(FakeMailContext ctx, string valence) => ctx.State.Scores.Where(s => s.Check == valence).Sum(s => s.MessageScore);

    [Fact]
    public void TheChecksAreCatalogued()
    {
        var names = CheckCatalog.Discover(CheckServices.None).Select(c => c.Definition.Name).ToList();
        foreach (var n in new[] { "DoBombHeaderRe", "DoBombRe", "DoScriptRe", "DoBlackRe" }) Assert.Contains(n, names);
    }

    [Fact]
    public void TheFileLoadsWithWeightsGroupsFlagsAndIncludes()
    {
        var list = Cfg().GetWeightedRegex("bombRe");
        Assert.Equal(6, list.Count);
        Assert.Contains(list.Entries, e => e.Source == "casino|jackpot" && e.Weight == 3);
        Assert.Contains(list.Entries, e => e.Source == "lottery\\s+winner" && e.Weight == 50);
        Assert.Contains(list.Entries, e => e.Source == "members-only-offer" && e.Flags.W == Assp.Config.Regexes.NwliUse.Only);
        Assert.Contains(list.Entries, e => e.Source == "cheap\\s+meds" && !e.HasWeight);
    }

    [Fact]
    public async Task CleanMailPasses()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), Message("just a normal letter"));
        Assert.False(verdict.Refuses);
        Assert.Equal("delivered", phase);
        Assert.Equal(0, ctx.State.MessageScore);
    }

    [Fact]
    public async Task BombReBlocksWithBombErrorAndTheReason()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), Message("buy VIAGRA today"));
        Assert.True(verdict.Refuses);
        Assert.Equal("DataBody", phase);
        Assert.StartsWith(BombReply + " (reason: bombRe: 'VIAGRA')", verdict.Reply);
        Assert.Equal(30, Score(ctx, "bombValencePB"));   // weight 1.5 × valence 20
        Assert.Contains(ctx.State.Reports, r => r.Check == "DoBombRe" && r.Outcome == "block");
        Assert.Contains(ctx.LogLines, l => l.Contains("[bombRe] PB 30: for VIAGRA"));
    }

    [Fact]
    public async Task BombErrorReasonOffGivesThePlainReply()
    {
        var (verdict, _, _) = await Run(Cfg(("bombErrorReason", "0")), Message("buy viagra today"));
        Assert.Equal(BombReply, verdict.Reply);
    }

    [Fact]
    public async Task GroupEntriesAndIncludedEntriesMatch()
    {
        var (verdict, _, ctx) = await Run(Cfg(), Message("hit the JACKPOT"));
        Assert.True(verdict.Refuses);
        Assert.Equal(60, Score(ctx, "bombValencePB"));

        (verdict, _, ctx) = await Run(Cfg(), Message("cheap   meds here"));
        Assert.True(verdict.Refuses);
        Assert.Equal(20, Score(ctx, "bombValencePB"));   // no weight: the valence
    }

    [Fact]
    public async Task BelowTheValenceABlockingCheckOnlyScores()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), Message("a tiny offer for you"));
        Assert.False(verdict.Refuses);
        Assert.Equal("delivered", phase);
        Assert.Equal(10, Score(ctx, "bombValencePB"));
        Assert.Contains(ctx.LogLines, l => l.Contains("[scoring] (bombRe: 'tiny offer')"));
    }

    [Fact]
    public async Task TheSumIsCappedAtBombMaxPenaltyVal()
    {
        var (verdict, _, ctx) = await Run(Cfg(), Message("lottery winner at the casino"));
        Assert.True(verdict.Refuses);
        Assert.Equal(70, Score(ctx, "bombValencePB"));

        (_, _, ctx) = await Run(Cfg(("bombMaxPenaltyVal", "200")), Message("lottery winner at the casino"));
        Assert.Equal(110, Score(ctx, "bombValencePB"));   // 50 (absolute) + 3 × 20
    }

    [Fact]
    public async Task TheSameTextCountsOnce()
    {
        var (_, _, ctx) = await Run(Cfg(("DoBombRe", "3")), Message("tiny offer, tiny offer, TINY OFFER"));
        Assert.Equal(10, Score(ctx, "bombValencePB"));
    }

    [Fact]
    public async Task MonitorScoreAndTestMode()
    {
        var (verdict, _, ctx) = await Run(Cfg(("DoBombRe", "2")), Message("buy viagra"));
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains(ctx.LogLines, l => l.Contains("[monitoring] (bombRe: 'viagra')"));

        (verdict, _, ctx) = await Run(Cfg(("DoBombRe", "3")), Message("buy viagra"));
        Assert.False(verdict.Refuses);
        Assert.Equal(30, Score(ctx, "bombValencePB"));

        (verdict, _, ctx) = await Run(Cfg(("bombTestMode", "1")), Message("buy viagra"));
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);
        Assert.Equal(30, Score(ctx, "bombValencePB"));
    }

    [Fact]
    public async Task WhitelistedMailIsSkippedUnlessBombReWLOrAnEntryAsksForIt()
    {
        var white = ("whiteListedIPs", "203.0.113.9");
        var (verdict, _, _) = await Run(Cfg(white), Message("buy viagra"));
        Assert.False(verdict.Refuses);

        (verdict, _, _) = await Run(Cfg(white, ("bombReWL", "1")), Message("buy viagra"));
        Assert.True(verdict.Refuses);

        // W+: only whitelisted mail is searched for this entry.
        (verdict, _, _) = await Run(Cfg(white), Message("members-only-offer inside"));
        Assert.True(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(), Message("members-only-offer inside"));
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task BombReNPSearchesNoProcessingMail()
    {
        var np = ("noProcessingIPs", "203.0.113.9");
        Assert.False((await Run(Cfg(np), Message("buy viagra"))).Verdict.Refuses);
        Assert.True((await Run(Cfg(np, ("bombReNP", "1")), Message("buy viagra"))).Verdict.Refuses);
    }

    [Fact]
    public async Task BombReLocalSearchesLocalMail()
    {
        static void Local(FakeMailContext c) => c.IsAuthenticated = true;
        Assert.False((await Run(Cfg(), Message("buy viagra"), setup: Local)).Verdict.Refuses);
        Assert.True((await Run(Cfg(("bombReLocal", "1")), Message("buy viagra"), setup: Local)).Verdict.Refuses);
    }

    [Fact]
    public async Task BombReISPIPSearchesMailFromAnIspRelay()
    {
        var isp = ("ispip", "203.0.113.9");
        Assert.True((await Run(Cfg(isp), Message("buy viagra"))).Verdict.Refuses);   // on by default
        Assert.False((await Run(Cfg(isp, ("bombReISPIP", "0")), Message("buy viagra"))).Verdict.Refuses);
    }

    /// <summary>
    /// ASSP's max-hits rule: a search whose hits cancel out to a sum of 0 still refuses once it has this many hits;
    /// with fewer it passes (a positive sum is judged against the valence instead).
    /// </summary>
    [Theory]
    [InlineData("bombRe", "bombReMaxHits", "DoBombRe")]
    [InlineData("bombHeaderRe", "bombHeaderReMaxHits", "DoBombHeaderRe")]
    [InlineData("bombDataRe", "bombDataReMaxHits", "DoBombRe")]
    [InlineData("blackRe", "blackReMaxHits", "DoBlackRe")]
    [InlineData("scriptRe", "scriptReMaxHits", "DoScriptRe")]
    public async Task MaxHitsRefusesHitsWhoseWeightsCancelOut(string option, string maxHitsOption, string doOption)
    {
        var mail = Message("alpha and beta", extraHeaders: "X-Test: alpha and beta\n");
        ConfigSnapshot With(string maxHits) => Cfg((doOption, "1"), (option, "alpha=>1|beta=>-1"), (maxHitsOption, maxHits));
        var (verdict, _, ctx) = await Run(With("3"), mail);
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        (verdict, _, _) = await Run(With("2"), mail);
        Assert.True(verdict.Refuses);
    }

    [Fact]
    public async Task NoBombScriptSendersAreSkipped()
    {
        var (verdict, _, _) = await Run(Cfg(("noBombScript", "a@sender.example")), Message("buy viagra"));
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task SkippedHeaderTagsAreNotSearched()
    {
        var (verdict, _, _) = await Run(Cfg(), Message("clean", extraHeaders: "DKIM-Signature: v=1; b=viagra\n"));
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(), Message("clean", extraHeaders: "X-Other: viagra\n"));
        Assert.True(verdict.Refuses);
    }

    [Fact]
    public async Task BombReSeesDecodedContent()
    {
        var qp = "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n";
        var (verdict, _, _) = await Run(Cfg(), Message("<p>vi=\nag&#114;a</p>", extraHeaders: qp));
        Assert.True(verdict.Refuses);
    }

    [Fact]
    public async Task BombDataReFindsAttachmentNames()
    {
        var mime = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n";
        var body = "--b1\nContent-Type: text/plain\n\nsee attached\n--b1\nContent-Type: application/octet-stream; name=\"invoice.exe\"\n"
            + "Content-Disposition: attachment; filename=\"invoice.exe\"\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--b1--\n";
        var (verdict, phase, ctx) = await Run(Cfg(("bombDataRe", @"attachment:.*\.exe=>2")), Message(body, extraHeaders: mime));
        Assert.True(verdict.Refuses);
        Assert.Equal("DataBody", phase);
        Assert.Contains("BombData: 'attachment:invoice.exe'", verdict.Reason);
        Assert.Equal(40, Score(ctx, "bombValencePB"));
    }

    [Fact]
    public async Task BombHeaderReAndBombSenderReRefuseAfterTheHeader()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), Message("clean", extraHeaders: "X-Mailer: SpamBlaster 2.0\n"));
        Assert.True(verdict.Refuses);
        Assert.Equal("DataHeader", phase);
        Assert.StartsWith(BombReply + " (reason: BombHeaderRe 'X-Mailer: SpamBlaster')", verdict.Reply);
        Assert.Equal(40, Score(ctx, "bombValencePB"));

        // The default bombSenderRe: six digits at tom.com.
        (verdict, phase, _) = await Run(Cfg(), Message("clean"), from: "123456@tom.com");
        Assert.True(verdict.Refuses);
        Assert.Equal("DataHeader", phase);
        Assert.Contains("BombSenderMailFrom '123456@tom.com'", verdict.Reason);

        (verdict, _, _) = await Run(Cfg(("DoBombHeaderRe", "4")), Message("clean"), from: "123456@tom.com");
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task CharsetsAreFoundInTheHeaderAndInParts()
    {
        var (verdict, phase, _) = await Run(Cfg(), Message("clean", extraHeaders: "Content-Type: text/plain; charset=GB2312\n"));
        Assert.True(verdict.Refuses);
        Assert.Equal("DataHeader", phase);
        Assert.Contains("BombCharSets 'charset=GB2312'", verdict.Reason);

        // A charset no decoder knows is listed as UNKNOWN.
        (verdict, _, _) = await Run(Cfg(), Message("clean", extraHeaders: "Content-Type: text/plain; charset=x-no-such-set\n"));
        Assert.True(verdict.Refuses);
        Assert.Contains("charset=UNKNOWN", verdict.Reason);

        // In a MIME part only the body check sees it.
        var mime = "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b1\"\n";
        var body = "--b1\nContent-Type: text/plain; charset=KOI8-R\n\nprivet\n--b1--\n";
        (verdict, phase, _) = await Run(Cfg(), Message(body, extraHeaders: mime));
        Assert.True(verdict.Refuses);
        Assert.Equal("DataBody", phase);
        Assert.Contains("BombCharSets: 'charset=KOI8-R'", verdict.Reason);
    }

    [Fact]
    public async Task ALongSubjectScoresTheMaxSubjectLengthWeight()
    {
        var subject = new string('x', 250);
        var (verdict, phase, ctx) = await Run(Cfg(("bombSubjectRe", "zzz-never")), Message("clean", subject: subject));
        Assert.True(verdict.Refuses);
        Assert.Equal("DataHeader", phase);
        Assert.Contains("subject length(250) > max(200)", verdict.Reason);
        Assert.Equal(70, Score(ctx, "bombValencePB"));   // 100, capped

        (verdict, _, ctx) = await Run(Cfg(("bombSubjectRe", "act\\s+now=>0.5")), Message("clean", subject: "please ACT NOW"));
        Assert.False(verdict.Refuses);
        Assert.Equal(10, Score(ctx, "bombValencePB"));
    }

    [Fact]
    public async Task SuspiciousContentOnlyScores()
    {
        var cfg = Cfg(("bombSuspiciousRe", "file:files/suspicious.txt"));
        var (verdict, _, ctx) = await Run(cfg, Message("only for a limited time"));
        Assert.False(verdict.Refuses);
        Assert.Equal(5, Score(ctx, "bombSuspiciousValencePB"));   // 0.5 × 10

        // The file's !!!W!!! default lets it search whitelisted mail as well.
        (_, _, ctx) = await Run(TestConfig.Create(Files, ("localDomains", "local.test"), ("bombSuspiciousRe", "file:files/suspicious.txt"),
            ("whiteListedIPs", "203.0.113.9")), Message("only for a limited time"));
        Assert.Equal(5, Score(ctx, "bombSuspiciousValencePB"));
    }

    [Fact]
    public async Task BlackReHasNoOptOutForWhitelistedMail()
    {
        var (verdict, _, _) = await Run(Cfg(("DoBlackRe", "1")), Message("these are forbidden words"));
        Assert.True(verdict.Refuses);
        Assert.StartsWith(BombReply + " (reason: BombBlack 'forbidden words')", verdict.Reply);

        (verdict, _, _) = await Run(Cfg(("DoBlackRe", "1"), ("whiteListedIPs", "203.0.113.9")), Message("these are forbidden words"));
        Assert.True(verdict.Refuses);

        (verdict, _, _) = await Run(Cfg(("DoBlackRe", "1"), ("acceptAllMail", "203.0.113.9")), Message("these are forbidden words"));
        Assert.False(verdict.Refuses);

        (verdict, _, var ctx) = await Run(Cfg(("DoBlackRe", "3")), Message("these are forbidden words"));
        Assert.False(verdict.Refuses);
        Assert.Equal(20, Score(ctx, "blackValencePB"));
    }

    [Fact]
    public async Task ScriptReRefusesWithScriptError()
    {
        var html = "Content-Type: text/html\n";
        var cfg = Cfg(("DoScriptRe", "1"), ("scriptRe", "<script|<iframe|javascript:"));
        var (verdict, _, ctx) = await Run(cfg, Message("<html><script>alert(1)</script></html>", extraHeaders: html));
        Assert.True(verdict.Refuses);
        Assert.StartsWith("554 5.7.1 Your email contains html scripting code -- please resend as plain text. (reason: BombScript '<script')", verdict.Reply);
        Assert.Equal(25, Score(ctx, "scriptValencePB"));

        (verdict, _, _) = await Run(Cfg(("DoScriptRe", "1"), ("scriptRe", "<script"), ("scriptTestMode", "1")),
            Message("<html><script>alert(1)</script></html>", extraHeaders: html));
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task TestReIsLoggedOnly()
    {
        var (verdict, _, ctx) = await Run(Cfg(("DoTestRe", "1"), ("testRe", "trial\\s+phrase")), Message("a trial phrase here"));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("testRe: TestRegex found 'trial phrase'"));
        Assert.Equal(0, ctx.State.MessageScore);
    }

    [Fact]
    public async Task AHostilePatternIsBoundedByTheTimeout()
    {
        // A lookahead keeps the entry on the backtracking engine, where (a+)+ is exponential.
        var body = new string('a', 40) + "!";
        var (verdict, phase, ctx) = await Run(Cfg(("bombRe", "(?=a)(a+)+$")), Message(body));
        Assert.False(verdict.Refuses);
        Assert.Equal("delivered", phase);
        Assert.Contains(ctx.LogLines, l => l.Contains("bombRe search ended early"));

        // The same in a direct search: the result says it timed out, and hits before the bad spot still count.
        var cfg = Cfg(("bombRe", "viagra|(?=a)(a+)+$"), ("DoBombRe", "3"));
        var found = BombSearch.Run(cfg, new MessageState(), "bombRe", "viagra " + body);
        Assert.True(found.TimedOut);
        Assert.Equal(1, found.Count);
    }

    [Fact]
    public void APlainHostilePatternRunsInLinearTime()
    {
        // Without lookarounds or backreferences the entry runs on the linear-time engine: no timeout at all.
        var cfg = Cfg(("bombRe", "viagra|(a+)+$"), ("DoBombRe", "3"));
        var found = BombSearch.Run(cfg, new MessageState(), "bombRe", "viagra " + new string('a', 5000) + "!");
        Assert.False(found.TimedOut);
        Assert.Equal(1, found.Count);
        Assert.Equal(1, BombSearch.Run(cfg, new MessageState(), "bombRe", new string('a', 5000)).Count);
    }
}
