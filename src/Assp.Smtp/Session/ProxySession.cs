using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Assp.Checks;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Smtp.Protocol;
using Assp.Smtp.Tls;

namespace Assp.Smtp.Session;

/// <summary>
/// One client connection: the proxy answers the client as an SMTP server and talks to the MTA as an SMTP client,
/// command by command. Mail is taken in completely, checked, and only then handed to the MTA; the client's answer
/// to its final dot is the MTA's answer, so the client never sees 250 for mail the MTA did not take.
/// </summary>
public sealed partial class ProxySession
{
    // Limits of the protocol itself (RFC 5321 minimums are 512 for commands and 1000 for text lines).
    private const int MaxCommandLength = 2048;
    private const int CommandReadBuffer = 8192;
    private const int DataReadBuffer = 64 * 1024;
    private const int MaxRecipients = 1000;
    private const int MemoryLimitPerMessage = 1 << 20;
    /// <summary>
    /// How long the MTA may take to answer a command: smtpIdleTimeout (NpWlTimeOut when longer for a whitelisted or
    /// noprocessing session), as ASSP times out an idle session on either side; with smtpIdleTimeout 0 the RFC 5321
    /// limits (5 minutes).
    /// </summary>
    private TimeSpan UpstreamCommandTimeout => UpstreamIdleSeconds > 0 ? TimeSpan.FromSeconds(UpstreamIdleSeconds) : TimeSpan.FromMinutes(5);
    /// <summary>The same for the reply to the final dot (RFC 5321: 10 minutes when smtpIdleTimeout is 0).</summary>
    private TimeSpan UpstreamDataTimeout => UpstreamIdleSeconds > 0 ? TimeSpan.FromSeconds(UpstreamIdleSeconds) : TimeSpan.FromMinutes(10);
    private int UpstreamIdleSeconds =>
        _idleSeconds > 0 && _npWlIdleSeconds > _idleSeconds && IsWhitelistedOrNoProcessing ? _npWlIdleSeconds : _idleSeconds;

    private readonly SmtpProxyServer _server;
    private readonly Socket _socket;
    private readonly SessionContext _ctx;
    private readonly ConfigSnapshot _cfg;
    private readonly MailLog? _log;
    private readonly ICheckPipeline _pipeline;
    // Replies not yet sent, encoded (pipelined commands get theirs in one write).
    private byte[] _pending = new byte[256];
    private int _pendingCount;
    private Stream _client;
    private SmtpLineReader _reader;
    private UpstreamConnection? _upstream;
    private SmtpReply? _upstreamEhlo;
    private int _errors;
    private bool _closing;
    private readonly DateTime _started = DateTime.UtcNow;

    public SessionContext Context => _ctx;

    internal ProxySession(SmtpProxyServer server, Socket socket, ListenerDefinition listener, ConfigSnapshot cfg, MailLog? log, ICheckPipeline pipeline, string sessionId)
    {
        _server = server;
        _socket = socket;
        _cfg = cfg;
        _log = log;
        _pipeline = pipeline;
        _client = new NetworkStream(socket, ownsSocket: true);
        _reader = new SmtpLineReader(_client, CommandReadBuffer);
        _ctx = new SessionContext(cfg, sessionId, (IPEndPoint)socket.RemoteEndPoint!, (IPEndPoint)socket.LocalEndPoint!, listener);
        _ctx.LogSink = Log;
        _ctx.Class = Classify();
        _logAllReplies = cfg.GetChoice("replyLogging") == 2;
        _expandedLogging = cfg.GetBool("expandedLogging");
        MyName = cfg["myName"];
        _idleSeconds = cfg.GetInt("smtpIdleTimeout", 180);
        _noopIdleSeconds = cfg.GetInt("smtpNOOPIdleTimeout", 0);
        _npWlIdleSeconds = cfg.GetInt("NpWlTimeOut", 0);
        StartSessionLogging();
    }

    private readonly bool _logAllReplies;

    private Task<string?>? _reverseLookup;

    private void StartReverseLookup(CancellationToken ct)
    {
        if (_server.ReverseLookup is not { } lookup) return;
        try
        {
            _reverseLookup = lookup(_ctx.RemoteAddress, ct);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            _reverseLookup = null;
        }
    }

