using System.Globalization;
using Npgsql;

namespace Assp.Storage;

/// <summary>Settings of a <see cref="PostgresStore"/>.</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>An Npgsql connection string (host, port, database, user, password; pooling is on by default).</summary>
    public required string ConnectionString { get; init; }

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>How often the background writer sends the queued writes (one transaction for all tables).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How often every table asks for rows changed by other nodes even without a notification (a notification
    /// lost with a dropped listener connection is caught up by this).
    /// </summary>
    public TimeSpan CatchUpInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait between reconnection attempts (the wait doubles from one second up to this).</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Queued writes (distinct keys, all tables) above which writes to <see cref="CacheTables"/> are no longer
    /// queued while the database is away: they stay in this node's memory only. State tables are always queued.
    /// </summary>
    public int MaxQueuedWrites { get; init; } = 200_000;

    /// <summary>Tables that only cache answers that can be asked again (DNS list results, SPF, PTR, MX).</summary>
    public IReadOnlySet<string> CacheTables { get; init; } = DefaultCacheTables;

    /// <summary>How long removed records stay as markers so that other nodes learn of the removal.</summary>
    public TimeSpan RemovalMarkerLifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// A local file that takes the queued writes when the store is closed while the database is away; they are
    /// queued again at the next start. Null: such writes are lost on close.
    /// </summary>
    public string? SpillPath { get; init; }

    /// <summary>Called with a line for the maillog when the database is lost or comes back.</summary>
    public Action<string>? Log { get; init; }

    public static readonly IReadOnlySet<string> DefaultCacheTables = new HashSet<string>(StringComparer.Ordinal)
    {
        "pbdb.rbl.db", "pbdb.rwl.db", "pbdb.uribl.db", "pbdb.back.db", "pbdb.spf.db", "pbdb.ptr.db", "pbdb.mxa.db",
        "pbdb.dkim.db", "pbdb.sb.db", "pbdb.batv.db",
    };

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString)) throw new ArgumentException("The connection string is empty.", nameof(ConnectionString));
        if (FlushInterval <= TimeSpan.Zero || FlushInterval > TimeSpan.FromSeconds(1))
            throw new ArgumentOutOfRangeException(nameof(FlushInterval), FlushInterval, "must be above zero and at most one second");
        if (CatchUpInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(CatchUpInterval), CatchUpInterval, "must be above zero");
        if (MaxQueuedWrites < 0) throw new ArgumentOutOfRangeException(nameof(MaxQueuedWrites), MaxQueuedWrites, "must not be negative");
    }
}

/// <summary>
/// ASSP's database options read for PostgreSQL: <c>DBdriver</c> (<c>Pg[,PORT=n]</c>), <c>myhost</c> (host[:port]),
/// <c>mydb</c>, <c>myuser</c>, <c>mypassword</c>.
/// </summary>
public sealed record PostgresSettings(string Host, int Port, string Database, string User, string Password)
{
    public const int DefaultPort = 5432;

    /// <summary>The DBI driver names that mean PostgreSQL (DBD::Pg, its pure-Perl twin PgPP, and spelled out).</summary>
    private static readonly string[] PgDrivers = ["Pg", "DBD::Pg", "PgPP", "DBD::PgPP", "Postgres", "PostgreSQL"];

    /// <summary>True when <c>DBdriver</c> names PostgreSQL.</summary>
    public static bool NamesPostgres(string dbDriver)
    {
        string name = (dbDriver ?? "").Split(',')[0].Trim();
        return PgDrivers.Contains(name, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The settings, or null when <c>DBdriver</c> names another engine (or none).</summary>
    /// <exception cref="StoreConfigException">an option has a value PostgreSQL cannot use (names option and value)</exception>
    public static PostgresSettings? FromAsspOptions(string dbDriver, string myHost, string myDb, string myUser, string myPassword)
    {
        if (!NamesPostgres(dbDriver)) return null;
        int? driverPort = null;
        foreach (var part in dbDriver.Split(',').Skip(1).Select(p => p.Trim()).Where(p => p.Length > 0))
        {
            int eq = part.IndexOf('=');
            string name = eq < 0 ? part : part[..eq].Trim();
            string value = eq < 0 ? "" : part[(eq + 1)..].Trim();
            if (!name.Equals("PORT", StringComparison.OrdinalIgnoreCase))
                throw new StoreConfigException("DBdriver", dbDriver, $"'{name}' is not a PostgreSQL driver option (only PORT=n is)");
            driverPort = ParsePort("DBdriver", dbDriver, value);
        }

        string host = (myHost ?? "").Trim();
        int? hostPort = null;
        if (host.Length == 0) throw new StoreConfigException("myhost", myHost ?? "", "the database host is empty");
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            if (close < 0) throw new StoreConfigException("myhost", myHost!, "an IPv6 address in [ ] has no closing ]");
            string rest = host[(close + 1)..];
            if (rest.StartsWith(':')) hostPort = ParsePort("myhost", myHost!, rest[1..]);
            else if (rest.Length > 0) throw new StoreConfigException("myhost", myHost!, "expected host or host:port");
            host = host[1..close];
        }
        else if (host.Count(c => c == ':') == 1)
        {
            int colon = host.IndexOf(':');
            hostPort = ParsePort("myhost", myHost!, host[(colon + 1)..]);
            host = host[..colon];
        }
        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
            throw new StoreConfigException("myhost", myHost!, "expected host or host:port");
        if (driverPort is { } d && hostPort is { } h && d != h)
            throw new StoreConfigException("myhost", myHost!, $"its port {h} differs from PORT={d} in DBdriver");

        string db = (myDb ?? "").Trim();
        if (db.Length == 0) throw new StoreConfigException("mydb", myDb ?? "", "the database name is empty");
        string user = (myUser ?? "").Trim();
        if (user.Length == 0) throw new StoreConfigException("myuser", "", "the database user is empty");
        return new PostgresSettings(host, hostPort ?? driverPort ?? DefaultPort, db, user, myPassword ?? "");
    }

    private static int ParsePort(string option, string value, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536
            ? port
            : throw new StoreConfigException(option, value, $"'{text}' is not a port number");

    /// <summary>An Npgsql connection string: pooled, short connect timeout so a lost server is noticed quickly.</summary>
    public string ConnectionString(string applicationName = "assp") => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Database = Database,
        Username = User,
        Password = Password,
        Pooling = true,
        MaxPoolSize = 20,
        Timeout = 5,
        CommandTimeout = 30,
        KeepAlive = 10,
        ApplicationName = applicationName,
    }.ConnectionString;

    /// <summary>No password in logs.</summary>
    public override string ToString() => $"{User}@{Host}:{Port}/{Database}";
}

/// <summary>A database option has a value the store cannot use.</summary>
public sealed class StoreConfigException(string option, string value, string problem)
    : Exception($"{option} '{value}': {problem}.")
{
    public string Option { get; } = option;
    public string Value { get; } = value;
}
