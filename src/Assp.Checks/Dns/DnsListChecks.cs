using Assp.Dns;

namespace Assp.Checks.Dns;

/// <summary>The DNS list engines of an instance, sharing one resolver and its cache.</summary>
public sealed class DnsListChecks(DnsResolver resolver)
{
    public DnsResolver Resolver { get; } = resolver;
    public DnsblCheck Dnsbl { get; } = new(resolver);
    public RwlCheck Rwl { get; } = new(resolver);
    public UriblCheck Uribl { get; } = new(resolver);
    public BackscatterCheck Backscatter { get; } = new(resolver);
}
