using System.Net;

namespace Assp.Dns;

/// <summary>One resource record of an answer. Names are without the trailing dot, in the case the server sent.</summary>
public abstract record DnsRecord(string Name, DnsRecordType Type, uint Ttl)
{
    /// <summary>The record data in zone-file form (for logs and tests).</summary>
    public abstract string DataText { get; }

    public override string ToString() => $"{Name} {Ttl} {Type} {DataText}";
}

public sealed record ARecord(string Name, uint Ttl, IPAddress Address) : DnsRecord(Name, DnsRecordType.A, Ttl)
{
    public override string DataText => Address.ToString();
}

public sealed record AaaaRecord(string Name, uint Ttl, IPAddress Address) : DnsRecord(Name, DnsRecordType.AAAA, Ttl)
{
    public override string DataText => Address.ToString();
}

public sealed record CnameRecord(string Name, uint Ttl, string Target) : DnsRecord(Name, DnsRecordType.CNAME, Ttl)
{
    public override string DataText => Target;
}

public sealed record NsRecord(string Name, uint Ttl, string Host) : DnsRecord(Name, DnsRecordType.NS, Ttl)
{
    public override string DataText => Host;
}

public sealed record PtrRecord(string Name, uint Ttl, string Target) : DnsRecord(Name, DnsRecordType.PTR, Ttl)
{
    public override string DataText => Target;
}

public sealed record MxRecord(string Name, uint Ttl, ushort Preference, string Exchange) : DnsRecord(Name, DnsRecordType.MX, Ttl)
{
    public override string DataText => $"{Preference} {Exchange}";
}

/// <summary>A TXT record: its character-strings kept apart (DKIM and SPF join them, others may not).</summary>
public sealed record TxtRecord(string Name, uint Ttl, IReadOnlyList<string> Strings) : DnsRecord(Name, DnsRecordType.TXT, Ttl)
{
    /// <summary>The strings joined without separator, as SPF (RFC 7208 3.3) and DKIM read them.</summary>
    public string Text => string.Concat(Strings);

    public override string DataText => string.Join(' ', Strings.Select(s => "\"" + s + "\""));
}

public sealed record SoaRecord(string Name, uint Ttl, string PrimaryServer, string Responsible, uint Serial, uint Refresh,
    uint Retry, uint Expire, uint Minimum) : DnsRecord(Name, DnsRecordType.SOA, Ttl)
{
    public override string DataText => $"{PrimaryServer} {Responsible} {Serial} {Refresh} {Retry} {Expire} {Minimum}";
}

public sealed record SrvRecord(string Name, uint Ttl, ushort Priority, ushort Weight, ushort Port, string Target)
    : DnsRecord(Name, DnsRecordType.SRV, Ttl)
{
    public override string DataText => $"{Priority} {Weight} {Port} {Target}";
}

/// <summary>A record of a type this library does not interpret; the raw data is kept.</summary>
public sealed record UnknownRecord(string Name, DnsRecordType Type, uint Ttl, byte[] Data) : DnsRecord(Name, Type, Ttl)
{
    public override string DataText => "\\# " + Data.Length + " " + Convert.ToHexString(Data);
}
