using System.Diagnostics;
using Assp.Storage;

namespace Assp.Bench;

/// <summary>
/// `-- storage [whitelist entries] [pbdb entries]`: builds an SQLite store with 1,000,000 whitelist entries and
/// 100,000 PenaltyBox IPs, then measures opening it (until both tables answer) and single-threaded lookups (mostly
/// misses, as for spam), for the bounded hot path (the default) and for loading every record, against a plain
/// Dictionary lookup measured in the same run as the baseline.
/// </summary>
internal static class StorageBenchmark
{
    private const double WhitelistHitRate = 0.2;     // most senders of spam are not on the whitelist
    private const double PbHitRate = 0.3;

    public static int Run(string[] args)
    {
        int whiteCount = args.Length > 0 ? int.Parse(args[0]) : 1_000_000;
        int pbCount = args.Length > 1 ? int.Parse(args[1]) : 100_000;
        const int probeCount = 1_000_000;
        string dir = Path.Combine(Path.GetTempPath(), "assp-storage-bench-" + Guid.NewGuid().ToString("N"));
        string db = Path.Combine(dir, "assp.db");
        Console.WriteLine($"Storage benchmark: {whiteCount:N0} whitelist entries, {pbCount:N0} PenaltyBox IPs, " +
                          $"{probeCount:N0} lookups (whitelist {WhitelistHitRate:P0} hits, pbdb {PbHitRate:P0} hits), {Environment.ProcessorCount} cores");
        try
        {
            var rnd = new Random(20261121);
            var white = Enumerable.Range(0, whiteCount).Select(i => (Key: WhiteKey(i), Value: (1_760_000_000 + i % 5_000_000).ToString())).ToArray();
            var pbKeys = new HashSet<string>(StringComparer.Ordinal);
            while (pbKeys.Count < pbCount) pbKeys.Add(RandomIp(rnd));
            var pb = pbKeys.Select(ip => (Key: ip, Value: $"1760000000 1760000500 2 45 {ip} DNSBL:zen.example")).ToArray();

            // 70 % of the probes ask the whitelist (sender), 30 % the PenaltyBox (IP), in random order.
            var probes = new (bool White, string Key)[probeCount];
            for (int i = 0; i < probeCount; i++)
            {
                bool isWhite = rnd.NextDouble() < 0.7;
                string key = isWhite
                    ? rnd.NextDouble() < WhitelistHitRate ? white[rnd.Next(white.Length)].Key : $"spam{rnd.Next()}@bulk{rnd.Next(100_000)}.example"
                    : rnd.NextDouble() < PbHitRate ? pb[rnd.Next(pb.Length)].Key : MissIp(rnd, pbKeys);
                probes[i] = (isWhite, key);
            }

            var build = Stopwatch.StartNew();
            using (var store = new SqliteStore(new SqliteStoreOptions { Path = db }))
            {
                var w = store.Table(StoreTables.Whitelist);
                foreach (var (k, v) in white) w.Set(k, v, 1_760_000_000);
                var p = store.Table(StoreTables.PbBlack);
                foreach (var (k, v) in pb) p.Set(k, v, 1_760_000_000);
                store.Flush();
            }
            build.Stop();
            long fileBytes = new FileInfo(db).Length;
            Console.WriteLine($"built {db}: {fileBytes / 1048576.0:F0} MB in {build.Elapsed.TotalSeconds:F1} s");

            // Baseline: the same records in two plain dictionaries, the fastest thing a lookup can be.
            var (dicts, dictLoad) = Time(() => (
                White: white.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal),
                Pb: pb.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal)), 2);
            var (baseHits, baseLookup) = Time(() => Probe(probes, k => dicts.White.ContainsKey(k), k => dicts.Pb.ContainsKey(k)), 3);

            var rows = new List<Row>();
            foreach (var (label, options) in new[]
            {
                ("bounded: 100k hot cache + key filter (default)", new SqliteStoreOptions { Path = db }),
                ("load everything into memory", new SqliteStoreOptions { Path = db, HotCacheEntries = 4 * (whiteCount + pbCount) }),
            })
                rows.Add(Measure(label, options, probes, baseHits));

