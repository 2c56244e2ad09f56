using System.Globalization;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Whitelist;

/// <summary>A personal blacklist record that matched: the stored key and its TO and FROM parts.</summary>
public readonly record struct PersBlackMatch(string Key, string To, string From);

/// <summary>A recipient refused because one of the message's senders is on its personal blacklist.</summary>
public readonly record struct PersBlackHit(string Recipient, string Sender, PersBlackMatch Match);

/// <summary>
/// The personal blacklist (persblackdb). ASSP keys a record "TO,FROM" (lower case) with the Unix time of the
/// last addition or hit as value:
/// <list type="bullet">
/// <item>TO: the local user's address, or "domain", "@domain", "*@domain" for a whole local domain (GUI only);</item>
/// <item>FROM: an address, "@domain", "*@domain", "domain", or a wildcard over a parent domain: "*.tld",
/// "@*.tld", "*@*.tld", and for a parent "example.com": "*example.com", "@*example.com", "*@*example.com",
/// "*.example.com", "*@*.example.com".</item>
/// </list>
/// A lookup tries the FROM forms that can cover the sender (most specific first, then parent domains from the
/// top-level domain down) against each TO form, and refreshes the record it finds. Entries idle for
/// MaxWhitelistDays days are purged.
/// </summary>
public sealed class PersonalBlacklist
{
    private readonly IStoreTable _table;
    private readonly TimeProvider _clock;

    public PersonalBlacklist(IStore store) : this(store.Table(StoreTables.PersBlack), store.Clock) { }

    public PersonalBlacklist(IStoreTable table, TimeProvider clock)
    {
        _table = table;
        _clock = clock;
    }

    public IStoreTable Table => _table;

    public static string Key(string to, string from) => Clean(to) + "," + Clean(from);

    /// <summary>
    /// The record that blocks <paramref name="sender"/> for the local <paramref name="recipient"/>, or null.
    /// A hit refreshes the record's time (as ASSP does), unless <paramref name="refresh"/> is false.
    /// </summary>
    public PersBlackMatch? Find(string recipient, string sender, bool refresh = true)
    {
        if (_table.Count == 0) return null;
        var to = Clean(recipient);
        var from = Clean(sender);
        if (to.Length == 0 || from.Length == 0) return null;
        var fromForms = SenderForms(from);
        if (fromForms.Count == 0) return null;
        var toForms = RecipientForms(to);
        foreach (var f in fromForms)
        {
            foreach (var t in toForms)
            {
                var key = t + "," + f;
                if (!_table.ContainsKey(key)) continue;
                if (refresh)
                {
                    long now = Now();
                    _table.Set(key, Str(now), now);
                }
                return new PersBlackMatch(key, t, f);
            }
        }
        return null;
    }

    /// <summary>The RCPT TO check (ASSP runs it for mail that is not relayed): is the sender blocked for this recipient?</summary>
    public bool IsBlocked(string recipient, string sender) => Find(recipient, sender) is not null;

    /// <summary>
    /// The header-phase variant: every local recipient (envelope and To/Cc/Bcc) against every header sender
    /// (From, Sender, Reply-To, Errors-To, List-*).
    /// </summary>
    public IReadOnlyList<PersBlackHit> FindForMessage(IEnumerable<string> recipients, IEnumerable<string> senders, Func<string, bool> isLocal)
    {
        var hits = new List<PersBlackHit>();
        if (_table.Count == 0) return hits;
        var from = senders.Select(Clean).Where(s => s.Length > 0).Distinct().ToList();
        foreach (var r in recipients.Select(Clean).Where(r => r.Length > 0).Distinct())
        {
            if (!isLocal(r)) continue;
            foreach (var s in from)
            {
                if (Find(r, s) is { } m) hits.Add(new PersBlackHit(r, s, m));
            }
        }
        return hits;
    }

    /// <summary>
    /// Adds "localUser,from" unless an existing record already covers it (then that record is refreshed, which
    /// the email interface reports as "updated"). True when a record was added.
    /// </summary>
    public bool Add(string localUser, string from)
    {
        var to = Clean(localUser);
        var f = Clean(from);
        if (to.Length == 0 || f.Length == 0) return false;
        if (Find(to, f) is not null) return false;
        long now = Now();
        _table.Set(to + "," + f, Str(now), now);
        return true;
    }

