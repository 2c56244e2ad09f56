using System.Runtime.CompilerServices;

namespace Assp.Bayes;

/// <summary>
/// An immutable token → probability map: open addressing over a power-of-two array of slots, each a 64-bit key hash
/// with its float beside it (16 bytes a slot, so a lookup touches one cache line; at most half the slots used: about
/// 32 MB for 1,000,000 tokens).
/// Readers never lock; a rebuilt table replaces the old one as a whole.
/// </summary>
public sealed class ProbabilityTable
{
    private struct Slot
    {
        public ulong Key;
        public float Value;
    }

    private readonly Slot[] _slots;
    private readonly int _mask;

    public static readonly ProbabilityTable Empty = new(0);

    public int Count { get; private set; }

    private ProbabilityTable(int expected)
    {
        int size = 16;
        while (size < expected * 2) size <<= 1;
        _slots = new Slot[size];
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
        if (Count * 2 >= _slots.Length) throw new InvalidOperationException("probability table is full");
        int slot = SlotOf(key);
        while (_slots[slot].Key != 0 && _slots[slot].Key != key) slot = (slot + 1) & _mask;
        if (_slots[slot].Key == 0) Count++;
        _slots[slot] = new Slot { Key = key, Value = value };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int SlotOf(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> 32) & _mask;

    /// <summary>The probability stored for the hash, or 0 when the token is unknown.</summary>
    public float Get(ulong key)
    {
        key = TokenHash.Finish(key);
        var slots = _slots;
        int slot = SlotOf(key);
        while (true)
        {
            ref readonly var entry = ref slots[slot];
            ulong k = entry.Key;
            if (k == key) return entry.Value;
            if (k == 0) return 0;
            slot = (slot + 1) & _mask;
        }
    }

    /// <summary>Bytes held by the arrays.</summary>
    public long MemoryBytes => (long)_slots.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<Slot>();

    public IEnumerable<KeyValuePair<ulong, float>> Entries()
    {
        for (int i = 0; i < _slots.Length; i++)
            if (_slots[i].Key != 0) yield return new(_slots[i].Key, _slots[i].Value);
    }
}
