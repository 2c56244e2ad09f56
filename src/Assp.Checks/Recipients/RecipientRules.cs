using System.Text;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Regexes;

namespace Assp.Checks.Recipients;

/// <summary>
/// ReplaceRecpt: ASSP's recipient replacement rules (files/rcptreplrules.txt), applied to every RCPT TO before any
/// check. A rule is "number&lt;=&gt;type&lt;=&gt;recipient&lt;=&gt;replace_with&lt;=&gt;when_sender&lt;=&gt;next_rule_if&lt;=&gt;jump_target":
/// rules run in the alphabetical order of their numbers (the last of equal numbers counts); type S (or empty) has
/// '*' wildcards whose matches fill the '*'s of replace_with in turn, type R Perl regexes with $1… in replace_with,
/// any other type skips the rule; an empty or "*" recipient or sender matches everything. next_rule_if 0 goes on
/// (or jumps) always, 1 stops (or jumps) when the rule matched, 2 when it did not; jumps go forward only, to a
/// missing rule they stop, and END stops after the rule.
/// </summary>
public sealed class RecipientRules
{
    private sealed record Rule(string Number, Regex Recipient, string Replacement, bool Simple, Regex? Sender, int NextIf, string Jump);

    private readonly List<Rule> _rules;
    private RecipientRules(List<Rule> rules) => _rules = rules;

    public int Count => _rules.Count;

    public static RecipientRules For(ConfigSnapshot cfg) => cfg.Derived("Recipients.ReplaceRecpt", Build);

    private static RecipientRules Build(ConfigSnapshot cfg)
    {
        var byNumber = new SortedDictionary<string, Rule>(StringComparer.Ordinal);
        foreach (var e in cfg.GetListEntries("ReplaceRecpt"))
        {
            var f = e.Text.Split("<=>");
            if (f.Length < 4) continue;
            var number = f[0].Trim();
            var type = f[1].Trim().ToUpperInvariant();
            if (number.Length == 0 || type is not ("" or "S" or "R")) continue;
            bool simple = type != "R";
            try
            {
                var recipient = Pattern(f[2].Trim(), simple);
                var sender = f.Length > 4 && f[4].Trim() is { Length: > 0 } s && s != "*" ? Pattern(s, simple) : null;
                int nextIf = f.Length > 5 && int.TryParse(f[5].Trim(), out var n) && n is >= 0 and <= 2 ? n : 0;
                var jump = f.Length > 6 ? f[6].Trim() : "";
                byNumber[number] = new Rule(number, recipient, f[3].Trim(), simple, sender, nextIf, jump);
            }
            catch (Exception ex) when (ex is ArgumentException or PerlRegexException)
            {
                // A broken rule is skipped; the others still apply.
            }
        }
        return new RecipientRules([.. byNumber.Values]);
    }

    private static Regex Pattern(string text, bool simple)
    {
        if (!simple) return ConfigRegex.Compile(text.Length == 0 ? ".*" : text, ConfigRegex.DefaultMatchTimeout, ignoreCase: true);
        if (text.Length == 0 || text == "*") text = "*";
        var sb = new StringBuilder("^");
        foreach (var c in text) sb.Append(c == '*' ? "(.*)" : Regex.Escape(c.ToString()));
        sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, ConfigRegex.DefaultMatchTimeout);
    }

    /// <summary>The recipient after the rules (the same string when no rule changed it).</summary>
    public string Apply(string recipient, string sender)
    {
        var current = recipient;
        for (int i = 0; i < _rules.Count; i++)
        {
            var rule = _rules[i];
            bool matched = false;
            try
            {
                var m = rule.Recipient.Match(current);
                if (m.Success && (rule.Sender is null || rule.Sender.IsMatch(sender)))
                {
                    matched = true;
                    current = rule.Simple ? FillStars(rule.Replacement, m) : rule.Recipient.Replace(current, rule.Replacement, 1);
                }
            }
            catch (RegexMatchTimeoutException)
            {
            }
            if (rule.Jump.Equals("END", StringComparison.OrdinalIgnoreCase)) break;
            bool leave = rule.NextIf switch { 1 => matched, 2 => !matched, _ => rule.Jump.Length > 0 };
            if (!leave) continue;
            if (rule.Jump.Length == 0) break;
            int target = _rules.FindIndex(i + 1, r => r.Number == rule.Jump);
            if (target < 0) break;
            i = target - 1;
        }
        return current;
    }

    private static string FillStars(string replacement, Match m)
    {
        var sb = new StringBuilder();
        int group = 1;
        foreach (var c in replacement)
        {
            if (c == '*') sb.Append(group < m.Groups.Count ? m.Groups[group++].Value : "");
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
