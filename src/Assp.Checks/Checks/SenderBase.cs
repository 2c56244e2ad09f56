using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Dns;
using Assp.Storage;

namespace Assp.Checks.Checks;

/// <summary>
/// What SenderBase (or the cache) says about an IP: the fields ASSP keeps, in the order of its cache record
/// "country|org|domain|blacklist score|hostname matches ip|cidr|hostname".
/// </summary>
public sealed record SenderBaseInfo(string Country, string Organization, string Domain, string BlacklistScore, string HostnameMatchesIp,
    string Cidr, string Hostname)
{
    public string Encode() => string.Join('|', Country, Organization, Domain, BlacklistScore, HostnameMatchesIp, Cidr, Hostname);

    public static SenderBaseInfo Decode(string data)
    {
        var p = data.Split('|');
        string At(int i) => i < p.Length ? p[i] : "";
        return new SenderBaseInfo(At(0), At(1), At(2), At(3), At(4), At(5), At(6));
    }
}

/// <summary>
/// The SenderBase DNS service as ASSP asks it: a TXT query for the reversed IP under sa.senderbase.org, then
/// query.senderbase.org when that name does not exist or the server does not answer (the host that answered last is
/// asked first next time). The answer is one or more TXT records "N-part"; the parts joined in the order of N are
/// "key=value" fields separated by "|" (1 organization, 20 host name, 21 domain, 22 host name matches IP, 46 CIDR
/// range, 47 blacklist score, 53 country code).
/// </summary>
public sealed class SenderBaseLookup(DnsResolver resolver)
{
    public static readonly IReadOnlyList<string> Hosts = ["sa.senderbase.org", "query.senderbase.org"];
    private string? _lastSuccessHost;

    public DnsResolver Resolver { get; } = resolver;

    /// <summary>The name asked for an IP under a SenderBase host (IPv6 by nibbles, as for ip6.arpa).</summary>
    public static string QueryName(IPAddress ip, string host) => DnsName.ReversedAddress(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip) + "." + host;

    /// <summary>The answer for an IP, or null with the reason when there is none.</summary>
    public async Task<(SenderBaseInfo? Info, string? Failure)> LookupAsync(IPAddress ip, CancellationToken cancellationToken)
    {
        var texts = new List<string>();
        string? failure = null;
        var last = _lastSuccessHost;
        foreach (var host in new[] { last }.Concat(Hosts).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var answer = await Resolver.QueryAsync(QueryName(ip, host), DnsRecordType.TXT, cancellationToken).ConfigureAwait(false);
            texts.AddRange(answer.Records.OfType<TxtRecord>().Select(t => string.Concat(t.Strings)));
            if (!answer.IsDefinite)
            {
                failure = $"{host}: {answer.Status} {answer.Error}".TrimEnd();
                _lastSuccessHost = null;
                continue;
            }
            if (answer.Status == DnsStatus.NxDomain)
            {
                failure = $"{host}: NXDOMAIN";
                _lastSuccessHost = null;
                continue;
            }
            _lastSuccessHost = host;
            failure = null;
            break;
        }
        if (texts.Count == 0) return (null, failure ?? "no SenderBase answer");
        var info = Parse(texts);
        return info is null ? (null, "no SenderBase results in the answer") : (info, null);
    }

    /// <summary>ASSP's reading of the TXT parts; null when no part has the "N-" prefix.</summary>
    public static SenderBaseInfo? Parse(IEnumerable<string> texts)
    {
        var parts = new SortedDictionary<int, string>();
        foreach (var text in texts)
        {
            int dash = text.IndexOf('-');
            if (dash <= 0 || !int.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var id)) continue;
            parts[id] = text[(dash + 1)..];
        }
        if (parts.Count == 0) return null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in string.Concat(parts.Values).Split('|'))
        {
            int eq = field.IndexOf('=');
            if (eq > 0) fields[field[..eq]] = field[(eq + 1)..];
        }
        string F(string key) => fields.GetValueOrDefault(key, "").Trim();
        return new SenderBaseInfo(F("53").ToUpperInvariant(), F("1"), F("21"), F("47"), F("22"), F("46"), F("20"));
    }
}

