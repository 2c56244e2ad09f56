namespace Assp.Mime.Html;

/// <summary>What a selector can see of an element: tag, id and classes.</summary>
internal readonly record struct ElementKey(string Tag, string? Id, string[]? Classes);

/// <summary>
/// The rules of an HTML document's &lt;style&gt; blocks, reduced to what can hide text: selectors made of tag, class
/// and id parts joined by descendant or child combinators (also inside @media blocks). Selectors with
/// pseudo-classes, attributes or sibling combinators are left out: they hide only in some states (":hover") or
/// depend on things the converter does not track, and a wrong "hidden" is worse than a missed one.
/// Class and id names match case-insensitively, as in the quirks mode most mail is rendered in. Matching work per
/// document is bounded; past the budget no more rules apply (text stays visible rather than the scan running long).
/// </summary>
internal sealed class StyleSheet
{
    private const int MaxRules = 2000;
    private const int MaxCssChars = 512 * 1024;
    private const int MaxCompounds = 16;
    private const int MaxMatchSteps = 2_000_000; // rule and ancestor comparisons per document; then rules stop applying

    /// <summary>One compound selector ("div.a.b#c"); Tag null for any element. Compounds are kept right to left;
    /// ParentOnly means this one must match the direct parent of the element the previous compound matched
    /// (a "&gt;" combinator), not just any ancestor.</summary>
    private sealed record Compound(string? Tag, string? Id, string[] Classes, bool ParentOnly);

    /// <summary>A selector (compounds right to left) with its declarations.</summary>
    private sealed record Rule(Compound[] Parts, int Specificity, int Order, List<CssDeclaration> Declarations);

    private readonly Dictionary<string, List<Rule>> _byId = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<Rule>> _byClass = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<Rule>> _byTag = new(StringComparer.Ordinal);
    private readonly List<Rule> _any = [];
    private int _count;
    private int _stepsLeft = MaxMatchSteps;

    /// <summary>Rules found.</summary>
    public int Count => _count;

    /// <summary>Collects the rules of every &lt;style&gt; element in <paramref name="html"/> (wherever it is, as
    /// browsers apply a style sheet to the whole document); null when there are none.</summary>
    public static StyleSheet? FromHtml(string html)
    {
        int at = html.IndexOf("<style", StringComparison.OrdinalIgnoreCase);
        if (at < 0) return null;
        var sheet = new StyleSheet();
        int budget = MaxCssChars;
        while (at >= 0 && budget > 0)
        {
            int after = at + 6;
            if (after < html.Length && html[after] is ' ' or '\t' or '\n' or '\r' or '\f' or '>' or '/')
            {
                int gt = html.IndexOf('>', after);
                if (gt < 0) break;
                int end = html.IndexOf("</style", gt + 1, StringComparison.OrdinalIgnoreCase);
                if (end < 0) end = html.Length;
                if (AppliesToScreen(html.AsSpan(after, gt - after)))
                {
                    int len = Math.Min(end - gt - 1, budget);
                    budget -= len;
                    sheet.Parse(html.Substring(gt + 1, len));
                }
                at = end;
            }
            else at = after;
            at = html.IndexOf("<style", at, StringComparison.OrdinalIgnoreCase);
        }
        return sheet._count == 0 ? null : sheet;
    }

    /// <summary>A media="print" (or other non-screen) style element does not change what is shown.</summary>
    private static bool AppliesToScreen(ReadOnlySpan<char> attributes)
    {
        int m = attributes.IndexOf("media", StringComparison.OrdinalIgnoreCase);
        if (m < 0) return true;
        var rest = attributes[(m + 5)..];
        int q = rest.IndexOfAny('"', '\'');
        var value = q >= 0 && rest[..q].Trim().SequenceEqual("=") ? rest[(q + 1)..] : rest;
        int close = value.IndexOfAny('"', '\'');
        if (close >= 0) value = value[..close];
        return value.Contains("screen", StringComparison.OrdinalIgnoreCase) || value.Contains("all", StringComparison.OrdinalIgnoreCase)
            || value.Trim().IsEmpty;
    }

