using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Registry;

namespace Assp.Server;

/// <summary>
/// The raw statistics port (webStatPort) for monitoring scripts, telnet and browsers. A request ends with an empty
/// line. An empty request is answered with one line, webStatHealthyResp or webStatNotHealthyResp; "stat" gets the
/// statistics as plain lines; an HTTP GET gets them as a text/plain page, and "GET /extremeblack" the
/// exportExtremeBlack file for firewalls, "GET /metrics" the Prometheus text metrics. Only clients in allowStatConnectionsFrom (when set) are served;
/// "SSL:" in front of the port or enableWebStatSSL makes it TLS with the proxy's certificate (and the TLS options of
/// TlsSettings); statSSLRequireClientCert then demands a client certificate that chains to SSLCaFile or a system root.
/// </summary>
internal sealed class StatServer : IAsyncDisposable
{
    private const int MaxRequestBytes = 64 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly Func<ConfigSnapshot> _config;
    private readonly InstanceHealth _health;
    private readonly MailLog? _log;
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _socket;
    private Task _loop = Task.CompletedTask;
    private bool _tls;

    public StatServer(Func<ConfigSnapshot> config, InstanceHealth health, MailLog? log)
    {
        _config = config;
        _health = health;
        _log = log;
    }

    public IPEndPoint? EndPoint { get; private set; }

