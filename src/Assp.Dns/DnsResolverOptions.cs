using System.Net;

namespace Assp.Dns;

/// <summary>How the resolver talks to its servers and how long it keeps answers. Immutable; a new resolver takes new options.</summary>
public sealed record DnsResolverOptions
{
    /// <summary>Recursive servers, asked in health order.</summary>
    public IReadOnlyList<IPEndPoint> Servers { get; init; } = [];

    /// <summary>Upper bound for one lookup, all retries and servers included.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long to wait for an answer before asking the next server as well (the earlier asks stay open).</summary>
    public TimeSpan Retransmit { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Extra rounds over the server list after the first.</summary>
    public int Retries { get; init; } = 1;

    /// <summary>Use only the N best servers (0: all).</summary>
    public int ServerLimit { get; init; }

    /// <summary>Servers are re-ordered by response time only when their averages differ by more than this (zero: fixed order).</summary>
    public TimeSpan MaxResponseSpread { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>EDNS0 UDP payload size announced (0: no EDNS). 1232 avoids IP fragmentation (DNS flag day 2020).</summary>
    public int EdnsUdpSize { get; init; } = 1232;

    /// <summary>Repeat a truncated UDP answer over TCP.</summary>
    public bool TcpFallback { get; init; } = true;

    /// <summary>
    /// Keep UDP sockets that got their answer and use them for the next query to the same server (ASSP's
    /// DNSReuseSocket), so a busy proxy does not run through the system's UDP ports; off gives each query a new socket.
    /// </summary>
    public bool ReuseUdpSockets { get; init; }

    /// <summary>Local address to send from (null: the system's choice).</summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>Most entries the cache holds.</summary>
    public int CacheSize { get; init; } = 100_000;

    /// <summary>Answers are kept at least this long, so a flood of TTL-0 answers cannot turn the cache off.</summary>
    public TimeSpan MinTtl { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Cap for NXDOMAIN/NODATA caching (RFC 2308 suggests at most hours).</summary>
    public TimeSpan MaxNegativeTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Negative TTL when the answer carries no SOA.</summary>
    public TimeSpan DefaultNegativeTtl { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a SERVFAIL/REFUSED result is remembered (RFC 2308 7.1 allows up to 5 minutes). Timeouts are never cached.</summary>
    public TimeSpan FailureTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>After this many failures in a row a server is asked last until it answers again or the back-off ends.</summary>
    public int FailuresBeforeBackoff { get; init; } = 3;

    public TimeSpan Backoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Parses "1.2.3.4|[2001:db8::1]:5353|10.0.0.1:53" (pipes, commas or blanks between entries); an ASSP-style
    /// "=>probe.name" suffix is ignored. Entries that are not IP addresses are skipped and returned in
    /// <paramref name="rejected"/>.
    /// </summary>
    public static IReadOnlyList<IPEndPoint> ParseServers(string? text, out IReadOnlyList<string> rejected)
    {
        var list = new List<IPEndPoint>();
        var bad = new List<string>();
        rejected = bad;
        if (string.IsNullOrWhiteSpace(text)) return list;
        int arrow = text.IndexOf("=>", StringComparison.Ordinal);
        if (arrow >= 0) text = text[..arrow];
        foreach (var raw in text.Split(['|', ',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryParseEndPoint(raw, out var ep)) list.Add(ep);
            else bad.Add(raw);
        }
        return list;
    }

    private static bool TryParseEndPoint(string s, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (IPAddress.TryParse(s, out var bare) && !s.StartsWith('['))
        {
            endPoint = new IPEndPoint(bare, 53);
            return true;
        }
        if (IPEndPoint.TryParse(s, out var ep))
        {
            if (ep.Port == 0) ep.Port = 53;
            endPoint = ep;
            return true;
        }
        return false;
    }

    /// <summary>The nameservers of a resolv.conf text (the system resolvers, ASSP's UseLocalDNS).</summary>
    public static IReadOnlyList<IPEndPoint> ParseResolvConf(string text)
    {
        var list = new List<IPEndPoint>();
        foreach (var line in text.Split('\n'))
        {
            var t = line.Trim();
            if (t.Length == 0 || t[0] is '#' or ';') continue;
            var parts = t.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && parts[0] == "nameserver")
            {
                // A scope id (fe80::1%eth0) parses too; IPAddress keeps it.
                if (IPAddress.TryParse(parts[1], out var ip)) list.Add(new IPEndPoint(ip, 53));
            }
        }
        return list;
    }

    /// <summary>Reads the system's resolv.conf; an unreadable file gives no servers.</summary>
    public static IReadOnlyList<IPEndPoint> ReadResolvConf(string path = "/etc/resolv.conf")
    {
        try
        {
            return ParseResolvConf(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
