using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Dns;
using Assp.Mime.Uris;

namespace Assp.Checks.Tests.Dns;

/// <summary>
/// One test per URIBL option that changes what happens to a mail: the scope switches, the lookup limits, the
/// headers, the caches, the reply and the scores, against a real nsd (and a relay that answers one zone late).
/// </summary>
public sealed class UriblOptionTests : IDisposable
{
    private readonly NsdServer _nsd;
    private readonly List<IDisposable> _owned = [];

    public UriblOptionTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["uribl.test"] = NsdServer.Zone("uribl.test", "spammy.com IN A 127.0.0.2"),
            // Lists nothing: its answers are quick negative replies.
            ["empty.test"] = NsdServer.Zone("empty.test", "unrelated IN A 127.0.0.2"),
            // Lists spammy.com, but is reached through a relay that answers it late.
            ["slow.test"] = NsdServer.Zone("slow.test", "spammy.com IN A 127.0.0.2"),
        });
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        _nsd.Dispose();
    }

    private DnsResolver Resolver(System.Net.IPEndPoint? server = null) => new(new DnsResolverOptions
    {
        Servers = [server ?? _nsd.EndPoint], Timeout = TimeSpan.FromSeconds(20), Retransmit = TimeSpan.FromSeconds(10), Retries = 0,
    });

    /// <summary>A resolver whose answers for slow.test come <paramref name="delay"/> late.</summary>
    private DnsResolver SlowResolver(TimeSpan delay)
    {
        var relay = new SilentZoneForwarder(_nsd.EndPoint, "slow.test", delay);
        _owned.Add(relay);
        return Resolver(relay.EndPoint);
    }

    private static DecisionPipeline Pipeline(DnsListChecks dns) => new(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), dns);

    private static ConfigSnapshot Cfg(params (string, string)[] extra) =>
        TestConfig.Create([("URIBLServiceProvider", "uribl.test"), ("URIBLmaxhits", "1"), ("URIBLmaxweight", "0"), .. extra]);

    private const string SpammyLink = "From: a@sender.example\nSubject: deal\n\nbuy at http://www.spammy.com/now\n";

    private async Task<(Verdict Verdict, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string message = SpammyLink,
        Action<FakeMailContext>? setup = null, DnsResolver? resolver = null)
    {
        var ctx = new FakeMailContext(cfg, "198.51.100.5");
        setup?.Invoke(ctx);
        var (verdict, _) = await Transaction.RunAsync(Pipeline(new DnsListChecks(resolver ?? Resolver())), ctx, "a@sender.example", ["user@local.test"], message);
        return (verdict, ctx);
    }

    private static bool Blocked(Verdict v) => v.Reply?.StartsWith("554 5.7.1 Blacklisted by uribl.test", StringComparison.Ordinal) == true;

    [Fact]
    public async Task URIBLWL_checks_whitelisted_mail()
    {
        var white = ("whiteListedIPs", "198.51.100.5");
        Assert.False((await Run(Cfg(white))).Verdict.Refuses);
        Assert.True(Blocked((await Run(Cfg(white, ("URIBLWL", "1")))).Verdict));
    }

    [Fact]
    public async Task URIBLNP_checks_noprocessing_mail()
    {
        var np = ("noProcessingIPs", "198.51.100.5");
        Assert.False((await Run(Cfg(np))).Verdict.Refuses);
        Assert.True(Blocked((await Run(Cfg(np, ("URIBLNP", "1")))).Verdict));
    }

    [Fact]
    public async Task URIBLLocal_checks_local_mail()
    {
        static void Local(FakeMailContext c) => c.IsAuthenticated = true;
        Assert.False((await Run(Cfg(), setup: Local)).Verdict.Refuses);
        Assert.True(Blocked((await Run(Cfg(("URIBLLocal", "1")), setup: Local)).Verdict));
    }

    [Fact]
    public async Task URIBLISP_checks_mail_from_an_ISP_relay_and_an_original_IP_always_counts()
    {
        var isp = ("ispip", "198.51.100.5");
        Assert.True(Blocked((await Run(Cfg(isp))).Verdict)); // on by default
        Assert.False((await Run(Cfg(isp, ("URIBLISP", "0")))).Verdict.Refuses);

        // With the sender's own IP found behind the ISP (ispHostnames), ASSP checks the links whatever URIBLISP says.
        const string relayed = "Received: from sender.example (sender.example [203.0.113.77]) by relay.isp.example with ESMTP id 1; Sat, 21 Nov 2026 10:00:00 +0000\n"
            + SpammyLink;
        var (verdict, ctx) = await Run(Cfg(isp, ("URIBLISP", "0"), ("ispHostnames", "relay\\.isp\\.example")), relayed);
        Assert.Equal("203.0.113.77", ctx.State.OriginalIp?.ToString());
        Assert.True(Blocked(verdict));
    }

    [Fact]
    public async Task URIBLmaxreplies_stops_waiting_after_that_many_answers()
    {
        // empty.test answers at once (not listed); slow.test lists the domain half a second later.
        var cfg = (string replies) => TestConfig.Create(("URIBLServiceProvider", "empty.test|slow.test"), ("URIBLmaxhits", "1"), ("URIBLmaxweight", "0"),
            ("URIBLmaxtime", "15"), ("URIBLsocktime", "15"), ("URIBLmaxreplies", replies));
        var delay = TimeSpan.FromMilliseconds(500);
        Assert.False((await Run(cfg("1"), resolver: SlowResolver(delay))).Verdict.Refuses);
        Assert.StartsWith("554 5.7.1 Blacklisted by slow.test", (await Run(cfg("2"), resolver: SlowResolver(delay))).Verdict.Reply);
    }

    [Fact]
    public async Task URIBLsocktime_is_the_wait_for_an_answer_after_which_URIBLmaxtime_is_looked_at()
    {
        // slow.test answers 4 s late and URIBLmaxtime is 2 s. Waiting 1 s at a time, the lookup sees the time is up at
        // the 2 s mark and gives up; one 10 s wait (begun before the time was up) takes the late answer, as ASSP does.
        var cfg = (string socktime) => TestConfig.Create(("URIBLServiceProvider", "slow.test"), ("URIBLmaxhits", "1"), ("URIBLmaxweight", "0"),
            ("URIBLmaxtime", "2"), ("URIBLsocktime", socktime));
        var delay = TimeSpan.FromSeconds(4);
        Assert.Equal(TimeSpan.FromSeconds(1), UriblSettings.For(cfg("1")).ReadTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), UriblSettings.For(cfg("0")).ReadTimeout); // ASSP's fallback
        Assert.False((await Run(cfg("1"), resolver: SlowResolver(delay))).Verdict.Refuses);
        Assert.StartsWith("554 5.7.1 Blacklisted by slow.test", (await Run(cfg("10"), resolver: SlowResolver(delay))).Verdict.Reply);
    }

    [Fact]
    public async Task AddURIBLHeader_writes_X_Assp_Received_URIBL_for_failed_and_neutral()
    {
        var (_, ctx) = await Run(Cfg());
        Assert.Contains("X-Assp-Received-URIBL: failed (spammy.com listed in uribl.test)", ctx.State.Headers);
        // Neutral: one listing of the two URIBLmaxhits asks for.
        (_, ctx) = await Run(Cfg(("URIBLmaxhits", "2")));
        Assert.Contains("X-Assp-Received-URIBL: neutral (spammy.com listed in uribl.test)", ctx.State.Headers);
        (_, ctx) = await Run(Cfg(("AddURIBLHeader", "0")));
        Assert.DoesNotContain(ctx.State.Headers, h => h.StartsWith("X-Assp-Received-URIBL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddURIS2MyHeader_lists_the_registered_uris_with_their_counts()
    {
        const string message = "Subject: x\n\nhttp://www.spammy.com/a http://spammy.com/b http://shop.clean.com/ http://192.0.2.7/x\n";
        // Nothing is listed at empty.test: the mail passes and the line is still written.
        var (verdict, ctx) = await Run(Cfg(("URIBLServiceProvider", "empty.test"), ("AddURIS2MyHeader", "1")), message);
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Detected-URI: 192.0.2.7(1), clean.com(1), spammy.com(2)", ctx.State.Headers);
        (_, ctx) = await Run(Cfg(("URIBLServiceProvider", "empty.test")), message);
        Assert.DoesNotContain(ctx.State.Headers, h => h.StartsWith("X-Assp-Detected-URI", StringComparison.Ordinal));
    }

    [Fact]
    public async Task URIBLError_is_the_reply_and_when_empty_the_connection_is_dropped()
    {
        var (verdict, _) = await Run(Cfg(("URIBLError", "550 5.7.1 links listed at URIBLNAME")));
        Assert.Equal(VerdictKind.Block, verdict.Kind);
        Assert.Equal("550 5.7.1 links listed at uribl.test", verdict.Reply);

        (verdict, var ctx) = await Run(Cfg(("URIBLError", "")));
        Assert.Equal(VerdictKind.Drop, verdict.Kind);
        Assert.Null(verdict.Reply);
        Assert.Equal(VerdictKind.Drop, ctx.State.Refusal?.Kind);
        // URIBLIPRe refusals use the same reply.
        (verdict, _) = await Run(Cfg(("URIBLError", ""), ("URIBLIPRe", "192.0.2.0/24")), "Subject: x\n\nhttp://192.0.2.9/\n");
        Assert.Equal(VerdictKind.Drop, verdict.Kind);
    }

    [Fact]
    public async Task UriblValencePB_scores_a_failed_check()
    {
        var (_, ctx) = await Run(Cfg(("uriblValencePB", "33"), ("ValidateURIBL", "3")));
        Assert.Equal(33, ctx.State.Scores.Where(s => s.Check == "uriblValencePB").Sum(s => s.MessageScore));
        Assert.Equal(33, ctx.State.MessageScore);
    }

    [Fact]
    public async Task UriblnValencePB_scores_a_neutral_check()
    {
        var (verdict, ctx) = await Run(Cfg(("URIBLmaxhits", "2"), ("uriblnValencePB", "7")));
        Assert.False(verdict.Refuses);
        Assert.Equal(7, ctx.State.Scores.Where(s => s.Check == "uriblnValencePB").Sum(s => s.MessageScore));
        Assert.Equal(7, ctx.State.MessageScore);
    }

    private static IEnumerable<FoundUri> Link(string host) => UriExtractor.Extract($"http://{host}/", false);

    [Fact]
    public async Task URIBLCacheInterval_keeps_a_hit_for_its_days()
    {
        var clock = new Assp.Checks.Tests.PenaltyBox.ManualClock(DateTimeOffset.UtcNow);
        var store = new Assp.Storage.MemoryStore(clock);
        var dns = new DnsListChecks(Resolver()).UseStore(store);
        var s = UriblSettings.For(Cfg(("URIBLCacheInterval", "2")));
        // A listing remembered for clean.com, which the list itself does not hold.
        store.Table(DnsListChecks.UriblTable).Set("clean.com", UriblCheck.EncodeRecord([("uribl.test", "127.0.0.2")], clock.GetUtcNow().ToUnixTimeSeconds()));
        Assert.Equal(DnsListOutcome.Failed, (await dns.Uribl.CheckAsync(Link("clean.com"), s)).Outcome);
        clock.Advance(TimeSpan.FromDays(1.9));
        Assert.Equal(DnsListOutcome.Failed, (await dns.Uribl.CheckAsync(Link("clean.com"), s)).Outcome);
        clock.Advance(TimeSpan.FromDays(0.2));
        Assert.Equal(DnsListOutcome.Pass, (await dns.Uribl.CheckAsync(Link("clean.com"), s)).Outcome);

        // A real hit is stored; with URIBLCacheInterval 0 it is not.
        await dns.Uribl.CheckAsync(Link("spammy.com"), s);
        Assert.True(store.Table(DnsListChecks.UriblTable).TryGetValue("spammy.com", out _));
        var off = new Assp.Storage.MemoryStore(clock);
        await new DnsListChecks(Resolver()).UseStore(off).Uribl.CheckAsync(Link("spammy.com"), UriblSettings.For(Cfg(("URIBLCacheInterval", "0"))));
        Assert.Equal(0, off.Table(DnsListChecks.UriblTable).Count);
    }

    [Fact]
    public async Task URIBLCacheIntervalMiss_keeps_a_miss_for_its_days_and_0_keeps_none()
    {
        var clock = new Assp.Checks.Tests.PenaltyBox.ManualClock(DateTimeOffset.UtcNow);
        var store = new Assp.Storage.MemoryStore(clock);
        var dns = new DnsListChecks(Resolver()).UseStore(store);
        var s = UriblSettings.For(Cfg(("URIBLCacheIntervalMiss", "0.5")));
        // A miss remembered for spammy.com, which the list does hold: until it expires the list is not asked.
        store.Table(DnsListChecks.UriblTable).Set("spammy.com", UriblCheck.EncodeRecord([], clock.GetUtcNow().ToUnixTimeSeconds()));
        Assert.Equal(DnsListOutcome.Pass, (await dns.Uribl.CheckAsync(Link("spammy.com"), s)).Outcome);
        clock.Advance(TimeSpan.FromHours(11));
        Assert.Equal(DnsListOutcome.Pass, (await dns.Uribl.CheckAsync(Link("spammy.com"), s)).Outcome);
        clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(DnsListOutcome.Failed, (await dns.Uribl.CheckAsync(Link("spammy.com"), s)).Outcome);

        // A real miss is stored as status 2; with URIBLCacheIntervalMiss 0 it is neither stored nor read.
        await dns.Uribl.CheckAsync(Link("clean.com"), s);
        Assert.EndsWith(" 2", store.Table(DnsListChecks.UriblTable).TryGetValue("clean.com", out var rec) ? rec : "");
        var off = UriblSettings.For(Cfg(("URIBLCacheIntervalMiss", "0")));
        var offStore = new Assp.Storage.MemoryStore(clock);
        var offDns = new DnsListChecks(Resolver()).UseStore(offStore);
        await offDns.Uribl.CheckAsync(Link("clean.com"), off);
        Assert.Equal(0, offStore.Table(DnsListChecks.UriblTable).Count);
        offStore.Table(DnsListChecks.UriblTable).Set("spammy.com", UriblCheck.EncodeRecord([], clock.GetUtcNow().ToUnixTimeSeconds()));
        Assert.Equal(DnsListOutcome.Failed, (await offDns.Uribl.CheckAsync(Link("spammy.com"), off)).Outcome);
    }
}
