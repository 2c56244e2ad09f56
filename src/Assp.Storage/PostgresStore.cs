using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Assp.Storage;

/// <summary>
/// ASSP's databases in PostgreSQL, shared by several proxies (nodes).
///
/// Every table is held in memory by every node; lookups never touch the network. Writes change memory at once and
/// are sent by one background thread, all tables in one transaction per <see cref="PostgresStoreOptions.FlushInterval"/>.
/// Each row carries a revision from one database sequence; writers serialise on an advisory lock, so revisions
/// follow commit order and "rows with a revision above the last one seen" is exactly what a node has missed.
/// Removals leave a marker row (value NULL) for <see cref="PostgresStoreOptions.RemovalMarkerLifetime"/> so that
/// other nodes learn of them. A committing node notifies the others (NOTIFY assp_changes, payload: node and
/// table); they read the changed rows at once, and every table catches up every
/// <see cref="PostgresStoreOptions.CatchUpInterval"/> anyway.
///
/// While the database is away, mail keeps flowing on what each node holds in memory: writes stay queued (per key,
/// latest wins) and are sent when it is back; reconnection backs off from one second to
/// <see cref="PostgresStoreOptions.MaxReconnectDelay"/>. Writes to cache tables stop being queued beyond
/// <see cref="PostgresStoreOptions.MaxQueuedWrites"/>; writes to state tables are always queued, and on close
/// they go to the spill file and are sent at the next start.
/// </summary>
public sealed class PostgresStore : IStore
{
    internal const int SchemaVersion = 1;
    private const string Channel = "assp_changes";
    private const long WriteLockKey = 0x4153_5350_0001;      // "ASSP" + 1: serialises writers across nodes

    private readonly PostgresStoreOptions _options;
    private readonly NpgsqlDataSource _source;
    private readonly string _nodeId = Guid.NewGuid().ToString("N")[..12];
    private readonly object _catalogLock = new();
    private readonly Dictionary<string, string> _catalog = new(StringComparer.Ordinal);   // ASSP name -> SQL name
    private readonly ConcurrentDictionary<string, PostgresTable> _tables = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _changed = new(StringComparer.Ordinal);  // notified tables
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly ManualResetEventSlim _stopListener = new(false);
    private readonly object _flushLock = new();
    private readonly Thread _writerThread;
    private readonly Thread _listenerThread;
    private long _flushRequested;
    private long _flushDone;
    private Exception? _cycleError;
    private bool _writerExited;
    private volatile bool _connected;
    private volatile bool _closing;
    private volatile bool _disposed;
    private bool _schemaReady;
    private long _lastCatchUp;           // Stopwatch timestamps, writer thread only
    private long _lastMarkerPurge;
    private long _lostAt;
    private TimeSpan _reconnectDelay = TimeSpan.FromSeconds(1);
    private bool _spillLoaded;
    private volatile bool _catchUpAll;     // the listener lost its connection: read every table (and notice a loss) now

    /// <summary>Opens the store; never fails for an unreachable database (it is connected in the background).</summary>
    public PostgresStore(PostgresStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Clock = options.Clock;
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        Description = $"{builder.Host}:{builder.Port}/{builder.Database}";
        _source = NpgsqlDataSource.Create(options.ConnectionString);
        _lostAt = Stopwatch.GetTimestamp();
        LoadSpill();
        // The first connection on the caller's thread, so a reachable database is loaded before the first mail.
        try { Connect(); }
        catch (Exception ex) when (IsDatabaseProblem(ex))
        {
            _cycleError = ex;
            Log($"PostgreSQL {Description} cannot be reached ({Short(ex)}): DB: lists start empty on this node and are loaded when it answers");
        }
        _writerThread = new Thread(WriterLoop) { IsBackground = true, Name = "assp-pg-writer" };
        _listenerThread = new Thread(ListenerLoop) { IsBackground = true, Name = "assp-pg-listener" };
        _writerThread.Start();
        _listenerThread.Start();
    }

