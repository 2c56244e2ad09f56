using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Checks.PenaltyBox;

/// <summary>How ASSP spells IPs as pbdb keys (its ipNetwork and ipv6expand), and its private-address test.</summary>
internal static class PbAddress
{
    /// <summary>IPv4-mapped IPv6 counts as IPv4, so a dual-stack listener scores the same key as a v4 one.</summary>
    public static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;

    /// <summary>The key of one address: dotted IPv4, or IPv6 as eight lower-case groups without "::" (ipv6expand).</summary>
    public static string IpKey(IPAddress ip)
    {
        ip = Normalize(ip);
        return ip.AddressFamily == AddressFamily.InterNetworkV6 ? V6(ip.GetAddressBytes(), 8) : ip.ToString();
    }

    /// <summary>The key of the address's network: the /24 (IPv4) or /64 (IPv6), host part zero.</summary>
    public static string NetKey(IPAddress ip)
    {
        ip = Normalize(ip);
        var b = ip.GetAddressBytes();
        if (ip.AddressFamily == AddressFamily.InterNetworkV6) return V6(b, 4);
        return $"{b[0]}.{b[1]}.{b[2]}.0";
    }

    private static string V6(byte[] b, int keepGroups)
    {
        var sb = new StringBuilder(40);
        for (int g = 0; g < 8; g++)
        {
            if (g > 0) sb.Append(':');
            int v = g < keepGroups ? (b[2 * g] << 8) | b[2 * g + 1] : 0;
            sb.Append(v.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Loopback, unspecified, RFC 1918, link-local and unique-local addresses: never scored (ASSP's IPprivate).</summary>
    public static bool IsPrivate(IPAddress ip)
    {
        ip = Normalize(ip);
        var b = ip.GetAddressBytes();
        if (b.Length == 4)
            return b[0] is 0 or 10 or 127 || (b[0] == 169 && b[1] == 254) || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168);
        if (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.IPv6None)) return true;
        return (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) || (b[0] & 0xFE) == 0xFC;
    }

    /// <summary>Keys read back from the store (cleanup); garbage keys count as private so they are dropped.</summary>
    public static bool IsPrivateKey(string key) => !IPAddress.TryParse(key, out var ip) || IsPrivate(ip);
}