    /// <summary>Parses a style sheet's text and adds its rules.</summary>
    public void Parse(string css)
    {
        if (css.Contains("/*", StringComparison.Ordinal)) css = CssStyle.StripComments(css);
        // HTML comment markers were once used to hide style sheets from old browsers; CSS ignores them.
        css = css.Replace("<!--", " ", StringComparison.Ordinal).Replace("-->", " ", StringComparison.Ordinal);
        ParseBlock(css, 0, css.Length);
    }

    private void ParseBlock(string css, int i, int end)
    {
        while (i < end && _count < MaxRules)
        {
            while (i < end && (char.IsWhiteSpace(css[i]) || css[i] == ';' || css[i] == '}')) i++;
            if (i >= end) return;
            if (css[i] == '@')
            {
                int open = css.IndexOf('{', i, end - i);
                int semi = css.IndexOf(';', i, end - i);
                if (open < 0 || (semi >= 0 && semi < open)) { i = semi < 0 ? end : semi + 1; continue; }
                int close = MatchingBrace(css, open, end);
                string prelude = css.Substring(i, open - i);
                // Rules inside @media screen/all (or a query) count; @font-face, @keyframes and the like do not.
                if (prelude.StartsWith("@media", StringComparison.OrdinalIgnoreCase) && !prelude.Contains("print", StringComparison.OrdinalIgnoreCase))
                    ParseBlock(css, open + 1, close);
                i = close + 1;
                continue;
            }
            int brace = css.IndexOf('{', i, end - i);
            if (brace < 0) return;
            int rclose = MatchingBrace(css, brace, end);
            string selectors = css.Substring(i, brace - i);
            var decls = CssStyle.ParseDeclarations(css.Substring(brace + 1, Math.Max(0, rclose - brace - 1)));
            if (decls.Count > 0)
                foreach (var sel in selectors.Split(','))
                    if (ParseSelector(sel) is { } parts) Add(parts, decls);
            i = rclose + 1;
        }
    }

    private static int MatchingBrace(string css, int open, int end)
    {
        int depth = 0;
        for (int k = open; k < end; k++)
        {
            if (css[k] == '{') depth++;
            else if (css[k] == '}' && --depth == 0) return k;
        }
        return end;
    }

    private void Add(Compound[] parts, List<CssDeclaration> decls)
    {
        int ids = 0, classes = 0, tags = 0;
        foreach (var p in parts)
        {
            if (p.Id is not null) ids++;
            classes += p.Classes.Length;
            if (p.Tag is not null) tags++;
        }
        var rule = new Rule(parts, ids * 10000 + classes * 100 + tags, _count++, decls);
        var key = parts[0];
        if (key.Id is not null) Bucket(_byId, key.Id).Add(rule);
        else if (key.Classes.Length > 0) Bucket(_byClass, key.Classes[0]).Add(rule);
        else if (key.Tag is not null) Bucket(_byTag, key.Tag).Add(rule);
        else _any.Add(rule);
    }

    private static List<Rule> Bucket(Dictionary<string, List<Rule>> d, string key)
    {
        if (!d.TryGetValue(key, out var list)) d[key] = list = [];
        return list;
    }

