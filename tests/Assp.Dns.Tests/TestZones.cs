using System.Net;
using System.Text;

namespace Assp.Dns.Tests;

/// <summary>One nsd for the whole test assembly, serving the test zones.</summary>
public sealed class TestZones : IDisposable
{
    public NsdServer Server { get; }

    public TestZones()
    {
        var bigTxt = new StringBuilder();
        for (int i = 0; i < 12; i++) bigTxt.Append($"big IN TXT \"{new string((char)('a' + i), 200)}\"\n");
        var zones = new Dictionary<string, string>
        {
            ["example.test"] = NsdServer.Zone("example.test", $"""
                @ IN MX 10 mx1
                @ IN MX 20 mx2.other.test.
                @ IN A 192.0.2.1
                @ IN AAAA 2001:db8::1
                @ IN TXT "v=spf1 " "ip4:192.0.2.0/24 " "-all"
                mx1 IN A 192.0.2.25
                www IN CNAME web
                web IN CNAME host
                host IN A 192.0.2.80
                away IN CNAME target.other.test.
                loop1 IN CNAME loop2
                loop2 IN CNAME loop1
                zero 0 IN A 192.0.2.99
                _sip._tcp IN SRV 10 60 5060 sip
                sip IN A 192.0.2.50
                {bigTxt}
                """, negativeTtl: 120),
            ["other.test"] = NsdServer.Zone("other.test", """
                mx2 IN A 192.0.2.26
                target IN A 192.0.2.81
                """),
            ["2.0.192.in-addr.arpa"] = NsdServer.Zone("2.0.192.in-addr.arpa", """
                1 IN PTR example.test.
                25 IN PTR mx1.example.test.
                """),
        };
        // Eight DNS lists for the parallel test: each lists 127.0.0.2 (the conventional test entry) and 192.0.2.10.
        for (int i = 1; i <= 8; i++)
            zones[$"bl{i}.test"] = NsdServer.Zone($"bl{i}.test", $"""
                2.0.0.127 IN A 127.0.0.2
                10.2.0.192 IN A 127.0.0.{1 + i}
                10.2.0.192 IN TXT "listed by bl{i}"
                """);
        Server = new NsdServer(zones);
    }

    public DnsResolver NewResolver(Func<DnsResolverOptions, DnsResolverOptions>? tune = null)
    {
        var o = new DnsResolverOptions { Servers = [Server.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500) };
        return new DnsResolver(tune is null ? o : tune(o));
    }

    public void Dispose() => Server.Dispose();
}

[CollectionDefinition("nsd")]
public sealed class NsdCollection : ICollectionFixture<TestZones>;

/// <summary>A UDP "server" on loopback that hands each query to a callback; the callback decides what (if anything) to send back.</summary>
public sealed class FakeDnsServer : IDisposable
{
    private readonly System.Net.Sockets.UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _cts = new();
    public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;
    public int Received;

    /// <param name="respond">Gets the query bytes, returns the packets to send back (none: stay silent).</param>
    public FakeDnsServer(Func<byte[], IEnumerable<byte[]>> respond)
    {
        _ = Task.Run(async () =>
        {
            while (!_cts.IsCancellationRequested)
            {
                System.Net.Sockets.UdpReceiveResult r;
                try
                {
                    r = await _udp.ReceiveAsync(_cts.Token);
                }
                catch (Exception) when (!_cts.IsCancellationRequested)
                {
                    continue; // an ICMP error from a closed client must not stop the server
                }
                catch (Exception)
                {
                    return;
                }
                Interlocked.Increment(ref Received);
                foreach (var p in respond(r.Buffer))
                {
                    try
                    {
                        await _udp.SendAsync(p, r.RemoteEndPoint, _cts.Token);
                    }
                    catch (Exception)
                    {
                        // the client went away; carry on with the next query
                    }
                }
            }
        });
    }

    public static FakeDnsServer Silent() => new(_ => []);

    public void Dispose()
    {
        _cts.Cancel();
        _udp.Dispose();
    }
}
