using System.Diagnostics;
using System.Net;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Assp.Config.Logging;

/// <summary>What a maillog line says happened, for colouring and filtering.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MaillogVerdict>))]
public enum MaillogVerdict
{
    /// <summary>Delivered, nothing found ("message ok").</summary>
    Passed,
    /// <summary>Spam refused ("[spam found]").</summary>
    Spam,
    /// <summary>Spam found but passed on (test mode, spam lover, tag mode, low score).</summary>
    SpamPassed,
    /// <summary>Refused by a rule, a limit or the MTA.</summary>
    Blocked,
    /// <summary>Refused for now (4xx).</summary>
    TempFailed,
    Virus,
    Whitelisted,
    NoProcessing,
    /// <summary>A check scored the message or the IP.</summary>
    Scored,
    /// <summary>A check in monitor mode found something.</summary>
    Monitored,
    Error,
    /// <summary>Connection start and end.</summary>
    Connection,
    Other,
}

/// <summary>One maillog record (a line and its tab-indented continuation lines), split into the parts a GUI links.</summary>
/// <param name="StoredFile">The collected message file the line names (ASSP's fileLogging " -> folder/file"), or null.</param>
public sealed record MaillogEntry(
    string File,
    DateTime? Time,
    string Line,
    string? MessageId,
    string? SessionId,
    string? Worker,
    string? Ip,
    string? Sender,
    IReadOnlyList<string> Recipients,
    MaillogVerdict Verdict,
    string? StoredFile);

/// <summary>A maillog search: text (or a .NET regex), a time range, verdicts, and the page wanted (newest first).</summary>
public sealed record MaillogQuery
{
    public string? Text { get; init; }
    public bool IsRegex { get; init; }
    public DateTime? From { get; init; }
    public DateTime? To { get; init; }
    /// <summary>Only these verdicts (empty or null: all).</summary>
    public IReadOnlyCollection<MaillogVerdict>? Verdicts { get; init; }
    public int Skip { get; init; }
    public int Take { get; init; } = 100;
    /// <summary>The whole search stops after this long and returns what it found (TimedOut is set).</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>One page of results. Error names a bad query (e.g. an invalid regex); nothing is searched then.</summary>
public sealed record MaillogPage(IReadOnlyList<MaillogEntry> Entries, bool HasMore, int FilesSearched, long RecordsScanned, bool TimedOut, string? Error);

/// <summary>
/// Searches the maillog (the current `logfile` and its rolled "DATE.name" files beside it) newest first, reading each
/// file backwards block by block so memory stays bounded however big the logs are. Lines are parsed with the
/// instance's LogDateFormat/LogDateLang.
/// </summary>
public static partial class MaillogSearch
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(200);

    /// <summary>The maillog files, newest first: the current log, then the rolled ones by their last write time.</summary>
    public static IReadOnlyList<string> LogFiles(ConfigSnapshot cfg)
    {
        var name = cfg["logfile"].Trim();
        if (name.Length == 0) return [];
        var current = Path.GetFullPath(Path.Combine(cfg.BaseDirectory, name));
        var dir = Path.GetDirectoryName(current)!;
        var files = new List<string>();
        if (File.Exists(current)) files.Add(current);
        if (Directory.Exists(dir))
        {
            files.AddRange(Directory.EnumerateFiles(dir, "*." + Path.GetFileName(current))
                .Where(f => !string.Equals(f, current, StringComparison.Ordinal))
                .OrderByDescending(File.GetLastWriteTimeUtc).ThenByDescending(f => f, StringComparer.Ordinal));
        }
        return files;
    }

    public static MaillogPage Search(ConfigSnapshot cfg, MaillogQuery query, CancellationToken cancellationToken = default) =>
        Search(LogFiles(cfg), new MaillogLineParser(cfg["LogDateFormat"], cfg.GetChoice("LogDateLang")), query, cancellationToken);

