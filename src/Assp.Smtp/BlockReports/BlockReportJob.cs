using System.Globalization;
using Assp.Config;
using Assp.Config.Scheduling;

namespace Assp.Smtp.BlockReports;

/// <summary>
/// One block report to build, in ASSP's "QueryAddress=>ReportRecipient=>Days=>Filter=>cron" form (BlockReportFile
/// lines and admins' request bodies). Query is user@domain, *@domain, *@* or a [group]; Recipient empty or "*" means
/// every queried address gets its own report, an address gets one combined report. Filter replaces
/// BlockReportFilter ("$BRF" inside it stands for that option). Cron entries ('|' separated) give the line its own
/// schedule; such lines are left out at BlockReportSchedule.
/// </summary>
public sealed record BlockReportJob(string Query, string? Recipient, int Days, string? Filter, IReadOnlyList<CronExpression> Cron)
{
    /// <summary>True when each queried address gets its own report (no explicit recipient).</summary>
    public bool PerAddress => Recipient is null;

    /// <summary>
    /// Parses one line; null with a reason when it is not a job. defaultDays applies when the days field is empty
    /// (1 for files and admin requests, as ASSP does).
    /// </summary>
    public static BlockReportJob? Parse(string line, int defaultDays, out string? error)
    {
        error = null;
        var fields = line.Trim().Split("=>").Select(f => f.Trim()).ToList();
        // ASSP's examples also write "*@domain=>*>14" and "user@domain=>*>=>3": "*>" ends the recipient field.
        if (fields.Count > 1 && fields[1].StartsWith("*>", StringComparison.Ordinal))
        {
            var rest = fields[1][2..].TrimStart('=').Trim();
            fields[1] = "*";
            if (rest.Length > 0) fields.Insert(2, rest);
        }
        var query = fields[0].ToLowerInvariant();
        if (query.Length == 0) { error = "the query address is missing"; return null; }
        bool group = query.StartsWith('[') && query.EndsWith(']') && query.Length > 2;
        if (!group && !IsQueryAddress(query)) { error = $"'{fields[0]}' is not an address, *@domain, *@* or [group]"; return null; }

        string? recipient = fields.Count > 1 ? fields[1] : null;
        if (recipient is "" or "*") recipient = null;
        if (recipient is not null && !IsPlainAddress(recipient)) { error = $"'{recipient}' is not a report recipient address"; return null; }

        int days = defaultDays;
        if (fields.Count > 2 && fields[2].Length > 0)
        {
            if (!int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out days) || days is < 1 or > 3660)
            {
                error = $"'{fields[2]}' is not a number of days";
                return null;
            }
        }
        string? filter = fields.Count > 3 && fields[3].Length > 0 ? fields[3] : null;
        var cron = new List<CronExpression>();
        if (fields.Count > 4 && fields[4].Length > 0)
        {
            foreach (var entry in fields[4].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!CronExpression.TryParse(entry, out var expr, out var cronError)) { error = $"'{entry}' is not a cron entry: {cronError}"; return null; }
                cron.Add(expr!);
            }
        }
        if (fields.Count > 5) { error = "more than five '=>' fields"; return null; }
        return new BlockReportJob(query, recipient?.ToLowerInvariant(), days, filter, cron);
    }

    /// <summary>The jobs of BlockReportFile (file: only); comment lines (# ;) and blank lines are skipped, bad lines reported.</summary>
    public static IReadOnlyList<BlockReportJob> ReadFile(ConfigSnapshot cfg, Action<string>? report = null)
    {
        var path = ConfigLoader.FileReference(cfg["BlockReportFile"]);
        if (path is null) return [];
        var full = Path.IsPathRooted(path) ? path : Path.Combine(cfg.BaseDirectory, path);
        if (!File.Exists(full)) return [];
        var jobs = new List<BlockReportJob>();
        int number = 0;
        foreach (var raw in File.ReadAllLines(full))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';')) continue;
            if (Parse(line, 1, out var error) is { } job) jobs.Add(job);
            else report?.Invoke($"BlockReportFile line {number} ('{line}') ignored: {error}");
        }
        return jobs;
    }

    private static bool IsQueryAddress(string s)
    {
        int at = s.IndexOf('@');
        if (at <= 0 || at != s.LastIndexOf('@') || at == s.Length - 1) return false;
        var local = s[..at];
        var domain = s[(at + 1)..];
        if (domain == "*") return local == "*";
        return (local == "*" || !local.Contains('*')) && !domain.Contains('*') && !s.Any(char.IsWhiteSpace);
    }

    internal static bool IsPlainAddress(string s)
    {
        int at = s.IndexOf('@');
        return at > 0 && at == s.LastIndexOf('@') && at < s.Length - 1 && !s.Contains('*') && !s.Any(char.IsWhiteSpace)
            && !s.Contains('<') && !s.Contains('>');
    }
}
