using Assp.Config;

namespace Assp.Checks.Whitelist;

public enum ListEditOutcome { Added, AlreadyListed, Removed, NotListed, RefusedRedlisted }

/// <summary>What an explicit edit did, and the side effects on the other lists (for the report mail and the maillog).</summary>
public sealed record ListEditResult(ListEditOutcome Outcome, IReadOnlyList<string> Keys, bool Redlisted = false, int PersBlackRemoved = 0, bool WhitelistRemoved = false);

/// <summary>
/// Explicit edits from the email interface and the GUI, with the cross-list rules ASSP applies: a whitelisted
/// address leaves the user's personal blacklist, a redlisted address cannot be whitelisted, a personally
/// blacklisted address leaves the user's whitelist, and with EmailWhiteRemovalToRed a whitelist removal puts the
/// address on the redlist.
/// </summary>
public sealed class WhitelistEditor(WhitelistDb whitelist, Redlist redlist, PersonalBlacklist persBlack)
{
    /// <summary>
    /// Whitelists <paramref name="address"/> for <paramref name="localUser"/> (private, domain and global entries;
    /// null for a global addition by an admin). Refused while the address is redlisted.
    /// </summary>
    public ListEditResult AddToWhitelist(ConfigSnapshot cfg, string address, string? localUser)
    {
        bool known = whitelist.IsWhite(cfg, address, localUser);
        if (!known && redlist.IsRedlisted(address)) return new ListEditResult(ListEditOutcome.RefusedRedlisted, []);
        var keys = whitelist.Add(address, localUser);
        int pb = localUser is not null && WhitelistAddress.IsMailbox(WhitelistAddress.Normalize(localUser)) ? persBlack.Remove(localUser, address) : 0;
        return new ListEditResult(known ? ListEditOutcome.AlreadyListed : ListEditOutcome.Added, keys, PersBlackRemoved: pb);
    }

    /// <summary>
    /// Removes <paramref name="address"/> from the whitelist of <paramref name="localUser"/> ("@domain" for a
    /// domain, null for everyone); with EmailWhiteRemovalToRed the address also goes on the redlist, so it stays
    /// off the whitelist until someone takes it off the redlist.
    /// </summary>
    public ListEditResult RemoveFromWhitelist(ConfigSnapshot cfg, string address, string? localUser)
    {
        // A global removal looks at the raw entries: at privacy levels 1 and 2 a query without a user never says white.
        bool listed = localUser is null
            ? whitelist.EntriesOf(address).Any(e => e.State == WhitelistEntryState.White)
            : whitelist.IsWhite(cfg, address, localUser);
        if (!listed)
            return new ListEditResult(ListEditOutcome.NotListed, []);
        var keys = whitelist.Remove(address, localUser);
        bool red = cfg.GetBool("EmailWhiteRemovalToRed") && redlist.Add(address);
        return new ListEditResult(ListEditOutcome.Removed, keys, Redlisted: red);
    }

    /// <summary>Puts <paramref name="from"/> on the personal blacklist of <paramref name="localUser"/>; a private whitelist entry for it goes.</summary>
    public ListEditResult AddToPersonalBlacklist(ConfigSnapshot cfg, string localUser, string from)
    {
        bool added = persBlack.Add(localUser, from);
        bool wasWhite = whitelist.IsWhite(cfg, from, localUser);
        if (wasWhite) whitelist.Remove(from, localUser);
        return new ListEditResult(added ? ListEditOutcome.Added : ListEditOutcome.AlreadyListed,
            [PersonalBlacklist.Key(localUser, from)], WhitelistRemoved: wasWhite);
    }

    public ListEditResult RemoveFromPersonalBlacklist(string localUser, string from)
    {
        int n = persBlack.Remove(localUser, from);
        return new ListEditResult(n > 0 ? ListEditOutcome.Removed : ListEditOutcome.NotListed, [], PersBlackRemoved: n);
    }
}