    public static MaillogPage Search(IReadOnlyList<string> files, MaillogLineParser parser, MaillogQuery query, CancellationToken cancellationToken = default)
    {
        Regex? regex = null;
        var text = query.Text?.Trim();
        if (!string.IsNullOrEmpty(text) && query.IsRegex)
        {
            try
            {
                regex = new Regex(text, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexTimeout);
            }
            catch (ArgumentException ex)
            {
                return new MaillogPage([], false, 0, 0, false, $"invalid regular expression '{text}': {ex.Message}");
            }
        }
        int take = Math.Clamp(query.Take, 1, 10_000);
        int skip = Math.Max(query.Skip, 0);
        var found = new List<MaillogEntry>(Math.Min(take, 1000));
        var clock = Stopwatch.StartNew();
        int matched = 0, filesSearched = 0;
        long scanned = 0;
        bool timedOut = false, hasMore = false, done = false;
        foreach (var file in files)
        {
            if (done) break;
            // A rolled file last written before the range starts holds nothing newer.
            if (query.From is { } from && filesSearched > 0 && SafeLastWrite(file) is { } written && written < from) break;
            filesSearched++;
            IEnumerable<string> records;
            try
            {
                records = Records(ReverseLineReader.ReadLines(file));
                foreach (var record in records)
                {
                    if (cancellationToken.IsCancellationRequested || clock.Elapsed > query.TimeLimit) { timedOut = true; done = true; break; }
                    scanned++;
                    if (!string.IsNullOrEmpty(text) && regex is null && record.IndexOf(text, StringComparison.OrdinalIgnoreCase) < 0) continue;
                    if (regex is not null)
                    {
                        try
                        {
                            if (!regex.IsMatch(record)) continue;
                        }
                        catch (RegexMatchTimeoutException)
                        {
                            timedOut = true;
                            done = true;
                            break;
                        }
                    }
                    var entry = parser.Parse(record, file);
                    if (query.To is { } to && entry.Time > to) continue;
                    if (query.From is { } start && entry.Time is { } t && t < start)
                    {
                        // Records are in time order: everything further back is older still.
                        done = true;
                        break;
                    }
                    if ((query.From is not null || query.To is not null) && entry.Time is null) continue;
                    if (query.Verdicts is { Count: > 0 } verdicts && !verdicts.Contains(entry.Verdict)) continue;
                    if (matched++ < skip) continue;
                    if (found.Count == take)
                    {
                        hasMore = true;
                        done = true;
                        break;
                    }
                    found.Add(entry);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A log rolled or deleted while it was read: the others still count.
            }
        }
        return new MaillogPage(found, hasMore, filesSearched, scanned, timedOut, null);
    }

    private static DateTime? SafeLastWrite(string file)
    {
        try { return File.GetLastWriteTime(file); }
        catch (IOException) { return null; }
    }

    /// <summary>Joins the tab-indented continuation lines (read before their first line, going backwards) to their record.</summary>
    private static IEnumerable<string> Records(IEnumerable<string> linesBackwards)
    {
        List<string>? continuation = null;
        foreach (var line in linesBackwards)
        {
            if (line.StartsWith('\t'))
            {
                (continuation ??= []).Add(line);
                continue;
            }
            if (continuation is { Count: > 0 })
            {
                continuation.Reverse();
                yield return line + "\n" + string.Join('\n', continuation);
                continuation.Clear();
            }
            else if (line.Length > 0) yield return line;
        }
        if (continuation is { Count: > 0 })
        {
            continuation.Reverse();
            yield return string.Join('\n', continuation);
        }
    }
}

/// <summary>Splits one maillog record into time, ids, IP, sender, recipients, verdict and the stored file it names.</summary>
public sealed partial class MaillogLineParser
{
    private readonly Regex _date;
    private readonly int _language;

