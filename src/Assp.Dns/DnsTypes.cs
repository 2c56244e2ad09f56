namespace Assp.Dns;

/// <summary>The record types this library reads; any other type is kept as <see cref="UnknownRecord"/>.</summary>
public enum DnsRecordType : ushort
{
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    SRV = 33,
    OPT = 41,
    ANY = 255,
}

/// <summary>RCODE of a response header (RFC 1035 4.1.1).</summary>
public enum DnsResponseCode : byte
{
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NxDomain = 3,
    NotImp = 4,
    Refused = 5,
}

/// <summary>What a lookup came to, from the caller's point of view.</summary>
public enum DnsStatus
{
    /// <summary>Records of the asked type were found.</summary>
    Success,
    /// <summary>The name does not exist (NXDOMAIN).</summary>
    NxDomain,
    /// <summary>The name exists but has no records of the asked type.</summary>
    NoData,
    /// <summary>Every server answered SERVFAIL (or another failure code).</summary>
    ServerFailure,
    /// <summary>Every server refused the query.</summary>
    Refused,
    /// <summary>No valid answer arrived in time.</summary>
    Timeout,
    /// <summary>The name cannot be asked for (too long, empty label, non-ASCII).</summary>
    InvalidName,
    /// <summary>Sockets failed for every server (unreachable, refused port).</summary>
    NetworkError,
}

/// <summary>Why a packet was rejected by <see cref="DnsMessageReader"/>.</summary>
public enum DnsParseError
{
    None,
    TooShort,
    BadLabel,
    NameTooLong,
    PointerLoop,
    BadPointer,
    RecordOverrun,
    BadRdata,
    TooManyRecords,
}
