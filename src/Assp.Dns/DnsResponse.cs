using System.Net;

namespace Assp.Dns;

/// <summary>The outcome of one lookup: status, the records of the asked type (after CNAMEs) and how long it may be kept.</summary>
public sealed class DnsResponse
{
    public required string Name { get; init; }
    public required DnsRecordType Type { get; init; }
    public required DnsStatus Status { get; init; }

    /// <summary>Records of <see cref="Type"/> owned by the end of the CNAME chain; empty unless <see cref="Status"/> is Success.</summary>
    public IReadOnlyList<DnsRecord> Records { get; init; } = [];

    /// <summary>The names the CNAME chain went through after <see cref="Name"/>, in order.</summary>
    public IReadOnlyList<string> CnameChain { get; init; } = [];

    /// <summary>Lifetime granted by the answer (clamped by the resolver options).</summary>
    public TimeSpan Ttl { get; init; }

    public bool FromCache { get; init; }

    /// <summary>The server that gave the answer (null from the cache or on failure).</summary>
    public IPEndPoint? Server { get; init; }

    /// <summary>A short reason for failures (for logs).</summary>
    public string? Error { get; init; }

    public bool Succeeded => Status == DnsStatus.Success;

    /// <summary>True for answers that say something about the name (found, or does not exist): the ones a DNS list counts as a reply.</summary>
    public bool IsDefinite => Status is DnsStatus.Success or DnsStatus.NxDomain or DnsStatus.NoData;

    public IEnumerable<IPAddress> Addresses => Records.Select(r => r switch
    {
        ARecord a => a.Address,
        AaaaRecord a => a.Address,
        _ => null,
    }).OfType<IPAddress>();

    public IEnumerable<string> Texts => Records.OfType<TxtRecord>().Select(t => t.Text);

    internal DnsResponse AsCached() => new()
    {
        Name = Name, Type = Type, Status = Status, Records = Records, CnameChain = CnameChain, Ttl = Ttl, FromCache = true, Error = Error,
    };

    public override string ToString() => $"{Name} {Type}: {Status}" + (Records.Count > 0 ? " " + string.Join(", ", Records.Select(r => r.DataText)) : "");
}
