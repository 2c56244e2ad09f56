using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Assp.Checks;
using Assp.Config.Tls;
using Assp.Smtp.Protocol;
using Assp.Smtp.Tls;

namespace Assp.Smtp.Session;

public sealed partial class ProxySession
{
    /// <summary>The extensions the proxy itself honours; the MTA's others (CHUNKING, XCLIENT, SMTPUTF8...) are not offered.</summary>
    private static readonly HashSet<string> s_allowedExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        "SIZE", "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN", "AUTH", "STARTTLS",
    };

    private async Task HeloAsync(string verb, string name, CancellationToken ct)
    {
        if (name.Length == 0)
        {
            await ErrorAsync($"501 5.5.4 {verb} requires a domain or address", ct).ConfigureAwait(false);
            return;
        }
        ResetTransaction();
        _ctx.Helo = name;
        _ctx.Esmtp = verb == "EHLO";
        var verdict = await _pipeline.RunAsync(SmtpPhase.Helo, _ctx, ct).ConfigureAwait(false);
        if (verdict.Refuses)
        {
            await RefuseAsync(verdict, "helo", ct).ConfigureAwait(false);
            return;
        }
        // The MTA hears the client's own greeting, so its logs show the real sender. sendEHLO turns a client's HELO
        // into EHLO towards the MTA (the client then gets a plain 250 OK), as ASSP does.
        bool ehloUpstream = _ctx.Esmtp || _cfg.GetBool("sendEHLO");
        var reply = await _upstream!.CommandAsync($"{(ehloUpstream ? "EHLO" : "HELO")} {UpstreamHelo(name)}", UpstreamCommandTimeout, ct).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            await ErrorAsync(reply, ct).ConfigureAwait(false);
            return;
        }
        _upstreamEhlo = ehloUpstream ? reply : null;
        _upstreamPipelining = Offers(_upstreamEhlo, "PIPELINING");
        _upstreamChunking = Offers(_upstreamEhlo, "CHUNKING");
        if (!_ctx.Esmtp)
        {
            Queue(ehloUpstream ? "250 OK\r\n" : new SmtpReply(250, [reply.Lines[0]]).ToWire());
            return;
        }
        Queue(FilterEhlo(reply).ToWire());
    }

    private static readonly System.Text.RegularExpressions.Regex s_heloLiterals = new("SENDERHELO|MYNAME|FQDN|IP",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    /// <summary>
    /// myHelo "incoming|outgoing": the name we greet the MTA with, per direction (relayPort/acceptAllMail are outgoing);
    /// an empty part keeps the client's own HELO. SENDERHELO, IP, MYNAME and FQDN (case-sensitive) are filled in.
    /// </summary>
    internal string UpstreamHelo(string clientHelo)
    {
        var parts = _cfg["myHelo"].Split('|');
        var part = (_ctx.RelayAllowed ? (parts.Length > 1 ? parts[1] : "") : parts[0]).Trim();
        if (part.Length == 0) return clientHelo;
        return s_heloLiterals.Replace(part, m => m.Value switch
        {
            "SENDERHELO" => clientHelo,
            "MYNAME" => MyName,
            "FQDN" => System.Net.Dns.GetHostName(),
            _ => _ctx.RemoteAddress.ToString(),
        });
    }

    private SmtpReply FilterEhlo(SmtpReply upstream)
    {
        var lines = new List<string> { upstream.Lines[0] };
        bool offerTls = OfferStartTls;
        bool offerAuth = AuthAllowed(out _);
        foreach (var raw in upstream.Lines.Skip(1))
        {
            var keyword = raw.Split(' ', '=')[0];
            if (!s_allowedExtensions.Contains(keyword)) continue;
            if (keyword.Equals("STARTTLS", StringComparison.OrdinalIgnoreCase)) continue;   // added below, by our rules
            if (keyword.Equals("AUTH", StringComparison.OrdinalIgnoreCase) && !offerAuth) continue;
            if (keyword.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase) && !_cfg.GetBool("enable8BITMIME")) continue;
            if (keyword.Equals("SIZE", StringComparison.OrdinalIgnoreCase))
            {
                long limit = MaxMessageSize;
                lines.Add(limit > 0 ? $"SIZE {limit}" : raw);
                continue;
            }
            lines.Add(raw);
        }
        if (offerTls) lines.Add("STARTTLS");
        if (!lines.Any(l => l.StartsWith("SIZE", StringComparison.OrdinalIgnoreCase)) && MaxMessageSize > 0) lines.Add($"SIZE {MaxMessageSize}");
        return new SmtpReply(250, lines);
    }

    /// <summary>
    /// STARTTLS is offered when DoTLS is not "drop TLS", the session is not encrypted yet, and neither the listener nor
    /// the client IP is excluded. In the tunnel mode (TransparentTls) only when the MTA offers it too, as in ASSP.
    /// </summary>
    private bool OfferStartTls
    {
        get
        {
            if (_ctx.IsTls) return false;
            bool transparent = TransparentTls;
            if (!transparent && _cfg.GetChoice("DoTLS") == 0) return false;
            if (ListedPort(_cfg["NoTLSlistenPorts"])) return false;
            if (_cfg.GetIpList("noTLSIP").Contains(_ctx.RemoteAddress)) return false;
            if (transparent) return UpstreamOffersStartTls;
            if (_server.SslFailed.IsBanned(_ctx.RemoteAddress)) return false;
            return CertificateProvider.Load(_cfg, Log) is not null;
        }
    }

    /// <summary>
    /// DoTLS "TLS to Proxy", or TLStoProxyListenPorts naming this listener (whatever DoTLS says): a STARTTLS goes on
    /// to the MTA and the session becomes an encrypted tunnel between client and MTA that the proxy cannot read.
    /// </summary>
    private bool TransparentTls => !_ctx.Listener.ImplicitTls && (_cfg.GetChoice("DoTLS") == 1 || ListedPort(_cfg["TLStoProxyListenPorts"]));

    private bool UpstreamOffersStartTls => _upstream is { IsTls: false }
        && _upstreamEhlo?.Lines.Any(l => l.Equals("STARTTLS", StringComparison.OrdinalIgnoreCase)) == true;

    /// <summary>True when a "port|ip:port|..." option names this session's listener.</summary>
    private bool ListedPort(string spec)
    {
        foreach (var entry in spec.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (entry.Equals(_ctx.Listener.Spec, StringComparison.OrdinalIgnoreCase)) return true;
            if (entry == _ctx.LocalPort.ToString(CultureInfo.InvariantCulture)) return true;
            if (entry.Equals($"{_ctx.LocalAddress}:{_ctx.LocalPort}", StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>maxSize (local and relayed mail) or maxSizeExternal, unless MaxSizeAdr/MaxSizeExternalAdr name this session; 0 is unlimited.</summary>
    private long MaxMessageSize => SizeLimit(_ctx.RelayAllowed ? "maxSize" : "maxSizeExternal", _ctx.RelayAllowed ? "MaxSizeAdr" : "MaxSizeExternalAdr");

    private long SizeLimit(string option, string overrides)
    {
        // Looked up once per session (its configuration snapshot does not change); asked for several times per message.
        _sizeLimits ??= new Dictionary<string, (SizeOverrides, long)>(StringComparer.Ordinal);
        if (!_sizeLimits.TryGetValue(option, out var limit))
            _sizeLimits[option] = limit = (SizeOverrides.For(_cfg, overrides), _cfg.GetLong(option, 0));
        return limit.Item1.Find(_ctx.RemoteAddress, _ctx.MailFrom, _ctx.RecipientList) ?? limit.Item2;
    }

    private Dictionary<string, (SizeOverrides, long)>? _sizeLimits;

    private async Task StartTlsAsync(string argument, CancellationToken ct)
    {
        if (argument.Trim().Length > 0)
        {
            await ErrorAsync("501 5.5.4 syntax error (no parameters allowed)", ct).ConfigureAwait(false);
            return;
        }
        if (!OfferStartTls)
        {
            await ErrorAsync($"502 command not implemented or not allowed to be used by {_ctx.RemoteAddress}", ct).ConfigureAwait(false);
            return;
        }
        if (TransparentTls)
        {
            await TunnelTlsAsync(ct).ConfigureAwait(false);
            return;
        }
        Queue("220 2.0.0 Ready to start TLS\r\n");
        await FlushAsync(ct).ConfigureAwait(false);
        if (!await StartServerTlsAsync(ct).ConfigureAwait(false))
        {
            _closing = true;
            return;
        }
        // RFC 3207: everything learned before TLS is forgotten; the client must say EHLO again.
        ResetTransaction();
        _ctx.Helo = null;
        if (_cfg.GetChoice("DoTLS") == 2 && _upstreamEhlo?.Lines.Any(l => l.Equals("STARTTLS", StringComparison.OrdinalIgnoreCase)) == true && !_upstream!.IsTls)
        {
            var reply = await _upstream.CommandAsync("STARTTLS", UpstreamCommandTimeout, ct).ConfigureAwait(false);
            if (reply.Code == 220)
            {
                try
                {
                    await _upstream.StartTlsAsync(_upstream.Target.Host, ct, TlsSettings.For(_cfg)).ConfigureAwait(false);
                }
                catch (AuthenticationException ex)
                {
                    Log($"error: TLS to the MTA failed: {ex.Message}");
                    Queue($"421 4.7.0 {MyName} TLS to the destination failed, closing connection\r\n");
                    await FlushAsync(ct).ConfigureAwait(false);
                    _closing = true;
                }
            }
        }
    }

    /// <summary>
    /// The MTA answers the client's STARTTLS; after its 220 the bytes are copied both ways untouched until either side
    /// closes or the session is idle for smtpIdleTimeout. What follows is encrypted between client and MTA: no check
    /// sees it (ASSP's transparent proxy mode).
    /// </summary>
    private async Task TunnelTlsAsync(CancellationToken ct)
    {
        var reply = await _upstream!.CommandAsync("STARTTLS", UpstreamCommandTimeout, ct).ConfigureAwait(false);
        Queue(reply.ToWire());
        await FlushAsync(ct).ConfigureAwait(false);
        if (reply.Code != 220) return;   // the client heard why; the session goes on in clear text
        // RFC 3207: what a client sent after STARTTLS and before the handshake must not be acted upon.
        if (_reader.Buffered > 0) Log($"{_ctx.RemoteAddress} {_reader.Buffered} bytes sent after STARTTLS were dropped");
        Log($"{_ctx.RemoteAddress} STARTTLS: the session goes on as an encrypted tunnel to the MTA (TLS to Proxy); its mail is not inspected");
        _closing = true;
        await TcpTunnel.RunAsync(_client, _upstream.DataStream, IdleTimeout, ct).ConfigureAwait(false);
    }

    private async Task<bool> StartServerTlsAsync(CancellationToken ct)
    {
        var cert = CertificateProvider.Load(_cfg, Log);
        if (cert is null)
        {
            Log("error: no certificate for TLS");
            return false;
        }
        var tls = TlsSettings.For(_cfg);
        if (tls.DebugLevel >= 1) Log($"SSL: handshake with {_ctx.RemoteAddress}:{_ctx.Remote.Port} on {_ctx.Listener.Option} ({(_ctx.Listener.ImplicitTls ? "SSL listener" : "STARTTLS")})");
        if (tls.DebugLevel >= 2) Log($"SSL: server certificate {cert.Subject}, issued by {cert.Issuer}, valid until {cert.NotAfter:yyyy-MM-dd}");
        if (tls.DebugLevel >= 3) Log($"SSL: {tls.Describe()}");
        if (tls.CipherListProblem is { } problem) Log($"warning: {problem}");
        var ssl = new SslStream(_client, leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // SSLtimeout 0: the handshake may take as long as any idle client.
        timeout.CancelAfter(tls.HandshakeTimeout ?? IdleTimeout);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificate = cert,
            ClientCertificateRequired = _cfg.GetBool("smtpSSLRequireClientCert"),
            RemoteCertificateValidationCallback = (_, peer, _, errors) => !_cfg.GetBool("smtpSSLRequireClientCert") || ClientCertificateCheck.Accepts(_cfg, peer, errors),
        };
        tls.Apply(options);
        try
        {
            await ssl.AuthenticateAsServerAsync(options, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            var why = ex is OperationCanceledException && !ct.IsCancellationRequested ? $"no handshake within {tls.HandshakeTimeout ?? IdleTimeout}" : ex.Message;
            Log($"{_ctx.RemoteAddress} TLS handshake failed: {why}");
            if (tls.DebugLevel >= 2 && ex.InnerException is { } inner) Log($"SSL: {inner.GetType().Name}: {inner.Message}");
            // A handshake cut short by our own shutdown is not the client's failure.
            if (!ct.IsCancellationRequested && _server.SslFailed.RecordFailure(_ctx.RemoteAddress, _cfg))
                Log($"{_ctx.RemoteAddress} added to the SSL-failed cache (banFailedSSLIP): no TLS for it for {SslFailedCache.BanTime.TotalHours:0} hours");
            return false;
        }
        _server.SslFailed.RecordSuccess(_ctx.RemoteAddress);
        _client = ssl;
        // Commands pipelined in clear text behind STARTTLS must not be taken as if they came encrypted.
        int dropped = _reader.ReplaceStream(ssl);
        if (dropped > 0) Log($"{_ctx.RemoteAddress} sent {dropped} bytes after STARTTLS before the handshake; discarded");
        _ctx.IsTls = true;
        Log($"{_ctx.RemoteAddress} TLS established ({ssl.SslProtocol}, {ssl.NegotiatedCipherSuite})");
        if (tls.DebugLevel >= 2 && ssl.RemoteCertificate is { } peer)
            Log($"SSL: client certificate {peer.Subject}, issued by {peer.Issuer}");
        return true;
    }

    private bool AuthAllowed(out string? reason)
    {
        reason = null;
        if (ListedPort(_cfg["NoAUTHlistenPorts"])) { reason = "AUTH is disabled on this port"; return false; }
        if (_cfg.GetBool("DisableExtAUTH") && _ctx.Class == ConnectionClass.External && _ctx.Listener.Kind != ListenerKind.Relay)
        {
            reason = "AUTH is not available for external clients";
            return false;
        }
        if (_ctx.Helo is not null)
        {
            if (_cfg.GetRegex("noAUTHHeloRe").IsMatch(_ctx.Helo)) { reason = "AUTH is not available"; return false; }
            var only = _cfg.GetRegex("onlyAUTHHeloRe");
            if (only.Count > 0 && !only.IsMatch(_ctx.Helo)) { reason = "AUTH is not available"; return false; }
        }
        return true;
    }

    private async Task AuthAsync(string argument, CancellationToken ct)
    {
        if (_ctx.IsAuthenticated)
        {
            await ErrorAsync("503 5.5.1 already authenticated", ct).ConfigureAwait(false);
            return;
        }
        if (_ctx.Helo is null || !_ctx.Esmtp)
        {
            await ErrorAsync("503 5.5.1 send EHLO first", ct).ConfigureAwait(false);
            return;
        }
        if (!AuthAllowed(out var reason))
        {
            Log($"{_ctx.RemoteAddress} AUTH refused: {reason}");
            // An external client that tries AUTH where DisableExtAUTH forbids it scores autValencePB.
            if (_cfg.GetBool("DisableExtAUTH") && _ctx.Class == ConnectionClass.External) Penalize("autValencePB", "AUTHErrors");
            await ErrorAsync("502 AUTH not supported", ct).ConfigureAwait(false);
            return;
        }
        var mechanism = argument.Split(' ', 2)[0].ToUpperInvariant();
        if (!_ctx.IsTls && RequiresTls(mechanism) && !IsPrivate(_ctx.RemoteAddress))
        {
            await ErrorAsync("538 5.7.11 transport layer encryption (SSL/TLS) required for requested authentication mechanism", ct).ConfigureAwait(false);
            return;
        }
        // AUTHUserIPfrequency: the user name is read from the client's data before it goes on to the MTA.
        var userLimit = mechanism is "PLAIN" or "LOGIN" or "CRAM-MD5" ? AuthUserIpTracker.Limit(_cfg) : null;
        bool userSeen = false;
        var initial = argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries) is { Length: 2 } a && a[1] != "=" ? a[1] : null;
        if (userLimit is { } limitNow && initial is not null && AuthUserIpTracker.UserFrom(mechanism, initial, firstAnswer: true) is { } firstUser)
        {
            userSeen = true;
            if (await UserIpLimitReachedAsync(firstUser, limitNow, exchangeStarted: false, ct).ConfigureAwait(false)) return;
        }
        // The exchange runs between client and MTA; the proxy only watches for the outcome.
        var reply = await _upstream!.CommandAsync("AUTH " + argument, UpstreamCommandTimeout, ct).ConfigureAwait(false);
        while (reply.Code == 334)
        {
            Queue(reply.ToWire());
            await FlushAsync(ct).ConfigureAwait(false);
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
            idle.CancelAfter(IdleTimeout);
            var line = await _reader.ReadLineAsync(MaxCommandLength * 8, allowPartial: false, idle.Token).ConfigureAwait(false);
            if (line.Status == LineStatus.EndOfStream) { _closing = true; return; }
            if (line.Status == LineStatus.TooLong)
            {
                reply = await _upstream.CommandAsync("*", UpstreamCommandTimeout, ct).ConfigureAwait(false);
                break;
            }
            var answer = Encoding.ASCII.GetString(line.Bytes.Span);
            if (userLimit is { } limit && !userSeen && AuthUserIpTracker.UserFrom(mechanism, answer, firstAnswer: true) is { } user)
            {
                userSeen = true;
                if (await UserIpLimitReachedAsync(user, limit, exchangeStarted: true, ct).ConfigureAwait(false)) return;
            }
            reply = await _upstream.CommandAsync(answer, UpstreamCommandTimeout, ct).ConfigureAwait(false);
        }
        if (reply.Code == 235)
        {
            _ctx.IsAuthenticated = true;
            _ctx.Class = ConnectionClass.Local;
            _server.AuthFailures.RecordSuccess(_ctx.RemoteAddress, _cfg);
            Log($"{_ctx.RemoteAddress} authenticated ({mechanism})");
            Queue(reply.ToWire());
            var verdict = await _pipeline.RunAsync(SmtpPhase.Auth, _ctx, ct).ConfigureAwait(false);
            if (verdict.Refuses) await RefuseAsync(verdict, "auth", ct).ConfigureAwait(false);
            return;
        }
        _server.AuthFailures.RecordFailure(_ctx.RemoteAddress, _cfg);
        Log($"{_ctx.RemoteAddress} authentication failed ({mechanism}): {reply}");
        if (_server.AuthFailures.IsBlocked(_ctx.RemoteAddress, _cfg))
        {
            Log($"too many AUTH errors from {_ctx.RemoteAddress} (MaxAUTHErrors)");
            Penalize("autValencePB", "AUTHErrors");
        }
        await ErrorAsync(reply, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// AUTHUserIPfrequency: counts this attempt for the user; over the limit the MTA's exchange (if begun) is cancelled
    /// with "*" and the client gets a 535, counted as an AUTH error. True when the attempt was refused.
    /// </summary>
    private async Task<bool> UserIpLimitReachedAsync(string user, (int Ips, TimeSpan Window) limit, bool exchangeStarted, CancellationToken ct)
    {
        if (!_server.AuthUserIps.RecordAndCheck(user, _ctx.RemoteAddress, limit, out int distinct)) return false;
        if (exchangeStarted) await _upstream!.CommandAsync("*", UpstreamCommandTimeout, ct).ConfigureAwait(false);
        Log($"AUTHUserIPfrequency: user {user} tried to authenticate from {distinct} different IPs within {limit.Window.TotalSeconds:0} seconds - refused");
        _server.AuthFailures.RecordFailure(_ctx.RemoteAddress, _cfg);
        if (_server.AuthFailures.IsBlocked(_ctx.RemoteAddress, _cfg))
        {
            Log($"too many AUTH errors from {_ctx.RemoteAddress} (MaxAUTHErrors)");
            Penalize("autValencePB", "AUTHErrors");
        }
        await ErrorAsync("535 5.7.8 authentication refused - this user logged in from too many IP addresses", ct).ConfigureAwait(false);
        return true;
    }

    private bool _relayHostAuthDone;

    /// <summary>
    /// relayAuthUser/relayAuthPass: a relayPort session that goes to relayHost logs in there (PLAIN, else LOGIN) before
    /// its first MAIL FROM, unless the client authenticated itself. Returns the relay host's refusal, or null.
    /// </summary>
    private async Task<SmtpReply?> RelayHostAuthAsync(CancellationToken ct)
    {
        var user = _cfg["relayAuthUser"];
        if (_relayHostAuthDone || user.Length == 0 || _ctx.IsAuthenticated || _ctx.Listener.Kind != ListenerKind.Relay
            || _cfg["relayHost"].Trim().Length == 0) return null;
        _relayHostAuthDone = true;
        var pass = _cfg["relayAuthPass"];
        var offered = _upstreamEhlo?.Lines.Skip(1).FirstOrDefault(l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase)) ?? "";
        var mechanisms = offered.Split([' ', '='], StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(m => m.ToUpperInvariant()).ToHashSet();
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
        SmtpReply reply;
        if (mechanisms.Contains("PLAIN"))
            reply = await _upstream!.CommandAsync("AUTH PLAIN " + B64("\0" + user + "\0" + pass), UpstreamCommandTimeout, ct).ConfigureAwait(false);
        else if (mechanisms.Contains("LOGIN"))
        {
            reply = await _upstream!.CommandAsync("AUTH LOGIN", UpstreamCommandTimeout, ct).ConfigureAwait(false);
            if (reply.Code == 334) reply = await _upstream.CommandAsync(B64(user), UpstreamCommandTimeout, ct).ConfigureAwait(false);
            if (reply.Code == 334) reply = await _upstream.CommandAsync(B64(pass), UpstreamCommandTimeout, ct).ConfigureAwait(false);
        }
        else
        {
            Log($"warning: relayAuthUser is set, but the relay host {_upstream!.Target.Host} offers neither AUTH PLAIN nor AUTH LOGIN - sending without login");
            return null;
        }
        if (reply.Code == 235)
        {
            Log($"authenticated as {user} to the relay host {_upstream!.Target.Host}");
            return null;
        }
        Log($"error: login as {user} to the relay host {_upstream!.Target.Host} failed: {reply}");
        return reply.Code is >= 400 and < 600 ? reply : new SmtpReply(451, ["4.7.0 login to the relay host failed"]);
    }

    private bool RequiresTls(string mechanism) => _cfg.GetChoice("AUTHrequireTLS") switch
    {
        1 => mechanism == "PLAIN",
        2 => mechanism == "LOGIN",
        3 => mechanism is "PLAIN" or "LOGIN",
        4 => true,
        _ => false,
    };

    /// <summary>Loopback, RFC 1918 and RFC 4193 addresses are exempt from AUTHrequireTLS, as in ASSP.</summary>
    internal static bool IsPrivate(IPAddress ip)
    {
        if (IPAddress.IsLoopback(ip)) return true;
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        var b = ip.GetAddressBytes();
        if (b.Length == 4) return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168);
        return (b[0] & 0xFE) == 0xFC;
    }

    private async Task MailAsync(string argument, CancellationToken ct)
    {
        if (_ctx.Helo is null)
        {
            await ErrorAsync("503 5.5.1 send HELO/EHLO first", ct).ConfigureAwait(false);
            return;
        }
        if (_ctx.MailFrom is not null)
        {
            await ErrorAsync("503 5.5.1 nested MAIL command", ct).ConfigureAwait(false);
            return;
        }
        if (_cfg.GetBool("EnforceAuth") && _ctx.Listener.Kind == ListenerKind.Second && !_ctx.IsAuthenticated)
        {
            await ErrorAsync("530 5.7.0 Authentication required before [Mail From]", ct).ConfigureAwait(false);
            return;
        }
        var path = SmtpPath.Parse(argument, "FROM", out var error);
        if (path is null)
        {
            await ErrorAsync($"553 Malformed ({error}) address: {argument.Trim()}", ct).ConfigureAwait(false);
            return;
        }
        long limit = MaxMessageSize;
        if (limit > 0 && path.Parameters.TryGetValue("SIZE", out var sizeText) && long.TryParse(sizeText, out var declared) && declared > limit)
        {
            await ErrorAsync(_cfg["maxSizeError"].Replace("MAXSIZE", limit.ToString(CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
            return;
        }
        _ctx.MailFrom = path.Address;
        _ctx.MessageCount++;
        _ctx.MessageId = _server.NewMessageId(_cfg);
        InspectForLogging(path.Address, "sender");
        var verdict = await _pipeline.RunAsync(SmtpPhase.MailFrom, _ctx, ct).ConfigureAwait(false);
        if (verdict.Refuses)
        {
            _ctx.MailFrom = null;
            await RefuseAsync(verdict, "mail", ct).ConfigureAwait(false);
            return;
        }
        if (await RelayHostAuthAsync(ct).ConfigureAwait(false) is { } authFailure)
        {
            _ctx.MailFrom = null;
            await ErrorAsync(authFailure, ct).ConfigureAwait(false);
            return;
        }
        // Envelope tags (SRS, BATV): the MTA gets the sender as the pipeline rewrote it.
        var upstreamFrom = _pipeline.RewriteSender(_ctx, path.Address);
        // Without enable8BITMIME the extension was not offered, so its BODY= parameter does not go on either.
        var command = "MAIL FROM:<" + upstreamFrom + ">" + (_cfg.GetBool("enable8BITMIME")
            ? Parameters(path, "SIZE", "BODY", "RET", "ENVID", "AUTH") : Parameters(path, "SIZE", "RET", "ENVID", "AUTH"));
        if (UpstreamPipelines)
        {
            // The MTA pipelines: MAIL goes out together with the first RCPT, saving one round trip per message.
            // The client's answer to that RCPT then carries the MTA's verdict on MAIL if it refused it.
            _deferredMail = command;
            _refusedMail = null;
            Queue("250 2.1.0 Ok\r\n");
            return;
        }
        var reply = await RelayAsync(command, ct).ConfigureAwait(false);
        if (!reply.IsSuccess) _ctx.MailFrom = null;
    }

    private string? _deferredMail;
    private SmtpReply? _refusedMail;

    /// <summary>Ends the mail transaction on the proxy's side (envelope, message, a MAIL not yet sent on).</summary>
    private void ResetTransaction()
    {
        _ctx.ResetTransaction();
        ResetEmailInterface();
        ResetBlockReport();
        _deferredMail = null;
        _refusedMail = null;
    }

    private bool UpstreamPipelines => _upstreamPipelining;
    private bool _upstreamPipelining;
    private bool _upstreamChunking;

    /// <summary>Does the MTA's EHLO reply name this extension (the keyword, with or without parameters)?</summary>
    private static bool Offers(SmtpReply? ehlo, string keyword)
    {
        if (ehlo is null) return false;
        for (int i = 1; i < ehlo.Lines.Count; i++)
        {
            var line = ehlo.Lines[i].AsSpan().Trim();
            int space = line.IndexOf(' ');
            if ((space < 0 ? line : line[..space]).Equals(keyword, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>Sends a RCPT to the MTA, preceded by a deferred MAIL in the same write; returns the RCPT's reply.</summary>
    private async Task<SmtpReply> RelayRcptAsync(string rcptCommand, CancellationToken ct)
    {
        if (_refusedMail is not null)
        {
            await ErrorAsync(_refusedMail, ct).ConfigureAwait(false);
            return _refusedMail;
        }
        if (_deferredMail is null) return await RelayAsync(rcptCommand, ct).ConfigureAwait(false);
        var mail = _deferredMail;
        _deferredMail = null;
        await _upstream!.SendLineAsync(mail + "\r\n" + rcptCommand, ct).ConfigureAwait(false);
        var mailReply = await _upstream.ReadReplyAsync(UpstreamCommandTimeout, ct).ConfigureAwait(false);
        var rcptReply = await _upstream.ReadReplyAsync(UpstreamCommandTimeout, ct).ConfigureAwait(false);
        if (!mailReply.IsSuccess)
        {
            _refusedMail = mailReply;
            Log($"{_ctx.RemoteAddress} the MTA refused MAIL FROM:<{_ctx.MailFrom}>: {mailReply}");
            await ErrorAsync(mailReply, ct).ConfigureAwait(false);
            if (mailReply.Code == 421) _closing = true;
            return mailReply;
        }
        if (rcptReply.IsPositive) Queue(rcptReply.ToWire());
        else await ErrorAsync(rcptReply, ct).ConfigureAwait(false);
        if (rcptReply.Code == 421) _closing = true;
        return rcptReply;
    }

    /// <summary>Only parameters of extensions the proxy offered travel on to the MTA.</summary>
    private static string Parameters(SmtpPath path, params string[] allowed)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in path.Parameters)
        {
            if (!allowed.Contains(key, StringComparer.OrdinalIgnoreCase)) continue;
            sb.Append(' ').Append(key.ToUpperInvariant());
            if (value is not null) sb.Append('=').Append(value);
        }
        return sb.ToString();
    }

    private async Task RcptAsync(string argument, CancellationToken ct)
    {
        if (_ctx.MailFrom is null)
        {
            await ErrorAsync("503 5.5.1 need MAIL before RCPT", ct).ConfigureAwait(false);
            return;
        }
        var path = SmtpPath.Parse(argument, "TO", out var error);
        if (path is null || path.IsNull)
        {
            await ErrorAsync($"553 Malformed ({error ?? "empty"}) address: {argument.Trim()}", ct).ConfigureAwait(false);
            return;
        }
        if (_ctx.RecipientList.Count >= MaxRecipients)
        {
            await ErrorAsync("452 4.5.3 too many recipients", ct).ConfigureAwait(false);
            return;
        }
        // ---- EnableBangPath: "domain!user" becomes "user@domain" ----
        if (_cfg.GetBool("EnableBangPath") && BangPath(path.Address) is { } converted
            && SmtpPath.Parse("TO:<" + converted + ">", "TO", out _) is { IsNull: false } bangPath)
        {
            Log($"info: bang path {path.Address} converted to {converted}");
            path = bangPath with { Parameters = path.Parameters };
        }
        // ---- ReplaceRecpt (Recipients/RecipientRules): the rules rewrite the recipient before any check ----
        var address = path.Address;
        var rules = Assp.Checks.Recipients.RecipientRules.For(_cfg);
        if (rules.Count > 0 && rules.Apply(address, _ctx.MailFrom ?? "") is var replaced && !replaced.Equals(address, StringComparison.OrdinalIgnoreCase)
            && SmtpPath.Parse("TO:<" + replaced + ">", "TO", out _) is { IsNull: false } newPath)
        {
            Log($"info: recipient {address} replaced with {replaced}");
            _ctx.CheckState.Message.AddHeader($"X-Assp-Recipient: recipient {address} replaced with {replaced}");
            path = newPath with { Parameters = path.Parameters };
            address = replaced;
        }
        var domain = path.Domain;
        bool local = domain.Length > 0 && await _pipeline.IsLocalDomainAsync(_cfg, domain, ct).ConfigureAwait(false);
        // ---- the email interface (EmailSpam, EmailWhitelistAdd …): answered here, never relayed ----
        if (await BlockReportRcptAsync(address, local, ct).ConfigureAwait(false)) return;
        if (await EmailInterfaceRcptAsync(address, local, ct).ConfigureAwait(false)) return;
        // A local domain does not make "user%other@local", "host!user@local" or a quoted local part safe: MTAs
        // may route those onward. Only sessions with relay rights may use them.
        // nolocalDomains leaves the domain part of the relay decision to the MTA.
        if (((!local && !_cfg.GetBool("nolocalDomains")) || path.HasRoutingLocalPart || domain.Length == 0) && !_ctx.RelayAllowed)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> to: {path.Address} relay attempt blocked");
            _server.Statistics.Reject("NoRelaying");
            await ErrorAsync(_cfg["NoRelaying"], ct).ConfigureAwait(false);
            return;
        }
        // Envelope tags (SRS, BATV): our tag comes off (a forged one is refused) before the checks and the MTA see it.
        var (untagged, tagVerdict) = _pipeline.RewriteRecipient(_ctx, address);
        if (tagVerdict.Refuses)
        {
            await RefuseAsync(tagVerdict, "rcpt", ct).ConfigureAwait(false);
            return;
        }
        address = untagged;
        _ctx.RecipientList.Add(address);
        InspectForLogging(address, "recipient");
        var verdict = await _pipeline.RunAsync(SmtpPhase.RcptTo, _ctx, ct).ConfigureAwait(false);
        if (verdict.Refuses)
        {
            _ctx.RecipientList.RemoveAt(_ctx.RecipientList.Count - 1);
            await RefuseAsync(verdict, "rcpt", ct).ConfigureAwait(false);
            return;
        }
        // ---- recipient validation (Recipients/RecipientChecks): CatchAll redirects, NULL connections ----
        var st = _ctx.CheckState.Message;
        if (st.RecipientRewrite is { } rewrite)
        {
            st.RecipientRewrite = null;
            _ctx.RecipientList[^1] = address = rewrite;
        }
        if (st.NullConnection)
        {
            // The client hears 250 to the end; nothing of this transaction reaches the MTA.
            Queue("250 OK\r\n");
            return;
        }
        var reply = await RelayRcptAsync("RCPT TO:<" + address + ">" + Parameters(path, "NOTIFY", "ORCPT"), ct).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            _ctx.RecipientList.RemoveAt(_ctx.RecipientList.Count - 1);
            // MaxVRFYErrors: "550 unknown user" answers of the MTA end the connection at the limit.
            int maxVrfy = _cfg.GetInt("MaxVRFYErrors");
            if (reply.Code == 550 && maxVrfy > 0 && ++_unknownUserReplies >= maxVrfy && !_closing)
            {
                Log($"{_ctx.RemoteAddress} max recipient verification errors (MaxVRFYErrors={maxVrfy}) exceeded -- dropping connection");
                Queue($"421 {MyName} closing transmission\r\n");
                await FlushAsync(ct).ConfigureAwait(false);
                _closing = true;
            }
        }
        else if (!local) _ctx.HasRemoteRecipient = true;
    }

    private int _unknownUserReplies;

    private static readonly System.Text.RegularExpressions.Regex s_bangPath = new(@"^([a-z\-_\.]+)!([a-z\-_\.]+)$",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    /// <summary>"domain!user" as "user@domain", or null when the address is no bang path.</summary>
    internal static string? BangPath(string address) =>
        s_bangPath.Match(address) is { Success: true } m ? $"{m.Groups[2].Value}@{m.Groups[1].Value}" : null;
}
