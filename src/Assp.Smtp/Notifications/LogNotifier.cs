using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Assp.Config;
using Assp.Mime;

namespace Assp.Smtp.Notifications;

/// <summary>
/// Notify/NotifyRe/NoNotifyRe: maillog lines that match a NotifyRe entry become a notification mail to the entry's
/// recipients (Notify by default), sent through the relay. The maillog only queues the line (bounded; past that a
/// line is not looked at); matching and sending happen on this class's own background loop, so logging never
/// waits for a regex or an SMTP server. Lines this class logs itself carry the "*x*" marker and never notify.
/// </summary>
public sealed class LogNotifier : IAsyncDisposable
{
    private readonly Func<ConfigSnapshot> _config;
    private readonly Action<string> _log;
    private readonly Func<ConfigSnapshot, string, IReadOnlyList<string>, byte[], CancellationToken, Task<string?>> _send;
    private readonly TimeProvider _time;
    private readonly Channel<(string Line, string Message)> _lines;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private long _reportedGeneration = -1;
    private long _dropped;
    private int _counter;

    /// <param name="log">Writes a maillog line (this class's own lines start with the "*x*" marker).</param>
    /// <param name="send">Delivers a message (defaults to <see cref="ReportMailer"/>: relayHost, else smtpDestination).</param>
    public LogNotifier(Func<ConfigSnapshot> config, Action<string> log,
        Func<ConfigSnapshot, string, IReadOnlyList<string>, byte[], CancellationToken, Task<string?>>? send = null,
        TimeProvider? time = null, int capacity = 1000)
    {
        _config = config;
        _log = log;
        _send = send ?? ((cfg, from, to, msg, ct) => ReportMailer.SendAsync(cfg, from, to, msg, ct));
        _time = time ?? TimeProvider.System;
        _lines = Channel.CreateBounded<(string, string)>(new BoundedChannelOptions(Math.Max(1, capacity)) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
        _loop = Task.Run(LoopAsync);
    }

    public long Sent => Interlocked.Read(ref _sent);
    private long _sent;

    /// <summary>The maillog hands every line here (see <see cref="Assp.Config.Logging.MailLog.LineObserver"/>); it only queues.</summary>
    public void Offer(string line, string message)
    {
        if (!_lines.Writer.TryWrite((line, message))) Interlocked.Increment(ref _dropped);
    }

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var (line, message) in _lines.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                var cfg = _config();
                var rules = NotifyRules.For(cfg);
                if (cfg.Generation != _reportedGeneration)
                {
                    _reportedGeneration = cfg.Generation;
                    foreach (var p in rules.Problems) _log(Assp.Config.Logging.MailLog.NoNotifyMarker + "warning: " + p);
                }
                if (Interlocked.Exchange(ref _dropped, 0) is var dropped and > 0)
                    _log($"{Assp.Config.Logging.MailLog.NoNotifyMarker}warning: notifications: {dropped} log lines were not checked against NotifyRe (queue full)");
                foreach (var rule in rules.Matching(cfg, line))
                    await NotifyAsync(cfg, rule, message).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task NotifyAsync(ConfigSnapshot cfg, NotifyRule rule, string message)
    {
        var myName = cfg["myName"];
        var subject = rule.Subject is { } s ? s + " from " + myName
            : $"ASSP event notification from {myName} [{(message.Length > 40 ? message[..40] : message)}]";
        var body = $"log event on host {myName}:\r\n\r\n{message}\r\n";
        var from = cfg["EmailFrom"].Trim();
        if (from.Length == 0)
            _log(Assp.Config.Logging.MailLog.NoNotifyMarker + "warning: 'EmailFrom' seems to be not configured - using '<>' as FROM: address");
        var mail = Build(cfg, from, rule.Recipients, subject, body, _time.GetUtcNow(), Interlocked.Increment(ref _counter));
        string? failure;
        try
        {
            failure = await _send(cfg, EnvelopeAddress(from), rule.Recipients.Select(EnvelopeAddress).ToList(), mail, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            failure = ex.Message;
        }
        var to = string.Join(",", rule.Recipients);
        if (failure is null)
        {
            Interlocked.Increment(ref _sent);
            if (cfg.GetChoice("MaintenanceLog") >= 1) _log($"{Assp.Config.Logging.MailLog.NoNotifyMarker}info: notification message sent to {to}");
        }
        else _log($"{Assp.Config.Logging.MailLog.NoNotifyMarker}error: unable to send the notification to {to} - {failure}");
    }

    /// <summary>
    /// An admin report in the notification format (e.g. RebuildNotify's rebuild report), from EmailFrom through the
    /// relay; returns null or why it failed.
    /// </summary>
    public static Task<string?> SendReportAsync(ConfigSnapshot cfg, IReadOnlyList<string> to, string subject, string body, CancellationToken ct,
        Func<ConfigSnapshot, string, IReadOnlyList<string>, byte[], CancellationToken, Task<string?>>? send = null)
    {
        if (to.Count == 0) return Task.FromResult<string?>("no recipient");
        var from = cfg["EmailFrom"].Trim();
        var mail = Build(cfg, from, to, subject, body, DateTimeOffset.UtcNow, Environment.TickCount);
        send ??= (c, f, t, m, token) => ReportMailer.SendAsync(c, f, t, m, token);
        return send(cfg, EnvelopeAddress(from), to.Select(EnvelopeAddress).ToList(), mail, ct);
    }

    /// <summary>
    /// The notification mail as ASSP writes it: Date (local time with UseLocalTime, else UTC), X-Assp-Notification:
    /// YES, From (EmailFrom), To, the subject as an encoded word when needed, and a UTF-8 quoted-printable text body.
    /// </summary>
    public static byte[] Build(ConfigSnapshot cfg, string from, IReadOnlyList<string> to, string subject, string body, DateTimeOffset now, int counter)
    {
        var date = cfg.GetBool("UseLocalTime") ? now.ToLocalTime() : now.ToUniversalTime();
        var sb = new StringBuilder();
        sb.Append("Date: ").Append(date.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture))
          .Append(date.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", "")).Append("\r\n");
        sb.Append("X-Assp-Notification: YES\r\n");
        sb.Append("From: ").Append(from.Length == 0 ? "ASSP <>" : Angle(from)).Append("\r\n");
        sb.Append("To: ").Append(string.Join(", ", to.Select(Angle))).Append("\r\n");
        sb.Append("Subject: ").Append(EncodedWords.EncodeIfNeeded(Clean(subject))).Append("\r\n");
        sb.Append("MIME-Version: 1.0\r\n");
        sb.Append("Content-Type: text/plain; charset=\"UTF-8\"\r\n");
        sb.Append("Content-Transfer-Encoding: quoted-printable\r\n");
        sb.Append("Message-ID: <a").Append(counter.ToString(CultureInfo.InvariantCulture)).Append('.')
          .Append(now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)).Append('@').Append(cfg["myName"]).Append(">\r\n");
        sb.Append("\r\n");
        foreach (var line in body.Replace("\r\n", "\n").Split('\n')) sb.Append(QuotedPrintable(line)).Append("\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>The bare address of "Name &lt;addr&gt;" (or the value itself), for the SMTP envelope.</summary>
    internal static string EnvelopeAddress(string value)
    {
        int lt = value.IndexOf('<'), gt = value.LastIndexOf('>');
        return lt >= 0 && gt > lt ? value[(lt + 1)..gt].Trim() : value.Trim();
    }

    private static string Clean(string text) => text.Replace('\r', ' ').Replace('\n', ' ');

    /// <summary>An address as a header mailbox: "Name &lt;addr&gt;" stays, a bare address gets angle brackets.</summary>
    private static string Angle(string address)
    {
        address = Clean(address.Trim());
        int lt = address.IndexOf('<');
        if (lt < 0) return "<" + address + ">";
        var name = address[..lt].Trim();
        return name.Length == 0 ? address[lt..] : EncodedWords.EncodeIfNeeded(name) + " " + address[lt..];
    }

    /// <summary>One text line as quoted-printable (UTF-8), with soft breaks so no line is longer than 76.</summary>
    internal static string QuotedPrintable(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var sb = new StringBuilder();
        int width = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            bool last = i == bytes.Length - 1;
            string piece = (b >= 33 && b <= 126 && b != '=') || ((b == ' ' || b == '\t') && !last)
                ? ((char)b).ToString()
                : "=" + b.ToString("X2", CultureInfo.InvariantCulture);
            if (width + piece.Length > 75)
            {
                sb.Append("=\r\n");
                width = 0;
            }
            sb.Append(piece);
            width += piece.Length;
        }
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false) != _loop)
            await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
