using System.Collections.Concurrent;
using System.Net;
using Assp.Config;

namespace Assp.Smtp.Session;

/// <summary>
/// MaxAUTHErrors: failed logins per client network (the /24 for IPv4, /64 for IPv6). Past the limit the network is
/// blocked; the count falls by one every five minutes, so a block lasts five to ten minutes after the attacks stop.
/// </summary>
public sealed class AuthFailureTracker(TimeProvider time)
{
    private static readonly TimeSpan Decay = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Since)> _failures = new();

    private static string Key(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        var b = ip.GetAddressBytes();
        return b.Length == 4 ? $"{b[0]}.{b[1]}.{b[2]}" : Convert.ToHexString(b, 0, 8);
    }

    private int Current(string key)
    {
        if (!_failures.TryGetValue(key, out var entry)) return 0;
        var periods = (int)((time.GetUtcNow() - entry.Since) / Decay);
        return Math.Max(0, entry.Count - periods);
    }

    public void RecordFailure(IPAddress ip, ConfigSnapshot cfg)
    {
        if (cfg.GetInt("MaxAUTHErrors") == 0 || cfg.GetIpList("noMaxAUTHErrorIPs").Contains(ip)) return;
        var key = Key(ip);
        _failures.AddOrUpdate(key, _ => (1, time.GetUtcNow()), (_, old) => (Current(key) + 1, time.GetUtcNow()));
    }

    /// <summary>ResetMaxAUTHErrorIPs: a good login from these addresses (shared NAT gateways) clears their count.</summary>
    public void RecordSuccess(IPAddress ip, ConfigSnapshot cfg)
    {
        if (cfg.GetIpList("ResetMaxAUTHErrorIPs").Contains(ip)) _failures.TryRemove(Key(ip), out _);
    }

    /// <summary>True when this client's network is over the limit now.</summary>
    public bool IsBlocked(IPAddress ip, ConfigSnapshot cfg)
    {
        int max = cfg.GetInt("MaxAUTHErrors");
        if (max <= 0 || cfg.GetIpList("noMaxAUTHErrorIPs").Contains(ip)) return false;
        return Current(Key(ip)) > max;
    }
}
