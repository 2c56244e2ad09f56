using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Checks.Tests.PenaltyBox;
using Assp.Config;
using Assp.Dns;
using Assp.Storage;

namespace Assp.Checks.Tests.Dns;

/// <summary>DoReversed / DoInvalidPTR and DoDomainCheck in the pipeline, against PTR, MX and A records served by a real nsd.</summary>
public sealed class SenderDnsCheckTests : IDisposable
{
    private const string ValidIp = "203.0.113.9";
    private const string DynamicIp = "203.0.113.10";
    private const string NoPtrIp = "203.0.113.11";
    private readonly NsdServer _nsd;

    public SenderDnsCheckTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["113.0.203.in-addr.arpa"] = NsdServer.Zone("113.0.203.in-addr.arpa", """
                9 IN PTR mail.sender.test.
                10 IN PTR 10-113-0-203.dyn.isp.test.
                """),
            ["sender.test"] = NsdServer.Zone("sender.test", """
                @ IN MX 10 mail.sender.test.
                mail IN A 203.0.113.9
                """),
            ["nomx.test"] = NsdServer.Zone("nomx.test", "@ IN A 203.0.113.30"),
            ["nothing.test"] = NsdServer.Zone("nothing.test", "www IN A 203.0.113.31"),
            ["mxnoa.test"] = NsdServer.Zone("mxnoa.test", "@ IN MX 10 host.mxnoa.test."),
            ["privmx.test"] = NsdServer.Zone("privmx.test", """
                @ IN MX 10 mx.privmx.test.
                mx IN A 10.1.2.3
                """),
        });
    }

    public void Dispose() => _nsd.Dispose();

    private CheckServices Services(IStore? store = null, TimeProvider? clock = null) => new(store, new DnsListChecks(new DnsResolver(new DnsResolverOptions
    {
        Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
    })), clock);

    private static ConfigSnapshot Cfg(params (string, string)[] values) => TestConfig.Create([("localDomains", "local.test"), .. values]);

    private static async Task<(Verdict Verdict, FakeMailContext Ctx)> Send(CheckServices services, ConfigSnapshot cfg, string ip, string from,
        string? message = null)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), services.Dns,
            [new ReversedLookupCheck(services), new DomainMxCheck(services)], services);
        var ctx = new FakeMailContext(cfg, ip);
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, from, ["user@local.test"],
            message ?? $"From: {from}\nMessage-ID: <1@sender.test>\nSubject: s\n\nb\n");
        return (verdict, ctx);
    }

    private static bool Reported(FakeMailContext ctx, string check, string outcome) => ctx.State.Reports.Any(r => r.Check == check && r.Outcome == outcome);

    // ---- DoReversed / DoInvalidPTR ----

    [Fact]
    public async Task AValidPtrPasses()
    {
        var (verdict, ctx) = await Send(Services(), Cfg(("DoReversed", "1"), ("DoInvalidPTR", "1"), ("invalidPTRRe", @"\d+-\d+-\d+-\d+"),
            ("ValidateSenderLog", "2")), ValidIp, "a@sender.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains(ctx.LogLines, l => l == "found valid PTR mail.sender.test");
    }

    [Fact]
    public async Task AMissingPtrScoresByDefaultAndBlocksInBlockMode()
    {
        var (verdict, ctx) = await Send(Services(), Cfg(), NoPtrIp, "a@sender.test");
        Assert.False(verdict.Refuses);                                      // DoReversed 3 (score) is the default
        Assert.Equal(10, ctx.State.MessageScore);                           // ptmValencePB
        Assert.Contains(ctx.LogLines, l => l == "[PTRmissing] (PTR missing)");
        Assert.True(Reported(ctx, "DoReversed", "score"));

        (verdict, ctx) = await Send(Services(), Cfg(("DoReversed", "1")), NoPtrIp, "a@sender.test");
        Assert.Equal("554 5.7.1 PTR missing .", verdict.Reply);            // SenderInvalidError with REASON
        Assert.Contains(ctx.LogLines, l => l == "[spam found] (PTR missing)");
        Assert.StartsWith("[PTRmissing]", ctx.State.Prepend.ToString());
    }

    [Fact]
    public async Task AMissingPtrMonitorAndTestMode()
    {
        var (verdict, ctx) = await Send(Services(), Cfg(("DoReversed", "2")), NoPtrIp, "a@sender.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains(ctx.LogLines, l => l == "[monitoring] (PTR missing)");

        (verdict, ctx) = await Send(Services(), Cfg(("DoReversed", "1"), ("ptrTestMode", "1")), NoPtrIp, "a@sender.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(10, ctx.State.MessageScore);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);
    }

    [Fact]
    public async Task APtrMatchingInvalidPtrReScoresItsWeightAndBlocks()
    {
        var (verdict, ctx) = await Send(Services(), Cfg(("invalidPTRRe", @"\d+-\d+-\d+-\d+")), DynamicIp, "a@sender.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(15, ctx.State.MessageScore);                           // ptiValencePB
        Assert.Contains(ctx.LogLines, l => l == "[PTRinvalid] (PTR invalid '10-113-0-203.dyn.isp.test')");

        (verdict, _) = await Send(Services(), Cfg(("DoInvalidPTR", "1"), ("invalidPTRRe", @"\d+-\d+-\d+-\d+")), DynamicIp, "a@sender.test");
        Assert.Equal("554 5.7.1 PTR invalid '10-113-0-203.dyn.isp.test' .", verdict.Reply);

        // validPTRRe wins over invalidPTRRe.
        (verdict, ctx) = await Send(Services(), Cfg(("DoInvalidPTR", "1"), ("invalidPTRRe", @"\d+-\d+-\d+-\d+"), ("validPTRRe", @"\.isp\.test$")),
            DynamicIp, "a@sender.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
    }

    [Fact]
    public async Task AWeakInvalidPtrMatchOnlyScoresInBlockMode()
    {
        var (verdict, ctx) = await Send(Services(), Cfg(("DoInvalidPTR", "1"), ("invalidPTRRe", @"\.dyn\.=>0.5")), DynamicIp, "a@sender.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(7, ctx.State.MessageScore);                            // 0.5 × ptiValencePB, truncated as ASSP does
        Assert.True(Reported(ctx, "DoInvalidPTR", "score"));
    }

    [Fact]
    public async Task PtrExemptions()
    {
        // Whitelisted mail is checked by default (DoReversedWL), not when the switch is off.
        var (_, ctx) = await Send(Services(), Cfg(("whiteListedIPs", NoPtrIp)), NoPtrIp, "a@sender.test");
        Assert.True(Reported(ctx, "DoReversed", "score"));
        (_, ctx) = await Send(Services(), Cfg(("whiteListedIPs", NoPtrIp), ("DoReversedWL", "0")), NoPtrIp, "a@sender.test");
        Assert.Empty(ctx.State.Reports);
        (_, ctx) = await Send(Services(), Cfg(("acceptAllMail", NoPtrIp)), NoPtrIp, "a@sender.test");
        Assert.Empty(ctx.State.Reports);
        (_, ctx) = await Send(Services(), Cfg(("DoReversed", "0")), NoPtrIp, "a@sender.test");
        Assert.Empty(ctx.State.Reports);
    }

    [Fact]
    public async Task SpfPassSkipsThePtrCheckUnlessDoReversedSpfOk()
    {
        var services = Services();
        var ctx = new FakeMailContext(Cfg(("DoReversed", "1")), NoPtrIp);
        ctx.CheckState.NewMessage();
        ctx.MailFrom = "a@sender.test";
        ctx.State.SpfPassed = true;
        var check = new ReversedLookupCheck(services);
        var engine = new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation());
        Assert.False((await check.RunAsync(new CheckContext(ctx, engine, services), default)).Refuses);
        ctx.Config = Cfg(("DoReversed", "1"), ("DoReversedSPFOK", "1"));
        Assert.True((await check.RunAsync(new CheckContext(ctx, engine, services), default)).Refuses);
    }

    [Fact]
    public async Task PtrResultsAreCachedForPtrCacheIntervalDays()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var store = new MemoryStore(clock);
        var services = Services(store, clock);
        var (_, ctx) = await Send(services, Cfg(), NoPtrIp, "a@sender.test");
        Assert.True(store.Table(ReversedLookupCheck.CacheTable).TryGetValue(NoPtrIp, out var value));
        Assert.Equal("1", value);
        // A cached answer is used (a fake entry proves it) and shown as such.
        store.Table(ReversedLookupCheck.CacheTable).Set(ValidIp, "1", clock.GetUtcNow().ToUnixTimeSeconds());
        (_, ctx) = await Send(services, Cfg(), ValidIp, "a@sender.test");
        Assert.Contains(ctx.LogLines, l => l == "[PTRmissing] (PTR missing) - Cache");
        clock.Advance(TimeSpan.FromDays(8));                                // older than PTRCacheInterval (7): asked again
        (_, ctx) = await Send(services, Cfg(), ValidIp, "a@sender.test");
        Assert.Equal(0, ctx.State.MessageScore);
        (_, ctx) = await Send(services, Cfg(("PTRCacheInterval", "0")), NoPtrIp, "a@sender.test");
        Assert.Contains(ctx.LogLines, l => l == "[PTRmissing] (PTR missing)");
    }

    // ---- DoDomainCheck ----

    [Fact]
    public async Task ASenderWithMxAndAddressPasses()
    {
        var (verdict, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1"), ("ValidateSenderLog", "2")), ValidIp, "a@sender.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains(ctx.LogLines, l => l == "MX found: sender.test (Mail From: , From) -> mail.sender.test");
    }

    [Fact]
    public async Task NoMxScoresMxValenceOnly()
    {
        var (verdict, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1")), ValidIp, "a@nomx.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(10, ctx.State.MessageScore);                           // mxValencePB; the domain's A record exists
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[spam found] MX missing: nomx.test (Mail From:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("a@mxnoa.test")]
    [InlineData("a@privmx.test")]
    public async Task AnMxWithoutAPublicAddressScoresMxaValence(string from)
    {
        var (verdict, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1")), ValidIp, from);
        Assert.False(verdict.Refuses);
        Assert.Equal(15, ctx.State.MessageScore);                           // mxaValencePB
    }

    [Fact]
    public async Task NeitherMxNorAFailsTheCheck()
    {
        var (verdict, ctx) = await Send(Services(), Cfg(), ValidIp, "a@nothing.test");
        Assert.False(verdict.Refuses);                                      // DoDomainCheck 3 (score) is the default
        Assert.Equal(25, ctx.State.MessageScore);                           // mxValencePB + mxaValencePB
        Assert.True(Reported(ctx, "DoDomainCheck", "score"));

        (verdict, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1")), ValidIp, "a@nothing.test");
        Assert.Equal("554 5.7.1 Missing MX and A record .", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l == "MX and A record missing ( DoDomainCheck ) at least for: nothing.test (Mail From: , From)");
        Assert.Contains(ctx.LogLines, l => l == "[spam found] (missing MX and A record)");

        (verdict, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "2")), ValidIp, "a@nothing.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[monitoring] MX missing: nothing.test", StringComparison.Ordinal));

        (verdict, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1"), ("mxaTestMode", "1")), ValidIp, "a@nothing.test");
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);
    }

    [Fact]
    public async Task HeaderAddressesAreCheckedToo()
    {
        var message = "From: a@sender.test\nReply-To: x@nothing.test\nMessage-ID: <1@sender.test>\nSubject: s\n\nb\n";
        var (verdict, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1")), ValidIp, "a@sender.test", message);
        Assert.Equal("554 5.7.1 Missing MX and A record .", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("nothing.test (Reply-To)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DomainCheckExemptions()
    {
        var (_, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1")), ValidIp, "", "From: a@nothing.test\nSubject: s\n\nb\n");
        Assert.Empty(ctx.State.Reports);                                    // bounces
        (_, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1"), ("whiteListedIPs", ValidIp)), ValidIp, "a@nothing.test");
        Assert.Empty(ctx.State.Reports);
        (_, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1"), ("localDomains", "nothing.test")), ValidIp, "a@nothing.test");
        Assert.Empty(ctx.State.Reports);
        // A LAN client that is not relaying is checked as ASSP does.
        (_, ctx) = await Send(Services(), Cfg(("DoDomainCheck", "1")), "10.1.2.3", "a@nothing.test");
        Assert.Contains(ctx.State.Reports, r => r.Check == "DoDomainCheck");
    }

    [Fact]
    public async Task DomainResultsAreCached()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var store = new MemoryStore(clock);
        var services = Services(store, clock);
        await Send(services, Cfg(), ValidIp, "a@nothing.test");
        Assert.True(store.Table(DomainMxCheck.CacheTable).TryGetValue("nothing.test", out var value));
        Assert.Equal("- -", value);
        store.Table(DomainMxCheck.CacheTable).Set("sender.test", "- -", clock.GetUtcNow().ToUnixTimeSeconds());
        var (verdict, _) = await Send(services, Cfg(("DoDomainCheck", "1")), ValidIp, "a@sender.test");
        Assert.True(verdict.Refuses);                                       // the (faked) cache entry decided
    }
}
