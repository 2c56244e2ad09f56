using System.Text;
using System.Text.RegularExpressions;
using Assp.Checks.Collection;
using Assp.Config;
using Assp.Config.Logging;

namespace Assp.Web;

/// <summary>The filters of the maillog page, shared by the search and the live tail.</summary>
public sealed record MaillogFilter(string? Text, bool IsRegex, DateTime? From, DateTime? To, MaillogVerdict? Verdict)
{
    public bool IsEmpty => string.IsNullOrWhiteSpace(Text) && From is null && To is null && Verdict is null;

    public MaillogQuery ToQuery(int skip, int take) => new()
    {
        Text = Text, IsRegex = IsRegex, From = From, To = To, Verdicts = Verdict is { } v ? [v] : null, Skip = skip, Take = take,
    };
}

/// <summary>New maillog records since a byte offset of the current logfile (the live tail), filtered.</summary>
public sealed record MaillogTailPage(IReadOnlyList<MaillogEntry> Entries, long Offset, string? Error);

/// <summary>
/// The maillog page's helpers: reading what the current logfile got since the last look, and the stored message
/// files the lines name (found only inside the base folder or a corpus folder, never elsewhere).
/// </summary>
public static class MaillogTools
{
    /// <summary>At most this much of the log is read per tail request; the rest comes with the next one.</summary>
    public const int MaxTailBytes = 1 << 20;
    /// <summary>Stored messages bigger than this are not shown or resent from the web admin.</summary>
    public const long MaxMessageBytes = 32L << 20;

    /// <summary>The size of the current logfile: where a live tail starts.</summary>
    public static long EndOffset(ConfigSnapshot cfg) => CurrentLog(cfg) is { } f && File.Exists(f) ? new FileInfo(f).Length : 0;

    private static string? CurrentLog(ConfigSnapshot cfg) =>
        cfg["logfile"].Trim() is { Length: > 0 } name ? Path.GetFullPath(Path.Combine(cfg.BaseDirectory, name)) : null;

    /// <summary>
    /// MaillogTailBytes: the records in the last <paramref name="bytes"/> bytes of the current logfile, oldest first
    /// (a record cut by the window's start is left out), as ASSP's "View Maillog Tail" shows them.
    /// </summary>
    public static MaillogTailPage LastBytes(ConfigSnapshot cfg, long bytes, MaillogFilter filter)
    {
        long end = EndOffset(cfg);
        if (bytes <= 0 || end <= bytes) return Tail(cfg, 0, filter);
        var file = CurrentLog(cfg)!;
        long start = end - Math.Min(bytes, MaxTailBytes);
        try
        {
            // Start after the first line break inside the window, and skip continuation lines of a cut record.
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Position = start - 1;
            int b;
            bool atLineStart = false;
            while ((b = stream.ReadByte()) >= 0)
            {
                if (atLineStart && b != '\t') break;
                atLineStart = b == '\n';
            }
            start = b < 0 ? stream.Length : stream.Position - 1;
        }
        catch (IOException ex)
        {
            return new MaillogTailPage([], end, $"cannot read the maillog: {ex.Message}");
        }
        return Tail(cfg, start, filter);
    }

