using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Assp.Storage;

/// <summary>
/// One ASSP database inside a <see cref="SqliteStore"/>.
///
/// Where a lookup is answered, in order (no step takes a lock to read):
/// 1. the pending writes (not yet committed), 2. the key filter: "certainly absent" ends most misses here, with one
/// hash and one cache line (every key in the file, pending or cached is in it), 3. the bounded hot cache, 4. a small
/// negative cache, 5. one indexed read from the file, whose answer then goes into the hot or negative cache.
/// See bench/README.md ("Storage") for why this beat loading every record.
///
/// Writes change memory at once (pending map, hot cache, filter, count) under the table lock and are committed by
/// the store's writer thread. The lock is never held while the writer talks to the disk, so neither readers nor
/// writers wait for a commit. A sequence number, bumped by every write, keeps a slow read that raced a write from
/// caching the older value.
/// </summary>
internal sealed class SqliteTable : IStoreTable
{
    /// <summary>The writes not yet in the file: <c>null</c> marks a removal.</summary>
    internal sealed class Pending : ConcurrentDictionary<string, StoreRecord?>
    {
        private int _writes;

        public Pending() : base(StringComparer.Ordinal) { }

        /// <summary>Lock-free "anything here?" (ConcurrentDictionary.IsEmpty locks when it is empty).</summary>
        public bool HasWrites => Volatile.Read(ref _writes) != 0;

        /// <summary>Only under the table lock.</summary>
        public void Write(string key, StoreRecord? value)
        {
            this[key] = value;
            Volatile.Write(ref _writes, _writes + 1);
        }
    }

    /// <summary>
    /// What readers consult, swapped as one reference so a reader sees a consistent set. <paramref name="Committing"/>
    /// is the batch the writer is storing right now (frozen). <paramref name="HideCommitted"/> is set by Clear until
    /// the writer has deleted the old rows.
    /// </summary>
    private sealed record View(Pending Active, Pending? Committing, bool HideCommitted);

    internal sealed record Batch(Pending Entries, bool Clear, long ClearGeneration);

    private readonly SqliteStore _store;
    private readonly object _lock = new();
    private readonly GenerationalCache<StoreRecord> _cache;
    private readonly GenerationalCache<byte> _negative;
    private readonly string _sqlGet, _sqlKeys, _sqlAll, _sqlFrom, _sqlUpsert, _sqlDelete, _sqlClear;

    private volatile View _view = new(new Pending(), null, false);
    private volatile KeyFilterChain _filter = new(new KeyFilter(0));
    private long _seq;
    private long _count;
    private bool _clearRequested;
    private long _clearGeneration;
    private long _removalsSinceBuild;
    private List<string>? _rebuildAdds;
    private int _rebuilding;
    private long _databaseReads;

    public SqliteTable(SqliteStore store, string name, string sqlName, int hotCache, int negativeCache)
    {
        _store = store;
        Name = name;
        SqlName = sqlName;
        _cache = new GenerationalCache<StoreRecord>(hotCache);
        _negative = new GenerationalCache<byte>(negativeCache);
        string t = "\"" + sqlName + "\"";
        _sqlGet = $"SELECT value, updated FROM {t} WHERE key = ?1";
        _sqlKeys = $"SELECT key FROM {t}";
        _sqlAll = $"SELECT key, value, updated FROM {t}";
        _sqlFrom = $"SELECT key, value, updated FROM {t} WHERE key >= ?1 ORDER BY key";
        _sqlUpsert = $"INSERT INTO {t}(key, value, updated) VALUES(?1, ?2, ?3) " +
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated = excluded.updated";
        _sqlDelete = $"DELETE FROM {t} WHERE key = ?1";
        _sqlClear = $"DELETE FROM {t}";
    }

    public string Name { get; }
    internal string SqlName { get; }

    /// <summary>Test hook: runs between a file read and caching its answer, to stage a race with a writer.</summary>
    internal Action<string>? AfterFileRead { get; set; }
    public long Count => Interlocked.Read(ref _count);

    internal StoreTableInfo Info
    {
        get
        {
            var filter = _filter;
            return new(Name, Count, _cache.ApproximateCount, _cache.Capacity, filter.MemoryBytes, filter.Length,
                Interlocked.Read(ref _databaseReads), _view.Active.Count);
        }
    }

    // ---------------------------------------------------------------- reads

    public bool TryGetValue(string key, out string value)
    {
        bool found = TryGet(key, out var record);
        value = found ? record.Value : "";
        return found;
    }

