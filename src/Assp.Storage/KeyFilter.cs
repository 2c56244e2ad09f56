using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Assp.Storage;

/// <summary>
/// A blocked Bloom filter over the keys of one table: "certainly absent" or "maybe present". Most whitelist and
/// PenaltyBox lookups for spam are misses, and this answers them from one cache line instead of a file read.
/// All probe bits of a key sit in one 512-bit block. Adding is thread-safe (atomic OR); lookups take no lock.
/// Keys cannot be removed: removals only raise the false-positive rate until the table rebuilds the filter.
/// </summary>
internal sealed class KeyFilter
{
    private const int BitsPerKey = 12;     // ~1 % false positives with 7 probes in 512-bit blocks
    private const int WordsPerBlock = 8;
    private const int Probes = 7;

    private readonly ulong[] _words;
    private readonly uint _blocks;

    public KeyFilter(long capacity)
    {
        Capacity = Math.Max(capacity, 1024);
        long blocks = (Capacity * BitsPerKey + 511) / 512;
        if (blocks > int.MaxValue / WordsPerBlock) blocks = int.MaxValue / WordsPerBlock;
        _blocks = (uint)blocks;
        _words = new ulong[_blocks * WordsPerBlock];
    }

    /// <summary>Keys the filter was sized for; beyond it the false-positive rate climbs and the table rebuilds it.</summary>
    public long Capacity { get; }

    public long MemoryBytes => _words.LongLength * sizeof(ulong);

    public void Add(ReadOnlySpan<char> key) => AddHash(Hash(key));

    public void AddHash(ulong h)
    {
        int block = BlockOf(h);
        ulong g = Remix(h);
        for (int i = 0; i < Probes; i++, g >>= 9)
        {
            int bit = (int)(g & 511);
            Interlocked.Or(ref _words[block + (bit >> 6)], 1UL << (bit & 63));
        }
    }

    public bool MightContain(ReadOnlySpan<char> key) => MightContainHash(Hash(key));

    public bool MightContainHash(ulong h)
    {
        int block = BlockOf(h);
        ulong g = Remix(h);
        var words = _words;
        for (int i = 0; i < Probes; i++, g >>= 9)
        {
            int bit = (int)(g & 511);
            if ((words[block + (bit >> 6)] & (1UL << (bit & 63))) == 0) return false;
        }
        return true;
    }

    private int BlockOf(ulong h) => (int)(((h >> 32) * _blocks) >> 32) * WordsPerBlock;

    private static ulong Remix(ulong h)
    {
        h ^= h >> 31;
        h *= 0x7FB5D329728EA185UL;
        h ^= h >> 27;
        return h;
    }

    /// <summary>A fast 64-bit hash of UTF-16 text (not cryptographic; the filter is rebuilt on every open).</summary>
    internal static ulong Hash(ReadOnlySpan<char> key)
    {
        var bytes = MemoryMarshal.AsBytes(key);
        ulong h = 0x9E3779B97F4A7C15UL ^ (ulong)bytes.Length;
        while (bytes.Length >= 8)
        {
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            h = BitOperations.RotateLeft(h ^ (v * 0xC2B2AE3D27D4EB4FUL), 31) * 0x9E3779B97F4A7C15UL;
            bytes = bytes[8..];
        }
        if (bytes.Length > 0)
        {
            ulong v = 0;
            for (int i = 0; i < bytes.Length; i++) v |= (ulong)bytes[i] << (8 * i);
            h = BitOperations.RotateLeft(h ^ (v * 0xC2B2AE3D27D4EB4FUL), 31) * 0x9E3779B97F4A7C15UL;
        }
        // murmur3 finalizer: spreads the last block into the high bits that pick the block.
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        return h;
    }
}

/// <summary>
/// The filters of one table: normally one; when writes outgrow it, another twice as big is added for the new keys
/// (a lookup asks each), so a bulk import never sees a saturated filter. The background rebuild folds the chain
/// back into one filter. Immutable apart from the bits; growing returns a new chain.
/// </summary>
internal sealed class KeyFilterChain
{
    private readonly KeyFilter[] _filters;

    public KeyFilterChain(KeyFilter first) : this([first]) { }

    private KeyFilterChain(KeyFilter[] filters)
    {
        _filters = filters;
        foreach (var f in filters) Capacity += f.Capacity;
    }

    public long Capacity { get; }
    public int Length => _filters.Length;
    public long MemoryBytes => _filters.Sum(f => f.MemoryBytes);

    public void Add(ReadOnlySpan<char> key) => _filters[^1].Add(key);

    public bool MightContain(ReadOnlySpan<char> key)
    {
        var filters = _filters;
        if (filters.Length == 1) return filters[0].MightContain(key);
        ulong h = KeyFilter.Hash(key);
        foreach (var f in filters)
            if (f.MightContainHash(h)) return true;
        return false;
    }

    /// <summary>A chain with one more filter, as big as all before together.</summary>
    public KeyFilterChain Grow() => new([.. _filters, new KeyFilter(Capacity)]);
}