    /// <summary>
    /// The complete records written after <paramref name="offset"/>, oldest first, that pass the filter. A log that
    /// is shorter than the offset was rolled over: reading starts again at its beginning.
    /// </summary>
    public static MaillogTailPage Tail(ConfigSnapshot cfg, long offset, MaillogFilter filter)
    {
        var file = CurrentLog(cfg);
        if (file is null || !File.Exists(file)) return new MaillogTailPage([], 0, null);
        Regex? regex = null;
        if (filter.IsRegex && !string.IsNullOrWhiteSpace(filter.Text))
        {
            try
            {
                regex = new Regex(filter.Text.Trim(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(200));
            }
            catch (ArgumentException ex)
            {
                return new MaillogTailPage([], offset, $"invalid regular expression '{filter.Text}': {ex.Message}");
            }
        }
        byte[] buffer;
        long start;
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            start = offset < 0 || offset > stream.Length ? 0 : offset;
            int length = (int)Math.Min(stream.Length - start, MaxTailBytes);
            buffer = new byte[length];
            stream.Position = start;
            stream.ReadExactly(buffer);
        }
        catch (IOException ex)
        {
            return new MaillogTailPage([], offset, $"cannot read the maillog: {ex.Message}");
        }
        // Only whole lines; a line still being written comes with the next request.
        int end = Array.LastIndexOf(buffer, (byte)'\n') + 1;
        var text = Encoding.UTF8.GetString(buffer, 0, end);
        var parser = new MaillogLineParser(cfg["LogDateFormat"], cfg.GetChoice("LogDateLang"));
        var records = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            var l = line.TrimEnd('\r');
            if (l.Length == 0) continue;
            // Tab-indented lines continue the record above them.
            if (l[0] == '\t' && records.Count > 0) records[^1] += "\n" + l;
            else records.Add(l);
        }
        var entries = new List<MaillogEntry>();
        foreach (var record in records)
        {
            if (!string.IsNullOrWhiteSpace(filter.Text))
            {
                if (regex is null && record.IndexOf(filter.Text.Trim(), StringComparison.OrdinalIgnoreCase) < 0) continue;
                try
                {
                    if (regex is not null && !regex.IsMatch(record)) continue;
                }
                catch (RegexMatchTimeoutException)
                {
                    continue;
                }
            }
            var entry = parser.Parse(record, file);
            if (filter.Verdict is { } v && entry.Verdict != v) continue;
            if (filter.From is { } from && entry.Time is { } t1 && t1 < from) continue;
            if (filter.To is { } to && entry.Time is { } t2 && t2 > to) continue;
            entries.Add(entry);
        }
        return new MaillogTailPage(entries, start + end, null);
    }

    /// <summary>
    /// The full path of a stored message file named by a maillog line (relative to the base folder, or absolute),
    /// when it really lies (links followed) inside one of the corpus folders the collection writes to and exists;
    /// otherwise why not. The rest of the base folder (assp.cfg, the databases, the TLS key) is never served: an
    /// operator may read and resend mail, not the secrets of the installation.
    /// </summary>
    public static (string? Path, string? Problem) ResolveStoredFile(ConfigSnapshot cfg, string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains('\0')) return (null, "no file named");
        string full;
        try
        {
            full = Path.GetFullPath(Path.IsPathRooted(name) ? name : Path.Combine(cfg.BaseDirectory, name));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return (null, $"'{name}' is not a file name");
        }
        if (!MailFolders(cfg).Any(root => SafePaths.IsInside(full, root))) return (null, $"'{name}' is not in a mail folder");
        if (!File.Exists(full)) return (null, $"'{name}' does not exist (any more)");
        return (full, null);
    }

    /// <summary>
    /// The corpus folders stored mail may be read from. A folder set to the base folder itself or to one above it
    /// is left out: it would open every file of the installation.
    /// </summary>
    public static IReadOnlyList<string> MailFolders(ConfigSnapshot cfg) =>
        CorpusFolders.Options.Select(o => CorpusFolders.Resolve(cfg, o)).OfType<string>()
            .Where(folder => !SafePaths.Contains(folder, cfg.BaseDirectory)).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The bytes of a stored message, or why it cannot be read.</summary>
    public static (byte[]? Bytes, string? Problem) ReadStoredFile(ConfigSnapshot cfg, string? name)
    {
        var (path, problem) = ResolveStoredFile(cfg, name);
        if (path is null) return (null, problem);
        try
        {
            if (new FileInfo(path).Length > MaxMessageBytes) return (null, $"'{name}' is larger than {MaxMessageBytes >> 20} MB");
            return (File.ReadAllBytes(path), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot read '{name}': {ex.Message}");
        }
    }

    /// <summary>
    /// Copies a stored message into correctedspam (spam) or correctednotspam (ham), where the rebuild of the
    /// Bayesian database takes it from; returns the new file relative to the base folder.
    /// </summary>
    public static (string? Copied, string? Problem) CopyToCorpus(ConfigSnapshot cfg, string? name, bool spam)
    {
        var (path, problem) = ResolveStoredFile(cfg, name);
        if (path is null) return (null, problem);
        var option = spam ? "correctedspam" : "correctednotspam";
        var folder = CorpusFolders.Resolve(cfg, option);
        if (folder is null) return (null, $"{option} is empty: there is no folder to copy to");
        try
        {
            Directory.CreateDirectory(folder);
            var target = Path.Combine(folder, Path.GetFileName(path));
            if (File.Exists(target))
                target = Path.Combine(folder, Path.GetFileNameWithoutExtension(path) + "-" + Guid.NewGuid().ToString("N")[..8] + Path.GetExtension(path));
            File.Copy(path, target);
            return (Path.GetRelativePath(cfg.BaseDirectory, target), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot copy '{name}' to {option}: {ex.Message}");
        }
    }

    /// <summary>Sends a stored message again to one address through the relay, with EmailFrom as envelope sender.</summary>
    public static async Task<string?> ResendAsync(WebAdminContext admin, ConfigSnapshot cfg, string? name, string? to, CancellationToken ct)
    {
        to = to?.Trim();
        if (string.IsNullOrEmpty(to) || to.Length > 320 || to.Any(c => char.IsWhiteSpace(c) || c is '<' or '>' or ',') || to.IndexOf('@') <= 0)
            return $"'{to}' is not one mail address";
        var (bytes, problem) = ReadStoredFile(cfg, name);
        if (bytes is null) return problem;
        return await admin.SendMail(cfg, cfg["EmailFrom"].Trim(), [to], bytes, ct).ConfigureAwait(false);
    }
}
