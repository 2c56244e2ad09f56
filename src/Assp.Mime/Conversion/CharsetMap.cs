using System.Text;

namespace Assp.Mime.Conversion;

/// <summary>
/// A charset conversion table: rules "FROM=>TO" (ASSP's inChrSetConv / outChrSetConv), keyed by the source
/// encoding's code page so that any alias of a charset ("utf8", "UTF-8", "latin1", "ISO-8859-1") finds the rule.
/// Characters the target cannot hold become '?' (what Perl's Encode does by default).
/// </summary>
public sealed class CharsetMap
{
    private readonly Dictionary<int, Target> _byCodePage = [];

    /// <summary>A table without rules.</summary>
    public static CharsetMap Empty { get; } = new();

    /// <summary>One rule's target: the charset name written into the mail, and the strict encoder for it.</summary>
    public sealed record Target(string Name, Encoding Encoding);

    /// <summary>True when the table has no rule.</summary>
    public bool IsEmpty => _byCodePage.Count == 0;

    /// <summary>The number of rules in force.</summary>
    public int Count => _byCodePage.Count;

    /// <summary>
    /// Builds a table from rules "FROM=>TO". A rule whose charset is unknown, or that is not of that form, is left out
    /// and described in <paramref name="problems"/>; a later rule for the same source replaces an earlier one.
    /// </summary>
    public static CharsetMap Parse(IEnumerable<string> rules, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(problems);
        var map = new CharsetMap();
        foreach (var raw in rules)
        {
            foreach (var rule in raw.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int arrow = rule.IndexOf("=>", StringComparison.Ordinal);
                if (arrow <= 0 || arrow + 2 >= rule.Length)
                {
                    problems.Add($"'{rule}' is not a FROM=>TO rule");
                    continue;
                }
                var from = rule[..arrow].Trim();
                var to = rule[(arrow + 2)..].Trim();
                var source = Charsets.GetEncoding(from);
                var target = Charsets.GetEncoding(to);
                if (source is null) problems.Add($"unknown charset '{from}' in rule '{rule}'");
                if (target is null) problems.Add($"unknown charset '{to}' in rule '{rule}'");
                if (source is null || target is null) continue;
                map._byCodePage[source.CodePage] = new Target(DisplayName(to, target), Strict(target));
            }
        }
        return map;
    }

    /// <summary>The target for text declared in <paramref name="charset"/>, or null when no rule applies (or the rule
    /// would convert a charset to itself).</summary>
    public Target? TargetFor(string? charset)
    {
        if (charset is null || Charsets.GetEncoding(charset) is not { } source) return null;
        return TargetFor(source);
    }

    /// <summary>The target for text in <paramref name="source"/>, or null when no rule applies.</summary>
    public Target? TargetFor(Encoding source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return _byCodePage.TryGetValue(source.CodePage, out var t) && t.Encoding.CodePage != source.CodePage ? t : null;
    }

    /// <summary>The encoding used to read text declared in <paramref name="source"/>: ISO-8859-1 is read as its
    /// superset Windows-1252, as mail clients do, so a euro sign sent as 0x80 survives the conversion.</summary>
    internal static Encoding Reader(Encoding source) =>
        source.CodePage == 28591 ? Encoding.GetEncoding(1252, EncoderFallback.ReplacementFallback, DecoderFallback.ReplacementFallback) : source;

    /// <summary>An encoder that writes '?' for a character it cannot hold (no "best fit" look-alikes).</summary>
    internal static Encoding Strict(Encoding e)
    {
        Charsets.EnsureRegistered();
        if (e.CodePage == 65001) return new UTF8Encoding(false, false);
        if (e.CodePage is 1200 or 1201 or 12000 or 12001 or 65000) return e;
        try
        {
            return Encoding.GetEncoding(e.CodePage, new EncoderReplacementFallback("?"), new DecoderReplacementFallback("\uFFFD"));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            return e;
        }
    }

    /// <summary>The name written into Content-Type: the rule's own spelling, UTF-8 spelled out as ASSP does.</summary>
    private static string DisplayName(string configured, Encoding e) =>
        e.CodePage == 65001 ? "UTF-8" : configured.Trim('"', '\'');
}
