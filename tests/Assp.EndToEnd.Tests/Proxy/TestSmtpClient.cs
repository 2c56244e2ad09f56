using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>A plain SMTP client over a real socket, for tests that need exact control over what is sent.</summary>
public sealed class TestSmtpClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private Stream _stream;
    private readonly List<byte> _pending = [];
    private readonly byte[] _buffer = new byte[65536];

    private TestSmtpClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<TestSmtpClient> ConnectAsync(int port, string? fromAddress = null)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork);
        if (fromAddress is not null) tcp.Client.Bind(new IPEndPoint(IPAddress.Parse(fromAddress), 0));
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        return new TestSmtpClient(tcp);
    }

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Reads one (possibly multi-line) reply; returns its code and full text.</summary>
    public async Task<(int Code, string Text)> ReadReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var text = new StringBuilder();
        while (true)
        {
            var line = await ReadLineAsync(cts.Token);
            if (line is null) throw new IOException("connection closed while waiting for a reply; got so far: " + text);
            text.Append(line).Append('\n');
            if (line.Length < 4 || line[3] != '-') return (int.Parse(line[..3]), text.ToString());
        }
    }

    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            int lf = _pending.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, lf).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, lf + 1);
                return line;
            }
            int n = await _stream.ReadAsync(_buffer, ct);
            if (n == 0) return null;
            _pending.AddRange(_buffer.AsSpan(0, n).ToArray());
        }
    }

    /// <summary>True when the server has closed the connection (reads end).</summary>
    public async Task<bool> IsClosedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                if (await ReadLineAsync(cts.Token) is null) return true;
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public async Task SendAsync(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public async Task SendRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public async Task<(int Code, string Text)> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    public async Task StartTlsAsync(System.Security.Authentication.SslProtocols protocols = System.Security.Authentication.SslProtocols.None)
    {
        var ssl = new SslStream(_stream, false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "proxy.assp-e2e.test", EnabledSslProtocols = protocols });
        _stream = ssl;
        Tls = ssl;
    }

    /// <summary>The TLS layer after StartTlsAsync (protocol and cipher the proxy agreed to), else null.</summary>
    public SslStream? Tls { get; private set; }

    /// <summary>EHLO, MAIL, RCPTs, DATA, message, dot; returns the reply to the final dot.</summary>
    public async Task<(int Code, string Text)> SendMailAsync(string from, string[] to, string message, bool ehlo = true)
    {
        if (ehlo) Assert(await CommandAsync("EHLO client.example"), 250);
        Assert(await CommandAsync($"MAIL FROM:<{from}>"), 250);
        foreach (var r in to) Assert(await CommandAsync($"RCPT TO:<{r}>"), 250);
        Assert(await CommandAsync("DATA"), 354);
        await SendAsync(DotStuff(message) + ".\r\n");
        return await ReadReplyAsync();
    }

    public static string DotStuff(string message)
    {
        var lines = message.Replace("\r\n", "\n").Split('\n');
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            if (i == lines.Length - 1 && lines[i].Length == 0) break;
            sb.Append(lines[i].StartsWith('.') ? "." + lines[i] : lines[i]).Append("\r\n");
        }
        return sb.ToString();
    }

    private static void Assert((int Code, string Text) reply, int expected)
    {
        if (reply.Code != expected) throw new InvalidOperationException($"expected {expected}, got {reply.Text}");
    }

    public async ValueTask DisposeAsync()
    {
        try { await _stream.DisposeAsync(); } catch (IOException) { }
        _tcp.Dispose();
    }
}
