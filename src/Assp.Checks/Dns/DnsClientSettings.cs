using System.Net;
using Assp.Config;
using Assp.Dns;

namespace Assp.Checks.Dns;

/// <summary>ASSP's DNS-Client Setup options turned into resolver options.</summary>
public static class DnsClientSettings
{
    /// <summary>
    /// DNSServers (or the system's resolv.conf with UseLocalDNS), DNStimeout, DNSretry, DNSretrans, DNSServerLimit,
    /// maxDNSRespDist, dnsLocalIPAddress (first IP found), DNSReuseSocket. ASSP's DNStimeout is per try; here the lookup budget is
    /// that times the number of tries, so the same worst case holds.
    /// </summary>
    public static DnsResolverOptions FromConfig(ConfigSnapshot cfg, string resolvConf = "/etc/resolv.conf")
    {
        var servers = cfg.GetBool("UseLocalDNS")
            ? DnsResolverOptions.ReadResolvConf(resolvConf)
            : [];
        if (servers.Count == 0) servers = DnsResolverOptions.ParseServers(string.Join('|', cfg.GetListEntries("DNSServers").Select(e => e.Text)), out _);
        double timeout = Math.Max(0.1, cfg.GetDecimal("DNStimeout", 2));
        int retry = Math.Max(0, cfg.GetInt("DNSretry", 1));
        double retrans = Math.Max(0.05, cfg.GetDecimal("DNSretrans", 1));
        IPAddress? local = null;
        foreach (var part in cfg["dnsLocalIPAddress"].Split(['|', ' ', '='], StringSplitOptions.RemoveEmptyEntries))
            if (IPAddress.TryParse(part.Trim('>'), out local)) break;
        return new DnsResolverOptions
        {
            Servers = servers,
            Timeout = TimeSpan.FromSeconds(timeout * (1 + retry)),
            Retries = retry,
            Retransmit = TimeSpan.FromSeconds(retrans),
            ServerLimit = Math.Max(0, cfg.GetInt("DNSServerLimit")),
            MaxResponseSpread = TimeSpan.FromMilliseconds(Math.Max(0, cfg.GetDecimal("maxDNSRespDist", 50))),
            LocalAddress = local,
            ReuseUdpSockets = cfg.GetBool("DNSReuseSocket"),
        };
    }
}
