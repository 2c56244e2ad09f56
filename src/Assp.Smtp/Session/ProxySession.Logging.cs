using System.Text;
using Assp.Mime;

namespace Assp.Smtp.Session;

/// <summary>
/// What a session writes to the maillog and its debug file:
/// noLog (client or local IP) and noLogRe (a mail's addresses or header) keep the session out of the maillog from
/// then on (the notifier still sees its lines, as in ASSP); allLogRe (addresses or header) logs it even so and stores
/// its mail complete; noLogLineRe drops single lines whatever the session; tagLogging puts the check's tag (e.g.
/// [DNSBL]) in front of the session's lines once a check has set one; ipmatchLogging and slmatchLogging name the IP
/// and address lists the client, the sender and the recipients are on;
/// debug, debugIP and debugRe open a debug file for it (<see cref="SessionDebugLog"/>); subjectLogging puts the
/// subject on the lines that say what became of a mail.
/// </summary>
public sealed partial class ProxySession
{
    private bool _logSuppressed;
    private bool _logForced;
    private SessionDebugLog? _debug;

    private void Log(string message)
    {
        var text = _expandedLogging ? Expand(message) : message;
        if (_subjectLogging && text.Contains("[spam found]", StringComparison.Ordinal)) text += SubjectForLog();
        if (_tagLogging && _ctx.CheckState.Message.Prepend is { Length: > 0 } tags && tags.ToString() is var prepend && !text.StartsWith(prepend, StringComparison.Ordinal))
            text = prepend + " " + text;
        _debug?.Line(text);
        _log?.Write("Worker_1", _ctx.MessageId, text, recorded: _logForced || !_logSuppressed);
    }

    private bool _tagLogging;

    private bool _subjectLogging;

    /// <summary>The subject for a line about a mail's fate, when subjectLogging is on.</summary>
    private string LoggedSubject => _subjectLogging ? SubjectForLog() : "";

    /// <summary>The connection's own switches: noLog and debugIP look at both the client's and our address.</summary>
    private void StartSessionLogging()
    {
        _subjectLogging = _cfg.GetBool("subjectLogging");
        _tagLogging = _cfg.GetBool("tagLogging");
        var remote = _ctx.RemoteAddress;
        var local = _ctx.LocalAddress;
        var noLog = _cfg.GetIpList("noLog");
        _logSuppressed = noLog.Count > 0 && (noLog.Contains(remote) || noLog.Contains(local));
        if (_cfg.GetBool("debug")) StartDebug("debug is on");
        else if (_cfg.GetIpList("debugIP") is { Count: > 0 } debugIp && (debugIp.Contains(remote) || debugIp.Contains(local)))
            StartDebug($"{remote} or {local} is in debugIP");
        LogIpMatches();
    }

    /// <summary>IP lists of the web admin and the statistics server, which say nothing about an SMTP client.</summary>
    private static readonly HashSet<string> s_notClientIpLists = new(StringComparer.Ordinal)
    {
        "allowAdminConnectionsFrom", "allowStatConnectionsFrom", "URIBLIPRe",
    };

    /// <summary>
    /// ipmatchLogging: at connect, every IP list the client is on, with the matching entry's comment (the text after
    /// the range) or, without one, the range itself.
    /// </summary>
    private void LogIpMatches()
    {
        if (!_cfg.GetBool("ipmatchLogging")) return;
        var ip = _ctx.RemoteAddress;
        foreach (var option in _cfg.Registry.Options)
        {
            if (option.Kind != Assp.Config.Registry.OptionKind.IpList || s_notClientIpLists.Contains(option.Name)) continue;
            if (_cfg.GetIpList(option.Name).Match(ip) is { } hit)
                Log($"IP {ip} matches {option.Name}: {(hit.Comment.Trim().Length > 0 ? hit.Comment.Trim() : hit.Network.ToString())}");
        }
    }

    /// <summary>slmatchLogging: the address lists a sender or recipient is on.</summary>
    private void LogAddressMatches(string address, string what)
    {
        if (!_cfg.GetBool("slmatchLogging") || address.Length == 0) return;
        var lists = _cfg.Registry.Options
            .Where(o => o.Kind == Assp.Config.Registry.OptionKind.AddressList && _cfg.GetAddressList(o.Name).Contains(address))
            .Select(o => o.Name).ToList();
        if (lists.Count > 0) Log($"{what} {address} matches {string.Join(", ", lists)}");
    }

    private void StartDebug(string why)
    {
        _debug = SessionDebugLog.Open(_cfg, _ctx.SessionId, DateTime.Now, out var problem);
        if (_debug is null)
        {
            Log($"warning: the debug file for session {_ctx.SessionId} cannot be written: {problem}");
            return;
        }
        _debug.Line($"debug file of session {_ctx.SessionId} {_ctx.RemoteAddress}:{_ctx.Remote.Port} > {_ctx.LocalAddress}:{_ctx.LocalPort}: {why}");
    }

