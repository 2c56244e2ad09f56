using System.Net;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Dns;

namespace Assp.Checks.Dns;

/// <summary>ASSP's RWL cache states: 1 trusted, 2 listed but not trusted (or minhits not reached), 3 trusted and whitelisted, 4 not listed.</summary>
public enum RwlStatus { None = 0, Trusted = 1, Listed = 2, Whitelisted = 3, NotListed = 4 }

public sealed record RwlVerdict(RwlStatus Status, int Trust, IReadOnlyList<(string Zone, string Reply)> ListedBy, bool FromCache = false);

public sealed record RwlSettings(IReadOnlyList<DnsListProvider> Providers, int MaxReplies, int MinHits, TimeSpan MaxTime, bool Whitelisting, TimeSpan CacheTime, IpList NoRwl)
{
    public static RwlSettings For(ConfigSnapshot cfg) => cfg.Derived("Dns.RwlSettings", static c => new RwlSettings(
        DnsListProviders.Parse(c.GetListEntries("RWLServiceProvider").Select(e => e.Text.Split(':')[0]), 0, 0, 1),
        c.GetInt("RWLmaxreplies"), Math.Max(1, c.GetInt("RWLminhits")), TimeSpan.FromSeconds(Math.Max(1, c.GetDecimal("RWLmaxtime", 10))),
        c.GetBool("RWLwhitelisting"), TimeSpan.FromDays(Math.Max(0, c.GetDecimal("RWLCacheInterval"))), c.GetIpList("noRWL")));
}

/// <summary>RWL/DNSWL (ValidateRWL): trust from the replies; list.dnswl.org-style replies carry the trust in the last octet.</summary>
public sealed partial class RwlCheck(DnsResolver resolver)
{
    public ExpiringCache<RwlVerdict> Cache { get; } = new();

    [GeneratedRegex(@"^127\.\d+\.(\d+)\.(\d+)$")]
    private static partial Regex DnswlReply();

    public async Task<RwlVerdict> CheckAsync(IPAddress ip, RwlSettings s, CancellationToken cancellationToken = default)
    {
        if (s.Providers.Count == 0 || s.NoRwl.Contains(ip)) return new RwlVerdict(RwlStatus.None, 0, []);
        var key = ip.ToString();
        if (Cache.TryGet(key, out var cached)) return cached with { FromCache = true };
        var answers = await DnsListLookup.RunAsync(resolver, DnsListProviders.IpLabel(ip), s.Providers, s.MaxReplies, s.MinHits, s.MaxTime, false, cancellationToken)
            .ConfigureAwait(false);
        var v = Evaluate(answers.Hits.Select(h => (h.Provider.Zone, h.Reply!)), s.MinHits, s.Whitelisting);
        Cache.Set(key, v, s.CacheTime);
        return v;
    }

    /// <summary>
    /// Enough hits give trust 2, or the dnswl.org trust (0..3) when it is higher or the only reply; trust above 2 is
    /// whitelisted when RWLwhitelisting is on; trust 0 is listed-but-untrusted. hostkarma replies count only as 127.0.x.1.
    /// </summary>
    public static RwlVerdict Evaluate(IEnumerable<(string Zone, string Reply)> hits, int minHits, bool whitelisting)
    {
        var listed = hits.Where(h => !h.Zone.Contains("hostkarma.junkemailfilter.com", StringComparison.OrdinalIgnoreCase)
                                     || Regex.IsMatch(h.Reply, @"^127\.0\.\d+\.1$")).ToList();
        if (listed.Count == 0) return new RwlVerdict(RwlStatus.NotListed, 0, []);
        if (listed.Count < minHits) return new RwlVerdict(RwlStatus.Listed, 0, listed);
        int trust = 2;
        int? dnswl = null;
        foreach (var (zone, reply) in listed)
        {
            var m = DnswlReply().Match(reply);
            if (zone.Contains("list.dnswl.org", StringComparison.OrdinalIgnoreCase) && m.Success) dnswl = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        if (dnswl is int d && (d > trust || listed.Count == 1)) trust = d;
        var status = trust > 2 && whitelisting ? RwlStatus.Whitelisted : trust == 0 ? RwlStatus.Listed : RwlStatus.Trusted;
        return new RwlVerdict(status, trust, listed);
    }
}
