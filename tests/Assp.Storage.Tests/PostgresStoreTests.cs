using Npgsql;

namespace Assp.Storage.Tests;

/// <summary>The PostgreSQL store against a real private PostgreSQL: persistence, two nodes, the database going away.</summary>
public sealed class PostgresStoreTests(PostgresServer postgres) : IClassFixture<PostgresServer>, IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly List<string> _log = [];

    public void Dispose() => _dir.Dispose();

    private PostgresStore Open(string database, string? spill = null, int maxQueued = 200_000) => new(new PostgresStoreOptions
    {
        ConnectionString = postgres.ConnectionString(database),
        CatchUpInterval = TimeSpan.FromSeconds(2),
        MaxReconnectDelay = TimeSpan.FromSeconds(1),
        SpillPath = spill,
        MaxQueuedWrites = maxQueued,
        Log = line => { lock (_log) _log.Add(line); },
    });

    /// <summary>Polls until the condition holds (another node's change arrives in the background); fails after 20 s.</summary>
    private static void Eventually(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("never happened: " + what);
            Thread.Sleep(50);
        }
    }

    private bool Logged(string part)
    {
        lock (_log) return _log.Any(l => l.Contains(part, StringComparison.Ordinal));
    }

    [Fact]
    public void Records_survive_reopen_and_the_schema_is_versioned()
    {
        string db = postgres.CreateDatabase();
        using (var store = Open(db))
        {
            var w = store.Table(StoreTables.Whitelist);
            for (int i = 0; i < 300; i++) w.Set($"user{i}@example.com", i.ToString(), i);
            w.Remove("user7@example.com");
            store.Table(StoreTables.PbBlack).Set("1.2.3.4", "1700000000 1700000100 1 25 1.2.3.4 DNSBL", 100);
            store.Flush();
        }
        using (var store = Open(db))
        {
            Assert.Equal([StoreTables.PbBlack, StoreTables.Whitelist], store.TableNames);
            var w = store.Table(StoreTables.Whitelist);
            Assert.Equal(299, w.Count);
            Assert.False(w.ContainsKey("user7@example.com"));
            Assert.True(w.TryGet("user299@example.com", out var r));
            Assert.Equal(new StoreRecord("299", 299), r);
            Assert.True(store.Table(StoreTables.PbBlack).TryGetValue("1.2.3.4", out var pb));
            Assert.StartsWith("1700000000", pb);
        }
        using var conn = new NpgsqlConnection(postgres.ConnectionString(db));
        conn.Open();
        using var cmd = new NpgsqlCommand("SELECT max(version) FROM assp_schema_version", conn);
        Assert.Equal(PostgresStore.SchemaVersion, (int)cmd.ExecuteScalar()!);
        using var rows = new NpgsqlCommand("SELECT count(*) FROM t_whitelist WHERE value IS NOT NULL", conn);
        Assert.Equal(299L, (long)rows.ExecuteScalar()!);
    }

    [Fact]
    public void A_second_node_sees_sets_removals_and_clears_of_the_first()
    {
        string db = postgres.CreateDatabase();
        using var a = Open(db);
        using var b = Open(db);
        var wa = a.Table(StoreTables.DelayDbWhite);
        var wb = b.Table(StoreTables.DelayDbWhite);

        wa.Set("1.2.3 example.com", "1700000000", 5);
        Eventually(() => wb.TryGet("1.2.3 example.com", out var r) && r == new StoreRecord("1700000000", 5), "B sees A's set");

        wb.Set("1.2.3 example.com", "1800000000", 6);
        Eventually(() => wa.TryGetValue("1.2.3 example.com", out var v) && v == "1800000000", "A sees B's overwrite");

        Assert.True(wa.Remove("1.2.3 example.com"));
        Eventually(() => !wb.ContainsKey("1.2.3 example.com"), "B sees A's removal");

        for (int i = 0; i < 20; i++) wb.Set("k" + i, "v");
        Eventually(() => wa.Count == 20, "A sees B's 20 records");
        wa.Clear();
        Eventually(() => wb.Count == 0, "B sees A's clear");
        wa.Set("after", "clear");
        Eventually(() => wb.ContainsKey("after"), "B sees a write after the clear");
    }

    [Fact]
    public void A_table_opened_later_on_another_node_loads_what_is_there()
    {
        string db = postgres.CreateDatabase();
        using var a = Open(db);
        a.Table(StoreTables.Redlist).Set("bad@example.com", "1");
        a.Flush();
        using var b = Open(db);
        Assert.True(b.Table(StoreTables.Redlist).ContainsKey("bad@example.com"));
    }

    [Fact]
    public void While_the_database_is_away_reads_work_writes_queue_and_are_sent_when_it_is_back()
    {
        string db = postgres.CreateDatabase();
        using var a = Open(db);
        using var b = Open(db);
        var pa = a.Table(StoreTables.PbBlack);
        var pb = b.Table(StoreTables.PbBlack);
        pa.Set("10.0.0.1", "before");
        a.Flush();
        Eventually(() => pb.ContainsKey("10.0.0.1"), "B sees the record before the outage");

        postgres.Kill();
        try
        {
            Assert.True(pa.ContainsKey("10.0.0.1"));          // served from memory
            pa.Set("10.0.0.2", "during");                      // queued
            Assert.True(pa.TryGetValue("10.0.0.2", out var v) && v == "during");
            Assert.Throws<StoreUnavailableException>(a.Flush);
            Assert.False(a.Connected);
            Eventually(() => Logged("lost"), "the loss is logged");
            Assert.True(a.QueuedWrites >= 1);
        }
        finally { postgres.Start(); }

        Eventually(() => a.Connected && a.QueuedWrites == 0, "A reconnects and sends its queue");
        Eventually(() => Logged("reachable again"), "the recovery is logged");
        Eventually(() => pb.ContainsKey("10.0.0.2"), "B sees the write A made during the outage");
        a.Flush();
    }

    [Fact]
    public void Queued_writes_of_a_store_closed_while_the_database_is_away_are_sent_at_the_next_start()
    {
        string db = postgres.CreateDatabase();
        string spill = _dir.File("pg-queue.jsonl");
        using (var a = Open(db, spill))
        {
            a.Table(StoreTables.Whitelist).Set("kept@example.com", "1");
            a.Flush();
            postgres.Kill();
            try
            {
                a.Table(StoreTables.Whitelist).Set("late@example.com", "2");
                a.Table(StoreTables.Whitelist).Remove("kept@example.com");
            }
            catch { postgres.Start(); throw; }
        }
        Assert.True(File.Exists(spill));
        postgres.Start();
        using (var a = Open(db, spill))
        {
            var w = a.Table(StoreTables.Whitelist);
            Assert.True(w.ContainsKey("late@example.com"));
            Assert.False(w.ContainsKey("kept@example.com"));
            a.Flush();
            Assert.False(File.Exists(spill));
        }
        using var b = Open(db);
        Assert.True(b.Table(StoreTables.Whitelist).ContainsKey("late@example.com"));
        Assert.False(b.Table(StoreTables.Whitelist).ContainsKey("kept@example.com"));
    }

    [Fact]
    public void Cache_writes_stop_queueing_when_the_queue_is_full_state_writes_never_do()
    {
        string db = postgres.CreateDatabase();
        using var a = Open(db, maxQueued: 5);
        var cache = a.Table("pbdb.rbl.db");
        var state = a.Table(StoreTables.DelayDb);
        a.Flush();
        postgres.Kill();
        try
        {
            state.Set("triplet0", "1");
            Assert.Throws<StoreUnavailableException>(a.Flush);      // now the store knows the database is away
            for (int i = 1; i < 10; i++) state.Set("triplet" + i, "1");
            for (int i = 0; i < 10; i++) cache.Set("1.2.3." + i, "listed");
            Assert.Equal(10, cache.Count);                     // this node still answers from them
            Assert.Equal(10, a.QueuedWrites);                  // but only the state writes wait for the database
        }
        finally { postgres.Start(); }
        Eventually(() => a.Connected && a.QueuedWrites == 0, "reconnected");
        using var b = Open(db);
        Assert.Equal(10, b.Table(StoreTables.DelayDb).Count);
        Assert.Equal(0, b.Table("pbdb.rbl.db").Count);
    }

    [Fact]
    public void A_store_opened_while_the_database_is_away_starts_empty_and_loads_when_it_answers()
    {
        string db = postgres.CreateDatabase();
        using (var a = Open(db))
        {
            a.Table(StoreTables.Whitelist).Set("old@example.com", "1");
            a.Flush();
        }
        postgres.Kill();
        PostgresStore? late = null;
        try
        {
            late = Open(db);
            Assert.False(late.Connected);
            Assert.False(late.Table(StoreTables.Whitelist).ContainsKey("old@example.com"));
            late.Table(StoreTables.Whitelist).Set("new@example.com", "2");
            Assert.True(Logged("cannot be reached"));
        }
        finally { postgres.Start(); }
        using (late)
        {
            var w = late.Table(StoreTables.Whitelist);
            Eventually(() => w.ContainsKey("old@example.com") && late.QueuedWrites == 0, "loaded and sent after the start");
            Assert.True(w.ContainsKey("new@example.com"));
        }
    }

    [Fact]
    public void Text_PostgreSQL_cannot_hold_stays_on_this_node_and_does_not_block_the_rest()
    {
        string db = postgres.CreateDatabase();
        using var a = Open(db);
        var t = a.Table(StoreTables.SpamDbHelo);
        t.Set("bad\0helo", "1");
        t.Set("broken\ud800", "1");
        t.Set("good.example", "1");
        a.Flush();
        using var b = Open(db);
        Assert.Equal(["good.example"], b.Table(StoreTables.SpamDbHelo).Scan().Select(kv => kv.Key));
        Assert.True(a.Table(StoreTables.SpamDbHelo).ContainsKey("bad\0helo"));
    }

    [Fact]
    public void Removal_markers_are_purged_after_their_lifetime()
    {
        string db = postgres.CreateDatabase();
        var options = new PostgresStoreOptions { ConnectionString = postgres.ConnectionString(db), RemovalMarkerLifetime = TimeSpan.FromMilliseconds(1) };
        using (var a = new PostgresStore(options))
        {
            var t = a.Table(StoreTables.Redlist);
            t.Set("gone@example.com", "1");
            t.Set("kept@example.com", "1");
            a.Flush();
            t.Remove("gone@example.com");
            a.Flush();
        }
        using var conn = new NpgsqlConnection(postgres.ConnectionString(db));
        conn.Open();
        long Rows()
        {
            using var cmd = new NpgsqlCommand("SELECT count(*) FROM t_redlist", conn);
            return (long)cmd.ExecuteScalar()!;
        }
        Assert.Equal(2, Rows());              // the marker tells other nodes of the removal
        using var b = new PostgresStore(options);
        Assert.True(b.Table(StoreTables.Redlist).ContainsKey("kept@example.com"));
        b.Flush();                            // the first writer cycle purges markers older than their lifetime
        Eventually(() => Rows() == 1, "the removal marker is purged");
    }

    [Theory]
    [InlineData("Pg", "db.example:5433", 5433)]
    [InlineData("DBD::Pg,PORT=6000", "db.example", 6000)]
    [InlineData("pg, PORT=6000", "db.example:6000", 6000)]
    [InlineData("PostgreSQL", "db.example", 5432)]
    [InlineData("Pg", "[::1]:7000", 7000)]
    public void ASSP_options_select_PostgreSQL(string driver, string host, int port)
    {
        var s = PostgresSettings.FromAsspOptions(driver, host, "assp", "asspuser", "pw")!;
        Assert.Equal(port, s.Port);
        Assert.Equal("asspuser@" + s.Host + ":" + port + "/assp", s.ToString());
        Assert.DoesNotContain("pw", s.ToString());
    }

    [Theory]
    [InlineData("mysql")]
    [InlineData("BerkeleyDB,-Pagesize=>1024")]
    [InlineData("")]
    public void Other_drivers_are_not_PostgreSQL(string driver) =>
        Assert.Null(PostgresSettings.FromAsspOptions(driver, "h", "d", "u", "p"));

    [Theory]
    [InlineData("Pg,sslmode=require", "h", "d", "u", "DBdriver")]
    [InlineData("Pg,PORT=99999", "h", "d", "u", "DBdriver")]
    [InlineData("Pg", "", "d", "u", "myhost")]
    [InlineData("Pg", "h:abc", "d", "u", "myhost")]
    [InlineData("Pg,PORT=5432", "h:5433", "d", "u", "myhost")]
    [InlineData("Pg", "h", "", "u", "mydb")]
    [InlineData("Pg", "h", "d", "", "myuser")]
    public void Unusable_values_name_the_option(string driver, string host, string db, string user, string option)
    {
        var ex = Assert.Throws<StoreConfigException>(() => PostgresSettings.FromAsspOptions(driver, host, db, user, "secret"));
        Assert.Equal(option, ex.Option);
        Assert.StartsWith(option, ex.Message);
        Assert.DoesNotContain("secret", ex.Message);
    }
}
