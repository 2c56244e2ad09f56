using System.Collections.Concurrent;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Assp.Storage;

/// <summary>
/// The embedded store: every ASSP database is a table in one SQLite file (WAL, synchronous=NORMAL).
///
/// Hot path, chosen by measurement (bench/README.md, "Storage"; 1,000,000 whitelist entries and 100,000 PenaltyBox
/// IPs): per table a bounded hot cache, a key filter that answers most misses from memory, a negative cache, and an
/// indexed file read for the rest. That opened in 0.6 s holding 25 MB and answered 0.75 million lookups/s on one
/// core (77 % misses; hits spread evenly, so most hits read the file). Loading every record instead answered 2.2
/// million/s but opened in 1.9 s and held 236 MB, growing with the whitelist without bound. Both beat the target
/// (200,000/s, open within 3 s); bounded memory decided. At open a table's records are loaded up to half the hot
/// cache, so small tables are served from memory alone; <see cref="SqliteStoreOptions.HotCacheEntries"/> raises the
/// bound (set it above the record count to load everything).
///
/// Writes go to memory at once and are committed by one background thread, all tables in one transaction per
/// <see cref="SqliteStoreOptions.FlushInterval"/>; <see cref="Flush"/> commits now and waits. A process crash
/// loses at most the writes of the last interval; WAL keeps the file consistent.
///
/// One store per file: two stores (or processes) writing the same file would each keep their own caches.
/// </summary>
public sealed class SqliteStore : IStore
{
    private const int SchemaVersion = 1;

    private readonly SqliteStoreOptions _options;
    private readonly NativeConnection _writer;
    private readonly object _dbLock = new();            // the writer connection: commits and table creation
    private readonly object _catalogLock = new();
    private readonly Dictionary<string, string> _catalog = new(StringComparer.Ordinal);   // ASSP name -> SQL name
    private readonly ConcurrentDictionary<string, SqliteTable> _tables = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<NativeConnection> _readers = [];
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly object _flushLock = new();
    private readonly Thread _writerThread;
    private readonly List<Task> _rebuilds = [];
    private long _flushRequested;
    private long _flushDone;
    private Exception? _cycleError;
    private volatile bool _closing;
    private volatile bool _disposed;
    private bool _writerExited;                          // under _flushLock

    /// <summary>Opens (creating when missing) the database file; throws <see cref="StoreFileException"/> if it is unusable.</summary>
    public SqliteStore(SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        FilePath = Path.GetFullPath(options.Path);
        Clock = options.Clock;
        if (Directory.Exists(FilePath))
            throw new StoreFileException(FilePath, "this is a folder, not a database file");
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);

