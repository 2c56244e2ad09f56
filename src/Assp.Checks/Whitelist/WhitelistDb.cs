using System.Globalization;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Whitelist;

/// <summary>WhitelistPrivacyLevel: which entries a query consults (the database always keeps all three kinds).</summary>
public enum WhitelistPrivacy
{
    /// <summary>0: the sender's global entry or the recipient's private entry.</summary>
    GlobalAndPrivate = 0,
    /// <summary>1: the entry for the recipient's local domain or the private entry.</summary>
    DomainAndPrivate = 1,
    /// <summary>2: only the recipient's private entry.</summary>
    PrivateOnly = 2,
}

public enum WhitelistEntryState { Absent, White, Removed }

/// <summary>One record of the whitelist as ASSP lays it out.</summary>
public readonly record struct WhitelistEntry(string Key, WhitelistEntryState State, long Time);

/// <summary>
/// The learned whitelist (whitelistdb) in ASSP's own layout, so its file imports unchanged:
/// <list type="bullet">
/// <item>"sender" → Unix time: the global entry;</item>
/// <item>"sender,@localdomain" → time: the entry for every user of that local domain;</item>
/// <item>"sender,local@localdomain" → time: the private entry of one local user;</item>
/// <item>a value of removal time + 9999999999 marks an entry as removed (ASSP uses this for private entries),
/// so it answers "not white" and survives re-learning until it expires.</item>
/// </list>
/// Wildcard senders ("*@domain", "@domain") are plain global keys. Every key is lower case.
/// </summary>
public sealed class WhitelistDb
{
    /// <summary>Added to the removal time to mark an entry as removed.</summary>
    public const long RemovedOffset = 9_999_999_999;

    // ASSP never expires values below this (they are not timestamps it wrote).
    private const long MinTimestamp = 1_000_000_000;

    private readonly IStoreTable _table;
    private readonly TimeProvider _clock;

    public WhitelistDb(IStore store) : this(store.Table(StoreTables.Whitelist), store.Clock) { }

    public WhitelistDb(IStoreTable table, TimeProvider clock)
    {
        _table = table;
        _clock = clock;
    }

    public IStoreTable Table => _table;

    public static WhitelistPrivacy PrivacyOf(ConfigSnapshot cfg) =>
        (WhitelistPrivacy)Math.Clamp(cfg.GetInt("WhitelistPrivacyLevel"), 0, 2);

    public static string GlobalKey(string sender) => WhitelistAddress.Normalize(sender);
    public static string DomainKey(string sender, string localDomain) =>
        WhitelistAddress.Normalize(sender) + ",@" + localDomain.Trim().TrimStart('@').ToLowerInvariant();
    public static string PrivateKey(string sender, string localAddress) =>
        WhitelistAddress.Normalize(sender) + "," + WhitelistAddress.Normalize(localAddress);

    /// <summary>Is <paramref name="sender"/> white for <paramref name="recipient"/> (a local address, "@domain" or null)?</summary>
    public bool IsWhite(ConfigSnapshot cfg, string sender, string? recipient) => IsWhite(sender, recipient, PrivacyOf(cfg));

    /// <summary>
    /// ASSP's query: a removed private entry always says no; otherwise a white private entry, or the entry the
    /// privacy level consults (global at 0, the recipient's domain at 1, nothing more at 2). Lookups do not
    /// refresh the time; the callers re-add (<see cref="Add"/>) where ASSP does.
    /// </summary>
    public bool IsWhite(string sender, string? recipient, WhitelistPrivacy privacy)
    {
        var s = WhitelistAddress.Normalize(sender);
        if (s.Length == 0) return false;
        var (address, domain) = SplitRecipient(recipient);
        var own = address is null ? WhitelistEntryState.Absent : StateOf(s + "," + address);
        if (own == WhitelistEntryState.Removed) return false;
        if (own == WhitelistEntryState.White) return true;
        var shared = privacy switch
        {
            WhitelistPrivacy.GlobalAndPrivate => StateOf(s),
            WhitelistPrivacy.DomainAndPrivate when domain is not null => StateOf(s + "," + domain),
            _ => WhitelistEntryState.Absent,
        };
        return shared == WhitelistEntryState.White;
    }

    /// <summary>The state of one raw key.</summary>
    public WhitelistEntryState StateOf(string key) =>
        _table.TryGetValue(key, out var value) ? Classify(value) : WhitelistEntryState.Absent;

    /// <summary>
    /// Adds <paramref name="sender"/>. With a local address as recipient, ASSP writes the private, the domain and
    /// the global entry (so the privacy level can change later); with "@domain" the domain and global entry;
    /// with none only the global one. A private addition does not revive a domain or global entry marked removed
    /// (the reference's rule); a private marker is overwritten, as ASSP does. Returns the keys written.
    /// </summary>
    public IReadOnlyList<string> Add(string sender, string? recipient = null)
    {
        var s = WhitelistAddress.Normalize(sender);
        if (s.Length == 0) return [];
        var (address, domain) = SplitRecipient(recipient);
        long now = Now();
        var written = new List<string>(3);
        if (address is not null) Write(s + "," + address, now, written);
        if (domain is not null && (address is null || StateOf(s + "," + domain) != WhitelistEntryState.Removed))
            Write(s + "," + domain, now, written);
        if ((address is null && domain is null) || StateOf(s) != WhitelistEntryState.Removed)
            Write(s, now, written);
        return written;
    }

