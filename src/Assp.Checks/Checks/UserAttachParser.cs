using System.Text;
using System.Text.RegularExpressions;
using Assp.Config.Lists;

namespace Assp.Checks.Checks;

/// <summary>
/// Reads ASSP's UserAttach rule lines:
/// <c>user => good => re , good-out => re , good-in => re , block => re , block-out => re , block-in => re</c>,
/// extension templates <c>~name => regex</c> (used as <c>~name</c> inside a rule's regex), rule templates
/// <c>~~name => rule…</c> (nestable, used as an item <c>~~name</c>), and <c>--ext</c> / <c>--(?:a|b)</c> removals
/// applied to the finished rule type. <c>--+ext</c> / <c>+-(?:a|b)</c> removals are kept for the check to apply to
/// the rule combined from sender and recipient at runtime (key <see cref="RuntimeRemovalKey"/>), and a
/// <c>NoCheckIf=Spf.DkimSig</c> item is kept as the condition that skips that rule type's check (key
/// <see cref="NoCheckIfKey"/>). The user may be an address, a user part, <c>@domain</c>, <c>*@domain</c>, a wildcard
/// or a <c>[GROUP]</c>.
/// </summary>
public static partial class UserAttachParser
{
    public static readonly IReadOnlyList<string> RuleTypes = ["good", "good-in", "good-out", "block", "block-in", "block-out"];

    /// <summary>The key under which a rule type's runtime removals ("a|b") are kept.</summary>
    public static string RuntimeRemovalKey(string type) => "runtime-remove:" + type;

    /// <summary>The key under which a rule type's NoCheckIf condition ("SpfDkim.SpfSig") is kept.</summary>
    public static string NoCheckIfKey(string type) => "nocheckif:" + type;

    [GeneratedRegex(@"^(?:(?:spf|dkim|sig)+)(?:\.(?:spf|dkim|sig)+)*$", RegexOptions.IgnoreCase)]
    private static partial Regex NoCheckIfSyntax();

    [GeneratedRegex(@"~([A-Za-z0-9_]+)")]
    private static partial Regex ExtensionTemplateUse();