    public bool ContainsKey(string key) => TryGet(key, out _);

    public bool TryGet(string key, out StoreRecord record)
    {
        ArgumentNullException.ThrowIfNull(key);
        // Read before anything else: any write that lands after this point stops us caching what we read.
        long seq = Volatile.Read(ref _seq);
        var view = _view;
        if ((view.Active.HasWrites && view.Active.TryGetValue(key, out var pending)) ||
            (view.Committing is { } committing && committing.TryGetValue(key, out pending)))
            return Found(pending, out record);
        if (view.HideCommitted || !_filter.MightContain(key)) { record = default; return false; }
        if (_cache.TryGet(key, out record, out bool inPrevious))
        {
            if (inPrevious) Promote(key, record, seq);
            return true;
        }
        if (_negative.TryGet(key, out _, out _)) { record = default; return false; }
        return ReadThrough(key, seq, out record);
    }

    private static bool Found(StoreRecord? pending, out StoreRecord record)
    {
        record = pending.GetValueOrDefault();
        return pending.HasValue;
    }

    private void Promote(string key, StoreRecord record, long seq)
    {
        lock (_lock)
            if (_seq == seq) _cache.AddIfAbsent(key, record);
    }

    private bool ReadThrough(string key, long seq, out StoreRecord record)
    {
        Interlocked.Increment(ref _databaseReads);
        var conn = _store.RentReader();
        bool found;
        try
        {
            var st = conn.Cached(_sqlGet);
            try
            {
                st.BindText(1, key);
                found = st.Step();
                record = found ? new StoreRecord(st.Text(0), st.Int64(1)) : default;
            }
            finally { st.Reset(); }
        }
        catch (SqliteException ex) { throw SqliteErrors.Describe(_store.FilePath, ex); }
        finally { _store.ReturnReader(conn); }

        AfterFileRead?.Invoke(key);
        lock (_lock)
        {
            if (_seq == seq)
            {
                if (found) _cache.AddIfAbsent(key, record);
                else _negative.AddIfAbsent(key, 0);
            }
        }
        return found;
    }

    // ---------------------------------------------------------------- writes

    public void Set(string key, string value) => Set(key, value, _store.Clock.GetUtcNow().ToUnixTimeSeconds());

