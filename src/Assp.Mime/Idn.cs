namespace Assp.Mime;

/// <summary>
/// IDN domains for address parsing: "xn--" labels to Unicode and back. One Punycode implementation serves the
/// whole library (Uris/Punycode.cs, RFC 3492); this is the address-side view of it.
/// </summary>
public static class Idn
{
    /// <summary>Decodes a Punycode string (without "xn--"); false on invalid input.</summary>
    public static bool TryDecodePunycode(string input, out string output)
    {
        var decoded = Uris.Punycode.Decode(input);
        output = decoded ?? "";
        return decoded is not null;
    }

    /// <summary>Encodes a label as Punycode (without "xn--"); the label itself when it cannot be encoded.</summary>
    public static string EncodePunycode(string input) => Uris.Punycode.Encode(input) ?? input;

    /// <summary>Converts "xn--" labels of a domain to Unicode (labels that fail to decode are kept).</summary>
    public static string DomainToUnicode(string domain) =>
        domain.Contains("xn--", StringComparison.OrdinalIgnoreCase) ? Uris.Punycode.ToUnicode(domain) : domain;

    /// <summary>Converts non-ASCII labels of a domain to "xn--" form.</summary>
    public static string DomainToAscii(string domain) => Uris.Punycode.IsAscii(domain) ? domain : Uris.Punycode.ToAscii(domain);
}
