using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Assp.Server.Tests;

/// <summary>webStatPort of a running `assp run`: the health line, "stat", HTTP pages, /extremeblack and allowStatConnectionsFrom.</summary>
public sealed class StatServerTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "assp-stat-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_base, true); } catch (IOException) { }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task<string> AskAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var all = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0) all.Write(buffer, 0, n);
        return Encoding.UTF8.GetString(all.ToArray());
    }

    private async Task<(Task<int> Run, CancellationTokenSource Stop)> StartAsync(params string[] settings)
    {
        var stop = new CancellationTokenSource();
        var args = new List<string> { "run", "--base", _base, "--set", $"listenPort=127.0.0.1:{FreePort()}" };
        foreach (var s in settings) args.AddRange(["--set", s]);
        var run = Cli.RunAsync([.. args], new StringWriter(), new StringWriter(), stop.Token);
        var log = Path.Combine(_base, "logs", "maillog.txt");
        for (int i = 0; i < 400 && !(File.Exists(log) && File.ReadAllText(log).Contains("ready;")); i++) await Task.Delay(50);
        Assert.Contains("ready;", File.ReadAllText(log));
        return (run, stop);
    }

    [Fact]
    public async Task The_stat_port_answers_health_stats_and_http_and_serves_the_extreme_black_list()
    {
        int port = FreePort();
        var (run, stop) = await StartAsync($"webStatPort=127.0.0.1:{port}", "webStatHealthyResp=all good",
            "exportExtremeBlack=file:files/extremeblack.txt");
        try
        {
            // Telnet style: ENTER twice gives the one health line, with CR when the request had CR.
            Assert.Equal("all good\r\n", await AskAsync(port, "\r\n\r\n"));
            Assert.Equal("all good\n", await AskAsync(port, "\n\n"));

            var stat = await AskAsync(port, "stat\r\n\r\n");
            Assert.StartsWith("all good\r\n", stat);
            Assert.Contains("\r\nsmtp sessions total: ", stat);
            Assert.Contains("\r\nmessages delivered: 0\r\n", stat);
            Assert.Contains("\r\njob CleanPB: ", stat);

            var page = await AskAsync(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.StartsWith("HTTP/1.0 200 OK\r\n", page);
            Assert.Contains("Content-Type: text/plain", page);
            Assert.Contains("\r\n\r\nall good\nversion: ASSP for .NET", page);

            Assert.StartsWith("HTTP/1.0 200 OK", await AskAsync(port, "GET /health HTTP/1.0\r\n\r\n"));
            Assert.StartsWith("HTTP/1.0 404", await AskAsync(port, "GET /extremeblack HTTP/1.0\r\n\r\n"));
            await File.WriteAllTextAsync(Path.Combine(_base, "files", "extremeblack.txt"), "192.0.2.1\n198.51.100.7\n");
            var list = await AskAsync(port, "GET /extremeblack HTTP/1.0\r\n\r\n");
            Assert.StartsWith("HTTP/1.0 200 OK", list);
            Assert.EndsWith("\r\n\r\n192.0.2.1\n198.51.100.7\n", list);
            Assert.StartsWith("HTTP/1.0 400", await AskAsync(port, "POST / HTTP/1.0\r\n\r\n"));
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run);
        }
    }

    [Fact]
    public async Task Over_the_memory_limit_the_answer_is_not_healthy_and_the_maillog_says_why()
    {
        int port = FreePort();
        // 1 MB is below what any .NET process uses; the check schedule is far away, so no restart interferes.
        var (run, stop) = await StartAsync($"webStatPort=127.0.0.1:{port}", "MemoryUsageLimit=1", "MemoryUsageCheckSchedule=0 0 1 1 *");
        try
        {
            Assert.Equal("not healthy\r\n", await AskAsync(port, "\r\n\r\n"));
            var stat = await AskAsync(port, "stat\n\n");
            Assert.Contains("problem: memory use ", stat);
            Assert.Contains("over MemoryUsageLimit 1 MB", stat);
            Assert.StartsWith("HTTP/1.0 503", await AskAsync(port, "GET /health HTTP/1.0\r\n\r\n"));
            var log = Path.Combine(_base, "logs", "maillog.txt");
            for (int i = 0; i < 200 && !File.ReadAllText(log).Contains("health: not healthy: memory use"); i++) await Task.Delay(50);
            Assert.Contains("health: not healthy: memory use", File.ReadAllText(log));
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run);
        }
    }

    [Fact]
    public async Task With_SSL_in_front_of_the_port_the_stat_port_speaks_tls()
    {
        int port = FreePort();
        var (run, stop) = await StartAsync($"webStatPort=SSL:127.0.0.1:{port}");
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            await using var tls = new System.Net.Security.SslStream(client.GetStream(), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync("localhost");
            await tls.WriteAsync("\r\n\r\n"u8.ToArray());
            var reader = new StreamReader(tls, Encoding.ASCII);
            Assert.Equal("healthy", await reader.ReadLineAsync());
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run);
        }
    }

    [Fact]
    public async Task StatSSLRequireClientCert_lets_only_clients_with_a_certificate_from_SSLCaFile_in()
    {
        // A private CA in SSLCaFile and a client certificate it signed; a self-made certificate is not enough.
        using var caKey = System.Security.Cryptography.RSA.Create(2048);
        var caRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Test CA", caKey,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(60));
        Directory.CreateDirectory(Path.Combine(_base, "certs"));
        File.WriteAllText(Path.Combine(_base, "certs", "ca.pem"), ca.ExportCertificatePem());
        System.Security.Cryptography.X509Certificates.X509Certificate2 ClientCertificate(System.Security.Cryptography.X509Certificates.X509Certificate2? issuer)
        {
            var key = System.Security.Cryptography.RSA.Create(2048);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=monitor", key,
                System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            using var cert = issuer is null
                ? request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30))
                : request.Create(issuer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), [1, 2, 3, 4]).CopyWithPrivateKey(key);
            return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(cert.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
        }
        using var good = ClientCertificate(ca);
        using var stranger = ClientCertificate(null);

        int port = FreePort();
        var (run, stop) = await StartAsync($"webStatPort=SSL:127.0.0.1:{port}", "statSSLRequireClientCert=1", "SSLCaFile=certs/ca.pem");
        async Task<string?> AskWithAsync(System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            await using var tls = new System.Net.Security.SslStream(client.GetStream(), false, (_, _, _, _) => true);
            try
            {
                await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    ClientCertificates = certificate is null ? null : [certificate],
                    EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12,   // the server's verdict comes within the handshake
                });
                await tls.WriteAsync("\r\n\r\n"u8.ToArray());
                return await new StreamReader(tls, Encoding.ASCII).ReadLineAsync();
            }
            catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
            {
                return null;
            }
        }
        try
        {
            Assert.Equal("healthy", await AskWithAsync(good));
            Assert.Null(await AskWithAsync(stranger));
            Assert.Null(await AskWithAsync(null));
            var log = Path.Combine(_base, "logs", "maillog.txt");
            Assert.Contains("statSSLRequireClientCert asks for a valid client certificate", File.ReadAllText(log));
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run);
        }
    }

    [Fact]
    public async Task MaxFinConWaitTime_is_the_wait_for_sessions_at_shutdown()
    {
        var (run, stop) = await StartAsync("MaxFinConWaitTime=12");
        stop.Cancel();
        Assert.Equal(0, await run);
        Assert.Contains("waiting up to 12 s (MaxFinConWaitTime)", File.ReadAllText(Path.Combine(_base, "logs", "maillog.txt")));
    }

    [Fact]
    public async Task Clients_outside_allowStatConnectionsFrom_get_nothing()
    {
        int port = FreePort();
        var (run, stop) = await StartAsync($"webStatPort=127.0.0.1:{port}", "allowStatConnectionsFrom=10.0.0.0/8");
        try
        {
            // Refused: the connection is closed without a byte; closed while the request is still unread, that shows
            // as a reset instead of an end of stream — both are "nothing".
            string answer;
            try { answer = await AskAsync(port, "\r\n\r\n"); }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset }) { answer = ""; }
            Assert.Equal("", answer);
            var log = Path.Combine(_base, "logs", "maillog.txt");
            // The maillog is written in the background.
            for (int i = 0; i < 200 && !File.ReadAllText(log).Contains("not in allowStatConnectionsFrom"); i++) await Task.Delay(50);
            Assert.Contains("statistics connection from 127.0.0.1 refused: not in allowStatConnectionsFrom", File.ReadAllText(log));
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run);
        }
    }

    [Fact]
    public async Task Metrics_are_prometheus_text_and_the_statistics_survive_a_restart()
    {
        int port = FreePort(), smtpPort = FreePort();
        string[] settings = [$"webStatPort=127.0.0.1:{port}", $"listenPort=127.0.0.1:{smtpPort}", "smtpDestination=127.0.0.1:1"];
        var (run, stop) = await StartAsync(settings);
        try
        {
            // One client: accepted, then told 421 because no MTA answers.
            using (var client = new TcpClient())
            {
                await client.ConnectAsync(IPAddress.Loopback, smtpPort);
                var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
                Assert.StartsWith("421", await reader.ReadLineAsync());
            }
            var metrics = await AskAsync(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.StartsWith("HTTP/1.0 200 OK\r\n", metrics);
            Assert.Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n", metrics);
            var body = metrics[(metrics.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
            var samples = ParseExposition(body);
            Assert.Equal(1, samples["assp_connections_total{result=\"accepted\"}"]);
            Assert.True(samples.ContainsKey("assp_smtp_sessions_active"));
            Assert.True(samples.ContainsKey("assp_message_score_bucket{le=\"+Inf\"}"));
            // /stat keeps its form and now lists the counters too.
            Assert.Contains("\nstats connections_accepted: 1\n", await AskAsync(port, "stat\n\n"));
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run);
        }

        File.Delete(Path.Combine(_base, "logs", "maillog.txt"));
        (run, stop) = await StartAsync(settings);
        try
        {
            var body = await AskAsync(port, "GET /metrics HTTP/1.0\r\n\r\n");
            Assert.Equal(1, ParseExposition(body[(body.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..])["assp_connections_total{result=\"accepted\"}"]);
        }
        finally
        {
            stop.Cancel();
            Assert.Equal(0, await run);
        }
    }

    /// <summary>Every line must be a HELP/TYPE comment or "name{labels} value" of a family typed before it.</summary>
    private static Dictionary<string, double> ParseExposition(string body)
    {
        var typed = new HashSet<string>();
        var samples = new Dictionary<string, double>();
        foreach (var line in body.TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith("# HELP assp_", StringComparison.Ordinal)) continue;
            if (line.StartsWith("# TYPE assp_", StringComparison.Ordinal)) { Assert.True(typed.Add(line.Split(' ')[2])); continue; }
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^(assp_[a-z_]+)(\{[^}]*\})? (\S+)$");
            Assert.True(m.Success, "not exposition text: " + line);
            var name = m.Groups[1].Value;
            Assert.Contains(typed, t => name == t || name.StartsWith(t + "_", StringComparison.Ordinal));
            samples.Add(name + m.Groups[2].Value, m.Groups[3].Value == "+Inf" ? double.PositiveInfinity
                : double.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        return samples;
    }
}
