using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Delaying;
using Assp.Checks.Dns;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Dns;
using Assp.Storage;

namespace Assp.Bench;

/// <summary>
/// `dotnet run -c Release -- prechecks [--connections N]`: the whole pre-DATA check chain (connect, HELO, MAIL FROM,
/// RCPT TO with every catalogued check, greylisting and the RWL lookup) per connection, in µs on one thread. The DNS
/// answers come from a private nsd on loopback and are cached before the timed run, so the figure is the chain's own
/// cost. Baseline in the same run: the same chain with an empty configuration (defaults, empty databases).
/// </summary>
public static class PrecheckBenchmark
{
    public static int Run(string[] args)
    {
        int connections = Arg(args, "--connections", 100_000);
        var dir = Path.Combine(Path.GetTempPath(), "assp-bench-prechecks-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        Process? nsd = null;
        try
        {
            int port = FreePort();
            nsd = StartNsd(dir, port);
            var resolver = new DnsResolver(new DnsResolverOptions { Servers = [new IPEndPoint(IPAddress.Loopback, port)], Timeout = TimeSpan.FromSeconds(3) });
            for (int i = 0; i < 100 && !resolver.QueryAsync("ready.rwl.test", DnsRecordType.A).Result.Succeeded; i++) Thread.Sleep(50);
            var dns = new DnsListChecks(resolver);

            var empty = Load(Path.Combine(dir, "empty"), []);
            var full = Load(Path.Combine(dir, "full"), FullSettings(dir));
            Console.WriteLine($"Pre-DATA check chain: {connections:N0} connections (connect, HELO, MAIL FROM, RCPT TO) on one thread");

            using var emptyStore = new MemoryStore();
            using var fullStore = new MemoryStore();
            var heloDb = fullStore.Table(StoreTables.SpamDbHelo);
            for (int i = 0; i < 100_000; i++) heloDb.Set($"bot{i}.example", (1 + i % 12).ToString(System.Globalization.CultureInfo.InvariantCulture));
            for (int i = 0; i < 1_000; i++) heloDb.Set($"good{i}.example", "0.2");
            var box = new IpPenaltyBox(fullStore);
            for (int i = 0; i < 50_000; i++) box.AddBlack(full, Ip(i), 10 + i % 30, "bench");

            var baselinePipeline = Pipeline(emptyStore, null);
            var fullPipeline = Pipeline(fullStore, dns);
            // Warm-up: JIT, compiled lists and the DNS cache (every IP the timed runs use is looked up once here).
            Measure(baselinePipeline, empty, 20_000);
            Measure(fullPipeline, full, IpCount);
            var baseline = Measure(baselinePipeline, empty, connections);
            var measured = Measure(fullPipeline, full, connections);
            Console.WriteLine();
            Console.WriteLine($"{"",-46}{"µs/connection",15}{"connections/s",15}");
            Console.WriteLine($"{"baseline: empty configuration",-46}{baseline,15:0.0}{1e6 / baseline,15:N0}");
            Console.WriteLine($"{"connection/HELO/sender checks, RWL from cache",-46}{measured,15:0.0}{1e6 / measured,15:N0}");
            Console.WriteLine($"ratio full/baseline: {measured / baseline:0.00}");

            if (args.Contains("--per-check"))
            {
                // Each check class alone (with the built-in list/PenaltyBox/RWL/greylisting steps) against none at all.
                var services = new CheckServices(fullStore, dns);
                int n = Math.Max(1_000, connections / 10);
                var none = Measure(Pipeline(fullStore, dns, []), full, n);
                Console.WriteLine();
                Console.WriteLine($"{"check class (full configuration)",-46}{"µs/connection",15}{"over none",15}");
                Console.WriteLine($"{"none (built-in steps only)",-46}{none,15:0.0}{0,15:0.0}");
                foreach (var check in CheckCatalog.Discover(services).Where(c => c.Phase <= SmtpPhase.RcptTo))
                {
                    var alone = Measure(Pipeline(fullStore, dns, [check]), full, n);
                    Console.WriteLine($"{check.GetType().Name + " (" + check.Definition.Name + ")",-46}{alone,15:0.0}{alone - none,15:0.0}");
                }
            }
            return 0;
        }
        finally
        {
            if (nsd is not null)
            {
                try { nsd.Kill(); nsd.WaitForExit(5000); } catch (InvalidOperationException) { }
                nsd.Dispose();
            }
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private const int IpCount = 20_000;

    private static DecisionPipeline Pipeline(IStore store, DnsListChecks? dns, IReadOnlyList<IMessageCheck>? checks = null)
    {
        var services = new CheckServices(store, dns);
        var engine = new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), null, new Greylist(store));
        return new DecisionPipeline(engine, dns, checks ?? CheckCatalog.Discover(services), services);
    }

    /// <summary>Every connection/HELO check on, with lists of realistic size, the RWL and greylisting.</summary>
    private static (string, string)[] FullSettings(string dir)
    {
        var files = Path.Combine(dir, "full", "files");
        Directory.CreateDirectory(files);
        File.WriteAllLines(Path.Combine(files, "denyip.txt"), Enumerable.Range(0, 5_000).Select(i => $"{100 + i / 256 % 100}.{i % 256}.0.0/16"));
        File.WriteAllLines(Path.Combine(files, "invalidhelo.txt"), [@"^\d+\.\d+\.\d+\.\d+$=>2", @"^[^.]+$", @"(?:dsl|dynamic|pool)\S*\d=>0.5"]);
        File.WriteAllLines(Path.Combine(files, "validhelo.txt"), [@"^(?:[a-z\d][a-z\d-]*\.)+[a-z]{2,}$"]);
        return
        [
            ("denySMTPConnectionsFrom", "file:files/denyip.txt"), ("invalidFormatHeloRe", "file:files/invalidhelo.txt"),
            ("validFormatHeloRe", "file:files/validhelo.txt"), ("invalidHeloRe", "ylmf-pc|^user-pc$"), ("useHeloBlacklist", "3"),
            ("DoFrequencyIP", "3"), ("maxSMTPipConnects", "999"), ("ValidateRWL", "1"), ("RWLServiceProvider", "rwl.test"),
            ("EnableDelaying", "1"), ("myServerRe", "mx\\.local\\.example|192\\.0\\.2\\.25"), ("whiteListedIPs", "198.18.0.0/15"),
            ("noProcessingIPs", "198.20.0.0/16"), ("DoPenaltyExtremeSMTP", "1"), ("DoPenalty", "1"), ("PenaltyUseNetblocks", "0"),
        ];
    }

    private static ConfigSnapshot Load(string dir, (string Name, string Value)[] values)
    {
        Directory.CreateDirectory(dir);
        var cfg = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false }
            .Load(new ConfigSource(dir, Overrides: [new("localDomains", "local.example"), .. values.Select(v => KeyValuePair.Create(v.Name, v.Value))]));
        var errors = cfg.Issues.Where(i => i.Severity == IssueSeverity.Error).ToList();
        if (errors.Count > 0) throw new InvalidOperationException("bench configuration: " + string.Join("; ", errors));
        return cfg;
    }