            Console.WriteLine();
            Console.WriteLine($"{"configuration",-48} {"open s",7} {"heap MB",8} {"cold lookups/s",15} {"warm lookups/s",15} {"file reads",11} {"vs Dictionary",14}");
            foreach (var r in rows)
                Console.WriteLine($"{r.Label,-48} {r.Open.TotalSeconds,7:F2} {r.HeapMb,8:F0} {probeCount / r.Cold.TotalSeconds,15:N0} " +
                                  $"{probeCount / r.Warm.TotalSeconds,15:N0} {r.FileReads,11:N0} {baseLookup / r.Warm,13:F2}x");
            Console.WriteLine($"{"baseline: Dictionary<string,string> (no file)",-48} {dictLoad.TotalSeconds,7:F2} {"",8} {"",15} " +
                              $"{probeCount / baseLookup.TotalSeconds,15:N0} {"",11} {1.0,13:F2}x");
            Console.WriteLine();
            Console.WriteLine($"hits: {baseHits:N0} of {probeCount:N0} probes; open = new store + both tables ready (best of 3); heap = managed heap held by the open store;");
            Console.WriteLine("cold = first pass after open, warm = best of 3 further passes; file reads = SQLite point reads in the cold pass;");
            Console.WriteLine("vs Dictionary = warm lookup speed relative to the baseline (1.00x = as fast).");
            Console.WriteLine($"targets: open <= 3 s: {(rows.All(r => r.Open.TotalSeconds <= 3) ? "met" : "MISSED")}, " +
                              $">= 200,000 lookups/s on one core: {(rows.All(r => probeCount / r.Cold.TotalSeconds >= 200_000) ? "met" : "MISSED")}");
            return 0;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private sealed record Row(string Label, TimeSpan Open, double HeapMb, TimeSpan Cold, TimeSpan Warm, long FileReads);

    private static Row Measure(string label, SqliteStoreOptions options, (bool White, string Key)[] probes, int expectedHits)
    {
        var best = TimeSpan.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            using var s = new SqliteStore(options);
            s.Table(StoreTables.Whitelist);
            s.Table(StoreTables.PbBlack);
            sw.Stop();
            if (sw.Elapsed < best) best = sw.Elapsed;
        }

        long before = GC.GetTotalMemory(true);
        using var store = new SqliteStore(options);
        var w = store.Table(StoreTables.Whitelist);
        var p = store.Table(StoreTables.PbBlack);
        double heapMb = (GC.GetTotalMemory(true) - before) / 1048576.0;

        var sw2 = Stopwatch.StartNew();
        int hits = Probe(probes, w.ContainsKey, p.ContainsKey);
        var cold = sw2.Elapsed;
        if (hits != expectedHits) throw new InvalidOperationException($"{label}: {hits} hits, the dictionary found {expectedHits}");
        long reads = store.Info(StoreTables.Whitelist)!.DatabaseReads + store.Info(StoreTables.PbBlack)!.DatabaseReads;
        var (_, warm) = Time(() => Probe(probes, w.ContainsKey, p.ContainsKey), 3, warmup: false);
        GC.KeepAlive(store);
        return new Row(label, best, heapMb, cold, warm, reads);
    }

    private static int Probe((bool White, string Key)[] probes, Func<string, bool> white, Func<string, bool> pb)
    {
        int hits = 0;
        foreach (var (isWhite, key) in probes)
            if (isWhite ? white(key) : pb(key)) hits++;
        return hits;
    }

    private static string WhiteKey(int i)
    {
        // Spread the keys like real addresses: many domains, names not in insertion order.
        uint h = (uint)i * 2654435761u;
        return $"user{h % 100_000}.{i}@mail{h % 37_000}.example{i % 7}.com";
    }

    private static string RandomIp(Random rnd) => $"{rnd.Next(1, 224)}.{rnd.Next(256)}.{rnd.Next(256)}.{rnd.Next(256)}";

    private static string MissIp(Random rnd, HashSet<string> present)
    {
        string ip;
        do ip = RandomIp(rnd); while (present.Contains(ip));
        return ip;
    }

    private static (T Result, TimeSpan Best) Time<T>(Func<T> work, int runs, bool warmup = true)
    {
        T result = warmup ? work() : default!;
        var best = TimeSpan.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            result = work();
            sw.Stop();
            if (sw.Elapsed < best) best = sw.Elapsed;
        }
        return (result, best);
    }
}
