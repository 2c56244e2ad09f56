using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Dns;

namespace Assp.Checks.Dns;

/// <summary>ASSP's RWL cache states: 1 trusted, 2 listed but not trusted (or minhits not reached), 3 trusted and whitelisted, 4 not listed.</summary>
public enum RwlStatus { None = 0, Trusted = 1, Listed = 2, Whitelisted = 3, NotListed = 4 }

public sealed record RwlVerdict(RwlStatus Status, int Trust, IReadOnlyList<(string Zone, string Reply)> ListedBy, bool FromCache = false);

/// <summary>
/// The per-category trust overrides of one dnswl.org-style provider ("zone:15=>0,2=>+1,5-9=>-2,*=>+1"): a plain
/// number sets the trust, +n and -n change the reported one. A single category beats a range, a range beats "*".
/// </summary>
public sealed class RwlTrustOverrides
{
    private enum Op { Set, Add }
    private readonly List<(int From, int To, Op Op, int Value)> _rules = [];
    private (Op Op, int Value)? _any;

    public int Count => _rules.Count + (_any is null ? 0 : 1);

    /// <summary>Parses the text after the colon; <paramref name="problems"/> gets the parts that are not rules.</summary>
    public static RwlTrustOverrides Parse(string text, List<string>? problems = null)
    {
        var o = new RwlTrustOverrides();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = raw.Split("=>", 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2 || !TryValue(kv[1], out var op, out var value))
            {
                problems?.Add($"'{raw}' is not category=>trust");
                continue;
            }
            if (kv[0] == "*")
            {
                o._any = (op, value);
                continue;
            }
            var range = kv[0].Split('-', 2, StringSplitOptions.TrimEntries);
            if (!int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
                || !int.TryParse(range.Length == 2 ? range[1] : range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var to) || to < from)
            {
                problems?.Add($"'{raw}' has no category, category range or *");
                continue;
            }
            o._rules.Add((from, to, op, value));
        }
        return o;
    }

    private static bool TryValue(string s, out Op op, out int value)
    {
        op = s.StartsWith('+') || s.StartsWith('-') ? Op.Add : Op.Set;
        return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The trust for a reply of <paramref name="category"/> with <paramref name="reported"/> trust, kept within 0..3.</summary>
    public int Apply(int category, int reported)
    {
        (Op Op, int Value)? rule = null;
        foreach (var r in _rules)
            if (r.From == category && r.To == category) rule = (r.Op, r.Value);
        if (rule is null)
            foreach (var r in _rules)
                if (category >= r.From && category <= r.To)
                {
                    rule = (r.Op, r.Value);
                    break;
                }
        rule ??= _any;
        if (rule is not { } x) return reported;
        return Math.Clamp(x.Op == Op.Set ? x.Value : reported + x.Value, 0, 3);
    }
}

public sealed record RwlSettings(IReadOnlyList<DnsListProvider> Providers, int MaxReplies, int MinHits, TimeSpan MaxTime, bool Whitelisting, TimeSpan CacheTime, IpList NoRwl)
{
    /// <summary>Trust overrides by zone (lower case), from "zone:category=>trust,..." entries.</summary>
    public IReadOnlyDictionary<string, RwlTrustOverrides> Overrides { get; init; } = new Dictionary<string, RwlTrustOverrides>();

