using System.Globalization;
using Assp.Auth.Dmarc;
using Assp.Auth.Spf;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>One message's DMARC evaluation as kept for the aggregate reports.</summary>
public sealed record DmarcReportRow(
    string PolicyDomain, long Time, string SourceIp, string HeaderFrom, string EnvelopeTo, string Disposition,
    string DkimAligned, string SpfAligned, string SpfDomain, string SpfResult, IReadOnlyList<(string Domain, string Result)> Dkim,
    bool SampledOut, string Policy, string SubdomainPolicy, int Percent, string Adkim, string Aspf, string ReportTo)
{
    /// <summary>ri=: the interval (seconds) the domain asked for between aggregate reports.</summary>
    public int ReportInterval { get; init; } = 86400;

    private const char Sep = '\t';

    public string Encode() => string.Join(Sep, SourceIp, HeaderFrom, EnvelopeTo, Disposition, DkimAligned, SpfAligned, SpfDomain, SpfResult,
        string.Join(',', Dkim.Select(d => d.Domain + ":" + d.Result)), SampledOut ? "1" : "0", Policy, SubdomainPolicy,
        Percent.ToString(CultureInfo.InvariantCulture), Adkim, Aspf, ReportTo, ReportInterval.ToString(CultureInfo.InvariantCulture));

    public static DmarcReportRow? Decode(string policyDomain, long time, string value)
    {
        var f = value.Split(Sep);
        if (f.Length < 16) return null;
        var dkim = f[8].Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => d.Split(':', 2)).Where(p => p.Length == 2).Select(p => (p[0], p[1])).ToList();
        return new DmarcReportRow(policyDomain, time, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], dkim, f[9] == "1", f[10], f[11],
            int.TryParse(f[12], NumberStyles.None, CultureInfo.InvariantCulture, out var pct) ? pct : 100, f[13], f[14], f[15])
        {
            ReportInterval = f.Length > 16 && int.TryParse(f[16], NumberStyles.None, CultureInfo.InvariantCulture, out var ri) && ri > 0 ? ri : 86400,
        };
    }
}

/// <summary>
/// The store side of the aggregate reports: every DMARC evaluation of a domain that asks for reports (rua=) is kept
/// in the "dmarcreports" table until the report job sends it. Keys are "policy-domain time session", so the job can
/// take one domain's rows by prefix.
/// </summary>
public static class DmarcReports
{
    public const string Table = "dmarcreports";
    private static long _sequence;

    /// <summary>Should rows be kept at all (DMARCReportFrom set, and some rua= recipient not excluded)?</summary>
    public static IReadOnlyList<string> Recipients(ConfigSnapshot cfg, DmarcRecord record)
    {
        if (cfg["DMARCReportFrom"].Trim().Length == 0) return [];
        var excluded = cfg.GetAddressList("noDMARCReportDomain");
        return [.. record.AggregateReports.Select(u => u.MailAddress).OfType<string>().Where(a => a.Contains('@') && !excluded.Contains(a))];
    }

    internal static void Record(ConfigSnapshot cfg, CheckServices services, IMailContext mail, DmarcOutcome outcome, SpfCheckResult? spf,
        IReadOnlyList<DkimDomainResult> dkim)
    {
        if (services.Store is not { } store || outcome.Record is not { } record || outcome.PolicyDomain is not { } domain) return;
        var to = Recipients(cfg, record);
        if (to.Count == 0) return;
        var now = services.Time.GetUtcNow().ToUnixTimeSeconds();
        string Lower(object o) => o.ToString()!.ToLowerInvariant();
        var envelopeTo = mail.Recipients.Count > 0 ? mail.Recipients[0][(mail.Recipients[0].LastIndexOf('@') + 1)..] : "";
        var row = new DmarcReportRow(domain, now, mail.CheckState.Message.ScoredIp?.ToString() ?? mail.RemoteAddress.ToString(), outcome.FromDomain,
            envelopeTo.ToLowerInvariant(), Lower(outcome.AppliedPolicy), outcome.DkimAligned ? "pass" : "fail", outcome.SpfAligned ? "pass" : "fail",
            spf?.Domain ?? "", spf is null ? "none" : ReportSpfResult(spf.Result),
            [.. dkim.Select(d => (d.Domain, d.Passed ? "pass" : "fail"))], outcome.SampledOut, Lower(record.Policy), Lower(record.SubdomainPolicy),
            record.Percent, record.DkimAlignment == DmarcAlignment.Strict ? "s" : "r", record.SpfAlignment == DmarcAlignment.Strict ? "s" : "r",
            string.Join(',', to)) { ReportInterval = record.ReportInterval };
        store.Table(Table).Set($"{domain} {now} {mail.SessionId}.{Interlocked.Increment(ref _sequence)}", row.Encode());
    }

