using System.Diagnostics;
using System.Net;
using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Storage;

namespace Assp.Bench;

/// <summary>
/// `dotnet run -c Release -- decisions [--whitelist N] [--pb N] [--messages N]`: the decision engine's envelope
/// phases (connect, MAIL FROM, RCPT TO: lists, whitelist, redlist, personal blacklist, PenaltyBox) for many
/// messages on one thread, against large databases and, as the baseline in the same run, against empty ones.
/// </summary>
public static class DecisionBenchmark
{
    public static int Run(string[] args)
    {
        int whitelist = Arg(args, "--whitelist", 1_000_000);
        int pb = Arg(args, "--pb", 100_000);
        int messages = Arg(args, "--messages", 200_000);
        var dir = Path.Combine(Path.GetTempPath(), "assp-bench-decisions-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            var cfg = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false }
                .Load(new ConfigSource(dir, Overrides: [new("DoPenalty", "1"), new("PenaltyUseNetblocks", "0")]));
            Console.WriteLine($"Decision engine: {messages:N0} messages, {whitelist:N0} whitelist entries, {pb:N0} PenaltyBox IPs");

            var sw = Stopwatch.StartNew();
            var full = StoreFactory.Create(dir, "full");
            var fullBox = new IpPenaltyBox(full);
            var wl = full.Table(StoreTables.Whitelist);
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            for (int i = 0; i < whitelist; i++) wl.Set($"user{i}@dom{i % 50_000}.example", now.ToString(), now);
            for (int i = 0; i < pb; i++) fullBox.AddBlack(cfg, Ip(i), 10 + i % 40, "bench");
            full.Flush();
            var fill = sw.Elapsed;
            full.Dispose();

            sw.Restart();
            full = StoreFactory.Create(dir, "full");
            fullBox = new IpPenaltyBox(full);
            _ = new StoredAddressReputation(full).Whitelist.IsWhite(cfg, "user1@dom1.example", null);
            var startup = sw.Elapsed;

            var empty = StoreFactory.Create(dir, "empty");
            Measure(cfg, empty, messages / 4);   // JIT and caches warm before either timed run
            var baseline = Measure(cfg, empty, messages);
            var measured = Measure(cfg, full, messages);
            Console.WriteLine();
            Console.WriteLine($"{"",-34}{"decisions/s",14}{"lookups/s",14}");
            Console.WriteLine($"{"baseline: empty databases",-34}{baseline.Decisions,14:N0}{baseline.Lookups,14:N0}");
            Console.WriteLine($"{"1M whitelist + 100k PenaltyBox",-34}{measured.Decisions,14:N0}{measured.Lookups,14:N0}");
            Console.WriteLine($"ratio full/empty: {measured.Decisions / baseline.Decisions:0.00}");
            Console.WriteLine($"store: {StoreFactory.Kind}; filled in {fill.TotalSeconds:0.0} s; startup with that data {startup.TotalSeconds:0.00} s (target <= 3 s)");
            Console.WriteLine($"lookups per decision: {measured.LookupsPerDecision:0.0} (target >= 200,000 lookups/s on one core)");
            full.Dispose();
            empty.Dispose();
            return 0;
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static IPAddress Ip(int i) => new([(byte)(11 + i / 65536 % 200), (byte)(i / 256 % 256), (byte)(i % 256), 7]);

    private sealed record Result(double Decisions, double Lookups, double LookupsPerDecision);

    private static Result Measure(ConfigSnapshot cfg, IStore store, int messages)
    {
        var counting = new CountingReputation(new IpPenaltyBox(store), new StoredAddressReputation(store));
        var pipeline = new DecisionPipeline(new DecisionEngine(counting, counting));
        var rnd = new Random(42);
        // Warm-up, then the timed run; half the senders are whitelisted, a third of the IPs have a history.
        Run(pipeline, cfg, rnd, 5_000);
        counting.Lookups = 0;
        var sw = Stopwatch.StartNew();
        Run(pipeline, cfg, rnd, messages);
        var seconds = sw.Elapsed.TotalSeconds;
        return new Result(messages / seconds, counting.Lookups / seconds, (double)counting.Lookups / messages);
    }

    private static void Run(DecisionPipeline pipeline, ConfigSnapshot cfg, Random rnd, int messages)
    {
        for (int m = 0; m < messages; m++)
        {
            int i = rnd.Next(2_000_000);
            var ctx = new BenchContext(cfg, Ip(rnd.Next(300_000)));
            pipeline.RunAsync(SmtpPhase.Connect, ctx, default).AsTask().GetAwaiter().GetResult();
            ctx.MailFrom = $"user{i}@dom{i % 50_000}.example";
            pipeline.RunAsync(SmtpPhase.MailFrom, ctx, default).AsTask().GetAwaiter().GetResult();
            ctx.RecipientList.Add($"rcpt{m % 500}@local.example");
            pipeline.RunAsync(SmtpPhase.RcptTo, ctx, default).AsTask().GetAwaiter().GetResult();
        }
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }

    /// <summary>Counts every database lookup the engine makes.</summary>
    private sealed class CountingReputation(IIpReputation ip, IAddressReputation addresses) : IIpReputation, IAddressReputation
    {
        public long Lookups;
        public void AddBlack(ConfigSnapshot cfg, IPAddress a, double score, string reason) => ip.AddBlack(cfg, a, score, reason);
        public double? BlackTotal(ConfigSnapshot cfg, IPAddress a) { Lookups++; return ip.BlackTotal(cfg, a); }
        public bool IsWhite(ConfigSnapshot cfg, IPAddress a) { Lookups++; return ip.IsWhite(cfg, a); }
        public void AddWhite(ConfigSnapshot cfg, IPAddress a, string reason) => ip.AddWhite(cfg, a, reason);
        public void DeleteBlack(ConfigSnapshot cfg, IPAddress a) => ip.DeleteBlack(cfg, a);
        public void DeleteWhite(ConfigSnapshot cfg, IPAddress a) => ip.DeleteWhite(cfg, a);
        public bool IsWhitelisted(ConfigSnapshot cfg, string sender, string? recipient) { Lookups++; return addresses.IsWhitelisted(cfg, sender, recipient); }
        public bool IsRedlisted(ConfigSnapshot cfg, string address) { Lookups++; return addresses.IsRedlisted(cfg, address); }
        public bool IsPersonallyBlocked(ConfigSnapshot cfg, string recipient, string sender) { Lookups++; return addresses.IsPersonallyBlocked(cfg, recipient, sender); }
        public IReadOnlyList<string> LearnFromOutgoing(ConfigSnapshot cfg, OutgoingMail mail) => addresses.LearnFromOutgoing(cfg, mail);
        public void Touch(ConfigSnapshot cfg, string sender, string? recipient) => addresses.Touch(cfg, sender, recipient);
    }

    private sealed class BenchContext(ConfigSnapshot cfg, IPAddress ip) : IMailContext
    {
        public ConfigSnapshot Config => cfg;
        public string SessionId => "bench";
        public IPAddress RemoteAddress => ip;
        public IPAddress LocalAddress => IPAddress.Loopback;
        public int LocalPort => 25;
        public ConnectionClass Class => ConnectionClass.External;
        public bool IsAuthenticated => false;
        public bool IsTls => false;
        public string? Helo => "bench.example";
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

/// <summary>Which store the benchmark measures: the instance's embedded store (SQLite with its default cache sizes).</summary>
internal static class StoreFactory
{
    public static string Kind => "SQLite (data/assp.db, default hot cache)";
    public static IStore Create(string dir, string name) => new SqliteStore(new SqliteStoreOptions { Path = Path.Combine(dir, name, "assp.db") });
}