    /// <summary>Entries of RWLServiceProvider that could not be read completely.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    public static RwlSettings For(ConfigSnapshot cfg) => cfg.Derived("Dns.RwlSettings", static c =>
    {
        var zones = new List<string>();
        var overrides = new Dictionary<string, RwlTrustOverrides>(StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        foreach (var e in c.GetListEntries("RWLServiceProvider"))
        {
            var text = e.Text.Trim();
            int colon = text.IndexOf(':');
            var zone = (colon < 0 ? text : text[..colon]).Trim();
            if (zone.Length == 0) continue;
            zones.Add(zone);
            if (colon < 0) continue;
            var local = new List<string>();
            var o = RwlTrustOverrides.Parse(text[(colon + 1)..], local);
            problems.AddRange(local.Select(p => $"RWLServiceProvider entry '{text}': {p}"));
            if (o.Count > 0) overrides[zone.ToLowerInvariant()] = o;
        }
        return new RwlSettings(DnsListProviders.Parse(zones, 0, 0, 1),
            c.GetInt("RWLmaxreplies"), Math.Max(1, c.GetInt("RWLminhits")), TimeSpan.FromSeconds(Math.Max(1, c.GetDecimal("RWLmaxtime", 10))),
            c.GetBool("RWLwhitelisting"), TimeSpan.FromDays(Math.Max(0, c.GetDecimal("RWLCacheInterval"))), c.GetIpList("noRWL"))
        {
            Overrides = overrides,
            Problems = problems,
        };
    });
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
        if (Cache.TryGet(key, out var cached, _ => s.CacheTime)) return cached with { FromCache = true };
        var answers = await DnsListLookup.RunAsync(resolver, DnsListProviders.IpLabel(ip), s.Providers, s.MaxReplies, s.MinHits, s.MaxTime, false, cancellationToken)
            .ConfigureAwait(false);
        var v = Evaluate(answers.Hits.Select(h => (h.Provider.Zone, h.Reply!)), s.MinHits, s.Whitelisting, s.Overrides);
        if (answers.AnyDefinite) Cache.Set(key, v, s.CacheTime);
        return v;
    }

    /// <summary>ASSP's RWLCache record: "time status" (status as <see cref="RwlStatus"/>).</summary>
    public static string EncodeRecord(RwlVerdict v, long time) => $"{time} {(int)v.Status}";

    /// <summary>A stored record back; the trust is the least its status stands for (listings are not kept).</summary>
    public static RwlVerdict? DecodeRecord(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var st) || st is < 1 or > 4) return null;
        var status = (RwlStatus)st;
        return new RwlVerdict(status, status switch { RwlStatus.Whitelisted => 3, RwlStatus.Trusted => 1, _ => 0 }, []);
    }

    /// <summary>A zone answering with 127.0.category.trust: list.dnswl.org (the reference also names it list.dnsrws.org), a local mirror whose name contains it, or any zone given overrides.</summary>
    public static bool IsCategoryTrustZone(string zone, IReadOnlyDictionary<string, RwlTrustOverrides>? overrides = null) =>
        zone.Contains("list.dnswl.org", StringComparison.OrdinalIgnoreCase) || zone.Contains("list.dnsrws.org", StringComparison.OrdinalIgnoreCase)
        || overrides is not null && overrides.ContainsKey(zone);

    /// <summary>
    /// Enough hits give trust 2, or the dnswl.org-style trust (0..3, after the category overrides) when it is higher
    /// or the only reply; trust above 2 is whitelisted when RWLwhitelisting is on; trust 0 is listed-but-untrusted.
    /// hostkarma replies count only as 127.0.x.1.
    /// </summary>
    public static RwlVerdict Evaluate(IEnumerable<(string Zone, string Reply)> hits, int minHits, bool whitelisting,
        IReadOnlyDictionary<string, RwlTrustOverrides>? overrides = null)
    {
        var listed = hits.Where(h => !h.Zone.Contains("hostkarma.junkemailfilter.com", StringComparison.OrdinalIgnoreCase)
                                     || Regex.IsMatch(h.Reply, @"^127\.0\.\d+\.1$")).ToList();
        if (listed.Count == 0) return new RwlVerdict(RwlStatus.NotListed, 0, []);
        if (listed.Count < minHits) return new RwlVerdict(RwlStatus.Listed, 0, listed);
        int trust = 2;
        int? categoryTrust = null;
        foreach (var (zone, reply) in listed)
        {
            var m = DnswlReply().Match(reply);
            if (!m.Success || !IsCategoryTrustZone(zone, overrides)) continue;
            int category = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            int reported = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            int t = overrides is not null && overrides.TryGetValue(zone, out var o) ? o.Apply(category, reported) : reported;
            // Several such zones: the highest trust counts (ASSP keeps whichever answered last).
            categoryTrust = categoryTrust is int seen ? Math.Max(seen, t) : t;
        }
        if (categoryTrust is int d && (d > trust || listed.Count == 1)) trust = d;
        var status = trust > 2 && whitelisting ? RwlStatus.Whitelisted : trust == 0 ? RwlStatus.Listed : RwlStatus.Trusted;
        return new RwlVerdict(status, trust, listed);
    }
}