    /// <summary>The SPF result names of the report schema.</summary>
    public static string ReportSpfResult(SpfResult r) => r switch
    {
        SpfResult.Pass => "pass",
        SpfResult.Fail => "fail",
        SpfResult.SoftFail => "softfail",
        SpfResult.Neutral => "neutral",
        SpfResult.TempError => "temperror",
        SpfResult.PermError => "permerror",
        _ => "none",
    };

    /// <summary>Every kept row, grouped by policy domain.</summary>
    public static IReadOnlyDictionary<string, List<(string Key, DmarcReportRow Row)>> Pending(Assp.Storage.IStore store)
    {
        var result = new Dictionary<string, List<(string, DmarcReportRow)>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, rec) in store.Table(Table).Scan())
        {
            var parts = key.Split(' ');
            if (parts.Length < 3 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var time)) continue;
            if (DmarcReportRow.Decode(parts[0], time, rec.Value) is not { } row) continue;
            if (!result.TryGetValue(parts[0], out var list)) result[parts[0]] = list = [];
            list.Add((key, row));
        }
        return result;
    }

    /// <summary>The sender of report mail: DMARCReportFrom, with a domain of ours added when it is only a user name.</summary>
    public static string ReportFrom(ConfigSnapshot cfg, string ourDomain)
    {
        var from = cfg["DMARCReportFrom"].Trim();
        return from.Contains('@') ? from : from + "@" + ourDomain;
    }

    /// <summary>
    /// Sends the reports that are due: a domain's rows once the oldest is as old as its ri= (a day by default; or at once with
    /// <paramref name="force"/>), one report per policy domain to its rua= recipients not in noDMARCReportDomain.
    /// Sent rows are removed; rows of failed sends are kept for a week.
    /// </summary>
    public static async Task<int> SendDueAsync(ConfigSnapshot cfg, Assp.Storage.IStore store, TimeProvider clock,
        Func<string, IReadOnlyList<string>, byte[], CancellationToken, Task<string?>> send, Action<string> log, bool force, CancellationToken ct)
    {
        if (cfg["DMARCReportFrom"].Trim().Length == 0) return 0;
        var now = clock.GetUtcNow();
        var table = store.Table(Table);
        var excluded = cfg.GetAddressList("noDMARCReportDomain");
        int sent = 0;
        foreach (var (domain, entries) in Pending(store))
        {
            var rows = entries.OrderBy(e => e.Row.Time).ToList();
            if (!force && now.ToUnixTimeSeconds() - rows[0].Row.Time < rows[^1].Row.ReportInterval) continue;
            var to = rows[^1].Row.ReportTo.Split(',', StringSplitOptions.RemoveEmptyEntries).Where(a => !excluded.Contains(a)).ToList();
            var keys = rows.Select(r => r.Key).ToList();
            if (to.Count == 0)
            {
                foreach (var k in keys) table.Remove(k);
                continue;
            }
            var ours = rows.Select(r => r.Row.EnvelopeTo).FirstOrDefault(d => d.Length > 0) ?? cfg["myName"];
            var from = ReportFrom(cfg, ours);
            var report = new DmarcAggregateReport(cfg["myName"], from, domain, [.. rows.Select(r => r.Row)],
                DateTimeOffset.FromUnixTimeSeconds(rows[0].Row.Time), now);
            var failure = await send(from, to, report.ToMessage(from, to, now), ct).ConfigureAwait(false);
            if (failure is null)
            {
                foreach (var k in keys) table.Remove(k);
                log($"DMARC: aggregate report for {domain} ({rows.Count} messages) sent to {string.Join(", ", to)}");
                sent++;
            }
            else
            {
                log($"DMARC: aggregate report for {domain} not sent: {failure}");
                foreach (var r in rows.Where(r => now.ToUnixTimeSeconds() - r.Row.Time > 7 * 86400)) table.Remove(r.Key);
            }
        }
        return sent;
    }
}
