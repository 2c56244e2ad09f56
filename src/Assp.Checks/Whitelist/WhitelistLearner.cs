using Assp.Config;

namespace Assp.Checks.Whitelist;

/// <summary>A delivered message as whitelist learning sees it.</summary>
public sealed record WhitelistLearningInput
{
    public required string? EnvelopeSender { get; init; }
    /// <summary>The envelope recipients.</summary>
    public required IReadOnlyList<string> Recipients { get; init; }
    /// <summary>Addresses from the To, Cc and Bcc headers.</summary>
    public IReadOnlyList<string> HeaderRecipients { get; init; } = [];
    /// <summary>Addresses from From, Sender, Reply-To, Errors-To and List-* headers.</summary>
    public IReadOnlyList<string> HeaderSenders { get; init; } = [];
    /// <summary>The session may relay (ASSP's relayok: a local IP, relayPort, allowRelayCon): outgoing or local mail.</summary>
    public bool IsRelayOk { get; init; }
    /// <summary>The session logged in with AUTH (counts as relayok).</summary>
    public bool IsAuthenticated { get; init; }
    /// <summary>For incoming mail: <see cref="WhitelistDecision.Whitelisted"/>.</summary>
    public bool SendersWhitelisted { get; init; }
    /// <summary>The message score when the mail was delivered.</summary>
    public double MessageScore { get; init; }
    /// <summary>redRe matched the message.</summary>
    public bool RedRegexMatched { get; init; }
    /// <summary>Is this address in a local domain (ASSP's localmail)?</summary>
    public required Func<string, bool> IsLocal { get; init; }
}

/// <summary>Why learning added nothing.</summary>
public enum WhitelistLearningSkip
{
    None,
    /// <summary>Null envelope sender.</summary>
    NoEnvelopeSender,
    /// <summary>The envelope sender is in BounceSenders.</summary>
    Bounce,
    /// <summary>redRe matched, or the envelope sender is redlisted.</summary>
    Redlisted,
    /// <summary>A compared header sender of incoming mail is redlisted.</summary>
    RedlistedSender,
    /// <summary>WhitelistLocalOnly and the mail came from outside.</summary>
    NotLocalOrAuthenticated,
    /// <summary>WhitelistLocalFromOnly and MAIL FROM has no local domain.</summary>
    SenderNotLocal,
    /// <summary>Incoming mail scored at or above PenaltyMessageLow.</summary>
    ScoreTooHigh,
    /// <summary>NoAutoWhite: only the email interface adds.</summary>
    NoAutoWhite,
    /// <summary>Incoming mail whose senders are not whitelisted.</summary>
    NotWhitelisted,
    /// <summary>An address of the mail is in NoAutoWhiteAdresses.</summary>
    NoAutoWhiteAddress,
}

public sealed record WhitelistLearningResult(WhitelistLearningSkip Skip, IReadOnlyList<string> Added, IReadOnlyList<string> Refreshed)
{
    public static WhitelistLearningResult Skipped(WhitelistLearningSkip why) => new(why, [], []);
}

/// <summary>
/// Automatic whitelisting after delivery, as ASSP does it. Outgoing/local mail (relayok) adds its non-local
/// recipients (envelope and To/Cc/Bcc) as private entries of the sending user, which also writes the domain and
/// global entries. Incoming mail that was whitelisted by its senders adds the same recipient set plus, by
/// GreedyWhitelistAdditions (0 none, 1 the envelope sender, 2 every compared sender), its senders; those
/// additions are global (ASSP has no local user to file them under). Local and redlisted addresses are never added.
/// </summary>
public sealed class WhitelistLearner(WhitelistDb whitelist, Redlist redlist)
{
    public WhitelistLearningResult Learn(ConfigSnapshot cfg, WhitelistLearningInput input)
    {
        var fm = WhitelistAddress.Normalize(input.EnvelopeSender);
        if (fm.Length == 0) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.NoEnvelopeSender);
        if (WhitelistDecider.IsBounceSender(cfg, fm)) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.Bounce);
        if (input.RedRegexMatched || redlist.IsRedlisted(fm)) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.Redlisted);

        bool relayOk = input.IsRelayOk || input.IsAuthenticated;
        // ASSP compares (and may re-add) senders only for mail that is not relayed.
        IReadOnlyList<string> senders = relayOk ? [] : WhitelistDecider.SenderList(cfg.GetChoice("NotGreedyWhitelist"), fm, input.HeaderSenders);
        if (senders.Any(redlist.IsRedlisted)) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.RedlistedSender);

        if (cfg.GetBool("WhitelistLocalOnly") && !relayOk) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.NotLocalOrAuthenticated);
        if (cfg.GetBool("WhitelistLocalFromOnly") && !input.IsLocal(fm)) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.SenderNotLocal);
        if (!relayOk)
        {
            double low = cfg.GetDecimal("PenaltyMessageLow");
            if (low > 0 && input.MessageScore >= low) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.ScoreTooHigh);
        }
        if (cfg.GetBool("NoAutoWhite")) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.NoAutoWhite);
        if (!relayOk && !input.SendersWhitelisted) return WhitelistLearningResult.Skipped(WhitelistLearningSkip.NotWhitelisted);

        int greedy = cfg.GetChoice("GreedyWhitelistAdditions");
        var candidates = new List<string>();
        if (greedy == 2) AddAll(candidates, senders);
        if (greedy >= 1) AddAll(candidates, [fm]);
        AddAll(candidates, input.HeaderRecipients);
        AddAll(candidates, input.Recipients);

        // "Mail to or from these addresses": the envelope sender, the compared senders and every candidate.
        var noAuto = cfg.GetAddressList("NoAutoWhiteAdresses");
        if (noAuto.Count > 0 && (noAuto.Contains(fm) || senders.Any(noAuto.Contains) || candidates.Any(noAuto.Contains)))
            return WhitelistLearningResult.Skipped(WhitelistLearningSkip.NoAutoWhiteAddress);

        string? owner = relayOk ? fm : null;
        var privacy = WhitelistDb.PrivacyOf(cfg);
        bool allowEqual = cfg.GetBool("EmailAllowEqual");
        var added = new List<string>();
        var refreshed = new List<string>();
        foreach (var a in candidates)
        {
            if (input.IsLocal(a)) continue;
            if (redlist.IsRedlisted(a)) continue;
            if (!allowEqual && a.Contains('=')) continue;
            if (a.StartsWith('\'')) continue;
            bool known = whitelist.IsWhite(a, owner, privacy);
            whitelist.Add(a, owner);
            (known ? refreshed : added).Add(a);
        }
        return new WhitelistLearningResult(WhitelistLearningSkip.None, added, refreshed);
    }

    private static void AddAll(List<string> target, IEnumerable<string> addresses)
    {
        foreach (var raw in addresses)
        {
            var a = WhitelistAddress.Normalize(raw);
            if (a.Length > 0 && !target.Contains(a)) target.Add(a);
        }
    }
}
