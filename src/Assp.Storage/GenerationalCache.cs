using System.Collections.Concurrent;

namespace Assp.Storage;

/// <summary>
/// A bounded map with lock-free reads: new entries go to the current generation; when it reaches half the
/// capacity it becomes the previous one and the old previous is dropped, so rarely used entries age out after
/// two generations while a hit in the previous generation is copied forward. Callers serialise all mutations
/// (the table lock); reads may run at any time.
/// </summary>
internal sealed class GenerationalCache<TValue>
{
    private readonly int _generationSize;
    private volatile ConcurrentDictionary<string, TValue> _current = New();
    private volatile ConcurrentDictionary<string, TValue> _previous = New();
    private int _currentCount;

    public GenerationalCache(int capacity)
    {
        Capacity = Math.Max(capacity, 0);
        _generationSize = Math.Max(Capacity / 2, 1);
    }

    public int Capacity { get; }

    /// <summary>Entries held now (both generations; a key may be counted twice).</summary>
    public int ApproximateCount => _currentCount + _previous.Count;

    /// <summary>Room left in the current generation before it turns over.</summary>
    public int FreeInCurrent => Math.Max(_generationSize - _currentCount, 0);

    /// <summary>Looks a key up; <paramref name="inPrevious"/> tells the caller it may copy the entry forward.</summary>
    public bool TryGet(string key, out TValue value, out bool inPrevious)
    {
        if (_current.TryGetValue(key, out value!)) { inPrevious = false; return true; }
        inPrevious = true;
        return _previous.TryGetValue(key, out value!);
    }

    /// <summary>Inserts or replaces (caller holds the table lock).</summary>
    public void Set(string key, TValue value)
    {
        if (Capacity == 0) return;
        var current = _current;
        if (!current.ContainsKey(key))
        {
            if (_currentCount >= _generationSize) current = Rotate();
            _currentCount++;
        }
        current[key] = value;
        _previous.TryRemove(key, out _);
    }

    /// <summary>Inserts only when the key is not in the current generation (caller holds the table lock).</summary>
    public void AddIfAbsent(string key, TValue value)
    {
        if (Capacity == 0) return;
        var current = _current;
        if (current.ContainsKey(key)) return;
        if (_currentCount >= _generationSize) current = Rotate();
        current[key] = value;
        _currentCount++;
    }

    public void Remove(string key)
    {
        if (_current.TryRemove(key, out _)) _currentCount--;
        _previous.TryRemove(key, out _);
    }

    public void Clear()
    {
        _previous = New();
        _current = New();
        _currentCount = 0;
    }

    private ConcurrentDictionary<string, TValue> Rotate()
    {
        _previous = _current;
        var fresh = New();
        _current = fresh;
        _currentCount = 0;
        return fresh;
    }

    private static ConcurrentDictionary<string, TValue> New() => new(StringComparer.Ordinal);
}
