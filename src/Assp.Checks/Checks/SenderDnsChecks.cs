using System.Globalization;
using System.Net;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Dns;
using Assp.Storage;

namespace Assp.Checks.Checks;

/// <summary>
/// DoReversed: the client IP (or the sender behind an ISP relay) must have a PTR record; a missing one scores
/// ptmValencePB. DoInvalidPTR: a PTR name matching invalidPTRRe (weighted) and not validPTRRe scores ptiValencePB
/// with the weights of the matches; in block mode a sum below ptiValencePB only scores. Replies with
/// SenderInvalidError ("PTR missing" / "PTR invalid '…'"). Mail that passed SPF is skipped unless DoReversedSPFOK.
/// Results are kept PTRCacheInterval days (0: no cache) in the PTRCache table when a store is configured.
/// </summary>
public sealed class ReversedLookupCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Missing = new("DoReversed", "[PTRmissing]", "ptmValencePB", TestModeOption: "ptrTestMode",
        LoverList: "ptrSpamLovers", WhitelistSwitch: "DoReversedWL", NoProcessingSwitch: "DoReversedNP", CollectOption: "spamPTRLog",
        ReplyOption: "SenderInvalidError");

    public static readonly CheckDefinition Invalid = new("DoInvalidPTR", "[PTRinvalid]", "ptiValencePB", TestModeOption: "ptrTestMode",
        LoverList: "ptrSpamLovers", WhitelistSwitch: "DoReversedWL", NoProcessingSwitch: "DoReversedNP", CollectOption: "spamPTRLog",
        ReplyOption: "SenderInvalidError");

    /// <summary>The table of cached PTR results (ASSP's PTRCache): "1" missing, "2 name" valid, "3 name" invalid.</summary>
    public const string CacheTable = "PTRCache";

    public CheckDefinition Definition => Missing;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 85;

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var st = c.State;
        var ip = c.Ip;
        if (services.Dns is not { } dns || !c.Applies(Missing) || CheckHelpers.AcceptAll(c) || CheckHelpers.IspWithoutOrigin(st)) return Verdict.Pass;
        if (st.SpfPassed && !cfg.GetBool("DoReversedSPFOK")) return Verdict.Pass;
        if (st.RwlOk && st.OriginalIp is null) return Verdict.Pass;
        if (DecisionEngine.IsPrivate(ip)) return Verdict.Pass;
        bool log = cfg.GetChoice("ValidateSenderLog") >= 1;

        var (status, name, cached) = Cached(cfg, ip);
        if (status is null)
        {
            var answer = await dns.Resolver.QueryAsync(DnsName.ReverseLookupName(ip), DnsRecordType.PTR, cancellationToken).ConfigureAwait(false);
            name = answer.Records.OfType<PtrRecord>().Select(p => p.Target.TrimEnd('.')).FirstOrDefault();
            if (name is not null) status = 2;
            else if (answer.Status is DnsStatus.NxDomain or DnsStatus.NoData || answer.Succeeded) status = 1;
            else
            {
                if (cfg.GetChoice("ValidateSenderLog") >= 2) c.Log($"PTR unchecked - {answer.Status} {answer.Error}".TrimEnd());
                return Verdict.Pass;
            }
        }
        var fromCache = cached ? " - Cache" : "";

        if (status == 1)
        {
            if (!cached) Remember(cfg, ip, "1");
            var reason = "PTR missing";
            if (log) c.Log($"{Missing.Tag} ({reason}){fromCache}");
            return c.Engine.Hit(Missing, cfg, st, ip, reason, c.Log, reply: CheckHelpers.SenderInvalid(cfg, reason));
        }

        name ??= "";
        if (CheckHelpers.HeloIgnored(cfg, name)) return Verdict.Pass;
        var (sum, matched) = CheckHelpers.WeightedSum(cfg, "invalidPTRRe", "ptiValencePB", name);
        bool invalid = (matched.Length > 0 || sum != 0) && cfg.GetRegex("validPTRRe").Match(name) is null;
        if (!cached) Remember(cfg, ip, (invalid ? "3 " : "2 ") + name);
        if (!invalid || Invalid.ConfiguredMode(cfg) == CheckMode.Disabled)
        {
            if (cfg.GetChoice("ValidateSenderLog") >= 2) c.Log($"found valid PTR {name}{fromCache}");
            return Verdict.Pass;
        }
        if (!c.Applies(Invalid)) return Verdict.Pass;
        var why = $"PTR invalid '{name}'";
        if (log) c.Log($"{Invalid.Tag} ({why}){fromCache}");
        var score = DecisionEngine.Proportional(cfg, "ptiValencePB", sum);
        // A weak match (weights below the full valence) only scores, even in block mode.
        if (DecisionEngine.EffectiveMode(Invalid, cfg, st) == CheckMode.Block && sum < cfg.GetValence("ptiValencePB").Message)
        {
            st.Prepend.Clear().Append(Invalid.Tag);
            c.Engine.AddPenalty(cfg, st, ip, score.Message, score.Ip, why, 0, c.Log, "ptiValencePB");
            c.Log($"[scoring] ({why})");
            st.Reports.Add(new CheckReport(Invalid.Name, "score", score.Message, why));
            return Verdict.Pass;
        }
        return c.Engine.Hit(Invalid, cfg, st, ip, why, c.Log, score, reply: CheckHelpers.SenderInvalid(cfg, why));
    }

    private IStoreTable? Table(ConfigSnapshot cfg) => services.Store is { } store && cfg.GetDecimal("PTRCacheInterval") > 0 ? store.Table(CacheTable) : null;

    private (int? Status, string? Name, bool Cached) Cached(ConfigSnapshot cfg, IPAddress ip)
    {
        if (Table(cfg) is not { } table || !table.TryGet(ip.ToString(), out var record)) return (null, null, false);
        var age = services.Time.GetUtcNow().ToUnixTimeSeconds() - record.Updated;
        if (age > cfg.GetDecimal("PTRCacheInterval") * 86400)
        {
            table.Remove(ip.ToString());
            return (null, null, false);
        }
        var parts = record.Value.Split(' ', 2);
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status is < 1 or > 3) return (null, null, false);
        return (status == 3 ? 2 : status, parts.Length > 1 ? parts[1] : null, true);
    }

    private void Remember(ConfigSnapshot cfg, IPAddress ip, string value) =>
        Table(cfg)?.Set(ip.ToString(), value, services.Time.GetUtcNow().ToUnixTimeSeconds());
}

