using System.Text;

namespace Assp.Config.Registry;

/// <summary>
/// Checks charset conversion rules ("FROM=>TO|FROM=>TO", inChrSetConv and outChrSetConv) when the configuration is
/// loaded, so an unknown charset is a configuration error naming the option and the value. Accepts the names .NET
/// knows and the spellings Perl's Encode accepts for them (utf8, cp1250, iso8859-1, latin1, ...); the mail side
/// (Assp.Mime.Charsets) knows at least these.
/// </summary>
public static class CharsetRules
{
    static CharsetRules() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>The problem with one rule list value ("a=>b|c=>d"), or null when every rule is usable.</summary>
    public static string? Error(string value)
    {
        var problems = new List<string>();
        foreach (var rule in value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int arrow = rule.IndexOf("=>", StringComparison.Ordinal);
            if (arrow <= 0 || arrow + 2 >= rule.Length)
            {
                problems.Add($"'{rule}' is not a FROM=>TO rule");
                continue;
            }
            foreach (var name in new[] { rule[..arrow].Trim(), rule[(arrow + 2)..].Trim() })
                if (!IsKnown(name)) problems.Add($"unknown charset '{name}' in '{rule}'");
        }
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    /// <summary>True when <paramref name="name"/> names a charset this implementation can convert.</summary>
    public static bool IsKnown(string name)
    {
        var n = name.Trim().Trim('"', '\'').ToLowerInvariant();
        if (n.Length == 0) return false;
        if (n is "utf8" or "utf-8") return true;
        foreach (var prefix in new[] { "windows-", "windows", "cp-", "cp", "win-", "win", "ms-", "ibm" })
        {
            if (n.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(n.AsSpan(prefix.Length), out int cp) && cp > 0)
                return CodePage(cp);
        }
        int at = n.IndexOf("8859", StringComparison.Ordinal);
        if (at >= 0 && n[..at] is "iso-" or "iso" or "iso_" or "")
        {
            var part = n[(at + 4)..].TrimStart('-', '_');
            return int.TryParse(part, out int p) && p is (>= 1 and <= 9) or 11 or 13 or 15;
        }
        try
        {
            return Encoding.GetEncoding(n) is not null;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    private static bool CodePage(int cp)
    {
        try
        {
            return Encoding.GetEncoding(cp) is not null;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            return false;
        }
    }
}
