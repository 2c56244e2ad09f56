using System.Globalization;
using System.Text.RegularExpressions;

namespace Assp.Config.Registry;

/// <summary>
/// The validation rule of one option: whether empty is allowed, numeric bounds and an optional whole-value pattern.
/// Parsed from the rule column of option-rules.tsv (tokens "empty", "range:A..B", "pattern:REGEX", or "-").
/// </summary>
public sealed class OptionRule
{
    public static readonly OptionRule None = new(true, null, null, null);

    /// <summary>Token "charsets": the value (inline or each line of its file) is a list of FROM=>TO charset rules whose
    /// names must be known (<see cref="CharsetRules"/>).</summary>
    public bool ChecksCharsets { get; private init; }

    public bool AllowsEmpty { get; }
    public decimal? Min { get; }
    public decimal? Max { get; }
    public Regex? Pattern { get; }

    private OptionRule(bool allowsEmpty, decimal? min, decimal? max, Regex? pattern)
    {
        AllowsEmpty = allowsEmpty;
        Min = min;
        Max = max;
        Pattern = pattern;
    }

    public static OptionRule Parse(string text)
    {
        text = text.Trim();
        if (text.Length == 0 || text == "-") return None;
        bool empty = false, charsets = false;
        decimal? min = null, max = null;
        Regex? pattern = null;
        // A pattern may itself contain ';', so it is always the last token.
        int patternAt = text.IndexOf("pattern:", StringComparison.Ordinal);
        string head = patternAt >= 0 ? text[..patternAt] : text;
        if (patternAt >= 0)
        {
            var body = text[(patternAt + "pattern:".Length)..];
            pattern = new Regex("^(?:" + body + ")$", RegexOptions.CultureInvariant | RegexOptions.Singleline,
                TimeSpan.FromSeconds(1));
        }
        foreach (var raw in head.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw == "empty") empty = true;
            else if (raw == "charsets") charsets = true;
            else if (raw.StartsWith("range:", StringComparison.Ordinal))
            {
                var parts = raw["range:".Length..].Split("..");
                if (parts.Length != 2) throw new FormatException($"bad range token '{raw}'");
                if (parts[0].Length > 0) min = decimal.Parse(parts[0], CultureInfo.InvariantCulture);
                if (parts[1].Length > 0) max = decimal.Parse(parts[1], CultureInfo.InvariantCulture);
            }
            else if (raw != "-") throw new FormatException($"unknown rule token '{raw}'");
        }
        return new OptionRule(empty, min, max, pattern) { ChecksCharsets = charsets };
    }

    public override string ToString()
    {
        var parts = new List<string>();
        if (AllowsEmpty) parts.Add("may be empty");
        if (Min is not null || Max is not null)
            parts.Add($"between {Min?.ToString(CultureInfo.InvariantCulture) ?? "-inf"} and {Max?.ToString(CultureInfo.InvariantCulture) ?? "inf"}");
        if (Pattern is not null) parts.Add("must match " + Pattern);
        if (ChecksCharsets) parts.Add("FROM=>TO rules with known charset names");
        return parts.Count == 0 ? "any value" : string.Join(", ", parts);
    }
}
