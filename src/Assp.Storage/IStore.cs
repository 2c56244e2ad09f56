namespace Assp.Storage;

/// <summary>One stored value and when it was last written (Unix seconds).</summary>
public readonly record struct StoreRecord(string Value, long Updated);

/// <summary>
/// One of ASSP's databases (whitelist, redlist, pbdb.black, …): string keys to string values, as ASSP keeps
/// them, so its flat files import and export without translation. Reads are served from memory where
/// possible; writes return at once and reach the disk in the background.
/// </summary>
public interface IStoreTable
{
    string Name { get; }
    bool TryGet(string key, out StoreRecord record);
    bool TryGetValue(string key, out string value);
    bool ContainsKey(string key);
    /// <summary>Writes with the store clock's current time.</summary>
    void Set(string key, string value);
    void Set(string key, string value, long updated);
    bool Remove(string key);
    long Count { get; }
    /// <summary>All records (optionally only keys starting with <paramref name="keyPrefix"/>), as a snapshot.</summary>
    IEnumerable<KeyValuePair<string, StoreRecord>> Scan(string? keyPrefix = null);
    /// <summary>Removes every record the predicate picks (expiry jobs); returns how many.</summary>
    int RemoveWhere(Func<string, StoreRecord, bool> predicate);
    void Clear();
}

/// <summary>The set of ASSP databases of one instance.</summary>
public interface IStore : IDisposable
{
    /// <summary>Opens (creating when needed) the table of this name.</summary>
    IStoreTable Table(string name);
    IReadOnlyCollection<string> TableNames { get; }
    /// <summary>Writes every pending change to disk before returning.</summary>
    void Flush();
    TimeProvider Clock { get; }
}

/// <summary>The names ASSP gives its databases; also the import/export file names.</summary>
public static class StoreTables
{
    public const string Whitelist = "whitelist";
    public const string Redlist = "redlist";
    public const string PersBlack = "persblack";
    public const string LdapList = "ldaplist";
    public const string DelayDb = "delaydb";
    public const string DelayDbWhite = "delaydb.white";
    public const string PbBlack = "pbdb.black.db";
    public const string PbWhite = "pbdb.white.db";
    public const string PbTrap = "pbdb.trap.db";
    public const string Griplist = "griplist";
    public const string SpamDb = "spamdb";
    public const string SpamDbHelo = "spamdb.helo";
}
