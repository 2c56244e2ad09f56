using System.Collections.Concurrent;

namespace Assp.Checks.Dns;

/// <summary>A verdict cache like ASSP's RBLCache/URIBLCache/RWLCache: key → value until its lifetime ends. A zero lifetime stores nothing.</summary>
public sealed class ExpiringCache<T>(Func<DateTimeOffset>? clock = null)
{
    private readonly ConcurrentDictionary<string, (T Value, DateTimeOffset Expires)> _items = new(StringComparer.OrdinalIgnoreCase);
    private readonly Func<DateTimeOffset> _clock = clock ?? (() => DateTimeOffset.UtcNow);

    public int Count => _items.Count;

    public bool TryGet(string key, out T value)
    {
        if (_items.TryGetValue(key, out var e) && e.Expires > _clock())
        {
            value = e.Value;
            return true;
        }
        value = default!;
        return false;
    }

    public void Set(string key, T value, TimeSpan lifetime)
    {
        if (lifetime > TimeSpan.Zero) _items[key] = (value, _clock() + lifetime);
    }

    public void Remove(string key) => _items.TryRemove(key, out _);

    /// <summary>Drops expired entries (the periodic clean-up).</summary>
    public void Clean()
    {
        var now = _clock();
        foreach (var kv in _items)
            if (kv.Value.Expires <= now) _items.TryRemove(kv);
    }
}
