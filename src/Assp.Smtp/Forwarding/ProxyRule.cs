using System.Net;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Config.Registry;

namespace Assp.Smtp.Forwarding;

/// <summary>
/// One ProxyConf entry: "localIP:port=>targetHost:port" optionally followed by "&lt;=" and the clients allowed to use
/// it (IPs, networks, ranges and [groups], comma separated). No allow list means every client may connect.
/// </summary>
public sealed record ProxyRule(IPEndPoint Local, string TargetHost, int TargetPort, IpList? Allowed, string Spec)
{
    /// <summary>Two rules are the same forwarder when they listen, forward and allow alike (a reload keeps it open).</summary>
    public bool SameAs(ProxyRule other) => Spec == other.Spec;

    public bool Allows(IPAddress client) => Allowed is null || Allowed.Contains(client);

    public override string ToString() => $"{Local}=>{TargetHost}:{TargetPort}";

    /// <summary>The rules of a configuration, cached on the snapshot; entries that do not parse are in <see cref="ProxyRuleSet.Problems"/>.</summary>
    public static ProxyRuleSet FromConfig(ConfigSnapshot cfg) => cfg.Derived("Smtp.ProxyConf", static c => Parse(c));

    private static ProxyRuleSet Parse(ConfigSnapshot cfg)
    {
        var rules = new List<ProxyRule>();
        var problems = new List<string>();
        foreach (var entry in cfg.GetListEntries("ProxyConf"))
        {
            var rule = TryParse(entry, cfg.Groups, out var problem);
            if (rule is null)
            {
                problems.Add($"ProxyConf: '{entry.Text}'{(entry.File is null ? "" : " (" + entry.Location + ")")}: {problem}");
                continue;
            }
            if (rules.Any(r => r.Local.Equals(rule.Local)))
            {
                problems.Add($"ProxyConf: '{entry.Text}': {rule.Local} is already used by an earlier entry");
                continue;
            }
            rules.Add(rule);
        }
        return new ProxyRuleSet(rules, problems);
    }

    public static ProxyRule? TryParse(ListEntry entry, GroupDefinitions groups, out string? problem)
    {
        problem = null;
        string text = entry.Text.Trim();
        int arrow = text.IndexOf("=>", StringComparison.Ordinal);
        if (arrow <= 0)
        {
            problem = "expected localIP:localPORT=>forwardIP:forwardPORT";
            return null;
        }
        string localText = text[..arrow].Trim();
        string rest = text[(arrow + 2)..];
        string? allowText = null;
        int allowAt = rest.IndexOf("<=", StringComparison.Ordinal);
        if (allowAt >= 0)
        {
            allowText = rest[(allowAt + 2)..].Trim();
            rest = rest[..allowAt];
        }
        string targetText = rest.Trim();

        var local = ValueSyntax.ParseEndpoint(localText, []);
        if (local is not { Host: { } localHost, Port: > 0 } || !IPAddress.TryParse(localHost, out var localIp))
        {
            problem = $"the local side '{localText}' must be an IP address and a port";
            return null;
        }
        var target = ValueSyntax.ParseEndpoint(targetText, []);
        if (target is not { Host: { } targetHost, Port: > 0 })
        {
            problem = $"the forward side '{targetText}' must be a host or IP address and a port";
            return null;
        }

        IpList? allowed = null;
        if (!string.IsNullOrEmpty(allowText))
        {
            // Commas separate the allowed clients; groups expand to their members.
            var issues = new List<ConfigIssue>();
            string expanded = groups.ExpandInline(allowText.Replace(',', '|'), "ProxyConf", entry, issues);
            var items = expanded.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => new ListEntry(t, entry.File, entry.Line)).ToList();
            allowed = IpList.Compile(items, "ProxyConf", issues, TimeSpan.FromMilliseconds(100));
            var error = issues.FirstOrDefault(i => i.Severity == IssueSeverity.Error);
            if (error is not null)
            {
                problem = $"allowed client '{error.Value}': {error.Message}";
                return null;
            }
            if (allowed.Count == 0)
            {
                problem = $"no usable client in the allow list '{allowText}'" + (issues.Count > 0 ? $" ({issues[0].Message})" : "");
                return null;
            }
        }
        return new ProxyRule(new IPEndPoint(localIp, local.Value.Port), targetHost, target.Value.Port, allowed, text);
    }
}

/// <summary>The parsed ProxyConf of one configuration snapshot.</summary>
public sealed record ProxyRuleSet(IReadOnlyList<ProxyRule> Rules, IReadOnlyList<string> Problems);
