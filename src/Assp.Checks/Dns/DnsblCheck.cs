using System.Globalization;
using System.Net;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Dns;

namespace Assp.Checks.Dns;

public enum DnsListOutcome { Pass, Neutral, Failed, Skipped }

/// <summary>The verdict of a weighted DNS-list check: outcome, the score to add, and who listed what.</summary>
public sealed record DnsListVerdict(DnsListOutcome Outcome, double Score, double WeightTotal, IReadOnlyList<(string Zone, string Reply)> ListedBy,
    bool FromCache = false, bool TimedOut = false)
{
    public static readonly DnsListVerdict Pass = new(DnsListOutcome.Pass, 0, 0, []);
    public static DnsListVerdict Skip => new(DnsListOutcome.Skipped, 0, 0, []);

    /// <summary>"zone<-reply; ..." as ASSP writes it in the X-Assp-DNSBL header and the log.</summary>
    public string ListedText => string.Join("; ", ListedBy.Select(l => $"{l.Zone}<-{l.Reply}"));
}

/// <summary>The DNSBL options of one snapshot.</summary>
public sealed record DnsblSettings(IReadOnlyList<DnsListProvider> Providers, int MaxReplies, int MaxHits, double MaxWeight, TimeSpan MaxTime,
    bool AllReplies, TimeSpan CacheTime, double FailValence, double NeutralValence, IpList NoRbl)
{
    /// <summary>
    /// RBLsocktime: the longest single wait for the next DNSBL answer (1 s when empty or 0, ASSP's default); RBLmaxtime
    /// is looked at between waits, as ASSP's socket loop does.
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(1);

    public static DnsblSettings For(ConfigSnapshot cfg) => cfg.Derived("Dns.DnsblSettings", static c =>
    {
        double maxWeight = c.GetDecimal("RBLmaxweight"), maxHits = c.GetInt("RBLmaxhits");
        double valence = c.GetValence("rblValencePB").Message;
        var providers = DnsListProviders.Parse(c.GetListEntries("RBLServiceProvider").Select(e => e.Text), maxWeight, maxHits, valence);
        return new DnsblSettings(providers, c.GetInt("RBLmaxreplies"), (int)maxHits, maxWeight, TimeSpan.FromSeconds(Math.Max(1, c.GetDecimal("RBLmaxtime", 15))),
            c.GetBool("Showmaxreplies"), TimeSpan.FromHours(Math.Max(0, c.GetDecimal("RBLCacheExp"))), valence, c.GetValence("rblnValencePB").Message,
            c.GetIpList("noRBL"))
        {
            ReadTimeout = TimeSpan.FromSeconds(c.GetDecimal("RBLsocktime") is var t && t > 0 ? t : 1),
        };
    });
}

/// <summary>DNSBL on an IP (ValidateRBL): all providers at once, ASSP's weighting and Failed/Neutral rules, the RBLCache.</summary>
public sealed class DnsblCheck(DnsResolver resolver)
{
    /// <summary>Per IP: the listings found (none for a clean IP); judged again with the current weights when read.</summary>
    public ExpiringCache<IReadOnlyList<(string Zone, string Reply)>> Cache { get; } = new();

    public async Task<DnsListVerdict> CheckAsync(IPAddress ip, DnsblSettings s, CancellationToken cancellationToken = default)
    {
        if (s.Providers.Count == 0 || s.NoRbl.Contains(ip)) return DnsListVerdict.Skip;
        if (TryGetCached(ip, s, out var cached)) return cached;
        var answers = await DnsListLookup.RunAsync(resolver, DnsListProviders.IpLabel(ip), s.Providers, s.MaxReplies, s.MaxHits, s.MaxTime, s.AllReplies, cancellationToken,
            readTimeout: s.ReadTimeout).ConfigureAwait(false);
        var verdict = Evaluate(answers.Hits.Select(h => (h.Provider, h.Reply!)), s.MaxHits, s.MaxWeight, s.FailValence, s.NeutralValence) with { TimedOut = answers.TimedOut };
        if (answers.AnyDefinite) Cache.Set(ip.ToString(), [.. answers.Hits.Select(h => (h.Provider.Zone, h.Reply!))], s.CacheTime);
        return verdict;
    }

    /// <summary>The verdict from the RBL cache (ForceRBLCache reads it before any lookup); listings of lists no longer configured are dropped.</summary>
    public bool TryGetCached(IPAddress ip, DnsblSettings s, out DnsListVerdict verdict)
    {
        verdict = DnsListVerdict.Pass;
        if (!Cache.TryGet(ip.ToString(), out var listed, _ => s.CacheTime)) return false;
        var hits = listed.Select(l => (Provider: s.Providers.FirstOrDefault(p => p.Zone.Equals(l.Zone, StringComparison.OrdinalIgnoreCase)), l.Reply))
            .Where(h => h.Provider is not null).Select(h => (h.Provider!, h.Reply));
        verdict = Evaluate(hits, s.MaxHits, s.MaxWeight, s.FailValence, s.NeutralValence) with { FromCache = true };
        return true;
    }

    /// <summary>ASSP's RBLCache record: "time yyyy-MM-dd/HH:mm:ss status zone{reply} ...", status 1 listed, 2 clean.</summary>
    public static string EncodeRecord(IReadOnlyList<(string Zone, string Reply)> listed, long time) =>
        $"{time} {ExpiringCache<int>.AsspStamp(time)} {(listed.Count > 0 ? 1 : 2)}" + string.Concat(listed.Select(l => $" {l.Zone}{{{l.Reply}}}"));