    /// <summary>Parses "div.a > span#b .c" into compounds, rightmost first; null when the selector uses anything
    /// beyond tags, classes, ids, descendant and child combinators.</summary>
    private static Compound[]? ParseSelector(string selector)
    {
        var s = selector.Trim();
        if (s.Length == 0) return null;
        var parts = new List<Compound>();
        var childCombinators = new List<bool>(); // childCombinators[k]: ">" between parts[k] and parts[k + 1]
        int i = 0;
        while (i < s.Length)
        {
            string? tag = null, id = null;
            var classes = new List<string>();
            bool universal = false;
            if (s[i] == '*') { universal = true; i++; }
            else if (IsNameChar(s[i]))
            {
                int st = i;
                while (i < s.Length && IsNameChar(s[i])) i++;
                tag = s[st..i].ToLowerInvariant();
            }
            while (i < s.Length && s[i] is '.' or '#')
            {
                char kind = s[i++];
                int st = i;
                while (i < s.Length && IsNameChar(s[i])) i++;
                if (i == st) return null;
                if (kind == '.') classes.Add(s[st..i]);
                else if (id is null) id = s[st..i];
                else if (!string.Equals(id, s[st..i], StringComparison.OrdinalIgnoreCase)) return null; // "#a#b" matches nothing
            }
            if (tag is null && id is null && classes.Count == 0 && !universal) return null;
            parts.Add(new Compound(tag, id, [.. classes], false));
            if (parts.Count > MaxCompounds) return null;
            int ws = i;
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            if (i >= s.Length) break;
            if (s[i] == '>') { childCombinators.Add(true); i++; while (i < s.Length && char.IsWhiteSpace(s[i])) i++; }
            else if (i > ws) childCombinators.Add(false);
            else return null; // ':', '[', '+', '~' or other syntax
            if (i >= s.Length) return null;
        }
        // Right to left: part k (k >= 1) is the left neighbour of part k - 1 in the text.
        int n = parts.Count;
        var result = new Compound[n];
        for (int k = 0; k < n; k++)
        {
            int left = n - 1 - k; // index in text order
            result[k] = parts[left] with { ParentOnly = k > 0 && childCombinators[left] };
        }
        return result;
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' || c > 0x7F;

    /// <summary>Adds the declarations of every rule matching the element (whose open ancestors are
    /// <paramref name="ancestors"/>, outermost first) to <paramref name="output"/>, lowest precedence first.</summary>
    public void Match(ElementKey element, IReadOnlyList<ElementKey> ancestors, List<(CssDeclaration Decl, bool FromRule)> output)
    {
        // Each rule sits in one bucket and the element's classes are distinct, so no rule is seen twice.
        List<Rule>? matched = null;
        void Consider(List<Rule>? rules)
        {
            if (rules is null) return;
            foreach (var r in rules)
            {
                // Every rule looked at costs a step too, so many rules times many elements stays bounded.
                if (--_stepsLeft < 0) { _stepsLeft = 0; return; }
                if (MatchesCompound(r.Parts[0], element) && MatchesAncestors(r.Parts, 1, ancestors, ancestors.Count, ref _stepsLeft))
                    (matched ??= []).Add(r);
            }
        }
        if (element.Id is not null) Consider(_byId.GetValueOrDefault(element.Id));
        if (element.Classes is { } cls)
            foreach (var c in cls) Consider(_byClass.GetValueOrDefault(c));
        Consider(_byTag.GetValueOrDefault(element.Tag));
        Consider(_any);
        if (matched is null) return;
        matched.Sort((a, b) => a.Specificity != b.Specificity ? a.Specificity.CompareTo(b.Specificity) : a.Order.CompareTo(b.Order));
        foreach (var r in matched)
            foreach (var d in r.Declarations) output.Add((d, true));
    }

    /// <summary>Matches parts[k..] against the ancestors below <paramref name="limit"/> (backtracking, bounded by
    /// the document's step budget).</summary>
    private static bool MatchesAncestors(Compound[] parts, int k, IReadOnlyList<ElementKey> ancestors, int limit, ref int stepsLeft)
    {
        if (k >= parts.Length) return true;
        var part = parts[k];
        for (int a = limit - 1; a >= 0; a--)
        {
            if (--stepsLeft < 0) { stepsLeft = 0; return false; }
            if (MatchesCompound(part, ancestors[a]) && MatchesAncestors(parts, k + 1, ancestors, a, ref stepsLeft)) return true;
            if (part.ParentOnly) return false; // only the direct parent may match
        }
        return false;
    }

    private static bool MatchesCompound(Compound c, ElementKey e)
    {
        if (c.Tag is not null && c.Tag != e.Tag) return false;
        if (c.Id is not null && !string.Equals(c.Id, e.Id, StringComparison.OrdinalIgnoreCase)) return false;
        foreach (var cls in c.Classes)
        {
            if (e.Classes is null) return false;
            bool found = false;
            foreach (var x in e.Classes)
                if (string.Equals(x, cls, StringComparison.OrdinalIgnoreCase)) { found = true; break; }
            if (!found) return false;
        }
        return true;
    }
}
