using Assp.Config;
using Assp.Config.Lists;

namespace Assp.Checks.Whitelist;

/// <summary>The MAIL FROM stage's whitelist answer.</summary>
public sealed record MailFromWhitelist(bool Whitelisted, string? Reason, string? Redlisted)
{
    public static readonly MailFromWhitelist None = new(false, null, null);
}

/// <summary>The header stage's answer for incoming mail.</summary>
/// <param name="Whitelisted">The senders make the mail whitelisted.</param>
/// <param name="Reason">What matched (for the maillog), or why not.</param>
/// <param name="Senders">The sender addresses compared (envelope first), normalized; learning re-adds these.</param>
/// <param name="RedlistedSender">A compared sender on the redlist: the mail is not white and teaches nothing.</param>
/// <param name="Redlisted">Why the mail counts as redlisted (redRe or the envelope sender), or null.</param>
public sealed record WhitelistDecision(bool Whitelisted, string? Reason, IReadOnlyList<string> Senders, string? RedlistedSender, string? Redlisted)
{
    public static readonly WhitelistDecision None = new(false, null, [], null, null);
}

/// <summary>An incoming message as the whitelist decision sees it (after DATA's header).</summary>
public sealed record IncomingWhitelistInput
{
    public required string? EnvelopeSender { get; init; }
    /// <summary>Addresses from From, Sender, Reply-To, Errors-To and List-* headers.</summary>
    public IReadOnlyList<string> HeaderSenders { get; init; } = [];
    /// <summary>The envelope recipients (local for incoming mail).</summary>
    public required IReadOnlyList<string> Recipients { get; init; }
    /// <summary>Is this address in a local domain (ASSP's localmail)?</summary>
    public required Func<string, bool> IsLocal { get; init; }
    /// <summary>redRe matched the message.</summary>
    public bool RedRegexMatched { get; init; }
}

/// <summary>
/// Decides whether incoming mail is whitelisted by its senders: the learned whitelist, whiteListedDomains and
/// the redlist, as ASSP's MAIL FROM handler and its header-stage whitelist routine do. whiteRe, whiteListedIPs
/// and RWL are separate checks of the pipeline.
/// </summary>
public sealed class WhitelistDecider(WhitelistDb whitelist, Redlist redlist)
{
    public WhitelistDb Whitelist => whitelist;
    public Redlist Redlist => redlist;

    /// <summary>
    /// At MAIL FROM: WhitelistAuth for authenticated sessions; for mail that is not relayed, the sender's global
    /// whitelist entry (a hit refreshes it, as ASSP does), whiteListedDomains, and the "*@domain" wildcard entry
    /// (a hit refreshes "*@domain" and "@domain"). Local senders are never whitelisted by the database. The
    /// global and wildcard entries only count at WhitelistPrivacyLevel 0, because ASSP asks without a recipient.
    /// </summary>
    public MailFromWhitelist CheckMailFrom(ConfigSnapshot cfg, string? envelopeSender, bool isAuthenticated, bool isRelayOk, Func<string, bool> isLocal)
    {
        var mf = WhitelistAddress.Normalize(envelopeSender);
        string? red = mf.Length > 0 && redlist.IsRedlisted(mf) ? $"{mf} in RedList" : null;
        if (isAuthenticated && cfg.GetBool("WhitelistAuth")) return new MailFromWhitelist(true, "authenticated", red);
        if (isRelayOk || mf.Length == 0) return new MailFromWhitelist(false, null, red);

        var privacy = WhitelistDb.PrivacyOf(cfg);
        bool local = isLocal(mf);
        if (!local && whitelist.IsWhite(mf, null, privacy))
        {
            whitelist.Add(mf);
            return new MailFromWhitelist(true, "whitelistdb", red);
        }
        if (cfg.GetDomainList("whiteListedDomains").Matches(mf))
            return new MailFromWhitelist(true, "whiteListedDomains", red);
        var domain = WhitelistAddress.Domain(mf);
        if (!local && domain.Length > 0 && whitelist.IsWhite("*@" + domain, null, privacy))
        {
            whitelist.Add("*@" + domain);
            whitelist.Add("@" + domain);
            return new MailFromWhitelist(true, "wildcardUser", red);
        }
        return new MailFromWhitelist(false, null, red);
    }