    /// <summary>The PTR name if its lookup is done by now; a pending or failed lookup is not waited for.</summary>
    private string? ReverseName()
    {
        if (_ctx.RemoteHostName is null && _reverseLookup is { IsCompletedSuccessfully: true } done) _ctx.RemoteHostName = done.Result;
        return _ctx.RemoteHostName;
    }

    private string MyName { get; }

    // Read once per session: the session keeps its configuration snapshot to the end.
    private readonly int _idleSeconds;
    private readonly int _noopIdleSeconds;
    private readonly int _npWlIdleSeconds;

    private ConnectionClass Classify()
    {
        var ip = _ctx.RemoteAddress;
        // relayPort is where local users send: its sessions are local mail, like acceptAllMail's.
        if (_ctx.Listener.Kind == ListenerKind.Relay) return ConnectionClass.Relay;
        if (_cfg.GetIpList("acceptAllMail").Contains(ip)) return ConnectionClass.Relay;
        // PopB4SMTPFile: an IP that recently logged in to the POP server relays like acceptAllMail (ASSP's isOk2Relay).
        if (PopBeforeSmtp.Allows(_cfg, (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString(), Log)) return ConnectionClass.Relay;
        if (_cfg.GetIpList("ispip").Contains(ip)) return ConnectionClass.Isp;
        return ConnectionClass.External;
    }

    private readonly bool _expandedLogging;

    /// <summary>
    /// expandedLogging: the record names the client IP and, in a transaction, &lt;MAIL FROM&gt; and the current recipient
    /// in front, as ASSP writes it, so every line of a message can be found by address (unless the text has them already).
    /// </summary>
    private string Expand(string message)
    {
        var ip = _ctx.RemoteAddress.ToString();
        var from = _ctx.MailFrom;
        if (from is null) return message.Contains(ip, StringComparison.Ordinal) ? message : ip + " " + message;
        if (message.Contains("<" + from + ">", StringComparison.Ordinal)) return message;
        var to = _ctx.RecipientList.Count > 0 ? " to: " + _ctx.RecipientList[^1] : "";
        return message.StartsWith(ip + " ", StringComparison.Ordinal)
            ? $"{ip} <{from}>{to} {message[(ip.Length + 1)..]}"
            : $"{ip} <{from}>{to} {message}";
    }

    private CancellationToken _stopping;

    /// <summary>
    /// Runs the session to its end; never throws for anything a peer does. stopping asks for a graceful end (the
    /// session closes when it next waits for a command); abort ends everything at once.
    /// </summary>
    public async Task RunAsync(CancellationToken stopping, CancellationToken abort)
    {
        _stopping = stopping;
        StartReverseLookup(abort);
        try
        {
            await RunCoreAsync(abort).ConfigureAwait(false);
        }
        catch (UpstreamFailedException ex) when (!_closing)
        {
            // The MTA failed in the middle of the session: the client must hear a 4xx, not a silent close.
            Log($"error: {ex.Message}; the client was told to try again later");
            await SendNowAsync($"421 {MyName} service temporarily unavailable, closing transmission\r\n", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or AuthenticationException)
        {
            if (!_closing) Log($"{_ctx.Remote.Address}:{_ctx.Remote.Port} connection ended: {ex.Message}");
        }
        catch (Exception ex)
        {
            // A bug of ours must cost one session, never the proxy: say so to the client and in the log.
            Log($"error: internal error in session {_ctx.SessionId}: {ex}");
            await SendNowAsync($"421 4.3.0 {MyName} internal error, closing connection\r\n", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            if (_cfg.GetChoice("ConnectionLog") >= 1)
                Log($"disconnected: session:{_ctx.SessionId} {_ctx.RemoteAddress} - processing time {(DateTime.UtcNow - _started).TotalSeconds:0} seconds");
            _ctx.Message?.Dispose();
            _debug?.Dispose();
            _commandDeadline?.Dispose();
            _commandStop?.Dispose();
            _dataDeadline?.Dispose();
            if (_upstream is not null) await _upstream.DisposeAsync().ConfigureAwait(false);
            _reader.Dispose();
            try { await _client.DisposeAsync().ConfigureAwait(false); } catch (IOException) { }
        }
    }

    private async Task RunCoreAsync(CancellationToken stopping)
    {
        if (_ctx.Listener.ImplicitTls)
        {
            if (_server.SslFailed.IsBanned(_ctx.RemoteAddress))
            {
                Log($"connection from {_ctx.RemoteAddress}:{_ctx.Remote.Port} rejected -- IP has failed SSL in the past");
                await SendNowAsync($"421 <{MyName}> SSL-Service not available for IP {_ctx.RemoteAddress}, closing transmission channel\r\n", stopping).ConfigureAwait(false);
                return;
            }
            if (!await StartServerTlsAsync(stopping).ConfigureAwait(false)) return;
        }
        if (_ctx.Listener.Kind == ListenerKind.Relay)
        {
            var allowed = _cfg.GetIpList("allowRelayCon");
            if (allowed.Count > 0 && !allowed.Contains(_ctx.RemoteAddress))
            {
                Log($"{_ctx.RemoteAddress} denied on relayPort: not in allowRelayCon");
                await SendNowAsync($"554 {MyName} Relay Service denied for IP {_ctx.RemoteAddress}, closing transmission channel\r\n", stopping).ConfigureAwait(false);
                return;
            }
        }
        var verdict = await _pipeline.RunAsync(SmtpPhase.Connect, _ctx, stopping).ConfigureAwait(false);
        if (verdict.Refuses)
        {
            await RefuseAsync(verdict, "connect", stopping).ConfigureAwait(false);
            return;
        }

        var targets = UpstreamSelector.Targets(_cfg, _ctx);
        Exception? lastError = null;
        foreach (var target in targets)
        {
            try
            {
                var map = LocalAddressMap.For(_cfg);
                // ASSP gives each destination a short connect timeout, so a dead one does not hold up the failover.
                _upstream = await UpstreamConnection.ConnectAsync(target, ip => map.For(target.Host, ip), TimeSpan.FromSeconds(5), stopping, Assp.Config.Tls.TlsSettings.For(_cfg),
                    Assp.Config.Net.TcpBufferSizes.For(_cfg)).ConfigureAwait(false);
                break;
            }
            catch (IOException ex)
            {
                lastError = ex;
                Log($"error: {ex.Message}");
            }
        }
        if (_upstream is null)
        {
            Log($"error: no MTA reachable ({string.Join(", ", targets)}): {lastError?.Message}");
            await SendNowAsync($"421 {MyName} service temporarily unavailable, closing transmission\r\n", stopping).ConfigureAwait(false);
            return;
        }
        if (_cfg.GetChoice("ConnectionLog") >= 1)
            Log($"Connected: session:{_ctx.SessionId} {_ctx.RemoteAddress}:{_ctx.Remote.Port} > {_ctx.LocalAddress}:{_ctx.LocalPort} > {_upstream.Target}");

        var greeting = await _upstream.ReadReplyAsync(UpstreamCommandTimeout, stopping).ConfigureAwait(false);
        if (!greeting.IsSuccess)
        {
            await SendNowAsync(greeting.ToWire(), stopping).ConfigureAwait(false);
            return;
        }
        if (IsEarlyTalker())
        {
            // etValencePB: a client that talks before our greeting is a spam engine that does not wait; scored and dropped.
            Log($"{_ctx.RemoteAddress} early talker - the client sent data before the greeting -- dropping connection");
            Penalize("etValencePB", "EarlyTalker");
            _closing = true;
            return;
        }
        if (_cfg.GetBool("sendNoopInfo"))
        {
            // ASSP's legacy hint for the MTA's own log: which client the proxied connection is for.
            var noop = await _upstream.CommandAsync($"NOOP Connection from: {_ctx.RemoteAddress}", UpstreamCommandTimeout, stopping).ConfigureAwait(false);
            _debug?.Line($"sendNoopInfo: the MTA answered {noop}");
        }
        await SendNowAsync(Greeting(greeting), stopping).ConfigureAwait(false);
        await CommandLoopAsync(stopping).ConfigureAwait(false);
    }

    /// <summary>Scores the client IP in the PenaltyBox (the IP part of the valence) for something in the session itself.</summary>
    private void Penalize(string valenceOption, string reason) => _server.IpPenalty?.Invoke(_cfg, _ctx.RemoteAddress, valenceOption, reason);

    /// <summary>etValencePB (0 disables): unread bytes from an incoming client before the greeting went out.</summary>
    private bool IsEarlyTalker()
    {
        if (_ctx.RelayAllowed || _ctx.Listener.ImplicitTls || _cfg.GetValence("etValencePB").Message == 0) return false;
        try
        {
            return _socket.Available > 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private string Greeting(SmtpReply upstreamGreeting)
    {
        var mine = _cfg["myGreeting"].Trim();
        if (mine.Length == 0) return upstreamGreeting.ToWire();
        mine = mine.Replace("MYNAME", MyName).Replace("VERSION", SmtpProxyServer.Version);
        if (!mine.StartsWith("220", StringComparison.Ordinal)) mine = "220 " + mine;
        return (SmtpReply.ParseConfigured(mine) ?? new SmtpReply(220, [mine[4..]])).ToWire();
    }

    private int _noopsInARow;
    private CancellationTokenSource? _commandStop;
    private ReadDeadline? _commandDeadline;

    /// <summary>
    /// smtpIdleTimeout, or the shorter smtpNOOPIdleTimeout right after a NOOP (clients that keep a session alive with
    /// NOOPs). A whitelisted or noprocessing session gets at least NpWlTimeOut, as in ASSP: such senders may queue large
    /// mail slowly, and ASSP does not cut them off before that much idle time.
    /// </summary>
    private TimeSpan IdleTimeout
    {
        get
        {
            int seconds = _idleSeconds;
            if (_noopsInARow > 0 && _noopIdleSeconds > 0 && (seconds <= 0 || _noopIdleSeconds < seconds)) seconds = _noopIdleSeconds;
            if (seconds > 0 && _npWlIdleSeconds > seconds && IsWhitelistedOrNoProcessing) seconds = _npWlIdleSeconds;
            return seconds <= 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);
        }
    }

    private bool IsWhitelistedOrNoProcessing
    {
        get
        {
            var check = _ctx.CheckState;
            return check.IpWhitelisted is not null || check.IpNoProcessing is not null
                || check.Message.IsWhitelisted || check.Message.IsNoProcessing;
        }
    }

    private async Task CommandLoopAsync(CancellationToken stopping)
    {
        // One deadline for every command wait of the session; a graceful stop or an abort ends the wait as well.
        _commandStop = CancellationTokenSource.CreateLinkedTokenSource(stopping, _stopping);
        _commandDeadline = new ReadDeadline(_commandStop.Token);
        while (!_closing)
        {
            await FlushIfIdleAsync(stopping).ConfigureAwait(false);
            LineResult line;
            try
            {
                line = await _reader.ReadLineAsync(MaxCommandLength, allowPartial: false, _commandDeadline.Start(IdleTimeout)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested || stopping.IsCancellationRequested)
            {
                await SendNowAsync($"421 {MyName} Service not available, closing transmission channel\r\n", CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException)
            {
                Log($"{_ctx.RemoteAddress} idle timeout after {IdleTimeout.TotalSeconds:0} seconds{TimeoutDebug()}");
                Penalize("idleValencePB", "TimeOut");
                await SendNowAsync("451 Connection timeout, try later\r\n", CancellationToken.None).ConfigureAwait(false);
                return;
            }
            _commandDeadline.Stop();
            if (line.Status == LineStatus.EndOfStream) return;
            if (line.Status == LineStatus.TooLong)
            {
                await ErrorAsync("500 5.5.2 line too long", stopping).ConfigureAwait(false);
                continue;
            }
            string text;
            try
            {
                text = Strict.GetString(line.Bytes.Span);
            }
            catch (DecoderFallbackException)
            {
                await ErrorAsync("500 5.5.2 command contains invalid characters", stopping).ConfigureAwait(false);
                continue;
            }
            _debug?.Command(text);
            RememberForTimeout(text);
            // preHeaderRe (issue 9): the handshake lines of an incoming client are tested before they are acted on.
            if (!_ctx.RelayAllowed && PreHeaderScanner.For(_cfg)?.CheckLine(text) is { } preHeaderHit)
            {
                await DropForPreHeaderAsync(preHeaderHit).ConfigureAwait(false);
                return;
            }
            if (_quitAfterDiscard)
            {
                bool quit = text.Trim().Equals("QUIT", StringComparison.OrdinalIgnoreCase);
                await SendNowAsync($"{(quit ? 221 : 421)} {MyName} closing transmission\r\n", CancellationToken.None).ConfigureAwait(false);
                return;
            }
            await DampAsync(stopping).ConfigureAwait(false);
            var verb = VerbOf(text);
            Mark(PhaseOf(verb));
            await DispatchAsync(text, stopping).ConfigureAwait(false);
            Mark(verb == "DATA" ? Monitoring.SessionPhase.Idle : PhaseOf(verb));
        }
    }

    // ----- DoDamping (issue 7) ------------------------------------------------------------------------------------
    private DateTime _lastCommand = DateTime.UtcNow;
    private bool _damping;

    /// <summary>Slows a high-scoring client down: waits (asynchronously) until the damping time since its last command has passed.</summary>
    private async Task DampAsync(CancellationToken ct)
    {
        var delay = Assp.Checks.Checks.Damping.DelayFor(_ctx);
        var wait = delay - (DateTime.UtcNow - _lastCommand);
        if (wait > TimeSpan.Zero)
        {
            if (!_damping)
            {
                _damping = true;
                if (_cfg.GetChoice("ConnectionLog") >= 1) Log($"info: start damping ({delay.TotalSeconds:0} s)");
            }
            await FlushAsync(ct).ConfigureAwait(false);
            await Task.Delay(wait, ct).ConfigureAwait(false);
            if (_cfg.GetChoice("ConnectionLog") >= 2) Log($"info: damping - stolen {wait.TotalSeconds:0} seconds");
        }
        _lastCommand = DateTime.UtcNow;
    }

    private static readonly Encoding Strict = new UTF8Encoding(false, throwOnInvalidBytes: true);

    private static string VerbOf(string line)
    {
        int space = line.IndexOf(' ');
        return (space < 0 ? line : line[..space]).ToUpperInvariant();
    }

    private async Task DispatchAsync(string line, CancellationToken ct)
    {
        int space = line.IndexOf(' ');
        var verb = (space < 0 ? line : line[..space]).ToUpperInvariant();
        var argument = space < 0 ? "" : line[(space + 1)..];
        if (verb != "NOOP") _noopsInARow = 0;
        switch (verb)
        {
            case "EHLO":
            case "HELO":
                await HeloAsync(verb, argument.Trim(), ct).ConfigureAwait(false);
                break;
            case "STARTTLS":
                await StartTlsAsync(argument, ct).ConfigureAwait(false);
                break;
            case "AUTH":
                await AuthAsync(argument, ct).ConfigureAwait(false);
                break;
            case "MAIL":
                await MailAsync(argument, ct).ConfigureAwait(false);
                break;
            case "RCPT":
                await RcptAsync(argument, ct).ConfigureAwait(false);
                break;
            case "DATA":
                await DataAsync(argument, ct).ConfigureAwait(false);
                break;
            case "RSET":
                ResetTransaction();
                await RelayAsync("RSET", ct).ConfigureAwait(false);
                break;
            case "QUIT":
                await QuitAsync(ct).ConfigureAwait(false);
                break;
            case "NOOP":
                _noopsInARow++;
                int maxNoops = _cfg.GetInt("smtpNOOPIdleTimeoutCount", 0);
                if (maxNoops > 0 && _cfg.GetInt("smtpNOOPIdleTimeout", 0) > 0 && _noopsInARow > maxNoops)
                {
                    Log($"{_ctx.RemoteAddress} sent more than {maxNoops} NOOPs in a row -- dropping connection");
                    Queue($"421 {MyName} closing transmission\r\n");
                    await FlushAsync(ct).ConfigureAwait(false);
                    _closing = true;
                    return;
                }
                await RelayAsync(line, ct).ConfigureAwait(false);
                return;
            case "VRFY":
            case "EXPN":
                // DisableVRFY: only local clients may probe addresses through the MTA.
                if (_cfg.GetBool("DisableVRFY") && !_ctx.RelayAllowed)
                {
                    Log($"{verb} not allowed");
                    await ErrorAsync($"502 {verb} not supported", ct).ConfigureAwait(false);
                    break;
                }
                await RelayAsync(line, ct).ConfigureAwait(false);
                break;
            case "HELP":
                await RelayAsync(line, ct).ConfigureAwait(false);
                break;
            case "BDAT":
            case "XCLIENT":
            case "XFORWARD":
            case "TURN":
            case "ATRN":
            case "ETRN":
                await ErrorAsync($"502 {verb} not supported", ct).ConfigureAwait(false);
                break;
            case "":
                await ErrorAsync("500 5.5.2 empty command", ct).ConfigureAwait(false);
                break;
            default:
                if (verb.Length > 12 || !verb.All(char.IsAsciiLetter))
                {
                    await ErrorAsync("500 5.5.2 syntax error, command unrecognized", ct).ConfigureAwait(false);
                    break;
                }
                await RelayAsync(line, ct).ConfigureAwait(false);
                break;
        }
    }

    // ----- replies ---------------------------------------------------------------------------------------------

    private void Queue(string wire)
    {
        int max = Encoding.UTF8.GetMaxByteCount(wire.Length);
        if (_pendingCount + max > _pending.Length) Array.Resize(ref _pending, Math.Max(2 * _pending.Length, _pendingCount + max));
        _pendingCount += Encoding.UTF8.GetBytes(wire, _pending.AsSpan(_pendingCount));
        _debug?.Reply(wire);
        // replyLogging 2 ("enabled - all") logs positive replies too; errors are logged where they are sent.
        if (_logAllReplies && wire.Length > 3 && wire[0] is '1' or '2' or '3')
        {
            int end = wire.IndexOf('\r');
            Log("[SMTP Reply] " + (end > 0 ? wire[..end] : wire));
        }
    }

    /// <summary>Replies go out when the client has no further pipelined command waiting (RFC 2920).</summary>
    private async Task FlushIfIdleAsync(CancellationToken ct)
    {
        if (_pendingCount == 0 || _reader.HasBufferedLine) return;
        await FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        if (_pendingCount == 0) return;
        int count = _pendingCount;
        _pendingCount = 0;
        await _client.WriteAsync(_pending.AsMemory(0, count), ct).ConfigureAwait(false);
        await _client.FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task SendNowAsync(string wire, CancellationToken ct)
    {
        Queue(wire);
        try
        {
            await FlushAsync(ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client is gone; nothing more to tell it.
        }
    }

    /// <summary>Sends an error reply (our own or the MTA's) and counts it against MaxErrors.</summary>
    private async Task ErrorAsync(string replyLine, CancellationToken ct) => await ErrorAsync(SmtpReply.ParseConfigured(replyLine) ?? new SmtpReply(550, [replyLine]), ct).ConfigureAwait(false);

    /// <summary>Codes that never get addErrorReplyExplanation (protocol errors, not blocks).</summary>
    private static readonly HashSet<int> s_noExplanation = [500, 501, 502, 503, 504, 521, 534, 535, 538];

    private async Task ErrorAsync(SmtpReply reply, CancellationToken ct)
    {
        var explanation = _cfg["addErrorReplyExplanation"].Trim();
        if (explanation.Length > 0 && reply.Code >= 500 && !s_noExplanation.Contains(reply.Code))
            reply = new SmtpReply(reply.Code, [.. reply.Lines, explanation]);
        var text = reply.ToWire().Replace("SESSIONID", _ctx.MessageId ?? _ctx.SessionId).Replace("IPCONNECTED", _ctx.RemoteAddress.ToString())
            .Replace("MYNAME", MyName);
        Queue(text);
        if (_cfg.GetChoice("replyLogging") >= 1) Log($"[SMTP Reply] {reply}");
        _errors++;
        int max = _cfg.GetInt("MaxErrors", 5);
        if (max > 0 && _errors > max)
        {
            Log($"{_ctx.RemoteAddress} max errors ({max}) exceeded -- dropping connection");
            // meValencePB; a noprocessing message only scores the message, which ends here, so its IP is left alone.
            if (!_ctx.CheckState.Message.IsNoProcessing && _ctx.CheckState.IpNoProcessing is null) Penalize("meValencePB", "MaxErrors");
            Queue($"421 {MyName} closing transmission\r\n");
            await FlushAsync(ct).ConfigureAwait(false);
            _closing = true;
        }
    }

    private async Task RefuseAsync(Verdict verdict, string phase, CancellationToken ct, string logSuffix = "")
    {
        Log($"[{phase}] refused: {verdict.Reason}{(phase is "header" or "body" ? LoggedSubject : "")}{logSuffix}");
        _server.Statistics.Refused(_ctx.CheckState.Message, phase, verdict.Kind == VerdictKind.TempFail,
            inTransaction: phase is "header" or "body");
        if (verdict.Kind == VerdictKind.Drop)
        {
            _closing = true;
            return;
        }
        var reply = SmtpReply.ParseConfigured(verdict.Reply ?? "") ?? new SmtpReply(verdict.Kind == VerdictKind.TempFail ? 451 : 554, [verdict.Reply ?? "rejected"]);
        if (TellsOkInsteadOf(verdict, reply, phase))
        {
            // send250OK / send250OKISP: the client hears 250 OK, the refused mail is dropped and the session ends.
            Queue("250 OK\r\n");
            Log($"[SMTP Reply] 250 OK (instead of: {reply}) - the mail is discarded");
            if (phase is "header" or "body")
            {
                _quitAfterDiscard = true;
                return;
            }
            Queue($"421 {MyName} closing transmission\r\n");
            await FlushAsync(ct).ConfigureAwait(false);
            _closing = true;
            return;
        }
        // A check that takes the mail without delivering it (a collect address) answers with a positive reply.
        if (reply.IsPositive) Queue(reply.ToWire());
        else await ErrorAsync(reply, ct).ConfigureAwait(false);
        if (phase == "connect" || verdict.Close)
        {
            await FlushAsync(ct).ConfigureAwait(false);
            _closing = true;
        }
    }

    /// <summary>After a discarded message the client may only say QUIT; anything else ends the session too.</summary>
    private bool _quitAfterDiscard;

    /// <summary>
    /// ASSP's send250OK (any client) and send250OKISP (ispip peers): a permanent refusal by a check that ends the
    /// transaction (after the message, or closing the connection) is answered 250 OK. Per-recipient refusals
    /// (user unknown), temporary replies, refusals at connect and the MTA's own replies are passed on unchanged.
    /// </summary>
    private bool TellsOkInsteadOf(Verdict verdict, SmtpReply reply, string phase)
    {
        if (verdict.Kind != VerdictKind.Block || reply.Code is < 500 or > 599 || phase == "connect") return false;
        if (!verdict.Close && phase is not ("header" or "body")) return false;
        bool isp = _ctx.Class == ConnectionClass.Isp || _ctx.CheckState.Message.IsIsp;
        return _cfg.GetBool("send250OK") || (isp && _cfg.GetBool("send250OKISP"));
    }

    /// <summary>Sends a command to the MTA and passes its reply to the client.</summary>
    private async Task<SmtpReply> RelayAsync(string command, CancellationToken ct)
    {
        var reply = await _upstream!.CommandAsync(command, UpstreamCommandTimeout, ct).ConfigureAwait(false);
        if (reply.IsPositive) Queue(reply.ToWire());
        else await ErrorAsync(reply, ct).ConfigureAwait(false);
        if (reply.Code == 421) _closing = true;
        return reply;
    }

    private async Task QuitAsync(CancellationToken ct)
    {
        SmtpReply reply;
        try
        {
            reply = await _upstream!.CommandAsync("QUIT", TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            reply = new SmtpReply(221, [$"2.0.0 {MyName} closing connection"]);
        }
        Queue(reply.Code == 221 ? reply.ToWire() : $"221 2.0.0 {MyName} closing connection\r\n");
        await FlushAsync(ct).ConfigureAwait(false);
        _closing = true;
    }
}
