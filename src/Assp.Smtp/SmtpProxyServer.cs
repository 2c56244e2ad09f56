using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.Checks;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Smtp.Session;

namespace Assp.Smtp;

/// <summary>
/// The listeners and their sessions. Accepting is asynchronous (no thread per connection); session limits are
/// enforced at accept; a stop closes the listeners, lets running sessions finish within a bound, then cuts them.
/// </summary>
public sealed class SmtpProxyServer : IAsyncDisposable
{
    public static readonly string Version = typeof(SmtpProxyServer).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    private readonly Func<ConfigSnapshot> _config;
    private readonly MailLog? _log;
    private readonly ICheckPipeline _pipeline;
    private readonly List<(ListenerDefinition Definition, Socket Socket, Task Loop, IPEndPoint Bound)> _listeners = [];
    private readonly ConcurrentDictionary<ProxySession, Task> _sessions = new();
    private readonly ConcurrentDictionary<IPAddress, int> _perIp = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private long _sessionCounter;
    private int _messageCounter;

    public AuthFailureTracker AuthFailures { get; }

    /// <summary>AUTHUserIPfrequency: the IPs each user logged in from.</summary>
    public AuthUserIpTracker AuthUserIps { get; }

    /// <summary>IPs that failed a TLS handshake (banFailedSSLIP): no STARTTLS and no SSL listener for them for 12 hours.</summary>
    public Tls.SslFailedCache SslFailed { get; }

    /// <summary>
    /// The client's PTR name for our Received: line, looked up when the session starts and used if it has come back
    /// by delivery (never waited for). Null: no lookup, the line says "unknown".
    /// </summary>
    public Func<IPAddress, CancellationToken, Task<string?>>? ReverseLookup { get; init; }

    /// <summary>
    /// Scores a client IP in the PenaltyBox (config, IP, valence option, reason) for a refusal at connect, e.g.
    /// iplValencePB when maxSMTPipSessions is exceeded. Null: nothing is scored (no decision engine behind us).
    /// </summary>
    public Action<ConfigSnapshot, IPAddress, string, string>? IpPenalty { get; init; }

    /// <summary>
    /// A pipeline that changes no database, for EmailAnalyze and DoAdditionalAnalyze. Null: analysis requests are
    /// answered with a note that the analyzer is not available.
    /// </summary>
    public Func<ConfigSnapshot, ICheckPipeline>? AnalysisPipeline { get; set; }

    /// <summary>Reloads the configuration (the email interface edited a list file); the reason goes to the log. Null: the
    /// change applies with the next periodic reload (ReloadOptionFiles).</summary>
    public Action<string>? ReloadConfig { get; set; }

    public SmtpProxyServer(Func<ConfigSnapshot> config, MailLog? log, ICheckPipeline? pipeline = null, TimeProvider? time = null)
    {
        _config = config;
        _log = log;
        _pipeline = pipeline ?? PassAllPipeline.Instance;
        AuthFailures = new AuthFailureTracker(time ?? TimeProvider.System);
        AuthUserIps = new AuthUserIpTracker(time ?? TimeProvider.System);
        SslFailed = new Tls.SslFailedCache(time ?? TimeProvider.System);
        Collector = new Collection.MessageCollector((id, line) => _log?.Write("Collect", id, line));
        Copier = new Collection.MailCopier((id, line) => _log?.Write("ccMail", id, line));
    }

    /// <summary>Stores processed messages in the corpus folders (spamlog, notspamlog, …) per their collection code.</summary>
    public Collection.MessageCollector Collector { get; }

    /// <summary>Sends the spam and ham copies (Copy Spam &amp; Ham) in the background.</summary>
    public Collection.MailCopier Copier { get; }

    public int ActiveSessions => _sessions.Count;

    /// <summary>The mail statistics this server counts into (connections, messages, checks, scores).</summary>
    public Assp.Checks.Statistics.MailStatistics Statistics { get; init; } = new();

    /// <summary>The version counter and wait of the live session list (bumped on every session change).</summary>
    public Monitoring.SessionChangeFeed SessionChanges { get; } = new();

    /// <summary>Every open session as it is now, oldest first.</summary>
    public Monitoring.LiveSessionsView LiveSessions()
    {
        long version = SessionChanges.Version;
        var list = _sessions.Keys.Select(s => s.Snapshot()).OrderBy(s => s.Started).ToList();
        return new Monitoring.LiveSessionsView(version, DateTimeOffset.Now, list);
    }
    public long SessionsTotal => Interlocked.Read(ref _sessionCounter);

