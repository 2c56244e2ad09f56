using Assp.Checks.Decision;

namespace Assp.Checks.Tests.Decision;

/// <summary>
/// The mode, switch and limit combinations of ASSP's decision logic, each with the outcome the reference
/// describes: a blacklisted sender domain (DoBlackDomain, blValencePB 20) meets test modes, spam lovers and
/// haters, whitelisting, noprocessing, outgoing mail and the switches to scoring.
/// </summary>
public class ModeMatrixTests
{
    private const string Message = "From: Bad Guy <bad@spam.example>\nTo: user@local.test\nSubject: hello\n\nbuy now\n";

    public sealed record Case(string Name, (string, string)[] Config, string Outcome, double Score, string? Tag = null,
        string? Subject = null, string? Header = null, CollectTarget? Collect = null, string From = "bad@spam.example",
        string Rcpt = "user@local.test", bool Relay = false)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases => new()
    {
        new("block", [], "block", 20, "[BlackDomain]", Header: "X-Assp-Spam-Reason: blacklisted domain 'bad@spam.example'", Collect: CollectTarget.SpamAndCopy),
        new("monitor", [("DoBlackDomain", "2")], "pass", 0),
        new("score", [("DoBlackDomain", "3")], "pass", 20, Header: "X-Assp-Message-Score: 20 (blacklisted domain 'bad@spam.example')"),
        new("score reaches limit at end", [("DoBlackDomain", "3"), ("blValencePB", "60")], "block", 60, "[MessageLimit]"),
        new("score in low band tags", [("DoBlackDomain", "3"), ("blValencePB", "45"), ("spamSubject", "[SPAM]")], "pass", 45, "[MessageLimit][lowlimit]",
            Subject: "[SPAM]", Header: "X-Assp-Spam: YES (Probably)"),
        new("test mode", [("blTestMode", "1"), ("spamSubject", "[SPAM]"), ("spamTag", "1")], "pass", 20, "[BlackDomain][testmode]",
            Subject: "[SPAM] [BlackDomain][testmode]", Header: "X-Assp-Block: NO (testmode)"),
        new("all test mode", [("allTestMode", "1")], "pass", 20, "[BlackDomain][testmode]", Header: "X-Assp-Block: NO (all in testmode)"),
        new("test mode switched to scoring", [("blTestMode", "1"), ("switchTestToScoring", "1")], "pass", 20, Header: "X-Assp-Message-Score: 20 (blacklisted domain 'bad@spam.example')"),
        new("test mode to scoring needs DoPenaltyMessage", [("blTestMode", "1"), ("switchTestToScoring", "1"), ("DoPenaltyMessage", "0")], "pass", 20, "[BlackDomain][testmode]"),
        new("check spam lover", [("blSpamLovers", "user@local.test")], "pass", 20, "[BlackDomain][sl]", Header: "X-Assp-Block: NO (Spamlover)", Collect: CollectTarget.Spam),
        new("global spam lover", [("spamLovers", "@local.test")], "pass", 20, "[BlackDomain][sl]"),
        new("lover but hater", [("spamLovers", "@local.test"), ("spamHaters", "user@local.test")], "block", 20),
        new("hater cancels test mode", [("blTestMode", "1"), ("spamHaters", "user@local.test")], "block", 20),
        new("lover over personal limit", [("blSpamLovers", "user@local.test=>10")], "block", 20),
        new("lover limit makes a lower low band", [("blSpamLovers", "user@local.test=>30")], "pass", 20, "[MessageLimit][lowlimit]", Header: "X-Assp-Spam: YES (Probably)"),
        new("lover under personal limit", [("blSpamLovers", "user@local.test=>40")], "pass", 20, "[BlackDomain][sl]"),
        new("lover switched to scoring", [("spamLovers", "@local.test"), ("switchSpamLoverToScoring", "1")], "pass", 20),
        new("spamTagSL keeps lover subject clean", [("spamLovers", "@local.test"), ("spamTag", "1"), ("spamTagSL", "1"), ("spamSubject", "[SPAM]")],
            "pass", 20, "[BlackDomain][sl]", Subject: "[SPAM]"),
        new("spamSubjectSL too", [("spamLovers", "@local.test"), ("spamTag", "1"), ("spamTagSL", "1"), ("spamSubject", "[SPAM]"), ("spamSubjectSL", "1")],
            "pass", 20, "[BlackDomain][sl]", Subject: ""),
        new("whitelisted still checked (DoBlackDomainWL)", [("whiteListedDomains", "spam.example")], "block", 20),
        new("whitelisted skipped without WL switch", [("whiteListedDomains", "spam.example"), ("DoBlackDomainWL", "0")], "pass", 0),
        new("noprocessing checked with NP switch", [("noProcessingDomains", "spam.example")], "block", 20),
        new("noprocessing skipped without NP switch", [("noProcessingDomains", "spam.example"), ("DoBlackDomainNP", "0")], "pass", 0),
        new("outgoing mail not checked", [], "pass", 0, Relay: true),
        new("message scoring tags", [("DoBlackDomain", "3"), ("blValencePB", "60"), ("DoPenaltyMessage", "4")], "pass", 60, "[MessageLimit][tagging][tagmode]"),
        new("message scoring monitors", [("DoBlackDomain", "3"), ("blValencePB", "60"), ("DoPenaltyMessage", "2")], "pass", 60),
        new("message scoring test mode", [("DoBlackDomain", "3"), ("blValencePB", "60"), ("msTestMode", "1")], "pass", 60, "[MessageLimit][testmode]"),
        new("lover limit raises the block limit", [("DoBlackDomain", "3"), ("blValencePB", "60"), ("spamLovers", "user@local.test=>80")], "pass", 60),
        new("lover limit still blocks above it", [("DoBlackDomain", "3"), ("blValencePB", "90"), ("spamLovers", "user@local.test=>80")], "block", 90),
        new("redlisted mail is not collected as ham but spam is discarded", [("redRe", "hello")], "block", 20, Collect: CollectTarget.DiscardAndCopy),
        new("block limit without MsgScoreOnEnd", [("DoBlackDomain", "3"), ("blValencePB", "60"), ("MsgScoreOnEnd", "0")], "block", 60, "[MessageLimit]"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Outcome(Case c)
    {
        var values = new List<(string, string)> { ("blackListedDomains", "spam.example") };
        values.AddRange(c.Config);
        var cfg = TestConfig.Create([.. values]);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()));
        var ctx = new FakeMailContext(cfg) { Class = c.Relay ? ConnectionClass.Relay : ConnectionClass.External };
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, c.From, [c.Rcpt], Message);
        var st = ctx.State;
        Assert.True(c.Outcome == "block" ? verdict.Refuses : !verdict.Refuses, $"{c.Name}: expected {c.Outcome}, got {verdict}; log: {string.Join(" | ", ctx.LogLines)}");
        Assert.Equal(c.Score, st.MessageScore);
        if (c.Tag is not null) Assert.Equal(c.Tag, st.Prepend.ToString());
        if (c.Subject is not null) Assert.Equal(c.Subject, st.SubjectPrefix);
        if (c.Header is not null) Assert.Contains(c.Header, st.Headers);
        if (c.Collect is not null) Assert.Equal(c.Collect, st.Collect);
        if (c.Outcome == "block")
            Assert.StartsWith("554 5.7.1", verdict.Reply);
    }

    [Fact]
    public async Task ReplyPlaceholdersAreFilled()
    {
        var cfg = TestConfig.Create(("blackListedDomains", "spam.example"), ("DoBlackDomain", "3"), ("blValencePB", "70"));
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()));
        var ctx = new FakeMailContext(cfg);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "bad@spam.example", ["user@local.test"], Message);
        Assert.Equal("DataBody", phase);
        Assert.Equal("554 5.7.1 Error for IP 203.0.113.9, send your mail to postmaster@local.test to ensure delivery", verdict.Reply);
    }

    [Fact]
    public async Task SpamErrorNamesTheRecipientDomain()
    {
        var cfg = TestConfig.Create(("blackListedDomains", "spam.example"));
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()));
        var ctx = new FakeMailContext(cfg);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "bad@spam.example", ["user@local.test"], Message);
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.1 Mail appears to be unsolicited -- send error reports to postmaster@local.test", verdict.Reply);
    }
}
