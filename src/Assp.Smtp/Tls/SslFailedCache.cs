using System.Collections.Concurrent;
using System.Net;
using Assp.Config;

namespace Assp.Smtp.Tls;

/// <summary>
/// ASSP's SSL-failed cache (banFailedSSLIP, noBanFailedSSLIP): an IP whose TLS handshake failed gets no STARTTLS
/// and is refused at the SSL listener for 12 hours. Private IPs and acceptAllMail IPs get a second try first.
/// Choice 1 bans only those, 2 only the others (public), 3 both, 0 nobody. Kept in memory, so a restart clears it
/// as ASSP's start-up does.
/// </summary>
public sealed class SslFailedCache(TimeProvider time)
{
    public static readonly TimeSpan BanTime = TimeSpan.FromHours(12);

    // A null time is the "one more try" mark of a private or acceptAllMail IP.
    private readonly ConcurrentDictionary<IPAddress, DateTimeOffset?> _entries = new();

    public bool IsBanned(IPAddress ip)
    {
        if (!_entries.TryGetValue(ip, out var since) || since is null) return false;
        if (time.GetUtcNow() - since.Value < BanTime) return true;
        _entries.TryRemove(KeyValuePair.Create(ip, since));
        return false;
    }

    /// <summary>Notes a failed handshake; true when the IP is banned from TLS now.</summary>
    public bool RecordFailure(IPAddress ip, ConfigSnapshot cfg)
    {
        int mode = cfg.GetChoice("banFailedSSLIP");
        if (mode == 0 || cfg.GetIpList("noBanFailedSSLIP").Contains(ip)) return false;
        bool trusted = Session.ProxySession.IsPrivate(ip) || cfg.GetIpList("acceptAllMail").Contains(ip);
        if (trusted ? (mode & 1) == 0 : (mode & 2) == 0) return false;
        if (trusted && !_entries.ContainsKey(ip))
        {
            _entries[ip] = null;
            return false;
        }
        _entries[ip] = time.GetUtcNow();
        return true;
    }

    /// <summary>A good handshake forgets earlier failures.</summary>
    public void RecordSuccess(IPAddress ip) => _entries.TryRemove(ip, out _);

    /// <summary>The IPs banned now and since when (for the GUI and the tests).</summary>
    public IReadOnlyList<(IPAddress Ip, DateTimeOffset Since)> Banned() =>
        _entries.Where(e => e.Value is { } t && time.GetUtcNow() - t < BanTime).Select(e => (e.Key, e.Value!.Value)).ToArray();
}
