using System.Net;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Dns;
using Assp.Mime.Uris;

namespace Assp.Checks.Dns;

public sealed record UriblSettings(IReadOnlyList<DnsListProvider> Providers, int MaxReplies, int MaxHits, double MaxWeight, TimeSpan MaxTime, bool AllReplies,
    IReadOnlySet<string> CcTlds, int MaxUris, int MaxDomains, bool NoObfuscated, IReadOnlySet<string> Whitelist, TimeSpan HitCache, TimeSpan MissCache,
    double FailValence, double NeutralValence)
{
    /// <summary>URIBLIPRe: IPs that block the mail when a URI holds them or a URI host resolves to them.</summary>
    public IpList BadIps { get; init; } = IpList.Empty;

    /// <summary>URIBLcheckDOTinURI: "exampledotcom" and "example d-o-t com" count as example.com.</summary>
    public bool CheckDotWord { get; init; }

    /// <summary>
    /// URIBLsocktime: ASSP's read timeout on its URIBL sockets (2 s when empty or 0): the longest single wait for the
    /// next answer. URIBLmaxtime is looked at between waits, so a lookup may run up to this much past it.
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The hosts never looked up: URIBLwhitelist (end of the name, as ASSP's domain lists match), noProcessingDomains,
    /// whiteListedDomains (also its sender=>recipient entries), this host's names (myName, myNameAlso) and the local domains.
    /// </summary>
    public Func<string, IReadOnlyList<string>, bool> Skip { get; init; } = static (_, _) => false;

    public static UriblSettings For(ConfigSnapshot cfg) => cfg.Derived("Dns.UriblSettings", static c =>
    {
        double maxWeight = c.GetDecimal("URIBLmaxweight"), maxHits = c.GetInt("URIBLmaxhits");
        double valence = c.GetValence("uriblValencePB").Message;
        var whitelist = c.GetListEntries("URIBLwhitelist").Select(e => e.Text.Trim().ToLowerInvariant()).Where(e => e.Length > 0).ToHashSet();
        var skip = SkipRule(c, whitelist);
        return new UriblSettings(
            DnsListProviders.Parse(c.GetListEntries("URIBLServiceProvider").Select(e => e.Text), maxWeight, maxHits, valence),
            c.GetInt("URIBLmaxreplies"), (int)maxHits, maxWeight, TimeSpan.FromSeconds(Math.Max(1, c.GetDecimal("URIBLmaxtime", 10))), c.GetBool("Showmaxreplies"),
            c.GetListEntries("URIBLCCTLDS").Select(e => e.Text.Trim().TrimStart('.').ToLowerInvariant()).ToHashSet(),
            c.GetInt("URIBLmaxuris"), c.GetInt("URIBLmaxdomains"), c.GetBool("URIBLNoObfuscated"),
            whitelist,
            TimeSpan.FromDays(Math.Max(0, c.GetDecimal("URIBLCacheInterval"))), TimeSpan.FromDays(Math.Max(0, c.GetDecimal("URIBLCacheIntervalMiss"))),
            valence, c.GetValence("uriblnValencePB").Message)
        {
            BadIps = c.GetIpList("URIBLIPRe"),
            CheckDotWord = c.GetBool("URIBLcheckDOTinURI"),
            ReadTimeout = TimeSpan.FromSeconds(c.GetDecimal("URIBLsocktime") is var t && t > 0 ? t : 2),
            Skip = skip,
        };
    });

    private static Func<string, IReadOnlyList<string>, bool> SkipRule(ConfigSnapshot c, HashSet<string> whitelist)
    {
        var timeout = Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout;
        var wl = DomainList.Compile(whitelist.Select(w => new ListEntry(w, "URIBLwhitelist", 0)), "URIBLwhitelist", [], timeout);
        var np = DomainList.Compile(c.GetListEntries("noProcessingDomains"), "noProcessingDomains", [], timeout);
        var white = c.GetDomainList("whiteListedDomains");
        var local = LocalDomains.For(c);
        var myNames = c["myName"].Split(['|', ',', ' '], StringSplitOptions.RemoveEmptyEntries)
            .Concat(c["myNameAlso"].Split(['|', ',', ' '], StringSplitOptions.RemoveEmptyEntries))
            .Select(n => n.Trim().ToLowerInvariant()).ToArray();
        return (host, recipients) =>
        {
            if (wl.Matches(host) || np.Matches(host) || np.Matches("@" + host) || white.Matches(host) || white.Matches("@" + host)) return true;
            if (white.HasScopedEntries && recipients.Any(r => white.Matches("@" + host, r))) return true;
            if (myNames.Any(n => host.EndsWith(n, StringComparison.OrdinalIgnoreCase))) return true;
            return local.IsLocal(host);
        };
    }
}

public sealed record UriblVerdict(DnsListOutcome Outcome, double Score, double WeightTotal, string? ListedDomain,
    IReadOnlyList<(string Zone, string Reply)> ListedBy, bool TooManyUris, bool TooManyDomains, bool Obfuscated)
{
    /// <summary>The first URI IP (given or resolved) found in URIBLIPRe; it blocks the mail outright.</summary>
    public IPAddress? BadIp { get; init; }

    /// <summary>An IP written in a disguised form (dword, octal, hex) was among the URIs (with URIBLNoObfuscated).</summary>
    public bool ObfuscatedIp { get; init; }

    /// <summary>A host name written in a disguised form (percent or numeric escapes, user@ prefixes, "dot" words, ...).</summary>
    public bool ObfuscatedUri { get; init; }

    /// <summary>Domains asked for, in the order judged.</summary>
    public IReadOnlyList<string> Domains { get; init; } = [];

    /// <summary>
    /// What was registered for the lookup and how often it occurred, in the order judged: base domains, and IPs as
    /// written in dotted form (AddURIS2MyHeader's X-Assp-Detected-URI line).
    /// </summary>
    public IReadOnlyList<(string Uri, int Count)> Detected { get; init; } = [];
}

/// <summary>What the body holds besides its links that URIBL looks at.</summary>
public sealed record UriblMailFacts(string? SenderDomain = null, IReadOnlyList<string>? Recipients = null);

/// <summary>URIBL (ValidateURIBL): URI hosts reduced to base domains by URIBLCCTLDS, every domain and provider asked at once.</summary>
public sealed partial class UriblCheck(DnsResolver resolver)
{
    /// <summary>Hosts resolved for URIBLIPRe per mail at most: a hostile mail listing thousands of hosts gets no more lookups.</summary>
    public const int MaxResolvedHosts = 64;

    /// <summary>Per domain: the listings ("" for a cached miss).</summary>
    public ExpiringCache<IReadOnlyList<(string Zone, string Reply)>> Cache { get; } = new();

    /// <summary>
    /// The domain a URIBL is asked for: under a two-level ccTLD of the list the third level, under a three-level one
    /// the fourth, else the second level of a known TLD; null for hosts that have none.
    /// </summary>
    public static string? BaseDomain(string host, IReadOnlySet<string> ccTlds)
    {
        var labels = host.Trim('.').ToLowerInvariant().Split('.');
        if (labels.Length < 2) return null;
        for (int n = Math.Min(3, labels.Length - 1); n >= 2; n--)
        {
            var suffix = string.Join('.', labels[^n..]);
            if (ccTlds.Contains(suffix)) return string.Join('.', labels[^(n + 1)..]);
        }
        return PublicSuffixList.IsKnownTld(labels[^1]) ? string.Join('.', labels[^2..]) : null;
    }

    // A name, then the word "dot" (its letters may be split by up to three blanks or punctuation marks), then a
    // TLD: "exampledotcom", "example!d o-t_com", "www.example DOT net".
    [GeneratedRegex(@"(?<![\w.-])([a-z0-9][a-z0-9.-]{0,200}?)[\W_]{0,3}d[\W_]{0,3}o[\W_]{0,3}t[\W_]{0,3}([a-z]{2,12})(?![a-z0-9])",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 500)]
    private static partial Regex DotWord();

    /// <summary>
    /// URIBLcheckDOTinURI: the hosts written with the word "dot" for a dot; only names ending in a known TLD, each
    /// marked as obfuscated ("dot-word"). At most <paramref name="max"/> are returned.
    /// </summary>
    public static IReadOnlyList<FoundUri> FindDotWordHosts(string text, int max = 1000)
    {
        var found = new List<FoundUri>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (Match m in DotWord().Matches(text))
            {
                if (found.Count >= max) break;
                var tld = m.Groups[2].Value.ToLowerInvariant();
                if (!PublicSuffixList.IsKnownTld(tld)) continue;
                var host = m.Groups[1].Value.Trim('.', '-').ToLowerInvariant() + "." + tld;
                if (host.Contains("..", StringComparison.Ordinal) || !seen.Add(host)) continue;
                if (UriExtractor.ParseUri(host) is { } uri) found.Add(uri with { Original = m.Value, Obfuscation = "dot-word" });
            }
        }
        catch (RegexMatchTimeoutException)
        {
            // Hostile text: keep what was found so far.
        }
        return found;
    }

    /// <summary>
    /// ASSP compares the URI as written (after HTML entities were decoded) with its decoded form, ignoring case: so
    /// case, entities, a trailing dot, punycode and a user@ prefix (dropped before the comparison) are not obfuscation;
    /// numeric IPs, escapes and defanging are.
    /// </summary>
    public static bool IsObfuscated(FoundUri u) =>
        u.Obfuscation is { } tricks && tricks.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Any(t => t is not ("mixed-case" or "html-entities" or "trailing-dot" or "idn" or "userinfo"));

    public Task<UriblVerdict> CheckAsync(IEnumerable<FoundUri> uris, UriblSettings s, CancellationToken cancellationToken = default) =>
        CheckAsync(uris, s, new UriblMailFacts(), cancellationToken);

    public async Task<UriblVerdict> CheckAsync(IEnumerable<FoundUri> uris, UriblSettings s, UriblMailFacts facts, CancellationToken cancellationToken = default)
    {
        var recipients = facts.Recipients ?? [];
        var domains = new SortedDictionary<string, bool>(StringComparer.Ordinal); // domain → obfuscated
        var occurrences = new Dictionary<string, int>(StringComparer.Ordinal);
        var shownAs = new Dictionary<string, string>(StringComparer.Ordinal); // reversed IP → the IP
        var hostsToResolve = new List<string>();
        var uriIps = new List<IPAddress>();
        int count = 0;
        bool tooManyUris = false, tooManyDomains = false, anyObfuscated = false, obfuscatedIp = false, obfuscatedUri = false;
        bool wantIps = s.BadIps.Count > 0;

        // The envelope sender's domain is looked up too (ASSP does), unless it is local or skipped.
        if (facts.SenderDomain is { Length: > 0 } senderDomain && !s.Skip(senderDomain, recipients) && BaseDomain(senderDomain, s.CcTlds) is { } sd
            && !s.Skip(sd, recipients) && !s.Whitelist.Contains(sd))
        {
            domains[sd] = false;
            occurrences[sd] = 1;
        }

        foreach (var u in uris)
        {
            string? d;
            if (u.IsIp && u.Ip is not null)
            {
                d = DnsName.ReversedAddress(u.Ip);
                shownAs[d] = u.Ip.ToString();
                if (wantIps) uriIps.Add(u.Ip);
            }
            else
            {
                if (s.Skip(u.Host, recipients)) continue;
                d = BaseDomain(u.Host, s.CcTlds);
                if (d is not null && s.Skip(d, recipients)) continue;
                if (wantIps && hostsToResolve.Count < MaxResolvedHosts && !hostsToResolve.Contains(u.Host)) hostsToResolve.Add(u.Host);
                if (wantIps && d is not null && d != u.Host && hostsToResolve.Count < MaxResolvedHosts && !hostsToResolve.Contains(d)) hostsToResolve.Add(d);
            }
            if (d is null || s.Whitelist.Contains(d) || s.Whitelist.Contains(u.Host)) continue;
            bool obf = s.NoObfuscated && IsObfuscated(u);
            anyObfuscated |= obf;
            obfuscatedIp |= obf && u.IsIp;
            obfuscatedUri |= obf && !u.IsIp;
            if (s.MaxUris > 0 && ++count > s.MaxUris) tooManyUris = true;
            if (!domains.TryGetValue(d, out var was)) domains[d] = obf;
            else domains[d] = was || obf;
            occurrences[d] = occurrences.GetValueOrDefault(d) + 1;
            if (s.MaxDomains > 0 && domains.Count > s.MaxDomains) tooManyDomains = true;
        }

        // Everything goes out at once: the URIBL lookups of every domain and the address lookups for URIBLIPRe.
        var providers = s.Providers;
        var lookups = providers.Count == 0
            ? domains.Keys.ToDictionary(d => d, _ => Task.FromResult<IReadOnlyList<(string, string)>>([]))
            : domains.Keys.ToDictionary(d => d, d => Cache.TryGet(d, out var c, l => l.Count > 0 ? s.HitCache : s.MissCache)
                ? Task.FromResult(c)
                : LookupAsync(d, s, cancellationToken));
        var resolving = wantIps ? ResolveBoundedAsync(hostsToResolve, s.MaxTime, cancellationToken) : Task.FromResult<IReadOnlyList<IPAddress>>([]);

        double weightSum = 0;
        int returned = 0;
        string? lastDomain = null;
        IReadOnlyList<(string, string)> lastListed = [];
        // Judged in sorted order as ASSP does, stopping at the same point.
        foreach (var (domain, obfuscated) in domains)
        {
            var listed = await lookups[domain].ConfigureAwait(false);
            double domainWeight = 0;
            int counted = 0;
            foreach (var (zone, reply) in listed)
            {
                var p = providers.FirstOrDefault(x => x.Zone == zone);
                if (p is null) continue;
                if (reply == "127.0.0.1" && !p.Weights.TryGet("127.0.0.1", out _)) continue;
                double w = reply.StartsWith("127.", StringComparison.Ordinal) ? p.Weights.Match(reply) ?? 0 : p.Weights.TryGet("*", out var st) ? st : 0;
                if (w == 0) continue;
                domainWeight += w * (obfuscated ? 2 : 1);
                counted++;
            }
            if (listed.Count > 0)
            {
                lastDomain = domain;
                lastListed = listed;
            }
            returned += counted;
            weightSum += domainWeight;
            if (s.MaxWeight == 0 && returned >= s.MaxHits || s.MaxWeight != 0 && weightSum >= s.MaxWeight) break;
        }
        if (s.MaxWeight != 0 && weightSum > s.MaxWeight) weightSum = s.MaxWeight;
        var outcome = returned == 0 ? DnsListOutcome.Pass
            : s.MaxWeight == 0 && returned >= s.MaxHits || s.MaxWeight != 0 && weightSum >= s.MaxWeight ? DnsListOutcome.Failed : DnsListOutcome.Neutral;
        double score = outcome switch
        {
            DnsListOutcome.Failed => s.MaxWeight == 0 ? Math.Max(weightSum, s.FailValence) : weightSum,
            DnsListOutcome.Neutral => s.MaxWeight == 0 ? s.NeutralValence : weightSum,
            _ => 0,
        };

        IPAddress? badIp = null;
        if (wantIps)
        {
            var resolved = await resolving.ConfigureAwait(false);
            badIp = uriIps.Concat(resolved).FirstOrDefault(ip => s.BadIps.Contains(ip));
        }
        return new UriblVerdict(outcome, score, weightSum, returned == 0 ? null : lastDomain, returned == 0 ? [] : lastListed, tooManyUris, tooManyDomains, anyObfuscated)
        {
            BadIp = badIp,
            ObfuscatedIp = obfuscatedIp,
            ObfuscatedUri = obfuscatedUri,
            Domains = [.. domains.Keys],
            Detected = [.. domains.Keys.Select(d => (shownAs.GetValueOrDefault(d, d), occurrences.GetValueOrDefault(d, 1)))],
        };
    }

    /// <summary>ASSP's URIBLCache record: "time status zone<-reply ...", status 1 listed, 2 not listed.</summary>
    public static string EncodeRecord(IReadOnlyList<(string Zone, string Reply)> listed, long time) =>
        $"{time} {(listed.Count > 0 ? 1 : 2)}" + string.Concat(listed.Select(l => $" {l.Zone}<-{l.Reply}"));

    public static IReadOnlyList<(string Zone, string Reply)>? DecodeRecord(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || parts[1] is not ("1" or "2")) return null;
        var listed = new List<(string, string)>();
        foreach (var item in parts.Skip(2))
        {
            int arrow = item.IndexOf("<-", StringComparison.Ordinal);
            if (arrow > 0) listed.Add((item[..arrow], item[(arrow + 2)..]));
        }
        return listed;
    }

    /// <summary>A and AAAA of every host at once; what arrived within <paramref name="maxTime"/> counts.</summary>
    private async Task<IReadOnlyList<IPAddress>> ResolveBoundedAsync(IReadOnlyList<string> hosts, TimeSpan maxTime, CancellationToken ct)
    {
        if (hosts.Count == 0) return [];
        var tasks = hosts.Select(h => resolver.GetAddressesAsync(h, ct)).ToList();
        try
        {
            await Task.WhenAll(tasks).WaitAsync(maxTime, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Decide on what came back.
        }
        return [.. tasks.Where(t => t.IsCompletedSuccessfully).SelectMany(t => t.Result)];
    }

    private async Task<IReadOnlyList<(string Zone, string Reply)>> LookupAsync(string domain, UriblSettings s, CancellationToken ct)
    {
        var answers = await DnsListLookup.RunAsync(resolver, domain, s.Providers, s.MaxReplies, s.MaxHits, s.MaxTime, s.AllReplies, ct,
            readTimeout: s.ReadTimeout).ConfigureAwait(false);
        IReadOnlyList<(string, string)> listed = [.. answers.Hits.Select(h => (h.Provider.Zone, h.Reply!))];
        if (answers.AnyDefinite) Cache.Set(domain, listed, listed.Count > 0 ? s.HitCache : s.MissCache);
        return listed;
    }
}
