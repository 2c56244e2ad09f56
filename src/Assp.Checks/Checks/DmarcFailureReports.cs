using System.Globalization;
using System.Text;
using Assp.Auth.Dmarc;
using Assp.Auth.Spf;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>What a failure report says about one message (RFC 6591 fields).</summary>
public sealed record DmarcFailureFacts(
    string PolicyDomain, string FromDomain, string SourceIp, string MailFrom, DateTimeOffset Arrival, string AuthenticationResults,
    string IdentityAlignment, string DeliveryResult, IReadOnlyList<string> FailedDkimDomains, string ReportedHeaders);

/// <summary>
/// An RFC 7489 7.3 failure report in the AFRF format of RFC 5965/6591: multipart/report with report-type=feedback-report,
/// a human-readable part, the message/feedback-report part (Feedback-Type: auth-failure, Auth-Failure: dmarc) and the
/// reported message's header as text/rfc822-headers (the body is left out, as ASSP does, to disclose no content).
/// </summary>
public static class DmarcFailureReport
{
    public static byte[] ToMessage(DmarcFailureFacts f, string reporter, string from, IReadOnlyList<string> to, DateTimeOffset date)
    {
        var id = $"{f.PolicyDomain}.{date.ToUnixTimeMilliseconds()}.{Guid.NewGuid():N}";
        var boundary = "=_dmarcf_" + Guid.NewGuid().ToString("N");
        var sb = new StringBuilder();
        void Line(string s) => sb.Append(s).Append("\r\n");
        string Rfc5322(DateTimeOffset d) => d.ToUniversalTime().ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture);
        Line($"From: {from}");
        Line($"To: {string.Join(", ", to)}");
        Line($"Subject: Report Domain: {f.PolicyDomain} Submitter: {reporter} Report-ID: <{id}>");
        Line($"Date: {Rfc5322(date)}");
        Line($"Message-ID: <{id}@{reporter}>");
        Line("MIME-Version: 1.0");
        Line($"Content-Type: multipart/report; report-type=feedback-report; boundary=\"{boundary}\"");
        Line("");
        Line($"--{boundary}");
        Line("Content-Type: text/plain; charset=us-ascii");
        Line("Content-Transfer-Encoding: 7bit");
        Line("");
        Line($"This is a DMARC authentication failure report for a message with the From: domain {f.FromDomain}");
        Line($"received from IP {f.SourceIp} on {Rfc5322(f.Arrival)}.");
        Line("");
        Line($"--{boundary}");
        Line("Content-Type: message/feedback-report");
        Line("Content-Transfer-Encoding: 7bit");
        Line("");
        Line("Feedback-Type: auth-failure");
        Line("User-Agent: ASSP.NET");
        Line("Version: 1");
        Line($"Original-Mail-From: <{f.MailFrom}>");
        Line($"Arrival-Date: {Rfc5322(f.Arrival)}");
        Line($"Reporting-MTA: dns; {reporter}");
        Line($"Source-IP: {f.SourceIp}");
        Line($"Reported-Domain: {f.FromDomain}");
        Line($"Authentication-Results: {f.AuthenticationResults}");
        Line("Auth-Failure: dmarc");
        Line($"Identity-Alignment: {f.IdentityAlignment}");
        Line($"Delivery-Result: {f.DeliveryResult}");
        foreach (var d in f.FailedDkimDomains.Distinct(StringComparer.OrdinalIgnoreCase)) Line($"DKIM-Domain: {d}");
        Line("");
        Line($"--{boundary}");
        Line("Content-Type: text/rfc822-headers");
        bool eightBit = f.ReportedHeaders.Any(c => c > 127);
        Line(eightBit ? "Content-Transfer-Encoding: 8bit" : "Content-Transfer-Encoding: 7bit");
        Line("");
        foreach (var h in f.ReportedHeaders.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n')) Line(h);
        Line("");
        Line($"--{boundary}--");
        return Encoding.Latin1.GetBytes(sb.ToString());
    }
}

/// <summary>
/// DMARC failure reports (ruf=): a message whose evaluation matches the domain's fo= options is reported at once to its
/// ruf= mailto: addresses, in the AFRF format (rf=) only. Needs DMARCReportFrom; addresses in noDMARCReportDomain are
/// skipped, as is a ruf= address whose size limit ("!10k") the report exceeds, and an address in another organisational
/// domain that has not agreed to take the domain's reports (RFC 7489 7.1: "policy._report._dmarc.ruf-domain").
/// At most one report per policy domain and source IP an hour, so a forged flood cannot make us flood the victim.
/// Reports are queued in the "dmarcfailures" table and sent by the report job through the relay.
/// </summary>
public static class DmarcFailureReports
{
    public const string Table = "dmarcfailures";
    public const string SentTable = "dmarcfailures.sent";
    /// <summary>One report per policy domain and source IP in this time.</summary>
    public const int RateLimitSeconds = 3600;
    /// <summary>A report the relay does not take is tried again until it is this old.</summary>
    public const int KeepSeconds = 86400;
    private static long _sequence;