    // One cancellation per open session, so the admin can end a single connection (the web admin's "close").
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CancellationTokenSource> _sessionAborts = new(StringComparer.Ordinal);

    /// <summary>Ends the open session with this id at once (the client's connection is dropped); false when there is none.</summary>
    public bool CloseSession(string sessionId, string reason)
    {
        if (!_sessionAborts.TryGetValue(sessionId, out var abort)) return false;
        Log($"session {sessionId} closed: {reason}");
        try { abort.Cancel(); }
        catch (ObjectDisposedException) { return false; }
        return true;
    }
    public long MessagesDelivered => Interlocked.Read(ref _delivered);
    private long _delivered;

    internal void CountDelivered() => Interlocked.Increment(ref _delivered);
    public IReadOnlyList<ListenerDefinition> Listeners => _listeners.Select(l => l.Definition).ToList();

    /// <summary>Listeners whose accept loop has ended although no stop was asked for (a health problem).</summary>
    public IReadOnlyList<string> DeadListeners => _stopping.IsCancellationRequested ? []
        : _listeners.Where(l => l.Loop.IsCompleted).Select(l => $"{l.Definition.Option} {l.Bound}").ToList();

    /// <summary>The actual bound endpoint of each listener (port 0 in config becomes a real port).</summary>
    public IReadOnlyList<(ListenerDefinition Definition, IPEndPoint EndPoint)> BoundEndPoints =>
        _listeners.Select(l => (l.Definition, l.Bound)).ToList();

    private void Log(string message) => _log?.Write("Main_Thread", null, message);

