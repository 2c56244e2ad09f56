using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Assp.Auth.Spf;

public enum SpfQualifier { Pass, Fail, SoftFail, Neutral }

public enum SpfMechanismKind { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists }

/// <summary>One mechanism of a record; <see cref="DomainSpec"/> is still unexpanded.</summary>
public sealed record SpfMechanism(SpfQualifier Qualifier, SpfMechanismKind Kind, string? DomainSpec, IPAddress? Network,
    int Cidr4, int Cidr6, string Text);

/// <summary>A parsed "v=spf1" record (RFC 7208 4.6, 12). Parsing checks the whole record, so a syntax error anywhere is a permerror.</summary>
public sealed partial class SpfRecord
{
    public IReadOnlyList<SpfMechanism> Mechanisms { get; }
    public string? Redirect { get; }
    public string? Exp { get; }

    private SpfRecord(IReadOnlyList<SpfMechanism> mechanisms, string? redirect, string? exp)
    {
        Mechanisms = mechanisms;
        Redirect = redirect;
        Exp = exp;
    }

    /// <summary>True for the records 4.5 selects: "v=spf1" alone or followed by a space.</summary>
    public static bool IsSpfRecord(string txt) =>
        txt.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase) && (txt.Length == 6 || txt[6] == ' ');

    /// <summary>Parses a record; throws <see cref="FormatException"/> with the reason on any syntax error.</summary>
    public static SpfRecord Parse(string text)
    {
        if (!IsSpfRecord(text)) throw new FormatException("not a v=spf1 record");
        foreach (char c in text)
            if (c < 0x20 || c > 0x7E) throw new FormatException("record holds a character outside printable ASCII");

        var mechanisms = new List<SpfMechanism>();
        string? redirect = null, exp = null;
        foreach (var term in text[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var mod = ModifierRe().Match(term);
            if (mod.Success)
            {
                string name = mod.Groups[1].Value, value = mod.Groups[2].Value;
                if (name.Equals("redirect", StringComparison.OrdinalIgnoreCase))
                {
                    if (redirect is not null) throw new FormatException("redirect= given twice");
                    redirect = CheckDomainSpec(value, term);
                }
                else if (name.Equals("exp", StringComparison.OrdinalIgnoreCase))
                {
                    if (exp is not null) throw new FormatException("exp= given twice");
                    exp = CheckDomainSpec(value, term);
                }
                else if (!SpfMacro.IsValid(value, explanation: false, out _))
                {
                    // Unknown modifiers are ignored, but their value must still be a macro-string (A/3).
                    throw new FormatException($"invalid macro-string in '{term}'");
                }
                continue;
            }
            mechanisms.Add(ParseMechanism(term));
        }
        return new SpfRecord(mechanisms, redirect, exp);
    }

    private static SpfMechanism ParseMechanism(string term)
    {
        var q = SpfQualifier.Pass;
        int i = 0;
        switch (term[0])
        {
            case '+': q = SpfQualifier.Pass; i = 1; break;
            case '-': q = SpfQualifier.Fail; i = 1; break;
            case '~': q = SpfQualifier.SoftFail; i = 1; break;
            case '?': q = SpfQualifier.Neutral; i = 1; break;
        }
        int end = i;
        while (end < term.Length && (char.IsAsciiLetter(term[end]) || (end > i && char.IsAsciiDigit(term[end])))) end++;
        string name = term[i..end].ToLowerInvariant();
        string rest = term[end..];
        if (rest.Length > 0 && rest[0] != ':' && rest[0] != '/') throw new FormatException($"unknown mechanism '{term}'");

        switch (name)
        {
            case "all":
                if (rest.Length > 0) throw new FormatException($"'all' takes no argument: '{term}'");
                return new SpfMechanism(q, SpfMechanismKind.All, null, null, 32, 128, term);
            case "include" or "exists":
                if (!rest.StartsWith(':')) throw new FormatException($"'{name}' needs a domain: '{term}'");
                return new SpfMechanism(q, name == "include" ? SpfMechanismKind.Include : SpfMechanismKind.Exists,
                    CheckDomainSpec(rest[1..], term), null, 32, 128, term);
            case "ptr":
                if (rest.StartsWith('/')) throw new FormatException($"'ptr' takes no CIDR length: '{term}'");
                return new SpfMechanism(q, SpfMechanismKind.Ptr, rest.Length > 0 ? CheckDomainSpec(rest[1..], term) : null, null, 32, 128, term);
            case "a" or "mx":
            {
                var (spec, c4, c6) = SplitDualCidr(rest, term);
                string? domain = null;
                if (spec.Length > 0)
                {
                    if (spec[0] != ':') throw new FormatException($"bad '{name}' mechanism: '{term}'");
                    domain = CheckDomainSpec(spec[1..], term);
                }
                return new SpfMechanism(q, name == "a" ? SpfMechanismKind.A : SpfMechanismKind.Mx, domain, null, c4, c6, term);
            }
            case "ip4":
            {
                if (!rest.StartsWith(':')) throw new FormatException($"'ip4' needs an address: '{term}'");
                var (addr, len) = SplitCidr(rest[1..], 32, term);
                if (!Ip4Re().IsMatch(addr) || !IPAddress.TryParse(addr, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork)
                    throw new FormatException($"bad IPv4 address in '{term}'");
                return new SpfMechanism(q, SpfMechanismKind.Ip4, null, ip, len, 128, term);
            }
            case "ip6":
            {
                if (!rest.StartsWith(':')) throw new FormatException($"'ip6' needs an address: '{term}'");
                var (addr, len) = SplitCidr(rest[1..], 128, term);
                if (!addr.Contains(':') || addr.Contains('%') || !IPAddress.TryParse(addr, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
                    throw new FormatException($"bad IPv6 address in '{term}'");
                return new SpfMechanism(q, SpfMechanismKind.Ip6, null, ip, 32, len, term);
            }
            default:
                throw new FormatException($"unknown mechanism '{term}'");
        }
    }

    /// <summary>Takes "/n" off the end of an ip4:/ip6: argument.</summary>
    private static (string Address, int Length) SplitCidr(string s, int max, string term)
    {
        int slash = s.IndexOf('/');
        if (slash < 0) return (s, max);
        return (s[..slash], ParseCidr(s[(slash + 1)..], max, term));
    }

    /// <summary>Takes "/n", "//m" or "/n//m" off the end of an a/mx argument.</summary>
    private static (string Spec, int Cidr4, int Cidr6) SplitDualCidr(string s, string term)
    {
        int c4 = 32, c6 = 128;
        var m = DualCidrRe().Match(s);
        if (!m.Success) return (s, c4, c6);
        if (m.Groups[1].Success) c4 = ParseCidr(m.Groups[1].Value, 32, term);
        if (m.Groups[2].Success) c6 = ParseCidr(m.Groups[2].Value, 128, term);
        string rest = s[..m.Index];
        if (rest.Contains('/') && !rest.StartsWith(':')) throw new FormatException($"bad CIDR length in '{term}'");
        return (rest, c4, c6);
    }

    private static int ParseCidr(string digits, int max, string term)
    {
        // No leading zeros and no sign (ip4-cidr-length / ip6-cidr-length of section 12).
        if (digits.Length == 0 || digits.Length > 3 || !digits.All(char.IsAsciiDigit) || (digits.Length > 1 && digits[0] == '0')
            || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n > max)
            throw new FormatException($"bad CIDR length in '{term}'");
        return n;
    }

    /// <summary>A domain-spec is a macro-string ending in a macro or in "." toplabel (section 12); checked before expansion.</summary>
    private static string CheckDomainSpec(string spec, string term)
    {
        if (spec.Length == 0) throw new FormatException($"empty domain in '{term}'");
        if (!SpfMacro.IsValid(spec, explanation: false, out bool endsWithMacro)) throw new FormatException($"invalid macro in '{term}'");
        if (endsWithMacro) return spec;
        string s = spec.EndsWith('.') ? spec[..^1] : spec;
        int dot = s.LastIndexOf('.');
        if (dot < 0 || !TopLabelRe().IsMatch(s[(dot + 1)..])) throw new FormatException($"domain in '{term}' does not end in a valid top label");
        return spec;
    }

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9\-_.]*)=(.*)$")]
    private static partial Regex ModifierRe();

    [GeneratedRegex(@"(?:/([0-9]+))?(?://([0-9]+))?$")]
    private static partial Regex DualCidrRe();

    [GeneratedRegex(@"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$")]
    private static partial Regex Ip4Re();

    [GeneratedRegex(@"^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9])$")]
    private static partial Regex TopLabelRe();
}
