using System.Diagnostics;
using System.Net;

namespace Assp.Dns.Tests;

[Collection("nsd")]
public sealed class ResolverTests(TestZones zones)
{
    [Fact]
    public async Task A_and_AAAA()
    {
        var r = zones.NewResolver();
        var a = await r.QueryAsync("example.test", DnsRecordType.A);
        Assert.Equal(DnsStatus.Success, a.Status);
        Assert.Equal([IPAddress.Parse("192.0.2.1")], a.Addresses);
        var all = await r.GetAddressesAsync("EXAMPLE.test.");
        Assert.Equal(["192.0.2.1", "2001:db8::1"], all.Select(x => x.ToString()));
    }

    [Fact]
    public async Task Mx_sorted_by_preference()
    {
        var mx = await zones.NewResolver().GetMxAsync("example.test");
        Assert.Equal(["mx1.example.test", "mx2.other.test"], mx.Select(m => m.Exchange));
        Assert.Equal([10, 20], mx.Select(m => (int)m.Preference));
    }

    [Fact]
    public async Task Txt_keeps_its_strings_apart()
    {
        var r = await zones.NewResolver().QueryAsync("example.test", DnsRecordType.TXT);
        var txt = Assert.Single(r.Records.OfType<TxtRecord>());
        Assert.Equal(["v=spf1 ", "ip4:192.0.2.0/24 ", "-all"], txt.Strings);
        Assert.Equal("v=spf1 ip4:192.0.2.0/24 -all", txt.Text);
    }

    [Fact]
    public async Task Ptr()
    {
        var names = await zones.NewResolver().GetHostNamesAsync(IPAddress.Parse("192.0.2.25"));
        Assert.Equal(["mx1.example.test"], names);
    }

    [Fact]
    public async Task Srv_ns_soa()
    {
        var r = zones.NewResolver();
        var srv = Assert.Single((await r.QueryAsync("_sip._tcp.example.test", DnsRecordType.SRV)).Records.OfType<SrvRecord>());
        Assert.Equal((10, 60, 5060, "sip.example.test"), (srv.Priority, srv.Weight, srv.Port, srv.Target));
        var ns = Assert.Single((await r.QueryAsync("example.test", DnsRecordType.NS)).Records.OfType<NsRecord>());
        Assert.Equal("ns.example.test", ns.Host);
        var soa = Assert.Single((await r.QueryAsync("example.test", DnsRecordType.SOA)).Records.OfType<SoaRecord>());
        Assert.Equal(120u, soa.Minimum);
    }

    [Fact]
    public async Task Cname_chain_inside_and_across_zones()
    {
        var r = zones.NewResolver();
        var inside = await r.QueryAsync("www.example.test", DnsRecordType.A);
        Assert.Equal(["web.example.test", "host.example.test"], inside.CnameChain);
        Assert.Equal("192.0.2.80", inside.Addresses.Single().ToString());
        // The server for example.test only gives the CNAME; the resolver asks for the target itself.
        var across = await r.QueryAsync("away.example.test", DnsRecordType.A);
        Assert.Equal(DnsStatus.Success, across.Status);
        Assert.Equal(["target.other.test"], across.CnameChain);
        Assert.Equal("192.0.2.81", across.Addresses.Single().ToString());
    }

    [Fact]
    public async Task Cname_loop_ends()
    {
        var r = await zones.NewResolver().QueryAsync("loop1.example.test", DnsRecordType.A);
        Assert.NotEqual(DnsStatus.Success, r.Status);
    }

    [Fact]
    public async Task Nxdomain_and_nodata_are_cached_with_the_soa_minimum()
    {
        var r = zones.NewResolver();
        var nx = await r.QueryAsync("nothing.example.test", DnsRecordType.A);
        Assert.Equal(DnsStatus.NxDomain, nx.Status);
        Assert.Equal(TimeSpan.FromSeconds(120), nx.Ttl);
        var nodata = await r.QueryAsync("mx1.example.test", DnsRecordType.MX);
        Assert.Equal(DnsStatus.NoData, nodata.Status);
        long before = r.UpstreamLookups;
        Assert.True((await r.QueryAsync("nothing.example.test", DnsRecordType.A)).FromCache);
        Assert.True((await r.QueryAsync("mx1.example.test", DnsRecordType.MX)).FromCache);
        Assert.Equal(before, r.UpstreamLookups);
    }

    [Fact]
    public async Task Zero_ttl_answers_are_kept_for_the_minimum()
    {
        var r = zones.NewResolver();
        var first = await r.QueryAsync("zero.example.test", DnsRecordType.A);
        Assert.Equal(r.Options.MinTtl, first.Ttl);
        Assert.True((await r.QueryAsync("zero.example.test", DnsRecordType.A)).FromCache);
    }

    [Fact]
    public async Task Truncated_udp_answer_is_repeated_over_tcp()
    {
        var r = await zones.NewResolver().QueryAsync("big.example.test", DnsRecordType.TXT);
        Assert.Equal(DnsStatus.Success, r.Status);
        Assert.Equal(12, r.Records.Count);
    }

    [Fact]
    public async Task Without_edns_too()
    {
        var r = await zones.NewResolver(o => o with { EdnsUdpSize = 0 }).QueryAsync("big.example.test", DnsRecordType.TXT);
        Assert.Equal(12, r.Records.Count);
    }

    [Fact]
    public async Task Hundred_concurrent_asks_make_one_query()
    {
        var r = zones.NewResolver();
        var tasks = Enumerable.Range(0, 100).Select(_ => Task.Run(() => r.QueryAsync("host.example.test", DnsRecordType.A))).ToArray();
        var results = await Task.WhenAll(tasks);
        Assert.All(results, x => Assert.Equal("192.0.2.80", x.Addresses.Single().ToString()));
        Assert.Equal(1, r.UpstreamLookups);
        Assert.Equal(1, r.PacketsSent);
    }

