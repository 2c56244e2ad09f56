using System.Net;
using Assp.Dns;

namespace Assp.Auth.Spf;

/// <summary>How a lookup ended, in the terms RFC 7208 cares about.</summary>
public enum SpfDnsStatus
{
    /// <summary>Records were found.</summary>
    Ok,
    /// <summary>The name does not exist (RCODE 3): a void lookup.</summary>
    NxDomain,
    /// <summary>The name exists without records of the type: a void lookup.</summary>
    NoData,
    /// <summary>SERVFAIL, refused, network trouble: the result becomes temperror where the RFC says so.</summary>
    TempError,
    /// <summary>No answer in time; treated like <see cref="TempError"/>.</summary>
    Timeout,
}

/// <summary>The answer to one lookup: a status and, when <see cref="SpfDnsStatus.Ok"/>, the records.</summary>
public sealed record SpfDnsAnswer<T>(SpfDnsStatus Status, IReadOnlyList<T> Records)
{
    public bool IsError => Status is SpfDnsStatus.TempError or SpfDnsStatus.Timeout;
    public bool IsVoid => Status is SpfDnsStatus.NxDomain or SpfDnsStatus.NoData || (Status == SpfDnsStatus.Ok && Records.Count == 0);

    public static SpfDnsAnswer<T> Of(SpfDnsStatus status) => new(status, []);
}

/// <summary>The DNS lookups an SPF evaluation needs; the seam where tests put an in-memory zone.</summary>
public interface ISpfDns
{
    /// <summary>TXT records, each with its character-strings joined (RFC 7208 3.3).</summary>
    Task<SpfDnsAnswer<string>> GetTxtAsync(string name, CancellationToken cancellationToken);
    Task<SpfDnsAnswer<IPAddress>> GetAAsync(string name, CancellationToken cancellationToken);
    Task<SpfDnsAnswer<IPAddress>> GetAaaaAsync(string name, CancellationToken cancellationToken);
    /// <summary>MX exchange names, best preference first.</summary>
    Task<SpfDnsAnswer<string>> GetMxAsync(string name, CancellationToken cancellationToken);
    /// <summary>PTR names of an address (the reverse name is built by the implementation).</summary>
    Task<SpfDnsAnswer<string>> GetPtrAsync(IPAddress address, CancellationToken cancellationToken);
}

/// <summary><see cref="ISpfDns"/> over our own <see cref="DnsResolver"/>.</summary>
public sealed class DnsResolverSpfDns(DnsResolver resolver) : ISpfDns, Dkim.IDkimDns
{
    public async Task<SpfDnsAnswer<string>> GetTxtAsync(string name, CancellationToken cancellationToken)
    {
        var r = await resolver.QueryAsync(name, DnsRecordType.TXT, cancellationToken).ConfigureAwait(false);
        return Map<string>(r, () => [.. r.Records.OfType<TxtRecord>().Select(t => t.Text)]);
    }

    public Task<SpfDnsAnswer<IPAddress>> GetAAsync(string name, CancellationToken cancellationToken) =>
        AddressesAsync(name, DnsRecordType.A, cancellationToken);

    public Task<SpfDnsAnswer<IPAddress>> GetAaaaAsync(string name, CancellationToken cancellationToken) =>
        AddressesAsync(name, DnsRecordType.AAAA, cancellationToken);

    public async Task<SpfDnsAnswer<string>> GetMxAsync(string name, CancellationToken cancellationToken)
    {
        var r = await resolver.QueryAsync(name, DnsRecordType.MX, cancellationToken).ConfigureAwait(false);
        return Map<string>(r, () => [.. r.Records.OfType<MxRecord>().OrderBy(m => m.Preference).Select(m => m.Exchange)]);
    }

    public async Task<SpfDnsAnswer<string>> GetPtrAsync(IPAddress address, CancellationToken cancellationToken)
    {
        var r = await resolver.QueryAsync(DnsName.ReverseLookupName(address), DnsRecordType.PTR, cancellationToken).ConfigureAwait(false);
        return Map<string>(r, () => [.. r.Records.OfType<PtrRecord>().Select(p => p.Target)]);
    }

    private async Task<SpfDnsAnswer<IPAddress>> AddressesAsync(string name, DnsRecordType type, CancellationToken cancellationToken)
    {
        var r = await resolver.QueryAsync(name, type, cancellationToken).ConfigureAwait(false);
        return Map<IPAddress>(r, () => [.. r.Addresses]);
    }

    private static SpfDnsAnswer<T> Map<T>(DnsResponse r, Func<IReadOnlyList<T>> records) => r.Status switch
    {
        DnsStatus.Success => new SpfDnsAnswer<T>(SpfDnsStatus.Ok, records()),
        DnsStatus.NxDomain => SpfDnsAnswer<T>.Of(SpfDnsStatus.NxDomain),
        DnsStatus.NoData => SpfDnsAnswer<T>.Of(SpfDnsStatus.NoData),
        // A name that cannot even be asked for cannot exist.
        DnsStatus.InvalidName => SpfDnsAnswer<T>.Of(SpfDnsStatus.NxDomain),
        DnsStatus.Timeout => SpfDnsAnswer<T>.Of(SpfDnsStatus.Timeout),
        _ => SpfDnsAnswer<T>.Of(SpfDnsStatus.TempError),
    };
}
