using System.Text;
using System.Text.RegularExpressions;
using Assp.Config.Lists;

namespace Assp.Config.Regexes;

/// <summary>
/// A `*` regex option: an inline value is one Perl regex; a file gives one regex per line. All entries become one
/// alternation, compiled once per configuration load and always run with a match timeout.
/// </summary>
public sealed class RegexList
{
    public static readonly RegexList Empty = new(null, [], 0, "");

    private readonly Regex? _regex;
    private readonly Regex[] _separate;

    public int Count { get; }
    /// <summary>The combined .NET pattern (for diagnostics).</summary>
    public string Pattern { get; }
    /// <summary>How many matches were abandoned at the timeout since load.</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);
    private long _timeouts;

    private RegexList(Regex? regex, Regex[] separate, int count, string pattern)
    {
        _regex = regex;
        _separate = separate;
        Count = count;
        Pattern = pattern;
    }

    public static RegexList Compile(IEnumerable<ListEntry> entries, string option, List<ConfigIssue> issues, TimeSpan timeout, bool ignoreCase)
    {
        var sb = new StringBuilder();
        var separate = new List<Regex>();
        int count = 0;
        foreach (var e in entries)
        {
            var text = StripNoOptimizeMarkers(e.Text.Trim());
            if (text.Length == 0) continue;
            var translated = ConfigRegex.TryTranslate(text, ignoreCase, timeout, out var error);
            if (translated is null)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, option, e.Text, "invalid regular expression: " + error, e.File, e.Line));
                continue;
            }
            count++;
            if (ConfigRegex.HasBackreference(translated))
            {
                separate.Add(new Regex(translated, RegexOptions.CultureInvariant, timeout));
                continue;
            }
            if (sb.Length > 0) sb.Append('|');
            sb.Append("(?:").Append(translated).Append(')');
        }
        if (count == 0) return Empty;
        var pattern = sb.ToString();
        var regex = pattern.Length == 0 ? null
            : new Regex(pattern, RegexOptions.CultureInvariant | (pattern.Length < 20_000 ? RegexOptions.Compiled : RegexOptions.None), timeout);
        return new RegexList(regex, separate.ToArray(), count, pattern);
    }

    /// <summary>ASSP's markers that keep its optimiser away from a line; we have no optimiser, so they are dropped.</summary>
    internal static string StripNoOptimizeMarkers(string text)
    {
        if (text.StartsWith("<<<", StringComparison.Ordinal))
        {
            int end = text.IndexOf(">>>", 3, StringComparison.Ordinal);
            if (end > 0) return text[3..end] + text[(end + 3)..];
        }
        if (text.StartsWith("~<<<", StringComparison.Ordinal))
        {
            int end = text.IndexOf(">>>~", 4, StringComparison.Ordinal);
            if (end > 0) return "~" + text[4..end] + "~" + text[(end + 4)..];
        }
        return text;
    }

    public bool IsMatch(string input) => Match(input) is not null;

    /// <summary>The text that matched, or null (no match, or the match timed out).</summary>
    public string? Match(string? input)
    {
        if (Count == 0 || string.IsNullOrEmpty(input)) return null;
        if (_regex is not null && ConfigRegex.SafeMatch(_regex, input, _ => Interlocked.Increment(ref _timeouts)) is { } m) return m.Value;
        foreach (var regex in _separate)
        {
            if (ConfigRegex.SafeMatch(regex, input, _ => Interlocked.Increment(ref _timeouts)) is { } s) return s.Value;
        }
        return null;
    }
}
