using System.Net;
using Assp.Checks.Dns;
using Assp.Dns;
using Assp.Mime.Uris;

namespace Assp.Checks.Tests.Dns;

/// <summary>The list engines against a real nsd serving DNSBL, bitmask, DNSWL, URIBL and backscatter zones.</summary>
public sealed class DnsListServerTests : IDisposable
{
    private readonly NsdServer _nsd;
    private readonly DnsResolver _resolver;

    public DnsListServerTests()
    {
        var zones = new Dictionary<string, string>
        {
            // 192.0.2.10 is listed with the three classic codes; 192.0.2.6 in the bitmask zone with 127.0.0.6.
            ["bl.test"] = NsdServer.Zone("bl.test", "10.2.0.192 IN A 127.0.0.2\n10.2.0.192 IN A 127.0.0.4\n20.2.0.192 IN A 127.0.0.10"),
            ["bl2.test"] = NsdServer.Zone("bl2.test", "10.2.0.192 IN A 127.0.0.4"),
            ["bm.test"] = NsdServer.Zone("bm.test", "6.2.0.192 IN A 127.0.0.6\n2.2.0.192 IN A 127.0.0.2"),
            ["list.dnswl.org.test"] = NsdServer.Zone("list.dnswl.org.test", "30.2.0.192 IN A 127.0.5.3\n31.2.0.192 IN A 127.0.5.0\n33.2.0.192 IN A 127.0.15.3\n34.2.0.192 IN A 127.0.2.2"),
            ["wl2.test"] = NsdServer.Zone("wl2.test", "30.2.0.192 IN A 127.0.0.2\n34.2.0.192 IN A 127.0.0.2"),
            ["uribl.test"] = NsdServer.Zone("uribl.test", "spammy.com IN A 127.0.0.2\nworse.com IN A 127.0.0.4"),
            ["bs.test"] = NsdServer.Zone("bs.test", "40.2.0.192 IN A 127.0.0.2"),
            // http:BL answers under the access key: a harvester and a search engine.
            ["dnsbl.httpbl.org.test"] = NsdServer.Zone("dnsbl.httpbl.org.test", "testkey.60.2.0.192 IN A 127.5.50.2\ntestkey.61.2.0.192 IN A 127.0.5.0"),
        };
        _nsd = new NsdServer(zones);
        _resolver = new DnsResolver(new DnsResolverOptions { Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500) });
    }

    public void Dispose() => _nsd.Dispose();

    private static DnsblSettings Dnsbl(params string[] providers) =>
        DnsblSettings.For(TestConfig.Create(("RBLServiceProvider", string.Join('|', providers)), ("RBLmaxreplies", "7"), ("RBLmaxhits", "2"), ("RBLmaxweight", "50")));

    [Fact]
    public async Task Dnsbl_failed_over_two_providers()
    {
        var v = await new DnsblCheck(_resolver).CheckAsync(IPAddress.Parse("192.0.2.10"), Dnsbl("bl.test=>2", "bl2.test=>2"));
        Assert.Equal((DnsListOutcome.Failed, 50d), (v.Outcome, v.Score));
        Assert.Equal(["bl.test", "bl2.test"], v.ListedBy.Select(l => l.Zone).Order());
    }

    [Fact]
    public async Task Dnsbl_neutral_and_cached()
    {
        var check = new DnsblCheck(_resolver);
        var s = Dnsbl("bl.test=>127.0.0.10=>20", "bl2.test=>2");
        var v = await check.CheckAsync(IPAddress.Parse("192.0.2.20"), s);
        Assert.Equal((DnsListOutcome.Neutral, 20d), (v.Outcome, v.Score));
        Assert.True((await check.CheckAsync(IPAddress.Parse("192.0.2.20"), s)).FromCache);
    }

    [Fact]
    public async Task Dnsbl_bitmask_zone()
    {
        var s = Dnsbl("bm.test=>127.0.0.M2=>25", "bm.test=>127.0.0.M4=>41", "bm.test=>127.0.0.2=>22");
        var check = new DnsblCheck(_resolver);
        var six = await check.CheckAsync(IPAddress.Parse("192.0.2.6"), s);
        Assert.Equal((DnsListOutcome.Failed, 66d), (six.Outcome, six.Score));
        var two = await check.CheckAsync(IPAddress.Parse("192.0.2.2"), s);
        Assert.Equal((DnsListOutcome.Neutral, 22d), (two.Outcome, two.Score));
        Assert.Equal(DnsListOutcome.Pass, (await check.CheckAsync(IPAddress.Parse("192.0.2.99"), s)).Outcome);
    }

    [Fact]
    public async Task Dnsbl_httpbl_with_access_key()
    {
        var check = new DnsblCheck(_resolver);
        var s = Dnsbl("testkey.$DATA$.dnsbl.httpbl.org.test=>1");
        var harvester = await check.CheckAsync(IPAddress.Parse("192.0.2.60"), s);
        Assert.Equal((DnsListOutcome.Failed, 72d, "dnsbl.httpbl.org.test<-127.5.50.2"), (harvester.Outcome, harvester.Score, harvester.ListedText));
        Assert.Equal(DnsListOutcome.Pass, (await check.CheckAsync(IPAddress.Parse("192.0.2.61"), s)).Outcome);
    }

    [Fact]
    public async Task Dnsbl_noRBL_skips()
    {
        var s = DnsblSettings.For(TestConfig.Create(("RBLServiceProvider", "bl.test"), ("noRBL", "192.0.2.0/24")));
        Assert.Equal(DnsListOutcome.Skipped, (await new DnsblCheck(_resolver).CheckAsync(IPAddress.Parse("192.0.2.10"), s)).Outcome);
    }

    [Fact]
    public async Task Dnsbl_silent_provider_is_waited_for_only_until_maxtime()
    {
        using var silent = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var slow = new DnsResolver(new DnsResolverOptions { Servers = [(IPEndPoint)silent.Client.LocalEndPoint!], Timeout = TimeSpan.FromSeconds(30) });
        var s = Dnsbl("bl.test=>1") with { MaxTime = TimeSpan.FromMilliseconds(300) };
        var v = await new DnsblCheck(slow).CheckAsync(IPAddress.Parse("192.0.2.10"), s);
        Assert.Equal(DnsListOutcome.Pass, v.Outcome);
        Assert.True(v.TimedOut);
    }

    [Fact]
    public async Task Rwl_whitelists_high_trust()
    {
        var s = RwlSettings.For(TestConfig.Create(("RWLServiceProvider", "list.dnswl.org.test"), ("RWLwhitelisting", "1"), ("RWLminhits", "1")));
        var rwl = new RwlCheck(_resolver);
        Assert.Equal(RwlStatus.Whitelisted, (await rwl.CheckAsync(IPAddress.Parse("192.0.2.30"), s)).Status);
        Assert.Equal(RwlStatus.Listed, (await rwl.CheckAsync(IPAddress.Parse("192.0.2.31"), s)).Status);
        Assert.Equal(RwlStatus.NotListed, (await rwl.CheckAsync(IPAddress.Parse("192.0.2.32"), s)).Status);
    }

    [Fact]
    public async Task Rwl_category_overrides_and_minhits_against_the_server()
    {
        var s = RwlSettings.For(TestConfig.Create(("RWLServiceProvider", "list.dnswl.org.test:15=>0,2=>+1"), ("RWLwhitelisting", "1"), ("RWLminhits", "1")));
        var rwl = new RwlCheck(_resolver);
        // Category 15 with trust 3 is overridden to 0: listed, not trusted. Category 2 with trust 2 becomes 3: whitelisted.
        Assert.Equal((RwlStatus.Listed, 0), ((await rwl.CheckAsync(IPAddress.Parse("192.0.2.33"), s)) is var a ? (a.Status, a.Trust) : default));
        Assert.Equal((RwlStatus.Whitelisted, 3), ((await rwl.CheckAsync(IPAddress.Parse("192.0.2.34"), s)) is var b ? (b.Status, b.Trust) : default));

        // RWLminhits 2 over two zones: 192.0.2.30 is in both, 192.0.2.31 only in one (listed, not passed).
        var two = RwlSettings.For(TestConfig.Create(("RWLServiceProvider", "list.dnswl.org.test|wl2.test"), ("RWLminhits", "2"), ("RWLmaxreplies", "2")));
        rwl = new RwlCheck(_resolver);
        var both = await rwl.CheckAsync(IPAddress.Parse("192.0.2.30"), two);
        Assert.Equal((RwlStatus.Trusted, 3), (both.Status, both.Trust));
        Assert.Equal(2, both.ListedBy.Count);
        Assert.Equal(RwlStatus.Listed, (await rwl.CheckAsync(IPAddress.Parse("192.0.2.31"), two)).Status);
    }

    [Fact]
    public async Task Uribl_weights_over_domains()
    {
        var s = UriblSettings.For(TestConfig.Create(("URIBLServiceProvider", "uribl.test=>127.0.0.2=>2|uribl.test=>127.0.0.4=>3"), ("URIBLmaxweight", "50"),
            ("URIBLCCTLDS", "co.uk"), ("URIBLwhitelist", "doubleclick.net")));
        var uribl = new UriblCheck(_resolver);
        var one = await uribl.CheckAsync(UriExtractor.Extract("see http://www.spammy.com/x and http://ok.example.co.uk/", false), s);
        Assert.Equal((DnsListOutcome.Neutral, 25d, "spammy.com"), (one.Outcome, one.Score, one.ListedDomain));
        var two = await uribl.CheckAsync(UriExtractor.Extract("http://spammy.com http://a.worse.com", false), s);
        Assert.Equal((DnsListOutcome.Neutral, 42d), (two.Outcome, two.Score)); // 25 + 17 < 50: weights decide, not URIBLmaxhits
        var s2 = s with { Providers = DnsListProviders.Parse(["uribl.test=>1"], 50, 1, 25) };
        var failed = await new UriblCheck(_resolver).CheckAsync(UriExtractor.Extract("http://spammy.com", false), s2);
        Assert.Equal((DnsListOutcome.Failed, 50d), (failed.Outcome, failed.Score));
        Assert.Equal(DnsListOutcome.Pass, (await uribl.CheckAsync(UriExtractor.Extract("http://clean.com", false), s)).Outcome);
    }

    [Fact]
    public async Task Backscatter_local_file_is_asked_first_and_read_again_when_it_changes()
    {
        var files = new Dictionary<string, string> { ["files/backdnslist.txt"] = ":127.0.0.2:Backscatter from $\n# a comment\n192.0.2.50\n192.0.2.51 some text\n" };
        var cfg = TestConfig.Create(files, ("BackSctrServiceProvider", "bs.test"));
        var s = BackscatterSettings.For(cfg);
        Assert.Equal(Path.Combine(cfg.BaseDirectory, "files", "backdnslist.txt"), s.LocalFile);
        var bs = new BackscatterCheck(_resolver);
        var v = await bs.CheckAsync(IPAddress.Parse("192.0.2.50"), s);
        Assert.Equal((DnsListOutcome.Failed, 10d, "backdnslist.txt<-local list"), (v.Outcome, v.Score, v.ListedText));
        Assert.Equal(DnsListOutcome.Failed, (await bs.CheckAsync(IPAddress.Parse("192.0.2.51"), s)).Outcome);
        Assert.Equal(DnsListOutcome.Failed, (await bs.CheckAsync(IPAddress.Parse("192.0.2.40"), s)).Outcome); // from DNS
        Assert.Equal(DnsListOutcome.Pass, (await bs.CheckAsync(IPAddress.Parse("192.0.2.52"), s)).Outcome);
        Assert.Equal(2, bs.LocalList(s.LocalFile!, out _)!.Count);

        // A new list replaces the old one.
        File.WriteAllText(s.LocalFile!, "192.0.2.52\n");
        File.SetLastWriteTimeUtc(s.LocalFile!, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(DnsListOutcome.Failed, (await bs.CheckAsync(IPAddress.Parse("192.0.2.52"), s)).Outcome);
        Assert.Equal(DnsListOutcome.Pass, (await bs.CheckAsync(IPAddress.Parse("192.0.2.50"), s)).Outcome);

        // BackDNSInterval 0 turns the file off; a missing file is simply no list.
        Assert.Null(BackscatterSettings.For(TestConfig.Create(files, ("BackDNSInterval", "0"))).LocalFile);
        var missing = BackscatterSettings.For(TestConfig.Create(("BackSctrServiceProvider", "bs.test")));
        Assert.Equal(DnsListOutcome.Pass, (await new BackscatterCheck(_resolver).CheckAsync(IPAddress.Parse("192.0.2.50"), missing)).Outcome);
    }

    [Fact]
    public async Task Caches_live_in_assps_tables_and_survive_a_new_engine()
    {
        var clock = new Assp.Checks.Tests.PenaltyBox.ManualClock(DateTimeOffset.UtcNow);
        var store = new Assp.Storage.MemoryStore(clock);
        var cfg = TestConfig.Create(("RBLServiceProvider", "bl.test=>2|bl2.test=>2"), ("RBLCacheExp", "24"), ("URIBLServiceProvider", "uribl.test"),
            ("RWLServiceProvider", "list.dnswl.org.test"), ("RWLwhitelisting", "1"), ("BackSctrServiceProvider", "bs.test"));
        var first = new DnsListChecks(_resolver).UseStore(store);
        await first.Dnsbl.CheckAsync(IPAddress.Parse("192.0.2.10"), DnsblSettings.For(cfg));
        await first.Dnsbl.CheckAsync(IPAddress.Parse("192.0.2.99"), DnsblSettings.For(cfg));
        await first.Rwl.CheckAsync(IPAddress.Parse("192.0.2.30"), RwlSettings.For(cfg));
        await first.Uribl.CheckAsync(UriExtractor.Extract("http://spammy.com/", false), UriblSettings.For(cfg));
        await first.Backscatter.CheckAsync(IPAddress.Parse("192.0.2.40"), BackscatterSettings.For(cfg));

        var rbl = store.Table(DnsListChecks.RblTable);
        Assert.Matches(@"^\d+ \d{4}-\d\d-\d\d/\d\d:\d\d:\d\d 1 bl2?\.test\{127\.0\.0\.[24]\} bl2?\.test\{127\.0\.0\.[24]\}$", rbl.TryGetValue("192.0.2.10", out var v) ? v : "");
        Assert.EndsWith(" 2", rbl.TryGetValue("192.0.2.99", out v) ? v : "");
        Assert.EndsWith(" 3", store.Table(DnsListChecks.RwlTable).TryGetValue("192.0.2.30", out v) ? v : "");
        Assert.EndsWith(" 1 uribl.test<-127.0.0.2", store.Table(DnsListChecks.UriblTable).TryGetValue("spammy.com", out v) ? v : "");
        Assert.EndsWith(" 1 bs.test<-127.0.0.2", store.Table(DnsListChecks.BackTable).TryGetValue("192.0.2.40", out v) ? v : "");

        // A new engine on the same store with a DNS that never answers: the answers come from the tables.
        using var silent = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var deaf = new DnsResolver(new DnsResolverOptions { Servers = [(IPEndPoint)silent.Client.LocalEndPoint!], Timeout = TimeSpan.FromSeconds(30) });
        var second = new DnsListChecks(deaf).UseStore(store);
        var cached = await second.Dnsbl.CheckAsync(IPAddress.Parse("192.0.2.10"), DnsblSettings.For(cfg));
        Assert.Equal((DnsListOutcome.Failed, 50d, true), (cached.Outcome, cached.Score, cached.FromCache));
        Assert.Equal(RwlStatus.Whitelisted, (await second.Rwl.CheckAsync(IPAddress.Parse("192.0.2.30"), RwlSettings.For(cfg))).Status);
        Assert.Equal(DnsListOutcome.Failed, (await second.Backscatter.CheckAsync(IPAddress.Parse("192.0.2.40"), BackscatterSettings.For(cfg))).Outcome);
        // An ASSP record imported as is.
        rbl.Set("192.0.2.77", $"{clock.GetUtcNow().ToUnixTimeSeconds()} 2026-11-21/10:00:00 1 bl.test{{127.0.0.2}}");
        Assert.Equal(DnsListOutcome.Neutral, (await second.Dnsbl.CheckAsync(IPAddress.Parse("192.0.2.77"), DnsblSettings.For(cfg))).Outcome);

        // RBLCacheExp hours later the records are stale, and the clean-up removes them.
        clock.Advance(TimeSpan.FromHours(25));
        Assert.False(second.Dnsbl.TryGetCached(IPAddress.Parse("192.0.2.10"), DnsblSettings.For(cfg), out _));
        Assert.Equal(4, second.CleanCaches(cfg)); // three RBL records and the URIBL hit (URIBLCacheInterval 1 day)
        Assert.Equal(0, rbl.Count);
        Assert.Equal(1, store.Table(DnsListChecks.RwlTable).Count); // RWLCacheInterval is 7 days
    }

    [Fact]
    public async Task Backscatter_listing_fails()
    {
        var s = BackscatterSettings.For(TestConfig.Create(("BackSctrServiceProvider", "bs.test")));
        var bs = new BackscatterCheck(_resolver);
        var v = await bs.CheckAsync(IPAddress.Parse("192.0.2.40"), s);
        Assert.Equal((DnsListOutcome.Failed, 10d), (v.Outcome, v.Score));
        Assert.Equal(DnsListOutcome.Pass, (await bs.CheckAsync(IPAddress.Parse("192.0.2.41"), s)).Outcome);
    }
}