    [Fact]
    public async Task Out_of_zone_name_is_refused_by_the_server()
    {
        var r = await zones.NewResolver().QueryAsync("example.invalid", DnsRecordType.A);
        Assert.Equal(DnsStatus.Refused, r.Status);
    }

    [Fact]
    public async Task ReuseUdpSockets_sends_one_query_after_the_other_over_the_same_socket()
    {
        // DNSReuseSocket: the answered socket goes back and carries the next question; without it each query opens one.
        string[] names = ["example.test", "host.example.test", "mx1.example.test", "mx2.example.test"];
        var reusing = zones.NewResolver(o => o with { ReuseUdpSockets = true, MinTtl = TimeSpan.Zero });
        foreach (var name in names) Assert.True((await reusing.QueryAsync(name, DnsRecordType.A, default)).IsDefinite);
        Assert.Equal(names.Length, reusing.PacketsSent);
        Assert.Equal(1, reusing.UdpSocketsOpened);

        var fresh = zones.NewResolver();
        foreach (var name in names) await fresh.QueryAsync(name, DnsRecordType.A, default);
        Assert.Equal(names.Length, fresh.PacketsSent);
        Assert.Equal(names.Length, fresh.UdpSocketsOpened);
    }

    [Fact]
    public async Task Invalid_names_never_reach_the_network()
    {
        var r = zones.NewResolver();
        foreach (var bad in new[] { "", "a..b", new string('a', 64) + ".test", string.Join('.', Enumerable.Repeat("abcdefgh", 40)), "bad\u00e9.test" })
            Assert.Equal(DnsStatus.InvalidName, (await r.QueryAsync(bad, DnsRecordType.A)).Status);
        Assert.Equal(0, r.PacketsSent);
    }

    [Fact]
    public async Task Silent_first_server_fails_over_to_the_second()
    {
        using var silent = FakeDnsServer.Silent();
        var r = new DnsResolver(new DnsResolverOptions
        {
            Servers = [silent.EndPoint, zones.Server.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(200),
            MaxResponseSpread = TimeSpan.Zero,
        });
        var res = await r.QueryAsync("host.example.test", DnsRecordType.A);
        Assert.Equal(DnsStatus.Success, res.Status);
        Assert.Equal(zones.Server.EndPoint, res.Server);
        Assert.True(r.Servers[0].Failures >= 1);
    }

    [Fact]
    public async Task Server_in_backoff_is_asked_last()
    {
        using var silent = FakeDnsServer.Silent();
        var r = new DnsResolver(new DnsResolverOptions
        {
            Servers = [silent.EndPoint, zones.Server.EndPoint], Timeout = TimeSpan.FromSeconds(1), Retransmit = TimeSpan.FromMilliseconds(100),
            FailuresBeforeBackoff = 1,
        });
        await r.QueryAsync("host.example.test", DnsRecordType.A);
        Assert.Equal(zones.Server.EndPoint, r.OrderedServers()[0].EndPoint);
    }

    [Fact]
    public async Task Silent_server_is_bounded_by_the_timeout()
    {
        using var silent = FakeDnsServer.Silent();
        var r = new DnsResolver(new DnsResolverOptions { Servers = [silent.EndPoint], Timeout = TimeSpan.FromMilliseconds(1500), Retransmit = TimeSpan.FromMilliseconds(100), Retries = 2 });
        var sw = Stopwatch.StartNew();
        var res = await r.QueryAsync("x.test", DnsRecordType.A);
        Assert.Equal(DnsStatus.Timeout, res.Status);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), "a lookup must end near its timeout");
        Assert.Equal(3, silent.Received); // first try plus two retries
    }

    [Fact]
    public async Task Ipv6_server_address()
    {
        // Nothing listens on [::1] here; the point is that the socket family follows the server's.
        var r = new DnsResolver(new DnsResolverOptions { Servers = [new IPEndPoint(IPAddress.IPv6Loopback, zones.Server.Port)], Timeout = TimeSpan.FromMilliseconds(300) });
        var res = await r.QueryAsync("example.test", DnsRecordType.A);
        Assert.NotEqual(DnsStatus.Success, res.Status);
    }

    [Fact]
    public void Server_lists_parse()
    {
        var eps = DnsResolverOptions.ParseServers("208.67.222.222|[2001:db8::53]:5353|127.0.0.1:5300|bogus=>sourceforge.net", out var bad);
        Assert.Equal(["208.67.222.222:53", "[2001:db8::53]:5353", "127.0.0.1:5300"], eps.Select(e => e.ToString()));
        Assert.Equal(["bogus"], bad);
        var rc = DnsResolverOptions.ParseResolvConf("# x\nnameserver 10.0.0.1\nsearch lan\nnameserver ::1\noptions ndots:2\n");
        Assert.Equal(["10.0.0.1:53", "[::1]:53"], rc.Select(e => e.ToString()));
    }

    [Fact]
    public void Reversed_addresses()
    {
        Assert.Equal("4.3.2.1", DnsName.ReversedAddress(IPAddress.Parse("1.2.3.4")));
        Assert.Equal("4.3.2.1", DnsName.ReversedAddress(IPAddress.Parse("::ffff:1.2.3.4")));
        Assert.StartsWith("1.0.0.0.", DnsName.ReversedAddress(IPAddress.Parse("2001:db8::1")));
        Assert.EndsWith("8.b.d.0.1.0.0.2.ip6.arpa", DnsName.ReverseLookupName(IPAddress.Parse("2001:db8::1")));
    }
}
