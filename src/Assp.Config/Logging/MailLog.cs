using System.Text;
using System.Threading.Channels;

namespace Assp.Config.Logging;

/// <summary>
/// The maillog: ASSP's line format ("date id [Worker] message"), written by one background writer so callers
/// never wait on the disk. The file named by `logfile` rolls at local midnight every LogRollDays days to
/// "DATE.name" (DATE is the day that ended, per LogNameDate); LogRollDays 0 or a file named maillog.log do not
/// roll (ASSP's rules). Rolled logs older than MaxLogAge days are deleted at roll time. Lines also go to the
/// console unless `silent` is set. Log times are local time, as in ASSP (UseLocalTime is about mail headers).
/// Lines matching noLogLineRe are dropped (after the notifier saw them); with sysLog every line also goes to
/// syslog (<see cref="SyslogSender"/>), whether or not asspLog writes the file.
/// </summary>
public sealed class MailLog : IAsyncDisposable
{
    private readonly Func<ConfigSnapshot> _config;
    private readonly TimeProvider _time;
    private readonly Channel<Entry> _lines = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
    private SyslogSender? _syslog;
    private string _syslogSettings = "";

    /// <summary>A queued line: the formatted text for the file, and the bare message and time for syslog.</summary>
    private readonly record struct Entry(string Line, string Message, DateTime When);
    private readonly Task _writer;
    private readonly TextWriter? _console;
    private FileStream? _file;
    private string? _openPath;
    private long _openPeriod;
    /// <summary>Lines that could not be written since the last good write (disk full, read-only), and why.</summary>
    private long _lostLines;
    private string? _lostReason;

    public MailLog(Func<ConfigSnapshot> config, TimeProvider? time = null, TextWriter? console = null)
    {
        _config = config;
        _time = time ?? TimeProvider.System;
        _console = console;
        _writer = Task.Run(WriteLoopAsync);
    }

    public DateTime Now() => _time.GetLocalNow().DateTime;

    /// <summary>Formats one line the way ASSP writes it: date, message id, worker, text.</summary>
    public static string FormatLine(ConfigSnapshot cfg, DateTime when, string? worker, string? messageId, string message)
    {
        var sb = new StringBuilder(64 + message.Length);
        sb.Append(LogDateFormat.Format(when, cfg["LogDateFormat"], cfg.GetChoice("LogDateLang")));
        if (messageId is not null && cfg.GetBool("uniqeIDLogging")) sb.Append(' ').Append(messageId);
        if (worker is not null && cfg.GetBool("WorkerLogging")) sb.Append(" [").Append(worker).Append(']');
        sb.Append(' ');
        // Continuation lines of a multi-line message are indented with a tab, as ASSP does.
        sb.Append(message.Replace("\r", "").Replace("\n", "\n\t"));
        return sb.ToString();
    }

    /// <summary>
    /// Sees every line as it is written (the formatted line and the bare message), e.g. the NotifyRe notifier; it
    /// runs on the caller's thread, so it must only queue. Lines whose message starts with ASSP's "*x*" marker are
    /// written without it and not shown to the observer (a notifier's own lines never notify).
    /// </summary>
    public Action<string, string>? LineObserver { get; set; }

    public const string NoNotifyMarker = "*x*";

    public void Write(string? worker, string? messageId, string message) => Write(worker, messageId, message, recorded: true);

    /// <summary>
    /// Queues one line. As in ASSP the notifier sees every line first; then noLogLineRe drops matching lines, and
    /// <paramref name="recorded"/> false (a session kept out by noLog or noLogRe) writes nothing either.
    /// </summary>
    public void Write(string? worker, string? messageId, string message, bool recorded)
    {
        var cfg = _config();
        bool noNotify = message.StartsWith(NoNotifyMarker, StringComparison.Ordinal);
        if (noNotify) message = message[NoNotifyMarker.Length..];
        var now = Now();
        var line = FormatLine(cfg, now, worker, messageId, message);
        if (!noNotify) LineObserver?.Invoke(line, message);
        if (!recorded || cfg.GetRegex("noLogLineRe").IsMatch(message)) return;
        _lines.Writer.TryWrite(new Entry(line, message, now));
    }

    public void Write(string message) => Write("Main_Thread", null, message);

