namespace Assp.Storage;

/// <summary>Settings of a <see cref="SqliteStore"/>.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The default file below an ASSP base folder.</summary>
    public static string DefaultPath(string baseFolder) => System.IO.Path.Combine(baseFolder, "data", "assp.db");

    /// <summary>The SQLite file; its folder is created when missing.</summary>
    public required string Path { get; init; }

    /// <summary>Where <see cref="IStoreTable.Set(string, string)"/> takes its time from (tests pass a fake).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>
    /// How often the background writer commits. A crash loses at most the writes of the last interval, so it
    /// may not exceed one second.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Records each table keeps in memory (most recently used); the rest is read from the file on demand.</summary>
    public int HotCacheEntries { get; init; } = 100_000;

    /// <summary>Per-table exceptions to <see cref="HotCacheEntries"/>, by table name.</summary>
    public IReadOnlyDictionary<string, int> HotCacheEntriesPerTable { get; init; } = new Dictionary<string, int>();

    /// <summary>Keys remembered as absent per table, for the few misses the key filter lets through.</summary>
    public int NegativeCacheEntries { get; init; } = 20_000;

    /// <summary>
    /// When a table is opened, also load the values of its first records into the hot cache (up to half of it), so
    /// a table that fits is served entirely from memory.
    /// </summary>
    public bool PreloadHotCache { get; init; } = true;

    /// <summary>Runs SQLite's quick_check when the file is opened (slow on big files; off by default).</summary>
    public bool VerifyOnOpen { get; init; }

    internal int HotCacheFor(string table) =>
        HotCacheEntriesPerTable.TryGetValue(table, out var n) ? n : HotCacheEntries;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path)) throw new ArgumentException("The database path is empty.", nameof(Path));
        if (FlushInterval <= TimeSpan.Zero || FlushInterval > TimeSpan.FromSeconds(1))
            throw new ArgumentOutOfRangeException(nameof(FlushInterval), FlushInterval,
                "The flush interval must be above zero and at most one second (a crash loses at most one interval).");
        if (HotCacheEntries < 0) throw new ArgumentOutOfRangeException(nameof(HotCacheEntries), HotCacheEntries, "must not be negative");
        if (NegativeCacheEntries < 0)
            throw new ArgumentOutOfRangeException(nameof(NegativeCacheEntries), NegativeCacheEntries, "must not be negative");
        foreach (var (table, n) in HotCacheEntriesPerTable)
            if (n < 0) throw new ArgumentOutOfRangeException(nameof(HotCacheEntriesPerTable), n, $"hot cache of {table} must not be negative");
    }
}

/// <summary>
/// The database file cannot be used: it is corrupt, not an SQLite database, unreadable, or written by a newer
/// version. The file is left exactly as it was; the caller decides (restore a backup, move it away, stop).
/// </summary>
public sealed class StoreFileException : IOException
{
    public StoreFileException(string path, string problem, Exception? inner = null)
        : base($"Database file '{path}': {problem}. The file was left untouched; restore it from a backup or move it away to start with an empty database.", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    public string FilePath { get; }
    public string Problem { get; }
}