    private static IPAddress Ip(int i) => new([(byte)(11 + i / 65536 % 80), (byte)(i / 256 % 256), (byte)(i % 256), 9]);

    private static readonly string[] Helos = ["mail.sender.example", "bot17.example", "good3.example", "192.0.2.7", "[203.0.113.9]", "localpc", "dsl-pool-12-34.isp.example"];

    /// <summary>Runs the chain for the given number of connections; returns µs per connection.</summary>
    private static double Measure(DecisionPipeline pipeline, ConfigSnapshot cfg, int connections)
    {
        var sw = Stopwatch.StartNew();
        for (int n = 0; n < connections; n++)
        {
            var ctx = new BenchContext(cfg, Ip(n % IpCount), Helos[n % Helos.Length]);
            if (Phase(pipeline, SmtpPhase.Connect, ctx) || Phase(pipeline, SmtpPhase.Helo, ctx)) continue;
            ctx.MailFrom = $"user{n % 5_000}@dom{n % 700}.example";
            if (Phase(pipeline, SmtpPhase.MailFrom, ctx)) continue;
            ctx.RecipientList.Add($"rcpt{n % 50}@local.example");
            Phase(pipeline, SmtpPhase.RcptTo, ctx);
        }
        return sw.Elapsed.TotalMicroseconds / connections;
    }

    private static bool Phase(DecisionPipeline pipeline, SmtpPhase phase, IMailContext ctx) =>
        pipeline.RunAsync(phase, ctx, default).AsTask().GetAwaiter().GetResult().Refuses;

    private static Process StartNsd(string dir, int port)
    {
        var conf = $"server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  do-ip6: no\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{dir}\"\n  pidfile: \"{dir}/nsd.pid\"\n  database: \"\"\n  zonelistfile: \"{dir}/zone.list\"\n  xfrdfile: \"{dir}/xfrd.state\"\n  xfrdir: \"{dir}\"\n  logfile: \"{dir}/nsd.log\"\n  server-count: 1\n  verbosity: 0\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\nremote-control:\n  control-enable: no\nzone:\n  name: \"rwl.test\"\n  zonefile: \"rwl.test.zone\"\n";
        // One IP in eight is on the RWL; the others get NXDOMAIN (cached negatively).
        var listed = Enumerable.Range(0, IpCount).Where(i => i % 8 == 0).Select(i =>
        {
            var b = Ip(i).GetAddressBytes();
            return $"{b[3]}.{b[2]}.{b[1]}.{b[0]} IN A 127.0.10.2";
        });
        File.WriteAllText(Path.Combine(dir, "rwl.test.zone"),
            "$ORIGIN rwl.test.\n$TTL 3600\n@ IN SOA ns hm 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\nready IN A 127.0.0.1\n" + string.Join('\n', listed) + "\n");
        File.WriteAllText(Path.Combine(dir, "nsd.conf"), conf);
        return Process.Start(new ProcessStartInfo("/usr/sbin/nsd", ["-d", "-c", Path.Combine(dir, "nsd.conf")]) { UseShellExecute = false })
               ?? throw new InvalidOperationException("nsd did not start (apt-get install nsd)");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }

    private sealed class BenchContext(ConfigSnapshot cfg, IPAddress ip, string helo) : IMailContext
    {
        public ConfigSnapshot Config => cfg;
        public string SessionId => "bench";
        public IPAddress RemoteAddress => ip;
        public IPAddress LocalAddress => IPAddress.Loopback;
        public int LocalPort => 25;
        public ConnectionClass Class => ConnectionClass.External;
        public bool IsAuthenticated => false;
        public bool IsTls => false;
        public string? Helo => helo;
        public string? MailFrom { get; set; }
        public List<string> RecipientList { get; } = [];
        public IReadOnlyList<string> Recipients => RecipientList;
        public bool IsOutgoing => false;
        public Stream? OpenMessage() => null;
        public long MessageSize => 0;
        public CheckSession CheckState { get; } = new();
        public bool Delivered => false;
        public void Log(string line) { }
    }
}