    /// <summary>Binds webStatPort; returns a problem (bad value, port in use) or null. An empty value means no stat port.</summary>
    public string? Start()
    {
        var cfg = _config();
        var value = cfg["webStatPort"].Trim();
        if (value.Length == 0) return null;
        // Only one listener is supported (the reference says so); a second value is reported and ignored.
        var first = value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        var ep = ValueSyntax.ParseEndpoint(first, ["SSL:"]);
        if (ep is not { Port: > 0 }) return $"webStatPort: '{value}' is not a port, ip:port or [ipv6]:port";
        IPAddress address = IPAddress.Any;
        if (ep.Value.Host is { } host && !IPAddress.TryParse(host, out address!)) return $"webStatPort: '{host}' is not an IP address";
        _tls = ep.Value.Ssl || cfg.GetBool("enableWebStatSSL");
        try
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(address, ep.Value.Port));
            socket.Listen(32);
            _socket = socket;
            EndPoint = (IPEndPoint)socket.LocalEndPoint!;
        }
        catch (SocketException ex)
        {
            return $"webStatPort: cannot listen on {first}: {ex.Message}";
        }
        // The certificate (made on first use when there is none) is ready before the first client, not inside its time limit.
        if (_tls && Assp.Smtp.Tls.CertificateProvider.Load(cfg, m => _log?.Write(m)) is null)
            _log?.Write("webStatPort: TLS asked for but no certificate is available; statistics connections will be refused");
        _loop = Task.Run(AcceptLoopAsync);
        _log?.Write($"listening for statistics on {EndPoint} (webStatPort{(_tls ? ", SSL" : "")})");
        return null;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket!.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested) return;
                continue;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            using (socket)
            {
                var cfg = _config();
                var remote = ((IPEndPoint)socket.RemoteEndPoint!).Address;
                if (remote.IsIPv4MappedToIPv6) remote = remote.MapToIPv4();
                var allowed = cfg.GetIpList("allowStatConnectionsFrom");
                if (allowed.Count > 0 && !allowed.Contains(remote))
                {
                    _log?.Write($"statistics connection from {remote} refused: not in allowStatConnectionsFrom");
                    return;
                }
                Stream stream = new NetworkStream(socket, ownsSocket: false);
                if (_tls)
                {
                    var certificate = Assp.Smtp.Tls.CertificateProvider.Load(cfg, m => _log?.Write(m));
                    if (certificate is null)
                    {
                        _log?.Write("statistics connection refused: TLS asked for but no certificate is available");
                        return;
                    }
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    bool requireCertificate = cfg.GetBool("statSSLRequireClientCert");
                    var options = new SslServerAuthenticationOptions
                    {
                        ServerCertificate = certificate,
                        ClientCertificateRequired = requireCertificate,
                        RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                            !requireCertificate || Assp.Smtp.Tls.ClientCertificateCheck.Accepts(cfg, cert, errors),
                    };
                    var tls = Assp.Config.Tls.TlsSettings.For(cfg);
                    tls.Apply(options);
                    using var handshake = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                    if (tls.HandshakeTimeout is { } limit) handshake.CancelAfter(limit);
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(options, handshake.Token).ConfigureAwait(false);
                    }
                    catch (System.Security.Authentication.AuthenticationException ex)
                    {
                        if (requireCertificate) _log?.Write($"statistics connection from {remote} refused: TLS failed ({ex.Message}); statSSLRequireClientCert asks for a valid client certificate");
                        throw;
                    }
                    stream = ssl;
                }
                await using (stream.ConfigureAwait(false))
                {
                    var request = await ReadRequestAsync(stream, timeout.Token).ConfigureAwait(false);
                    if (request is null) return;
                    var response = Answer(cfg, request.Value.Text, request.Value.UsesCr);
                    await stream.WriteAsync(response, timeout.Token).ConfigureAwait(false);
                    await stream.FlushAsync(timeout.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException
                                       or System.Security.Authentication.AuthenticationException)
        {
            // A client that goes away or never finishes its request costs nothing but its socket.
        }
    }

    /// <summary>Reads until an empty line; null when the client ends or floods first.</summary>
    private static async Task<(string Text, bool UsesCr)?> ReadRequestAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[4096];
        var all = new MemoryStream();
        while (all.Length < MaxRequestBytes)
        {
            int n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
            if (n == 0) return null;
            all.Write(buffer, 0, n);
            var text = Encoding.Latin1.GetString(all.GetBuffer(), 0, (int)all.Length);
            // The end is an empty line: "\n\n" or "\r\n\r\n" (or mixed, from hand-typed telnet).
            int end = text.Replace("\r", "", StringComparison.Ordinal).IndexOf("\n\n", StringComparison.Ordinal);
            if (end >= 0 || text.StartsWith('\n') || text.StartsWith("\r\n", StringComparison.Ordinal))
                return (text, text.Contains('\r'));
        }
        return null;
    }

    internal byte[] Answer(ConfigSnapshot cfg, string request, bool usesCr)
    {
        var firstLine = request.Replace("\r", "", StringComparison.Ordinal).Split('\n')[0].Trim();
        string eol = usesCr ? "\r\n" : "\n";
        var problems = _health.Problems();
        string healthWord = problems.Count == 0 ? cfg["webStatHealthyResp"] : cfg["webStatNotHealthyResp"];
        if (firstLine.Length == 0) return Encoding.UTF8.GetBytes(healthWord + eol);
        if (firstLine.StartsWith("stat", StringComparison.OrdinalIgnoreCase))
            return Encoding.UTF8.GetBytes(string.Join(eol, StatLines(healthWord, problems)) + eol);

        var parts = firstLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !parts[0].Equals("GET", StringComparison.OrdinalIgnoreCase) && !parts[0].Equals("HEAD", StringComparison.OrdinalIgnoreCase))
            return Http(400, "Bad Request", "expected an empty line (health), 'stat', or an HTTP GET\n", head: false);
        bool head = parts[0].Equals("HEAD", StringComparison.OrdinalIgnoreCase);
        var path = parts[1].Split('?')[0].TrimEnd('/');
        if (path.Equals("/extremeblack", StringComparison.OrdinalIgnoreCase))
        {
            var rel = ConfigLoader.FileReference(cfg["exportExtremeBlack"]);
            var file = rel is null ? null : Path.GetFullPath(Path.IsPathRooted(rel) ? rel : Path.Combine(cfg.BaseDirectory, rel));
            if (file is null || !File.Exists(file)) return Http(404, "Not Found", "no extreme black list has been exported (exportExtremeBlack, DoExtremeExport)\n", head);
            string content;
            try { content = File.ReadAllText(file); }
            catch (IOException ex) { return Http(503, "Service Unavailable", ex.Message + "\n", head); }
            return Http(200, "OK", content, head);
        }
        if (path.Length == 0 || path.Equals("/stat", StringComparison.OrdinalIgnoreCase))
            return Http(200, "OK", string.Join('\n', StatLines(healthWord, problems)) + "\n", head);
        if (path.Equals("/metrics", StringComparison.OrdinalIgnoreCase))
            return Http(200, "OK", _health.Metrics(), head, Assp.Smtp.Monitoring.PrometheusMetrics.ContentType);
        if (path.Equals("/health", StringComparison.OrdinalIgnoreCase))
            return Http(problems.Count == 0 ? 200 : 503, problems.Count == 0 ? "OK" : "Service Unavailable", healthWord + "\n", head);
        return Http(404, "Not Found", "unknown path\n", head);
    }

    private List<string> StatLines(string healthWord, IReadOnlyList<string> problems)
    {
        var lines = new List<string> { healthWord };
        lines.AddRange(problems.Select(p => "problem: " + p));
        lines.AddRange(_health.Statistics().Select(kv => $"{kv.Key}: {kv.Value}"));
        return lines;
    }

    private static byte[] Http(int code, string reason, string body, bool head, string contentType = "text/plain; charset=utf-8")
    {
        var bodyBytes = Encoding.UTF8.GetBytes(body);
        var header = $"HTTP/1.0 {code} {reason}\r\nServer: ASSP for .NET/{Assp.Smtp.SmtpProxyServer.Version}\r\n" +
                     $"Date: {DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture)}\r\nContent-Type: {contentType}\r\n" +
                     $"Content-Length: {bodyBytes.Length}\r\nConnection: close\r\n\r\n";
        var headerBytes = Encoding.ASCII.GetBytes(header);
        return head ? headerBytes : [.. headerBytes, .. bodyBytes];
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        try { _socket?.Close(); } catch (SocketException) { }
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