/// <summary>
/// DoDomainCheck: the envelope sender's domain and the domains of the reply-type header addresses (From, Sender,
/// Reply-To, Return-Path, Errors-To, Disposition-Notification-To, Return-Receipt-To, ReturnReceipt, List-*) must
/// have an MX with a public address. No MX scores mxValencePB, no usable address (of an MX, or of the domain when
/// it has no MX) mxaValencePB, each once per message; a domain with neither fails the check (block mode: refused
/// with SenderInvalidError "Missing MX and A record"). DNS errors count as nothing found out. Local senders,
/// bounces, LAN clients, outgoing, whitelisted and noprocessing mail are not checked. Results are kept
/// MXACacheInterval days.
/// </summary>
public sealed class DomainMxCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoDomainCheck", "[MissingMXA]", "mxaValencePB", TestModeOption: "mxaTestMode",
        LoverList: "mxaSpamLovers", CollectOption: "spamMXALog", ReplyOption: "SenderInvalidError");

    /// <summary>The table of cached MX/A results (ASSP's MXACache): "mx a" with "-" for none.</summary>
    public const string CacheTable = "MXACache";

    private static readonly string[] HeaderNames =
        ["From", "ReturnReceipt", "Return-Receipt-To", "Disposition-Notification-To", "Return-Path", "Reply-To", "Sender", "Errors-To"];

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 80;

    private sealed record DomainResult(string? Mx, string? A, bool QueryError, bool Cached);

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var st = c.State;
        var ip = c.Ip;
        if (services.Dns is not { } dns || !c.Applies(Check) || st.IsBounce || CheckHelpers.AcceptAll(c)) return Verdict.Pass;
        if (st.RwlOk && st.OriginalIp is null) return Verdict.Pass;
        // A LAN client is checked like any other (as ASSP does); its own mail comes relayed (RelayOk) and is not.
        var from = c.Mail.MailFrom ?? "";
        if (CheckHelpers.IsLocalAddress(cfg, from)) return Verdict.Pass;

        var domains = Domains(c, from);
        if (domains.Count == 0) return Verdict.Pass;
        var mode = DecisionEngine.EffectiveMode(Check, cfg, st);
        int verbosity = cfg.GetChoice("ValidateSenderLog");
        if (verbosity >= 2) c.Log("checking MX/A for " + string.Join(" , ", domains.Keys));

        bool mxScored = false, aScored = false;
        string? failedDomain = null;
        foreach (var (domain, tag) in domains)
        {
            var r = await LookupAsync(cfg, dns.Resolver, domain, cancellationToken).ConfigureAwait(false);
            if (r.QueryError)
            {
                if (verbosity >= 1) c.Log($"{domain} - can't get DNS-server answer for MX/A");
                continue;
            }
            var cache = r.Cached ? " (cache)" : "";
            if (r.Mx is null)
            {
                var reason = $"MX missing{cache}: {domain} ({tag})";
                if (verbosity >= 1) c.Log($"{Tlit(mode)} {reason}");
                if (!mxScored && mode != CheckMode.Monitor)
                {
                    c.Engine.IpReputation.DeleteWhite(cfg, ip);
                    c.Engine.AddPenalty(cfg, st, ip, "mxValencePB", reason, 0, c.Log);
                }
                mxScored = true;
            }
            else if (verbosity >= 2) c.Log($"MX found{cache}: {domain} ({tag}) -> {r.Mx}");
            if (r.A is null)
            {
                var reason = $"A record missing: {domain} ({tag}){cache}";
                if (verbosity >= 1) c.Log($"{Tlit(mode)} {reason}");
                if (!aScored && mode != CheckMode.Monitor) c.Engine.AddPenalty(cfg, st, ip, "mxaValencePB", reason, 0, c.Log);
                aScored = true;
            }
            else if (verbosity >= 2) c.Log($"A record found{cache}: {domain} ({tag}) -> {r.A}");
            if (r.Mx is null && r.A is null) failedDomain ??= $"{domain} ({tag})";
        }
        if (failedDomain is null) return Verdict.Pass;
        var why = "missing MX and A record";
        if (mode is CheckMode.Monitor or CheckMode.Score)
        {
            st.Reports.Add(new CheckReport(Check.Name, mode == CheckMode.Monitor ? "monitor" : "score", 0, $"{why}: {failedDomain}"));
            return Verdict.Pass;
        }
        if (verbosity >= 1) c.Log($"MX and A record missing ( DoDomainCheck ) at least for: {failedDomain}");
        // The scores were added above; the verdict itself adds none.
        return c.Engine.Hit(Check, cfg, st, ip, why, c.Log, (0, 0), reply: CheckHelpers.SenderInvalid(cfg, "Missing MX and A record"));
    }

    private static string Tlit(CheckMode mode) => mode switch
    {
        CheckMode.Monitor => "[monitoring]",
        CheckMode.Score => "[scoring]",
        CheckMode.TestMode => "[testmode]",
        _ => "[spam found]",
    };

    /// <summary>The sender's domain (tag "Mail From:") and every non-local domain of the reply-type header addresses.</summary>
    private static Dictionary<string, string> Domains(CheckContext c, string from)
    {
        var domains = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (CheckHelpers.Domain(from) is { } d && !d.StartsWith('[')) domains[d.ToLowerInvariant()] = "Mail From:";
        if (c.State.Parsed is not { } msg) return domains;
        var local = LocalDomains.For(c.Config);
        foreach (var h in msg.Headers)
        {
            if (!HeaderNames.Contains(h.Name, StringComparer.OrdinalIgnoreCase) && !h.Name.StartsWith("List-", StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var m in msg.Mailboxes(h.Name))
            {
                var dom = m.Domain.ToLowerInvariant();
                if (dom.Length == 0 || m.IsDomainLiteral || !dom.Contains('.') || local.IsLocal(dom)) continue;
                domains[dom] = !domains.TryGetValue(dom, out var tag) ? h.Name
                    : tag.Split(" , ").Contains(h.Name, StringComparer.OrdinalIgnoreCase) ? tag : tag + " , " + h.Name;
            }
        }
        return domains;
    }

    private async Task<DomainResult> LookupAsync(ConfigSnapshot cfg, DnsResolver resolver, string domain, CancellationToken ct)
    {
        var table = services.Store is { } store && cfg.GetDecimal("MXACacheInterval") > 0 ? store.Table(CacheTable) : null;
        long now = services.Time.GetUtcNow().ToUnixTimeSeconds();
        if (table is not null && table.TryGet(domain, out var record))
        {
            if (now - record.Updated <= cfg.GetDecimal("MXACacheInterval") * 86400)
            {
                var parts = record.Value.Split(' ');
                if (parts.Length == 2) return new DomainResult(parts[0] == "-" ? null : parts[0], parts[1] == "-" ? null : parts[1], false, true);
            }
            table.Remove(domain);
        }

        var result = await QueryAsync(resolver, domain, ct).ConfigureAwait(false);
        if (table is not null && !result.QueryError) table.Set(domain, $"{result.Mx ?? "-"} {result.A ?? "-"}", now);
        return result;
    }

    private static async Task<DomainResult> QueryAsync(DnsResolver resolver, string domain, CancellationToken ct)
    {
        var mx = await resolver.QueryAsync(domain, DnsRecordType.MX, ct).ConfigureAwait(false);
        if (!mx.IsDefinite) return new DomainResult(null, null, true, false);
        var exchanges = mx.Records.OfType<MxRecord>().OrderBy(r => r.Preference).Select(r => r.Exchange.TrimEnd('.')).Where(e => e.Length > 0).ToList();
        if (exchanges.Count == 0)
        {
            // No MX: the domain's own address is what a sender would fall back to.
            var (own, error) = await PublicAddressAsync(resolver, domain, ct).ConfigureAwait(false);
            return new DomainResult(null, own, own is null && error, false);
        }
        string? lastMx = null;
        bool anyError = false;
        foreach (var exchange in exchanges)
        {
            lastMx = exchange;
            if (IPAddress.TryParse(exchange, out var literal))
            {
                if (!DecisionEngine.IsPrivate(literal)) return new DomainResult(exchange, exchange, false, false);
                continue;
            }
            var (address, error) = await PublicAddressAsync(resolver, exchange, ct).ConfigureAwait(false);
            if (address is not null) return new DomainResult(exchange, address, false, false);
            anyError |= error;
        }
        // Every MX failed; a DNS error on the last one leaves the A record undecided.
        return new DomainResult(lastMx, null, anyError, false);
    }

    /// <summary>The first public A/AAAA address of a host; Error when the lookups failed rather than said "none".</summary>
    private static async Task<(string? Address, bool Error)> PublicAddressAsync(DnsResolver resolver, string host, CancellationToken ct)
    {
        var a = resolver.QueryAsync(host, DnsRecordType.A, ct);
        var aaaa = resolver.QueryAsync(host, DnsRecordType.AAAA, ct);
        var answers = await Task.WhenAll(a, aaaa).ConfigureAwait(false);
        var address = answers.SelectMany(r => r.Addresses).FirstOrDefault(x => !DecisionEngine.IsPrivate(x));
        bool error = answers.All(r => !r.IsDefinite);
        return (address?.ToString(), address is null && error);
    }
}
