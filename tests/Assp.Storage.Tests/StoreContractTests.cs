namespace Assp.Storage.Tests;

/// <summary>The same behaviour from the SQLite, PostgreSQL and memory stores, so callers can use either.</summary>
public sealed class StoreContractTests(PostgresServer postgres) : IDisposable, IClassFixture<PostgresServer>
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Kinds => ["sqlite", "sqlite-tiny-cache", "memory", "postgres"];

    private IStore Create(string kind) => kind switch
    {
        "memory" => new MemoryStore(),
        "postgres" => new PostgresStore(new PostgresStoreOptions { ConnectionString = postgres.ConnectionString(postgres.CreateDatabase()) }),
        "sqlite-tiny-cache" => new SqliteStore(new SqliteStoreOptions { Path = _dir.Db, HotCacheEntries = 2, PreloadHotCache = false, FlushInterval = TimeSpan.FromMilliseconds(5) }),
        _ => new SqliteStore(new SqliteStoreOptions { Path = _dir.Db }),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Basic_operations_agree(string kind)
    {
        using var store = Create(kind);
        var t = store.Table(StoreTables.PersBlack);
        for (int i = 0; i < 50; i++) t.Set($"rcpt{i % 5}@local,sender{i}@x", i.ToString(), i);
        store.Flush();
        Assert.Equal(50, t.Count);
        Assert.Equal(10, t.Scan("rcpt3@").Count());
        Assert.Equal(25, t.RemoveWhere((k, r) => r.Updated % 2 == 1));
        Assert.Equal(25, t.Count);
        Assert.True(t.Remove("rcpt0@local,sender0@x"));
        Assert.False(t.Remove("rcpt0@local,sender0@x"));
        Assert.Equal(24, t.Scan().Count());
        t.Clear();
        Assert.Equal(0, t.Count);
        Assert.Empty(t.Scan());
        t.Set("a", "b");
        Assert.True(t.TryGetValue("a", out var v));
        Assert.Equal("b", v);
        Assert.Contains(StoreTables.PersBlack, store.TableNames);
    }
}
