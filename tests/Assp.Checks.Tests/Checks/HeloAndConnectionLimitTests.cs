using System.Net;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Checks.Tests.PenaltyBox;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.Checks;

/// <summary>invalidHeloRe, the HELO database lists, the valid-format and forced HELO checks, DoFrequencyIP, DoDamping and
/// the connection findings that every message of a session keeps.</summary>
public class HeloAndConnectionLimitTests
{
    private const string Rcpt = "u@local.test";
    private const string GoodMessage = "From: a@sender.example\nMessage-ID: <1234.5678@sender.example>\nSubject: hello\n\nbody\n";

    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create(null, [("localDomains", "local.test"), ("PenaltyMessageLimit", "500"), .. values]);

    private static DecisionPipeline Pipeline(IIpReputation? ip = null, IStore? store = null, TimeProvider? clock = null,
        IReadOnlyList<IMessageCheck>? checks = null)
    {
        var services = new CheckServices(store, null, clock);
        return new DecisionPipeline(new DecisionEngine(ip ?? new FakeIpReputation(), new FakeAddressReputation()), null,
            checks ?? CheckCatalog.Discover(services), services);
    }

    /// <summary>Connect, HELO, then one transaction.</summary>
    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string helo = "mx.sender.example",
        DecisionPipeline? pipeline = null, FakeMailContext? ctx = null)
    {
        pipeline ??= Pipeline();
        ctx ??= new FakeMailContext(cfg);
        ctx.Helo = helo;
        var v = await pipeline.RunAsync(SmtpPhase.Connect, ctx, default);
        if (v.Refuses) return (v, "connect", ctx);
        v = await pipeline.RunAsync(SmtpPhase.Helo, ctx, default);
        if (v.Refuses) return (v, "helo", ctx);
        var (verdict, phase) = await Transaction.RunAsync(NoConnect(pipeline), ctx, "a@sender.example", [Rcpt], GoodMessage);
        return (verdict, phase, ctx);
    }

    /// <summary>The pipeline without its connect phase (Transaction runs it again; here it already ran).</summary>
    private static ICheckPipeline NoConnect(ICheckPipeline inner) => new SkipConnect(inner);

    private sealed class SkipConnect(ICheckPipeline inner) : ICheckPipeline
    {
        public ValueTask<Verdict> RunAsync(SmtpPhase phase, IMailContext context, CancellationToken cancellationToken) =>
            phase == SmtpPhase.Connect ? ValueTask.FromResult(Verdict.Pass) : inner.RunAsync(phase, context, cancellationToken);
    }

    private static MemoryStore HeloDb(params (string Helo, string Weight)[] entries)
    {
        var store = new MemoryStore();
        foreach (var (h, w) in entries) store.Table(StoreTables.SpamDbHelo).Set(h, w);
        return store;
    }

    // ---- connection findings survive MAIL FROM ----

    private sealed class HeloScorer : IMessageCheck
    {
        public CheckDefinition Definition { get; } = new("DoIPinHelo", "[Test]", "fiphValencePB");
        public SmtpPhase Phase => SmtpPhase.Helo;
        public int Order => 1;
        public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
        {
            context.Engine.AddPenalty(context.Config, context.State, context.Ip, 7, 0, "helo finding " + context.Mail.Helo, 1, context.Log);
            context.State.Reports.Add(new CheckReport("HeloScorer", "score", 7, "helo finding"));
            return ValueTask.FromResult(Verdict.Pass);
        }
    }

    [Fact]
    public async Task HeloScoresAreKeptForEveryMessageOfTheSession()
    {
        var cfg = Cfg();
        var pipeline = Pipeline(checks: [new HeloScorer()]);
        var ctx = new FakeMailContext(cfg) { Helo = "one.example" };
        await pipeline.RunAsync(SmtpPhase.Connect, ctx, default);
        await pipeline.RunAsync(SmtpPhase.Helo, ctx, default);

        ctx.MailFrom = "a@sender.example";
        await pipeline.RunAsync(SmtpPhase.MailFrom, ctx, default);
        Assert.Equal(7, ctx.State.MessageScore);
        Assert.Contains(ctx.State.Scores, s => s.Reason == "helo finding one.example");
        Assert.Contains(ctx.State.Reports, r => r.Check == "HeloScorer");

        // The second message of the session starts with the connection's score again, not with the first message's.
        ctx.State.MessageScore += 30;
        await pipeline.RunAsync(SmtpPhase.MailFrom, ctx, default);
        Assert.Equal(7, ctx.State.MessageScore);
        Assert.Single(ctx.State.Scores);

        // A new HELO adds its findings to the connection's.
        ctx.Helo = "two.example";
        await pipeline.RunAsync(SmtpPhase.Helo, ctx, default);
        await pipeline.RunAsync(SmtpPhase.MailFrom, ctx, default);
        Assert.Equal(14, ctx.State.MessageScore);
        Assert.Equal(2, ctx.State.Scores.Count);
    }

    // ---- invalidHeloRe ----

    [Fact]
    public async Task InvalidHeloReRefusesAtHeloAndCloses()
    {
        var ip = new FakeIpReputation();
        var (verdict, phase, ctx) = await Run(Cfg(("invalidHeloRe", "ylmf-pc"), ("noHelo", "")), helo: "ylmf-pc", pipeline: Pipeline(ip));
        Assert.Equal("helo", phase);
        Assert.Equal("554 5.7.1 the connection is rejected - bad host identity detected", verdict.Reply);
        Assert.True(verdict.Close);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[InvalidHELO] invalid HELO 'ylmf-pc'"));
        Assert.Equal(20, ip.Black["203.0.113.9"]);

        (verdict, phase, _) = await Run(Cfg(("invalidHeloRe", "ylmf-pc")), helo: "mx.good.example");
        Assert.Equal("delivered", phase);
    }

    // ---- HELO blacklist and goodlist ----

    [Fact]
    public async Task BlacklistedHeloScoresByWeightAndBlocksInBlockMode()
    {
        using var store = HeloDb(("bad.example", "5"), ("worse.example", "13"));
        var (verdict, _, ctx) = await Run(Cfg(), helo: "Bad.Example", pipeline: Pipeline(store: store));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "hlValencePB" && s.MessageScore == 20);
        Assert.Contains(ctx.LogLines, l => l.Contains("[scoring] (blacklisted HELO 'bad.example' - weight 5)"));

        (_, _, ctx) = await Run(Cfg(), helo: "worse.example", pipeline: Pipeline(store: store));
        Assert.Contains(ctx.State.Scores, s => s.Check == "hlValencePB" && s.MessageScore == 60);

        (verdict, var phase, ctx) = await Run(Cfg(("useHeloBlacklist", "1")), helo: "bad.example", pipeline: Pipeline(store: store));
        Assert.Equal("DataHeader", phase);
        Assert.StartsWith("554 5.7.1 Mail appears to be unsolicited", verdict.Reply);
        Assert.Contains(ctx.State.Reports, r => r.Check == "useHeloBlacklist" && r.Outcome == "block");

        (verdict, _, ctx) = await Run(Cfg(("useHeloBlacklist", "1"), ("hlTestMode", "1")), helo: "bad.example", pipeline: Pipeline(store: store));
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);

        (verdict, _, ctx) = await Run(Cfg(("useHeloBlacklist", "2")), helo: "bad.example", pipeline: Pipeline(store: store));
        Assert.Empty(ctx.State.Scores);
        Assert.Contains(ctx.LogLines, l => l.Contains("[monitoring] (blacklisted HELO 'bad.example' - weight 5)"));

        // Exemptions: heloBlacklistIgnore, noHelo, whitelisted mail without DoHeloWL, an unknown HELO.
        foreach (var cfg in new[] { Cfg(("useHeloBlacklist", "1"), ("heloBlacklistIgnore", "bad\\.example")),
                     Cfg(("useHeloBlacklist", "1"), ("noHelo", "203.0.113.0/24")),
                     Cfg(("useHeloBlacklist", "1"), ("whiteListedIPs", "203.0.113.9"), ("DoHeloWL", "0")) })
            Assert.Equal("delivered", (await Run(cfg, helo: "bad.example", pipeline: Pipeline(store: store))).Phase);
        Assert.Equal("delivered", (await Run(Cfg(("useHeloBlacklist", "1")), helo: "other.example", pipeline: Pipeline(store: store))).Phase);
    }

    [Fact]
    public async Task GoodHeloGivesABonusOrWhitelists()
    {
        using var store = HeloDb(("good.example", "0.2"));
        var (_, _, ctx) = await Run(Cfg(), helo: "good.example", pipeline: Pipeline(store: store));
        Assert.Contains(ctx.State.Scores, s => s.Check == "hlValencePB" && s.MessageScore == -40);
        Assert.Contains(ctx.LogLines, l => l == "info: found known good HELO 'good.example' - weight is -2");

        var ip = new FakeIpReputation();
        (_, _, ctx) = await Run(Cfg(("useHeloGoodlist", "2")), helo: "good.example", pipeline: Pipeline(ip, store));
        Assert.True(ctx.State.IsWhitelisted);
        Assert.DoesNotContain(ctx.State.Scores, s => s.Check == "hlValencePB");
        Assert.Contains("203.0.113.9", ip.White);

        (_, _, ctx) = await Run(Cfg(("useHeloGoodlist", "0")), helo: "good.example", pipeline: Pipeline(store: store));
        Assert.Empty(ctx.State.Scores);
    }

    [Fact]
    public void HeloDatabaseReadsAsspWeights()
    {
        using var store = HeloDb(("a.example", "3"), ("b.example", "0.25"), ("c.example", "junk"));
        Assert.Equal(3, HeloDatabase.Weight(store, "A.EXAMPLE"));
        Assert.Equal(0.25, HeloDatabase.Weight(store, "b.example"));
        Assert.Null(HeloDatabase.Weight(store, "c.example"));
        Assert.Null(HeloDatabase.Weight(null, "a.example"));
        Assert.Equal("blacklisted (weight 3)", HeloDatabase.Describe(3));
        Assert.Equal("good (weight 0.25)", HeloDatabase.Describe(0.25));
    }

    // ---- valid format and the forced checks at MAIL FROM ----

    [Fact]
    public async Task ValidFormatHeloAfterTheHeaderOrForcedAtMailFrom()
    {
        (string, string) re = ("validFormatHeloRe", @"^[\w-]+(?:\.[\w-]+)+$");
        var (verdict, phase, _) = await Run(Cfg(re), helo: "mx.sender.example");
        Assert.Equal("delivered", phase);

        (verdict, phase, var ctx) = await Run(Cfg(re), helo: "nodot");
        Assert.Equal("mail", phase);
        Assert.True(verdict.Close);
        Assert.Equal("554 5.7.1 Helo invalid .", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l == "[InvalidHELO] [spam found] (not valid HELO: 'nodot')");
        Assert.Contains(ctx.State.Reports, r => r.Check == "DoValidFormatHelo" && r.Outcome == "block");

        (verdict, phase, ctx) = await Run(Cfg(re, ("ForceValidateHelo", "0")), helo: "nodot");
        Assert.Equal("DataHeader", phase);
        Assert.False(verdict.Close);
        Assert.Equal("554 5.7.1 Invalid HELO Format .", verdict.Reply);

        (verdict, _, ctx) = await Run(Cfg(re, ("DoValidFormatHelo", "3")), helo: "nodot");
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "ihValencePB" && s.MessageScore == 10);

        // Test mode is not forced: the message passes tagged after the header.
        (verdict, phase, ctx) = await Run(Cfg(re, ("ihTestMode", "1")), helo: "nodot");
        Assert.Equal("delivered", phase);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);
    }

    [Fact]
    public async Task ForcedForgedHeloRefusesAtMailFromAndCloses()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), helo: "localhost");
        Assert.Equal("mail", phase);
        Assert.True(verdict.Close);
        Assert.Equal("554 5.7.1 Forged HELO .", verdict.Reply);
        Assert.Contains(ctx.State.Scores, s => s.Check == "fhValencePB" && s.MessageScore == 150);
        Assert.Contains(ctx.State.Reports, r => r.Check == "DoFakedLocalHelo" && r.Outcome == "block");

        // A listener address of ours and this machine's own name are ours too.
        (verdict, phase, _) = await Run(Cfg(("listenPort", "198.51.100.25:25")), helo: "[198.51.100.25]");
        Assert.Equal("mail", phase);
        (_, phase, _) = await Run(Cfg(), helo: System.Net.Dns.GetHostName());
        Assert.Equal("mail", phase);
        (_, phase, _) = await Run(Cfg(("listenPort", "198.51.100.25:25")), helo: "[198.51.100.26]");
        Assert.NotEqual("mail", phase);
    }

    // ---- DoFrequencyIP ----

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Connection(DecisionPipeline pipeline, ConfigSnapshot cfg) =>
        await Run(cfg, pipeline: pipeline);

    [Fact]
    public async Task FrequencyLimitBlocksAPenaltyBoxIpOverTheLimit()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var ip = new FakeIpReputation();
        ip.Black["203.0.113.9"] = 10;
        var pipeline = Pipeline(ip, clock: clock);
        var cfg = Cfg(("DoFrequencyIP", "1"), ("maxSMTPipConnects", "2"), ("maxSMTPipDuration", "60"));
        Assert.Equal("delivered", (await Connection(pipeline, cfg)).Phase);
        Assert.Equal("delivered", (await Connection(pipeline, cfg)).Phase);
        var (verdict, phase, ctx) = await Connection(pipeline, cfg);
        Assert.Equal("mail", phase);
        Assert.True(verdict.Close);
        Assert.Equal("554 5.7.1 too frequent connections for '203.0.113.9'", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l == "[IPfrequency] '203.0.113.9' passed limit(2) of ip connection frequency");
        Assert.Contains(ctx.State.Scores, s => s.MessageScore == 150);

        // The count restarts after maxSMTPipExpiration.
        clock.Advance(TimeSpan.FromSeconds(7201));
        Assert.Equal("delivered", (await Connection(pipeline, cfg)).Phase);
    }

    [Fact]
    public async Task FrequencyLimitModesAndExemptions()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Third(bool inBox, params (string, string)[] extra)
        {
            var ip = new FakeIpReputation();
            if (inBox) ip.Black["203.0.113.9"] = 10;
            var pipeline = Pipeline(ip, clock: clock);
            var cfg = Cfg([("DoFrequencyIP", "1"), ("maxSMTPipConnects", "2"), .. extra]);
            await Connection(pipeline, cfg);
            await Connection(pipeline, cfg);
            return await Connection(pipeline, cfg);
        }

        var (verdict, _, ctx) = await Third(true, ("DoFrequencyIP", "2"));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[monitoring] '203.0.113.9' passed limit(2)"));
        Assert.DoesNotContain(ctx.State.Scores, s => s.Check == "ifValencePB");

        (verdict, _, ctx) = await Third(true, ("DoFrequencyIP", "3"));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "ifValencePB" && s.MessageScore == 150);

        (verdict, _, ctx) = await Third(true, ("DoFrequencyIP", "4"));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[testmode] '203.0.113.9' passed limit(2)"));

        // Not in the black box, or exempt by list: never counted.
        Assert.False((await Third(false)).Verdict.Refuses);
        foreach (var list in new[] { "noBlockingIPs", "noPB", "noDelay", "whiteListedIPs", "noProcessingIPs", "acceptAllMail" })
            Assert.False((await Third(true, (list, "203.0.113.9"))).Verdict.Refuses);
    }

    [Fact]
    public async Task FrequencyWindowRestartsWhenFewConnectionsCame()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var ip = new FakeIpReputation();
        ip.Black["203.0.113.9"] = 10;
        var pipeline = Pipeline(ip, clock: clock);
        var cfg = Cfg(("DoFrequencyIP", "1"), ("maxSMTPipConnects", "3"), ("maxSMTPipDuration", "60"));
        await Connection(pipeline, cfg);
        clock.Advance(TimeSpan.FromSeconds(61));
        // Two connections, then a third after the window: the count starts again.
        await Connection(pipeline, cfg);
        clock.Advance(TimeSpan.FromSeconds(61));
        await Connection(pipeline, cfg);
        await Connection(pipeline, cfg);
        Assert.Equal("delivered", (await Connection(pipeline, cfg)).Phase);
        Assert.Equal("mail", (await Connection(pipeline, cfg)).Phase);
    }

    // ---- DoDamping ----

    [Fact]
    public void DampingDelayFollowsTheScore()
    {
        var ctx = new FakeMailContext(Cfg());
        ctx.CheckState.NewMessage().MessageScore = 50;
        Assert.Equal(TimeSpan.FromSeconds(10), Damping.DelayFor(ctx));
        ctx.Config = Cfg(("maxDampingTime", "3"));
        Assert.Equal(TimeSpan.FromSeconds(3), Damping.DelayFor(ctx));
        ctx.Config = Cfg(("DoDamping", "0"));
        Assert.Equal(TimeSpan.Zero, Damping.DelayFor(ctx));
        ctx.Config = Cfg(("DoPenaltyMessage", "0"));
        Assert.Equal(TimeSpan.Zero, Damping.DelayFor(ctx));
        ctx.Config = Cfg(("noPB", "203.0.113.9"));
        Assert.Equal(TimeSpan.Zero, Damping.DelayFor(ctx));

        ctx.Config = Cfg();
        ctx.State.Whitelisted = "test";
        Assert.Equal(TimeSpan.Zero, Damping.DelayFor(ctx));
        ctx.State.Whitelisted = null;
        ctx.Class = ConnectionClass.Relay;
        Assert.Equal(TimeSpan.Zero, Damping.DelayFor(ctx));
        ctx.Class = ConnectionClass.External;
        ctx.State.MessageScore = 4;
        Assert.Equal(TimeSpan.Zero, Damping.DelayFor(ctx));
    }
}