    /// <summary>
    /// Removes <paramref name="sender"/>: for a local address only that user's entry is marked removed (global and
    /// domain entries stay); for "@domain" the domain entry and that domain's private entries go; for none the
    /// global entry and every entry of the sender go. The domain/global level is then marked removed so that
    /// learning from a user's mail does not bring it back. Returns the keys that were white and are not any more.
    /// </summary>
    public IReadOnlyList<string> Remove(string sender, string? recipient = null)
    {
        var s = WhitelistAddress.Normalize(sender);
        if (s.Length == 0) return [];
        var (address, domain) = SplitRecipient(recipient);
        long now = Now();
        long marker = now + RemovedOffset;
        var removed = new List<string>();
        if (address is not null)
        {
            var key = s + "," + address;
            if (StateOf(key) == WhitelistEntryState.White) removed.Add(key);
            _table.Set(key, Str(marker), now);
            return removed;
        }
        if (domain is not null)
        {
            var key = s + "," + domain;
            if (StateOf(key) == WhitelistEntryState.White) removed.Add(key);
            foreach (var kv in _table.Scan(s + ","))
            {
                var right = kv.Key[(s.Length + 1)..];
                if (right.Length > domain.Length && right.EndsWith(domain, StringComparison.Ordinal) && _table.Remove(kv.Key)
                    && Classify(kv.Value.Value) == WhitelistEntryState.White)
                    removed.Add(kv.Key);
            }
            _table.Set(key, Str(marker), now);
            return removed;
        }
        if (StateOf(s) == WhitelistEntryState.White) removed.Add(s);
        foreach (var kv in _table.Scan(s + ","))
        {
            if (_table.Remove(kv.Key) && Classify(kv.Value.Value) == WhitelistEntryState.White) removed.Add(kv.Key);
        }
        _table.Set(s, Str(marker), now);
        return removed;
    }

    /// <summary>Every record of one sender (global, domain and private), for the GUI and the email interface.</summary>
    public IReadOnlyList<WhitelistEntry> EntriesOf(string sender)
    {
        var s = WhitelistAddress.Normalize(sender);
        var list = new List<WhitelistEntry>();
        if (s.Length == 0) return list;
        if (_table.TryGetValue(s, out var g)) list.Add(Entry(s, g));
        foreach (var kv in _table.Scan(s + ",")) list.Add(Entry(kv.Key, kv.Value.Value));
        return list;
    }

    /// <summary>The purge the scheduler runs every UpdateWhitelist seconds (MaxWhitelistDays from the snapshot).</summary>
    public int PurgeExpired(ConfigSnapshot cfg) => PurgeExpired(cfg.GetInt("MaxWhitelistDays"));

    /// <summary>
    /// Drops entries idle for <paramref name="maxDays"/> days and removal marks older than that (ASSP's
    /// CleanWhitelist); 0 keeps everything. Values that are not timestamps are left alone, as in ASSP.
    /// </summary>
    public int PurgeExpired(int maxDays)
    {
        if (maxDays <= 0) return 0;
        long now = Now();
        long maxAge = maxDays * 86400L;
        return _table.RemoveWhere((_, record) =>
        {
            if (!TryTime(record.Value, out var v) || v < MinTimestamp) return false;
            if (v > RemovedOffset) return now - (v - RemovedOffset) >= maxAge;
            return now - v >= maxAge;
        });
    }

    private static WhitelistEntry Entry(string key, string value)
    {
        var state = Classify(value);
        TryTime(value, out var t);
        if (state == WhitelistEntryState.Removed) t -= RemovedOffset;
        return new WhitelistEntry(key, state, t);
    }

    /// <summary>Perl truthiness as ASSP applies it: empty and "0" are no entry, above the offset is removed.</summary>
    internal static WhitelistEntryState Classify(string value)
    {
        var v = value.Trim();
        if (v.Length == 0 || v == "0") return WhitelistEntryState.Absent;
        if (TryTime(v, out var t) && t > RemovedOffset) return WhitelistEntryState.Removed;
        return WhitelistEntryState.White;
    }

    internal static bool TryTime(string value, out long time)
    {
        if (long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out time)) return true;
        if (double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !double.IsNaN(d))
        {
            time = (long)Math.Clamp(d, long.MinValue, long.MaxValue);
            return true;
        }
        time = 0;
        return false;
    }

    /// <summary>A local address → (address, "@domain"); "@domain" → (null, "@domain"); empty → (null, null).</summary>
    internal static (string? Address, string? Domain) SplitRecipient(string? recipient)
    {
        var r = WhitelistAddress.Normalize(recipient).TrimStart(',');
        if (r.Length == 0) return (null, null);
        if (r[0] == '@') return r.Length > 1 ? (null, r) : (null, null);
        int at = r.LastIndexOf('@');
        return at > 0 && at < r.Length - 1 ? (r, r[at..]) : (r, null);
    }

    private void Write(string key, long now, List<string> written)
    {
        _table.Set(key, Str(now), now);
        written.Add(key);
    }

    private long Now() => _clock.GetUtcNow().ToUnixTimeSeconds();
    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);
}
