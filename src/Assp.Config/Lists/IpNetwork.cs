using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Assp.Config.Lists;

/// <summary>An IPv4 or IPv6 network (address and prefix length), as written in ASSP's IP lists.</summary>
public readonly record struct IpNetwork(bool IsV6, UInt128 Bits, int PrefixLength)
{
    public override string ToString()
    {
        if (!IsV6) return $"{new IPAddress(BinaryPrimitives.ReverseEndianness((uint)Bits))}/{PrefixLength}";
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, Bits);
        return $"{new IPAddress(b)}/{PrefixLength}";
    }

    /// <summary>The address as a number; IPv4-mapped IPv6 addresses count as IPv4.</summary>
    public static (bool IsV6, UInt128 Bits) ToBits(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out int written);
        return address.AddressFamily == AddressFamily.InterNetwork
            ? (false, BinaryPrimitives.ReadUInt32BigEndian(b))
            : (true, BinaryPrimitives.ReadUInt128BigEndian(b));
    }

    public static UInt128 Mask(bool v6, UInt128 bits, int prefix)
    {
        int width = v6 ? 128 : 32;
        if (prefix <= 0) return 0;
        if (prefix >= width) return bits;
        return bits & (UInt128.MaxValue << (width - prefix)) & (v6 ? UInt128.MaxValue : uint.MaxValue);
    }

    /// <summary>
    /// Parses one IP entry: "1.2.3.4", "1.2.3." (dotted prefix), "1.2.3.0/24", IPv6 full or CIDR.
    /// Hyphenated ranges are handled by <see cref="TryParseRange"/>.
    /// </summary>
    public static bool TryParse(string text, out IpNetwork network, out string? error)
    {
        network = default;
        error = null;
        text = text.Trim();
        int slash = text.IndexOf('/');
        string addrPart = slash >= 0 ? text[..slash] : text;
        int? prefix = null;
        if (slash >= 0)
        {
            if (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var p))
            {
                error = "the prefix length after '/' is not a number";
                return false;
            }
            prefix = p;
        }
        if (!addrPart.Contains(':'))
        {
            // IPv4, possibly the short prefix form "10." / "192.168." / "1.2.3."
            var octets = addrPart.Split('.');
            int count = octets.Length;
            if (addrPart.EndsWith('.')) count--;
            if (count is < 1 or > 4 || (count < 4 && !addrPart.EndsWith('.')) || (count == 4 && octets.Length != 4))
            {
                error = "not an IPv4 address, prefix (like 10.1.) or CIDR";
                return false;
            }
            uint bits = 0;
            for (int i = 0; i < 4; i++)
            {
                uint v = 0;
                if (i < count)
                {
                    var o = octets[i];
                    if (o.Length is 0 or > 3 || !o.All(char.IsAsciiDigit) || (v = uint.Parse(o, CultureInfo.InvariantCulture)) > 255)
                    {
                        error = $"'{o}' is not an IPv4 octet";
                        return false;
                    }
                    if (o.Length > 1 && o[0] == '0')
                    {
                        error = $"octet '{o}' has a leading zero (write {v})";
                        return false;
                    }
                }
                bits = (bits << 8) | v;
            }
            int len = prefix ?? count * 8;
            if (len is < 0 or > 32)
            {
                error = "an IPv4 prefix length must be 0 to 32";
                return false;
            }
            network = new IpNetwork(false, Mask(false, bits, len), len);
            return true;
        }
        if (!IPAddress.TryParse(addrPart, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            error = "not an IPv6 address (IPv6 must be written in full or as CIDR)";
            return false;
        }
        var (v6, b6) = ToBits(address);
        // ASSP reads an IPv6 entry without a mask as a prefix: 16 bits per group up to the last non-zero one
        // ("2001:db8::" is 2001:db8::/32).
        int len6 = prefix ?? (v6 ? ImplicitV6Prefix(b6) : 32);
        if (len6 < 0 || len6 > (v6 ? 128 : 32))
        {
            error = "the prefix length is out of range";
            return false;
        }
        network = new IpNetwork(v6, Mask(v6, b6, len6), len6);
        return true;
    }

    private static int ImplicitV6Prefix(UInt128 bits)
    {
        int groups = 8;
        while (groups > 0 && ((bits >> ((8 - groups) * 16)) & 0xFFFF) == 0) groups--;
        return Math.Max(groups, 1) * 16;
    }

    /// <summary>Parses "a-b" (two addresses of one family) into the smallest set of covering networks.</summary>
    public static bool TryParseRange(string text, List<IpNetwork> into, out string? error)
    {
        error = null;
        int dash = text.IndexOf('-');
        if (!IPAddress.TryParse(text[..dash].Trim(), out var from) || !IPAddress.TryParse(text[(dash + 1)..].Trim(), out var to))
        {
            error = "a range must be two IP addresses joined by '-'";
            return false;
        }
        var (v6a, a) = ToBits(from);
        var (v6b, b) = ToBits(to);
        if (v6a != v6b || a > b)
        {
            error = "a range must go from a lower to a higher address of the same family";
            return false;
        }
        int width = v6a ? 128 : 32;
        while (true)
        {
            // Largest aligned block starting at a that does not pass b.
            int size = 0;
            while (size < width)
            {
                int next = size + 1;
                UInt128 blockMask = (UInt128.One << next) - 1;
                if ((a & blockMask) != 0) break;
                if (a + blockMask > b || a + blockMask < a) break;
                size = next;
            }
            into.Add(new IpNetwork(v6a, a, width - size));
            UInt128 span = size == 0 ? UInt128.One : UInt128.One << size;
            UInt128 last = a + (span - 1);
            if (last >= b) return true;
            a = last + 1;
        }
    }
}
