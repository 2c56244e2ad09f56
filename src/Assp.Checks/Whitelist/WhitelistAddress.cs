using System.Text.RegularExpressions;

namespace Assp.Checks.Whitelist;

/// <summary>
/// The address form the learned lists use as keys: lower case, no angle brackets, no BATV tag. ASSP lower-cases
/// every key and strips "prvs=tag=" style prefixes before it reads or writes these databases, so one sender
/// never ends up under several keys.
/// </summary>
public static partial class WhitelistAddress
{
    public static string Normalize(string? address)
    {
        if (string.IsNullOrWhiteSpace(address)) return "";
        var a = address.Trim().Trim('<', '>').Trim().ToLowerInvariant();
        return StripBatv(a);
    }

    /// <summary>
    /// Removes a BATV/VERP-like "word=word=" prefix (prvs=1234abcd=user@dom → user@dom). SRS and
    /// "bounce-use=M=" addresses are left alone because the prefix is part of how they route.
    /// </summary>
    public static string StripBatv(string address)
    {
        if (address.StartsWith("srs", StringComparison.OrdinalIgnoreCase) && SrsPrefix().IsMatch(address)) return address;
        if (address.StartsWith("bounce-use=", StringComparison.OrdinalIgnoreCase) && BounceUsePrefix().IsMatch(address)) return address;
        var m = BatvPrefix().Match(address);
        return m.Success ? m.Groups[1].Value : address;
    }

    /// <summary>The part after the last '@' (empty when there is none).</summary>
    public static string Domain(string address)
    {
        int at = address.LastIndexOf('@');
        return at < 0 ? "" : address[(at + 1)..];
    }

    /// <summary>"user@domain" with both parts present.</summary>
    public static bool IsMailbox(string address)
    {
        int at = address.LastIndexOf('@');
        return at > 0 && at < address.Length - 1;
    }

    [GeneratedRegex(@"^srs\d=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SrsPrefix();

    [GeneratedRegex(@"^bounce-use=m=\d+=dr=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BounceUsePrefix();

    [GeneratedRegex(@"^[a-z0-9\-]+=[a-z0-9\-]+=([^@\s]+@[^@\s]+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BatvPrefix();
}
