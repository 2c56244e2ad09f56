using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;
using Assp.Config;

namespace Assp.Checks;

/// <summary>
/// The domains the proxy accepts mail for (localDomains, plus myName and defaultLocalHost): exact names and
/// '*'/'?' wildcards, without regard to case. Everything else is relaying.
/// </summary>
public sealed class LocalDomains
{
    private readonly FrozenSet<string> _exact;
    private readonly Regex? _wildcards;
    private LocalDomains(IEnumerable<string> exact, Regex? wildcards)
    {
        _exact = exact.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _wildcards = wildcards;
    }

    public static LocalDomains For(ConfigSnapshot cfg) => cfg.Derived("Smtp.LocalDomains", Build);

    private static LocalDomains Build(ConfigSnapshot cfg)
    {
        var exact = new List<string>();
        var wild = new StringBuilder();
        var entries = cfg.GetListEntries("localDomains").Select(e => e.Text)
            .Append(cfg["myName"]).Append(cfg["defaultLocalHost"]);
        foreach (var raw in entries)
        {
            // Entries may carry "=>host" routing for recipient validation; only the domain matters here.
            var text = raw.Trim().TrimStart('@');
            int arrow = text.IndexOf("=>", StringComparison.Ordinal);
            if (arrow >= 0) text = text[..arrow].Trim();
            if (text.Length == 0) continue;
            if (text.Contains('*') || text.Contains('?'))
            {
                if (wild.Length > 0) wild.Append('|');
                foreach (var c in AsciiLower(text)) wild.Append(c == '*' ? ".{0,64}" : c == '?' ? "." : Regex.Escape(c.ToString()));
            }
            else exact.Add(text.TrimEnd('.'));
        }
        var regex = wild.Length == 0 ? null
            // No RegexOptions.IgnoreCase: its Unicode case folding lets the Kelvin sign (U+212A) stand for 'k', so
            // "team.\u212Aiosk.example" would match "*.kiosk.example" and reach the MTA as a foreign domain. DNS names
            // compare case-insensitively in ASCII only (RFC 4343): both sides are ASCII-lowered instead.
            : new Regex("^(?:" + wild + ")$", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(200));
        return new LocalDomains(exact, regex);
    }

    private static string AsciiLower(string s) => string.Create(s.Length, s, static (span, src) =>
    {
        for (int i = 0; i < src.Length; i++) span[i] = src[i] is >= 'A' and <= 'Z' ? (char)(src[i] + 32) : src[i];
    });

    public bool IsLocal(string domain)
    {
        domain = domain.Trim().TrimEnd('.');
        if (domain.Length == 0) return false;
        if (domain.StartsWith('[')) return false;   // address literals are never local domains
        if (_exact.Contains(domain)) return true;
        try
        {
            return _wildcards?.IsMatch(AsciiLower(domain)) == true;
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
