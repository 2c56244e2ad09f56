using System.Globalization;

namespace Assp.Auth.Dmarc;

/// <summary>The requested handling of failing mail (RFC 7489 6.3 p= and sp=).</summary>
public enum DmarcPolicy { None, Quarantine, Reject }

/// <summary>Identifier alignment mode (adkim=, aspf=): relaxed compares organisational domains, strict the exact names.</summary>
public enum DmarcAlignment { Relaxed, Strict }

/// <summary>A report destination (rua=/ruf=): a URI with an optional size limit ("mailto:a@b.example!10m").</summary>
public sealed record DmarcReportUri(string Uri, long? MaxBytes)
{
    /// <summary>The mail address of a mailto: URI, or null for other schemes.</summary>
    public string? MailAddress => Uri.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase)
        ? Uri["mailto:".Length..].Split('?')[0] : null;
}

/// <summary>A parsed DMARC policy record (RFC 7489 6.3). Unknown tags are ignored as the RFC asks.</summary>
public sealed record DmarcRecord(
    DmarcPolicy Policy,
    DmarcPolicy SubdomainPolicy,
    int Percent,
    DmarcAlignment DkimAlignment,
    DmarcAlignment SpfAlignment,
    IReadOnlyList<DmarcReportUri> AggregateReports,
    IReadOnlyList<DmarcReportUri> FailureReports,
    string FailureOptions,
    int ReportInterval,
    string Text)
{
    /// <summary>rf=: the failure report formats asked for (RFC 7489 6.3); "afrf" (RFC 6591) is the default and the only one defined.</summary>
    public IReadOnlyList<string> ReportFormats { get; init; } = ["afrf"];

    /// <summary>Does the domain accept failure reports in the AFRF format?</summary>
    public bool AcceptsAfrf => ReportFormats.Contains("afrf", StringComparer.OrdinalIgnoreCase);

    /// <summary>Is this TXT string meant as a DMARC record (it starts with the version tag)?</summary>
    public static bool LooksLikeDmarc(string text)
    {
        var t = text.TrimStart();
        if (!t.StartsWith("v", StringComparison.OrdinalIgnoreCase)) return false;
        int semi = t.IndexOf(';');
        var first = (semi < 0 ? t : t[..semi]).Replace(" ", "", StringComparison.Ordinal).Replace("\t", "", StringComparison.Ordinal);
        return first.Equals("v=DMARC1", StringComparison.Ordinal);
    }

    /// <summary>Parses a record; returns null with a reason when it is not a usable DMARC record.</summary>
    public static DmarcRecord? Parse(string text, out string? problem)
    {
        problem = null;
        if (!LooksLikeDmarc(text))
        {
            problem = "not a DMARC1 record";
            return null;
        }
        var tags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(';'))
        {
            var item = part.Trim();
            if (item.Length == 0) continue;
            int eq = item.IndexOf('=');
            if (eq <= 0) continue;
            tags.TryAdd(item[..eq].Trim(), item[(eq + 1)..].Trim());
        }
        var rua = ParseUris(tags.GetValueOrDefault("rua"));
        var ruf = ParseUris(tags.GetValueOrDefault("ruf"));
        DmarcPolicy policy;
        if (!tags.TryGetValue("p", out var p) || ParsePolicy(p) is not { } parsed)
        {
            // 6.6.3: a missing or invalid p= with a valid rua= is read as p=none; otherwise the record is unusable.
            if (rua.Count == 0)
            {
                problem = p is null ? "no p= tag" : $"invalid p={p}";
                return null;
            }
            policy = DmarcPolicy.None;
        }
        else policy = parsed;
        var sp = tags.TryGetValue("sp", out var spText) && ParsePolicy(spText) is { } s ? s : policy;
        int pct = 100;
        if (tags.TryGetValue("pct", out var pctText) && int.TryParse(pctText, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            pct = Math.Clamp(n, 0, 100);
        int ri = 86400;
        if (tags.TryGetValue("ri", out var riText) && int.TryParse(riText, NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r > 0)
            ri = r;
        return new DmarcRecord(policy, sp, pct, Alignment(tags.GetValueOrDefault("adkim")), Alignment(tags.GetValueOrDefault("aspf")),
            rua, ruf, tags.GetValueOrDefault("fo") ?? "0", ri, text)
        {
            ReportFormats = tags.TryGetValue("rf", out var rf) && rf.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } formats
                ? formats : ["afrf"],
        };
    }

    private static DmarcPolicy? ParsePolicy(string text) => text.Trim().ToLowerInvariant() switch
    {
        "none" => DmarcPolicy.None,
        "quarantine" => DmarcPolicy.Quarantine,
        "reject" => DmarcPolicy.Reject,
        _ => null,
    };

    private static DmarcAlignment Alignment(string? text) =>
        string.Equals(text?.Trim(), "s", StringComparison.OrdinalIgnoreCase) ? DmarcAlignment.Strict : DmarcAlignment.Relaxed;

    private static List<DmarcReportUri> ParseUris(string? text)
    {
        var list = new List<DmarcReportUri>();
        if (string.IsNullOrWhiteSpace(text)) return list;
        foreach (var raw in text.Split(','))
        {
            var item = raw.Trim();
            if (item.Length == 0) continue;
            long? max = null;
            int bang = item.LastIndexOf('!');
            if (bang > 0)
            {
                max = ParseSize(item[(bang + 1)..]);
                item = item[..bang];
            }
            if (!item.Contains(':', StringComparison.Ordinal)) continue;   // 6.4: a URI needs a scheme
            list.Add(new DmarcReportUri(item, max));
        }
        return list;
    }

    private static long? ParseSize(string text)
    {
        if (text.Length == 0) return null;
        long unit = char.ToLowerInvariant(text[^1]) switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, 't' => 1L << 40, _ => 1 };
        var digits = unit == 1 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n * unit : null;
    }
}