        NativeConnection? writer = null;
        try
        {
            writer = new NativeConnection(FilePath);
            string? mode = writer.Scalar("PRAGMA journal_mode=WAL");
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                throw new StoreFileException(FilePath, $"it cannot be switched to WAL journaling (SQLite answered '{mode}')");
            writer.Exec("PRAGMA synchronous=NORMAL");
            // Big commits (imports) touch many pages; a larger page cache for the one writer keeps them in memory.
            writer.Exec("PRAGMA cache_size=-32768");
            if (options.VerifyOnOpen)
            {
                string? check = writer.Scalar("PRAGMA quick_check");
                if (check != "ok") throw new StoreFileException(FilePath, "SQLite's quick_check reports: " + check);
            }
            InitSchema(writer);
        }
        catch (SqliteException ex)
        {
            writer?.Dispose();
            throw SqliteErrors.Describe(FilePath, ex);
        }
        catch
        {
            writer?.Dispose();
            throw;
        }
        _writer = writer;
        _writerThread = new Thread(WriterLoop) { IsBackground = true, Name = "assp-store-writer" };
        _writerThread.Start();
    }

    /// <summary>Opens <c>data/assp.db</c> below an ASSP base folder with default settings.</summary>
    public static SqliteStore OpenInBase(string baseFolder, TimeProvider? clock = null) =>
        new(new SqliteStoreOptions { Path = SqliteStoreOptions.DefaultPath(baseFolder), Clock = clock ?? TimeProvider.System });

    public string FilePath { get; }
    public TimeProvider Clock { get; }

    /// <summary>The error of the last commit attempt, or null when it succeeded (failed writes are retried).</summary>
    public Exception? LastWriteError { get { lock (_flushLock) return _cycleError; } }

    public IReadOnlyCollection<string> TableNames
    {
        get
        {
            lock (_catalogLock) return [.. _catalog.Keys.Union(_tables.Keys).Order(StringComparer.Ordinal)];
        }
    }

    public IStoreTable Table(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_tables.TryGetValue(name, out var table)) return table;
        lock (_catalogLock)
        {
            if (_tables.TryGetValue(name, out table)) return table;
            ThrowIfClosing();
            string sqlName = EnsureSqlTable(name);
            table = new SqliteTable(this, name, sqlName, _options.HotCacheFor(name), _options.NegativeCacheEntries);
            table.Load(_options.PreloadHotCache);
            _tables[name] = table;
            return table;
        }
    }

    /// <summary>Memory figures of an opened table (null if it was not opened yet).</summary>
    public StoreTableInfo? Info(string name) => _tables.TryGetValue(name, out var t) ? t.Info : null;

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
                // Dispose's final commit ran before this request: nothing written since can be pending.
                if (_writerExited) throw new ObjectDisposedException(nameof(SqliteStore), $"The store {FilePath} is closed.");
                Monitor.Wait(_flushLock);
            }
            error = _cycleError;
        }
        if (error is not null)
            throw error as StoreFileException ?? new StoreFileException(FilePath, "pending writes could not be committed: " + error.Message, error);
    }

    public void Dispose()
    {
        if (_disposed) return;
        lock (_catalogLock)
        {
            if (_closing) return;
            _closing = true;     // from now on writes throw; the final commit below takes everything before this
        }
        long ticket = Interlocked.Increment(ref _flushRequested);
        _wake.Set();
        _writerThread.Join();
        Task[] rebuilds;
        lock (_rebuilds) rebuilds = [.. _rebuilds];
        try { Task.WaitAll(rebuilds); } catch (AggregateException) { }
        _disposed = true;
        Exception? error;
        lock (_flushLock) error = Interlocked.Read(ref _flushDone) >= ticket ? _cycleError : null;
        lock (_dbLock)
        {
            // Folds the WAL back into the file so it is complete on its own after a clean shutdown.
            try { _writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); } catch (SqliteException) { }
            _writer.Dispose();
        }
        while (_readers.TryTake(out var r)) r.Dispose();
        _wake.Dispose();
        if (error is not null)
            throw new StoreFileException(FilePath, "the last writes could not be committed on close: " + error.Message, error);
    }

    // ---------------------------------------------------------------- internals used by the tables

    internal void ThrowIfClosing()
    {
        if (_closing) throw new ObjectDisposedException(nameof(SqliteStore), $"The store {FilePath} is closed.");
    }

    internal NativeConnection RentReader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_readers.TryTake(out var conn)) return conn;
        try { return new NativeConnection(FilePath); }
        catch (SqliteException ex) { throw SqliteErrors.Describe(FilePath, ex); }
    }

    internal void ReturnReader(NativeConnection conn)
    {
        if (_disposed) conn.Dispose();
        else _readers.Add(conn);
    }

    // ---------------------------------------------------------------- schema and catalog

    private void InitSchema(NativeConnection db)
    {
        db.Exec("CREATE TABLE IF NOT EXISTS assp_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;" +
                "CREATE TABLE IF NOT EXISTS assp_tables (name TEXT PRIMARY KEY, sql_name TEXT NOT NULL UNIQUE) WITHOUT ROWID;" +
                $"INSERT OR IGNORE INTO assp_meta(key, value) VALUES('schema', '{SchemaVersion}');");
        string? version = db.Scalar("SELECT value FROM assp_meta WHERE key = 'schema'");
        if (!int.TryParse(version, out int v) || v > SchemaVersion)
            throw new StoreFileException(FilePath, $"it has schema version '{version}', this program knows only up to {SchemaVersion}");
        using var st = db.Prepare("SELECT name, sql_name FROM assp_tables");
        try
        {
            while (st.Step()) _catalog[st.Text(0)] = st.Text(1);
        }
        finally { st.Reset(); }
    }

    private string EnsureSqlTable(string name)
    {
        lock (_dbLock)
        {
            try
            {
                bool known = _catalog.TryGetValue(name, out var sqlName);
                sqlName ??= UniqueSqlName(name);
                _writer.Exec("BEGIN IMMEDIATE");
                try
                {
                    _writer.Exec($"CREATE TABLE IF NOT EXISTS \"{sqlName}\" (key TEXT PRIMARY KEY, value TEXT NOT NULL, " +
                                 "updated INTEGER NOT NULL) WITHOUT ROWID");
                    if (!known)
                    {
                        using var ins = _writer.Prepare("INSERT INTO assp_tables(name, sql_name) VALUES(?1, ?2)");
                        ins.BindText(1, name);
                        ins.BindText(2, sqlName);
                        ins.Run();
                    }
                    _writer.Exec("COMMIT");
                }
                catch
                {
                    TryRollback();
                    throw;
                }
                _catalog[name] = sqlName;
                return sqlName;
            }
            catch (SqliteException ex) { throw SqliteErrors.Describe(FilePath, ex); }
        }
    }

    /// <summary>"pbdb.black.db" becomes t_pbdb_black_db; a clash with another name gets a number.</summary>
    private string UniqueSqlName(string name)
    {
        var sb = new StringBuilder("t_");
        foreach (char c in name.ToLowerInvariant())
            sb.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '_');
        if (sb.Length > 60) sb.Length = 60;
        string candidate = sb.ToString();
        var used = new HashSet<string>(_catalog.Values, StringComparer.OrdinalIgnoreCase);
        for (int i = 2; used.Contains(candidate); i++) candidate = sb + "_" + i;
        return candidate;
    }

    private void TryRollback()
    {
        try { _writer.Exec("ROLLBACK"); } catch (SqliteException) { }
    }

    // ---------------------------------------------------------------- the writer thread

    private void WriterLoop()
    {
        while (true)
        {
            _wake.Wait(_options.FlushInterval);
            _wake.Reset();
            long target = Interlocked.Read(ref _flushRequested);
            bool last = _closing;
            Exception? error = null;
            try { CommitOnce(); }
            catch (Exception ex) { error = ex is SqliteException se ? SqliteErrors.Describe(FilePath, se) : ex; }
            lock (_flushLock)
            {
                _cycleError = error;
                Interlocked.Exchange(ref _flushDone, target);
                _writerExited = last;
                Monitor.PulseAll(_flushLock);
            }
            if (last) return;
            if (error is null) StartFilterRebuilds();
        }
    }

    private void CommitOnce()
    {
        var batches = new List<(SqliteTable Table, SqliteTable.Batch Batch)>();
        foreach (var table in _tables.Values)
            if (table.TakeBatch() is { } batch) batches.Add((table, batch));
        if (batches.Count == 0) return;
        lock (_dbLock)
        {
            try
            {
                _writer.Exec("BEGIN IMMEDIATE");
                foreach (var (table, batch) in batches) table.Write(_writer, batch);
                _writer.Exec("COMMIT");
            }
            catch
            {
                TryRollback();
                foreach (var (table, batch) in batches) table.CommitFailed(batch);
                throw;
            }
        }
        foreach (var (table, batch) in batches) table.Committed(batch);
    }

    private void StartFilterRebuilds()
    {
        foreach (var table in _tables.Values)
        {
            if (!table.FilterNeedsRebuild) continue;
            lock (_rebuilds)
            {
                _rebuilds.RemoveAll(t => t.IsCompleted);
                // A failed rebuild leaves the old filter, which is still correct (only less selective).
                _rebuilds.Add(Task.Run(() => { try { table.RebuildFilter(); } catch (Exception) { } }));
            }
        }
    }
}
