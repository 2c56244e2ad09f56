using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Assp.Checks;
using Assp.Checks.Whitelist;
using Assp.Config;
using Assp.Mime;

namespace Assp.Smtp.BlockReports;

/// <summary>What a request to EmailBlockReport led to: the mails to send and lines for the maillog.</summary>
public sealed record BlockReportOutcome(IReadOnlyList<EmailReply> Mails, IReadOnlyList<string> Log);

/// <summary>
/// Block reports on request and on schedule, and resending of blocked mail.
/// A mail to EmailBlockReport is a resend request when its text holds "###file###" lines (the body of ASSP's resend
/// links), else a report request: leading digits of the subject are the days (default 5), the rest of the subject a
/// filter regex replacing BlockReportFilter. Block report admins (EmailAdmins, BlockReportAdmins,
/// EmailAdminReportsTo, EmailBlockTo) may add "query=>recipient=>days=>filter" lines to the text for other
/// addresses (within EmailAdminDomains, when it names them); other senders get their own report (or their group's,
/// when their address is a group name).
/// </summary>
public static partial class BlockReportService
{
    [GeneratedRegex(@"###(?<f>[^#\r\n]+?)###(?<special>[^\r\n]*)")]
    private static partial Regex ResendLineRegex();

    /// <summary>Is this address EmailBlockReport at EmailBlockReportDomain or at a domain the email interface answers for?</summary>
    public static bool IsBlockReportAddress(ConfigSnapshot cfg, string recipient, bool isLocalDomain)
    {
        if (!cfg.GetBool("EmailInterfaceOk")) return false;
        var name = cfg["EmailBlockReport"].Trim();
        if (name.Length == 0) return false;
        int at = recipient.LastIndexOf('@');
        if (at <= 0 || !recipient[..at].Equals(name, StringComparison.OrdinalIgnoreCase)) return false;
        var domain = recipient[(at + 1)..];
        var own = cfg["EmailBlockReportDomain"].Trim().TrimStart('@');
        return (own.Length > 0 && domain.Equals(own, StringComparison.OrdinalIgnoreCase))
            || Assp.Checks.EmailInterface.EmailCommands.IsInterfaceDomain(cfg, domain, isLocalDomain);
    }