    /// <summary>
    /// Removes the records of <paramref name="localUser"/> itself that cover <paramref name="from"/>. Records
    /// whose TO is a domain form are left alone: as in ASSP, only the GUI removes those. Returns how many went.
    /// </summary>
    public int Remove(string localUser, string from)
    {
        var to = Clean(localUser);
        var f = Clean(from);
        if (to.Length == 0 || f.Length == 0) return 0;
        int removed = 0;
        var forms = SenderForms(f);
        foreach (var form in forms.Count == 0 ? [f] : forms)
        {
            if (_table.Remove(to + "," + form)) removed++;
        }
        return removed;
    }

    /// <summary>The admin's global removal: every record with this FROM, for all users.</summary>
    public int RemoveEverywhere(string from)
    {
        var suffix = "," + Clean(from);
        return _table.RemoveWhere((k, _) => k.EndsWith(suffix, StringComparison.Ordinal));
    }

    /// <summary>The FROM parts of one user's records (the email interface's report).</summary>
    public IReadOnlyList<string> EntriesOf(string localUser)
    {
        var prefix = Clean(localUser) + ",";
        return [.. _table.Scan(prefix).Select(kv => kv.Key[prefix.Length..]).Order(StringComparer.Ordinal)];
    }

    public int PurgeExpired(ConfigSnapshot cfg) => PurgeExpired(cfg.GetInt("MaxWhitelistDays"));

    /// <summary>Drops records idle for <paramref name="maxDays"/> days (0 keeps all). A value that is no time counts as 0, as in ASSP.</summary>
    public int PurgeExpired(int maxDays)
    {
        if (maxDays <= 0) return 0;
        long now = Now();
        long maxAge = maxDays * 86400L;
        return _table.RemoveWhere((_, record) => now - (WhitelistDb.TryTime(record.Value, out var v) ? v : 0) >= maxAge);
    }

    /// <summary>The TO forms a recipient is looked up under: itself, then its domain as "domain", "@domain", "*@domain".</summary>
    public static IReadOnlyList<string> RecipientForms(string recipient)
    {
        var to = Clean(recipient);
        var forms = new List<string>(4) { to };
        var domain = DomainOf(to);
        if (domain is not null)
        {
            forms.Add(domain);
            forms.Add("@" + domain);
            forms.Add("*@" + domain);
        }
        return forms;
    }

    /// <summary>
    /// The FROM forms that cover a sender, in lookup order; empty when the sender has no domain.
    /// Forms that only cover subdomains of the sender's own domain ("*.dom", "*@*.dom") are left out.
    /// </summary>
    public static IReadOnlyList<string> SenderForms(string sender)
    {
        var from = Clean(sender);
        var domain = DomainOf(from);
        if (domain is null) return [];
        var forms = new List<string> { from, "@" + domain, "*@" + domain, domain };
        var labels = domain.Split('.', StringSplitOptions.RemoveEmptyEntries);
        for (int n = 1; n <= labels.Length; n++)
        {
            var suffix = string.Join('.', labels[^n..]);
            bool own = n == labels.Length;
            if (n == 1)
            {
                if (own) continue;
                forms.Add("*." + suffix);
                forms.Add("@*." + suffix);
                forms.Add("*@*." + suffix);
                continue;
            }
            forms.Add("*" + suffix);
            forms.Add("@*" + suffix);
            forms.Add("*@*" + suffix);
            if (own) continue;
            forms.Add("*." + suffix);
            forms.Add("*@*." + suffix);
        }
        return forms.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The domain of "user@dom", "*@dom", "*@*dom" or "*@*.dom"; null for anything else.</summary>
    private static string? DomainOf(string address)
    {
        int at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1) return null;
        var d = address[(at + 1)..];
        if (d.StartsWith("*.", StringComparison.Ordinal)) d = d[2..];
        else if (d.StartsWith('*')) d = d[1..];
        d = d.Trim('.');
        return d.Length == 0 || d.Contains('*') || d.Contains('@') ? null : d;
    }

    // ASSP lower-cases both parts and strips white space out of them.
    private static string Clean(string value)
    {
        var v = WhitelistAddress.Normalize(value);
        return v.Any(char.IsWhiteSpace) ? string.Concat(v.Where(c => !char.IsWhiteSpace(c))) : v;
    }

    private long Now() => _clock.GetUtcNow().ToUnixTimeSeconds();
    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);
}
