using Microsoft.Data.Sqlite;

namespace Assp.Storage.Tests;

public sealed class SqliteStoreTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _dir = new();
    private readonly ManualClock _clock = new(Start);

    public void Dispose() => _dir.Dispose();

    private SqliteStore Open(int hotCache = 100_000, bool preload = true, int flushMs = 250) => new(new SqliteStoreOptions
    {
        Path = _dir.Db,
        Clock = _clock,
        HotCacheEntries = hotCache,
        PreloadHotCache = preload,
        FlushInterval = TimeSpan.FromMilliseconds(flushMs),
    });

    [Fact]
    public void Crud_set_get_overwrite_remove_count()
    {
        using var store = Open();
        var t = store.Table(StoreTables.Whitelist);
        Assert.Equal(StoreTables.Whitelist, t.Name);
        Assert.False(t.TryGet("a@example.com", out _));
        Assert.False(t.TryGetValue("a@example.com", out var none));
        Assert.Equal("", none);

        t.Set("a@example.com", "1700000000");
        t.Set("b@example.com", "1700000001", 42);
        Assert.True(t.TryGet("a@example.com", out var a));
        Assert.Equal(new StoreRecord("1700000000", _clock.Seconds), a);
        Assert.True(t.TryGetValue("b@example.com", out var b));
        Assert.Equal("1700000001", b);
        Assert.True(t.ContainsKey("b@example.com"));
        Assert.Equal(2, t.Count);

        t.Set("a@example.com", "changed", 7);
        Assert.Equal(2, t.Count);
        Assert.True(t.TryGet("a@example.com", out a));
        Assert.Equal(new StoreRecord("changed", 7), a);

        Assert.True(t.Remove("a@example.com"));
        Assert.False(t.Remove("a@example.com"));
        Assert.False(t.ContainsKey("a@example.com"));
        Assert.Equal(1, t.Count);
        Assert.Same(t, store.Table(StoreTables.Whitelist));
    }

    [Fact]
    public void Data_survives_reopen_without_explicit_flush()
    {
        using (var store = Open())
        {
            store.Table(StoreTables.PbBlack).Set("1.2.3.4", "1700000000 1700000100 1 25 1.2.3.4 DNSBL", 100);
            store.Table(StoreTables.DelayDbWhite).Set("1.2.3 example.com", "1700000000", 5);
            var w = store.Table(StoreTables.Whitelist);
            for (int i = 0; i < 500; i++) w.Set($"user{i}@example.com", i.ToString(), i);
            w.Remove("user7@example.com");
        }   // Dispose commits

        using (var store = Open())
        {
            Assert.Equal(
                new[] { StoreTables.DelayDbWhite, StoreTables.PbBlack, StoreTables.Whitelist }.Order(StringComparer.Ordinal),
                store.TableNames);
            var w = store.Table(StoreTables.Whitelist);
            Assert.Equal(499, w.Count);
            Assert.False(w.ContainsKey("user7@example.com"));
            Assert.True(w.TryGet("user499@example.com", out var r));
            Assert.Equal(new StoreRecord("499", 499), r);
            Assert.True(store.Table(StoreTables.PbBlack).TryGet("1.2.3.4", out r));
            Assert.Equal(new StoreRecord("1700000000 1700000100 1 25 1.2.3.4 DNSBL", 100), r);
            Assert.Equal(1, store.Table(StoreTables.DelayDbWhite).Count);
        }
    }

    [Fact]
    public void Table_names_with_dots_and_clashing_sql_names_stay_apart()
    {
        using (var store = Open())
        {
            store.Table("pbdb.black.db").Set("k", "dot");
            store.Table("pbdb_black_db").Set("k", "underscore");
            store.Table("PBDB.BLACK.DB").Set("k", "upper");
        }
        using (var store = Open())
        {
            Assert.True(store.Table("pbdb.black.db").TryGetValue("k", out var v1));
            Assert.True(store.Table("pbdb_black_db").TryGetValue("k", out var v2));
            Assert.True(store.Table("PBDB.BLACK.DB").TryGetValue("k", out var v3));
            Assert.Equal(("dot", "underscore", "upper"), (v1, v2, v3));
        }
        using var conn = new SqliteConnection($"Data Source={_dir.Db}");
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM assp_tables";
        Assert.Equal(3L, cmd.ExecuteScalar());
    }

    [Fact]
    public void Pending_writes_are_visible_to_every_operation_before_the_commit()
    {
        // One second between commits: everything below runs on writes that are not in the file yet.
        using var store = Open(flushMs: 1000);
        var t = store.Table(StoreTables.Redlist);
        t.Set("a@x.org", "1", 10);
        t.Set("b@x.org", "2", 20);
        t.Set("c@y.org", "3", 30);
        t.Remove("b@x.org");

        Assert.True(t.TryGetValue("a@x.org", out var a));
        Assert.Equal("1", a);
        Assert.False(t.ContainsKey("b@x.org"));
        Assert.Equal(2, t.Count);
        Assert.Equal(["a@x.org", "c@y.org"], t.Scan().Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["a@x.org"], t.Scan("a@").Select(kv => kv.Key));
        Assert.Equal(1, t.RemoveWhere((_, r) => r.Updated < 20));
        Assert.Equal(1, t.Count);

        store.Flush();
        Assert.Equal(["c@y.org"], t.Scan().Select(kv => kv.Key));
        Assert.Equal(1, t.Count);
    }

    [Fact]
    public void Rows_outside_the_hot_cache_are_read_from_the_file()
    {
        using (var store = Open())
        {
            var t = store.Table(StoreTables.Whitelist);
            for (int i = 0; i < 2000; i++) t.Set($"s{i:D5}@example.com", $"v{i}", 1000 + i);
        }
        using (var store = Open(hotCache: 16, preload: false))
        {
            var t = store.Table(StoreTables.Whitelist);
            Assert.Equal(2000, t.Count);
            for (int i = 0; i < 2000; i += 7)
            {
                Assert.True(t.TryGet($"s{i:D5}@example.com", out var r), $"s{i:D5}");
                Assert.Equal(new StoreRecord($"v{i}", 1000 + i), r);
            }
            for (int i = 0; i < 2000; i++) Assert.False(t.ContainsKey($"missing{i}@example.com"));
            var info = store.Info(StoreTables.Whitelist)!;
            Assert.True(info.DatabaseReads >= 2000 / 7, $"reads {info.DatabaseReads}");
            Assert.True(info.CachedEntries <= 16, $"cached {info.CachedEntries}");

            Assert.Equal(100, t.Scan("s019").Count());
            Assert.Equal(1000, t.RemoveWhere((_, r) => r.Updated < 2000));
            Assert.Equal(1000, t.Count);
            Assert.False(t.ContainsKey("s00000@example.com"));
            Assert.True(t.ContainsKey("s01000@example.com"));
        }
        using (var store = Open(hotCache: 16, preload: false))
        {
            var t = store.Table(StoreTables.Whitelist);
            Assert.Equal(1000, t.Count);
            Assert.Equal(1000, t.Scan().Count());
            Assert.All(t.Scan(), kv => Assert.True(kv.Value.Updated >= 2000));
        }
    }

    [Fact]
    public void Expiry_with_the_store_clock()
    {
        using var store = Open();
        var t = store.Table(StoreTables.DelayDb);
        t.Set("old", "x");
        _clock.Advance(TimeSpan.FromDays(2));
        t.Set("fresh", "y");
        store.Flush();
        t.Set("pending-old", "z", Start.ToUnixTimeSeconds() - 10);

        long cutoff = _clock.Seconds - (long)TimeSpan.FromDays(1).TotalSeconds;
        Assert.Equal(2, t.RemoveWhere((_, r) => r.Updated < cutoff));
        Assert.Equal(["fresh"], t.Scan().Select(kv => kv.Key));
        Assert.Equal(0, t.RemoveWhere((_, r) => r.Updated < cutoff));
    }

    [Fact]
    public void Scan_prefix_handles_non_ascii_and_byte_order()
    {
        using var store = Open(hotCache: 0);
        var t = store.Table("spamdb");
        string[] keys = ["a", "ab", "abc", "ab\u00e9", "ab\uD83D\uDE00x", "ac", "b", "\u00e9t\u00e9"];
        foreach (var k in keys) t.Set(k, "1");
        store.Flush();
        t.Set("abz", "pending");
        Assert.Equal(["ab", "abc", "abz", "ab\u00e9", "ab\uD83D\uDE00x"],
            t.Scan("ab").Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["\u00e9t\u00e9"], t.Scan("\u00e9").Select(kv => kv.Key));
        Assert.Empty(t.Scan("zz"));
        Assert.Equal(9, t.Scan("").Count());
    }

    [Fact]
    public void Clear_hides_committed_and_pending_rows_and_survives_reopen()
    {
        using (var store = Open(flushMs: 1000))
        {
            var t = store.Table(StoreTables.Whitelist);
            for (int i = 0; i < 100; i++) t.Set($"old{i}", "1");
            store.Flush();
            t.Set("pending", "1");
            t.Clear();
            Assert.Equal(0, t.Count);
            Assert.False(t.ContainsKey("old1"));
            Assert.False(t.ContainsKey("pending"));
            Assert.Empty(t.Scan());
            t.Set("new", "2");
            t.Set("old5", "again");
            Assert.Equal(2, t.Count);
            Assert.Equal(["new", "old5"], t.Scan().Select(kv => kv.Key).Order(StringComparer.Ordinal));
            store.Flush();
            Assert.Equal(2, t.Count);
            Assert.True(t.TryGetValue("old5", out var v));
            Assert.Equal("again", v);
            Assert.False(t.ContainsKey("old6"));
        }
        using (var store = Open())
        {
            var t = store.Table(StoreTables.Whitelist);
            Assert.Equal(["new", "old5"], t.Scan().Select(kv => kv.Key).Order(StringComparer.Ordinal));
            Assert.Equal(2, t.Count);
        }
    }

    [Fact]
    public void Key_filter_grows_while_the_table_is_used_without_losing_keys()
    {
        // The first filter is sized for 16,384 keys. 60,000 new keys make it grow into a chain at once and then
        // get folded into one filter by background rebuilds while writes and reads go on. A key missing from a
        // grown or rebuilt filter would read as absent here (the tiny cache sends lookups through the filter).
        using var store = Open(hotCache: 64, preload: false, flushMs: 20);
        var t = store.Table(StoreTables.PbBlack);
        long firstFilter = store.Info(StoreTables.PbBlack)!.FilterBytes;
        static string Ip(int i) => $"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}";
        for (int i = 0; i < 60_000; i++)
        {
            t.Set(Ip(i), i.ToString());
            if (i % 5_000 == 4_999)
            {
                store.Flush();
                for (int j = 0; j <= i; j += 97) Assert.True(t.ContainsKey(Ip(j)), $"key {j}");
            }
        }
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (store.Info(StoreTables.PbBlack)!.FilterParts > 1 && DateTime.UtcNow < deadline)
        {
            store.Flush();
            Thread.Sleep(20);
        }
        var info = store.Info(StoreTables.PbBlack)!;
        Assert.Equal(1, info.FilterParts);
        Assert.True(info.FilterBytes > firstFilter, "the filter never grew");
        for (int i = 0; i < 60_000; i++) Assert.True(t.ContainsKey(Ip(i)), $"key {i}");
        long readsBefore = store.Info(StoreTables.PbBlack)!.DatabaseReads;
        int falsePositives = 0;
        for (int i = 0; i < 20_000; i++) if (t.ContainsKey($"11.0.{i >> 8 & 255}.{i & 255}")) falsePositives++;
        Assert.Equal(0, falsePositives);     // the filter may say "maybe"; the file then says no
        long filterMisses = store.Info(StoreTables.PbBlack)!.DatabaseReads - readsBefore;
        Assert.True(filterMisses < 20_000 / 20, $"{filterMisses} of 20,000 misses went to the file");
        Assert.Equal(60_000, t.Count);
    }

    [Fact]
    public void Flush_interval_must_be_between_zero_and_one_second()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteStore(new SqliteStoreOptions { Path = _dir.Db, FlushInterval = TimeSpan.FromSeconds(2) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteStore(new SqliteStoreOptions { Path = _dir.Db, FlushInterval = TimeSpan.Zero }));
        using var ok = new SqliteStore(new SqliteStoreOptions { Path = _dir.Db, FlushInterval = TimeSpan.FromSeconds(1) });
    }

    [Fact]
    public void Writes_after_dispose_throw()
    {
        var store = Open();
        var t = store.Table(StoreTables.Whitelist);
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.Set("a", "b"));
        Assert.Throws<ObjectDisposedException>(() => store.Flush());
        store.Dispose();   // twice is fine
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_reported_and_left_alone()
    {
        byte[] garbage = new byte[8192];
        new Random(5).NextBytes(garbage);
        File.WriteAllBytes(_dir.Db, garbage);
        var ex = Assert.Throws<StoreFileException>(() => Open());
        Assert.Contains(_dir.Db, ex.Message);
        Assert.Equal(Path.GetFullPath(_dir.Db), ex.FilePath);
        Assert.Equal(garbage, File.ReadAllBytes(_dir.Db));
    }

    [Fact]
    public void A_database_with_damaged_pages_is_reported_and_left_alone()
    {
        using (var store = Open())
        {
            var t = store.Table(StoreTables.Whitelist);
            for (int i = 0; i < 20_000; i++) t.Set($"sender{i}@example.com", "1700000000");
        }
        // Overwrite pages in the middle of the table's b-tree (the header and schema page stay intact).
        byte[] bytes = File.ReadAllBytes(_dir.Db);
        Assert.True(bytes.Length > 64 * 4096, $"file only {bytes.Length} bytes");
        var rnd = new Random(11);
        for (int page = 8; page < bytes.Length / 4096 - 2; page += 3) rnd.NextBytes(bytes.AsSpan(page * 4096, 4096));
        File.WriteAllBytes(_dir.Db, bytes);

        var ex = Assert.Throws<StoreFileException>(() =>
        {
            using var store = Open();
            store.Table(StoreTables.Whitelist);
        });
        Assert.Contains(_dir.Db, ex.Message);
        Assert.Contains("corrupt", ex.Message);
        Assert.Equal(bytes, File.ReadAllBytes(_dir.Db));
    }

    [Fact]
    public void A_folder_in_place_of_the_file_is_reported()
    {
        Directory.CreateDirectory(_dir.Db);
        var ex = Assert.Throws<StoreFileException>(() => Open());
        Assert.Contains(_dir.Db, ex.Message);
    }

    [Fact]
    public void Open_in_base_uses_data_folder()
    {
        using (var store = SqliteStore.OpenInBase(_dir.Path, _clock))
        {
            store.Table("griplist").Set("1.2.3", "0.85");
            Assert.Equal(Path.Combine(_dir.Path, "data", "assp.db"), store.FilePath);
        }
        Assert.True(File.Exists(Path.Combine(_dir.Path, "data", "assp.db")));
    }
}
