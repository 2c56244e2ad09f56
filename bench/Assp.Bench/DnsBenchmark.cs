using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Assp.Checks.Dns;
using Assp.Dns;

namespace Assp.Bench;

/// <summary>
/// `dotnet run -c Release -- dns`: starts a private nsd on loopback and measures cached and uncached lookups/s
/// through <see cref="DnsResolver"/>, then one DNSBL round over 8 providers (behind a forwarder that delays provider
/// i by i×10 ms) against the slowest single lookup and the sum of all eight, in the same run.
/// </summary>
public static class DnsBenchmark
{
    public static int Run(string[] args)
    {
        int names = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 20_000;
        var dir = Path.Combine(Path.GetTempPath(), "assp-dnsbench-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        int port = FreePort();
        var conf = $"server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  do-ip6: no\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{dir}\"\n  pidfile: \"{dir}/nsd.pid\"\n  database: \"\"\n  zonelistfile: \"{dir}/zone.list\"\n  xfrdfile: \"{dir}/xfrd.state\"\n  xfrdir: \"{dir}\"\n  logfile: \"{dir}/nsd.log\"\n  server-count: 1\n  verbosity: 0\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\nremote-control:\n  control-enable: no\n";
        var zones = new List<string> { "bench.test" };
        for (int i = 1; i <= 8; i++) zones.Add($"bl{i}.test");
        foreach (var z in zones)
        {
            string body = z == "bench.test" ? "* IN A 192.0.2.1" : "10.2.0.192 IN A 127.0.0.2";
            File.WriteAllText(Path.Combine(dir, z + ".zone"), $"$ORIGIN {z}.\n$TTL 3600\n@ IN SOA ns hm 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n{body}\n");
            conf += $"zone:\n  name: \"{z}\"\n  zonefile: \"{z}.zone\"\n";
        }
        File.WriteAllText(Path.Combine(dir, "nsd.conf"), conf);
        using var nsd = Process.Start(new ProcessStartInfo("/usr/sbin/nsd", ["-d", "-c", Path.Combine(dir, "nsd.conf")]) { UseShellExecute = false })
                        ?? throw new InvalidOperationException("nsd did not start (apt-get install nsd)");
        try
        {
            var server = new IPEndPoint(IPAddress.Loopback, port);
            var resolver = new DnsResolver(new DnsResolverOptions { Servers = [server], Timeout = TimeSpan.FromSeconds(3), CacheSize = names * 2 });
            for (int i = 0; i < 100 && !resolver.QueryAsync("ready.bench.test", DnsRecordType.A).Result.Succeeded; i++) Thread.Sleep(50);

            var list = Enumerable.Range(0, names).Select(i => $"h{i}.bench.test").ToArray();
            var (uncached, failed) = Measure(resolver, list, 64);
            var (cached, _) = Measure(resolver, list, 64);
            Console.WriteLine($"uncached lookups: {names:N0} in {uncached.TotalMilliseconds:N0} ms = {names / uncached.TotalSeconds:N0}/s (64 in flight, {failed} failed)");
            Console.WriteLine($"cached lookups:   {names:N0} in {cached.TotalMilliseconds:N1} ms = {names / cached.TotalSeconds:N0}/s  ({uncached / cached:N0}x the uncached rate)");

            using var forwarder = new DelayingForwarder(server);
            var slowResolver = new DnsResolver(new DnsResolverOptions { Servers = [forwarder.EndPoint], Timeout = TimeSpan.FromSeconds(3) });
            var providers = DnsListProviders.Parse(Enumerable.Range(1, 8).Select(i => $"bl{i}.test=>2"), 50, 2, 100);
            var label = DnsListProviders.IpLabel(IPAddress.Parse("192.0.2.10"));
            // Each single lookup alone (fresh cache each time), then all eight at once; a first untimed pass warms up
            // the code paths and the forwarder so the figures compare lookups, not start-up.
            foreach (var p in providers)
            {
                slowResolver.Cache.Clear();
                slowResolver.QueryAsync(p.QueryName(label), DnsRecordType.A).Wait();
            }
            var single = new List<double>();
            foreach (var p in providers)
            {
                slowResolver.Cache.Clear();
                var sw = Stopwatch.StartNew();
                slowResolver.QueryAsync(p.QueryName(label), DnsRecordType.A).Wait();
                single.Add(sw.Elapsed.TotalMilliseconds);
            }
            slowResolver.Cache.Clear();
            var all = DnsListLookup.RunAsync(slowResolver, label, providers, 8, 8, TimeSpan.FromSeconds(5), true).Result;
            double par = all.Elapsed.TotalMilliseconds;
            Console.WriteLine($"DNSBL over 8 providers (delays 10..80 ms): parallel {par:N1} ms, slowest single {single.Max():N1} ms, sum of singles {single.Sum():N1} ms");
            Console.WriteLine($"  parallel / slowest = {par / single.Max():N2}, parallel / sum = {par / single.Sum():N2}, hits {all.Hits.Count()}");
            return 0;
        }
        finally
        {
            if (!nsd.HasExited) nsd.Kill(entireProcessTree: true);
            nsd.WaitForExit(5000);
            Directory.Delete(dir, true);
        }
    }

    private static (TimeSpan Elapsed, int Failed) Measure(DnsResolver resolver, string[] names, int parallel)
    {
        int next = -1, failed = 0;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < names.Length)
                { var res = await resolver.QueryAsync(names[i], DnsRecordType.A); if (!res.Succeeded && Interlocked.Increment(ref failed) < 4) Console.WriteLine("  failed: " + res + " " + res.Error); }
        })).ToArray();
        Task.WaitAll(workers);
        return (sw.Elapsed, failed);
    }

    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>Relays UDP queries to nsd, holding the answer for a query about zone bl{i}.test for i×10 ms.</summary>
    private sealed class DelayingForwarder : IDisposable
    {
        private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _cts = new();
        public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;

        public DelayingForwarder(IPEndPoint upstream)
        {
            _ = Task.Run(async () =>
            {
                while (!_cts.IsCancellationRequested)
                {
                    UdpReceiveResult r;
                    try { r = await _udp.ReceiveAsync(_cts.Token); }
                    catch (Exception) { return; }
                    _ = Task.Run(async () =>
                    {
                        int p = 12, len = 0;
                        var labels = new List<string>();
                        while (p < r.Buffer.Length && (len = r.Buffer[p]) != 0 && p + 1 + len <= r.Buffer.Length)
                        {
                            labels.Add(System.Text.Encoding.ASCII.GetString(r.Buffer, p + 1, len));
                            p += 1 + len;
                        }
                        int delay = labels.Count >= 2 && labels[^2].StartsWith("bl", StringComparison.Ordinal) && int.TryParse(labels[^2][2..], out var k) ? k * 10 : 0;
                        using var up = new UdpClient();
                        up.Connect(upstream);
                        await up.SendAsync(r.Buffer);
                        var answer = await up.ReceiveAsync();
                        await Task.Delay(delay);
                        try { await _udp.SendAsync(answer.Buffer, r.RemoteEndPoint); } catch (Exception) { }
                    });
                }
            });
        }

        public void Dispose()
        {
            _cts.Cancel();
            _udp.Dispose();
        }
    }
}
