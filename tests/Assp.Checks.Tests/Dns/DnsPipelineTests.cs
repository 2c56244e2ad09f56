using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Dns;

namespace Assp.Checks.Tests.Dns;

/// <summary>DNSBL, RWL and URIBL as the decision pipeline runs them, against a real nsd.</summary>
public sealed class DnsPipelineTests : IDisposable
{
    private readonly NsdServer _nsd;
    private readonly DnsListChecks _dns;

    public DnsPipelineTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            // 203.0.113.9 (the test client) is listed twice; 203.0.113.20 once (neutral); 203.0.113.30 is in the DNSWL.
            ["bl.test"] = NsdServer.Zone("bl.test", "9.113.0.203 IN A 127.0.0.2\n20.113.0.203 IN A 127.0.0.10"),
            ["bl2.test"] = NsdServer.Zone("bl2.test", "9.113.0.203 IN A 127.0.0.4"),
            ["list.dnswl.org.test"] = NsdServer.Zone("list.dnswl.org.test", "30.113.0.203 IN A 127.0.5.3"),
            ["uribl.test"] = NsdServer.Zone("uribl.test", "spammy.com IN A 127.0.0.2"),
            ["bs.test"] = NsdServer.Zone("bs.test", "40.113.0.203 IN A 127.0.0.2"),
        });
        _dns = new DnsListChecks(new DnsResolver(new DnsResolverOptions { Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500) }));
    }

    public void Dispose() => _nsd.Dispose();

    private DecisionPipeline Pipeline(FakeIpReputation? pb = null) => new(new DecisionEngine(pb ?? new FakeIpReputation(), new FakeAddressReputation()), _dns);

    private const string Plain = "From: a@sender.example\nTo: user@local.test\nSubject: hi\n\nhello\n";

    [Fact]
    public async Task ListedTwiceIsRefusedWithRblErrorNamingTheLists()
    {
        var pb = new FakeIpReputation();
        var ctx = new FakeMailContext(TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2")));
        var (verdict, phase) = await Transaction.RunAsync(Pipeline(pb), ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.1 DNS Blacklisted by bl.test bl2.test", string.Join(' ', verdict.Reply!.Split(' ').Take(5).Concat(verdict.Reply.Split(' ').Skip(5).Order())));
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("X-Assp-DNSBL: failed (203.0.113.9 listed in", StringComparison.Ordinal));
        Assert.Equal(50, ctx.State.MessageScore);
        Assert.Equal(50, pb.Black["203.0.113.9"]);
    }

    [Fact]
    // (Without DoPenaltyMessage 0 the 50 points would still reach the message score limit, as in ASSP.)
    public async Task TestModeTagsInsteadAndNeutralOnlyScores()
    {
        var ctx = new FakeMailContext(TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"), ("rblTestMode", "1"), ("DoPenaltyMessage", "0")));
        var (verdict, _) = await Transaction.RunAsync(Pipeline(), ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);

        ctx = new FakeMailContext(TestConfig.Create(("RBLServiceProvider", "bl.test=>127.0.0.10=>20|bl2.test=>2")), "203.0.113.20");
        (verdict, _) = await Transaction.RunAsync(Pipeline(), ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
        Assert.Equal(20, ctx.State.MessageScore);
        Assert.Contains(ctx.State.Reports, r => r.Check == "ValidateRBL" && r.Outcome == "neutral");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("2")]
    public async Task RblLogDecidesWhichDnsblLinesAreWritten(string level)
    {
        // 203.0.113.20 is listed once (neutral), 198.51.100.5 nowhere.
        var cfg = TestConfig.Create(("RBLServiceProvider", "bl.test=>127.0.0.10=>20|bl2.test=>2"), ("RBLLog", level));
        var neutral = new FakeMailContext(cfg, "203.0.113.20");
        await Transaction.RunAsync(Pipeline(), neutral, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal(level != "0", neutral.LogLines.Any(l => l.StartsWith("[DNSBL] DNSBL: neutral, 203.0.113.20 listed in bl.test", StringComparison.Ordinal)));
        var clean = new FakeMailContext(cfg, "198.51.100.5");
        await Transaction.RunAsync(Pipeline(), clean, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal(level == "2", clean.LogLines.Contains("[DNSBL] 198.51.100.5 not listed"));
    }

    [Theory]
    [InlineData("0", "0", false)]
    [InlineData("1", "0", true)]
    [InlineData("0", "2", true)]   // a verbose PenaltyLog shows the message score too (ASSP's rule)
    [InlineData("0", "1", false)]
    public async Task MessageLogWritesTheMessageScoreLines(string messageLog, string penaltyLog, bool scoreLine)
    {
        var cfg = TestConfig.Create(("RBLServiceProvider", "bl.test=>127.0.0.10=>20|bl2.test=>2"), ("MessageLog", messageLog), ("PenaltyLog", penaltyLog));
        var ctx = new FakeMailContext(cfg, "203.0.113.20");
        await Transaction.RunAsync(Pipeline(), ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal(20, ctx.State.MessageScore);
        Assert.Equal(scoreLine, ctx.LogLines.Any(l => l.StartsWith("Message-Score: added 20 (rblnValencePB)", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("0", false, false)]
    [InlineData("1", true, false)]
    [InlineData("2", true, true)]
    public async Task RwlLogDecidesWhichRwlLinesAreWritten(string level, bool trustedLine, bool untrustedLine)
    {
        var cfg = TestConfig.Create(("ValidateRWL", "1"), ("RWLServiceProvider", "list.dnswl.org.test"), ("RWLLog", level));
        var trusted = new FakeMailContext(cfg, "203.0.113.30");
        await Transaction.RunAsync(Pipeline(), trusted, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal(trustedLine, trusted.LogLines.Any(l => l.StartsWith("[RWL] 203.0.113.30 is in RWL", StringComparison.Ordinal)));
        var other = new FakeMailContext(cfg, "198.51.100.5");
        await Transaction.RunAsync(Pipeline(), other, "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal(untrustedLine, other.LogLines.Any(l => l.StartsWith("[RWL] 198.51.100.5 is not trusted by the RWLs", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("1", false, false)]
    [InlineData("2", true, false)]
    [InlineData("3", true, true)]
    public async Task UriblLogVerboseAndDiagnosticLines(string level, bool passedLine, bool uriLine)
    {
        var cfg = TestConfig.Create(("URIBLServiceProvider", "uribl.test"), ("URIBLLog", level));
        var ctx = new FakeMailContext(cfg, "198.51.100.5");
        var (verdict, _) = await Transaction.RunAsync(Pipeline(), ctx, "a@sender.example", ["user@local.test"],
            "From: a@sender.example\nSubject: deal\n\nsee http://fine.example/page\n");
        Assert.False(verdict.Refuses);
        Assert.Equal(passedLine, ctx.LogLines.Any(l => l.StartsWith("[URIBL] passed,", StringComparison.Ordinal)));
        Assert.Equal(uriLine, ctx.LogLines.Any(l => l.StartsWith("[URIBL] URIs found: ", StringComparison.Ordinal) && l.Contains("fine.example")));
    }

    [Theory]
    [InlineData("1", false)]
    [InlineData("2", true)]
    public async Task BacksctrLogVerboseNamesBouncesFromUnlistedIps(string level, bool line)
    {
        var cfg = TestConfig.Create(("DoBackSctr", "1"), ("BackSctrServiceProvider", "bs.test"), ("BacksctrLog", level));
        var bounce = new FakeMailContext(cfg, "198.51.100.5");
        var (verdict, _) = await Transaction.RunAsync(Pipeline(), bounce, "", ["user@local.test"], "From: MAILER-DAEMON@far.example\nSubject: Undelivered\n\nx\n");
        Assert.False(verdict.Refuses);
        Assert.Equal(line, bounce.LogLines.Contains("[Backscatter] bounce from 198.51.100.5: not listed"));
    }

    [Fact]
    public async Task RwlTrustSkipsTheDnsblAndWhitelistsWithRwlWhitelisting()
    {
        var cfg = TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"), ("ValidateRWL", "1"), ("RWLServiceProvider", "list.dnswl.org.test"),
            ("RWLwhitelisting", "1"));
        var ctx = new FakeMailContext(cfg, "203.0.113.30");
        var (verdict, _) = await Transaction.RunAsync(Pipeline(), ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
        Assert.True(ctx.State.RwlOk);
        Assert.Equal("RWL", ctx.State.Whitelisted);
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("X-Assp-Received-RWL: lookup passed (trust: 3)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UriblFindsTheListedLinkDomain()
    {
        var cfg = TestConfig.Create(("URIBLServiceProvider", "uribl.test"), ("URIBLmaxhits", "1"), ("URIBLmaxweight", "0"));
        var ctx = new FakeMailContext(cfg, "198.51.100.5");
        var (verdict, phase) = await Transaction.RunAsync(Pipeline(), ctx, "a@sender.example", ["user@local.test"],
            "From: a@sender.example\nSubject: deal\nContent-Type: text/html\n\n<a href=\"http://www.spammy.com/buy\">buy</a> and http://fine.example/\n");
        Assert.Equal("DataBody", phase);
        Assert.StartsWith("554 5.7.1 Blacklisted by uribl.test", verdict.Reply);
        Assert.Contains(ctx.State.Headers, h => h == "X-Assp-Received-URIBL: failed (spammy.com listed in uribl.test)");
    }

    [Fact]
    public async Task BouncesFromABackscatterSourceAreRefusedOthersPass()
    {
        var cfg = TestConfig.Create(("DoBackSctr", "1"), ("BackSctrServiceProvider", "bs.test"));
        var bounce = new FakeMailContext(cfg, "203.0.113.40");
        var (verdict, phase) = await Transaction.RunAsync(Pipeline(), bounce, "", ["user@local.test"], "From: MAILER-DAEMON@far.example\nSubject: Undelivered\n\nx\n");
        Assert.Equal("DataHeader", phase);
        Assert.StartsWith("554 5.7.1", verdict.Reply);
        Assert.Equal(10, bounce.State.MessageScore);
        // The same IP with a real sender is not a bounce; a listed bounce to a noBackSctrAddresses recipient passes.
        var normal = new FakeMailContext(cfg, "203.0.113.40");
        (verdict, _) = await Transaction.RunAsync(Pipeline(), normal, "someone@far.example", ["user@local.test"], "Subject: hi\n\nx\n");
        Assert.False(verdict.Refuses);
        var exempt = new FakeMailContext(TestConfig.Create(("DoBackSctr", "1"), ("BackSctrServiceProvider", "bs.test"), ("noBackSctrAddresses", "user@local.test")), "203.0.113.40");
        (verdict, _) = await Transaction.RunAsync(Pipeline(), exempt, "", ["user@local.test"], "Subject: bounce\n\nx\n");
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task AReloadWithNewDnsServersReachesTheResolverOfARunningInstance()
    {
        // First configuration: a DNS server that never answers; the reload points DNSServers at nsd.
        using var silent = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var silentEp = (System.Net.IPEndPoint)silent.Client.LocalEndPoint!;
        var loader = new Assp.Config.ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { AllowExec = false, ExportGroups = false };
        var dir = Path.Combine(Path.GetTempPath(), "assp-checks-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        // Short limits while nobody answers; generous ones once nsd does (a loaded CI machine can take over a second).
        Assp.Config.ConfigSnapshot Load(System.Net.IPEndPoint dns, int seconds) => loader.Load(new Assp.Config.ConfigSource(dir, Overrides:
        [
            KeyValuePair.Create("UseLocalDNS", "0"), KeyValuePair.Create("DNSServers", $"{dns.Address}:{dns.Port}"),
            KeyValuePair.Create("DNStimeout", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)), KeyValuePair.Create("DNSretry", "0"),
            KeyValuePair.Create("RBLmaxtime", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            KeyValuePair.Create("RBLServiceProvider", "bl.test=>2|bl2.test=>2"),
        ]));
        var before = Load(silentEp, 1);
        var after = Load(_nsd.EndPoint, 15);
        Assert.True(after.Generation > before.Generation);

        var dns = DnsListChecks.FromConfig(before);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), dns);
        var ctx = new FakeMailContext(before);
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses); // nothing came back in time: no listing

        ctx = new FakeMailContext(after);
        (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["user@local.test"], Plain);
        Assert.StartsWith("554 5.7.1 DNS Blacklisted by", verdict.Reply);
        Assert.Equal([_nsd.EndPoint], dns.Resolver.Servers.Select(s => s.EndPoint));

        // A session still running on the old snapshot does not turn the resolver back.
        dns.FollowConfig(before);
        Assert.Equal([_nsd.EndPoint], dns.Resolver.Servers.Select(s => s.EndPoint));
        Assert.Equal(TimeSpan.FromSeconds(15), dns.Resolver.Options.Timeout);
    }

    [Fact]
    public async Task ForceRblCacheBlocksACachedFailureAtMailFrom()
    {
        var cfg = TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"), ("ForceRBLCache", "1"));
        var pipeline = Pipeline();
        var (verdict, phase) = await Transaction.RunAsync(pipeline, new FakeMailContext(cfg), "a@sender.example", ["user@local.test"], Plain);
        Assert.Equal("DataHeader", phase); // first contact: looked up after the header, and cached
        var ctx = new FakeMailContext(cfg);
        (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "b@sender.example", ["user@local.test"], Plain);
        Assert.Equal("mail", phase);
        Assert.StartsWith("554 5.7.1 DNS Blacklisted by", verdict.Reply);
        Assert.Equal(50, ctx.State.MessageScore); // counted once

        // Without the option, or in rblTestMode, the cached verdict waits for the header phase.
        (_, phase) = await Transaction.RunAsync(pipeline, new FakeMailContext(TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"))),
            "b@sender.example", ["user@local.test"], Plain);
        Assert.Equal("DataHeader", phase);
        var test = new FakeMailContext(TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"), ("ForceRBLCache", "1"), ("rblTestMode", "1"),
            ("DoPenaltyMessage", "0")));
        (verdict, _) = await Transaction.RunAsync(pipeline, test, "b@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", test.State.Headers);
    }

    private const string Chain =
        "Received: from relay.example (relay.example [203.0.113.9]) by mx.local.test with ESMTP id 1; Sat, 21 Nov 2026 10:00:00 +0000\n" +
        "Received: from pc (pc [203.0.113.20]) by relay.example with ESMTP id 2; Sat, 21 Nov 2026 09:59:00 +0000\n" + Plain;

    [Fact]
    public async Task BehindAnIspTheIpTheIspReceivedFromIsLookedUp()
    {
        var cfg = TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"), ("ispip", "198.51.100.5"), ("ispHostnames", @"mx\.isp\.example"),
            ("enhancedOriginIPDetect", "0"));
        var isp = "Received: from bad.host (bad.host [203.0.113.9]) by mx.isp.example with ESMTP id 7; Sat, 21 Nov 2026 10:00:00 +0000\n" + Plain;
        var ctx = new FakeMailContext(cfg, "198.51.100.5");
        var (verdict, phase) = await Transaction.RunAsync(Pipeline(), ctx, "a@sender.example", ["user@local.test"], isp);
        Assert.Equal("DataHeader", phase);
        Assert.StartsWith("554 5.7.1 DNS Blacklisted by", verdict.Reply);
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("X-Assp-DNSBL: failed (203.0.113.9 listed in", StringComparison.Ordinal));
        // ISP mail without a Received line of the ISP host: the ISP relay itself is not looked up.
        (verdict, _) = await Transaction.RunAsync(Pipeline(), new FakeMailContext(cfg, "198.51.100.5"), "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
    }

    [Theory]
    [InlineData("2", "", true, 50)]                       // default: the relay hop is listed twice
    [InlineData("0", "", false, 0)]                       // off
    [InlineData("2", "203.0.113.9", false, 0)]            // the hop whitelisted; the origin is left out in mode 2
    [InlineData("1", "203.0.113.9", false, 25)]           // mode 1 also looks up the origin: neutral
    public async Task EnhancedOriginIpDetectLooksUpTheRoutingPath(string mode, string whiteIps, bool refused, double score)
    {
        var cfg = TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"), ("enhancedOriginIPDetect", mode), ("whiteListedIPs", whiteIps),
            ("DoPenaltyMessage", "0"));
        var ctx = new FakeMailContext(cfg, "198.51.100.5");
        var (verdict, _) = await Transaction.RunAsync(Pipeline(), ctx, "a@sender.example", ["user@local.test"], Chain);
        Assert.Equal(refused, verdict.Refuses);
        Assert.Equal(score, ctx.State.MessageScore);
    }

    [Fact]
    public async Task PrivateAndLocalMailAreNotLookedUp()
    {
        var cfg = TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"));
        var lan = new FakeMailContext(cfg, "10.0.0.9");
        var (verdict, _) = await Transaction.RunAsync(Pipeline(), lan, "a@sender.example", ["user@local.test"], Plain);
        Assert.False(verdict.Refuses);
        var local = new FakeMailContext(cfg) { IsAuthenticated = true };
        (verdict, _) = await Transaction.RunAsync(Pipeline(), local, "me@local.test", ["x@far.example"], Plain);
        Assert.False(verdict.Refuses);
    }
}
