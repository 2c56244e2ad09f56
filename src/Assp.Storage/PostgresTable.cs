using System.Collections.Concurrent;

namespace Assp.Storage;

/// <summary>
/// One ASSP database inside a <see cref="PostgresStore"/>: every record of the table is held in memory (lock-free
/// reads), so lookups never wait for the network and keep working while the database is away. Writes change
/// memory at once and queue for the store's writer; rows other nodes changed arrive through the store's catch-up.
/// </summary>
internal sealed class PostgresTable : IStoreTable
{
    internal sealed record Batch(Dictionary<string, StoreRecord?> Entries, bool Clear, long ClearGeneration);

    private readonly PostgresStore _store;
    private readonly object _lock = new();
    private readonly ConcurrentDictionary<string, StoreRecord> _data = new(StringComparer.Ordinal);
    private Dictionary<string, StoreRecord?> _pending = new(StringComparer.Ordinal);   // null marks a removal
    private bool _clearRequested;
    private long _clearGeneration;

    public PostgresTable(PostgresStore store, string name, bool isCache)
    {
        _store = store;
        Name = name;
        IsCache = isCache;
    }

    public string Name { get; }
    internal bool IsCache { get; }

    // The database side, touched by the store under its catalog lock or on its writer thread.
    internal string? SqlName { get; set; }
    internal bool Loaded { get; set; }
    internal long LastRev { get; set; }
    internal DateTimeOffset LastContact { get; set; }

    public long Count => _data.Count;

    internal int QueuedWrites
    {
        get { lock (_lock) return _pending.Count; }
    }

    // ---------------------------------------------------------------- reads (memory only)

    public bool TryGet(string key, out StoreRecord record)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _data.TryGetValue(key, out record);
    }

    public bool TryGetValue(string key, out string value)
    {
        bool found = TryGet(key, out var record);
        value = found ? record.Value : "";
        return found;
    }

    public bool ContainsKey(string key) => TryGet(key, out _);

    public IEnumerable<KeyValuePair<string, StoreRecord>> Scan(string? keyPrefix = null) =>
        [.. _data.Where(kv => keyPrefix is null || kv.Key.StartsWith(keyPrefix, StringComparison.Ordinal))];

    // ---------------------------------------------------------------- writes

    public void Set(string key, string value) => Set(key, value, _store.Clock.GetUtcNow().ToUnixTimeSeconds());

    public void Set(string key, string value, long updated)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        var record = new StoreRecord(value, updated);
        bool queue = _store.ShouldQueue(this);
        lock (_lock)
        {
            _store.ThrowIfClosing();
            _data[key] = record;
            if (queue) _pending[key] = record;
        }
    }

    public bool Remove(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            _store.ThrowIfClosing();
            if (!_data.TryRemove(key, out _)) return false;
            _pending[key] = null;
            return true;
        }
    }

    public int RemoveWhere(Func<string, StoreRecord, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        int removed = 0;
        foreach (var (key, seen) in _data.ToArray())
        {
            if (!predicate(key, seen)) continue;
            lock (_lock)
            {
                _store.ThrowIfClosing();
                // The record may have changed since it was seen: decide again on what is there now.
                if (_data.TryGetValue(key, out var now) && predicate(key, now) && _data.TryRemove(key, out _))
                {
                    _pending[key] = null;
                    removed++;
                }
            }
        }
        return removed;
    }

    public void Clear()
    {
        lock (_lock)
        {
            _store.ThrowIfClosing();
            _data.Clear();
            _pending = new Dictionary<string, StoreRecord?>(StringComparer.Ordinal);
            _clearRequested = true;
            _clearGeneration++;
        }
    }

    /// <summary>A write read back from the spill file of the last run: queued as it was, memory updated.</summary>
    internal void Restore(string key, StoreRecord? record)
    {
        lock (_lock)
        {
            if (record is { } r) _data[key] = r;
            else _data.TryRemove(key, out _);
            _pending[key] = record;
        }
    }

    /// <summary>A clear read back from the spill file: sent before the writes that follow it.</summary>
    internal void RestoreClear()
    {
        lock (_lock)
        {
            _data.Clear();
            _pending.Clear();
            _clearRequested = true;
            _clearGeneration++;
        }
    }

    /// <summary>What is queued, for the spill file (clear first if requested).</summary>
    internal (bool Clear, KeyValuePair<string, StoreRecord?>[] Entries) QueuedSnapshot()
    {
        lock (_lock) return (_clearRequested, [.. _pending]);
    }

    // ---------------------------------------------------------------- the writer's side

    internal Batch? TakeBatch()
    {
        lock (_lock)
        {
            if (_pending.Count == 0 && !_clearRequested) return null;
            var batch = new Batch(_pending, _clearRequested, _clearGeneration);
            _pending = new Dictionary<string, StoreRecord?>(StringComparer.Ordinal);
            _clearRequested = false;
            return batch;
        }
    }

    /// <summary>The batch did not reach the database: queue it again under the writes made since.</summary>
    internal void CommitFailed(Batch batch)
    {
        lock (_lock)
        {
            if (batch.ClearGeneration != _clearGeneration) return;     // cleared since: the batch is moot
            if (batch.Clear) _clearRequested = true;
            foreach (var (key, record) in batch.Entries)
                _pending.TryAdd(key, record);
        }
    }

    /// <summary>
    /// Rows changed in the database (by any node): applied unless this node has a newer write of the key queued,
    /// which will overwrite the row when it is sent.
    /// </summary>
    internal void ApplyChanges(IEnumerable<(string Key, StoreRecord? Record)> rows)
    {
        lock (_lock)
        {
            if (_clearRequested) return;
            foreach (var (key, record) in rows)
            {
                if (_pending.ContainsKey(key)) continue;
                if (record is { } r) _data[key] = r;
                else _data.TryRemove(key, out _);
            }
        }
    }

    /// <summary>
    /// The whole table as the database holds it now: memory becomes that plus the queued writes, changed key by key
    /// so a concurrent reader never sees the table empty.
    /// </summary>
    internal void ReplaceAll(Dictionary<string, StoreRecord> rows)
    {
        lock (_lock)
        {
            if (_clearRequested) return;
            foreach (var key in _data.Keys)
                if (!rows.ContainsKey(key) && !_pending.ContainsKey(key)) _data.TryRemove(key, out _);
            foreach (var (key, record) in rows)
                if (!_pending.ContainsKey(key)) _data[key] = record;
        }
    }
}
