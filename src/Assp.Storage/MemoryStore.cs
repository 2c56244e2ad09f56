using System.Collections.Concurrent;

namespace Assp.Storage;

/// <summary>A store that lives only in memory: for tests, the analyzer and instances run without a data folder.</summary>
public sealed class MemoryStore(TimeProvider? clock = null) : IStore
{
    private readonly ConcurrentDictionary<string, MemoryTable> _tables = new(StringComparer.Ordinal);

    public TimeProvider Clock { get; } = clock ?? TimeProvider.System;
    public IStoreTable Table(string name) => _tables.GetOrAdd(name, n => new MemoryTable(n, Clock));
    public IReadOnlyCollection<string> TableNames => [.. _tables.Keys];
    public void Flush() { }
    public void Dispose() { }

    private sealed class MemoryTable(string name, TimeProvider clock) : IStoreTable
    {
        private readonly ConcurrentDictionary<string, StoreRecord> _data = new(StringComparer.Ordinal);
        public string Name => name;
        public long Count => _data.Count;
        public bool TryGet(string key, out StoreRecord record) => _data.TryGetValue(key, out record);
        public bool TryGetValue(string key, out string value)
        {
            var found = _data.TryGetValue(key, out var record);
            value = found ? record.Value : "";
            return found;
        }
        public bool ContainsKey(string key) => _data.ContainsKey(key);
        public void Set(string key, string value) => Set(key, value, clock.GetUtcNow().ToUnixTimeSeconds());
        public void Set(string key, string value, long updated) => _data[key] = new StoreRecord(value, updated);
        public bool Remove(string key) => _data.TryRemove(key, out _);
        public IEnumerable<KeyValuePair<string, StoreRecord>> Scan(string? keyPrefix = null) =>
            [.. _data.Where(kv => keyPrefix is null || kv.Key.StartsWith(keyPrefix, StringComparison.Ordinal))];
        public int RemoveWhere(Func<string, StoreRecord, bool> predicate)
        {
            int removed = 0;
            foreach (var kv in _data)
                if (predicate(kv.Key, kv.Value) && _data.TryRemove(kv)) removed++;
            return removed;
        }
        public void Clear() => _data.Clear();
    }
}
