namespace Assp.Storage.Tests;

/// <summary>backupDBDir: ten versions per table in ASSP's export layout, restored into an empty store.</summary>
public sealed class BackupTests(PostgresServer postgres) : IClassFixture<PostgresServer>, IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    private static string? V(IStoreTable table, string key) => table.TryGetValue(key, out var v) ? v : null;

    private SqliteStore OpenSqlite(string name) => new(new SqliteStoreOptions { Path = _dir.File(name), Clock = _clock });

    [Fact]
    public void Each_backup_becomes_the_newest_version_and_the_tenth_is_dropped()
    {
        using var store = new MemoryStore(_clock);
        string folder = _dir.File("backup");
        for (int i = 1; i <= 12; i++)
        {
            store.Table(StoreTables.Whitelist).Set("run" + i + "@example.com", "1767225600");
            AsspBackups.Backup(store, folder);
        }
        var versions = AsspBackups.List(folder).Where(v => v.Table == StoreTables.Whitelist).ToList();
        Assert.Equal(Enumerable.Range(0, 10), versions.Select(v => v.Version));
        Assert.Equal("whitelist.bak", Path.GetFileName(versions[0].File));
        Assert.Equal("whitelist.bak.9", Path.GetFileName(versions[9].File));
        // Newest has all 12 records; version 9 (the oldest kept) is the third backup, with 3.
        Assert.Equal(13, File.ReadAllLines(versions[0].File).Length);   // the leading empty line + 12 records
        Assert.Equal(4, File.ReadAllLines(versions[9].File).Length);
        Assert.Equal("", File.ReadAllLines(versions[0].File)[0]);
    }

    [Theory]
    [InlineData("L", true, 0)]
    [InlineData("", true, 0)]
    [InlineData("l", true, 0)]
    [InlineData("1", true, 1)]
    [InlineData("9", true, 9)]
    [InlineData("0", false, 0)]
    [InlineData("10", false, 0)]
    [InlineData("x", false, 0)]
    public void Versions_are_named_as_fillUpImportDBDir_names_them(string text, bool ok, int version)
    {
        Assert.Equal(ok, AsspBackups.TryParseVersion(text, out int v));
        if (ok) Assert.Equal(version, v);
    }

    [Fact]
    public void Only_backup_files_are_listed()
    {
        string folder = _dir.File("mixed");
        Directory.CreateDirectory(folder);
        foreach (var f in new[] { "pbdb.black.db.bak", "pbdb.black.db.bak.3", "whitelist.rpl", "notes.txt", ".bak", "x.bak.10", "x.bak.0" })
            File.WriteAllText(Path.Combine(folder, f), "\n");
        var found = AsspBackups.List(folder).Select(v => (v.Table, v.Version)).ToList();
        Assert.Equal([("pbdb.black.db", 0), ("pbdb.black.db", 3)], found);
    }

    [Fact]
    public void A_sqlite_backup_restores_into_an_empty_store_with_its_records_and_times()
    {
        string folder = _dir.File("backup");
        using (var store = OpenSqlite("a.db"))
        {
            store.Table(StoreTables.Whitelist).Set("alice@example.com", "1767225600");
            store.Table(StoreTables.PbBlack).Set("192.0.2.15", "1767220000 1767225600 3 45 192.0.2.15 DNSBL:zen.example");
            store.Table(StoreTables.Redlist).Set("list@example.org", "1767225601");
            store.Flush();
            AsspBackups.Backup(store, folder);
            store.Table(StoreTables.Whitelist).Set("later@example.com", "1767225700");
            AsspBackups.Backup(store, folder);
        }
        using (var empty = OpenSqlite("b.db"))
        {
            var results = AsspBackups.Restore(empty, folder);
            Assert.Equal(3, results.Count);
            Assert.True(empty.Table(StoreTables.Whitelist).TryGet("alice@example.com", out var w));
            Assert.Equal(1767225600, w.Updated);
            Assert.True(empty.Table(StoreTables.Whitelist).ContainsKey("later@example.com"));
            Assert.Equal("1767220000 1767225600 3 45 192.0.2.15 DNSBL:zen.example", V(empty.Table(StoreTables.PbBlack), "192.0.2.15"));

            // Version 1 is the backup before: it replaces the whitelist only (the table asked for).
            AsspBackups.Restore(empty, folder, version: 1, tables: [StoreTables.Whitelist]);
            Assert.False(empty.Table(StoreTables.Whitelist).ContainsKey("later@example.com"));
            Assert.True(empty.Table(StoreTables.Redlist).ContainsKey("list@example.org"));
        }
    }

    [Fact]
    public void A_postgresql_backup_restores_into_an_empty_database()
    {
        string folder = _dir.File("pg-backup");
        string connection = postgres.ConnectionString(postgres.CreateDatabase());
        using (var store = new PostgresStore(new PostgresStoreOptions { ConnectionString = connection, Clock = _clock }))
        {
            store.Table(StoreTables.Whitelist).Set("alice@example.com", "1767225600");
            store.Table(StoreTables.DelayDbWhite).Set("192.0.2 example.com", "1767225600");
            store.Flush();
            var written = AsspBackups.Backup(store, folder);
            Assert.Contains(written, r => r.Table == StoreTables.Whitelist && r.Written == 1);
        }
        using (var empty = new PostgresStore(new PostgresStoreOptions { ConnectionString = postgres.ConnectionString(postgres.CreateDatabase()), Clock = _clock }))
        {
            Assert.Equal(0, empty.Table(StoreTables.Whitelist).Count);
            AsspBackups.Restore(empty, folder);
            Assert.Equal("1767225600", V(empty.Table(StoreTables.Whitelist), "alice@example.com"));
            Assert.Equal("1767225600", V(empty.Table(StoreTables.DelayDbWhite), "192.0.2 example.com"));
        }
    }
}
