using System.Collections.Concurrent;

namespace Assp.Dns;

/// <summary>
/// One cache for all lookups: positive and negative answers until their TTL runs out, bounded in size. When full,
/// expired entries go first, then those closest to expiry, down to 90 % of the bound, so a flood of distinct names
/// costs one sweep per tenth of the capacity rather than one per insert.
/// </summary>
public sealed class DnsCache
{
    private readonly ConcurrentDictionary<(string Name, DnsRecordType Type), Entry> _entries = new();
    private readonly int _capacity;
    private readonly Func<long> _clock;
    private readonly object _pruneLock = new();

    private readonly record struct Entry(DnsResponse Response, long ExpiresMs);

    /// <param name="capacity">Most entries kept.</param>
    /// <param name="clock">Milliseconds, monotonic (tests pass their own).</param>
    public DnsCache(int capacity = 100_000, Func<long>? clock = null)
    {
        _capacity = Math.Max(16, capacity);
        _clock = clock ?? (() => Environment.TickCount64);
    }

    public int Count => _entries.Count;

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    private long _hits, _misses;

    public bool TryGet(string name, DnsRecordType type, out DnsResponse response)
    {
        if (_entries.TryGetValue((name, type), out var e))
        {
            if (e.ExpiresMs > _clock())
            {
                Interlocked.Increment(ref _hits);
                response = e.Response;
                return true;
            }
            _entries.TryRemove(new KeyValuePair<(string, DnsRecordType), Entry>((name, type), e));
        }
        Interlocked.Increment(ref _misses);
        response = null!;
        return false;
    }

    public void Set(string name, DnsRecordType type, DnsResponse response, TimeSpan ttl)
    {
        if (ttl <= TimeSpan.Zero) return;
        _entries[(name, type)] = new Entry(response.AsCached(), _clock() + (long)ttl.TotalMilliseconds);
        if (_entries.Count > _capacity) Prune();
    }

    public void Clear() => _entries.Clear();

    private void Prune()
    {
        // One pruner at a time; the others wait and then find the cache small again.
        lock (_pruneLock)
        {
            if (_entries.Count <= _capacity) return;
            long now = _clock();
            var snapshot = _entries.ToArray(); // a locked copy: safe while other threads insert
            int removed = 0;
            foreach (var kv in snapshot)
                if (kv.Value.ExpiresMs <= now && _entries.TryRemove(kv)) removed++;
            int excess = snapshot.Length - removed - _capacity * 9 / 10;
            if (excess <= 0) return;
            Array.Sort(snapshot, static (a, b) => a.Value.ExpiresMs.CompareTo(b.Value.ExpiresMs));
            foreach (var kv in snapshot)
            {
                if (excess <= 0) break;
                if (_entries.TryRemove(kv)) excess--;
            }
        }
    }
}