    /// <summary>
    /// The header stage for incoming mail (call it only for mail that is not relayed). NotGreedyWhitelist picks
    /// the senders: 0 the envelope and header senders, one white match is enough; 1 only the envelope sender;
    /// 2 the envelope and header senders, every one must be white (this overrides a whiteListedDomains match).
    /// Each non-local sender is tried against each recipient: whiteListedDomains (unscoped, then
    /// "sender=>recipient" scoped unless the recipient itself is wrongly listed), then the whitelist database
    /// under the privacy level. A redlisted sender, or no envelope sender (bounces), means not white.
    /// </summary>
    public WhitelistDecision Decide(ConfigSnapshot cfg, IncomingWhitelistInput input)
    {
        var fm = WhitelistAddress.Normalize(input.EnvelopeSender);
        if (fm.Length == 0) return WhitelistDecision.None with { Reason = "no envelope sender" };
        string? red = input.RedRegexMatched ? "redRe" : redlist.IsRedlisted(fm) ? $"{fm} in RedList" : null;

        int mode = cfg.GetChoice("NotGreedyWhitelist");
        var senders = SenderList(mode, fm, input.HeaderSenders);
        foreach (var s in senders)
        {
            if (redlist.IsRedlisted(s))
                return new WhitelistDecision(false, $"redlisted: {s} - not white", senders, s, red ?? $"{s} in RedList");
        }

        var privacy = WhitelistDb.PrivacyOf(cfg);
        var domains = cfg.GetDomainList("whiteListedDomains");
        string? reason = null;
        string? notWhite = null;
        foreach (var raw in input.Recipients)
        {
            var rcpt = WhitelistAddress.Normalize(raw);
            if (rcpt.Length == 0) continue;
            // A local address matching whiteListedDomains is a configuration mistake; ASSP then ignores scoped entries.
            bool skipScoped = input.IsLocal(rcpt) && domains.Matches(rcpt);
            foreach (var s in senders)
            {
                if (input.IsLocal(s)) continue;
                if (domains.Matches(s)) reason ??= $"whiteListedDomains: {s}";
                else if (!skipScoped && domains.HasScopedEntries && domains.Matches(s, rcpt)) reason ??= $"whiteListedDomains: {s} for {rcpt}";
                else if (whitelist.IsWhite(s, rcpt, privacy)) reason ??= $"whitelisted sender address: {s} for recipient {rcpt}";
                else if (mode == 2) notWhite ??= s;
            }
        }
        if (notWhite is not null)
            return new WhitelistDecision(false, $"not all senders addresses are whitelisted ({notWhite}) - not white (NotGreedyWhitelist)", senders, null, red);
        return new WhitelistDecision(reason is not null, reason, senders, null, red);
    }

    /// <summary>The senders ASSP compares: the envelope sender, plus the header senders unless NotGreedyWhitelist is 1.</summary>
    internal static IReadOnlyList<string> SenderList(int notGreedyMode, string envelopeSender, IEnumerable<string> headerSenders)
    {
        var list = new List<string> { envelopeSender };
        if (notGreedyMode == 1) return list;
        foreach (var h in headerSenders)
        {
            var a = WhitelistAddress.Normalize(h);
            if (a.Length > 0 && !list.Contains(a)) list.Add(a);
        }
        return list;
    }

    /// <summary>BounceSenders (plus the null sender): mail from these never teaches the whitelist.</summary>
    public static bool IsBounceSender(ConfigSnapshot cfg, string? envelopeSender)
    {
        var a = WhitelistAddress.Normalize(envelopeSender);
        if (a.Length == 0) return true;
        var list = cfg.Derived("Whitelist.BounceSenders", static c =>
            AddressList.Compile(c.GetListEntries("BounceSenders"), "BounceSenders", [], TimeSpan.FromMilliseconds(500)));
        return list.Contains(a);
    }
}
