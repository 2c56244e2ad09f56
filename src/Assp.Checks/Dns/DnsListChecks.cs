using Assp.Config;
using Assp.Dns;

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