    public void Set(string key, string value, long updated)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        var record = new StoreRecord(value, updated);
        lock (_lock)
        {
            _store.ThrowIfClosing();
            bool existed = TryGet(key, out _);
            Interlocked.Increment(ref _seq);
            _view.Active.Write(key, record);
            _cache.Set(key, record);
            _negative.Remove(key);
            if (!existed && Interlocked.Increment(ref _count) > _filter.Capacity) _filter = _filter.Grow();
            _filter.Add(key);
            _rebuildAdds?.Add(key);
        }
    }

    public bool Remove(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            _store.ThrowIfClosing();
            if (!TryGet(key, out _)) return false;
            RemoveLocked(key);
            return true;
        }
    }

    private void RemoveLocked(string key)
    {
        Interlocked.Increment(ref _seq);
        _view.Active.Write(key, null);
        _cache.Remove(key);
        _negative.Set(key, 0);
        Interlocked.Decrement(ref _count);
        _removalsSinceBuild++;
    }

    public void Clear()
    {
        lock (_lock)
        {
            _store.ThrowIfClosing();
            Interlocked.Increment(ref _seq);
            // Rows still in the file stay hidden until the writer has deleted them; a batch being committed now
            // predates the clear, so it is dropped from view as well.
            _view = new View(new Pending(), null, true);
            _clearRequested = true;
            _clearGeneration++;
            _cache.Clear();
            _negative.Clear();
            _filter = new KeyFilterChain(new KeyFilter(0));
            _removalsSinceBuild = 0;
            Interlocked.Exchange(ref _count, 0);
        }
    }

    // ---------------------------------------------------------------- scans

    public IEnumerable<KeyValuePair<string, StoreRecord>> Scan(string? keyPrefix = null)
    {
        var result = new List<KeyValuePair<string, StoreRecord>>();
        ForEachRecord(keyPrefix, (k, r) => result.Add(new(k, r)));
        return result;
    }

    public int RemoveWhere(Func<string, StoreRecord, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var candidates = new List<string>();
        ForEachRecord(null, (k, r) => { if (predicate(k, r)) candidates.Add(k); });
        int removed = 0;
        foreach (var key in candidates)
        {
            lock (_lock)
            {
                _store.ThrowIfClosing();
                // The record may have changed since it was seen: decide again on what is there now.
                if (TryGet(key, out var now) && predicate(key, now))
                {
                    RemoveLocked(key);
                    removed++;
                }
            }
        }
        return removed;
    }

    /// <summary>
    /// Visits every record: the file's rows overlaid with the pending writes, captured together first so that a
    /// commit running meanwhile can neither hide nor duplicate a record.
    /// </summary>
    private void ForEachRecord(string? prefix, Action<string, StoreRecord> visit)
    {
        Dictionary<string, StoreRecord?> overlay;
        bool hide;
        lock (_lock)
        {
            var view = _view;
            hide = view.HideCommitted;
            overlay = new Dictionary<string, StoreRecord?>(StringComparer.Ordinal);
            if (view.Committing is not null)
                foreach (var kv in view.Committing) overlay[kv.Key] = kv.Value;
            foreach (var kv in view.Active) overlay[kv.Key] = kv.Value;
        }
        if (prefix is not null)
            foreach (var k in overlay.Keys.Where(k => !k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
                overlay.Remove(k);

        if (!hide)
        {
            var conn = _store.RentReader();
            try
            {
                using var st = conn.Prepare(prefix is null ? _sqlAll : _sqlFrom);
                try
                {
                    if (prefix is not null) st.BindText(1, prefix);
                    while (st.Step())
                    {
                        string key = st.Text(0);
                        // Rows come in byte order, so the keys with the prefix are one run.
                        if (prefix is not null && !key.StartsWith(prefix, StringComparison.Ordinal)) break;
                        if (overlay.Remove(key, out var pending))
                        {
                            if (pending.HasValue) visit(key, pending.Value);
                        }
                        else visit(key, new StoreRecord(st.Text(1), st.Int64(2)));
                    }
                }
                finally { st.Reset(); }
            }
            catch (SqliteException ex) { throw SqliteErrors.Describe(_store.FilePath, ex); }
            finally { _store.ReturnReader(conn); }
        }
        foreach (var (key, pending) in overlay)
            if (pending.HasValue) visit(key, pending.Value);
    }

    // ---------------------------------------------------------------- loading and the key filter

    /// <summary>Reads every key once to size and fill the filter and the count; preloads values into the hot cache.</summary>
    internal void Load(bool preload)
    {
        long count = 0;
        var filter = ScanKeysInto(preload ? _cache.FreeInCurrent : 0, 0, ref count);
        lock (_lock)
        {
            _filter = new KeyFilterChain(filter);
            Interlocked.Exchange(ref _count, count);
        }
    }

    /// <summary>
    /// Builds a right-sized filter from one pass over the file: the key hashes are collected first (8 bytes a key,
    /// briefly) because counting the rows beforehand would read the whole table twice.
    /// <paramref name="preloadRoom"/> records also go to the hot cache.
    /// </summary>
    private KeyFilter ScanKeysInto(int preloadRoom, long minCapacity, ref long count)
    {
        var conn = _store.RentReader();
        char[] buffer = ArrayPool<char>.Shared.Rent(256);
        var hashes = new List<ulong>();
        try
        {
            using var st = conn.Prepare(preloadRoom > 0 ? _sqlAll : _sqlKeys);
            try
            {
                while (st.Step())
                {
                    var utf8 = st.Utf8(0);
                    int max = Encoding.UTF8.GetMaxCharCount(utf8.Length);
                    if (max > buffer.Length)
                    {
                        ArrayPool<char>.Shared.Return(buffer);
                        buffer = ArrayPool<char>.Shared.Rent(max);
                    }
                    int n = Encoding.UTF8.GetChars(utf8, buffer);
                    var key = buffer.AsSpan(0, n);
                    hashes.Add(KeyFilter.Hash(key));
                    if (preloadRoom > 0)
                    {
                        preloadRoom--;
                        var k = new string(key);
                        var rec = new StoreRecord(st.Text(1), st.Int64(2));
                        lock (_lock) _cache.AddIfAbsent(k, rec);
                    }
                }
            }
            finally { st.Reset(); }
        }
        catch (SqliteException ex) { throw SqliteErrors.Describe(_store.FilePath, ex); }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
            _store.ReturnReader(conn);
        }
        count = hashes.Count;
        var filter = new KeyFilter(Math.Max(Math.Max(hashes.Count * 3L / 2, minCapacity), 16_384));
        foreach (var h in hashes) filter.AddHash(h);
        return filter;
    }

    /// <summary>The filter grew into a chain or has many removed keys in it (checked after each commit).</summary>
    internal bool FilterNeedsRebuild
    {
        get
        {
            var f = _filter;
            return Volatile.Read(ref _rebuilding) == 0 &&
                   (f.Length > 1 || Interlocked.Read(ref _removalsSinceBuild) > f.Capacity / 2 + 1024);
        }
    }

    /// <summary>
    /// Rebuilds the filter while the table stays in use. Keys pending at the start and keys written during the
    /// scan are added before the swap, so a key the file gains meanwhile is never missing from the new filter.
    /// </summary>
    internal void RebuildFilter()
    {
        if (Interlocked.CompareExchange(ref _rebuilding, 1, 0) != 0) return;
        try
        {
            List<string> captured;
            long generation;
            lock (_lock)
            {
                var view = _view;
                captured = [.. view.Active.Keys];
                if (view.Committing is not null) captured.AddRange(view.Committing.Keys);
                _rebuildAdds = [];
                generation = _clearGeneration;
            }
            long scanned = 0;
            // Sized for what the table holds now, pending writes included (an import may be running).
            var filter = ScanKeysInto(0, (Count + captured.Count) * 3 / 2, ref scanned);
            foreach (var k in captured) filter.Add(k);      // still private: no lock needed
            lock (_lock)
            {
                if (_clearGeneration == generation)
                {
                    foreach (var k in _rebuildAdds!) filter.Add(k);
                    _filter = new KeyFilterChain(filter);
                    _removalsSinceBuild = 0;
                }
                _rebuildAdds = null;
            }
        }
        finally
        {
            lock (_lock) _rebuildAdds = null;
            Volatile.Write(ref _rebuilding, 0);
        }
    }

    // ---------------------------------------------------------------- the writer's side

    /// <summary>Hands the pending writes to the writer and opens a fresh pending map; null when nothing is due.</summary>
    internal Batch? TakeBatch()
    {
        lock (_lock)
        {
            var view = _view;
            if (!view.Active.HasWrites && !_clearRequested) return null;
            var batch = new Batch(view.Active, _clearRequested, _clearGeneration);
            _view = new View(new Pending(), view.Active, view.HideCommitted);
            return batch;
        }
    }

    internal void Write(NativeConnection writer, Batch batch)
    {
        if (batch.Clear) writer.Cached(_sqlClear).Run();
        var upsert = writer.Cached(_sqlUpsert);
        var delete = writer.Cached(_sqlDelete);
        // In key order the b-tree is written page after page instead of all over the file (big batches: imports).
        var entries = batch.Entries.ToArray();
        if (entries.Length > 64) Array.Sort(entries, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var (key, pending) in entries)
        {
            if (pending is { } rec)
            {
                upsert.BindText(1, key);
                upsert.BindText(2, rec.Value);
                upsert.BindInt64(3, rec.Updated);
                upsert.Run();
            }
            else
            {
                delete.BindText(1, key);
                delete.Run();
            }
        }
    }

    internal void Committed(Batch batch)
    {
        lock (_lock)
        {
            var view = _view;
            bool hide = view.HideCommitted;
            if (batch.Clear && batch.ClearGeneration == _clearGeneration)
            {
                _clearRequested = false;
                hide = false;
            }
            _view = new View(view.Active, ReferenceEquals(view.Committing, batch.Entries) ? null : view.Committing, hide);
        }
    }

    /// <summary>The commit failed: put the batch back under newer writes so the next cycle retries it.</summary>
    internal void CommitFailed(Batch batch)
    {
        lock (_lock)
        {
            var view = _view;
            if (batch.ClearGeneration == _clearGeneration)
                foreach (var (key, pending) in batch.Entries)
                    if (!view.Active.ContainsKey(key)) view.Active.Write(key, pending);
            _view = new View(view.Active, ReferenceEquals(view.Committing, batch.Entries) ? null : view.Committing,
                view.HideCommitted);
        }
    }
}

/// <summary>What one table holds in memory, for diagnostics and the benchmark.</summary>
/// <param name="FilterParts">1 normally; more while writes have outgrown the key filter and its rebuild is due.</param>
public sealed record StoreTableInfo(string Name, long Count, int CachedEntries, int CacheCapacity, long FilterBytes,
    int FilterParts, long DatabaseReads, int PendingWrites);
