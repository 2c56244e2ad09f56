using Assp.Config;
using Assp.Storage;

namespace Assp.Server;

/// <summary>
/// Opens the store of an instance as its options say. Every table is in the local SQLite file (data/assp.db)
/// unless <c>DBdriver</c> names PostgreSQL: then the lists whose option is set to <c>DB:</c> (<c>whitelistdb</c>,
/// <c>redlistdb</c>, <c>persblackdb</c>, <c>ldaplistdb</c>, <c>delaydb</c>, <c>pbdb</c>, <c>spamdb</c>,
/// <c>griplist</c>, <c>adminusersdb</c>) live in the database <c>mydb</c> on <c>myhost</c>, shared by every proxy using it.
/// Changing these options takes effect at the next start.
/// </summary>
internal static class StoreFactory
{
    /// <summary>The local file that keeps writes queued for PostgreSQL across a restart while it is away.</summary>
    public static string SpillPath(string baseFolder) => Path.Combine(baseFolder, "data", "pg-queue.jsonl");

    /// <summary>The list option that decides where an ASSP table lives (null: always local).</summary>
    public static string? GoverningOption(string table) => table switch
    {
        StoreTables.Whitelist => "whitelistdb",
        StoreTables.Redlist => "redlistdb",
        StoreTables.PersBlack => "persblackdb",
        StoreTables.LdapList => "ldaplistdb",
        StoreTables.DelayDb or StoreTables.DelayDbWhite => "delaydb",
        StoreTables.SpamDb or StoreTables.SpamDbHelo => "spamdb",
        StoreTables.Griplist => "griplist",
        "adminusers" => "adminusersdb",
        _ when table.StartsWith("pbdb.", StringComparison.Ordinal) => "pbdb",
        _ => null,
    };

    private static readonly string[] ListOptions = ["whitelistdb", "redlistdb", "persblackdb", "ldaplistdb", "delaydb", "pbdb", "spamdb", "griplist", "adminusersdb"];

    /// <summary>ASSP's marker for "this list is a database table".</summary>
    public static bool IsDatabaseList(string value) => value.Trim().StartsWith("DB:", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether <see cref="Open"/> puts <paramref name="table"/> into PostgreSQL: DBdriver names Pg and the table's
    /// list option is "DB:".
    /// </summary>
    public static bool IsShared(ConfigSnapshot cfg, string table) =>
        GoverningOption(table) is { } option && IsDatabaseList(cfg[option])
        && PostgresSettings.NamesPostgres(cfg["DBdriver"]);

    /// <summary>
    /// mysqlSlaveMode: this node shares <paramref name="table"/> with a master node that maintains it (expiry
    /// clean-ups, backups), so it leaves the table alone. Local tables are always maintained.
    /// </summary>
    public static bool LeftToMaster(ConfigSnapshot cfg, string table) => cfg.GetBool("mysqlSlaveMode") && IsShared(cfg, table);

    /// <exception cref="StoreConfigException">DBdriver names PostgreSQL but an option cannot be used</exception>
    public static IStore Open(ConfigSnapshot cfg, Action<string>? log)
    {
        var dbLists = ListOptions.Where(o => IsDatabaseList(cfg[o])).ToHashSet(StringComparer.Ordinal);
        var settings = PostgresSettings.FromAsspOptions(cfg["DBdriver"], cfg["myhost"], cfg["mydb"], cfg["myuser"], cfg["mypassword"]);
        if (settings is null)
        {
            if (dbLists.Count > 0)
                log?.Invoke($"DBdriver '{cfg["DBdriver"]}' is not supported (only Pg): the DB: lists ({string.Join(", ", dbLists.Order())}) " +
                            "are kept in this node's local database");
            return SqliteStore.OpenInBase(cfg.BaseDirectory);
        }
        if (dbLists.Count == 0)
        {
            log?.Invoke("DBdriver names PostgreSQL but no list is set to DB: - everything stays in this node's local database");
            return SqliteStore.OpenInBase(cfg.BaseDirectory);
        }
        var local = SqliteStore.OpenInBase(cfg.BaseDirectory);
        try
        {
            var shared = new PostgresStore(new PostgresStoreOptions
            {
                ConnectionString = settings.ConnectionString("assp " + cfg["myName"]),
                Log = log,
                SpillPath = SpillPath(cfg.BaseDirectory),
            });
            log?.Invoke($"PostgreSQL {settings}: shared tables for {string.Join(", ", dbLists.Order())}" +
                        (shared.Connected ? "" : " (not reachable yet)"));
            return new SplitStore(local, shared, name => GoverningOption(name) is { } o && dbLists.Contains(o));
        }
        catch
        {
            local.Dispose();
            throw;
        }
    }
}
