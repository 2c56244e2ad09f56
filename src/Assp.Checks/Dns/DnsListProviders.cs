using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Assp.Dns;

namespace Assp.Checks.Dns;

/// <summary>One DNS list zone with its reply weights.</summary>
public sealed record DnsListProvider(string Zone, string QueryTemplate, ReplyWeights Weights)
{
    /// <summary>The name to ask for <paramref name="label"/> (a reversed IP or a domain): "$DATA$" in the entry marks where it goes, else it is prepended.</summary>
    public string QueryName(string label) =>
        QueryTemplate.Contains("$DATA$", StringComparison.OrdinalIgnoreCase)
            ? QueryTemplate.Replace("$DATA$", label, StringComparison.OrdinalIgnoreCase)
            : label + "." + QueryTemplate;
}

/// <summary>Parses ASSP's provider lists (RBLServiceProvider, URIBLServiceProvider, RWLServiceProvider, BackSctrServiceProvider).</summary>
public static partial class DnsListProviders
{
    [GeneratedRegex(@"(?:^|\.)M(?:[1248]|16|32|64|128)(?:\.|$)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ValidMask();

    [GeneratedRegex(@"(?:^|\.)M", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnyMask();

    /// <summary>
    /// ASSP's weight rule: 0 ignores the provider's replies; values of 6 and more are absolute; smaller values
    /// divide <paramref name="maxWeight"/> (rounded half up); if that gives 0, maxweight/maxhits, else the valence.
    /// </summary>
    public static double Weight(string text, double maxWeight, double maxHits, double valence)
    {
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v == 0) return 0;
        if (v >= 6) return v;
        double w = Math.Truncate(maxWeight / v + 0.5);
        if (w != 0) return w;
        if (maxWeight != 0 && maxHits != 0) return Math.Truncate(maxWeight / maxHits + 0.5);
        return valence;
    }

    /// <summary>
    /// Builds the providers from the list entries, in first-seen order. <paramref name="problems"/> gets the
    /// entries that were skipped (bad bitmask).
    /// </summary>
    public static IReadOnlyList<DnsListProvider> Parse(IEnumerable<string> entries, double maxWeight, double maxHits, double valence, List<string>? problems = null)
    {
        var order = new List<string>();
        var templates = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var weights = new Dictionary<string, ReplyWeights>(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in entries)
        {
            var entry = raw.Trim();
            if (entry.Length == 0) continue;
            var parts = entry.Split("=>", 3);
            var template = parts[0].Trim();
            if (template.Length == 0) continue;
            var zone = ZoneOf(template);
            if (zone.Length == 0) continue;
            if (!templates.ContainsKey(zone))
            {
                order.Add(zone);
                templates[zone] = template;
                weights[zone] = new ReplyWeights();
            }
            var table = weights[zone];
            if (parts.Length == 3)
            {
                var result = parts[1].Trim();
                if (result.Length == 0) result = "*";
                double w = Weight(parts[2], maxWeight, maxHits, valence);
                if (ValidMask().IsMatch(result)) ExpandMask(table, result, w);
                else if (AnyMask().IsMatch(result)) problems?.Add($"invalid bitmask '{result}' for {zone}");
                else table.Set(result, w);
            }
            else if (parts.Length == 2)
            {
                table.Set("*", Weight(parts[1], maxWeight, maxHits, valence));
            }
            else
            {
                table.Set("*", valence);
            }
        }
        return [.. order.Select(z => new DnsListProvider(z, templates[z], weights[z]))];
    }

    /// <summary>The zone a "$DATA$" template is keyed under: the part after the marker.</summary>
    private static string ZoneOf(string template)
    {
        int i = template.IndexOf("$DATA$", StringComparison.OrdinalIgnoreCase);
        if (i < 0) return template.ToLowerInvariant();
        return template[(i + 6)..].TrimStart('.').ToLowerInvariant();
    }

    /// <summary>An octet "Mn" stands for every value 0..255 with bit n set; each combination adds the weight.</summary>
    private static void ExpandMask(ReplyWeights table, string result, double weight)
    {
        var octets = result.Split('.');
        if (octets.Length != 4) return;
        var choices = new List<string>[4];
        for (int i = 0; i < 4; i++)
        {
            var o = octets[i];
            if (o.Length > 1 && (o[0] == 'M' || o[0] == 'm') && int.TryParse(o.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var mask)
                && mask is 1 or 2 or 4 or 8 or 16 or 32 or 64 or 128)
                choices[i] = [.. Enumerable.Range(0, 256).Where(v => (v & mask) != 0).Select(v => v.ToString(CultureInfo.InvariantCulture))];
            else
                choices[i] = [o];
        }
        foreach (var a in choices[0])
            foreach (var b in choices[1])
                foreach (var c in choices[2])
                    foreach (var d in choices[3])
                        table.Add($"{a}.{b}.{c}.{d}", weight);
    }

    /// <summary>The label an IP is looked up under in IP-keyed lists.</summary>
    public static string IpLabel(IPAddress ip) => DnsName.ReversedAddress(ip);
}