    /// <summary>Host, port and database (never the password), for logs.</summary>
    public string Description { get; }
    public TimeProvider Clock { get; }

    /// <summary>True while the last exchange with the database succeeded.</summary>
    public bool Connected => _connected;

    /// <summary>The error of the last writer cycle, or null when it succeeded (queued writes are retried).</summary>
    public Exception? LastWriteError { get { lock (_flushLock) return _cycleError; } }

    /// <summary>Writes waiting to be sent, all tables.</summary>
    public int QueuedWrites => _tables.Values.Sum(t => t.QueuedWrites);

    public IReadOnlyCollection<string> TableNames
    {
        get { lock (_catalogLock) return [.. _catalog.Keys.Union(_tables.Keys).Order(StringComparer.Ordinal)]; }
    }

    public IStoreTable Table(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_tables.TryGetValue(name, out var table)) return table;
        lock (_catalogLock)
        {
            if (_tables.TryGetValue(name, out table)) return table;
            ThrowIfClosing();
            table = new PostgresTable(this, name, _options.CacheTables.Contains(name));
            if (_connected)
            {
                try { Prepare(table); }
                catch (Exception ex) when (IsDatabaseProblem(ex)) { _wake.Set(); }   // the writer retries
            }
            _tables[name] = table;
            return table;
        }
    }

    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long ticket = Interlocked.Increment(ref _flushRequested);
        _wake.Set();
        Exception? error;
        lock (_flushLock)
        {
            while (Interlocked.Read(ref _flushDone) < ticket)
            {
                if (_writerExited) throw new ObjectDisposedException(nameof(PostgresStore));
                Monitor.Wait(_flushLock);
            }
            error = _cycleError;
        }
        if (error is not null)
            throw new StoreUnavailableException($"PostgreSQL {Description}: the queued writes could not be sent ({Short(error)}); they stay queued", error);
    }

    public void Dispose()
    {
        if (_disposed) return;
        lock (_catalogLock)
        {
            if (_closing) return;
            _closing = true;
        }
        Interlocked.Increment(ref _flushRequested);
        _wake.Set();
        _stopListener.Set();
        _writerThread.Join();
        _listenerThread.Join();
        _disposed = true;
        _source.Dispose();
        _wake.Dispose();
        _stopListener.Dispose();
    }

    // ---------------------------------------------------------------- used by the tables

    internal void ThrowIfClosing()
    {
        if (_closing) throw new ObjectDisposedException(nameof(PostgresStore), $"The store {Description} is closed.");
    }

    /// <summary>Cache writes stop being queued while the database is away and the queue is full.</summary>
    internal bool ShouldQueue(PostgresTable table) =>
        _connected || !table.IsCache || QueuedWrites < _options.MaxQueuedWrites;

    // ---------------------------------------------------------------- connecting, schema, loading

    private void Connect()
    {
        using var conn = _source.OpenConnection();
        if (!_schemaReady)
        {
            Migrate(conn);
            _schemaReady = true;
        }
        lock (_catalogLock)
        {
            _catalog.Clear();
            using var cmd = new NpgsqlCommand("SELECT name, sql_name FROM assp_tables", conn);
            using var reader = cmd.ExecuteReader();
            while (reader.Read()) _catalog[reader.GetString(0)] = reader.GetString(1);
        }
        _connected = true;
    }

    /// <summary>Creates the schema or brings it to <see cref="SchemaVersion"/>; one node at a time.</summary>
    private static void Migrate(NpgsqlConnection conn)
    {
        using var tx = conn.BeginTransaction();
        Exec(conn, $"SELECT pg_advisory_xact_lock({WriteLockKey})", tx);
        Exec(conn, "CREATE TABLE IF NOT EXISTS assp_schema_version (version integer NOT NULL, applied timestamptz NOT NULL DEFAULT now())", tx);
        using var get = new NpgsqlCommand("SELECT max(version) FROM assp_schema_version", conn, tx);
        int version = get.ExecuteScalar() is int v ? v : 0;
        if (version > SchemaVersion)
            throw new InvalidDataException($"the database has schema version {version}; this program knows only up to {SchemaVersion}");
        if (version < 1)
        {
            Exec(conn, "CREATE SEQUENCE IF NOT EXISTS assp_rev", tx);
            Exec(conn, "CREATE TABLE IF NOT EXISTS assp_tables (name text PRIMARY KEY, sql_name text NOT NULL UNIQUE)", tx);
            Exec(conn, "INSERT INTO assp_schema_version(version) VALUES (1)", tx);
        }
        // Later versions add their steps here, each guarded by "version < N".
        tx.Commit();
    }

    /// <summary>Makes sure the table exists in the database and loads it (caller holds the catalog lock or is the writer).</summary>
    private void Prepare(PostgresTable table)
    {
        using var conn = _source.OpenConnection();
        table.SqlName ??= EnsureSqlTable(conn, table.Name);
        Load(conn, table);
    }

    private string EnsureSqlTable(NpgsqlConnection conn, string name)
    {
        lock (_catalogLock)
        {
            if (_catalog.TryGetValue(name, out var known))
            {
                CreateTable(conn, known);
                return known;
            }
            using var tx = conn.BeginTransaction();
            Exec(conn, $"SELECT pg_advisory_xact_lock({WriteLockKey})", tx);
            string baseName = SqlNameFor(name);
            string? sqlName = null;
            for (int i = 1; sqlName is null; i++)
            {
                using var ins = new NpgsqlCommand(
                    "INSERT INTO assp_tables(name, sql_name) VALUES (@n, @s) ON CONFLICT DO NOTHING", conn, tx);
                ins.Parameters.AddWithValue("n", name);
                ins.Parameters.AddWithValue("s", i == 1 ? baseName : baseName + "_" + i);
                ins.ExecuteNonQuery();
                using var get = new NpgsqlCommand("SELECT sql_name FROM assp_tables WHERE name = @n", conn, tx);
                get.Parameters.AddWithValue("n", name);
                sqlName = get.ExecuteScalar() as string;
            }
            CreateTable(conn, sqlName, tx);
            tx.Commit();
            _catalog[name] = sqlName;
            return sqlName;
        }
    }

    private static void CreateTable(NpgsqlConnection conn, string sqlName, NpgsqlTransaction? tx = null)
    {
        Exec(conn, $"CREATE TABLE IF NOT EXISTS \"{sqlName}\" (key text PRIMARY KEY, value text, updated bigint NOT NULL, " +
                   "rev bigint NOT NULL, changed timestamptz NOT NULL DEFAULT now())", tx);
        Exec(conn, $"CREATE INDEX IF NOT EXISTS \"{sqlName}_rev\" ON \"{sqlName}\" (rev)", tx);
    }

    /// <summary>"pbdb.black.db" becomes t_pbdb_black_db.</summary>
    internal static string SqlNameFor(string name)
    {
        var sb = new StringBuilder("t_");
        foreach (char c in name.ToLowerInvariant())
            sb.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '_');
        if (sb.Length > 50) sb.Length = 50;
        return sb.ToString();
    }

    /// <summary>Every live row of the table into memory; the revision seen becomes the catch-up start.</summary>
    private void Load(NpgsqlConnection conn, PostgresTable table)
    {
        var rows = new Dictionary<string, StoreRecord>(StringComparer.Ordinal);
        long maxRev = 0;
        using (var cmd = new NpgsqlCommand($"SELECT key, value, updated, rev FROM \"{table.SqlName}\"", conn))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                maxRev = Math.Max(maxRev, reader.GetInt64(3));
                if (!reader.IsDBNull(1)) rows[reader.GetString(0)] = new StoreRecord(reader.GetString(1), reader.GetInt64(2));
            }
        }
        table.ReplaceAll(rows);
        table.LastRev = maxRev;
        table.LastContact = Clock.GetUtcNow();
        table.Loaded = true;
    }

    /// <summary>The rows changed since the table's last revision (by any node, this one included).</summary>
    private void CatchUp(NpgsqlConnection conn, PostgresTable table)
    {
        var rows = new List<(string, StoreRecord?)>();
        long maxRev = table.LastRev;
        using (var cmd = new NpgsqlCommand($"SELECT key, value, updated, rev FROM \"{table.SqlName}\" WHERE rev > @r ORDER BY rev", conn))
        {
            cmd.Parameters.AddWithValue("r", table.LastRev);
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                maxRev = Math.Max(maxRev, reader.GetInt64(3));
                rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : new StoreRecord(reader.GetString(1), reader.GetInt64(2))));
            }
        }
        if (rows.Count > 0) table.ApplyChanges(rows);
        table.LastRev = maxRev;
        table.LastContact = Clock.GetUtcNow();
    }

    // ---------------------------------------------------------------- the writer thread

    private void WriterLoop()
    {
        while (true)
        {
            _wake.Wait(_connected ? _options.FlushInterval : _reconnectDelay);
            _wake.Reset();
            long target = Interlocked.Read(ref _flushRequested);
            bool last = _closing;
            Exception? error = null;
            try { Cycle(); }
            catch (Exception ex) when (IsDatabaseProblem(ex))
            {
                error = ex;
                if (_connected)
                {
                    _lostAt = Stopwatch.GetTimestamp();
                    Log($"PostgreSQL {Description} lost ({Short(ex)}): mail continues with the data this node holds; " +
                        $"{QueuedWrites} writes queued until it is back");
                }
                _connected = false;
                _source.Clear();     // pooled connections to a restarted server are dead
                _reconnectDelay = TimeSpan.FromTicks(Math.Min(_reconnectDelay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
            }
            if (last) WriteSpill();
            lock (_flushLock)
            {
                _cycleError = error;
                Interlocked.Exchange(ref _flushDone, target);
                _writerExited = last;
                Monitor.PulseAll(_flushLock);
            }
            if (last) return;
        }
    }

    private void Cycle()
    {
        bool reconnected = false;
        if (!_connected)
        {
            Connect();
            reconnected = true;
        }
        using var conn = _source.OpenConnection();
        foreach (var table in _tables.Values)
        {
            if (table.SqlName is null) table.SqlName = EnsureSqlTable(conn, table.Name);
            // Away longer than removal markers live: a catch-up could miss removals, so read everything.
            if (!table.Loaded || Clock.GetUtcNow() - table.LastContact > _options.RemovalMarkerLifetime / 2) Load(conn, table);
        }
        int sent = Commit(conn);
        bool periodic = Stopwatch.GetElapsedTime(_lastCatchUp) >= _options.CatchUpInterval || _catchUpAll;
        _catchUpAll = false;
        if (periodic || reconnected || !_changed.IsEmpty)
        {
            foreach (var table in _tables.Values)
                if (periodic || reconnected || _changed.TryRemove(table.Name, out _)) CatchUp(conn, table);
            if (periodic || reconnected)
            {
                _changed.Clear();
                _lastCatchUp = Stopwatch.GetTimestamp();
            }
        }
        if (Stopwatch.GetElapsedTime(_lastMarkerPurge) > TimeSpan.FromHours(1)) PurgeMarkers(conn);
        if (reconnected)
        {
            _reconnectDelay = TimeSpan.FromSeconds(1);
            Log($"PostgreSQL {Description} reachable again after {Stopwatch.GetElapsedTime(_lostAt).TotalSeconds:0} s; " +
                $"{sent} queued writes sent, changes of other nodes read");
        }
        if (_spillLoaded && _options.SpillPath is { } spill)
        {
            File.Delete(spill);      // its writes are in the database now
            _spillLoaded = false;
        }
    }

    /// <summary>Sends every queued write in one transaction; on failure the batches are queued again.</summary>
    private int Commit(NpgsqlConnection conn)
    {
        var batches = new List<(PostgresTable Table, PostgresTable.Batch Batch)>();
        foreach (var table in _tables.Values)
            if (table.SqlName is not null && table.TakeBatch() is { } batch) batches.Add((table, batch));
        if (batches.Count == 0) return 0;
        int sent = 0;
        try
        {
            using var tx = conn.BeginTransaction();
            Exec(conn, $"SELECT pg_advisory_xact_lock({WriteLockKey})", tx);
            foreach (var (table, batch) in batches)
            {
                sent += Write(conn, tx, table.SqlName!, batch);
                using var notify = new NpgsqlCommand("SELECT pg_notify(@c, @p)", conn, tx);
                notify.Parameters.AddWithValue("c", Channel);
                notify.Parameters.AddWithValue("p", _nodeId + " " + table.Name);
                notify.ExecuteNonQuery();
            }
            tx.Commit();
        }
        catch
        {
            foreach (var (table, batch) in batches) table.CommitFailed(batch);
            throw;
        }
        return sent;
    }

    private static int Write(NpgsqlConnection conn, NpgsqlTransaction tx, string sqlName, PostgresTable.Batch batch)
    {
        string t = "\"" + sqlName + "\"";
        if (batch.Clear)
            Exec(conn, $"UPDATE {t} SET value = NULL, rev = nextval('assp_rev'), changed = now() WHERE value IS NOT NULL", tx);
        var keys = new List<string>();
        var values = new List<string>();
        var updated = new List<long>();
        var removed = new List<string>();
        foreach (var (key, record) in batch.Entries)
        {
            // PostgreSQL text cannot hold NUL or broken UTF-16; such a record stays on this node only.
            if (!Storable(key) || (record is { } r0 && !Storable(r0.Value))) continue;
            if (record is { } r)
            {
                keys.Add(key);
                values.Add(r.Value);
                updated.Add(r.Updated);
            }
            else removed.Add(key);
        }
        if (keys.Count > 0)
        {
            using var up = new NpgsqlCommand(
                $"INSERT INTO {t} (key, value, updated, rev, changed) " +
                "SELECT k, v, u, nextval('assp_rev'), now() FROM unnest(@k, @v, @u) AS x(k, v, u) " +
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated = EXCLUDED.updated, rev = EXCLUDED.rev, changed = EXCLUDED.changed",
                conn, tx);
            up.Parameters.Add(new NpgsqlParameter("k", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = keys.ToArray() });
            up.Parameters.Add(new NpgsqlParameter("v", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() });
            up.Parameters.Add(new NpgsqlParameter("u", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = updated.ToArray() });
            up.ExecuteNonQuery();
        }
        if (removed.Count > 0)
        {
            using var del = new NpgsqlCommand(
                $"UPDATE {t} SET value = NULL, rev = nextval('assp_rev'), changed = now() WHERE key = ANY(@k) AND value IS NOT NULL", conn, tx);
            del.Parameters.Add(new NpgsqlParameter("k", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = removed.ToArray() });
            del.ExecuteNonQuery();
        }
        return keys.Count + removed.Count;
    }

    internal static bool Storable(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\0') return false;
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(c)) return false;
        }
        return true;
    }

    private void PurgeMarkers(NpgsqlConnection conn)
    {
        foreach (var table in _tables.Values.Where(t => t.SqlName is not null))
        {
            using var cmd = new NpgsqlCommand($"DELETE FROM \"{table.SqlName}\" WHERE value IS NULL AND changed < now() - @age", conn);
            cmd.Parameters.AddWithValue("age", _options.RemovalMarkerLifetime);
            cmd.ExecuteNonQuery();
        }
        _lastMarkerPurge = Stopwatch.GetTimestamp();
    }

    // ---------------------------------------------------------------- notifications

    private void ListenerLoop()
    {
        var delay = TimeSpan.FromSeconds(1);
        var builder = new NpgsqlConnectionStringBuilder(_options.ConnectionString) { Pooling = false };
        while (!_closing)
        {
            try
            {
                using var conn = new NpgsqlConnection(builder.ConnectionString);
                conn.Open();
                conn.Notification += (_, e) =>
                {
                    int space = e.Payload.IndexOf(' ');
                    if (space <= 0 || e.Payload[..space] == _nodeId) return;     // our own commits
                    _changed[e.Payload[(space + 1)..]] = 0;
                    _wake.Set();
                };
                Exec(conn, "LISTEN " + Channel);
                delay = TimeSpan.FromSeconds(1);
                // Whatever changed while nobody listened: the writer reads every table once.
                foreach (var name in _tables.Keys) _changed[name] = 0;
                _wake.Set();
                while (!_closing) conn.Wait(TimeSpan.FromMilliseconds(500));
            }
            catch (Exception ex) when (IsDatabaseProblem(ex))
            {
                _catchUpAll = true;
                _wake.Set();     // the writer notices the loss (or finds the database fine) and logs it
                if (_stopListener.Wait(delay)) return;
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
            }
        }
    }

    // ---------------------------------------------------------------- the spill file

    private sealed record SpillLine(string T, string K, string? V, long U, bool C);

    private void WriteSpill()
    {
        if (_options.SpillPath is not { } path) return;
        var lines = new List<string>();
        foreach (var table in _tables.Values)
        {
            var (clear, entries) = table.QueuedSnapshot();
            bool first = clear;
            foreach (var (key, record) in entries)
            {
                lines.Add(JsonSerializer.Serialize(new SpillLine(table.Name, key, record?.Value, record?.Updated ?? 0, first)));
                first = false;
            }
            if (first) lines.Add(JsonSerializer.Serialize(new SpillLine(table.Name, "", null, 0, true)));
        }
        try
        {
            if (lines.Count == 0)
            {
                if (!_spillLoaded) return;
                File.Delete(path);
                return;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllLines(path + ".tmp", lines);
            File.Move(path + ".tmp", path, overwrite: true);
            Log($"PostgreSQL {Description} unreachable at shutdown: {lines.Count} queued writes saved in {path}, sent at the next start");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log($"PostgreSQL {Description}: {lines.Count} queued writes could not be saved in {path}: {ex.Message}");
        }
    }

    private void LoadSpill()
    {
        if (_options.SpillPath is not { } path || !File.Exists(path)) return;
        int n = 0;
        foreach (var line in File.ReadLines(path))
        {
            SpillLine? s;
            try { s = JsonSerializer.Deserialize<SpillLine>(line); }
            catch (JsonException) { continue; }
            if (s is null || string.IsNullOrEmpty(s.T)) continue;
            var table = _tables.GetOrAdd(s.T, name => new PostgresTable(this, name, _options.CacheTables.Contains(name)));
            if (s.C) table.RestoreClear();
            if (s.C && s.K.Length == 0) continue;
            table.Restore(s.K, s.V is null ? null : new StoreRecord(s.V, s.U));
            n++;
        }
        _spillLoaded = true;
        Log($"PostgreSQL {Description}: {n} writes queued at the last shutdown read back from {path}");
    }

    // ---------------------------------------------------------------- helpers

    private static void Exec(NpgsqlConnection conn, string sql, NpgsqlTransaction? tx = null)
    {
        using var cmd = new NpgsqlCommand(sql, conn, tx);
        cmd.ExecuteNonQuery();
    }

    private static bool IsDatabaseProblem(Exception ex) =>
        ex is NpgsqlException or IOException or TimeoutException or System.Net.Sockets.SocketException or InvalidDataException
            or InvalidOperationException;

    private static string Short(Exception ex) => ex.InnerException is { } inner && ex is not PostgresException
        ? $"{ex.Message}: {inner.Message}" : ex.Message;

    private void Log(string line)
    {
        try { _options.Log?.Invoke(line); }
        catch (Exception) { }   // logging must never stop the writer
    }
}

/// <summary>The shared database cannot be reached now; queued writes are kept and sent when it is back.</summary>
public sealed class StoreUnavailableException(string message, Exception inner) : IOException(message, inner);
