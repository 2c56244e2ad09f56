using System.Collections.Concurrent;

namespace Assp.Storage.Tests;

public sealed class ConcurrencyTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Writers raise per-key version numbers while readers check that no key ever goes back to an older version
    /// (a stale cache entry or a commit race would show up as one), with a tiny cache and commits every few ms so
    /// reads keep crossing the pending map, the cache and the file.
    /// </summary>
    [Fact]
    public async Task Parallel_readers_never_see_a_value_go_back_and_writers_lose_nothing()
    {
        const int writers = 3, readers = 3, keysPerWriter = 150, versions = 40;
        var options = new SqliteStoreOptions { Path = _dir.Db, HotCacheEntries = 32, NegativeCacheEntries = 16, PreloadHotCache = false, FlushInterval = TimeSpan.FromMilliseconds(3) };
        var errors = new ConcurrentQueue<string>();
        using (var store = new SqliteStore(options))
        {
            var t = store.Table(StoreTables.Whitelist);
            var churn = store.Table(StoreTables.PbBlack);
            using var stop = new CancellationTokenSource();

            var writerTasks = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
            {
                for (int v = 1; v <= versions; v++)
                    for (int k = 0; k < keysPerWriter; k++)
                    {
                        t.Set($"w{w}-k{k}", v.ToString(), v);
                        // A second table that keeps appearing and disappearing.
                        if (k % 3 == 0)
                        {
                            if (v % 2 == 0) churn.Remove($"10.{w}.0.{k}");
                            else churn.Set($"10.{w}.0.{k}", $"{v} {v}");
                        }
                    }
            })).ToArray();

            var readerTasks = Enumerable.Range(0, readers).Select(r => Task.Run(() =>
            {
                var rnd = new Random(r);
                var seen = new Dictionary<string, int>();
                while (!stop.IsCancellationRequested)
                {
                    string key = $"w{rnd.Next(writers)}-k{rnd.Next(keysPerWriter)}";
                    if (t.TryGet(key, out var rec))
                    {
                        if (!int.TryParse(rec.Value, out int v) || v != rec.Updated) { errors.Enqueue($"{key}: bad record {rec}"); continue; }
                        if (seen.TryGetValue(key, out int last) && v < last) errors.Enqueue($"{key}: went back from {last} to {v}");
                        seen[key] = v;
                    }
                    else if (seen.ContainsKey(key)) errors.Enqueue($"{key}: vanished");
                    string ip = $"10.{rnd.Next(writers)}.0.{rnd.Next(keysPerWriter)}";
                    if (churn.TryGetValue(ip, out var pv) && !pv.Contains(' ')) errors.Enqueue($"{ip}: bad value {pv}");
                    if (rnd.Next(500) == 0) _ = t.Scan($"w{rnd.Next(writers)}-k1").Count();
                }
            })).ToArray();

            await Task.WhenAll(writerTasks);
            await stop.CancelAsync();
            await Task.WhenAll(readerTasks);
            store.Flush();

            Assert.Empty(errors);
            Assert.Equal(writers * keysPerWriter, t.Count);
            for (int w = 0; w < writers; w++)
                for (int k = 0; k < keysPerWriter; k++)
                {
                    Assert.True(t.TryGetValue($"w{w}-k{k}", out var v));
                    Assert.Equal(versions.ToString(), v);
                }
            // versions is even: every churned key was removed last.
            Assert.Equal(0, churn.Count);
        }

        using (var store = new SqliteStore(options))
        {
            var t = store.Table(StoreTables.Whitelist);
            Assert.Equal(writers * keysPerWriter, t.Count);
            Assert.All(t.Scan(), kv => Assert.Equal(versions.ToString(), kv.Value.Value));
            Assert.Equal(0, store.Table(StoreTables.PbBlack).Count);
        }
    }

    [Fact]
    public void Flush_from_many_threads_at_once()
    {
        using var store = new SqliteStore(new SqliteStoreOptions { Path = _dir.Db, FlushInterval = TimeSpan.FromMilliseconds(1000) });
        var t = store.Table(StoreTables.Redlist);
        Parallel.For(0, 8, i =>
        {
            for (int j = 0; j < 200; j++) t.Set($"{i}-{j}", "x");
            store.Flush();
        });
        Assert.Equal(1600, t.Count);
        Assert.Null(store.LastWriteError);
    }
}

/// <summary>
/// A lookup that reads the file while a write of the same key commits must not leave the older answer in a cache.
/// The race is staged: the reader is held between its file read and caching what it read.
/// </summary>
public sealed class StaleReadRaceTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(true)]     // the key existed: the old value must not stay in the hot cache
    [InlineData(false)]    // the key was absent: "absent" must not stay in the negative cache
    public async Task A_read_that_raced_a_write_does_not_cache_the_older_answer(bool existed)
    {
        // Without a hot cache the "absent" case can only come back through the negative cache.
        var options = new SqliteStoreOptions
        {
            Path = _dir.Db, HotCacheEntries = existed ? 100 : 0, NegativeCacheEntries = 2, PreloadHotCache = false,
        };
        if (existed)
            using (var before = new SqliteStore(options)) before.Table(StoreTables.Whitelist).Set("k", "old");

        using var store = new SqliteStore(options);      // cold cache: the reader has to go to the file
        var table = (SqliteTable)store.Table(StoreTables.Whitelist);
        if (!existed)
        {
            // A removed key stays in the key filter ("maybe"); two more removals push it out of the tiny negative
            // cache, so the lookup of "k" has to ask the file.
            foreach (var k in new[] { "k", "a", "b" }) table.Set(k, "x");
            store.Flush();
            foreach (var k in new[] { "k", "a", "b" }) table.Remove(k);
            store.Flush();
        }
        using var readDone = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        int readerThread = -1;
        table.AfterFileRead = _ =>
        {
            if (Environment.CurrentManagedThreadId != Volatile.Read(ref readerThread)) return;
            readDone.Release();
            release.Wait(TimeSpan.FromSeconds(10));
        };
        var reader = Task.Run(() =>
        {
            Volatile.Write(ref readerThread, Environment.CurrentManagedThreadId);
            table.TryGetValue("k", out var seen);
            return seen;
        });
        Assert.True(await readDone.WaitAsync(TimeSpan.FromSeconds(10)), "the reader never reached the file");
        table.Set("k", "new");
        store.Flush();                 // committed: the pending map no longer shadows what the caches say
        release.Release();
        Assert.Equal(existed ? "old" : "", await reader);
        table.AfterFileRead = null;

        Assert.True(table.TryGetValue("k", out var now));
        Assert.Equal("new", now);
    }
}
