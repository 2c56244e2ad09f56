using System.Net;
using System.Text;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Checks.Delaying;
using Assp.Checks.Dns;
using Assp.Checks.PenaltyBox;
using Assp.Mime;

namespace Assp.Checks.Decision;

/// <summary>
/// The check pipeline of this release: the list decisions (noprocessing, whitelists, redlist, spam lovers and
/// haters, transparent recipients, personal blacklist, blacklisted domains), the PenaltyBox and the message score,
/// run at ASSP's points of the SMTP transaction and combined by <see cref="DecisionEngine"/>. Check issues add
/// their checks to the phases here.
/// </summary>
public sealed class DecisionPipeline(DecisionEngine engine, DnsListChecks? dns = null, IReadOnlyList<IMessageCheck>? checks = null,
    CheckServices? services = null) : ICheckPipeline
{
    public DecisionEngine Engine { get; } = engine;
    public DnsListChecks? Dns { get; } = dns;
    /// <summary>The check classes run at their phases (see <see cref="CheckCatalog"/>), in ASSP's order.</summary>
    public IReadOnlyList<IMessageCheck> MessageChecks { get; } = checks ?? [];
    private readonly CheckServices _services = services ?? new CheckServices(Dns: dns);
    private Recipients.LocalAddressValidator? _domains;

    /// <summary>localDomains, then ldLDAP (with the ldaplistdb cache) for the relay decision at RCPT TO.</summary>
    public ValueTask<bool> IsLocalDomainAsync(ConfigSnapshot cfg, string domain, CancellationToken cancellationToken) =>
        (_domains ??= Recipients.LocalAddressValidator.For(_services)).IsLocalDomainAsync(cfg, domain, cancellationToken);

    public async ValueTask<bool> IsLocalAddressAsync(ConfigSnapshot cfg, string address, CancellationToken cancellationToken) =>
        (await (_domains ??= Recipients.LocalAddressValidator.For(_services)).ValidateAsync(cfg, address, cancellationToken).ConfigureAwait(false)).Status
            != Recipients.AddressStatus.Invalid;

    /// <summary>The email interface works on the stored whitelist, redlist and personal blacklist (none without them).</summary>
    public EmailInterface.EmailInterfaceProcessor? EmailInterface => _emailInterface ??= Engine.AddressReputation is StoredAddressReputation db
        ? new EmailInterface.EmailInterfaceProcessor(db.Whitelist, db.Redlist, db.PersonalBlacklist, _services.Time)
        : null;
    private EmailInterface.EmailInterfaceProcessor? _emailInterface;

    /// <summary>Runs the registered checks of a phase; the first refusal ends the phase.</summary>
    private async ValueTask<Verdict> RunChecksAsync(SmtpPhase phase, IMailContext ctx, CancellationToken ct, bool outgoingOnly = false)
    {
        if (MessageChecks.Count == 0 || ctx.CheckState.Message.Transparent) return Verdict.Pass;
        CheckContext? context = null;
        foreach (var check in MessageChecks)
        {
            if (check.Phase != phase || (outgoingOnly && !check.Definition.RunsOnOutgoing && !LocalSwitchOn(check, ctx.Config))) continue;
            context ??= new CheckContext(ctx, Engine, _services);
            Verdict verdict;
            try
            {
                verdict = await check.RunAsync(context, ct).ConfigureAwait(false);
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException ex)
            {
                // A regex ran past its time limit (a hostile input, or a CPU so busy that the match thread did not run
                // for that long): the check found nothing. The mail goes on; before, the session ended with a 421.
                ctx.Log($"warning: {check.Definition.Name} skipped: a regular expression took longer than {ex.MatchTimeout.TotalMilliseconds:0} ms");
                continue;
            }
            if (verdict.Refuses) return verdict;
        }
        return Verdict.Pass;
    }

    private static bool LocalSwitchOn(IMessageCheck check, ConfigSnapshot cfg) =>
        check.Definition.LocalSwitch is { } local && cfg.Registry.Find(local) is not null && cfg.GetBool(local);

    public ValueTask<Verdict> RunAsync(SmtpPhase phase, IMailContext context, CancellationToken cancellationToken)
    {
        // A reload that changed DNSServers, DNStimeout, ... reaches the shared resolver with the first session on it.
        Dns?.FollowConfig(context.Config);
        return RunPhaseAsync(phase, context, cancellationToken);
    }

    private ValueTask<Verdict> RunPhaseAsync(SmtpPhase phase, IMailContext context, CancellationToken cancellationToken) => phase switch
    {
        SmtpPhase.Connect => ThenChecksAsync(SmtpPhase.Connect, context, ValueTask.FromResult(Connect(context)), cancellationToken),
        SmtpPhase.Helo => RunChecksAsync(SmtpPhase.Helo, ConnectionPhase(context), cancellationToken),
        SmtpPhase.Auth => RunChecksAsync(SmtpPhase.Auth, context, cancellationToken),
        SmtpPhase.AfterDelivery => ThenChecksAsync(SmtpPhase.AfterDelivery, context, ValueTask.FromResult(AfterDelivery(context)), cancellationToken),
        SmtpPhase.MailFrom => MailFromAsync(context, cancellationToken),
        SmtpPhase.RcptTo => RcptToAsync(context, cancellationToken),
        SmtpPhase.DataHeader => AfterSpamCheckAsync(context, DataHeaderAsync(context, cancellationToken)),
        SmtpPhase.DataBody => AfterSpamCheckAsync(context, DataBodyAsync(context, cancellationToken)),
        _ => ValueTask.FromResult(Verdict.Pass),
    };

    /// <summary>A (new) HELO starts a connection phase: its findings are kept for the session's messages (issue 7).</summary>
    private static IMailContext ConnectionPhase(IMailContext ctx)
    {
        ctx.CheckState.ConnectionPhase();
        return ctx;
    }

    public string RewriteSender(IMailContext context, string sender) =>
        context.CheckState.Message.Transparent ? sender : Assp.Checks.Checks.EnvelopeTags.Sender(context, _services, sender);

    public (string Address, Verdict Verdict) RewriteRecipient(IMailContext context, string recipient) =>
        Assp.Checks.Checks.EnvelopeTags.Recipient(context, Engine, _services, recipient);

    private async ValueTask<Verdict> ThenChecksAsync(SmtpPhase phase, IMailContext ctx, ValueTask<Verdict> builtIn, CancellationToken ct)
    {
        var verdict = await builtIn.ConfigureAwait(false);
        return verdict.Refuses ? verdict : await RunChecksAsync(phase, ctx, ct).ConfigureAwait(false);
    }

    private async ValueTask<Verdict> AfterSpamCheckAsync(IMailContext ctx, ValueTask<Verdict> phase)
    {
        var verdict = await phase.ConfigureAwait(false);
        var st = ctx.CheckState.Message;
        if (verdict.Refuses || st.SpamFound) SpamSeen(ctx, st);
        return verdict;
    }

    private static bool IsRelaySession(IMailContext ctx) => ctx.IsAuthenticated || ctx.Class is ConnectionClass.Relay or ConnectionClass.Local;

    private Verdict Connect(IMailContext ctx)
    {
        var cfg = ctx.Config;
        var cs = ctx.CheckState;
        var ip = ctx.RemoteAddress;
        cs.IsIsp = cfg.GetIpList("ispip").Contains(ip);
        if (cfg.GetIpList("whiteListedIPs").Match(ip) is { } wl) cs.IpWhitelisted = "whiteListedIPs " + wl.Network;
        if (cfg.GetIpList("noProcessingIPs").Match(ip) is { } np) cs.IpNoProcessing = "noProcessingIPs " + np.Network;
        cs.NoPenaltyBox = cfg.GetIpList("noPB").Contains(ip);
        if (cfg.GetIpList("noPBwhite").Contains(ip)) Engine.IpReputation.DeleteWhite(cfg, ip);
        else cs.PenaltyWhite = Engine.IpReputation.IsWhite(cfg, ip);
        if (cs.NoPenaltyBox) Engine.IpReputation.DeleteBlack(cfg, ip);
        if (IsRelaySession(ctx) || cs.IsIsp) return Verdict.Pass;

        // Extreme profiling at connect: only the IP's history counts.
        int extreme = cfg.GetChoice("DoPenaltyExtremeSMTP");
        if (extreme != 0 && !cs.NoPenaltyBox && !cs.PenaltyWhite && !cfg.GetIpList("noExtremePB").Contains(ip)
            && (cs.IpWhitelisted is null || cfg.GetBool("ExtremeWL")) && (cs.IpNoProcessing is null || cfg.GetBool("ExtremeNP"))
            && Engine.IpReputation.BlackTotal(cfg, ip) is { } total && total >= cfg.GetDecimal("PenaltyExtreme") && cfg.GetDecimal("PenaltyExtreme") > 0)
        {
            var reason = $"extreme penalty: totalscore for {ip} is {DecisionEngine.Num(total)}";
            if (extreme == 2)
            {
                ctx.Log($"[monitoring] {reason}");
                return Verdict.Pass;
            }
            ctx.Log($"[PenaltyExtreme] {reason}");
            return Verdict.Block(IpPenaltyBox.ExtremeSmtpReply, reason);
        }

        // DelayIP greystriking: a bad IP history gets a temporary failure for DelayIPTime minutes.
        if (cs.IpWhitelisted is null && cs.IpNoProcessing is null && !cfg.GetIpList("noDelay").Contains(ip)
            && Engine.IpReputation is IpPenaltyBox box && box.CheckDelayIp(cfg, ip) is { Refuses: true } delay)
        {
            ctx.Log($"[DelayIP] {delay.Reason}");
            return Verdict.TempFail(delay.Reply ?? IpPenaltyBox.DelayIpReply, delay.Reason ?? "DelayIP");
        }
        return Verdict.Pass;
    }

    private async ValueTask<Verdict> MailFromAsync(IMailContext ctx, CancellationToken ct)
    {
        var verdict = MailFrom(ctx);
        var st = ctx.CheckState.Message;
        var cfg = ctx.Config;
        // RWL/DNSWL: a trusted IP skips the IP-based checks; with RWLwhitelisting a highly trusted one is whitelisted.
        if (Dns is { } dns && cfg.GetBool("ValidateRWL") && !st.RelayOk && !st.IsIsp && !DecisionEngine.IsPrivate(ctx.RemoteAddress))
        {
            var rwlSettings = RwlSettings.For(cfg);
            // Unreadable override parts are named once per configuration, by the first session that uses it.
            if (rwlSettings.Problems.Count > 0)
                cfg.Derived("Dns.RwlProblemsLogged", c =>
                {
                    foreach (var p in rwlSettings.Problems) ctx.Log("warning: " + p);
                    return rwlSettings;
                });
            var rwl = await dns.Rwl.CheckAsync(ctx.RemoteAddress, rwlSettings, ct).ConfigureAwait(false);
            if (rwl.Status is RwlStatus.Trusted or RwlStatus.Whitelisted)
            {
                st.RwlOk = true;
                if (rwl.Status == RwlStatus.Whitelisted) st.Whitelisted ??= "RWL";
                var text = string.Join("; ", rwl.ListedBy.Select(l => $"{l.Zone}<-{l.Reply}"));
                if (cfg.GetChoice("RWLLog") >= 1) ctx.Log($"[RWL] {ctx.RemoteAddress} is in RWL ({text}), trust {rwl.Trust}");
                if (cfg.GetBool("AddRWLHeader")) st.AddHeader($"X-Assp-Received-RWL: lookup passed (trust: {rwl.Trust}) {text}");
            }
            else if (cfg.GetChoice("RWLLog") >= 2)
            {
                // RWLLog verbose: also the clients the RWLs do not vouch for.
                var text = string.Join("; ", rwl.ListedBy.Select(l => $"{l.Zone}<-{l.Reply}"));
                ctx.Log($"[RWL] {ctx.RemoteAddress} is not trusted by the RWLs ({(text.Length > 0 ? text : rwl.Status.ToString())}){(rwl.FromCache ? " (cached)" : "")}");
            }
        }
        if (!verdict.Refuses && MalformedSender(ctx, st) is { } malformed) return malformed;
        if (!verdict.Refuses && Dns is { } cacheDns && ForceRblCache(ctx, st, cacheDns) is { Refuses: true } cached) return cached;
        return verdict.Refuses ? verdict : await RunChecksAsync(SmtpPhase.MailFrom, ctx, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// ForceRBLCache: a DNSBL verdict already in the RBL cache is taken at MAIL FROM, before the other checks, and a
    /// cached failure blocks whatever the spam lovers say (the option is off while rblTestMode or allTestMode is on).
    /// </summary>
    private Verdict? ForceRblCache(IMailContext ctx, MessageState st, DnsListChecks dns)
    {
        var cfg = ctx.Config;
        var ip = ctx.RemoteAddress;
        if (!cfg.GetBool("ForceRBLCache") || cfg.GetBool("rblTestMode") || cfg.GetBool("allTestMode")) return null;
        if (!DecisionEngine.Applies(Checks.Dnsbl, cfg, st) || st.RelayOk || st.IsIsp || st.RwlOk || st.PenaltyWhite || DecisionEngine.IsPrivate(ip)
            || cfg.GetIpList("acceptAllMail").Contains(ip) || cfg.GetIpList("noRBL").Contains(ip) || cfg.GetDecimal("RBLCacheExp") <= 0)
            return null;
        if (!dns.Dnsbl.TryGetCached(ip, DnsblSettings.For(cfg), out var listed)) return null;
        st.DnsblDone = true;
        var mode = Checks.Dnsbl.ConfiguredMode(cfg);
        if (listed.Outcome == DnsListOutcome.Neutral)
        {
            var reason = $"DNSBL (cache): neutral, {ip} listed in {listed.ListedText}";
            if (cfg.GetChoice("RBLLog") >= 1) ctx.Log($"[DNSBL] {reason}");
            if (mode != CheckMode.Monitor)
            {
                var (m, i) = DecisionEngine.Proportional(cfg, "rblnValencePB", listed.Score);
                Engine.AddPenalty(cfg, st, ip, m, i, reason, 0, ctx.Log, "rblnValencePB");
            }
            st.Reports.Add(new CheckReport(Checks.Dnsbl.Name, "neutral", listed.Score, reason));
            return null;
        }
        if (listed.Outcome != DnsListOutcome.Failed) return null;
        var failed = $"DNSBL (cache): failed, {ip} listed in {listed.ListedText}";
        if (mode == CheckMode.Monitor)
        {
            ctx.Log($"[monitoring] ({failed})");
            return null;
        }
        var (fm, fi) = DecisionEngine.Proportional(cfg, "rblValencePB", listed.Score);
        Engine.AddPenalty(cfg, st, ip, fm, fi, failed, 0, ctx.Log, "rblValencePB");
        if (mode == CheckMode.Score)
        {
            st.Reports.Add(new CheckReport(Checks.Dnsbl.Name, "score", fm, failed));
            return null;
        }
        if (cfg.GetBool("AddRBLHeader")) st.AddHeader($"X-Assp-DNSBL: failed ({ip} listed in {listed.ListedText})");
        st.Prepend.Clear().Append(Checks.Dnsbl.Tag);
        var verdict = Engine.ThisIsSpam(cfg, st, failed, (CollectTarget)cfg.GetChoice("RBLFailLog"), DnsblCheck.Reply(cfg["RBLError"], listed), null, false, ctx.Log);
        st.Reports.Add(new CheckReport(Checks.Dnsbl.Name, verdict.Refuses ? "block" : "tag", fm, failed));
        return verdict;
    }

    private Verdict MailFrom(IMailContext ctx)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.NewMessage();
        st.SessionId = ctx.SessionId;
        st.ScoredIp = ctx.RemoteAddress;
        st.RelayOk = IsRelaySession(ctx);
        var from = ctx.MailFrom ?? "";
        st.IsBounce = from.Length == 0 || cfg.Derived("bounce-senders", c => AddressList.Compile(c.GetListEntries("BounceSenders"),
            "BounceSenders", [], Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout)).Contains(from);

        if (from.Length > 0)
        {
            if (cfg.GetAddressList("noProcessingFrom").Contains(from)) st.NoProcessing ??= $"noProcessingFrom '{from}'";
            if (cfg.GetAddressList("noProcessing").Contains(from)) st.NoProcessing ??= $"noProcessing '{from}'";
            if (NoProcessingDomains(cfg).Matches(from)) st.NoProcessing ??= $"noProcessingDomains '{from}'";
            if (Engine.AddressReputation.IsRedlisted(cfg, from)) st.Red ??= from;
            if (!st.RelayOk && cfg.GetDomainList("whiteListedDomains").Matches(from)) st.Whitelisted ??= $"whiteListedDomains '{from}'";
        }
        if (st.RelayOk && ctx.IsAuthenticated && cfg.GetBool("WhitelistAuth")) st.Whitelisted ??= "authenticated (WhitelistAuth)";
        // tlsValencePB: mail over an encrypted connection (STARTTLS or an SSL listener) gets this score, usually a bonus.
        if (ctx.IsTls && !st.IsIsp) Engine.AddPenalty(cfg, st, ctx.RemoteAddress, "tlsValencePB", "SSL-TLS-connection-OK", 0, ctx.Log);
        if (st.NoProcessing is not null && !st.RelayOk) ctx.Log($"noprocessing: {st.NoProcessing}");
        return Verdict.Pass;
    }

    private static DomainList NoProcessingDomains(ConfigSnapshot cfg) =>
        cfg.Derived("np-domains", c => DomainList.Compile(c.GetListEntries("noProcessingDomains"), "noProcessingDomains", [],
            Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout));

    private static readonly string[] LoverLists =
    [
        "spamLovers", "baysSpamLovers", "blSpamLovers", "hlSpamLovers", "hiSpamLovers", "bombSpamLovers", "ptrSpamLovers",
        "mxaSpamLovers", "spfSpamLovers", "rblSpamLovers", "uriblSpamLovers", "srsSpamLovers", "delaySpamLovers",
        "pbSpamLovers", "sbSpamLovers", "atSpamLovers", "isSpamLovers",
    ];

    /// <summary>The address lists a check asks "is every recipient on it" of (its haters, its test-mode users).</summary>
    private static readonly string[] RecipientLists = ["baysSpamHaters", "hlSpamHaters", "rblSpamHaters", "baysTestModeUserAddresses"];

    /// <summary>
    /// DoRFC822 "sender" (2) or "both" (3): an incoming sender outside our domains must be a well-formed RFC 822 address;
    /// otherwise 553 and nofromValencePB. Whitelisted, noprocessing, PenaltyBox-white, noPB, RWL and acceptAllMail senders
    /// are not checked. (ASSP also looks up the domain's name servers here; this build checks the form only.)
    /// </summary>
    private Verdict? MalformedSender(IMailContext ctx, MessageState st)
    {
        var cfg = ctx.Config;
        var from = ctx.MailFrom ?? "";
        if ((cfg.GetChoice("DoRFC822") & 2) == 0 || from.Length == 0 || st.RelayOk || st.IsNoProcessing || st.IsWhitelisted
            || st.PenaltyWhite || st.NoPenaltyBox || st.RwlOk || cfg.GetIpList("acceptAllMail").Contains(ctx.RemoteAddress)) return null;
        int at = from.LastIndexOf('@');
        if (at <= 0 || LocalDomains.For(cfg).IsLocal(from[(at + 1)..]) || Recipients.Rfc822.IsValid(from)) return null;
        st.Prepend.Clear().Append("[MalformedAddress]");
        ctx.Log($"malformed address: '{from}' - RFC822");
        Engine.AddPenalty(cfg, st, st.ScoredIp ?? ctx.RemoteAddress, "nofromValencePB", "From-missing", 0, ctx.Log);
        return Verdict.Block($"553 Malformed (RFC822) address: {from}", "malformed sender address (RFC822)");
    }

    private Verdict RcptTo(IMailContext ctx)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        var rcpt = ctx.Recipients[^1];
        var from = ctx.MailFrom ?? "";
        // DoRFC822 "recipients" (1) or "both" (3): a malformed recipient is refused and scored with irValencePB.
        if ((cfg.GetChoice("DoRFC822") & 1) != 0 && !Recipients.Rfc822.IsValid(rcpt))
        {
            st.Prepend.Clear().Append("[MalformedAddress]");
            ctx.Log($"malformed address: '{rcpt}' - RFC822");
            Engine.AddPenalty(cfg, st, st.ScoredIp ?? ctx.RemoteAddress, "irValencePB", "InvalidAddress", 0, ctx.Log);
            return Verdict.Block($"553 Malformed (RFC822) address: {rcpt}", "malformed recipient address (RFC822)");
        }
        st.FirstRecipient ??= rcpt;
        int count = ctx.Recipients.Count;

        if (cfg.GetAddressList("transparentRecipients").Contains(rcpt))
        {
            st.Transparent = true;
            return Verdict.Pass;
        }
        if (st.RelayOk) return Verdict.Pass;

        // Spam traps (spamtrapaddresses, or an address the PenaltyBox made a trap): refused and scored, whitelisting ignored.
        if (!cfg.GetIpList("acceptAllMail").Contains(ctx.RemoteAddress) && !cfg.GetAddressList("noPenaltyMakeTraps").Contains(rcpt)
            && (cfg.GetAddressList("spamtrapaddresses").Contains(rcpt) || (Engine.IpReputation is IpPenaltyBox traps && traps.FindTrap(cfg, rcpt).ActsAsTrap)))
        {
            // UseTrapToCollect: the trap takes the mail like a collect address instead of refusing it.
            if (cfg.GetBool("UseTrapToCollect"))
            {
                st.AddressedToSpamBucket ??= rcpt;
                ctx.Log($"trap address {rcpt} used to collect (UseTrapToCollect)");
                return Verdict.Pass;
            }
            var ip = st.ScoredIp ?? ctx.RemoteAddress;
            st.Whitelisted = null;
            Engine.IpReputation.DeleteWhite(cfg, ip);
            st.Prepend.Clear().Append("[Trap]");
            var reason = $"penalty trap address: {rcpt}";
            ctx.Log(reason);
            Engine.AddPenalty(cfg, st, ip, "stValencePB", reason, 0, ctx.Log);
            st.Reports.Add(new CheckReport("spamtrapaddresses", "block", cfg.GetValence("stValencePB").Message, reason));
            var template = cfg["PenaltyTrapPolite"].Trim().Length > 0 ? cfg["PenaltyTrapPolite"] : "550 5.1.1 User unknown: EMAILADDRESS";
            return Verdict.Block(Engine.ExpandReply(cfg, st, template, rcpt, ip, ctx.SessionId), reason);
        }

        if (from.Length > 0 && Engine.AddressReputation.IsPersonallyBlocked(cfg, rcpt, from))
        {
            ctx.Log($"[spam found] ({from} rejected by personal black address list of {rcpt} - skipped recipient)");
            return Verdict.Block($"550 mailbox for <{rcpt}> is unavailable", "personal blacklist");
        }

        // noprocessing by recipient needs every recipient on the list.
        bool npRcpt = cfg.GetAddressList("noProcessing").Contains(rcpt);
        st.NpRecipients += npRcpt ? 1 : 0;
        if (st.NpRecipients == count && st.NoProcessing is null) st.NoProcessing = $"noProcessing '{rcpt}'";
        else if (!npRcpt && st.NoProcessing is { } np && np.StartsWith("noProcessing '", StringComparison.Ordinal) && !cfg.GetAddressList("noProcessing").Contains(from))
            st.NoProcessing = null;
        if (cfg.GetIpList("noProcessingIPs").Match(ctx.RemoteAddress, rcpt) is { } npIp) st.NoProcessing ??= "noProcessingIPs " + npIp.Network;
        if (cfg.GetIpList("whiteListedIPs").Match(ctx.RemoteAddress, rcpt) is { } wlIp) st.Whitelisted ??= "whiteListedIPs " + wlIp.Network;
        // noCollecting: mail from or to these addresses is never stored.
        if (cfg.GetAddressList("noCollecting").Contains(rcpt) || cfg.GetAddressList("noCollecting").Contains(from)) st.NoCollect = true;

        // Spam lovers: a bit for "some recipient loves it" and one for "some does not"; 1 alone means all do.
        var groupMismatch = false;
        bool anyLover = false;
        var matched = new Dictionary<string, bool>(StringComparer.Ordinal);
        double? max = st.SpamMaxScore;
        foreach (var list in LoverLists)
        {
            if (cfg.Registry.Find(list) is null) continue;
            bool hit = ScoredAddressList.For(cfg, list).TryMatch(rcpt, out var score);
            matched[list] = hit;
            if (hit)
            {
                if (list != "delaySpamLovers") anyLover = true;
                if (score > 0 && (max is null || score > max))
                {
                    max = score;
                    st.SpamMaxScoreInfo = $"{rcpt} is in {list}";
                }
            }
        }
        if (cfg.GetBool("groupSpamLovers"))
        {
            if (st.LoverGroup is { } group && group != anyLover) groupMismatch = true;
            else st.LoverGroup ??= anyLover;
        }
        if (groupMismatch)
        {
            ctx.Log($"info: envelope recipient {rcpt} rejected - spamlover mismatch with previous envelope recipients");
            return Verdict.TempFail("452 too many recipients", "groupSpamLovers");
        }
        st.SpamMaxScore = max;
        bool all = matched.GetValueOrDefault("spamLovers");
        st.SpamLover |= all ? 1 : 2;
        foreach (var list in LoverLists)
        {
            bool loves = matched.GetValueOrDefault(list) || (all && list is not "atSpamLovers");
            st.LoverBits[list] = st.LoverBits.GetValueOrDefault(list) | (loves ? 1 : 2);
        }
        if (cfg.GetBool("baysSpamLoversRed") && matched.GetValueOrDefault("baysSpamLovers")) st.BayesLoverNotCollected = true;
        foreach (var list in RecipientLists)
            st.RecipientListBits[list] = st.RecipientListBits.GetValueOrDefault(list) | (cfg.GetAddressList(list).Contains(rcpt) ? 1 : 2);
        bool hater = cfg.GetAddressList("spamHaters").Contains(rcpt);
        st.HaterCount += hater ? 1 : 0;
        st.AllHaters = st.HaterCount == count;

        if (st.Whitelisted is null && from.Length > 0)
        {
            if (cfg.GetDomainList("whiteListedDomains").Matches(from, rcpt)) st.Whitelisted = $"whiteListedDomains '{from}' for {rcpt}";
            else if (Engine.AddressReputation.IsWhitelisted(cfg, from, rcpt)) st.Whitelisted = $"whitelisted sender '{from}'";
        }
        st.LastRecipientNoProcessing = npRcpt;
        return Verdict.Pass;
    }

    private async ValueTask<Verdict> RcptToAsync(IMailContext ctx, CancellationToken ct)
    {
        var verdict = RcptTo(ctx);
        var st = ctx.CheckState.Message;
        if (!verdict.Refuses && !st.Transparent) await ProcessOnlyAsync(ctx, st, ct).ConfigureAwait(false);
        if (verdict.Refuses || st.Transparent || st.RelayOk) return verdict;
        verdict = await RunChecksAsync(SmtpPhase.RcptTo, ctx, ct).ConfigureAwait(false);
        if (verdict.Refuses) return verdict;
        // Greylisting comes last, as in ASSP: the other recipient checks decide first.
        return Delay(ctx, st, ctx.Recipients[^1], st.LastRecipientNoProcessing);
    }

    /// <summary>
    /// poTestMode: only mail from or to a processOnlyAddresses address is checked; a message with a local recipient that
    /// is not on the list (nor from a listed sender) is passed on without processing. noprocessing lists go first.
    /// </summary>
    private async ValueTask ProcessOnlyAsync(IMailContext ctx, MessageState st, CancellationToken ct)
    {
        var cfg = ctx.Config;
        if (!cfg.GetBool("poTestMode") || st.IsNoProcessing) return;
        var rcpt = ctx.Recipients[^1];
        int at = rcpt.LastIndexOf('@');
        if (at < 0 || !await IsLocalDomainAsync(cfg, rcpt[(at + 1)..], ct).ConfigureAwait(false)) return;
        var list = cfg.GetAddressList("processOnlyAddresses");
        var from = ctx.MailFrom ?? "";
        if (from.Length > 0 && list.Contains(from)) st.PassingReason = $"envelope sender {from} is on processOnlyAddresses";
        else if (list.Contains(rcpt)) st.PassingReason = $"envelope recipient {rcpt} is on processOnlyAddresses";
        else
        {
            st.NoProcessing = "poTestMode: not on processOnlyAddresses";
            ctx.Log("message proxied without processing - poTestMode('Enable Process Only Addresses') is enabled");
        }
    }

    /// <summary>ASSP's Delayok: greylisting for this recipient, after the exemptions ASSP grants.</summary>
    private Verdict Delay(IMailContext ctx, MessageState st, string rcpt, bool rcptNoProcessing)
    {
        var cfg = ctx.Config;
        if (Engine.Greylist is not { } greylist || !cfg.GetBool("EnableDelaying")) return Verdict.Pass;
        var ip = ctx.RemoteAddress;
        if (st.RelayOk || st.IsIsp || rcptNoProcessing || DecisionEngine.IsPrivate(ip) || cfg.GetIpList("acceptAllMail").Contains(ip)) return Verdict.Pass;
        var from = ctx.MailFrom ?? "";
        string? exempt = null;
        if (!cfg.GetBool("DelayWL") && st.IsWhitelisted) exempt = "whitelisted";
        else if (!cfg.GetBool("DelayNP") && st.IsNoProcessing) exempt = "noprocessing";
        else if (cfg.GetIpList("noDelay").Contains(ip, rcpt)) exempt = $"{ip} in noDelay";
        else if (cfg.GetAddressList("noDelayAddresses").Contains(rcpt) || (from.Length > 0 && cfg.GetAddressList("noDelayAddresses").Contains(from)))
            exempt = "noDelayAddresses";
        else if (!cfg.GetBool("DelayWL") && (st.PenaltyWhite || Engine.IpReputation.IsWhite(cfg, ip))) exempt = $"{ip} in whitebox (PBWhite)";
        else if (!cfg.GetBool("DelaySL") && st.AllLove("delaySpamLovers")) exempt = "spamlover";
        else if (ScoredAddressList.For(cfg, "delaySpamLovers").Contains(rcpt)) exempt = "delay-spamlover";
        if (exempt is not null)
        {
            if (cfg.GetBool("DelayAddHeader")) st.AddHeader($"X-Assp-Delay: not delayed ({exempt}); {HeaderDate(Engine)}");
            return Verdict.Pass;
        }
        var result = greylist.Check(cfg, ip, from, rcpt);
        bool verbose = cfg.GetChoice("DelayLog") >= 2;
        switch (result.Outcome)
        {
            case DelayOutcome.Accepted:
                if (verbose) ctx.Log($"accepting triplet: {result.Triplet} waited: {Interval(result.Waited)}");
                if (cfg.GetBool("DelayAddHeader")) st.AddHeader($"X-Assp-Delay: delayed for {Interval(result.Waited)}; {HeaderDate(Engine)}");
                return Verdict.Pass;
            case DelayOutcome.Safelisted:
                if (verbose) ctx.Log($"renewing tuplet: age: {Interval(result.Waited)}");
                if (cfg.GetBool("DelayAddHeader")) st.AddHeader($"X-Assp-Delay: not delayed (auto accepted); {HeaderDate(Engine)}");
                return Verdict.Pass;
        }
        var what = result.Outcome switch
        {
            DelayOutcome.NewTriplet => "adding new triplet",
            DelayOutcome.Embargoed => "embargoing triplet",
            DelayOutcome.Late => "late triplet encountered, deleting",
            _ => "deleting expired tuplet",
        };
        if (cfg.GetChoice("DelayLog") >= 1) ctx.Log($"[Delayed] {what}: {result.Triplet}" + (result.Waited > TimeSpan.Zero ? $" waited: {Interval(result.Waited)}" : ""));
        var reply = cfg["DelayError"].Trim();
        return Verdict.TempFail(reply.Length > 0 ? reply : "451 4.7.1 Please try again later", "delayed (greylisting)");
    }

    private static string Interval(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m {t.Seconds}s" : $"{(int)t.TotalSeconds}s";

    private static string HeaderDate(DecisionEngine engine) =>
        (engine.Greylist?.Now ?? DateTimeOffset.UtcNow).ToString("dd MMM yyyy HH:mm:ss +0000", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>DelayExpireOnSpam: spam from a safelisted (IP, sender domain) tuple ends its safelisting.</summary>
    private void SpamSeen(IMailContext ctx, MessageState st)
    {
        if (Engine.Greylist is { } greylist && ctx.Config.GetBool("DelayExpireOnSpam") && !st.RelayOk && !string.IsNullOrEmpty(ctx.MailFrom))
            if (greylist.ExpireTuple(ctx.Config, ctx.RemoteAddress, ctx.MailFrom)) ctx.Log("spam: the greylisting safelist entry of this IP and sender domain was removed");
    }

    private async ValueTask<Verdict> DataHeaderAsync(IMailContext ctx, CancellationToken ct)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        if (st.Transparent) return Verdict.Pass;
        await using (var stream = ctx.OpenMessage())
        {
            if (stream is not null) st.Parsed = await MimeParser.ParseAsync(stream, null, ct).ConfigureAwait(false);
        }
        var msg = st.Parsed;
        // IgnoreMIMEErrors off: what the parser had to repair in the message is logged (the first few of each kind).
        if (msg is { Problems.Count: > 0 } && !cfg.GetBool("IgnoreMIMEErrors"))
            foreach (var group in msg.Problems.GroupBy(p => p.Kind).Take(10))
                ctx.Log($"MIME error: {group.Key} at byte {group.First().Offset}{(group.First().Detail is { Length: > 0 } d ? " - " + d : "")}{(group.Count() > 1 ? $" ({group.Count()} times)" : "")}");
        var headerText = msg is null ? "" : Encoding.Latin1.GetString(msg.Root.RawHeaders.Span);
        st.OriginalSubject = msg?.Subject;
        var ip = st.ScoredIp ?? ctx.RemoteAddress;

        // Size-based noprocessing: big mail gets the connection and header checks only.
        long npSize = st.RelayOk ? cfg.GetLong("npSizeOut") : cfg.GetLong("npSize");
        if (npSize > 0 && ctx.MessageSize > npSize && st.NoProcessing is null)
        {
            st.NoProcessing = $"message size {ctx.MessageSize} > {(st.RelayOk ? "npSizeOut" : "npSize")} {npSize}";
            ctx.Log("noprocessing: " + st.NoProcessing);
        }

        if (st.Red is null && msg is not null)
        {
            if (msg.Headers.Get("Auto-Submitted") is not null) st.Red = "auto-submitted:";
            else if (st.OriginalSubject is { } s && s.Contains("auto:", StringComparison.OrdinalIgnoreCase)) st.Red = "subject: auto:";
        }
        ApplyContentRegexes(ctx, st, headerText, "header");

        if (Engine.NotSpamTags is { } tags && tags.TryRedeem(cfg, st.OriginalSubject))
        {
            st.NotSpamTagged = true;
            int proc = cfg.GetChoice("NotSpamTagProc");
            if (proc is 1 or 3) st.Whitelisted ??= "NotSpamTag";
            if (proc is 2 or 3) st.NoProcessing ??= "NotSpamTag";
            ctx.Log($"NotSpamTag found in the subject - the message is processed as {(proc switch { 1 => "whitelisted", 2 => "noprocessing", 3 => "whitelisted and noprocessing", _ => "usual (monitor only)" })}");
        }

        if (!st.RelayOk && st.Whitelisted is null && msg is not null) HeaderWhitelist(ctx, st, msg);

        if (st.RelayOk)
        {
            // FBMTV: outgoing Message-IDs get our tag (incoming mail is checked by the FbmtvCheck class).
            Assp.Checks.Checks.FbmtvCheck.TagOutgoing(new CheckContext(ctx, Engine, _services));
            // Outgoing mail: only the header checks meant for it (RunsOnOutgoing: loops, local sender rules) and those
            // whose …Local switch (SPFLocal) is on.
            return await RunChecksAsync(SmtpPhase.DataHeader, ctx, ct, outgoingOnly: true).ConfigureAwait(false);
        }
        // signedSenders holds whatever else is set: before any other header check, and for whitelisted mail too.
        if (Assp.Checks.Checks.SignedSenders.Check(ctx, st, msg) is { } unsigned) return unsigned;
        FindOriginalIp(ctx, st, msg);
        ip = st.ScoredIp ?? ctx.RemoteAddress;

        // The DNS lookups of this phase go out together and run while the other header checks work: the backscatter
        // list for a bounce, and the DNSBLs for the sending IP (behind an ISP: the one it received from) and, with
        // enhancedOriginIPDetect, the IPs on the routing path. A lookup whose check no longer applies is just not read.
        Task<DnsListVerdict>? backscatterLookup = null;
        if (Dns is { } bsDns && st.IsBounce && DecisionEngine.Applies(Checks.Backscatter, cfg, st) && !DecisionEngine.IsPrivate(ip)
            && !ctx.Recipients.Any(r => cfg.GetAddressList("noBackSctrAddresses").Contains(r)))
        {
            if (cfg.GetRegex("noBackSctrRe").Match(headerText) is { } noBack)
            {
                RegexMatchNote.Record(ctx, "noBackSctrRe", noBack, "nobackscatter");
            }
            else
            {
                var bsSettings = BackscatterSettings.For(cfg);
                if (bsSettings.LocalFile is { } localFile && bsDns.Backscatter.LocalList(localFile, out var fileProblem) is null && fileProblem is not null)
                    ctx.Log("warning: " + fileProblem);
                backscatterLookup = bsDns.Backscatter.CheckAsync(ip, bsSettings, ct);
            }
        }

        List<(IPAddress Ip, Task<DnsListVerdict> Lookup)>? dnsblLookups = null;
        if (Dns is { } dns && !st.DnsblDone && DecisionEngine.Applies(Checks.Dnsbl, cfg, st) && !st.RwlOk)
        {
            var settings = DnsblSettings.For(cfg);
            var targets = new List<IPAddress>();
            if (!DecisionEngine.IsPrivate(ip) && !(st.IsIsp && st.OriginalIp is null)) targets.Add(ip);
            if (msg is not null && !st.IsNoProcessing)
                foreach (var origin in OriginIps.Find(cfg, msg, ctx.RemoteAddress, st.OriginalIp))
                    if (!targets.Contains(origin) && !Engine.IpReputation.IsWhite(cfg, origin)) targets.Add(origin);
            if (targets.Count > 1) ctx.Log($"info: detected IP's on the mail routing way: {string.Join(", ", targets.Skip(targets[0].Equals(ip) ? 1 : 0))}");
            dnsblLookups = [.. targets.Select(t => (t, dns.Dnsbl.CheckAsync(t, settings, ct)))];
        }

        // The IP's history: a white-box IP earns pbwValencePB, a bad one pbValencePB (message score only).
        if (Engine.IpReputation is IpPenaltyBox pb && !st.NoPenaltyBox && !st.IsNoProcessing)
        {
            var history = pb.CheckAfterHeader(cfg, ip, 0, ctx.MailFrom);
            if (history.ValenceOption is { } valence && history.Action != PenaltyAction.Block)
                Engine.AddPenalty(cfg, st, ip, valence, history.ScoreReason ?? valence, 1, ctx.Log);
        }

        // The header checks of the check classes (HELO, sender, …), then the IP's extreme history.
        var headerChecks = await RunChecksAsync(SmtpPhase.DataHeader, ctx, ct).ConfigureAwait(false);
        if (headerChecks.Refuses) return headerChecks;

        // Extreme profiling after the header: the IP's history plus this message.
        if (DecisionEngine.Applies(Checks.PenaltyExtreme, cfg, st) && !st.NoPenaltyBox && !st.PenaltyWhite
            && !cfg.GetIpList("noExtremePB").Contains(ip) && !cfg.GetAddressList("noExtremePBAddresses").Contains(ctx.MailFrom ?? "")
            && cfg.GetDecimal("PenaltyExtreme") > 0)
        {
            var total = (Engine.IpReputation.BlackTotal(cfg, ip) ?? 0) + st.MessageScore;
            if (total >= cfg.GetDecimal("PenaltyExtreme"))
            {
                var verdict = Engine.Hit(Checks.PenaltyExtreme, cfg, st, ip, $"extreme penalty: totalscore for {ip} is {DecisionEngine.Num(total)}", ctx.Log);
                if (verdict.Refuses) return verdict;
            }
        }

        if (DecisionEngine.Applies(Checks.BlackDomain, cfg, st) && BlackDomainHit(cfg, ctx, st) is { } match)
        {
            var verdict = Engine.Hit(Checks.BlackDomain, cfg, st, ip, $"blacklisted domain '{match}'", ctx.Log);
            if (!verdict.Refuses && Checks.BlackDomain.ConfiguredMode(cfg) != CheckMode.Monitor) Engine.IpReputation.DeleteWhite(cfg, ip);
            if (verdict.Refuses) return verdict;
        }

        // Judged here, in ASSP's order; the lookups went out after the Received: lines were read.
        if (dnsblLookups is not null && !st.DnsblDone && DecisionEngine.Applies(Checks.Dnsbl, cfg, st) && !st.RwlOk)
        {
            for (int t = 0; t < dnsblLookups.Count; t++)
            {
                var verdict = DnsblVerdict(ctx, st, dnsblLookups[t].Ip, await dnsblLookups[t].Lookup.ConfigureAwait(false));
                if (verdict.Refuses) return verdict;
            }
        }

        // A bounce from an IP known to send backscatter (DoBackSctr); its lookup went out with the DNSBL lookups.
        if (backscatterLookup is not null)
        {
            var listed = await backscatterLookup.ConfigureAwait(false);
            // BacksctrLog verbose: a bounce from an IP no backscatter list names is logged too.
            if (listed.Outcome == DnsListOutcome.Pass && cfg.GetChoice("BacksctrLog") >= 2) ctx.Log($"[Backscatter] bounce from {ip}: not listed");
            if (listed.Outcome is DnsListOutcome.Failed or DnsListOutcome.Neutral)
            {
                var verdict = DecisionEngine.OkForIspBounce(cfg, st,
                    Engine.Hit(Checks.Backscatter, cfg, st, ip, $"backscatter: {ip} listed in {listed.ListedText}", ctx.Log), ctx.Log);
                if (verdict.Refuses) return verdict;
            }
        }

        if (cfg.GetBool("WhitelistOnly") && st.Whitelisted is null && st.NoProcessing is null)
        {
            st.Prepend.Clear().Append("[WhitelistOnly]");
            return Engine.ThisIsSpam(cfg, st, "sender is not whitelisted (WhitelistOnly)", (CollectTarget)cfg.GetChoice("spamBucketLog"),
                cfg["SpamError"], null, false, ctx.Log);
        }
        if (Engine.MessageScoreTooHigh(cfg, st, ctx.Log, done: false) is { } tooHigh) return tooHigh;
        return cfg.GetBool("DoNotBlockCollect") ? Verdict.Pass : CollectAddress(ctx, st) ?? Verdict.Pass;
    }

    /// <summary>
    /// Mail to a collect address (spamaddresses; with UseTrapToCollect also the traps) is spam whoever sent it, unless
    /// whitelisted or noprocessing: the IP scores saValencePB, the mail is collected per spamBucketLog and the client
    /// hears "250 OK" while nothing reaches the MTA. Decided after the header checks, or with DoNotBlockCollect only
    /// after every other check, so the filters can be watched on such mail.
    /// </summary>
    private Verdict? CollectAddress(IMailContext ctx, MessageState st)
    {
        var cfg = ctx.Config;
        if (st.AddressedToSpamBucket is not { } bucket || st.IsWhitelisted || st.IsNoProcessing || st.RelayOk || st.Refusal is not null) return null;
        var ip = st.ScoredIp ?? ctx.RemoteAddress;
        Engine.IpReputation.DeleteWhite(cfg, ip);
        var reason = $"Collect Address: {bucket}";
        Engine.AddPenalty(cfg, st, ip, "saValencePB", "SpamCollectAddress", 2, ctx.Log);
        st.Prepend.Clear().Append("[Collect]");
        var verdict = Engine.ThisIsSpam(cfg, st, reason, (CollectTarget)cfg.GetChoice("spamBucketLog"), "250 OK", null, false, ctx.Log);
        st.Reports.Add(new CheckReport("spamaddresses", verdict.Refuses ? "block" : "tag", 0, reason));
        return verdict.Refuses ? verdict : null;
    }

    private Verdict DnsblVerdict(IMailContext ctx, MessageState st, IPAddress ip, DnsListVerdict listed)
    {
        var cfg = ctx.Config;
        // RBLLog verbose: the lookups that found nothing (or ran out of time) are logged too.
        if (listed.Outcome is DnsListOutcome.Pass && cfg.GetChoice("RBLLog") >= 2)
            ctx.Log($"[DNSBL] {ip} not listed{(listed.TimedOut ? " (some DNSBLs did not answer in time)" : "")}{(listed.FromCache ? " (cached)" : "")}");
        if (listed.Outcome is DnsListOutcome.Failed or DnsListOutcome.Neutral && cfg.GetBool("AddRBLHeader"))
            st.AddHeader($"X-Assp-DNSBL: {(listed.Outcome == DnsListOutcome.Failed ? "failed" : "neutral")} ({ip} listed in {listed.ListedText})");
        if (listed.Outcome == DnsListOutcome.Failed)
            return Engine.Hit(Checks.Dnsbl, cfg, st, ip, $"DNSBL: failed, {ip} listed in {listed.ListedText}", ctx.Log,
                DecisionEngine.Proportional(cfg, "rblValencePB", listed.Score), reply: DnsblCheck.Reply(cfg["RBLError"], listed));
        if (listed.Outcome == DnsListOutcome.Neutral)
        {
            var reason = $"DNSBL: neutral, {ip} listed in {listed.ListedText}";
            if (cfg.GetChoice("RBLLog") >= 1) ctx.Log($"[DNSBL] {reason}");
            if (Checks.Dnsbl.ConfiguredMode(cfg) != CheckMode.Monitor)
            {
                var (m, i) = DecisionEngine.Proportional(cfg, "rblnValencePB", listed.Score);
                Engine.AddPenalty(cfg, st, ip, m, i, reason, 0, ctx.Log, "rblnValencePB");
            }
            st.Reports.Add(new CheckReport(Checks.Dnsbl.Name, "neutral", listed.Score, reason));
        }
        return Verdict.Pass;
    }

    private static readonly System.Text.RegularExpressions.Regex s_heloNote = new(@"helo\s*[= ]?\s*([^\s\)]+)",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant,
        TimeSpan.FromMilliseconds(200));

    /// <summary>
    /// Behind an ISP relay or backup MX (ispip) the client is not the sender: ispHostnames finds the Received
    /// line the ISP host wrote and takes the IP it received from; scores and IP lists then apply to that IP.
    /// </summary>
    private void FindOriginalIp(IMailContext ctx, MessageState st, MimeMessage? msg)
    {
        var cfg = ctx.Config;
        if (!st.IsIsp || msg is null) return;
        var hosts = cfg.GetRegex("ispHostnames");
        if (hosts.Count == 0) return;
        foreach (var h in msg.Headers.GetAll("Received"))
        {
            var received = ReceivedHeader.Parse(h.UnfoldedValue);
            if (received.By is null || received.FromIp is not { } from || DecisionEngine.IsPrivate(from) || hosts.Match(received.By) is null) continue;
            if (cfg.GetIpList("ispip").Contains(from)) continue;
            st.OriginalIp = from;
            st.ScoredIp = from;
            // The ISP's note "helo=name" in the comment beats the from name (ASSP's ciphelo).
            st.OriginalHelo = received.FromComment is { } note && s_heloNote.Match(note) is { Success: true } m ? m.Groups[1].Value
                : received.From ?? from.ToString();
            ctx.Log($"Originating IP/HELO: {from} / {st.OriginalHelo}");
            if (cfg.GetIpList("whiteListedIPs").Match(from, st.FirstRecipient) is { } wl) st.Whitelisted ??= "whiteListedIPs " + wl.Network;
            if (cfg.GetIpList("noProcessingIPs").Match(from, st.FirstRecipient) is { } np) st.NoProcessing ??= "noProcessingIPs " + np.Network;
            if (cfg.GetIpList("noPB").Contains(from)) st.NoPenaltyBox = true;
            return;
        }
    }

    /// <summary>ASSP's NotGreedyWhitelist: which of the envelope and header senders decide whitelisting.</summary>
    private void HeaderWhitelist(IMailContext ctx, MessageState st, MimeMessage msg)
    {
        var cfg = ctx.Config;
        var senders = new List<string>();
        if (!string.IsNullOrEmpty(ctx.MailFrom)) senders.Add(ctx.MailFrom);
        int mode = cfg.GetChoice("NotGreedyWhitelist");
        if (mode != 1)
        {
            foreach (var name in new[] { "From", "Sender", "Reply-To", "Errors-To", "List-Post", "List-Owner" })
                foreach (var m in msg.Mailboxes(name))
                    if (!senders.Contains(m.Address, StringComparer.OrdinalIgnoreCase)) senders.Add(m.Address);
        }
        if (senders.Count == 0) return;
        var rcpt = st.FirstRecipient;
        bool White(string a) => !Engine.AddressReputation.IsRedlisted(cfg, a)
            && (cfg.GetDomainList("whiteListedDomains").Matches(a, rcpt) || Engine.AddressReputation.IsWhitelisted(cfg, a, rcpt));
        bool whitelisted = mode == 2 ? senders.All(White) : senders.Any(White);
        if (!whitelisted) return;
        st.Whitelisted = mode == 2 ? "all senders whitelisted" : "whitelisted sender";
        foreach (var s in senders) Engine.AddressReputation.Touch(cfg, s, rcpt);
    }

    private static string? BlackDomainHit(ConfigSnapshot cfg, IMailContext ctx, MessageState st)
    {
        var list = cfg.GetDomainList("blackListedDomains");
        if (list.Count == 0) return null;
        var senders = new List<string>();
        if (!string.IsNullOrEmpty(ctx.MailFrom)) senders.Add(ctx.MailFrom);
        if (st.Parsed is { } msg)
            foreach (var name in new[] { "From", "Sender", "Reply-To" })
                foreach (var m in msg.Mailboxes(name)) senders.Add(m.Address);
        foreach (var s in senders)
        {
            if (list.Matches(s)) return s;
            foreach (var r in ctx.Recipients)
                if (list.Matches(s, r)) return s;
        }
        return null;
    }

    /// <summary>redRe, whiteRe, npRe and SpamLoversRe on the header, then on the header plus MaxBytes of body.</summary>
    private void ApplyContentRegexes(IMailContext ctx, MessageState st, string text, string where)
    {
        var cfg = ctx.Config;
        if (st.Red is null && cfg.GetRegex("redRe").Match(text) is { } red)
        {
            st.Red = red;
            RegexMatchNote.Record(ctx, "redRe", red, "redlisting", where);
        }
        if (st.Whitelisted is null && !st.RelayOk && cfg.GetRegex("whiteRe").Match(text) is { } white)
        {
            st.Whitelisted = $"whiteRe '{white}'";
            RegexMatchNote.Record(ctx, "whiteRe", white, "whitelisting", where);
        }
        if (st.NoProcessing is null && cfg.GetRegex("npRe").Match(text) is { } np)
        {
            st.NoProcessing = $"npRe '{np}'";
            Engine.IpReputation.DeleteBlack(cfg, st.ScoredIp ?? ctx.RemoteAddress);
            RegexMatchNote.Record(ctx, "npRe", np, "noprocessing", where);
        }
        if ((st.SpamLover & 1) == 0 && cfg.GetRegex("SpamLoversRe").Match(text) is { } lover)
        {
            st.SpamLover = 3;
            RegexMatchNote.Record(ctx, "SpamLoversRe", lover, "spamlovers", where);
        }
    }

    private async ValueTask<Verdict> DataBodyAsync(IMailContext ctx, CancellationToken ct)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        var bodyChecks = await RunChecksAsync(SmtpPhase.DataBody, ctx, ct).ConfigureAwait(false);
        if (bodyChecks.Refuses) return bodyChecks;
        if (!st.Transparent && Dns is { } dns && st.Parsed is { } parsed && DecisionEngine.Applies(Checks.Uribl, cfg, st)
            && (!st.IsIsp || cfg.GetBool("URIBLISP") || st.OriginalIp is not null) && UriblSettings.For(cfg) is { } settings && (settings.Providers.Count > 0 || settings.BadIps.Count > 0))
        {
            var verdict = await UriblAsync(ctx, st, parsed, settings, dns, ct).ConfigureAwait(false);
            if (verdict.Refuses) return verdict;
        }
        return DataBody(ctx);
    }

    /// <summary>ValidateURIBL on the links of the text parts (and the sender's domain), then URIBLIPRe on the IPs behind them.</summary>
    private async ValueTask<Verdict> UriblAsync(IMailContext ctx, MessageState st, MimeMessage parsed, UriblSettings settings, DnsListChecks dns, CancellationToken ct)
    {
        var cfg = ctx.Config;
        var from = ctx.MailFrom ?? "";
        if (from.Length > 0 && cfg.GetAddressList("noURIBL").Contains(from))
        {
            if (cfg.GetChoice("URIBLLog") >= 1) ctx.Log("URIBL lookup skipped (noURIBL sender)");
            return Verdict.Pass;
        }
        var uris = new List<Assp.Mime.Uris.FoundUri>();
        foreach (var part in parsed.TextParts)
        {
            if (part.GetText() is not { } text) continue;
            uris.AddRange(Assp.Mime.Uris.UriExtractor.Extract(text, part.ContentType.MediaSubtype.Equals("html", StringComparison.OrdinalIgnoreCase)));
            if (settings.CheckDotWord) uris.AddRange(UriblCheck.FindDotWordHosts(text));
        }
        int at = from.LastIndexOf('@');
        var facts = new UriblMailFacts(at >= 0 ? from[(at + 1)..].Trim('>', ' ').ToLowerInvariant() : null, ctx.Recipients);
        var ip = st.ScoredIp ?? ctx.RemoteAddress;
        var listed = await dns.Uribl.CheckAsync(uris, settings, facts, ct).ConfigureAwait(false);
        int uriblLog = cfg.GetChoice("URIBLLog");
        // URIBLLog diagnostic: every URI found; verbose: the outcome of a lookup that found nothing.
        if (uriblLog >= 3 && uris.Count > 0) ctx.Log("[URIBL] URIs found: " + string.Join(", ", uris.Select(u => u.Original).Distinct().Take(100)));
        if (uriblLog >= 2 && listed.Outcome == DnsListOutcome.Pass) ctx.Log($"[URIBL] passed, {uris.Count} URI(s) checked, none listed");
        st.UriFindings = new UriFindings(listed.ObfuscatedIp, listed.ObfuscatedUri, listed.TooManyUris, listed.TooManyDomains);
        var zones = string.Join(' ', listed.ListedBy.Select(l => l.Zone).Distinct());
        if (cfg.GetBool("AddURIS2MyHeader") && listed.Detected.Count > 0)
            st.AddHeader("X-Assp-Detected-URI: " + string.Join(", ", listed.Detected.Select(d => $"{d.Uri}({d.Count})")));
        if (listed.Outcome is DnsListOutcome.Failed or DnsListOutcome.Neutral && cfg.GetBool("AddURIBLHeader"))
            st.AddHeader($"X-Assp-Received-URIBL: {(listed.Outcome == DnsListOutcome.Failed ? "failed" : "neutral")} ({listed.ListedDomain} listed in {zones})");
        if (listed.Outcome == DnsListOutcome.Failed)
        {
            var verdict = Engine.Hit(Checks.Uribl, cfg, st, ip, $"URIBL: failed, {listed.ListedDomain} listed in {zones}", ctx.Log,
                DecisionEngine.Proportional(cfg, "uriblValencePB", listed.Score), done: true,
                reply: cfg["URIBLError"].Replace("URIBLNAME", zones, StringComparison.Ordinal));
            if (verdict.Refuses) return DropWithoutUriblError(cfg, st, verdict, ctx.Log);
        }
        else if (listed.Outcome == DnsListOutcome.Neutral)
        {
            var reason = $"URIBL: neutral, {listed.ListedDomain} listed in {zones}";
            if (uriblLog >= 1) ctx.Log($"[URIBL] {reason}");
            if (Checks.Uribl.ConfiguredMode(cfg) != CheckMode.Monitor)
            {
                var (m, i) = DecisionEngine.Proportional(cfg, "uriblnValencePB", listed.Score);
                Engine.AddPenalty(cfg, st, ip, m, i, reason, 0, ctx.Log, "uriblnValencePB");
            }
            st.Reports.Add(new CheckReport(Checks.Uribl.Name, "neutral", listed.Score, reason));
        }

        // URIBLIPRe: a URI IP (written or resolved) on the list blocks whatever the mode, test mode or spam lover says.
        if (listed.BadIp is { } bad)
        {
            var reason = "IP check for URI's failed";
            if (uriblLog >= 1) ctx.Log($"URIBLIP: resolved URI-IP {bad} listed in URIBLIPRe");
            st.Prepend.Clear().Append(Checks.Uribl.Tag);
            Engine.AddPenalty(cfg, st, ip, "uriblValencePB", reason, 0, ctx.Log);
            var verdict = Engine.ThisIsSpam(cfg, st, reason, (CollectTarget)cfg.GetChoice("URIBLFailLog"),
                cfg["URIBLError"].Replace("URIBLNAME", bad.ToString(), StringComparison.Ordinal), null, false, ctx.Log);
            st.Reports.Add(new CheckReport(Checks.Uribl.Name, verdict.Refuses ? "block" : "tag", cfg.GetValence("uriblValencePB").Message, reason));
            return DropWithoutUriblError(cfg, st, verdict, ctx.Log);
        }
        return Verdict.Pass;
    }

    /// <summary>An empty URIBLError means no reply at all: the refused client's connection is simply dropped.</summary>
    private static Verdict DropWithoutUriblError(ConfigSnapshot cfg, MessageState st, Verdict verdict, Action<string> log)
    {
        if (verdict.Kind != VerdictKind.Block || cfg["URIBLError"].Trim().Length > 0) return verdict;
        log("URIBLError is empty - the connection is dropped");
        var drop = Verdict.Drop(verdict.Reason ?? "URIBL");
        st.Refusal = drop;
        return drop;
    }

    private Verdict DataBody(IMailContext ctx)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        if (st.Transparent) return Verdict.Pass;
        if (st.Parsed is { } msg)
        {
            int maxBytes = cfg.GetInt("MaxBytes", 4000);
            if (maxBytes <= 0) maxBytes = 10000;
            var raw = msg.Root.RawEntity.Span;
            int headerLength = msg.Root.BodyStart - msg.Root.HeaderStart;
            var text = Encoding.Latin1.GetString(raw[..Math.Min(raw.Length, headerLength + maxBytes)]);
            ApplyContentRegexes(ctx, st, text, "body");
        }
        if (cfg.GetBool("DoNotBlockCollect") && CollectAddress(ctx, st) is { } collected) return collected;
        var ip = st.ScoredIp ?? ctx.RemoteAddress;
        var verdict = Engine.Finish(cfg, st, ip, ctx.Log);
        if (verdict.Refuses) return verdict;
        if (st.Collect is { } target && target != CollectTarget.None)
            ctx.Log($"collect: {DecisionEngine.CollectFolderOption(target)} (code {(int)target})");
        return Verdict.Pass;
    }

    private Verdict AfterDelivery(IMailContext ctx)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        if (!ctx.Delivered || st.Transparent) return Verdict.Pass;
        var ip = st.ScoredIp ?? ctx.RemoteAddress;
        if (st.RelayOk)
        {
            var headerRecipients = st.Parsed is { } msg
                ? msg.To.Concat(msg.Cc).Select(m => m.Address).ToList()
                : [];
            var added = Engine.AddressReputation.LearnFromOutgoing(cfg, new OutgoingMail(ctx.MailFrom ?? "", [.. ctx.Recipients], headerRecipients,
                ctx.IsAuthenticated, !string.IsNullOrEmpty(ctx.MailFrom) && ctx.Recipients.Count > 0, st.MessageScore, st.IsRed, st.IsWhitelisted));
            foreach (var a in added) ctx.Log($"whitelist addition: {a}");
            return Verdict.Pass;
        }
        if (!st.SpamFound)
        {
            // A good message lowers the IP's score; whitelisted mail puts its IP in the white box.
            if (!st.IsNoProcessing) Engine.AddPenalty(cfg, st, ip, "okValencePB", "MessageOK", 2, ctx.Log);
            if (st.IsWhitelisted && !st.NoPenaltyBox && !cfg.GetIpList("noPBwhite").Contains(ip) && !DecisionEngine.IsPrivate(ip) && cfg.GetChoice("DoPenalty") != 0)
                Engine.IpReputation.AddWhite(cfg, ip, "whitelisted");
        }
        return Verdict.Pass;
    }
}
