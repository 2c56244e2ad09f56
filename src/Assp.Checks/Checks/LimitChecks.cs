using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// MaxEqualXHeader ("glob=>max|…"): the same X- header (not X-ASSP-) repeated more than its maximum ends the
/// message with ASSP's 554 5.7.7. 0 turns a header off; no match and no '*' means no limit. Not for outgoing,
/// whitelisted or noprocessing mail.
/// </summary>
public sealed class MaxEqualXHeaderCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("MaxEqualXHeader", "[Max-Equal-X-Header]", null);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 10;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var st = c.State;
        if (st.Transparent || st.RelayOk || st.IsWhitelisted || st.IsNoProcessing || st.Parsed is not { } msg) return Verdict.Pass;
        var limits = Limits(c.Config);
        if (limits.Count == 0) return Verdict.Pass;
        var counts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in msg.Headers)
        {
            if (!h.Name.StartsWith("X-", StringComparison.OrdinalIgnoreCase) || h.Name.StartsWith("X-ASSP", StringComparison.OrdinalIgnoreCase)) continue;
            int max = Limit(limits, h.Name);
            if (max <= 0) continue;
            int n = counts[h.Name] = counts.GetValueOrDefault(h.Name) + 1;
            if (n <= max) continue;
            st.Prepend.Clear().Append(Check.Tag);
            c.Log($"too many equal X-header lines (MaxEqualXHeader) - ({h.Name}: {max})");
            st.Reports.Add(new CheckReport(Check.Name, "block", 0, $"too many equal X-headers ({h.Name}:)"));
            return Verdict.Block($"554 5.7.7 too many equal X-headers ({h.Name}:)", "too many equal X-headers");
        }
        return Verdict.Pass;
    }

    /// <summary>An exact name wins over a wildcard; '*' alone is the default.</summary>
    private static int Limit(IReadOnlyList<(string Glob, Regex? Re, int Max)> limits, string name)
    {
        foreach (var l in limits) if (l.Re is null && l.Glob.Equals(name, StringComparison.OrdinalIgnoreCase)) return l.Max;
        foreach (var l in limits) if (l.Re is not null && l.Glob != "*" && l.Re.IsMatch(name)) return l.Max;
        foreach (var l in limits) if (l.Glob == "*") return l.Max;
        return 0;
    }

    private sealed record LimitTable(IReadOnlyList<(string Glob, Regex? Re, int Max)> Items);

    private static IReadOnlyList<(string Glob, Regex? Re, int Max)> Limits(ConfigSnapshot cfg) => cfg.Derived("Checks.MaxEqualXHeader", x =>
    {
        var items = new List<(string, Regex?, int)>();
        foreach (var e in x.GetListEntries("MaxEqualXHeader"))
        {
            var parts = e.Text.Split("=>", 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length == 0 || !int.TryParse(parts[1], out var max)) continue;
            var glob = parts[0].TrimEnd(':');
            Regex? re = glob.Contains('*') || glob.Contains('?')
                ? new Regex("^" + Regex.Escape(glob).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)
                : null;
            items.Add((glob, re, max));
        }
        return new LimitTable(items);
    }).Items;
}