    public static IReadOnlyList<(string Zone, string Reply)>? DecodeRecord(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3 || parts[2] is not ("1" or "2")) return null;
        var listed = new List<(string, string)>();
        foreach (var item in parts.Skip(3))
        {
            int open = item.IndexOf('{'), close = item.IndexOf('}');
            if (open > 0 && close > open) listed.Add((item[..open], item[(open + 1)..close]));
        }
        return listed;
    }

    /// <summary>
    /// ASSP's rules for the listings found: a "127.0.0.1" reply without its own weight key means "query limit
    /// reached" and is dropped; a reply whose weight is 0 (or matches no key) is dropped; Failed when enough
    /// listings remain and no weight was summed, or when the weight sum reaches maxweight; Neutral otherwise.
    /// </summary>
    public static DnsListVerdict Evaluate(IEnumerable<(DnsListProvider Provider, string Reply)> hits, int maxHits, double maxWeight, double failValence, double neutralValence)
    {
        int returned = 0;
        double total = 0;
        var listed = new List<(string, string)>();
        var all = hits as IReadOnlyCollection<(DnsListProvider Provider, string Reply)> ?? [.. hits];
        string? searchEngine = null;
        foreach (var (provider, reply) in all)
        {
            returned++;
            double w;
            if (HttpBl.TryRead(provider.Zone, reply, out var http))
            {
                // Project Honeypot's http:BL: the weight is scaled by visitor type, threat score and age; a search
                // engine (type 0) that is the only listing passes the IP.
                listed.Add((provider.Zone, reply));
                w = provider.Weights.Match(reply) ?? 0;
                if (http.Type != 0 && w != 0)
                {
                    total += w / 2 * http.Factor;
                    searchEngine = null;
                }
                else if (http.Type == 0 && all.Count == 1) searchEngine = http.SearchEngine;
                continue;
            }
            if (IsLoopbackCode(reply))
            {
                if (reply == "127.0.0.1" && !provider.Weights.TryGet("127.0.0.1", out _))
                {
                    returned--;
                    continue;
                }
                w = provider.Weights.Match(reply) ?? 0;
            }
            else
            {
                w = provider.Weights.TryGet("*", out var star) ? star : 0;
            }
            listed.Add((provider.Zone, reply));
            if (w != 0)
            {
                total += w;
                searchEngine = null;
            }
            else returned--;
        }
        if (listed.Count == 0 || searchEngine is not null) return DnsListVerdict.Pass;
        if (returned >= maxHits && total == 0 || total >= maxWeight)
            return new DnsListVerdict(DnsListOutcome.Failed, total != 0 ? Math.Truncate(total) : failValence, total, listed);
        if (returned > 0)
            return new DnsListVerdict(DnsListOutcome.Neutral, total != 0 ? Math.Truncate(total) : neutralValence, total, listed);
        return DnsListVerdict.Pass with { ListedBy = listed };
    }

    private static bool IsLoopbackCode(string reply) =>
        reply.StartsWith("127.", StringComparison.Ordinal) && IPAddress.TryParse(reply, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;

    /// <summary>RBLError with RBLLISTED replaced by the listing zones.</summary>
    public static string Reply(string template, DnsListVerdict v) =>
        template.Replace("RBLLISTED", string.Join(' ', v.ListedBy.Select(l => l.Zone)), StringComparison.Ordinal);

    internal static string Format(double d) => d.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A reply of Project Honeypot's http:BL (dnsbl.httpbl.org, asked as "accesskey.$DATA$.dnsbl.httpbl.org"):
/// 127.days.threat.type — days since the last activity, threat score 0..255, visitor type bits (0 search engine,
/// 1 suspicious, 2 harvester, 4 comment spammer). For a search engine the third octet names the engine.
/// </summary>
public readonly record struct HttpBl(int Days, int Threat, int Type)
{
    private static readonly string[] Engines =
        ["Undocumented", "Alta Vista", "Ask", "Baidu", "Excite", "Google", "Looksmart", "Lycos", "MSN", "Yahoo", "InfoSeek", "Miscellaneous"];

    /// <summary>ASSP's multiplier: type × (1 + (threat − days) / 100), with the age term dropped for a threat of 0.</summary>
    public double Factor => Type * (Threat < 1 ? 1 : 1 + (Threat - Days) / 100.0);

    public string SearchEngine => Threat >= 0 && Threat < Engines.Length ? Engines[Threat] : Engines[0];

    public static bool TryRead(string zone, string reply, out HttpBl value)
    {
        value = default;
        if (!zone.Contains("dnsbl.httpbl.org", StringComparison.OrdinalIgnoreCase)) return false;
        var o = reply.Split('.');
        if (o.Length != 4 || o[0] != "127" || !int.TryParse(o[1], NumberStyles.None, CultureInfo.InvariantCulture, out var days)
            || !int.TryParse(o[2], NumberStyles.None, CultureInfo.InvariantCulture, out var threat)
            || !int.TryParse(o[3], NumberStyles.None, CultureInfo.InvariantCulture, out var type)) return false;
        value = new HttpBl(days, threat, type);
        return true;
    }
}
