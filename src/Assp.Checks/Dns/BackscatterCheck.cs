using System.Net;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Dns;

namespace Assp.Checks.Dns;

public sealed record BackscatterSettings(IReadOnlyList<DnsListProvider> Providers, TimeSpan MaxTime, TimeSpan CacheTime, double Valence, IpList NoBackSctrIp)
{
    public static BackscatterSettings For(ConfigSnapshot cfg) => cfg.Derived("Dns.BackscatterSettings", static c => new BackscatterSettings(
        DnsListProviders.Parse(c.GetListEntries("BackSctrServiceProvider").Select(e => e.Text), 0, 0, 1),
        TimeSpan.FromSeconds(Math.Max(1, c.GetDecimal("DNStimeout", 2))), TimeSpan.FromDays(Math.Max(0, c.GetDecimal("BackDNSInterval"))),
        c.GetValence("backsctrValencePB").Message, c.GetIpList("noBackSctrIP")));
}

/// <summary>DoBackSctr: the IP of a bounce (null sender, postmaster) looked up in the backscatter list; any listing fails.</summary>
public sealed class BackscatterCheck(DnsResolver resolver)
{
    public ExpiringCache<DnsListVerdict> Cache { get; } = new();

    public async Task<DnsListVerdict> CheckAsync(IPAddress ip, BackscatterSettings s, CancellationToken cancellationToken = default)
    {
        if (s.Providers.Count == 0 || s.NoBackSctrIp.Contains(ip)) return DnsListVerdict.Skip;
        var key = ip.ToString();
        if (Cache.TryGet(key, out var cached)) return cached with { FromCache = true };
        var answers = await DnsListLookup.RunAsync(resolver, DnsListProviders.IpLabel(ip), s.Providers, s.Providers.Count, 1, s.MaxTime, false, cancellationToken)
            .ConfigureAwait(false);
        var hits = answers.Hits.Select(h => (h.Provider.Zone, h.Reply!)).ToList();
        var v = hits.Count > 0 ? new DnsListVerdict(DnsListOutcome.Failed, s.Valence, s.Valence, hits) : DnsListVerdict.Pass;
        if (answers.AnyDefinite) Cache.Set(key, v, s.CacheTime);
        return v;
    }
}
