using System.Text;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Regexes;

namespace Assp.Smtp.BlockReports;

/// <summary>One blocked mail as the maillog tells it: when, from whom, to whom, why, and the stored copy if kept.</summary>
/// <param name="StoredFile">The collected file relative to the base folder ("spam/x.eml"), present on disk, else null.</param>
public sealed record BlockedMail(DateTime? Time, string? Sender, IReadOnlyList<string> Recipients, string Reason, string? Subject, string? StoredFile, string? Ip);

/// <summary>
/// Finds blocked mails in the maillog for block reports: records ASSP classes as spam, blocked or virus within the
/// days asked for, joined per message id (the refusal and the "[spam found]" lines of one mail are one entry). A mail
/// whose records match the filter (BlockReportFilter or the request's own) is left out, as ASSP does.
/// </summary>
public static class BlockedMailFinder
{
    private static readonly MaillogVerdict[] s_blocked = [MaillogVerdict.Spam, MaillogVerdict.Blocked, MaillogVerdict.Virus];

    /// <summary>The filter of a request: its own regex ($BRF stands for BlockReportFilter), else BlockReportFilter; null with a reason when it does not compile.</summary>
    public static Regex? Filter(ConfigSnapshot cfg, string? own, out string? error)
    {
        error = null;
        var configured = cfg["BlockReportFilter"].Trim();
        if (ConfigLoader.FileReference(configured) is not null) configured = cfg.GetRegex("BlockReportFilter").Pattern;
        var pattern = own is null ? configured : own.Replace("$BRF", configured.Length > 0 ? "(?:" + configured + ")" : "(?!)", StringComparison.Ordinal);
        if (pattern.Trim().Length == 0) return null;
        try
        {
            return ConfigRegex.Compile(pattern, ConfigRegex.DefaultMatchTimeout, ignoreCase: true);
        }
        catch (Exception e) when (e is ArgumentException or PerlRegexException)
        {
            error = $"the filter '{pattern}' is not a valid regular expression: {e.Message}";
            return null;
        }
    }

    /// <summary>Blocked mails since <paramref name="since"/> with a recipient the predicate takes, newest first.</summary>
    public static IReadOnlyList<BlockedMail> Find(ConfigSnapshot cfg, DateTime since, Func<string, bool> recipientWanted, Regex? filter, CancellationToken ct = default)
    {
        var query = new MaillogQuery
        {
            From = since,
            Verdicts = s_blocked,
            Take = 10_000,
            TimeLimit = cfg.GetInt("BlockMaxSearchTime") is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5),
        };
        var page = MaillogSearch.Search(cfg, query, ct);
        var groups = new List<List<MaillogEntry>>();
        var byId = new Dictionary<string, List<MaillogEntry>>(StringComparer.Ordinal);
        foreach (var entry in page.Entries)
        {
            if (entry.MessageId is { Length: > 0 } id)
            {
                if (!byId.TryGetValue(id, out var list)) { list = []; byId[id] = list; groups.Add(list); }
                list.Add(entry);
            }
            else groups.Add([entry]);
        }
        var found = new List<BlockedMail>();
        foreach (var records in groups)
        {
            var recipients = records.SelectMany(r => r.Recipients).Select(r => r.ToLowerInvariant()).Distinct().Where(recipientWanted).ToList();
            if (recipients.Count == 0) continue;
            if (filter is not null && records.Any(r => ConfigRegex.SafeMatch(filter, r.Line) is { Success: true })) continue;
            var stored = records.Select(r => r.StoredFile).FirstOrDefault(f => f is not null && StoredPath(cfg, f) is not null);
            var main = records.FirstOrDefault(r => r.StoredFile is not null) ?? records[0];
            found.Add(new BlockedMail(records.Select(r => r.Time).FirstOrDefault(t => t is not null), records.Select(r => r.Sender).FirstOrDefault(s => s is not null),
                recipients, Reason(main.Line), stored is null ? null : SubjectOf(StoredPath(cfg, stored)!), stored, records.Select(r => r.Ip).FirstOrDefault(i => i is not null)));
        }
        return found;
    }

    /// <summary>
    /// The full path of a stored file named by the maillog or a resend request, when it is inside the base folder and
    /// exists; null otherwise (so a request can never reach files outside the collection).
    /// </summary>
    public static string? StoredPath(ConfigSnapshot cfg, string relative)
    {
        if (relative.Length == 0 || relative.Contains('\0')) return null;
        var root = Path.GetFullPath(cfg.BaseDirectory);
        string full;
        try { full = Path.GetFullPath(Path.Combine(root, relative.Replace('\\', '/'))); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return null; }
        var rootWithSep = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSep, StringComparison.Ordinal)) return null;
        return File.Exists(full) ? full : null;
    }

    /// <summary>The record without date, message id and worker: what the report shows as the reason.</summary>
    private static string Reason(string line)
    {
        var first = line.Split('\n')[0];
        int refused = first.IndexOf("refused: ", StringComparison.Ordinal);
        if (refused >= 0) first = first[(refused + 9)..];
        else if (first.IndexOf("[spam found]", StringComparison.Ordinal) is var spam and >= 0) first = first[spam..];
        int arrow = first.LastIndexOf(" -> ", StringComparison.Ordinal);
        if (arrow >= 0) first = first[..arrow];
        return first.Trim();
    }

    /// <summary>The decoded Subject of a stored mail (first 16 KB only).</summary>
    internal static string? SubjectOf(string path)
    {
        try
        {
            var buffer = new byte[16 * 1024];
            int n;
            using (var s = File.OpenRead(path)) n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var message = Assp.Mime.MimeParser.Parse(buffer.AsMemory(0, n));
            return message.Subject;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
