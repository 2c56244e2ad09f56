using Assp.Config;
using Assp.Dns;
using Assp.Mime.Uris;

namespace Assp.Checks.Dns;

public sealed record UriblSettings(IReadOnlyList<DnsListProvider> Providers, int MaxReplies, int MaxHits, double MaxWeight, TimeSpan MaxTime, bool AllReplies,
    IReadOnlySet<string> CcTlds, int MaxUris, int MaxDomains, bool NoObfuscated, IReadOnlySet<string> Whitelist, TimeSpan HitCache, TimeSpan MissCache,
    double FailValence, double NeutralValence)
{
    public static UriblSettings For(ConfigSnapshot cfg) => cfg.Derived("Dns.UriblSettings", static c =>
    {
        double maxWeight = c.GetDecimal("URIBLmaxweight"), maxHits = c.GetInt("URIBLmaxhits");
        double valence = c.GetValence("uriblValencePB").Message;
        return new UriblSettings(
            DnsListProviders.Parse(c.GetListEntries("URIBLServiceProvider").Select(e => e.Text), maxWeight, maxHits, valence),
            c.GetInt("URIBLmaxreplies"), (int)maxHits, maxWeight, TimeSpan.FromSeconds(Math.Max(1, c.GetDecimal("URIBLmaxtime", 10))), c.GetBool("Showmaxreplies"),
            c.GetListEntries("URIBLCCTLDS").Select(e => e.Text.Trim().TrimStart('.').ToLowerInvariant()).ToHashSet(),
            c.GetInt("URIBLmaxuris"), c.GetInt("URIBLmaxdomains"), c.GetBool("URIBLNoObfuscated"),
            c.GetListEntries("URIBLwhitelist").Select(e => e.Text.Trim().ToLowerInvariant()).ToHashSet(),
            TimeSpan.FromDays(Math.Max(0, c.GetDecimal("URIBLCacheInterval"))), TimeSpan.FromDays(Math.Max(0, c.GetDecimal("URIBLCacheIntervalMiss"))),
            valence, c.GetValence("uriblnValencePB").Message);
    });
}

public sealed record UriblVerdict(DnsListOutcome Outcome, double Score, double WeightTotal, string? ListedDomain,
    IReadOnlyList<(string Zone, string Reply)> ListedBy, bool TooManyUris, bool TooManyDomains, bool Obfuscated);

/// <summary>URIBL (ValidateURIBL): URI hosts reduced to base domains by URIBLCCTLDS, every domain and provider asked at once.</summary>
public sealed class UriblCheck(DnsResolver resolver)
{
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

    public async Task<UriblVerdict> CheckAsync(IEnumerable<FoundUri> uris, UriblSettings s, CancellationToken cancellationToken = default)
    {
        var domains = new SortedDictionary<string, bool>(StringComparer.Ordinal); // domain → obfuscated
        int count = 0;
        bool tooManyUris = false, tooManyDomains = false, anyObfuscated = false;
        foreach (var u in uris)
        {
            string? d = u.IsIp && u.Ip is not null ? DnsName.ReversedAddress(u.Ip) : BaseDomain(u.Host, s.CcTlds);
            if (d is null || s.Whitelist.Contains(d) || s.Whitelist.Contains(u.Host)) continue;
            bool obf = s.NoObfuscated && u.Obfuscation is not null;
            anyObfuscated |= obf;
            if (s.MaxUris > 0 && ++count > s.MaxUris) tooManyUris = true;
            if (!domains.TryGetValue(d, out var was)) domains[d] = obf;
            else domains[d] = was || obf;
            if (s.MaxDomains > 0 && domains.Count > s.MaxDomains) tooManyDomains = true;
        }

        // Ask for every domain at once; judge them in sorted order as ASSP does, stopping at the same point.
        var lookups = domains.Keys.ToDictionary(d => d, d => Cache.TryGet(d, out var c)
            ? Task.FromResult(c)
            : LookupAsync(d, s, cancellationToken));
        double weightSum = 0;
        int returned = 0;
        string? lastDomain = null;
        IReadOnlyList<(string, string)> lastListed = [];
        foreach (var (domain, obfuscated) in domains)
        {
            var listed = await lookups[domain].ConfigureAwait(false);
            double domainWeight = 0;
            int counted = 0;
            foreach (var (zone, reply) in listed)
            {
                var p = s.Providers.FirstOrDefault(x => x.Zone == zone);
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
        return new UriblVerdict(outcome, score, weightSum, returned == 0 ? null : lastDomain, returned == 0 ? [] : lastListed, tooManyUris, tooManyDomains, anyObfuscated);
    }

    private async Task<IReadOnlyList<(string Zone, string Reply)>> LookupAsync(string domain, UriblSettings s, CancellationToken ct)
    {
        var answers = await DnsListLookup.RunAsync(resolver, domain, s.Providers, s.MaxReplies, s.MaxHits, s.MaxTime, s.AllReplies, ct).ConfigureAwait(false);
        IReadOnlyList<(string, string)> listed = [.. answers.Hits.Select(h => (h.Provider.Zone, h.Reply!))];
        if (answers.AnyDefinite) Cache.Set(domain, listed, listed.Count > 0 ? s.HitCache : s.MissCache);
        return listed;
    }
}