    private async Task WriteLoopAsync()
    {
        var reader = _lines.Reader;
        var batch = new StringBuilder();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            int lines = 0;
            var cfg = _config();
            var syslog = SyslogFor(cfg);
            while (batch.Length < 1 << 20 && reader.TryRead(out var entry))
            {
                batch.Append(entry.Line).Append('\n');
                syslog?.Send(entry.When, entry.Message);
                lines++;
            }
            if (!cfg.GetBool("silent")) _console?.Write(batch.ToString());
            try
            {
                var stream = OpenFor(cfg);
                if (stream is null) continue;
                // The gap left by a full or unwritable disk is named in the log once it can be written again.
                if (_lostLines > 0)
                    batch.Insert(0, FormatLine(cfg, Now(), "Main_Thread", null, $"error: {_lostLines} maillog line(s) could not be written: {_lostReason}") + "\n");
                var bytes = Encoding.UTF8.GetBytes(batch.ToString());
                await stream.WriteAsync(bytes).ConfigureAwait(false);
                await stream.FlushAsync().ConfigureAwait(false);
                _lostLines = 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _console?.WriteLine($"maillog: cannot write: {ex.Message}");
                _lostLines += lines;
                _lostReason = ex.Message;
                CloseFile();
            }
        }
        CloseFile();
        _syslog?.Dispose();
    }

    /// <summary>The syslog sender for the current settings; reopened when they change, null when sysLog is off or unusable.</summary>
    private SyslogSender? SyslogFor(ConfigSnapshot cfg)
    {
        var settings = SyslogSender.SettingsOf(cfg);
        if (settings == _syslogSettings) return _syslog;
        _syslog?.Dispose();
        _syslog = null;
        _syslogSettings = settings;
        if (settings.Length == 0) return null;
        try
        {
            _syslog = SyslogSender.Open(cfg);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // Said once per settings change, in the file and on the console; the maillog itself goes on.
            var note = FormatLine(cfg, Now(), "Main_Thread", null, $"error: sysLog: {ex.Message}; lines are not sent to syslog");
            _console?.WriteLine(note);
            _lines.Writer.TryWrite(new Entry(note, note, Now()));
        }
        return _syslog;
    }

    /// <summary>Which LogRollDays-long period of local days a time falls in (ASSP counts from the epoch).</summary>
    private static long Period(DateTime local, int rollDays) =>
        (long)Math.Floor((local - DateTime.UnixEpoch).TotalDays / Math.Max(rollDays, 1));

    private static bool Rolls(ConfigSnapshot cfg, string path) =>
        cfg.GetInt("LogRollDays", 1) > 0 && !Path.GetFileName(path).Equals("maillog.log", StringComparison.OrdinalIgnoreCase);

    private FileStream? OpenFor(ConfigSnapshot cfg)
    {
        var name = cfg["logfile"].Trim();
        if (name.Length == 0 || !cfg.GetBool("asspLog"))
        {
            CloseFile();
            return null;
        }
        var path = Path.GetFullPath(Path.Combine(cfg.BaseDirectory, name));
        var now = Now();
        long period = Period(now, cfg.GetInt("LogRollDays", 1));
        if (_file is not null && _openPath == path && (period == _openPeriod || !Rolls(cfg, path))) return _file;
        bool periodEnded = _file is not null && _openPath == path;
        CloseFile();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (File.Exists(path) && Rolls(cfg, path))
        {
            // The file's own time also catches a log left from a period that ended while the proxy was down.
            bool stale = periodEnded || Period(File.GetLastWriteTime(path), cfg.GetInt("LogRollDays", 1)) != period;
            if (stale && new FileInfo(path).Length > 0) Roll(cfg, path, now);
        }
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        _openPath = path;
        _openPeriod = period;
        return _file;
    }

    private void Roll(ConfigSnapshot cfg, string path, DateTime now)
    {
        // The archive is named after the day that just ended (two hours back, as ASSP computes it).
        var stamp = LogDateFormat.Format(now.AddHours(-2), cfg["LogNameDate"], 0);
        var dir = Path.GetDirectoryName(path)!;
        var target = Path.Combine(dir, stamp + "." + Path.GetFileName(path));
        if (File.Exists(target)) return;   // ASSP keeps writing to the current log rather than overwrite an archive.
        File.Move(path, target);
        DeleteOldLogs(cfg, dir, Path.GetFileName(path));
    }

    private void DeleteOldLogs(ConfigSnapshot cfg, string dir, string baseName)
    {
        var maxAge = cfg.GetInt("MaxLogAge", 30);
        if (maxAge <= 0 || !Directory.Exists(dir)) return;
        var limit = _time.GetUtcNow().UtcDateTime.AddDays(-maxAge);
        foreach (var f in Directory.EnumerateFiles(dir, "*." + baseName))
        {
            if (File.GetLastWriteTimeUtc(f) < limit) File.Delete(f);
        }
    }

    /// <summary>The MaxLogAge clean-up on its own (the scheduled job; rolling also runs it). Returns how many files went.</summary>
    public int DeleteOldLogs()
    {
        var cfg = _config();
        var name = cfg["logfile"].Trim();
        if (name.Length == 0) return 0;
        var path = Path.GetFullPath(Path.Combine(cfg.BaseDirectory, name));
        var dir = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(dir)) return 0;
        int before = Directory.EnumerateFiles(dir, "*." + Path.GetFileName(path)).Count();
        DeleteOldLogs(cfg, dir, Path.GetFileName(path));
        return before - Directory.EnumerateFiles(dir, "*." + Path.GetFileName(path)).Count();
    }

    private void CloseFile()
    {
        var file = _file;
        _file = null;
        _openPath = null;
        // Closing flushes what is still buffered; on a full disk that fails again. Those lines are lost (counted by
        // the caller) and the handle is released all the same: the writer must live on for when space is back.
        try { file?.Dispose(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Waits until every line written so far is on disk.</summary>
    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }
}