    /// <param name="zipRules">False: the ordinary rules (lines with a <c>zip:</c> user are left out). True: only the
    /// ASSP_AFC <c>zip:</c> rules, which judge the files inside archives (the prefix is taken off the user; the
    /// templates of the file serve both kinds, their problems are reported by the ordinary pass).</param>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Parse(IEnumerable<string> lines, List<string> problems,
        GroupDefinitions? groups = null, bool zipRules = false)
    {
        var reported = problems;
        if (zipRules) problems = [];
        var extTemplates = new Dictionary<string, string>(StringComparer.Ordinal);
        var ruleTemplates = new Dictionary<string, string>(StringComparer.Ordinal);
        var rules = new List<(string User, string Body)>();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int arrow = line.IndexOf("=>", StringComparison.Ordinal);
            if (arrow <= 0) { problems.Add($"UserAttach: '{line}' has no '=>'"); continue; }
            var key = line[..arrow].Trim();
            var body = line[(arrow + 2)..].Trim();
            if (key.StartsWith("~~", StringComparison.Ordinal))
            {
                if (!ruleTemplates.TryAdd(key[2..], body)) problems.Add($"UserAttach: rule template '{key}' is defined twice - the first is used");
            }
            else if (key.StartsWith('~'))
            {
                if (!extTemplates.TryAdd(key[1..], body)) problems.Add($"UserAttach: extension template '{key}' is defined twice - the first is used");
            }
            else if (key.StartsWith("zip:", StringComparison.OrdinalIgnoreCase) == zipRules)
                rules.Add((zipRules ? key[4..].Trim() : key, body));
        }
        // From here on every problem belongs to the rules of this pass.
        problems = reported;

        var result = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (user, body) in rules)
        {
            var collected = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            var conditions = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            Collect(body, collected, conditions, ruleTemplates, extTemplates, problems, 0, user);
            var finished = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (type, parts) in collected)
            {
                var alternatives = new List<string>();
                var removals = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                var runtime = new List<string>();
                foreach (var alt in parts.SelectMany(SplitAlternatives))
                {
                    if (alt.StartsWith("--+", StringComparison.Ordinal)) runtime.AddRange(Ungroup(alt[3..]));
                    else if (alt.StartsWith("+-", StringComparison.Ordinal)) runtime.AddRange(Ungroup(alt[2..]));
                    else if (alt.StartsWith("--", StringComparison.Ordinal)) foreach (var r in Ungroup(alt[2..])) removals.Add(r);
                    else if (alt.Length > 0) alternatives.Add(alt);
                }
                var kept = alternatives.Where(a => !removals.Contains(a)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
                if (kept.Count > 0) finished[type] = string.Join('|', kept);
                if (runtime.Count > 0) finished[RuntimeRemovalKey(type)] = string.Join('|', runtime.Distinct(StringComparer.OrdinalIgnoreCase));
            }
            // Several NoCheckIf= for one type (from templates) are alternatives: any one of them skips the check.
            foreach (var (type, list) in conditions) finished[NoCheckIfKey(type)] = string.Join('.', list.Distinct(StringComparer.OrdinalIgnoreCase));
            if (finished.Count == 0) { problems.Add($"UserAttach: '{user}' has no valid rule"); continue; }
            foreach (var key in Keys(user, groups, problems)) result[key] = finished;
        }
        return result;
    }

    private static IEnumerable<string> Keys(string user, GroupDefinitions? groups, List<string> problems)
    {
        var u = user.Trim();
        if (u.StartsWith('[') && u.EndsWith(']'))
        {
            if (groups is not null && groups.TryGet(u[1..^1], out var members)) return members.Select(m => m.Text.Trim().ToLowerInvariant());
            problems.Add($"UserAttach: group {u} is not defined");
            return [];
        }
        return [u.ToLowerInvariant()];
    }

    private static void Collect(string body, Dictionary<string, List<string>> into, Dictionary<string, List<string>> conditions,
        Dictionary<string, string> ruleTemplates, Dictionary<string, string> extTemplates, List<string> problems, int depth, string user)
    {
        if (depth > 10) { problems.Add($"UserAttach: rule templates nest too deep for '{user}'"); return; }
        foreach (var item in SplitItems(body))
        {
            var parts = item.Split("=>", StringSplitOptions.TrimEntries);
            int i = 0;
            while (i < parts.Length)
            {
                var p = parts[i];
                if (p.StartsWith("~~", StringComparison.Ordinal))
                {
                    if (ruleTemplates.TryGetValue(p[2..], out var t)) Collect(t, into, conditions, ruleTemplates, extTemplates, problems, depth + 1, user);
                    else problems.Add($"UserAttach: rule template '{p}' used by '{user}' is not defined");
                    i++;
                    continue;
                }
                if (p.Length == 0) { i++; continue; }
                if (!RuleTypes.Contains(p, StringComparer.OrdinalIgnoreCase) || i + 1 >= parts.Length)
                {
                    problems.Add($"UserAttach: '{p}' in the rule of '{user}' is not one of {string.Join(", ", RuleTypes)} followed by a regex");
                    break;
                }
                var re = parts[i + 1];
                if (re.StartsWith("NoCheckIf=", StringComparison.OrdinalIgnoreCase))
                {
                    var condition = re["NoCheckIf=".Length..];
                    if (NoCheckIfSyntax().IsMatch(condition))
                    {
                        if (!conditions.TryGetValue(p, out var cl)) conditions[p] = cl = [];
                        cl.Add(condition);
                    }
                    else problems.Add($"UserAttach: '{re}' for '{user}' is not a valid NoCheckIf= (states spf, dkim, sig; together = and, '.' = or) - ignored");
                    i += 2;
                    continue;
                }
                re = ExtensionTemplateUse().Replace(re, m => extTemplates.TryGetValue(m.Groups[1].Value, out var x) ? x : m.Value);
                if (!into.TryGetValue(p, out var list)) into[p] = list = [];
                list.Add(re);
                i += 2;
            }
        }
    }

    /// <summary>Splits at commas outside parentheses (a regex quantifier {1,3} keeps its comma).</summary>
    private static IEnumerable<string> SplitItems(string body) => SplitOutside(body, ',');

    /// <summary>Splits an alternation at '|' outside parentheses.</summary>
    internal static IEnumerable<string> SplitAlternatives(string re) => SplitOutside(re, '|').Select(a => a.Trim());

    private static IEnumerable<string> SplitOutside(string text, char separator)
    {
        int depth = 0, braces = 0;
        var sb = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\' && i + 1 < text.Length) { sb.Append(c).Append(text[++i]); continue; }
            if (c == '(') depth++;
            else if (c == ')') depth = Math.Max(0, depth - 1);
            else if (c == '{') braces++;
            else if (c == '}') braces = Math.Max(0, braces - 1);
            if (c == separator && depth == 0 && braces == 0) { yield return sb.ToString(); sb.Clear(); continue; }
            sb.Append(c);
        }
        if (sb.Length > 0) yield return sb.ToString();
    }

    /// <summary>"(?:a|b)" → a, b; "x" → x (no nested brackets, as the reference requires).</summary>
    private static IEnumerable<string> Ungroup(string removal)
    {
        var r = removal.Trim();
        if (r.StartsWith("(?:", StringComparison.Ordinal) && r.EndsWith(')')) r = r[3..^1];
        else if (r.StartsWith('(') && r.EndsWith(')')) r = r[1..^1];
        return r.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }
}