    public MaillogLineParser(string logDateFormat, int logDateLanguage = 0)
    {
        _language = logDateLanguage;
        _date = new Regex(LogDateFormat.Pattern(logDateFormat, logDateLanguage), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    [GeneratedRegex(@"^(?<id>\S*\d{5}-\d{5})(?=\s|$)")]
    private static partial Regex MessageIdRegex();
    [GeneratedRegex(@"^\[(?<w>[A-Za-z]+_[\w-]+)\](?=\s|$)")]
    private static partial Regex WorkerRegex();
    [GeneratedRegex(@"\bsession:(?<s>[0-9A-Fa-f]+)")]
    private static partial Regex SessionRegex();
    [GeneratedRegex(@"<(?<a>[^<>\s]*)>")]
    private static partial Regex SenderRegex();
    [GeneratedRegex(@"\bto: ?<?(?<r>[^\s<>,]+@[^\s<>,]+)>?", RegexOptions.IgnoreCase)]
    private static partial Regex RecipientRegex();
    [GeneratedRegex(@" -> (?<f>\S+)")]
    private static partial Regex FileRegex();
    [GeneratedRegex(@"\[SMTP (?:Reply|Error)\] (?<c>[45])\d\d")]
    private static partial Regex ReplyRegex();

    public MaillogEntry Parse(string record, string file = "")
    {
        DateTime? time = null;
        string rest = record;
        var dm = _date.Match(record);
        if (dm.Success)
        {
            time = LogDateFormat.Parse(dm, DateTime.Now, _language);
            rest = record[dm.Length..].TrimStart();
        }
        string? messageId = null, worker = null;
        if (MessageIdRegex().Match(rest) is { Success: true } idm)
        {
            messageId = idm.Groups["id"].Value;
            rest = rest[idm.Length..].TrimStart();
        }
        if (WorkerRegex().Match(rest) is { Success: true } wm)
        {
            worker = wm.Groups["w"].Value;
            rest = rest[wm.Length..].TrimStart();
        }
        string? sessionId = SessionRegex().Match(rest) is { Success: true } sm ? sm.Groups["s"].Value : null;
        string? sender = SenderRegex().Match(rest) is { Success: true } am ? am.Groups["a"].Value : null;
        var recipients = RecipientRegex().Matches(rest).Select(m => m.Groups["r"].Value).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var files = FileRegex().Matches(rest);
        string? stored = files.Count > 0 ? files[^1].Groups["f"].Value : null;
        return new MaillogEntry(file, time, record, messageId, sessionId, worker, FirstIp(rest), sender, recipients, Classify(rest), stored);
    }

    /// <summary>The first word that is an IP address (a trailing ":port", ':' or ',' and brackets are taken off).</summary>
    private static string? FirstIp(string text)
    {
        foreach (var raw in text.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var word = raw.Trim('[', ']', '(', ')', ',', ';');
            if (word.Length < 3 || !(word.Contains('.') || word.Contains(':'))) continue;
            if (!char.IsAsciiHexDigit(word[0]) && word[0] != ':') continue;
            if (IPAddress.TryParse(word, out var ip)) return ip.ToString();
            // "1.2.3.4:5678"
            int colon = word.LastIndexOf(':');
            if (colon > 0 && word.IndexOf(':') == colon && IPAddress.TryParse(word[..colon], out ip)) return ip.ToString();
        }
        return null;
    }

    /// <summary>The verdict class of a record, from the markers ASSP (and this proxy) write.</summary>
    public static MaillogVerdict Classify(string text)
    {
        bool Has(string s) => text.Contains(s, StringComparison.OrdinalIgnoreCase);
        if (Has("[VIRUS]") || Has("virus found") || Has("virus detected")) return MaillogVerdict.Virus;
        if (Has("[spam found]") || Has("spam found"))
            return Has("passing") ? MaillogVerdict.SpamPassed : MaillogVerdict.Spam;
        if (ReplyRegex().Match(text) is { Success: true } reply) return reply.Groups["c"].Value == "4" ? MaillogVerdict.TempFailed : MaillogVerdict.Blocked;
        if (Has("refused") || Has("blocked") || Has("rejected") || Has("denied") || Has("dropping connection"))
            return Has("temporar") || Has("try again") || Has("greylist") ? MaillogVerdict.TempFailed : MaillogVerdict.Blocked;
        if (Has("[whitelisted]") || Has("whitelisted")) return MaillogVerdict.Whitelisted;
        if (Has("[noprocessing]") || Has("noprocessing")) return MaillogVerdict.NoProcessing;
        if (Has("[MessageOK]") || Has("message ok")) return MaillogVerdict.Passed;
        if (Has("[monitoring]")) return MaillogVerdict.Monitored;
        if (Has("[scoring]") || Has("PB-IP") || Has("penaltybox")) return MaillogVerdict.Scored;
        if (Has("error:") || Has("warning:")) return MaillogVerdict.Error;
        if (Has("connected:") || Has("disconnected:") || Has("connection ended")) return MaillogVerdict.Connection;
        return MaillogVerdict.Other;
    }
}
