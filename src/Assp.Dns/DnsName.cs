using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Dns;

/// <summary>Domain name helpers: validation, comparison, reverse names.</summary>
public static class DnsName
{
    public const int MaxLength = 255;
    public const int MaxLabel = 63;

    /// <summary>
    /// Lower-cases <paramref name="name"/>, drops one trailing dot and checks the wire limits (labels 1..63
    /// bytes, 255 in all, ASCII only). Returns false for anything that could not be put on the wire.
    /// </summary>
    public static bool TryNormalize(string? name, out string normalized)
    {
        normalized = "";
        if (name is null) return false;
        var s = name.AsSpan().Trim();
        if (s.Length > 0 && s[^1] == '.') s = s[..^1];
        if (s.Length == 0 || s.Length > MaxLength - 2) return false;
        int labelLen = 0;
        foreach (char c in s)
        {
            if (c > 0x7E || c < 0x21) return false;
            if (c == '.')
            {
                if (labelLen == 0) return false;
                labelLen = 0;
            }
            else if (++labelLen > MaxLabel) return false;
        }
        if (labelLen == 0) return false;
        normalized = s.ToString().ToLowerInvariant();
        return true;
    }

    /// <summary>DNS names compare case-insensitively in ASCII (RFC 4343).</summary>
    public static bool Equal(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>True when <paramref name="name"/> is <paramref name="zone"/> or below it.</summary>
    public static bool IsAtOrBelow(string name, string zone)
    {
        if (zone.Length == 0) return true;
        if (name.Length == zone.Length) return Equal(name, zone);
        return name.Length > zone.Length && name[name.Length - zone.Length - 1] == '.'
               && name.EndsWith(zone, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The address in the form DNS lists key on: "4.3.2.1" for 1.2.3.4, reversed nibbles for IPv6. IPv4-mapped
    /// IPv6 addresses are treated as IPv4.
    /// </summary>
    public static string ReversedAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        var sb = new StringBuilder(address.AddressFamily == AddressFamily.InterNetwork ? 16 : 64);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            for (int i = 3; i >= 0; i--)
            {
                sb.Append(bytes[i]);
                if (i > 0) sb.Append('.');
            }
        }
        else
        {
            const string hex = "0123456789abcdef";
            for (int i = bytes.Length - 1; i >= 0; i--)
            {
                sb.Append(hex[bytes[i] & 0xF]).Append('.').Append(hex[bytes[i] >> 4]);
                if (i > 0) sb.Append('.');
            }
        }
        return sb.ToString();
    }

    /// <summary>The PTR name of an address: 4.3.2.1.in-addr.arpa or the ip6.arpa nibble name.</summary>
    public static string ReverseLookupName(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return ReversedAddress(address) + (address.AddressFamily == AddressFamily.InterNetwork ? ".in-addr.arpa" : ".ip6.arpa");
    }
}