    /// <summary>EmailAdmins, BlockReportAdmins, EmailAdminReportsTo and EmailBlockTo may report and resend for others.</summary>
    public static bool IsBlockAdmin(ConfigSnapshot cfg, string sender)
    {
        if (cfg.GetAddressList("EmailAdmins").Contains(sender) || cfg.GetAddressList("BlockReportAdmins").Contains(sender)) return true;
        foreach (var option in new[] { "EmailAdminReportsTo", "EmailBlockTo" })
        {
            var v = cfg[option].Trim();
            if (v.Length > 0 && v.Equals(sender, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>The "###file###" lines of a request (file and the text after it, e.g. "no whitelist").</summary>
    public static IReadOnlyList<(string File, string Special)> ResendLines(string body) =>
        ResendLineRegex().Matches(body).Select(m => (m.Groups["f"].Value.Trim(), m.Groups["special"].Value.Trim())).ToList();

    /// <summary>Carries out a mail to EmailBlockReport.</summary>
    /// <param name="forwarding">BlockRepForwHost peers will get the request: a resend of a file that is not here and whose
    /// link names another host is left to them instead of answered with a failure notice.</param>
    public static BlockReportOutcome HandleRequest(ConfigSnapshot cfg, string sender, byte[] message, WhitelistEditor? whitelist, DateTimeOffset now,
        bool forwarding = false, CancellationToken ct = default)
    {
        sender = sender.Trim().ToLowerInvariant();
        var parsed = MimeParser.Parse(message);
        var body = Assp.Checks.EmailInterface.EmailRequestText.BodyText(parsed);
        var resend = ResendLines(body);
        if (resend.Count > 0)
        {
            var otherHost = forwarding && LinkHost(parsed.Subject) is { } host && !host.Equals(cfg["myName"].Trim(), StringComparison.OrdinalIgnoreCase);
            return Resend(cfg, sender, resend, whitelist, otherHost);
        }
        return Report(cfg, sender, parsed.Subject ?? "", body, now, ct);
    }

    private static BlockReportOutcome Report(ConfigSnapshot cfg, string sender, string subject, string body, DateTimeOffset now, CancellationToken ct)
    {
        var log = new List<string>();
        var mails = new List<EmailReply>();
        var (days, subjectFilter) = ParseSubject(subject);
        var locals = LocalDomains.For(cfg);
        bool admin = IsBlockAdmin(cfg, sender);
        var jobs = new List<BlockReportJob>();
        if (admin)
        {
            // EmailAdminDomains may hold this admin to some users/domains; one query outside them voids the whole request.
            var restriction = AdminDomainRestriction.For(cfg, sender, log.Add);
            foreach (var line in body.Replace("\r", "", StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).Where(l => l.Contains("=>", StringComparison.Ordinal)))
            {
                if (BlockReportJob.Parse(line, 1, out var error) is not { } job) { log.Add($"block report request line '{line}' ignored: {error}"); continue; }
                if (restriction is not null && !restriction.Allows(job.Query, cfg.Groups))
                {
                    log.Add($"block report request from {sender} ignored: EmailAdminDomains does not allow it to ask for {job.Query} (line '{line}')");
                    return new BlockReportOutcome([], log);
                }
                // A filter in the subject and one in the line are both applied.
                var filter = (subjectFilter, job.Filter) switch
                {
                    (null, var f) => f,
                    (var f, null) => f,
                    var (a, b) => $"(?:{a})|(?:{b})",
                };
                // Non-local queries are for admins only and need an explicit recipient.
                if (!IsLocalQuery(cfg, locals, job.Query) && job.Recipient is null)
                {
                    log.Add($"block report request line '{line}' ignored: a report about non-local addresses needs a recipient");
                    continue;
                }
                jobs.Add(job with { Filter = filter });
            }
        }
        if (jobs.Count == 0)
        {
            // The sender's own report; a sender whose address is a group name gets the group's combined report.
            var query = cfg.Groups.TryGet(sender, out _) ? "[" + sender + "]" : sender;
            jobs.Add(new BlockReportJob(query, sender, days ?? 5, subjectFilter, []));
        }
        foreach (var job in jobs)
        {
            var built = Run(cfg, job, now, requested: true, ct);
            log.AddRange(built.Log);
            foreach (var mail in built.Mails)
            {
                // EmailBlockReply: 1 the requester (or the job's recipient), 2 EmailBlockTo, 3 both.
                int mode = cfg.GetChoice("EmailBlockReply");
                var copy = cfg["EmailBlockTo"].Trim();
                if ((mode & 1) != 0) mails.Add(mail);
                if ((mode & 2) != 0 && copy.Length > 0 && !mail.To.Contains(copy, StringComparer.OrdinalIgnoreCase))
                    mails.Add(mail with { To = [copy] });
            }
        }
        log.Insert(0, $"block report request from {sender}: {jobs.Count} quer{(jobs.Count == 1 ? "y" : "ies")}, {mails.Count} report mail(s)");
        return new BlockReportOutcome(mails, log);
    }

    /// <summary>Leading '+'/'-' (queue marks, taken as an instant request), then digits for the days, then a filter regex.</summary>
    public static (int? Days, string? Filter) ParseSubject(string subject)
    {
        var s = subject.Trim();
        if (s.StartsWith('+') || s.StartsWith('-')) s = s[1..].TrimStart();
        int i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        int? days = i > 0 && int.TryParse(s[..i], NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d > 0 ? Math.Min(d, 3660) : null;
        var filter = s[i..].Trim();
        return (days, filter.Length > 0 ? filter : null);
    }

    /// <summary>Builds the mails of one job. Scheduled runs send only reports that list something; requests always answer.</summary>
    public static BlockReportOutcome Run(ConfigSnapshot cfg, BlockReportJob job, DateTimeOffset now, bool requested, CancellationToken ct = default)
    {
        var log = new List<string>();
        var filter = BlockedMailFinder.Filter(cfg, job.Filter, out var error);
        if (error is not null)
        {
            log.Add($"block report for {job.Query}: {error}");
            return new BlockReportOutcome([], log);
        }
        var locals = LocalDomains.For(cfg);
        var wanted = Matcher(cfg, locals, job.Query, out var members);
        var since = now.UtcDateTime.AddDays(-job.Days).ToLocalTime();
        var found = BlockedMailFinder.Find(cfg, since, wanted, filter, ct);
        var mails = new List<EmailReply>();
        if (job.PerAddress)
        {
            // One report per blocked address (per group member for groups, including members without blocked mail when asked).
            var byAddress = found.SelectMany(m => m.Recipients.Where(wanted).Select(r => (r, m)))
                .GroupBy(x => x.r, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Select(x => x.m).ToList(), StringComparer.OrdinalIgnoreCase);
            var addresses = members ?? byAddress.Keys.ToList();
            foreach (var address in addresses.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                var list = byAddress.TryGetValue(address, out var l) ? l : [];
                if (list.Count == 0 && !requested) continue;
                mails.Add(BlockReportBuilder.Build(cfg, address, address, job.Days, list, now));
            }
        }
        else if (found.Count > 0 || requested)
        {
            mails.Add(BlockReportBuilder.Build(cfg, job.Recipient!, job.Query, job.Days, found, now));
        }
        log.Add($"block report for {job.Query} ({job.Days} day(s)): {found.Count} blocked mail(s), {mails.Count} report(s)");
        return new BlockReportOutcome(mails, log);
    }

    /// <summary>The jobs of BlockReportFile due now: at BlockReportSchedule the lines without their own cron, else the lines whose cron matches this minute.</summary>
    public static IReadOnlyList<BlockReportJob> DueJobs(ConfigSnapshot cfg, bool atBlockReportSchedule, DateTime localMinute, Action<string>? report = null) =>
        BlockReportJob.ReadFile(cfg, report)
            .Where(j => atBlockReportSchedule ? j.Cron.Count == 0 : j.Cron.Any(c => c.Matches(localMinute)))
            .ToList();

    /// <summary>Runs the given BlockReportFile jobs and sends their reports through the relay.</summary>
    public static async Task<int> RunScheduledAsync(ConfigSnapshot cfg, IReadOnlyList<BlockReportJob> jobs, DateTimeOffset now, Action<string> log, CancellationToken ct = default)
    {
        int sent = 0;
        foreach (var job in jobs)
        {
            var outcome = Run(cfg, job, now, requested: false, ct);
            foreach (var line in outcome.Log) log(line);
            foreach (var mail in outcome.Mails)
            {
                var failure = await EmailInterfaceReplies.SendAsync(cfg, mail, ct).ConfigureAwait(false);
                if (failure is null) sent++;
                log(failure is null ? $"block report sent to {string.Join(", ", mail.To)}" : $"block report to {string.Join(", ", mail.To)} could not be sent: {failure}");
            }
        }
        return sent;
    }

    private static bool IsLocalQuery(ConfigSnapshot cfg, LocalDomains locals, string query)
    {
        if (query.StartsWith('[')) return true;
        var domain = query[(query.LastIndexOf('@') + 1)..];
        return domain == "*" || locals.IsLocal(domain);
    }

    /// <summary>Which recipients a query covers; for a group also its member list (each member gets a report when asked per address).</summary>
    private static Func<string, bool> Matcher(ConfigSnapshot cfg, LocalDomains locals, string query, out List<string>? members)
    {
        members = null;
        if (query.StartsWith('[') && query.EndsWith(']'))
        {
            var list = cfg.Groups.TryGet(query[1..^1], out var entries)
                ? entries.Select(e => e.Text.Trim().ToLowerInvariant()).Where(BlockReportJob.IsPlainAddress).ToList()
                : [];
            members = list;
            var set = new HashSet<string>(list, StringComparer.OrdinalIgnoreCase);
            return set.Contains;
        }
        int at = query.LastIndexOf('@');
        var local = query[..at];
        var domain = query[(at + 1)..];
        if (domain == "*")
            return r => r.LastIndexOf('@') is var a and > 0 && locals.IsLocal(r[(a + 1)..]);
        if (local == "*")
            return r => r.EndsWith("@" + domain, StringComparison.OrdinalIgnoreCase);
        return r => r.Equals(query, StringComparison.OrdinalIgnoreCase);
    }

    // ---------------------------------------------------------------- resending

    /// <summary>The folders a resend may take a file from (ASSP's list), by option.</summary>
    private static readonly string[] s_resendFolders = ["spamlog", "discarded", "notspamlog", "incomingOkMail", "viruslog", "correctedspam", "correctednotspam"];

    /// <summary>The host a resend link names in its subject ("… from ASSP-host NAME"), or null.</summary>
    public static string? LinkHost(string? subject)
    {
        if (subject is null) return null;
        int i = subject.LastIndexOf("ASSP-host ", StringComparison.OrdinalIgnoreCase);
        if (i < 0) return null;
        var host = subject[(i + 10)..].Trim().Split(' ', 2)[0];
        return host.Length > 0 ? host : null;
    }

    private static BlockReportOutcome Resend(ConfigSnapshot cfg, string sender, IReadOnlyList<(string File, string Special)> lines, WhitelistEditor? whitelist,
        bool forwardedElsewhere)
    {
        var mails = new List<EmailReply>();
        var log = new List<string>();
        foreach (var (file, special) in lines)
        {
            if (forwardedElsewhere && FindStored(cfg, file, out _) is null)
            {
                log.Add($"resend of {file} requested by {sender}: the file is not here, the request goes to BlockRepForwHost");
                continue;
            }
            var result = PrepareResend(cfg, sender, file, special, whitelist);
            log.Add(result.Log);
            if (result.Mail is { } mail) mails.Add(mail);
            if (result.Notice is { } notice) mails.Add(notice);
        }
        return new BlockReportOutcome(mails, log);
    }

    /// <summary>One resend: the mail to deliver (to the MTA, from the original sender) or a notice to the requester.</summary>
    public sealed record ResendResult(EmailReply? Mail, EmailReply? Notice, string Log);

    /// <summary>
    /// Who gets a resent mail. Block report admins: its intended recipients (X-Assp-Intended-For, else the local To/Cc
    /// addresses). EmailResendRequester: the intended recipients, and the requester when named in To. Everybody else
    /// only for themselves, and only when they were a recipient of the mail. Empty: not allowed.
    /// </summary>
    public static IReadOnlyList<string> ResendRecipients(ConfigSnapshot cfg, string requester, MimeMessage mail, Func<string, bool> isLocal)
    {
        requester = requester.ToLowerInvariant();
        var intended = Addresses(mail, "X-Assp-Intended-For");
        var to = Addresses(mail, "To");
        var cc = Addresses(mail, "Cc");
        if (IsBlockAdmin(cfg, requester))
        {
            var list = intended.Count > 0 ? intended : to.Concat(cc).Where(isLocal).Distinct().ToList();
            return list.Count > 0 ? list : [requester];
        }
        if (cfg.GetAddressList("EmailResendRequester").Contains(requester))
        {
            var list = new List<string>(intended);
            if (to.Contains(requester) && !list.Contains(requester)) list.Add(requester);
            return list;
        }
        return intended.Contains(requester) || to.Contains(requester) || cc.Contains(requester) ? [requester] : [];
    }

    public static ResendResult PrepareResend(ConfigSnapshot cfg, string requester, string requestedFile, string special, WhitelistEditor? whitelist)
    {
        var myName = cfg["myName"].Trim();
        var path = FindStored(cfg, requestedFile, out var folderOption);
        if (path is null)
            return new ResendResult(null, Notice(cfg, requester, "failed - request ASSP to resend blocked mail",
                $"The requested mail file {requestedFile} does not exist (any more) on ASSP host {myName}.\r\nPlease ask your mail administrator if you need it."),
                $"resend of {requestedFile} requested by {requester} failed: the file is not here");
        bool admin = IsBlockAdmin(cfg, requester);
        bool requesterList = cfg.GetAddressList("EmailResendRequester").Contains(requester);
        if (folderOption == "viruslog" && !admin && !requesterList)
            return new ResendResult(null, Notice(cfg, requester, "denied - request ASSP to resend blocked mail",
                $"The requested mail file {requestedFile} on ASSP host {myName} may contain a virus and is not sent again.\r\nPlease ask your mail administrator."),
                $"resend of {requestedFile} requested by {requester} denied: it is in the viruslog folder");

        byte[] original;
        try { original = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ResendResult(null, null, $"resend of {requestedFile} requested by {requester} failed: {e.Message}");
        }
        // ClamAVLogScan/FileLogScan 1 and up: a stored file is scanned again before it is sent out (a short clamd call,
        // waited for here because the resend is prepared synchronously).
        var scanLog = new List<string>();
        var virus = Assp.Checks.Virus.StoredMailScanner.ScanResendAsync(cfg, path, original, scanLog.Add, CancellationToken.None).GetAwaiter().GetResult();
        if (virus is not null)
            return new ResendResult(null, Notice(cfg, requester, "denied - request ASSP to resend blocked mail",
                $"The requested mail file {requestedFile} on ASSP host {myName} contains a virus ({virus}) and is not sent again.\r\nPlease ask your mail administrator."),
                $"resend of {requestedFile} requested by {requester} refused: virus {virus}");
        var parsed = MimeParser.Parse(original);
        var locals = LocalDomains.For(cfg);
        bool IsLocal(string a) => a.LastIndexOf('@') is var at and > 0 && locals.IsLocal(a[(at + 1)..]);
        var recipients = ResendRecipients(cfg, requester, parsed, IsLocal);
        if (recipients.Count == 0)
            return new ResendResult(null, Notice(cfg, requester, "denied - request ASSP to resend blocked mail",
                $"The requested mail file {requestedFile} on ASSP host {myName} was not addressed to you.\r\nPlease ask your mail administrator."),
                $"resend of {requestedFile} requested by {requester} denied: the requester was not a recipient of the mail");

        var envelopeFrom = Addresses(parsed, "X-Assp-Envelope-From").FirstOrDefault() ?? Addresses(parsed, "From").FirstOrDefault() ?? "";
        var head = Encoding.ASCII.GetBytes($"X-Assp-Resend-Blocked: {myName}\r\n");
        var message = new byte[head.Length + original.Length];
        head.CopyTo(message, 0);
        original.CopyTo(message, head.Length);

        var notes = new List<string>();
        // autoAddResendToWhite: 1 users, 2 admins, 3 both; "no whitelist" after the file line opts out.
        int auto = cfg.GetChoice("autoAddResendToWhite");
        bool optOut = Regex.IsMatch(special, @"(?:don'?t|no)[^,]*?whit", RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(100));
        if (whitelist is not null && envelopeFrom.Length > 0 && !IsLocal(envelopeFrom) && !optOut && (admin ? (auto & 2) != 0 : (auto & 1) != 0))
        {
            var r = whitelist.AddToWhitelist(cfg, envelopeFrom.ToLowerInvariant(), admin ? null : requester);
            notes.Add($"sender {envelopeFrom} whitelisted ({r.Outcome})");
        }
        // DelResendSpam: a spamlog file is deleted after a user's resend, moved to correctednotspam after an admin's.
        bool keep = Regex.IsMatch(special, @"(?:don'?t|no)[^,]*?(?:del|rem|move)", RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(100));
        if (folderOption == "spamlog" && cfg.GetBool("DelResendSpam") && !keep)
        {
            try
            {
                if (admin && cfg["correctednotspam"].Trim() is { Length: > 0 } corrected)
                {
                    var dir = Path.IsPathRooted(corrected) ? corrected : Path.Combine(cfg.BaseDirectory, corrected);
                    Directory.CreateDirectory(dir);
                    File.Move(path, Path.Combine(dir, Path.GetFileName(path)), overwrite: true);
                    notes.Add("moved to " + corrected);
                }
                else
                {
                    File.Delete(path);
                    notes.Add("deleted from " + cfg["spamlog"].Trim());
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                notes.Add("could not be moved/deleted: " + e.Message);
            }
        }
        return new ResendResult(new EmailReply(envelopeFrom, recipients, message), null,
            $"resend of {requestedFile} requested by {requester} to {string.Join(", ", recipients)}{(notes.Count > 0 ? " - " + string.Join(", ", notes) : "")}");
    }

    /// <summary>The stored file a request names: where it says (inside the base folder), else by name in ASSP's collection folders.</summary>
    internal static string? FindStored(ConfigSnapshot cfg, string requested, out string? folderOption)
    {
        folderOption = null;
        var name = Path.GetFileName(requested.Replace('\\', '/'));
        var ext = cfg["maillogExt"].Trim() is { Length: > 0 } e ? e : ".eml";
        if (name.Length == 0 || !name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) return null;
        var folders = s_resendFolders.Select(o => (Option: o, Folder: cfg[o].Trim().Trim('/'))).Where(f => f.Folder.Length > 0).ToList();
        var requestedFolder = Path.GetDirectoryName(requested.Replace('\\', '/'))?.Replace('\\', '/').Trim('/') ?? "";
        foreach (var (option, folder) in folders.OrderByDescending(f => f.Folder.Equals(requestedFolder, StringComparison.Ordinal)))
        {
            if (BlockedMailFinder.StoredPath(cfg, folder + "/" + name) is { } path)
            {
                folderOption = option;
                return path;
            }
        }
        // RebuildFileTimeLimit moves slow corpus files to rebuild_error/<folder>; ASSP's resend looks there too.
        foreach (var (option, folder) in folders.Where(f => f.Option is "spamlog" or "notspamlog" or "correctedspam" or "correctednotspam"))
        {
            if (BlockedMailFinder.StoredPath(cfg, "rebuild_error/" + folder + "/" + name) is { } path)
            {
                folderOption = option;
                return path;
            }
        }
        return null;
    }

    /// <summary>Sends the prepared resends: the mails to smtpDestination, notices through the report relay.</summary>
    public static async Task<IReadOnlyList<string>> SendAsync(ConfigSnapshot cfg, BlockReportOutcome outcome, CancellationToken ct)
    {
        var log = new List<string>();
        foreach (var mail in outcome.Mails)
        {
            bool resend = mail.Message.AsSpan().StartsWith("X-Assp-Resend-Blocked:"u8);
            var failure = resend
                ? await ReportMailer.SendAsync(cfg, mail.From, mail.To, mail.Message, ct, cfg["smtpDestination"]).ConfigureAwait(false)
                : await EmailInterfaceReplies.SendAsync(cfg, mail, ct).ConfigureAwait(false);
            var what = resend ? "resent blocked mail" : "block report mail";
            log.Add(failure is null ? $"{what} sent to {string.Join(", ", mail.To)}" : $"{what} to {string.Join(", ", mail.To)} could not be sent: {failure}");
        }
        return log;
    }

    private static EmailReply Notice(ConfigSnapshot cfg, string to, string subject, string text)
    {
        var from = cfg["EmailFrom"].Trim();
        var sb = new StringBuilder();
        sb.Append("From: ").Append(from).Append("\r\nTo: ").Append(to).Append("\r\nSubject: ").Append(subject).Append("\r\n");
        sb.Append("Date: ").Append(DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)).Append("\r\n");
        sb.Append("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n").Append(text).Append("\r\n");
        return new EmailReply(from, [to], Encoding.UTF8.GetBytes(sb.ToString()));
    }

    [GeneratedRegex(@"[^\s<>,;:""()\[\]]+@[^\s<>,;:""()\[\]]+")]
    private static partial Regex AddressRegex();

    private static List<string> Addresses(MimeMessage mail, string header)
    {
        var list = new List<string>();
        foreach (var value in mail.Headers.GetAll(header))
            foreach (Match m in AddressRegex().Matches(value.Value))
            {
                var a = m.Value.Trim('.').ToLowerInvariant();
                if (!list.Contains(a)) list.Add(a);
            }
        return list;
    }
}
