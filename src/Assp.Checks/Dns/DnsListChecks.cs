using Assp.Config;
using Assp.Dns;
using Assp.Storage;

namespace Assp.Checks.Dns;

/// <summary>The DNS list engines of an instance, sharing one resolver and its cache.</summary>
public sealed class DnsListChecks(DnsResolver resolver)
{
    private readonly bool _followsConfig;
    private readonly Lock _followLock = new();
    private DnsResolverOptions? _appliedFrom;
    private long _appliedGeneration = long.MinValue;

    public DnsResolver Resolver { get; } = resolver;
    public DnsblCheck Dnsbl { get; } = new(resolver);
    public RwlCheck Rwl { get; } = new(resolver);
    public UriblCheck Uribl { get; } = new(resolver);
    public BackscatterCheck Backscatter { get; } = new(resolver);

    private DnsListChecks(DnsResolverOptions options, long generation) : this(new DnsResolver(options))
    {
        _followsConfig = true;
        _appliedFrom = options;
        _appliedGeneration = generation;
    }

    /// <summary>ASSP's cache databases the verdict caches are kept in.</summary>
    public const string RblTable = "pbdb.rbl.db", RwlTable = "pbdb.rwl.db", UriblTable = "pbdb.uribl.db", BackTable = "pbdb.back.db";

    /// <summary>
    /// Keeps the RBL, RWL, URIBL and backscatter caches in the instance's store (pbdb.rbl.db, pbdb.rwl.db,
    /// pbdb.uribl.db, pbdb.back.db in ASSP's record layout): they survive a restart and import/export like ASSP's.
    /// </summary>
    public DnsListChecks UseStore(IStore store)
    {
        Dnsbl.Cache.UseTable(store.Table(RblTable), DnsblCheck.EncodeRecord, DnsblCheck.DecodeRecord, store.Clock);
        Rwl.Cache.UseTable(store.Table(RwlTable), RwlCheck.EncodeRecord, RwlCheck.DecodeRecord, store.Clock);
        Uribl.Cache.UseTable(store.Table(UriblTable), UriblCheck.EncodeRecord, UriblCheck.DecodeRecord, store.Clock);
        Backscatter.Cache.UseTable(store.Table(BackTable), BackscatterCheck.EncodeRecord, BackscatterCheck.DecodeRecord, store.Clock);
        return this;
    }

    /// <summary>Removes cache records past RBLCacheExp, RWLCacheInterval, URIBLCacheInterval(Miss) and BackDNSInterval; returns how many.</summary>
    public int CleanCaches(ConfigSnapshot cfg)
    {
        var rbl = DnsblSettings.For(cfg).CacheTime;
        var rwl = RwlSettings.For(cfg).CacheTime;
        var uribl = UriblSettings.For(cfg);
        var back = BackscatterSettings.For(cfg).CacheTime;
        return Dnsbl.Cache.Clean(_ => rbl) + Rwl.Cache.Clean(_ => rwl)
            + Uribl.Cache.Clean(l => l.Count > 0 ? uribl.HitCache : uribl.MissCache) + Backscatter.Cache.Clean(_ => back);
    }

    /// <summary>The engines of a running instance: the resolver takes the DNS-Client options and follows them on every reload.</summary>
    public static DnsListChecks FromConfig(ConfigSnapshot cfg) => new(ResolverOptions(cfg), cfg.Generation);

    private static DnsResolverOptions ResolverOptions(ConfigSnapshot cfg) => cfg.Derived("Dns.ResolverOptions", static c => DnsClientSettings.FromConfig(c));

    /// <summary>
    /// Called with the snapshot a session runs on: when it is a newer configuration whose DNS-Client options differ,
    /// the shared resolver takes them (sessions already running finish their lookups on the old servers). Engines
    /// built around a given resolver (tests, tools) keep it as it is.
    /// </summary>
    public void FollowConfig(ConfigSnapshot cfg)
    {
        if (!_followsConfig || cfg.Generation <= Volatile.Read(ref _appliedGeneration)) return;
        lock (_followLock)
        {
            // A session still on an older snapshot never turns the resolver back.
            if (cfg.Generation <= _appliedGeneration) return;
            var options = ResolverOptions(cfg);
            _appliedGeneration = cfg.Generation;
            if (ReferenceEquals(options, _appliedFrom)) return;
            _appliedFrom = options;
            Resolver.Reconfigure(options);
        }
    }
}