    /// <summary>Binds every configured listener. Returns the problems (a port in use, a bad address); the rest run.</summary>
    public List<string> Start()
    {
        var problems = new List<string>();
        var cfg = _config();
        if (cfg.GetBool("DisableSMTPNetworking"))
        {
            Log("DisableSMTPNetworking is set: no SMTP listener is opened");
            return problems;
        }
        foreach (var def in ListenerDefinition.FromConfig(cfg, problems))
        {
            try
            {
                var socket = new Socket(def.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (def.EndPoint.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(def.EndPoint);
                socket.Listen(512);
                var loop = Task.Run(() => AcceptLoopAsync(def, socket));
                _listeners.Add((def, socket, loop, (IPEndPoint)socket.LocalEndPoint!));
                Log($"listening for SMTP on {socket.LocalEndPoint} ({def.Option}{(def.ImplicitTls ? ", SSL" : "")})");
            }
            catch (SocketException ex)
            {
                problems.Add($"{def.Option}: cannot listen on {def.EndPoint}: {ex.Message}");
            }
        }
        foreach (var p in problems) Log("error: " + p);
        return problems;
    }

    private async Task AcceptLoopAsync(ListenerDefinition def, Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                if (def.Kind != ListenerKind.Relay) await WaitForCapacityAsync().ConfigureAwait(false);
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested) return;
                continue;
            }
            client.NoDelay = true;
            try { Assp.Config.Net.TcpBufferSizes.For(_config()).Apply(client); }
            catch (SocketException ex) { Log($"warning: TCPBufferSize cannot be set: {ex.Message}"); }
            _ = HandleAsync(def, client);
        }
    }

    private async Task HandleAsync(ListenerDefinition def, Socket client)
    {
        var cfg = _config();
        var remote = ((IPEndPoint)client.RemoteEndPoint!).Address;
        if (remote.IsIPv4MappedToIPv6) remote = remote.MapToIPv4();
        string? refusal = Refusal(cfg, def, remote, out var refusalReason);
        if (refusal is not null)
        {
            Statistics.ConnectionRefused(refusalReason);
            Log($"{remote} connection refused: {refusal}");
            try
            {
                using (client)
                {
                    var bytes = Encoding.ASCII.GetBytes(refusal + "\r\n");
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await client.SendAsync(bytes, SocketFlags.None, cts.Token).ConfigureAwait(false);
                    client.Shutdown(SocketShutdown.Both);
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
            return;
        }
        _perIp.AddOrUpdate(remote, 1, (_, n) => n + 1);
        Statistics.ConnectionAccepted();
        var id = NewSessionId();
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        _sessionAborts[id] = abort;
        var session = new ProxySession(this, client, def, cfg, _log, _pipeline, id);
        var task = session.RunAsync(_stopping.Token, abort.Token);
        _sessions[session] = task;
        SessionChanges.Changed();
        try
        {
            await task.ConfigureAwait(false);
        }
        finally
        {
            _sessions.TryRemove(session, out _);
            _sessionAborts.TryRemove(id, out _);
            SessionChanges.Changed();
            _perIp.AddOrUpdate(remote, 0, (_, n) => n - 1);
            if (_perIp.TryGetValue(remote, out var left) && left <= 0) _perIp.TryRemove(new KeyValuePair<IPAddress, int>(remote, left));
        }
    }

    /// <summary>
    /// maxSMTPSessions, as ASSP does it: at the limit the incoming listeners stop accepting (new clients wait in the
    /// kernel's queue rather than being refused) until the sessions fall to max-20 or three quarters of max.
    /// relayPort never waits.
    /// </summary>
    private async Task WaitForCapacityAsync()
    {
        var cfg = _config();
        int max = cfg.GetInt("maxSMTPSessions", 64);
        if (max <= 0 || _sessions.Count < max) return;
        int resumeAt = Math.Max(max - 20, max * 3 / 4);
        Log($"maxSMTPSessions ({max}) reached: not accepting new connections until fewer than {resumeAt} sessions run");
        while (_sessions.Count >= resumeAt && !_stopping.IsCancellationRequested)
        {
            await Task.Delay(50, _stopping.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Why a new connection is turned away at once, or null. relayPort sessions count but are never refused.</summary>
    private string? Refusal(ConfigSnapshot cfg, ListenerDefinition def, IPAddress remote, out string reason)
    {
        reason = "DisableSMTPNetworking";
        // Switched on at run time: new connections are turned away, running sessions go on.
        if (cfg.GetBool("DisableSMTPNetworking")) return $"421 {cfg["myName"]} Service not available, closing transmission channel";
        if (def.Kind == ListenerKind.Relay) return null;
        bool privileged = cfg.GetIpList("acceptAllMail").Contains(remote) || cfg.GetIpList("ispip").Contains(remote);
        if (!privileged && !cfg.GetIpList("noMaxSMTPSessions").Contains(remote))
        {
            int perIp = cfg.GetInt("maxSMTPipSessions", 5);
            if (perIp > 0 && _perIp.TryGetValue(remote, out var n) && n >= perIp)
            {
                IpPenalty?.Invoke(cfg, remote, "iplValencePB", "LimitingIP");
                reason = "maxSMTPipSessions";
                return $"421 {cfg["myName"]} too many sessions from {remote} ({perIp}), try again later";
            }
        }
        reason = "MaxAUTHErrors";
        if (!privileged && AuthFailures.IsBlocked(remote, cfg))
        {
            IpPenalty?.Invoke(cfg, remote, "autValencePB", "AUTHErrors");
            return $"521 {cfg["myName"]} does not accept mail - closing transmission - too many previous AUTH errors from {remote}";
        }
        return null;
    }

    private string NewSessionId() => Interlocked.Increment(ref _sessionCounter).ToString("X6", CultureInfo.InvariantCulture)
        + Environment.ProcessId.ToString("X", CultureInfo.InvariantCulture);

    /// <summary>ASSP's message id: uniqueIDPrefix, the last five digits of the time, '-', a five-digit counter.</summary>
    internal string NewMessageId(ConfigSnapshot cfg)
    {
        var seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        int n = Interlocked.Increment(ref _messageCounter) % 100000;
        return $"{cfg["uniqueIDPrefix"]}{seconds[^5..]}-{n:D5}";
    }

    /// <summary>Stops accepting, asks sessions to finish (idle ones get 421 at once), and cuts what is left after the grace period.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        foreach (var (_, socket, _, _) in _listeners)
        {
            try { socket.Close(); } catch (SocketException) { }
        }
        _stopping.Cancel();
        var all = Task.WhenAll(_sessions.Values);
        if (await Task.WhenAny(all, Task.Delay(grace)).ConfigureAwait(false) != all)
        {
            Log($"stop: {_sessions.Count} sessions still busy after {grace.TotalSeconds:0} s are cut off");
            _abort.Cancel();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        }
        await Task.WhenAll(_listeners.Select(l => l.Loop)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested) await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await Collector.DisposeAsync().ConfigureAwait(false);
        await Copier.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _abort.Dispose();
    }
}