    /// <summary>
    /// Does fo= ask for a report (RFC 7489 6.3)? 0: no mechanism gave an aligned pass; 1: some mechanism did not;
    /// d: a DKIM signature failed to verify, aligned or not; s: SPF failed, aligned or not. Options are colon separated.
    /// </summary>
    public static bool Wanted(string fo, bool spfAligned, bool dkimAligned, SpfResult? spf, IEnumerable<DkimDomainResult> dkim)
    {
        foreach (var option in fo.Split([':', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            bool hit = option.ToLowerInvariant() switch
            {
                "0" => !spfAligned && !dkimAligned,
                "1" => !spfAligned || !dkimAligned,
                "d" => dkim.Any(d => !d.Passed),
                "s" => spf == SpfResult.Fail,
                _ => false,
            };
            if (hit) return true;
        }
        return false;
    }

    /// <summary>The ruf= addresses that may get a report: not excluded, and agreeing to take reports for the domain.</summary>
    public static async Task<IReadOnlyList<DmarcReportUri>> DestinationsAsync(ConfigSnapshot cfg, ISpfDns dns, string policyDomain, DmarcRecord record,
        Action<string> log, CancellationToken ct)
    {
        if (cfg["DMARCReportFrom"].Trim().Length == 0 || !record.AcceptsAfrf) return [];
        var excluded = cfg.GetAddressList("noDMARCReportDomain");
        var result = new List<DmarcReportUri>();
        foreach (var uri in record.FailureReports)
        {
            if (uri.MailAddress is not { } address || address.LastIndexOf('@') is var at && (at <= 0 || at == address.Length - 1)) continue;
            if (excluded.Contains(address)) continue;
            var rufDomain = address[(at + 1)..].TrimEnd('.').ToLowerInvariant();
            if (!DmarcEvaluator.OrganizationalDomain(rufDomain).Equals(DmarcEvaluator.OrganizationalDomain(policyDomain), StringComparison.Ordinal)
                && !await AcceptsReportsForAsync(dns, policyDomain, rufDomain, ct).ConfigureAwait(false))
            {
                log($"DMARC: failure reports of {policyDomain} not sent to {address} - {rufDomain} publishes no {policyDomain}._report._dmarc record");
                continue;
            }
            result.Add(uri);
        }
        return result;
    }

    /// <summary>RFC 7489 7.1: a report domain outside the policy's organisation agrees with a DMARC1 TXT at policy._report._dmarc.domain.</summary>
    public static async Task<bool> AcceptsReportsForAsync(ISpfDns dns, string policyDomain, string reportDomain, CancellationToken ct)
    {
        var answer = await dns.GetTxtAsync($"{policyDomain}._report._dmarc.{reportDomain}", ct).ConfigureAwait(false);
        return !answer.IsError && answer.Records.Any(DmarcRecord.LooksLikeDmarc);
    }

    /// <summary>Queues a report for the message when its fo= asks for one and the rate limit allows.</summary>
    internal static async Task QueueAsync(CheckContext context, CheckServices services, DmarcOutcome outcome, SpfCheckResult? spf, string deliveryResult,
        CancellationToken ct)
    {
        var cfg = context.Config;
        if (services.Store is not { } store || services.Dns is not { } dns || outcome.Record is not { } record || outcome.PolicyDomain is not { } domain) return;
        if (record.FailureReports.Count == 0 || cfg["DMARCReportFrom"].Trim().Length == 0) return;
        var dkim = context.State.DkimResults ?? [];
        if (!Wanted(record.FailureOptions, outcome.SpfAligned, outcome.DkimAligned, spf?.Result, dkim)) return;
        var now = services.Time.GetUtcNow();
        var ip = context.State.ScoredIp?.ToString() ?? context.Ip.ToString();
        var sent = store.Table(SentTable);
        var rateKey = $"{domain} {ip}";
        if (sent.TryGet(rateKey, out var last) && now.ToUnixTimeSeconds() - last.Updated < RateLimitSeconds)
        {
            context.Log($"DMARC: failure report for {domain} skipped - one was made for {ip} less than an hour ago");
            return;
        }
        var destinations = await DestinationsAsync(cfg, new DnsResolverSpfDns(dns.Resolver), domain, record, context.Log, ct).ConfigureAwait(false);
        if (destinations.Count == 0) return;

        var mailFrom = context.Mail.MailFrom ?? "";
        var rcpt = context.Mail.Recipients.Count > 0 ? context.Mail.Recipients[0] : "";
        var ourDomain = rcpt.Contains('@') ? rcpt[(rcpt.LastIndexOf('@') + 1)..].ToLowerInvariant() : cfg["myName"];
        var from = DmarcReports.ReportFrom(cfg, ourDomain);
        var alignment = outcome.SpfAligned && outcome.DkimAligned ? "dkim, spf" : outcome.DkimAligned ? "dkim" : outcome.SpfAligned ? "spf" : "none";
        var dkimText = dkim.Count == 0 ? "dkim=none" : string.Join("; ", dkim.Select(d => $"dkim={(d.Passed ? "pass" : "fail")} header.d={d.Domain}"));
        var auth = $"{cfg["myName"]}; dmarc={outcome.ResultText} header.from={outcome.FromDomain}; "
            + $"spf={(spf is null ? "none" : DmarcReports.ReportSpfResult(spf.Result))} smtp.mailfrom={(mailFrom.Length > 0 ? mailFrom : spf?.Domain ?? "")}; {dkimText}";
        var headers = context.State.Parsed is { } parsed ? Encoding.Latin1.GetString(parsed.Root.RawHeaders.Span) : "";
        var facts = new DmarcFailureFacts(domain, outcome.FromDomain, ip, mailFrom, now, auth, alignment, deliveryResult,
            [.. dkim.Where(d => !d.Passed).Select(d => d.Domain)], headers);
        var to = destinations.Select(d => d.MailAddress!).ToList();
        var message = DmarcFailureReport.ToMessage(facts, cfg["myName"], from, to, now);
        // A destination's size limit ("!50k") drops it when the report is larger.
        to = [.. destinations.Where(d => d.MaxBytes is not { } max || message.Length <= max).Select(d => d.MailAddress!)];
        if (to.Count == 0)
        {
            context.Log($"DMARC: failure report for {domain} ({message.Length} bytes) larger than every ruf= size limit - not sent");
            return;
        }
        if (to.Count != destinations.Count) message = DmarcFailureReport.ToMessage(facts, cfg["myName"], from, to, now);
        sent.Set(rateKey, "1", now.ToUnixTimeSeconds());
        store.Table(Table).Set($"{now.ToUnixTimeSeconds()} {context.Mail.SessionId}.{Interlocked.Increment(ref _sequence)}",
            from + "\t" + string.Join(',', to) + "\t" + Convert.ToBase64String(message));
        context.Log($"DMARC: failure report for {domain} queued to {string.Join(", ", to)}");
    }

    /// <summary>The queued reports: (key, sender, recipients, message).</summary>
    public static IReadOnlyList<(string Key, string From, IReadOnlyList<string> To, byte[] Message)> Pending(Assp.Storage.IStore store)
    {
        var list = new List<(string, string, IReadOnlyList<string>, byte[])>();
        foreach (var (key, rec) in store.Table(Table).Scan())
        {
            var f = rec.Value.Split('\t');
            if (f.Length != 3) continue;
            byte[] message;
            try { message = Convert.FromBase64String(f[2]); }
            catch (FormatException) { continue; }
            list.Add((key, f[0], f[1].Split(',', StringSplitOptions.RemoveEmptyEntries), message));
        }
        return list;
    }

    /// <summary>Sends every queued report; sent ones and those older than a day are removed. Returns how many went out.</summary>
    public static async Task<int> SendPendingAsync(Assp.Storage.IStore store, TimeProvider clock,
        Func<string, IReadOnlyList<string>, byte[], CancellationToken, Task<string?>> send, Action<string> log, CancellationToken ct)
    {
        var table = store.Table(Table);
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        int count = 0;
        foreach (var (key, from, to, message) in Pending(store))
        {
            var failure = await send(from, to, message, ct).ConfigureAwait(false);
            if (failure is null)
            {
                table.Remove(key);
                log($"DMARC: failure report sent to {string.Join(", ", to)}");
                count++;
                continue;
            }
            log($"DMARC: failure report to {string.Join(", ", to)} not sent: {failure}");
            if (long.TryParse(key.Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var queued) && now - queued > KeepSeconds) table.Remove(key);
        }
        // Rate-limit marks older than their window are no longer needed.
        store.Table(SentTable).RemoveWhere((_, r) => now - r.Updated >= RateLimitSeconds);
        return count;
    }
}
