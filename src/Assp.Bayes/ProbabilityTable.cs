using System.Runtime.CompilerServices;

namespace Assp.Bayes;

/// <summary>
/// An immutable token → probability map: open addressing over a power-of-two array of 64-bit key hashes and a
/// parallel array of floats (12 bytes a slot, at most half the slots used: about 24 MB for 1,000,000 tokens).
/// Readers never lock; a rebuilt table replaces the old one as a whole.
/// </summary>
public sealed class ProbabilityTable
{
    private readonly ulong[] _keys;
    private readonly float[] _values;
    private readonly int _mask;

    public static readonly ProbabilityTable Empty = new(0);

    public int Count { get; private set; }

    private ProbabilityTable(int expected)
    {
        int size = 16;
        while (size < expected * 2) size <<= 1;
        _keys = new ulong[size];
        _values = new float[size];
        _mask = size - 1;
    }

    /// <summary>Builds a table; a later duplicate key replaces an earlier one.</summary>
    public static ProbabilityTable Build(IEnumerable<KeyValuePair<ulong, float>> entries, int expectedCount)
    {
        var table = new ProbabilityTable(expectedCount);
        foreach (var (key, value) in entries) table.Put(key, value);
        return table;
    }

    public static ProbabilityTable Build(IReadOnlyCollection<KeyValuePair<ulong, float>> entries) => Build(entries, entries.Count);

    private void Put(ulong key, float value)
    {
        key = TokenHash.Finish(key);
        if (Count * 2 >= _keys.Length) throw new InvalidOperationException("probability table is full");
        int slot = Slot(key);
        while (_keys[slot] != 0 && _keys[slot] != key) slot = (slot + 1) & _mask;
        if (_keys[slot] == 0) Count++;
        _keys[slot] = key;
        _values[slot] = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> 32) & _mask;

    /// <summary>The probability stored for the hash, or 0 when the token is unknown.</summary>
    public float Get(ulong key)
    {
        key = TokenHash.Finish(key);
        int slot = Slot(key);
        while (true)
        {
            ulong k = _keys[slot];
            if (k == key) return _values[slot];
            if (k == 0) return 0;
            slot = (slot + 1) & _mask;
        }
    }

    /// <summary>Bytes held by the arrays.</summary>
    public long MemoryBytes => (long)_keys.Length * (sizeof(ulong) + sizeof(float));

    public IEnumerable<KeyValuePair<ulong, float>> Entries()
    {
        for (int i = 0; i < _keys.Length; i++)
            if (_keys[i] != 0) yield return new(_keys[i], _values[i]);
    }
}
