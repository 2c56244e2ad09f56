using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;

namespace Assp.Config.Lists;

/// <summary>
/// An ASSP address list: entries "user@domain" (that address), "@domain" (every address of that domain),
/// "user" (that local part at any domain), with '*' and '?' wildcards. Case-insensitive. Plain entries are
/// answered by hash lookups; only wildcard entries go through one combined regex (with a match timeout).
/// </summary>
public sealed class AddressList
{
    public static readonly AddressList Empty = new([], [], [], null, 0);

    private readonly FrozenSet<string> _addresses;
    private readonly FrozenSet<string> _domains;
    private readonly FrozenSet<string> _users;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _addressLookup;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _domainLookup;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _userLookup;
    private readonly Regex? _wildcards;

    public int Count { get; }

    private AddressList(IEnumerable<string> addresses, IEnumerable<string> domains, IEnumerable<string> users, Regex? wildcards, int count)
    {
        _addresses = addresses.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _domains = domains.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _users = users.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _addressLookup = _addresses.GetAlternateLookup<ReadOnlySpan<char>>();
        _domainLookup = _domains.GetAlternateLookup<ReadOnlySpan<char>>();
        _userLookup = _users.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcards = wildcards;
        Count = count;
    }

    public static AddressList Compile(IEnumerable<ListEntry> entries, string option, List<ConfigIssue> issues, TimeSpan matchTimeout)
    {
        var addresses = new List<string>();
        var domains = new List<string>();
        var users = new List<string>();
        var wild = new StringBuilder();
        int count = 0;
        foreach (var e in entries)
        {
            var text = e.Text.Trim();
            if (text.Length == 0) continue;
            if (text.Any(char.IsWhiteSpace))
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, option, text, "an address entry cannot contain spaces", e.File, e.Line));
                continue;
            }
            count++;
            if (Wildcard.Has(text))
            {
                if (wild.Length > 0) wild.Append('|');
                AppendWildcardPattern(wild, text);
                continue;
            }
            int at = text.IndexOf('@');
            if (at < 0) users.Add(text);
            else if (at == 0) domains.Add(text[1..]);
            else addresses.Add(text);
        }
        Regex? regex = null;
        if (wild.Length > 0)
        {
            regex = new Regex("^(?:" + wild + ")$",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, matchTimeout);
        }
        return new AddressList(addresses, domains, users, regex, count);
    }

    private static void AppendWildcardPattern(StringBuilder sb, string entry)
    {
        int at = entry.IndexOf('@');
        if (at < 0)
        {
            Wildcard.AppendRegex(sb, entry);
            sb.Append("@.*");
        }
        else if (at == 0)
        {
            sb.Append("[^@]*@");
            Wildcard.AppendRegex(sb, entry[1..]);
        }
        else Wildcard.AppendRegex(sb, entry);
    }

    /// <summary>True when the address is on the list. A regex timeout counts as no match.</summary>
    public bool Contains(string address)
    {
        if (Count == 0 || string.IsNullOrEmpty(address)) return false;
        var span = address.AsSpan().Trim().Trim("<>");
        if (_addresses.Count > 0 && _addressLookup.Contains(span)) return true;
        int at = span.LastIndexOf('@');
        if (at >= 0)
        {
            if (_domains.Count > 0 && _domainLookup.Contains(span[(at + 1)..])) return true;
            if (_users.Count > 0 && _userLookup.Contains(span[..at])) return true;
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
}