/// <summary>
/// ASSP's country cache (SBCache, table pbdb.sb.db): per network "address/bits" (the CIDR range SenderBase gave,
/// else the IP, or its /24 or /64 with PenaltyUseNetblocks) the record "time!status!data", status 0 not classified,
/// 1 black, 2 white organization. Kept SBCacheExp days; 0 switches the cache off.
/// </summary>
public static class SenderBaseCache
{
    public const string Table = "pbdb.sb.db";

    public static (int Status, SenderBaseInfo Info)? Find(ConfigSnapshot cfg, IStore? store, TimeProvider clock, IPAddress ip)
    {
        if (store is null || cfg.GetDecimal("SBCacheExp") <= 0) return null;
        ip = Plain(ip);
        var table = store.Table(Table);
        int max = ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128, min = ip.AddressFamily == AddressFamily.InterNetwork ? 8 : 32;
        long now = clock.GetUtcNow().ToUnixTimeSeconds();
        for (int bits = max; bits >= min; bits--)
        {
            if (!table.TryGetValue($"{Network(ip, bits)}/{bits}", out var value)) continue;
            var p = value.Split('!', 3);
            if (p.Length < 3 || !long.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out var when)
                || !int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status)) continue;
            if (now - when > cfg.GetDecimal("SBCacheExp") * 86400) continue;
            return (status, SenderBaseInfo.Decode(p[2]));
        }
        return null;
    }

    public static void Add(ConfigSnapshot cfg, IStore? store, TimeProvider clock, IPAddress ip, int status, SenderBaseInfo info)
    {
        if (store is null || cfg.GetDecimal("SBCacheExp") <= 0 || DecisionEngine.IsPrivate(ip)) return;
        ip = Plain(ip);
        bool v4 = ip.AddressFamily == AddressFamily.InterNetwork;
        int netblock = cfg.GetBool("PenaltyUseNetblocks") ? 1 : 0;
        var cidr = info.Cidr.Contains('/') ? info.Cidr[(info.Cidr.LastIndexOf('/') + 1)..] : info.Cidr;
        int bits = int.TryParse(cidr, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b > 0 ? b : v4 ? 32 - netblock * 8 : 128 - netblock * 32;
        bits = v4 ? Math.Clamp(bits, 8, 32) : Math.Clamp(bits, 32, 128);
        long now = clock.GetUtcNow().ToUnixTimeSeconds();
        store.Table(Table).Set($"{Network(ip, bits)}/{bits}", $"{now}!{status}!{info.Encode()}", now);
    }

    /// <summary>Removes the records older than SBCacheExp days (all of them when the cache is off); returns how many.</summary>
    public static int Clean(ConfigSnapshot cfg, IStore store, TimeProvider clock)
    {
        double days = cfg.GetDecimal("SBCacheExp");
        long now = clock.GetUtcNow().ToUnixTimeSeconds();
        return store.Table(Table).RemoveWhere((_, r) =>
        {
            var first = r.Value.Split('!')[0];
            return days <= 0 || !long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var when) || now - when > days * 86400;
        });
    }

    private static IPAddress Plain(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;

    public static IPAddress Network(IPAddress ip, int bits)
    {
        var bytes = ip.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(bits - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}

/// <summary>
/// ASSP's white-organization list: sender domains whose mail came from an IP of a whitelisted organization (with
/// SPF passed) and the domains SenderBase named for such IPs. With DoOrgWhiting "whiting", later mail from these
/// domains that passes SPF is whitelisted before the IP is looked up again. Kept in memory, as in ASSP.
/// </summary>
internal sealed class WhiteOrgList
{
    private static readonly ConditionalWeakTable<CheckServices, WhiteOrgList> s_instances = new();
    public static WhiteOrgList For(CheckServices services) => s_instances.GetValue(services, _ => new WhiteOrgList());

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _orgs = new(StringComparer.OrdinalIgnoreCase);

    public void Add(string domain, string org) => _orgs[domain] = org;
    public void Remove(string domain) => _orgs.TryRemove(domain, out _);
    public string? Find(string domain) => _orgs.GetValueOrDefault(domain);
}

/// <summary>
/// With DoOrgWhiting "whiting": mail that passed SPF from a sender domain on the white-organization list is
/// whitelisted ("WhiteOrgList"), right after the SPF check as in ASSP.
/// </summary>
public sealed class WhiteOrgListCheck(CheckServices services) : IMessageCheck
{
    public CheckDefinition Definition => SenderBaseCheck.OrgWhiting;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 61;

    public ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var st = c.State;
        if (st.Transparent || st.IsWhitelisted || st.RelayOk || !st.SpfPassed || c.Config.GetChoice("DoOrgWhiting") != 1) return ValueTask.FromResult(Verdict.Pass);
        if (CheckHelpers.Domain(c.Mail.MailFrom) is { } domain && WhiteOrgList.For(services).Find(domain) is { } org)
        {
            st.Whitelisted = $"WhiteOrgList '{domain} - {org}'";
            if (c.Config.GetChoice("SenderBaseLog") >= 1) c.Log($"whitelisting: {domain} - {org} in WhiteOrgList");
        }
        return ValueTask.FromResult(Verdict.Pass);
    }
}

/// <summary>
/// ASSP's SenderBase check after the header (SenderBaseOK), on the client IP or the sender behind an ISP relay:
/// the organization, domain, host name and country of the IP come from the country cache or from SenderBase.
/// <list type="bullet">
/// <item>DoOrgWhiting + whiteSenderBase: a match on organization, domain or host gives the bonus sworgValencePB
/// (weighted); "whiting" also whitelists the mail and puts the IP in the white box (a host-only match does not
/// whitelist). Nothing else is checked then.</item>
/// <item>DoOrgBlocking + blackSenderBase: neither organization nor country scores sbnValencePB; a match scores
/// sborgValencePB (weighted) and in block mode refuses with SenderInvalidError "Black Organization '…'".</item>
/// <item>DoCountryBlocking: codes in NoCountryCodeRe are left alone; a code in CountryCodeBlockedRe (or any code not
/// home nor suspicious when it says "all") scores bccValencePB and in block mode refuses "Blocked IP-Country XX (org)".</item>
/// <item>DoSenderBase (needs DoCountryBlocking on, as in ASSP): a home code (MyCountryCodeRe) gets the bonus
/// sbhccValencePB, a code neither home nor suspicious sbfccValencePB (ScoreForeignCountries), a suspicious one
/// (CountryCodeRe) sbsccValencePB — the last two only on the message score.</item>
/// </list>
/// sbTestMode is the test mode, sbSpamLovers the lovers and spamSBLog the collection of the refusals. Skipped for
/// outgoing, whitelisted and noprocessing mail, acceptAllMail, spam-bucket mail, ISP relays without a sender IP and
/// private IPs.
/// </summary>
public sealed class SenderBaseCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition OrgWhiting = new("DoOrgWhiting", "[WhiteOrganization]", "sworgValencePB");

    public static readonly CheckDefinition OrgBlocking = new("DoOrgBlocking", "[Organization]", "sborgValencePB", TestModeOption: "sbTestMode",
        LoverList: "sbSpamLovers", CollectOption: "spamSBLog", ReplyOption: "SenderInvalidError");

    public static readonly CheckDefinition CountryBlocking = new("DoCountryBlocking", "[CountryCode]", "bccValencePB", TestModeOption: "sbTestMode",
        LoverList: "sbSpamLovers", CollectOption: "spamSBLog", ReplyOption: "SenderInvalidError");

    public static readonly CheckDefinition CountryScoring = new("DoSenderBase", "[CountryCode]", "sbsccValencePB");

    private static readonly ConditionalWeakTable<DnsResolver, SenderBaseLookup> s_lookups = new();

    public CheckDefinition Definition => OrgBlocking;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    // After DoDomainIP (62), before the IP blocking of PBExtremeOK (70), as in ASSP.
    public int Order => 63;

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var st = c.State;
        if (services.Dns is not { } dns || st.Transparent) return Verdict.Pass;
        if (cfg.GetChoice("DoOrgWhiting") == 0 && cfg.GetChoice("DoOrgBlocking") == 0 && cfg.GetChoice("DoCountryBlocking") == 0) return Verdict.Pass;
        if (st.AddressedToSpamBucket is not null || CheckHelpers.AcceptAll(c) || st.IsWhitelisted || st.RelayOk || CheckHelpers.IspWithoutOrigin(st)
            || st.IsNoProcessing)
            return Verdict.Pass;
        var ip = c.Ip;
        if (DecisionEngine.IsPrivate(ip)) return Verdict.Pass;
        int log = cfg.GetChoice("SenderBaseLog");
        var clock = services.Time;

        SenderBaseInfo info;
        bool cached = false;
        if (SenderBaseCache.Find(cfg, services.Store, clock, ip) is { } hit)
        {
            info = hit.Info;
            cached = true;
        }
        else
        {
            if (cfg.GetChoice("enableWhois") == 1)
            {
                // WHOIS only: the WHOIS client is not built (the option is reported at load), so there is nothing to look at.
                return Verdict.Pass;
            }
            if (log > 1) c.Log("info: SenderBase - query using SenderBase");
            var lookup = s_lookups.GetValue(dns.Resolver, r => new SenderBaseLookup(r));
            var (found, failure) = await lookup.LookupAsync(ip, cancellationToken).ConfigureAwait(false);
            if (found is null)
            {
                if (log >= 2) c.Log($"info: SenderBase: got no results ({failure})");
                return Verdict.Pass;
            }
            info = found;
            if (info.Domain.Length == 0 && info.Hostname.Length > 0
                && Dns.UriblCheck.BaseDomain(info.Hostname, Dns.UriblSettings.For(cfg).CcTlds) is { } baseDomain)
                info = info with { Domain = baseDomain };
            if (info.Hostname.Length == 0)
            {
                var names = await dns.Resolver.GetHostNamesAsync(ip, cancellationToken).ConfigureAwait(false);
                if (names.Count > 0) info = info with { Hostname = names[0].TrimEnd('.') };
            }
        }
        var org = info.Organization;
        var country = info.Country.ToUpperInvariant();
        if (log >= 2)
        {
            var extra = (info.Domain.Length > 0 ? $" domain:{info.Domain}" : "") + (info.Hostname.Length > 0 ? $" host:{info.Hostname}" : "");
            c.Log(cached ? $"SenderBase(Cache) -- country:{country} orgname:{org}{extra}" : $"SenderBase -- used Senderbase -- country:{country} orgname:{org}{extra}");
        }

        var whiteOrgs = WhiteOrgList.For(services);
        int whiting = cfg.GetChoice("DoOrgWhiting");
        if (whiting != 0 && Match(cfg, "whiteSenderBase", info) is { } white)
        {
            SenderBaseCache.Add(cfg, services.Store, clock, ip, 2, info);
            if (info.Domain.Length > 0 && org.Length > 0 && whiting == 1) whiteOrgs.Add(info.Domain, org);
            var reason = $"White {white.What} '{white.Text}'" + (cached ? " in cache " : "");
            if (whiting == 1 && white.What != "Host")
            {
                var senderDomain = CheckHelpers.Domain(c.Mail.MailFrom);
                if (senderDomain is not null && org.Length > 0 && st.SpfPassed && !senderDomain.Equals(info.Domain, StringComparison.OrdinalIgnoreCase))
                    whiteOrgs.Add(senderDomain, org);
                st.Whitelisted ??= $"White-Senderbase {white.What}: {white.Text}";
                st.PassingReason ??= $"White-Senderbase {white.What}: {white.Text}";
                c.Engine.IpReputation.AddWhite(cfg, ip, $"WhiteSenderBase:{white.Text}");
            }
            if (whiting != 2)
            {
                var score = Weighted(cfg, "sworgValencePB", white.Weight);
                c.Engine.AddPenalty(cfg, st, ip, score.Message, score.Ip, reason, 0, c.Log, "sworgValencePB");
            }
            st.Reports.Add(new CheckReport(OrgWhiting.Name, whiting switch { 1 => "whitelist", 2 => "monitor", _ => "score" }, 0, reason));
            if (log >= 1) c.Log($"{ModeTag(whiting, whiting == 1 ? "[whitelisted]" : "[scoring]")} SenderBase -- {reason}");
            return Verdict.Pass;
        }

        int orgBlocking = cfg.GetChoice("DoOrgBlocking");
        if (orgBlocking != 0)
        {
            st.Prepend.Clear().Append(OrgBlocking.Tag);
            if (org.Length == 0 && country.Length == 0)
            {
                SenderBaseCache.Add(cfg, services.Store, clock, ip, 1, info);
                if (info.Domain.Length > 0) whiteOrgs.Remove(info.Domain);
                c.Engine.IpReputation.DeleteWhite(cfg, ip);
                const string reason = "No CountryCode/Organization";
                c.Engine.AddPenalty(cfg, st, ip, "sbnValencePB", reason, 0, c.Log);
                st.Reports.Add(new CheckReport(OrgBlocking.Name, "score", cfg.GetValence("sbnValencePB").Message, reason));
                if (log >= 2) c.Log($"[Scoring] SenderBase -- {reason}");
                return Verdict.Pass;
            }
            if (Match(cfg, "blackSenderBase", info) is { } black)
            {
                c.Engine.IpReputation.DeleteWhite(cfg, ip);
                SenderBaseCache.Add(cfg, services.Store, clock, ip, 1, info);
                if (info.Domain.Length > 0) whiteOrgs.Remove(info.Domain);
                var reason = $"Black {black.What} '{black.Text}'";
                if (log >= 2) c.Log($"{ModeTag(orgBlocking, "[scoring]")} SenderBase -- {reason}");
                var verdict = c.Engine.Hit(OrgBlocking, cfg, st, ip, reason, c.Log, Weighted(cfg, "sborgValencePB", black.Weight),
                    reply: CheckHelpers.SenderInvalid(cfg, reason));
                if (verdict.Refuses) return verdict;
            }
            else Remember(cfg, ip, info, whiteOrgs);
        }
        else Remember(cfg, ip, info, whiteOrgs);

        int countryBlocking = cfg.GetChoice("DoCountryBlocking");
        if (countryBlocking == 0 || country.Length == 0) return Verdict.Pass;
        if (cfg.GetRegex("NoCountryCodeRe").Match(country) is not null) return Verdict.Pass;

        var home = cfg.GetWeightedRegex("MyCountryCodeRe").Matches(country);
        var suspicious = cfg.GetWeightedRegex("CountryCodeRe").Matches(country);
        var blocked = cfg.GetWeightedRegex("CountryCodeBlockedRe").Matches(country);
        bool blockAllForeign = cfg["CountryCodeBlockedRe"].Contains("all", StringComparison.OrdinalIgnoreCase);
        if (blocked.Count > 0 || (blockAllForeign && home.Count == 0 && suspicious.Count == 0))
        {
            var reason = $"Blocked IP-Country {country} ({org})";
            st.Prepend.Clear().Append(CountryBlocking.Tag);
            double weight = blocked.Count > 0 ? blocked[0].Weight : 1;
            return c.Engine.Hit(CountryBlocking, cfg, st, ip, reason, c.Log, Weighted(cfg, "bccValencePB", weight),
                reply: CheckHelpers.SenderInvalid(cfg, reason));
        }

        int scoring = cfg.GetChoice("DoSenderBase");
        if (scoring == 0 || (cfg["CountryCodeRe"].Trim().Length == 0 && cfg["MyCountryCodeRe"].Trim().Length == 0)) return Verdict.Pass;
        var (homeMsg, homeIp) = cfg.GetValence("sbhccValencePB");
        // The home-country valence is a bonus whatever its sign in the configuration.
        (homeMsg, homeIp) = (-Math.Abs(homeMsg), -Math.Abs(homeIp));
        var foreign = cfg.GetValence("sbfccValencePB");
        var susp = cfg.GetValence("sbsccValencePB");
        string? why = null;
        (double Message, double Ip) add = default;
        int status = 0;
        string valence = "";
        if ((homeMsg < 0 || homeIp < 0) && home.Count > 0)
        {
            why = $"Home IP-Country Bonus {country} ({org})";
            double w = home[0].Weight;
            add = (Assp.Config.Regexes.WeightedRegexList.Score(w, homeMsg), Assp.Config.Regexes.WeightedRegexList.Score(w, homeIp));
            valence = "sbhccValencePB";
        }
        else if ((foreign.Message != 0 || foreign.Ip != 0) && cfg.GetBool("ScoreForeignCountries") && home.Count == 0 && suspicious.Count == 0)
        {
            why = $"Foreign IP-Country {country} ({org})";
            add = foreign;
            status = 1;
            valence = "sbfccValencePB";
        }
        else if ((susp.Message != 0 || susp.Ip != 0) && suspicious.Count > 0)
        {
            why = $"Suspicious IP-Country {country} ({org})";
            add = Weighted(cfg, "sbsccValencePB", suspicious[0].Weight);
            status = 1;
            valence = "sbsccValencePB";
        }
        else if ((foreign.Message != 0 || foreign.Ip != 0) && cfg.GetBool("ScoreForeignCountries") && home.Count == 0 && suspicious.Count > 0)
        {
            why = $"Foreign & Suspicious IP-Country {country} ({org})";
            add = Weighted(cfg, "sbfccValencePB", suspicious[0].Weight);
            status = 1;
            valence = "sbfccValencePB";
        }
        if (why is null) return Verdict.Pass;
        st.Prepend.Clear().Append(CountryScoring.Tag);
        if (scoring != 2) c.Engine.AddPenalty(cfg, st, ip, add.Message, add.Ip, why, status, c.Log, valence);
        st.Reports.Add(new CheckReport(CountryScoring.Name, scoring == 2 ? "monitor" : "score", scoring == 2 ? 0 : add.Message, why));
        if (log >= 1) c.Log($"{ModeTag(scoring, "[scoring]")} SenderBase -- {why}");
        return Verdict.Pass;
    }

    private void Remember(ConfigSnapshot cfg, IPAddress ip, SenderBaseInfo info, WhiteOrgList whiteOrgs)
    {
        SenderBaseCache.Add(cfg, services.Store, services.Time, ip, 0, info);
        if (info.Domain.Length > 0) whiteOrgs.Remove(info.Domain);
    }

    private static string ModeTag(int mode, string otherwise) => mode == 2 ? "[monitoring]" : otherwise;

    private static (double Message, double Ip) Weighted(ConfigSnapshot cfg, string valence, double weight) =>
        DecisionEngine.WeightedScore(cfg, valence, weight);

    /// <summary>The first of organization, domain and host name the weighted regex matches, with the entry's weight.</summary>
    private static (string What, string Text, double Weight)? Match(ConfigSnapshot cfg, string option, SenderBaseInfo info)
    {
        var list = cfg.GetWeightedRegex(option);
        if (list.Count == 0) return null;
        foreach (var (what, text) in new[] { ("Organization", info.Organization), ("Domain", info.Domain), ("Host", info.Hostname) })
        {
            if (text.Length == 0) continue;
            var hits = list.Matches(text);
            if (hits.Count > 0) return (what, hits[0].MatchedText, hits[0].Weight);
        }
        return null;
    }
}
