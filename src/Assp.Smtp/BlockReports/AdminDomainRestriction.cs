using Assp.Config;
using Assp.Config.Lists;

namespace Assp.Smtp.BlockReports;

/// <summary>
/// EmailAdminDomains: which addresses a block report admin may ask reports for. Each entry is
/// "admin[|admin...]=>pattern,pattern,..." where an admin may be a [group] and a pattern is user@domain, *@domain,
/// a bare domain (taken as *@domain) or a [group] of such items; '*' is a wildcard. All entries naming one admin add
/// up (ASSP's "AND": the admin may ask for everything any of its entries allows). An admin without an entry is not
/// restricted.
/// </summary>
public sealed class AdminDomainRestriction
{
    private readonly List<string> _patterns;

    private AdminDomainRestriction(List<string> patterns) => _patterns = patterns;

    /// <summary>The patterns this admin is held to, lower case.</summary>
    public IReadOnlyList<string> Patterns => _patterns;

    /// <summary>The restriction for this sender, or null when EmailAdminDomains does not name it. Bad entries go to report.</summary>
    public static AdminDomainRestriction? For(ConfigSnapshot cfg, string admin, Action<string>? report = null)
    {
        admin = admin.Trim().ToLowerInvariant();
        List<string>? patterns = null;
        foreach (var entry in cfg.GetListEntries("EmailAdminDomains"))
        {
            var text = entry.Text.Trim();
            int arrow = text.IndexOf("=>", StringComparison.Ordinal);
            if (arrow <= 0 || arrow + 2 >= text.Length)
            {
                report?.Invoke($"EmailAdminDomains entry '{text}'{Where(entry)} ignored: it needs the form admin=>*@domain,user@domain");
                continue;
            }
            var admins = Items(text[..arrow], '|', cfg.Groups);
            if (!admins.Contains(admin)) continue;
            var allowed = Items(text[(arrow + 2)..], ',', cfg.Groups)
                .Select(p => p.StartsWith('@') ? "*" + p : p.Contains('@') ? p : "*@" + p)
                .ToList();
            if (allowed.Count == 0)
            {
                report?.Invoke($"EmailAdminDomains entry '{text}'{Where(entry)} ignored: it names no user or domain");
                continue;
            }
            (patterns ??= []).AddRange(allowed);
        }
        return patterns is null ? null : new AdminDomainRestriction(patterns);
    }

    /// <summary>
    /// Whether a report query (user@domain, *@domain, *@* or [group]) stays inside the allowed addresses. A wildcard in
    /// the query only passes a pattern that has the same wildcard, so *@* needs *@*; a group passes when all its members do.
    /// </summary>
    public bool Allows(string query, GroupDefinitions groups)
    {
        query = query.Trim().ToLowerInvariant();
        if (query.Length > 2 && query[0] == '[' && query[^1] == ']')
        {
            if (!groups.TryGet(query[1..^1], out var members)) return false;
            var addresses = members.Select(m => m.Text.Trim().ToLowerInvariant()).Where(m => m.Length > 0).ToList();
            return addresses.Count > 0 && addresses.All(Allows);
        }
        return Allows(query);
    }

    private bool Allows(string address) => _patterns.Any(p => WildcardMatch(p, address));

    /// <summary>'*' in the pattern matches any run of characters (a '*' in the text is an ordinary character).</summary>
    internal static bool WildcardMatch(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, resume = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] != '*' && char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t])) { p++; t++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; resume = t; }
            else if (star >= 0) { p = star + 1; t = ++resume; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>The items of one side, split on sep (and '|'), with [group] items replaced by their members.</summary>
    private static List<string> Items(string side, char sep, GroupDefinitions groups)
    {
        var result = new List<string>();
        foreach (var raw in side.Split([sep, '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var item = string.Concat(raw.Where(c => !char.IsWhiteSpace(c))).ToLowerInvariant();
            if (item.Length > 2 && item[0] == '[' && item[^1] == ']')
            {
                if (groups.TryGet(item[1..^1], out var members))
                    result.AddRange(members.Select(m => m.Text.Trim().ToLowerInvariant()).Where(m => m.Length > 0));
                continue;
            }
            if (item.Length > 0) result.Add(item);
        }
        return result;
    }

    private static string Where(ListEntry entry) => entry.File is null ? "" : $" ({entry.File} line {entry.Line})";
}
