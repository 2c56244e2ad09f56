using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Recipients;

/// <summary>
/// ASSP's ldaplistdb: local addresses (lower case) that LDAP or a VRFY callout confirmed, so that the next mail
/// to them needs no lookup. The value is "&lt;unix time of the last mail&gt; 1", as ASSP keeps it; an entry not
/// used for MaxLDAPlistDays days is forgotten. The cross-check job asks the directory again.
/// </summary>
public sealed class LdapListCache(IStoreTable table, TimeProvider clock)
{
    public IStoreTable Table { get; } = table;
    private long Now => clock.GetUtcNow().ToUnixTimeSeconds();

    private static string Key(string address) => address.Trim().Trim('<', '>').ToLowerInvariant();

    private static long MaxAge(ConfigSnapshot cfg) => (long)(Math.Max(0, cfg.GetDecimal("MaxLDAPlistDays", 30)) * 86400);

    /// <summary>A known address; its time is renewed (the entry lives MaxLDAPlistDays from the last mail).</summary>
    public bool Find(ConfigSnapshot cfg, string address)
    {
        var key = Key(address);
        if (!Table.TryGetValue(key, out var value)) return false;
        long now = Now;
        if (Expired(cfg, value, now))
        {
            Table.Remove(key);
            return false;
        }
        Table.Set(key, $"{now} 1", now);
        return true;
    }

    public void Add(string address)
    {
        long now = Now;
        Table.Set(Key(address), $"{now} 1", now);
    }

    public bool Remove(string address) => Table.Remove(Key(address));

    internal static long? Time(string value)
    {
        var first = value.AsSpan().Trim();
        int space = first.IndexOf(' ');
        if (space >= 0) first = first[..space];
        return long.TryParse(first, out var t) ? t : null;
    }

    private static bool Expired(ConfigSnapshot cfg, string value, long now)
    {
        long maxAge = MaxAge(cfg);
        return maxAge > 0 && (Time(value) is not { } t || now - t > maxAge);
    }

    /// <summary>Removes entries idle for more than MaxLDAPlistDays; returns how many.</summary>
    public int RemoveExpired(ConfigSnapshot cfg)
    {
        long now = Now;
        return Table.RemoveWhere((_, rec) => Expired(cfg, rec.Value, now));
    }
}
