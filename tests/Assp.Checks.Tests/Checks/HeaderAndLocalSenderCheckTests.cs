using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Checks.Tests.PenaltyBox;
using Assp.Config;

namespace Assp.Checks.Tests.Checks;

/// <summary>HeaderMaxLength, detectMailLoop, DoNoFrom, DoSameSubject, DoLocalSender* and LocalFrequency* through the pipeline with every catalogued check.</summary>
public class HeaderAndLocalSenderCheckTests
{
    private const string Rcpt = "u@local.test";
    private const string GoodMessage = "From: a@sender.example\nMessage-ID: <1234.5678@sender.example>\nSubject: hello\n\nbody\n";

    // The message score limit stays out of the way unless a test sets it: these tests look at single checks.
    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("PenaltyMessageLimit", "1000"), ("PenaltyMessageLow", "900"), .. values]);

    private static DecisionPipeline Pipeline(CheckServices? services = null) =>
        new(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(services ?? CheckServices.None));

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string from = "a@sender.example",
        string message = GoodMessage, DecisionPipeline? pipeline = null, bool relay = false, string[]? rcpts = null)
    {
        var ctx = new FakeMailContext(cfg) { Helo = "mx.sender.example", Class = relay ? ConnectionClass.Relay : ConnectionClass.External };
        var (verdict, phase) = await Transaction.RunAsync(pipeline ?? Pipeline(), ctx, from, rcpts ?? [Rcpt], message);
        return (verdict, phase, ctx);
    }

    private static bool Reported(FakeMailContext ctx, string check, string outcome) => ctx.State.Reports.Any(r => r.Check == check && r.Outcome == outcome);

    [Fact]
    public void TheChecksAreCatalogued()
    {
        var names = CheckCatalog.Discover(CheckServices.None).Select(c => c.Definition.Name).ToList();
        foreach (var n in new[] { "DoReversed", "DoDomainCheck", "HeaderMaxLength", "detectMailLoop", "DoNoFrom", "DoSameSubject",
                     "DoLocalSenderDomain", "DoLocalSenderAddress", "LocalFrequencyInt", "ForceNoValidLocalSender" })
            Assert.Contains(n, names);
    }

    // ---- HeaderMaxLength ----

    [Fact]
    public async Task AnOversizedHeaderIsRefused()
    {
        var big = "X-Filler: " + new string('x', 600) + "\n";
        var message = string.Concat(Enumerable.Repeat(big, 2)) + GoodMessage;
        var (verdict, phase, ctx) = await Run(Cfg(("HeaderMaxLength", "1000")), message: message);
        Assert.Equal("DataHeader", phase);
        Assert.Matches(@"^554 5\.7\.1 possible mailloop - oversized header \(\d+\)$", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("Possible Mailloop: Headerlength (", StringComparison.Ordinal) && l.EndsWith(") > 1000", StringComparison.Ordinal));

        (verdict, _, _) = await Run(Cfg(("HeaderMaxLength", "1000")), message: message, relay: true);
        Assert.True(verdict.Refuses);                                       // outgoing mail too
        (verdict, _, _) = await Run(Cfg(("HeaderMaxLength", "0")), message: message);
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(), message: message);               // 50000 by default
        Assert.False(verdict.Refuses);
    }

    // ---- detectMailLoop ----

    private static string Looped(int times, string name = "ASSP.nospam") =>
        string.Concat(Enumerable.Repeat($"Received: from unknown ([198.51.100.1] helo=x)\n\tby {name} with ESMTP (ASSP for .NET 1.0);\n\tSat, 21 Nov 2026 10:00:00 +0000\n", times)) + GoodMessage;

    [Fact]
    public async Task MoreOwnReceivedLinesThanDetectMailLoopIsALoop()
    {
        var (verdict, _, ctx) = await Run(Cfg(), message: Looped(4));
        Assert.Equal("554 5.7.1 possible mailloop - found own received header more than 3 times", verdict.Reply);
        Assert.Contains("warning: possible mailloop - found own received header more than 3 times", ctx.LogLines);
        Assert.Equal("[MailLoop]", ctx.State.Prepend.ToString());

        (verdict, _, _) = await Run(Cfg(), message: Looped(3));
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(), message: Looped(5, "mx.other.example"));
        Assert.False(verdict.Refuses);                                      // someone else's lines
        (verdict, _, _) = await Run(Cfg(("myNameAlso", "mx2.local.test")), message: Looped(4, "mx2.local.test"));
        Assert.True(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(("detectMailLoop", "0")), message: Looped(9));
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public void TheOwnReceivedPatternRunsWithoutATimeLimitOnTheLinearEngine()
    {
        // Under a CPU starved by load (the soak of issue 14) a 1 s limit fired on ordinary Received lines and the
        // session ended with "421 internal error". The pattern is ours and linear, so it needs no limit.
        var re = MailLoopCheck.OwnReceived(Cfg(("myNameAlso", "mx2.local.test, mx3.local.test")));
        Assert.Equal(System.Text.RegularExpressions.Regex.InfiniteMatchTimeout, re.MatchTimeout);
        Assert.True(re.Options.HasFlag(System.Text.RegularExpressions.RegexOptions.NonBacktracking));
        Assert.Matches(re, "from unknown ([198.51.100.1] helo=x) by MX3.local.test with ESMTPSA (ASSP for .NET 1.0); date");
        Assert.DoesNotMatch(re, "from unknown by mx3.local.test.evil with ESMTP (ASSP for .NET 1.0); date");
        Assert.DoesNotMatch(re, "from unknown by mx3.local.test with ESMTP (Postfix); date");
    }

    /// <summary>A check whose regex ran past its time limit.</summary>
    private sealed class TimingOutCheck : IMessageCheck
    {
        public CheckDefinition Definition { get; } = new("TimingOutTestCheck", "[Test]", null, RunsOnOutgoing: true);
        public SmtpPhase Phase => SmtpPhase.DataHeader;
        public int Order => 0;
        public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) =>
            throw new System.Text.RegularExpressions.RegexMatchTimeoutException("x", "y", TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task ACheckWhoseRegexTimesOutIsSkippedAndTheMailGoesOn()
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null,
            [new TimingOutCheck(), .. CheckCatalog.Discover(CheckServices.None)]);
        var (verdict, phase, ctx) = await Run(Cfg(), pipeline: pipeline);
        Assert.False(verdict.Refuses);
        Assert.Contains("warning: TimingOutTestCheck skipped: a regular expression took longer than 1000 ms", ctx.LogLines);
        // The checks after it still run: a loop is still found.
        (verdict, _, _) = await Run(Cfg(), message: Looped(4), pipeline: pipeline);
        Assert.Equal("554 5.7.1 possible mailloop - found own received header more than 3 times", verdict.Reply);
    }

    // ---- DoNoFrom ----

    [Theory]
    [InlineData("Subject: s\n\nb\n", 59, new[] { "From: and Sender: header missing" })]
    [InlineData("From: a@x.example\nSender: b@y.example\n\nb\n", 59, new[] { "different domains in From:/Sender: (x.example, y.example)" })]
    [InlineData("From: a@x.example, c@x.example\n\nb\n", 59, new string[0])]
    [InlineData("From: a@x.example, c@x.example\n\nb\n", 4, new[] { "multiple From: addresses or headers (1 headers, 2 addresses)" })]
    [InlineData("From: a@x.example\nSender: b@x.example\nSender: c@x.example\n\nb\n", 8, new[] { "multiple Sender: addresses or headers (2 headers, 2 addresses)" })]
    [InlineData("From: Nobody\n\nb\n", 59, new[] { "no valid address in From: 'Nobody'" })]
    [InlineData("Sender: a@x.example\n\nb\n", 59, new[] { "From missing" })]
    [InlineData("From: a@x.example\nSender: undisclosed\n\nb\n", 32, new[] { "no valid address in Sender: 'undisclosed'" })]
    [InlineData("From: a@x.example\n\nb\n", 63, new string[0])]
    public void NoFromFaults(string message, int select, string[] expected)
    {
        var msg = Assp.Mime.MimeParser.Parse(System.Text.Encoding.UTF8.GetBytes(message.ReplaceLineEndings("\r\n")));
        Assert.Equal(expected, NoFromCheck.Faults(msg, select));
    }

    [Fact]
    public async Task NoFromScoresEachFaultAndMonitorOnlyLogs()
    {
        var message = "From: Nobody\nSender: b@y.example\nMessage-ID: <1@sender.example>\nSubject: s\n\nb\n";
        var (verdict, _, ctx) = await Run(Cfg(), message: message);
        Assert.False(verdict.Refuses);
        Assert.Equal(50, ctx.State.MessageScore);                           // one fault (no valid From) × nofromValencePB
        Assert.Contains("[scoring] (no valid address in From: 'Nobody')", ctx.LogLines);
        Assert.True(Reported(ctx, "DoNoFrom", "score"));

        (verdict, _, ctx) = await Run(Cfg(("DoNoFrom", "2")), message: message);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains("[monitoring] (no valid address in From: 'Nobody')", ctx.LogLines);
        (_, _, ctx) = await Run(Cfg(("DoNoFrom", "0")), message: message);
        Assert.False(Reported(ctx, "DoNoFrom", "score"));
    }

    [Fact]
    public async Task TwoFaultsTakeAwayTheWhitelisting()
    {
        var message = "From: a@x.example\nSender: b@y.example\nSender: c@y.example\nMessage-ID: <1@sender.example>\nSubject: s\n\nb\n";
        var (_, _, ctx) = await Run(Cfg(("whiteListedIPs", "203.0.113.9")), message: message);
        Assert.Null(ctx.State.Whitelisted);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("DoNoFrom: 2 From:/Sender: faults - the whitelisted flag", StringComparison.Ordinal));
        (_, _, ctx) = await Run(Cfg(("whiteListedIPs", "203.0.113.9"), ("DoNoFromRemovesNPWL", "2")), message: message);
        Assert.NotNull(ctx.State.Whitelisted);
        (_, _, ctx) = await Run(Cfg(("whiteListedIPs", "203.0.113.9"), ("DoNoFromWL", "0")), message: message);
        Assert.False(Reported(ctx, "DoNoFrom", "score"));
    }

    // ---- DoSameSubject ----

    [Fact]
    public async Task TheFifthSameSubjectWithinTheIntervalHits()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var pipeline = Pipeline(new CheckServices(Clock: clock));
        var cfg = Cfg(("DoSameSubject", "1"));
        string Msg(string subject) => $"From: a@sender.example\nMessage-ID: <1@sender.example>\nSubject: {subject}\n\nb\n";
        for (int i = 0; i < 4; i++)
            Assert.False((await Run(cfg, message: Msg(i % 2 == 0 ? "Cheap Pills!!" : "cheap   pills"), pipeline: pipeline)).Verdict.Refuses);
        var (verdict, _, ctx) = await Run(cfg, message: Msg("CHEAP pills"), pipeline: pipeline);
        Assert.Equal("554 5.7.1 too many mails with same subject", verdict.Reply);
        Assert.Contains("[spam found] (passed limit(5) of same subjects in 300 seconds)", ctx.LogLines);
        Assert.Equal(150, ctx.State.MessageScore);                          // isValencePB

        Assert.False((await Run(cfg, message: Msg("something else"), pipeline: pipeline)).Verdict.Refuses);
        clock.Advance(TimeSpan.FromSeconds(301));
        Assert.False((await Run(cfg, message: Msg("cheap pills"), pipeline: pipeline)).Verdict.Refuses);
    }

    [Fact]
    public async Task SameSubjectModesAndScope()
    {
        var pipeline = Pipeline();
        var message = "From: a@sender.example\nMessage-ID: <1@sender.example>\nSubject: same\n\nb\n";
        var score = Cfg(("DoSameSubject", "3"), ("subjectFrequencyNumSubj", "2"));
        await Run(score, message: message, pipeline: pipeline);
        var (verdict, _, ctx) = await Run(score, message: message, pipeline: pipeline);
        Assert.False(verdict.Refuses);
        Assert.Contains("[scoring] (passed limit(2) of same subjects in 300 seconds)", ctx.LogLines);

        (verdict, _, ctx) = await Run(Cfg(("DoSameSubject", "4"), ("subjectFrequencyNumSubj", "2")), message: message, pipeline: pipeline);
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);

        (_, _, ctx) = await Run(Cfg(("DoSameSubject", "2"), ("subjectFrequencyNumSubj", "2")), message: message, pipeline: pipeline);
        Assert.Contains("[monitoring] (passed limit(2) of same subjects in 300 seconds)", ctx.LogLines);
        Assert.Equal(0, ctx.State.MessageScore);

        var exempt = Cfg(("DoSameSubject", "1"), ("subjectFrequencyNumSubj", "2"), ("NoSubjectFrequencyIP", "203.0.113.0/24"));
        Assert.False((await Run(exempt, message: message, pipeline: pipeline)).Verdict.Refuses);
        exempt = Cfg(("DoSameSubject", "1"), ("subjectFrequencyNumSubj", "2"), ("subjectFrequencyOnly", "other@sender.example"));
        Assert.False((await Run(exempt, message: message, pipeline: pipeline)).Verdict.Refuses);
        Assert.True((await Run(Cfg(("DoSameSubject", "1"), ("subjectFrequencyNumSubj", "2")), message: message, pipeline: pipeline)).Verdict.Refuses);
    }

    // ---- DoLocalSenderDomain / DoLocalSenderAddress ----

    [Fact]
    public async Task LocalSendersMustUseALocalDomainAndAddress()
    {
        var (verdict, _, ctx) = await Run(Cfg(("DoLocalSenderDomain", "1")), from: "boss@elsewhere.example", relay: true, rcpts: ["x@remote.example"]);
        Assert.Equal("530 Relaying not allowed - sender domain not local", verdict.Reply);
        Assert.Contains("relay attempt blocked for unknown local sender domain", ctx.LogLines);
        (verdict, _, _) = await Run(Cfg(("DoLocalSenderDomain", "1")), from: "boss@local.test", relay: true, rcpts: ["x@remote.example"]);
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(), from: "boss@elsewhere.example", relay: true, rcpts: ["x@remote.example"]);
        Assert.False(verdict.Refuses);                                      // off by default
        (verdict, _, _) = await Run(Cfg(("DoLocalSenderDomain", "1")), from: "", relay: true, rcpts: ["x@remote.example"]);
        Assert.False(verdict.Refuses);                                      // bounces
        (verdict, _, _) = await Run(Cfg(("DoLocalSenderDomain", "1"), ("acceptAllMail", "203.0.113.9")), from: "boss@elsewhere.example", relay: true);
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(("DoLocalSenderDomain", "1")), from: "boss@elsewhere.example");
        Assert.False(verdict.Refuses);                                      // incoming mail is not concerned

        var flat = Cfg(("DoLocalSenderAddress", "1"), ("LocalAddresses_Flat", "boss@local.test"));
        (verdict, _, ctx) = await Run(flat, from: "intruder@local.test", relay: true, rcpts: ["x@remote.example"]);
        Assert.Equal("530 Relaying not allowed - local sender address unknown", verdict.Reply);
        Assert.Contains("relay attempt blocked for unknown local sender address", ctx.LogLines);
        (verdict, _, _) = await Run(flat, from: "boss@local.test", relay: true, rcpts: ["x@remote.example"]);
        Assert.False(verdict.Refuses);
    }

    // ---- ForceNoValidLocalSender ----

    [Fact]
    public async Task ForcedLocalSenderChecksRefuseAtMailFrom()
    {
        var (verdict, phase, ctx) = await Run(Cfg(("LocalAddresses_Flat", "good@local.test"), ("DoNoSpoofing", "0")), from: "bad@local.test");
        Assert.Equal("mail", phase);                                        // ForceNoValidLocalSender and DoNoValidLocalSender 1 by default
        Assert.Equal("554 5.7.1 Unknown Sender in Local Domain .", verdict.Reply);
        Assert.Contains("[spam found] Unknown Sender in Local Domain", ctx.LogLines);

        (verdict, phase, _) = await Run(Cfg(("DoNoSpoofing", "1"), ("flsTestMode", "1")), from: "boss@local.test");
        Assert.Equal("mail", phase);                                        // the test mode does not soften it
        Assert.Equal("554 5.7.1 Spoofing Sender in Local Domain .", verdict.Reply);

        (verdict, phase, _) = await Run(Cfg(("DoNoSpoofing", "1"), ("ForceNoValidLocalSender", "0")), from: "boss@local.test");
        Assert.Equal("DataHeader", phase);                                  // without forcing: after the header
        // The recipient is listed too: LocalAddresses_Flat also validates recipients.
        (verdict, _, ctx) = await Run(Cfg(("LocalAddresses_Flat", "good@local.test|" + Rcpt), ("DoNoValidLocalSender", "4"), ("DoNoSpoofing", "0")), from: "bad@local.test");
        Assert.False(verdict.Refuses);                                      // test mode 4 is not forced
        (verdict, _, _) = await Run(Cfg(("DoNoSpoofing", "1"), ("allTestMode", "1")), from: "boss@local.test");
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(), from: "boss@local.test");
        Assert.False(verdict.Refuses);                                      // DoNoSpoofing 3 (score) only scores, after the header
        (verdict, _, _) = await Run(Cfg(("DoNoSpoofing", "1")), from: "boss@local.test", relay: true, rcpts: ["x@remote.example"]);
        Assert.False(verdict.Refuses);                                      // local mail
    }

    [Fact]
    public async Task NoSpoofing4ReplyToChecksTheReplyHeaders()
    {
        const string message = "From: a@sender.example\nReply-To: boss@local.test\nMessage-ID: <1@sender.example>\nSubject: s\n\nb\n";
        var (verdict, _, _) = await Run(Cfg(("DoNoSpoofing", "1"), ("DoNoSpoofing4ReplyTo", "1")), message: message);
        Assert.Equal("554 5.7.1 No Spoofing Allowed 'boss@local.test' in 'reply-to' .", verdict.Reply);
        (verdict, _, _) = await Run(Cfg(("DoNoSpoofing", "1")), message: message);
        Assert.False(verdict.Refuses);
    }

    // ---- LocalFrequencyInt / LocalFrequencyNumRcpt ----

    [Fact]
    public async Task ALocalSenderReachingTheRecipientLimitIsHeldBack()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var pipeline = Pipeline(new CheckServices(Clock: clock));
        var cfg = Cfg(("LocalFrequencyInt", "600"), ("LocalFrequencyNumRcpt", "5"), ("EmailAdmins", "admin@local.test"));
        Assert.False((await Run(cfg, "boss@local.test", pipeline: pipeline, relay: true, rcpts: ["a@r.example", "b@r.example"])).Verdict.Refuses);
        Assert.False((await Run(cfg, "other@local.test", pipeline: pipeline, relay: true, rcpts: ["a@r.example", "b@r.example", "c@r.example"])).Verdict.Refuses);
        var (verdict, _, ctx) = await Run(cfg, "boss@local.test", pipeline: pipeline, relay: true, rcpts: ["c@r.example", "d@r.example", "e@r.example"]);
        Assert.Equal(VerdictKind.TempFail, verdict.Kind);
        Assert.Equal("452 4.7.1 too many recipients from boss@local.test in 600 seconds - try again after 2026-01-01 00:10:00 UTC", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("local sender boss@local.test reached 5 recipients in 600 seconds", StringComparison.Ordinal));

        // Mail to EmailAdmins always passes; other senders and incoming mail are not concerned.
        Assert.False((await Run(cfg, "boss@local.test", pipeline: pipeline, relay: true, rcpts: ["admin@local.test"])).Verdict.Refuses);
        Assert.False((await Run(cfg, "boss@local.test", pipeline: pipeline, rcpts: [Rcpt])).Verdict.Refuses);
        clock.Advance(TimeSpan.FromSeconds(601));
        Assert.False((await Run(cfg, "boss@local.test", pipeline: pipeline, relay: true, rcpts: ["a@r.example"])).Verdict.Refuses);

        var exempt = Cfg(("LocalFrequencyInt", "600"), ("LocalFrequencyNumRcpt", "1"), ("NoLocalFrequency", "boss@local.test"));
        Assert.False((await Run(exempt, "boss@local.test", pipeline: pipeline, relay: true, rcpts: ["a@r.example"])).Verdict.Refuses);
        exempt = Cfg(("LocalFrequencyInt", "600"), ("LocalFrequencyNumRcpt", "1"), ("NoLocalFrequencyIP", "203.0.113.9"));
        Assert.False((await Run(exempt, "boss@local.test", pipeline: pipeline, relay: true, rcpts: ["a@r.example"])).Verdict.Refuses);
        exempt = Cfg(("LocalFrequencyInt", "600"), ("LocalFrequencyNumRcpt", "1"), ("LocalFrequencyOnly", "someone@local.test"));
        Assert.False((await Run(exempt, "boss@local.test", pipeline: pipeline, relay: true, rcpts: ["a@r.example"])).Verdict.Refuses);
    }
}