    /// <summary>
    /// A mail's sender, a recipient or its header: allLogRe, noLogRe and debugRe decide on it. allLogRe wins over
    /// noLog and noLogRe (it is there to look at problems), and is said in the log.
    /// </summary>
    private void InspectForLogging(string text, string what)
    {
        if (text.Length == 0) return;
        if (what != "header") LogAddressMatches(text, what);
        if (!_logForced && _cfg.GetRegex("allLogRe").Match(text) is { } all)
        {
            _logForced = true;
            Log($"allLogRe: '{all}' found in the {what} - the mail is logged completely and stored complete");
        }
        if (!_logForced && !_logSuppressed && _cfg.GetRegex("noLogRe").Match(text) is not null)
        {
            _logSuppressed = true;
            _debug?.Line($"noLogRe matched the {what}: the maillog gets no more lines of this session");
        }
        if (_debug is null && !_cfg.GetBool("debug") && _cfg.GetRegex("debugRe").Match(text) is { } debugHit)
            StartDebug($"debugRe matched '{debugHit}' in the {what}");
    }

    /// <summary>After DATA: the header goes through the log switches and the message into the debug file.</summary>
    private void InspectMessageForLogging()
    {
        if (_ctx.Message is null) return;
        InspectForLogging(HeaderText(_ctx.Message), "header");
        _debug?.Message(_ctx.Message);
    }

    private static string HeaderText(MessageBuffer message)
    {
        var head = new byte[64 * 1024];
        int n;
        using (var s = message.OpenRead()) n = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var text = Encoding.Latin1.GetString(head, 0, n);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return end >= 0 ? text[..(end + 2)] : text;
    }

    /// <summary>
    /// " [subject]" with subjectStart/subjectEnd, as ASSP shows it; empty outside a mail. UseUnicode4SubjectLogging
    /// shows encoded words decoded; otherwise the subject stays as written in the header, 8-bit bytes as '?'.
    /// </summary>
    private string SubjectForLog()
    {
        if (_ctx.Message is not { Length: > 0 } message || _ctx.MailFrom is null) return "";
        string? raw;
        try
        {
            raw = RawSubject(message);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            return "";
        }
        if (raw is null) return "";
        string subject;
        if (_cfg.GetBool("UseUnicode4SubjectLogging"))
        {
            subject = EncodedWords.Decode(raw);
        }
        else
        {
            var sb = new StringBuilder(raw.Length);
            foreach (var c in raw) sb.Append(c is >= ' ' and < (char)127 ? c : '?');
            subject = sb.ToString();
        }
        subject = subject.Replace("\r", "").Replace("\n", " ").Replace("\t", " ").Trim();
        return $" {_cfg["subjectStart"]}{subject}{_cfg["subjectEnd"]}";
    }

    // ConTimeOutDebug: the last commands of the session, written with the timeout so the admin sees where it hung.
    private Queue<string>? _recentCommands;
    private const int RecentCommandsKept = 20;

    private void RememberForTimeout(string command)
    {
        if (!_cfg.GetBool("ConTimeOutDebug")) return;
        _recentCommands ??= new Queue<string>(RecentCommandsKept);
        if (_recentCommands.Count == RecentCommandsKept) _recentCommands.Dequeue();
        if (command.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase)) command = command.Split(' ', 3)[0] + " ...";
        _recentCommands.Enqueue($"{DateTime.Now:HH:mm:ss} {command}");
    }

    /// <summary>With ConTimeOutDebug the state of a session that ran into a timeout, as continuation lines; else empty.</summary>
    private string TimeoutDebug()
    {
        if (!_cfg.GetBool("ConTimeOutDebug")) return "";
        var sb = new StringBuilder();
        sb.Append("\nConTimeOutDebug: session ").Append(_ctx.SessionId).Append(" connected ")
            .Append((DateTime.UtcNow - _started).TotalSeconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)).Append(" s ago")
            .Append(", helo=").Append(_ctx.Helo ?? "-").Append(", mail from=<").Append(_ctx.MailFrom).Append('>')
            .Append(", rcpt=").Append(_ctx.RecipientList.Count).Append(", tls=").Append(_ctx.IsTls ? "yes" : "no")
            .Append(", MTA=").Append(_upstream?.Target.ToString() ?? "not connected");
        if (_recentCommands is { Count: > 0 })
        {
            sb.Append("\nlast commands from the client:");
            foreach (var c in _recentCommands) sb.Append("\n  ").Append(c);
        }
        return sb.ToString();
    }
}
