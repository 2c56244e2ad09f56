using System.Net;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Dns;

namespace Assp.Checks.Dns;

public sealed record BackscatterSettings(IReadOnlyList<DnsListProvider> Providers, TimeSpan MaxTime, TimeSpan CacheTime, double Valence, IpList NoBackSctrIp)
{
    /// <summary>localBackDNSFile as a full path (null when not set or when BackDNSInterval is 0, which turns the file off).</summary>
    public string? LocalFile { get; init; }

    public static BackscatterSettings For(ConfigSnapshot cfg) => cfg.Derived("Dns.BackscatterSettings", static c =>
    {
        var cacheTime = TimeSpan.FromDays(Math.Max(0, c.GetDecimal("BackDNSInterval")));
        string? file = ConfigLoader.FileReference(c["localBackDNSFile"]) is { } rel && cacheTime > TimeSpan.Zero
            ? Path.GetFullPath(Path.IsPathRooted(rel) ? rel : Path.Combine(c.BaseDirectory, rel))
            : null;
        return new BackscatterSettings(
            DnsListProviders.Parse(c.GetListEntries("BackSctrServiceProvider").Select(e => e.Text), 0, 0, 1),
            TimeSpan.FromSeconds(Math.Max(1, c.GetDecimal("DNStimeout", 2))), cacheTime,
            c.GetValence("backsctrValencePB").Message, c.GetIpList("noBackSctrIP"))
        {
            LocalFile = file,
        };
    });
}

/// <summary>
/// The IPs of a local backscatterer list (localBackDNSFile, e.g. the rbldnsd file of ips.backscatterer.org): one IP
/// per line; lines that do not start with a digit, or that hold a 127.x reply code, are skipped as ASSP does.
/// </summary>
public sealed class BackscatterFile
{
    private readonly HashSet<IPAddress> _ips;

    private BackscatterFile(string path, DateTime stamp, HashSet<IPAddress> ips)
    {
        Path = path;
        Stamp = stamp;
        _ips = ips;
    }

    public string Path { get; }
    public DateTime Stamp { get; }
    public int Count => _ips.Count;

    public bool Contains(IPAddress ip) => _ips.Contains(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip);

    public static BackscatterFile Read(string path)
    {
        var stamp = File.GetLastWriteTimeUtc(path);
        var ips = new HashSet<IPAddress>();
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || !char.IsAsciiDigit(line[0]) || line.Contains("127.", StringComparison.Ordinal)) continue;
            int end = line.IndexOfAny([' ', '\t', ':', ';', '#']);
            if (IPAddress.TryParse(end < 0 ? line : line[..end], out var ip)) ips.Add(ip);
        }
        return new BackscatterFile(path, stamp, ips);
    }
}

/// <summary>DoBackSctr: the IP of a bounce (null sender, postmaster) looked up in the local backscatter list, then in the DNS list; any listing fails.</summary>
public sealed class BackscatterCheck(DnsResolver resolver)
{
    private readonly Lock _fileLock = new();
    private BackscatterFile? _file;

    /// <summary>Per IP: the listings of the DNS list (none for a clean IP).</summary>
    public ExpiringCache<IReadOnlyList<(string Zone, string Reply)>> Cache { get; } = new();

    /// <summary>
    /// The local list, read again when the file changed. A file that is missing or unreadable counts as empty
    /// (the DNS list still answers), and <paramref name="problem"/> says why.
    /// </summary>
    public BackscatterFile? LocalList(string path, out string? problem)
    {
        problem = null;
        try
        {
            if (!File.Exists(path)) return null;
            var stamp = File.GetLastWriteTimeUtc(path);
            var current = Volatile.Read(ref _file);
            if (current is not null && current.Path == path && current.Stamp == stamp) return current;
            lock (_fileLock)
            {
                if (_file is { } f && f.Path == path && f.Stamp == stamp) return f;
                var read = BackscatterFile.Read(path);
                Volatile.Write(ref _file, read);
                return read;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"localBackDNSFile '{path}' cannot be read: {e.Message}";
            return null;
        }
    }

    public async Task<DnsListVerdict> CheckAsync(IPAddress ip, BackscatterSettings s, CancellationToken cancellationToken = default)
    {
        if (s.NoBackSctrIp.Contains(ip)) return DnsListVerdict.Skip;
        if (s.LocalFile is { } path && LocalList(path, out _) is { } list && list.Contains(ip))
            return new DnsListVerdict(DnsListOutcome.Failed, s.Valence, s.Valence, [(System.IO.Path.GetFileName(path), "local list")]);
        if (s.Providers.Count == 0) return DnsListVerdict.Skip;
        var key = ip.ToString();
        if (Cache.TryGet(key, out var cached, _ => s.CacheTime)) return Judge(cached, s) with { FromCache = true };
        var answers = await DnsListLookup.RunAsync(resolver, DnsListProviders.IpLabel(ip), s.Providers, s.Providers.Count, 1, s.MaxTime, false, cancellationToken)
            .ConfigureAwait(false);
        IReadOnlyList<(string Zone, string Reply)> hits = [.. answers.Hits.Select(h => (h.Provider.Zone, h.Reply!))];
        if (answers.AnyDefinite) Cache.Set(key, hits, s.CacheTime);
        return Judge(hits, s);
    }

    private static DnsListVerdict Judge(IReadOnlyList<(string Zone, string Reply)> hits, BackscatterSettings s) =>
        hits.Count > 0 ? new DnsListVerdict(DnsListOutcome.Failed, s.Valence, s.Valence, hits) : DnsListVerdict.Pass;

    /// <summary>ASSP's BackDNS record: "time status zone<-reply ...", status 1 listed, 2 not listed.</summary>
    public static string EncodeRecord(IReadOnlyList<(string Zone, string Reply)> listed, long time) => UriblCheck.EncodeRecord(listed, time);

    /// <summary>Also reads ASSP's own "time 1" records of IPs merged from the downloaded list.</summary>
    public static IReadOnlyList<(string Zone, string Reply)>? DecodeRecord(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts is [_, "1"]) return [("backscatter list", "listed")];
        return UriblCheck.DecodeRecord(text);
    }
}
