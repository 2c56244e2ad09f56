using System.Collections.Concurrent;
using System.Globalization;
using Assp.Storage;

namespace Assp.Checks.Dns;

/// <summary>
/// A verdict cache like ASSP's RBLCache/URIBLCache/RWLCache/BackDNS: key → value until its lifetime ends. A zero
/// lifetime stores nothing. In memory by default; given one of ASSP's tables (pbdb.rbl.db, …) it keeps the records
/// there in ASSP's text form, so they outlive a restart and take part in import and export.
/// </summary>
public sealed class ExpiringCache<T>(Func<DateTimeOffset>? clock = null)
{
    private readonly ConcurrentDictionary<string, (T Value, DateTimeOffset Expires)> _items = new(StringComparer.OrdinalIgnoreCase);
    private Func<DateTimeOffset> _clock = clock ?? (() => DateTimeOffset.UtcNow);
    private IStoreTable? _table;
    private Func<T, long, string>? _encode;
    private Func<string, T?>? _decode;

    /// <summary>The table behind the cache, if any.</summary>
    public IStoreTable? Table => _table;

    public long Count => _table?.Count ?? _items.Count;

    /// <summary>
    /// Keeps the records in <paramref name="table"/>: <paramref name="encode"/> writes a value with its creation time
    /// (Unix seconds) in ASSP's layout, <paramref name="decode"/> reads one back (null for a record it cannot read);
    /// <paramref name="clock"/> (the store's) decides what is expired.
    /// </summary>
    public void UseTable(IStoreTable table, Func<T, long, string> encode, Func<string, T?> decode, TimeProvider clock)
    {
        _encode = encode;
        _decode = decode;
        _clock = clock.GetUtcNow;
        _table = table;
    }

    /// <summary>The value of <paramref name="key"/> while it is younger than <paramref name="lifetime"/> (for a table record: its lifetime by value).</summary>
    public bool TryGet(string key, out T value, Func<T, TimeSpan>? lifetime = null)
    {
        if (_table is { } table)
        {
            if (table.TryGet(key, out var rec) && _decode!(rec.Value) is { } decoded
                && lifetime?.Invoke(decoded) is { } life && life > TimeSpan.Zero
                && DateTimeOffset.FromUnixTimeSeconds(rec.Updated) + life > _clock())
            {
                value = decoded;
                return true;
            }
            value = default!;
            return false;
        }
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
        if (lifetime <= TimeSpan.Zero) return;
        if (_table is { } table)
        {
            long now = _clock().ToUnixTimeSeconds();
            table.Set(key, _encode!(value, now), now);
            return;
        }
        _items[key] = (value, _clock() + lifetime);
    }

    public void Remove(string key)
    {
        if (_table is { } table) table.Remove(key);
        else _items.TryRemove(key, out _);
    }

    /// <summary>Drops the records older than their lifetime (the periodic clean-up); returns how many.</summary>
    public int Clean(Func<T, TimeSpan>? lifetime = null)
    {
        var now = _clock();
        if (_table is { } table)
            return table.RemoveWhere((_, rec) => _decode!(rec.Value) is not { } v || lifetime is null
                || DateTimeOffset.FromUnixTimeSeconds(rec.Updated) + lifetime(v) <= now);
        int removed = 0;
        foreach (var kv in _items)
            if (kv.Value.Expires <= now && _items.TryRemove(kv)) removed++;
        return removed;
    }

    /// <summary>ASSP's time stamp beside the Unix time in RBLCache records: local time as yyyy-MM-dd/HH:mm:ss.</summary>
    internal static string AsspStamp(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToLocalTime().ToString("yyyy-MM-dd/HH:mm:ss", CultureInfo.InvariantCulture);
}
