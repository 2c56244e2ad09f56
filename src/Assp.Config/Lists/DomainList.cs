using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;

namespace Assp.Config.Lists;

/// <summary>
/// An ASSP domain list (whiteListedDomains, blackListedDomains, ...): an entry matches the END of the address,
/// so "buy.com" matches "x@spambuy.com" and "abc@def.com" matches that address; ".buy.com" does not match
/// "x@buy.com". Entries "senders=>recipients" apply only when the end of the sender matches the left side and the
/// end of the recipient the right side (ASSP tests "sender,recipient" against the entry).
/// </summary>
public sealed class DomainList
{
    public static readonly DomainList Empty = new([], null, [], 0);

    private readonly FrozenSet<string> _suffixes;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _suffixLookup;
    private readonly int[] _lengths;
    private readonly Regex? _wildcards;
    private readonly (SuffixPatterns Senders, SuffixPatterns Recipients)[] _scoped;

    public int Count { get; }
    public bool HasScopedEntries => _scoped.Length > 0;

    private DomainList(IEnumerable<string> suffixes, Regex? wildcards, (SuffixPatterns, SuffixPatterns)[] scoped, int count)
    {
        _suffixes = suffixes.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _suffixLookup = _suffixes.GetAlternateLookup<ReadOnlySpan<char>>();
        _lengths = _suffixes.Select(s => s.Length).Distinct().Order().ToArray();
        _wildcards = wildcards;
        _scoped = scoped;
        Count = count;
    }

    public static DomainList Compile(IEnumerable<ListEntry> entries, string option, List<ConfigIssue> issues, TimeSpan matchTimeout)
    {
        var plain = new List<string>();
        var wild = new StringBuilder();
        var scoped = new List<(SuffixPatterns, SuffixPatterns)>();
        int count = 0;
        foreach (var e in entries)
        {
            var text = e.Text.Trim();
            if (text.Length == 0) continue;
            if (text.Any(char.IsWhiteSpace))
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, option, text, "a domain or address entry cannot contain spaces", e.File, e.Line));
                continue;
            }
            count++;
            int arrow = text.IndexOf("=>", StringComparison.Ordinal);
            if (arrow >= 0)
            {
                var left = text[..arrow].Split('|', StringSplitOptions.RemoveEmptyEntries);
                var right = text[(arrow + 2)..].Split('|', StringSplitOptions.RemoveEmptyEntries);
                if (left.Length == 0 || right.Length == 0)
                {
                    issues.Add(new ConfigIssue(IssueSeverity.Error, option, text, "'senders=>recipients' needs entries on both sides", e.File, e.Line));
                    continue;
                }
                scoped.Add((new SuffixPatterns(left, matchTimeout), new SuffixPatterns(right, matchTimeout)));
                continue;
            }
            if (Wildcard.Has(text))
            {
                if (wild.Length > 0) wild.Append('|');
                Wildcard.AppendRegex(wild, text);
            }
            else plain.Add(text);
        }
        Regex? regex = wild.Length == 0 ? null
            : new Regex("(?:" + wild + ")$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, matchTimeout);
        return new DomainList(plain, regex, scoped.ToArray(), count);
    }

    /// <summary>True when an unscoped entry matches the end of the address.</summary>
    public bool Matches(string address)
    {
        if (Count == 0 || string.IsNullOrEmpty(address)) return false;
        var span = address.AsSpan().Trim().Trim("<>");
        return MatchesSuffix(span);
    }

    /// <summary>True when an unscoped entry matches the sender, or a scoped entry matches sender and recipient.</summary>
    public bool Matches(string sender, string? recipient)
    {
        if (Matches(sender)) return true;
        if (recipient is null || _scoped.Length == 0) return false;
        foreach (var (senders, recipients) in _scoped)
        {
            if (senders.Matches(sender) && recipients.Matches(recipient)) return true;
        }
        return false;
    }

    private bool MatchesSuffix(ReadOnlySpan<char> span)
    {
        foreach (var len in _lengths)
        {
            if (len > span.Length) break;
            if (_suffixLookup.Contains(span[^len..])) return true;
        }
        if (_wildcards is null) return false;
        try
        {
            return _wildcards.IsMatch(span);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>One side of a scoped entry: each pattern must match the end of the address, wildcards allowed.</summary>
    private sealed class SuffixPatterns(string[] entries, TimeSpan timeout)
    {
        private readonly Regex _regex = BuildPattern(entries, timeout, "", "$");
        public bool Matches(string address) => SafeMatch(_regex, address);
    }

    internal static Regex BuildPattern(string[] entries, TimeSpan timeout, string prefix, string suffix)
    {
        var sb = new StringBuilder(prefix).Append("(?:");
        for (int i = 0; i < entries.Length; i++)
        {
            if (i > 0) sb.Append('|');
            Wildcard.AppendRegex(sb, entries[i].Trim());
        }
        sb.Append(')').Append(suffix);
        return new Regex(sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, timeout);
    }

    internal static bool SafeMatch(Regex regex, string input)
    {
        try
        {
            return regex.IsMatch(input.Trim().Trim('<', '>'));
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
