namespace Assp.Bayes;

/// <summary>
/// 64-bit FNV-1a over the UTF-16 code units of a key. Both filters keep only these hashes in memory; a key's hash
/// can be continued piece by piece ("prev" + " " + "cur"), so a word pair is hashed without building its string.
/// Zero is reserved for empty slots of <see cref="ProbabilityTable"/>.
/// </summary>
public static class TokenHash
{
    public const ulong Seed = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Append(ulong hash, ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            hash ^= (byte)c;
            hash *= Prime;
            hash ^= (byte)(c >> 8);
            hash *= Prime;
        }
        return hash;
    }

    public static ulong Append(ulong hash, char c)
    {
        hash ^= (byte)c;
        hash *= Prime;
        hash ^= (byte)(c >> 8);
        hash *= Prime;
        return hash;
    }

    public static ulong Of(ReadOnlySpan<char> text) => Finish(Append(Seed, text));

    /// <summary>The value stored for a hash state (never 0).</summary>
    public static ulong Finish(ulong hash) => hash == 0 ? 1 : hash;
}
