using System.Globalization;
using Assp.Storage;

namespace Assp.Checks.Whitelist;

/// <summary>
/// The redlist (redlistdb): addresses that never contribute to the whitelist, are never whitelisted by it and are
/// not treated as local. ASSP keys it by the lower-case address ("*@domain" covers a whole domain) with the time
/// of the addition as value; entries do not expire.
/// </summary>
public sealed class Redlist
{
    private readonly IStoreTable _table;
    private readonly TimeProvider _clock;

    public Redlist(IStore store) : this(store.Table(StoreTables.Redlist), store.Clock) { }

    public Redlist(IStoreTable table, TimeProvider clock)
    {
        _table = table;
        _clock = clock;
    }

    public IStoreTable Table => _table;

    /// <summary>True when this exact address is on the list.</summary>
    public bool Contains(string address)
    {
        var a = WhitelistAddress.Normalize(address);
        return a.Length > 0 && _table.TryGetValue(a, out var v) && IsSet(v);
    }

    /// <summary>True when the address or its domain wildcard ("*@domain") is on the list.</summary>
    public bool IsRedlisted(string address)
    {
        var a = WhitelistAddress.Normalize(address);
        if (a.Length == 0) return false;
        if (_table.TryGetValue(a, out var v) && IsSet(v)) return true;
        var domain = WhitelistAddress.Domain(a);
        return domain.Length > 0 && _table.TryGetValue("*@" + domain, out var w) && IsSet(w);
    }

    /// <summary>Adds the address (or refreshes its time); true when it was not there before.</summary>
    public bool Add(string address)
    {
        var a = WhitelistAddress.Normalize(address);
        if (a.Length == 0) return false;
        bool isNew = !Contains(a);
        long now = _clock.GetUtcNow().ToUnixTimeSeconds();
        _table.Set(a, now.ToString(CultureInfo.InvariantCulture), now);
        return isNew;
    }

    public bool Remove(string address)
    {
        var a = WhitelistAddress.Normalize(address);
        return a.Length > 0 && _table.Remove(a);
    }

    // Perl truthiness: ASSP tests the value, so an empty or "0" value is no entry.
    private static bool IsSet(string value) => value.Length > 0 && value != "0";
}
