using System.Globalization;
using System.Text;
using Assp.Config;

namespace Assp.Smtp.Session;

/// <summary>
/// A session's debug file (debug, debugIP, debugRe): "debug/SESSION.dbg" next to the maillog, holding every log line
/// of the session (also those noLog or noLogRe keep out of the maillog), the client's commands, the replies it got,
/// and the message itself (only its header with debugNoWriteBody). AUTH data is never written. It takes the place
/// of ASSP's per-connection .dbg trace of its Perl internals: what is traced here is what the session did.
/// </summary>
internal sealed class SessionDebugLog : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly bool _withBody;
    private bool _broken;

    public string Path { get; }

    private SessionDebugLog(string path, StreamWriter writer, bool withBody)
    {
        Path = path;
        _writer = writer;
        _withBody = withBody;
    }

    /// <summary>The folder debug files go to: "debug" beside the maillog (logs/debug when logfile is empty).</summary>
    public static string Folder(ConfigSnapshot cfg)
    {
        var logfile = cfg["logfile"].Trim();
        var logDir = logfile.Length == 0
            ? System.IO.Path.Combine(cfg.BaseDirectory, "logs")
            : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(System.IO.Path.Combine(cfg.BaseDirectory, logfile)))!;
        return System.IO.Path.Combine(logDir, "debug");
    }

    /// <summary>Opens the file for a session; null (and the reason) when it cannot be created.</summary>
    public static SessionDebugLog? Open(ConfigSnapshot cfg, string sessionId, DateTime now, out string? problem)
    {
        problem = null;
        var folder = Folder(cfg);
        var safeId = string.Concat(sessionId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        var path = System.IO.Path.Combine(folder, $"{now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{safeId}.dbg");
        try
        {
            Directory.CreateDirectory(folder);
            var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
            return new SessionDebugLog(path, writer, !cfg.GetBool("debugNoWriteBody"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = ex.Message;
            return null;
        }
    }

    private void Write(string kind, string text)
    {
        if (_broken) return;
        try
        {
            _writer.WriteLine($"{DateTime.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} {kind} {text.TrimEnd('\r', '\n').Replace("\r\n", "\n" + new string(' ', 16))}");
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // A full disk ends the debug trace, never the session.
            _broken = true;
        }
    }

    public void Line(string logLine) => Write("log", logLine);

    /// <summary>A command from the client; AUTH keeps only its mechanism, so no credentials end up on disk.</summary>
    public void Command(string line)
    {
        if (line.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase))
        {
            var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            line = parts.Length > 1 ? $"{parts[0]} {parts[1]} ****" : line;
        }
        Write("C:", line);
    }

    public void Reply(string wire) => Write("S:", wire);

    /// <summary>The received message: all of it, or the header alone with debugNoWriteBody.</summary>
    public void Message(MessageBuffer message)
    {
        if (_broken) return;
        try
        {
            using var stream = message.OpenRead();
            using var reader = new StreamReader(stream, Encoding.Latin1);
            var text = new StringBuilder();
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                if (!_withBody && line.Length == 0) { text.Append("(body not written: debugNoWriteBody)\n"); break; }
                text.Append(line).Append('\n');
            }
            _writer.Write("---- message ----\n" + text + "---- end of message ----\n");
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            _broken = true;
        }
    }

    public void Dispose()
    {
        try { _writer.Dispose(); }
        catch (IOException) { }
    }
}
