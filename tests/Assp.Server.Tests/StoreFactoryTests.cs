using Assp.Config;
using Assp.Config.Registry;
using Assp.Storage;
using Assp.Storage.Tests;

namespace Assp.Server.Tests;

/// <summary>Where an instance keeps each table, as ASSP's DBdriver/myhost/mydb/myuser/mypassword and DB: lists say.</summary>
public sealed class StoreFactoryTests(PostgresServer postgres) : IClassFixture<PostgresServer>, IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "assp-storefactory-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> _log = [];

    public void Dispose()
    {
        try { Directory.Delete(_base, true); } catch (IOException) { }
    }

    private ConfigSnapshot Config(string cfg)
    {
        Directory.CreateDirectory(_base);
        File.WriteAllText(Path.Combine(_base, "assp.cfg"), cfg);
        return new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false }.Load(new ConfigSource(_base));
    }

    [Fact]
    public void Lists_set_to_DB_live_in_PostgreSQL_and_everything_else_in_the_local_file()
    {
        string db = postgres.CreateDatabase();
        var cfg = Config($"DBdriver:=Pg\nmyhost:=127.0.0.1:{postgres.Port}\nmydb:={db}\nmyuser:={PostgresServer.User}\n" +
                         $"mypassword:={PostgresServer.Password}\nwhitelistdb:=DB:\npbdb:=DB:\n");
        using var store = StoreFactory.Open(cfg, _log.Add);
        var split = Assert.IsType<SplitStore>(store);
        var shared = Assert.IsType<PostgresStore>(split.Shared);
        Assert.IsType<SqliteStore>(split.Local);
        Assert.True(shared.Connected);
        Assert.Same(shared.Table(StoreTables.Whitelist), store.Table(StoreTables.Whitelist));
        Assert.Same(shared.Table(StoreTables.PbBlack), store.Table(StoreTables.PbBlack));
        Assert.Same(shared.Table("pbdb.rbl.db"), store.Table("pbdb.rbl.db"));
        Assert.Same(split.Local.Table(StoreTables.Redlist), store.Table(StoreTables.Redlist));
        Assert.Same(split.Local.Table(StoreTables.DelayDb), store.Table(StoreTables.DelayDb));
        Assert.Contains(_log, l => l.Contains($"PostgreSQL {PostgresServer.User}@127.0.0.1:{postgres.Port}/{db}: shared tables for pbdb, whitelistdb"));
        Assert.DoesNotContain(_log, l => l.Contains(PostgresServer.Password));
    }

    [Fact]
    public void Another_driver_keeps_the_DB_lists_local_and_says_so()
    {
        var cfg = Config("DBdriver:=mysql\nmyhost:=db.example\nwhitelistdb:=DB:\n");
        using var store = StoreFactory.Open(cfg, _log.Add);
        Assert.IsType<SqliteStore>(store);
        Assert.Contains(_log, l => l.Contains("DBdriver 'mysql' is not supported (only Pg): the DB: lists (whitelistdb) are kept in this node's local database"));
    }

    [Fact]
    public void Without_DBdriver_everything_is_local() =>
        Assert.IsType<SqliteStore>(StoreFactory.Open(Config("whitelistdb:=whitelist\n"), _log.Add));

    [Fact]
    public void A_bad_myhost_stops_with_the_option_named()
    {
        var cfg = Config("DBdriver:=Pg\nmyhost:=db.example:notaport\nmydb:=assp\nmyuser:=assp\nwhitelistdb:=DB:\n");
        var ex = Assert.Throws<StoreConfigException>(() => StoreFactory.Open(cfg, _log.Add));
        Assert.Equal("myhost", ex.Option);
    }
}
