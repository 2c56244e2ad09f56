using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Regexes;

namespace Assp.Smtp.Notifications;

/// <summary>One NotifyRe entry: the regex, who gets the mail and (optionally) its subject.</summary>
public sealed record NotifyRule(string PatternText, Regex Pattern, IReadOnlyList<string> Recipients, string? Subject);

/// <summary>
/// NotifyRe as ASSP reads it: the value (or the file's lines) is split at every '|' into entries of the form
/// regex[=>recipients[=>subject]]; recipients are comma separated and default to Notify; an entry left without any
/// recipient notifies nobody. The same regex twice adds its recipients together. Regexes match case-insensitively,
/// with the configured match timeout.
/// </summary>
public sealed class NotifyRules
{
    public static readonly NotifyRules Empty = new([], []);

    public IReadOnlyList<NotifyRule> Rules { get; }
    /// <summary>Entries whose regex did not compile (reported once per configuration).</summary>
    public IReadOnlyList<string> Problems { get; }

    private NotifyRules(IReadOnlyList<NotifyRule> rules, IReadOnlyList<string> problems)
    {
        Rules = rules;
        Problems = problems;
    }

    public static NotifyRules For(ConfigSnapshot cfg) => cfg.Derived("Notifications.NotifyRe", Build);

    public static NotifyRules Build(ConfigSnapshot cfg)
    {
        var defaults = cfg["Notify"];
        var byPattern = new Dictionary<string, (List<string> Recipients, string? Subject)>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var entry in cfg.GetListEntries("NotifyRe"))
        {
            foreach (var part in entry.Text.Split('|'))
            {
                var fields = part.Split("=>");
                var pattern = fields[0].Trim();
                if (pattern.Length == 0) continue;
                var recipients = fields.Length > 1 && fields[1].Trim().Length > 0 ? fields[1] : defaults;
                var subject = fields.Length > 2 && fields[2].Trim().Length > 0 ? fields[2].Trim() : null;
                var list = recipients.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (list.Length == 0) continue;
                if (!byPattern.TryGetValue(pattern, out var known))
                {
                    known = ([], null);
                    order.Add(pattern);
                }
                foreach (var r in list)
                    if (!known.Recipients.Contains(r, StringComparer.OrdinalIgnoreCase)) known.Recipients.Add(r);
                byPattern[pattern] = (known.Recipients, subject ?? known.Subject);
            }
        }
        if (order.Count == 0) return Empty;
        var rules = new List<NotifyRule>();
        var problems = new List<string>();
        foreach (var pattern in order)
        {
            try
            {
                var regex = ConfigRegex.Compile(pattern, ConfigRegex.DefaultMatchTimeout, ignoreCase: true);
                var (recipients, subject) = byPattern[pattern];
                rules.Add(new NotifyRule(pattern, regex, recipients, subject));
            }
            catch (Exception ex) when (ex is ArgumentException or PerlRegexException)
            {
                problems.Add($"NotifyRe entry '{pattern}' is not a valid regular expression: {ex.Message}");
            }
        }
        return new NotifyRules(rules, problems);
    }

    /// <summary>The rules a log line matches (none when NoNotifyRe matches it). A regex timeout counts as no match.</summary>
    public IReadOnlyList<NotifyRule> Matching(ConfigSnapshot cfg, string line)
    {
        if (Rules.Count == 0) return [];
        List<NotifyRule>? hits = null;
        foreach (var rule in Rules)
        {
            if (ConfigRegex.SafeMatch(rule.Pattern, line) is not null) (hits ??= []).Add(rule);
        }
        if (hits is null) return [];
        var never = cfg.GetRegex("NoNotifyRe");
        if (never.Count > 0 && never.IsMatch(line)) return [];
        return hits;
    }
}
