using System.Net;
using System.Net.Sockets;

namespace Assp.Dns.Tests;

/// <summary>A resolver taking new servers and timeouts while it is in use (a configuration reload).</summary>
public sealed class ReconfigureTests : IDisposable
{
    // Two servers for the same zone that answer differently, as an old and a new DNSServers entry might.
    private readonly NsdServer _first = new(new Dictionary<string, string> { ["switch.test"] = NsdServer.Zone("switch.test", "host IN A 192.0.2.1") });
    private readonly NsdServer _second = new(new Dictionary<string, string> { ["switch.test"] = NsdServer.Zone("switch.test", "host IN A 192.0.2.2") });

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
    }

    private static DnsResolverOptions Options(params IPEndPoint[] servers) =>
        new() { Servers = servers, Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500) };

    [Fact]
    public async Task New_servers_answer_after_a_reconfigure_and_the_old_answers_are_dropped()
    {
        var r = new DnsResolver(Options(_first.EndPoint));
        Assert.Equal([IPAddress.Parse("192.0.2.1")], (await r.QueryAsync("host.switch.test", DnsRecordType.A)).Addresses);

        Assert.True(r.Reconfigure(Options(_second.EndPoint)));
        Assert.Equal([_second.EndPoint], r.Servers.Select(s => s.EndPoint));
        Assert.Equal([IPAddress.Parse("192.0.2.2")], (await r.QueryAsync("host.switch.test", DnsRecordType.A)).Addresses);

        // The same settings again change nothing and keep the cache.
        Assert.False(r.Reconfigure(Options(_second.EndPoint)));
        Assert.Equal(1, r.Cache.Count);
    }

    [Fact]
    public async Task A_server_that_stays_keeps_its_history_and_a_timeout_change_keeps_the_cache()
    {
        var r = new DnsResolver(Options(_first.EndPoint));
        await r.QueryAsync("host.switch.test", DnsRecordType.A);
        var health = r.Servers[0];
        Assert.True(r.Reconfigure(Options(_second.EndPoint, _first.EndPoint)));
        Assert.Same(health, r.Servers[1]);
        Assert.Equal(1, r.Servers[1].Index);
        Assert.Equal(1, health.Queries);

        var cached = new DnsResolver(Options(_first.EndPoint));
        await cached.QueryAsync("host.switch.test", DnsRecordType.A);
        Assert.True(cached.Reconfigure(Options(_first.EndPoint) with { Timeout = TimeSpan.FromSeconds(5) }));
        Assert.Equal(TimeSpan.FromSeconds(5), cached.Options.Timeout);
        Assert.Equal(1, cached.Cache.Count);
    }

    [Fact]
    public async Task A_lookup_under_way_ends_normally_and_its_late_answer_is_not_cached()
    {
        // The old server never answers; the lookup started on it ends at its own timeout with no exception.
        using var silent = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var r = new DnsResolver(Options((IPEndPoint)silent.Client.LocalEndPoint!) with { Timeout = TimeSpan.FromMilliseconds(600) });
        var running = r.QueryAsync("host.switch.test", DnsRecordType.A);
        Assert.True(r.Reconfigure(Options(_second.EndPoint)));
        var old = await running;
        Assert.Equal(DnsStatus.Timeout, old.Status);
        var fresh = await r.QueryAsync("host.switch.test", DnsRecordType.A);
        Assert.Equal([IPAddress.Parse("192.0.2.2")], fresh.Addresses);
    }
}
