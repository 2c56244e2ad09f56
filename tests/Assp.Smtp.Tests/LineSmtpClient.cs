using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Smtp.Tests;

/// <summary>A plain SMTP client for the proxy tests: one command, one (possibly multi-line) reply.</summary>
internal sealed class LineSmtpClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly StreamReader _reader;

    private LineSmtpClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = new StreamReader(_stream, Encoding.Latin1);
    }

    /// <summary>Connects, expects the 220 greeting and, when <paramref name="ehlo"/> is given, says EHLO.</summary>
    public static async Task<LineSmtpClient> ConnectAsync(int port, string? ehlo = null, IPAddress? from = null)
    {
        // Another loopback source address (127.0.0.2, …) plays another client IP.
        var tcp = from is null ? new TcpClient() : new TcpClient(new IPEndPoint(from, 0));
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var client = new LineSmtpClient(tcp);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        if (ehlo is not null) Assert.Equal(250, (await client.CommandAsync("EHLO " + ehlo)).Code);
        return client;
    }

    /// <summary>Dot-stuffs a CRLF message the way a client sends it after DATA (the end line not included).</summary>
    public static string Stuffed(string message) =>
        string.Join("\r\n", message.Split("\r\n").Select(l => l.StartsWith('.') ? "." + l : l));

    /// <summary>One whole transaction from a@client.example to user@example.com; returns the reply to the final dot.</summary>
    public async Task<(int Code, string Text)> SendMessageAsync(string message)
    {
        Assert.Equal(250, (await CommandAsync("MAIL FROM:<a@client.example>")).Code);
        Assert.Equal(250, (await CommandAsync("RCPT TO:<user@example.com>")).Code);
        Assert.Equal(354, (await CommandAsync("DATA")).Code);
        await SendRawAsync(Stuffed(message) + ".\r\n");
        return await ReadReplyAsync();
    }

    public async Task SendRawAsync(string text) => await _stream.WriteAsync(Encoding.Latin1.GetBytes(text));

    public async Task<(int Code, string Text)> CommandAsync(string line)
    {
        await SendRawAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    public async Task<(int Code, string Text)> ReadReplyAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var text = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException("closed");
            text.Append(line).Append('\n');
            if (line.Length < 4 || line[3] != '-') return (int.Parse(line[..3]), text.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { await _stream.WriteAsync("QUIT\r\n"u8.ToArray()); } catch (IOException) { }
        _tcp.Dispose();
    }
}
