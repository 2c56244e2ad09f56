using Assp.Storage;

// Usage: Assp.Storage.CrashHelper <db file> <records per batch> <flush interval ms> [kill self after N flushes]
// Writes batches of records "k<batch>-<i>" = "v<batch>-<i>" into two tables, calls Flush after each batch and then
// prints "flushed <batches>". It never stops on its own: the test kills it with SIGKILL, often in the middle of a
// commit, because it keeps writing and flushing. With a long interval only Flush commits in time, so a Flush that
// returned without committing would show up as lost records. With a fourth argument it sends itself SIGKILL the
// moment the N-th Flush returns, so nothing but Flush itself can have made those records durable.
if (args.Length is < 3 or > 4) { Console.Error.WriteLine("usage: <db file> <records per batch> <flush interval ms> [kill after]"); return 2; }
var inv = System.Globalization.CultureInfo.InvariantCulture;
int perBatch = int.Parse(args[1], inv);
var interval = TimeSpan.FromMilliseconds(int.Parse(args[2], inv));
int killAfter = args.Length == 4 ? int.Parse(args[3], inv) : 0;
var store = new SqliteStore(new SqliteStoreOptions { Path = args[0], FlushInterval = interval, HotCacheEntries = 1000 });
var white = store.Table(StoreTables.Whitelist);
var black = store.Table(StoreTables.PbBlack);
for (int batch = 1; ; batch++)
{
    for (int i = 0; i < perBatch; i++)
    {
        white.Set($"k{batch}-{i}", $"v{batch}-{i}", batch);
        if (i % 10 == 0) black.Set($"10.0.{batch % 250}.{i % 250}", $"{batch} {i}", batch);
    }
    store.Flush();
    if (batch == killAfter) System.Diagnostics.Process.GetCurrentProcess().Kill();   // SIGKILL to ourselves
    Console.Out.WriteLine($"flushed {batch}");
    Console.Out.Flush();
}
