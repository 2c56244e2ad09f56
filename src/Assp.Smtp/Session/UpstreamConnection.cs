using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Assp.Smtp.Protocol;

namespace Assp.Smtp.Session;

/// <summary>Where a session's mail goes: one entry of smtpDestination (or its relatives).</summary>
public readonly record struct UpstreamTarget(string Host, int Port, bool Ssl)
{
    public override string ToString() => (Ssl ? "SSL:" : "") + (Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}");
}

/// <summary>
/// The MTA failed (closed, garbled its reply, did not answer in time, or the write to it failed), as distinct from
/// a failure of the client's connection: the session tells its client to come back later.
/// </summary>
public sealed class UpstreamFailedException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>The proxy's SMTP client side: one connection to the MTA behind it.</summary>
public sealed class UpstreamConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private Stream _stream;
    private readonly SmtpLineReader _reader;

    public UpstreamTarget Target { get; }
    public bool IsTls => _stream is SslStream;
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    private UpstreamConnection(Socket socket, Stream stream, UpstreamTarget target)
    {
        _socket = socket;
        _stream = stream;
        _reader = new SmtpLineReader(stream, 4096);
        Target = target;
    }

    public static Task<UpstreamConnection> ConnectAsync(UpstreamTarget target, IPAddress? localAddress, TimeSpan timeout, CancellationToken cancellationToken) =>
        ConnectAsync(target, _ => localAddress, timeout, cancellationToken);

    /// <summary>Connects to the first address of the target that answers; localFor picks the source address per resolved IP.</summary>
    public static async Task<UpstreamConnection> ConnectAsync(UpstreamTarget target, Func<IPAddress, IPAddress?> localFor, TimeSpan timeout, CancellationToken cancellationToken,
        Assp.Config.Tls.TlsSettings? tls = null, Assp.Config.Net.TcpBufferSizes? tcpBuffers = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        IPAddress[] addresses = IPAddress.TryParse(target.Host, out var ip) ? [ip] : await System.Net.Dns.GetHostAddressesAsync(target.Host, cts.Token).ConfigureAwait(false);
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                tcpBuffers?.Apply(socket);
                var localAddress = localFor(address);
                if (localAddress is not null && localAddress.AddressFamily == address.AddressFamily) socket.Bind(new IPEndPoint(localAddress, 0));
                await socket.ConnectAsync(new IPEndPoint(address, target.Port), cts.Token).ConfigureAwait(false);
                Stream stream = new NetworkStream(socket, ownsSocket: true);
                if (target.Ssl)
                {
                    var ssl = new SslStream(stream, false, AcceptAnyServerCertificate);
                    var options = new SslClientAuthenticationOptions { TargetHost = target.Host };
                    tls?.Apply(options);
                    await ssl.AuthenticateAsClientAsync(options, cts.Token).ConfigureAwait(false);
                    stream = ssl;
                }
                return new UpstreamConnection(socket, stream, target);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException or System.Security.Authentication.AuthenticationException)
            {
                last = ex;
                socket.Dispose();
                if (cancellationToken.IsCancellationRequested) throw;
            }
        }
        throw new IOException($"cannot connect to {target}: {last?.Message ?? "no address"}", last);
    }

    // The MTA behind the proxy is the admin's own server, commonly with a self-signed certificate.
    private static bool AcceptAnyServerCertificate(object sender, System.Security.Cryptography.X509Certificates.X509Certificate? certificate,
        System.Security.Cryptography.X509Certificates.X509Chain? chain, SslPolicyErrors errors) => true;

    private ReadDeadline? _deadline;
    private CancellationToken _deadlineFor;

    /// <summary>One deadline per connection, moved for each reply (a timer armed per reply costs a timer-queue update each time).</summary>
    private CancellationToken Deadline(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_deadline is null || _deadlineFor != cancellationToken)
        {
            _deadline?.Dispose();
            _deadline = new ReadDeadline(cancellationToken);
            _deadlineFor = cancellationToken;
        }
        return _deadline.Start(timeout);
    }

    public async Task<SmtpReply> ReadReplyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var token = Deadline(timeout, cancellationToken);
        List<string>? lines = null;
        int code = 0;
        try
        {
            while (true)
            {
                var line = await _reader.ReadLineAsync(4096, allowPartial: false, token).ConfigureAwait(false);
                if (line.Status == LineStatus.EndOfStream) throw new UpstreamFailedException("the MTA closed the connection");
                if (line.Status != LineStatus.Line) throw new UpstreamFailedException("the MTA sent an over-long reply line");
                var bytes = line.Bytes.Span;
                if (bytes.Length < 3 || !TryParseCode(bytes, out var c)) throw new UpstreamFailedException($"the MTA sent a malformed reply: {Shorten(Encoding.UTF8.GetString(bytes))}");
                if (code != 0 && c != code) throw new UpstreamFailedException("the MTA changed the code inside a multi-line reply");
                code = c;
                var text = bytes.Length > 4 ? Encoding.UTF8.GetString(bytes[4..]) : "";
                bool last = bytes.Length == 3 || bytes[3] != (byte)'-';
                // Most replies are one line: no list for them.
                if (last && lines is null) return new SmtpReply(code, [text]);
                (lines ??= []).Add(text);
                if (last) return new SmtpReply(code, lines);
                if (lines.Count > 100) throw new UpstreamFailedException("the MTA sent a reply of more than 100 lines");
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Our own deadline, not the session's stop: the MTA hangs.
            throw new UpstreamFailedException($"the MTA did not answer within {timeout.TotalSeconds:0} seconds", ex);
        }
        catch (IOException ex) when (ex is not UpstreamFailedException)
        {
            throw new UpstreamFailedException("the connection to the MTA failed: " + ex.Message, ex);
        }
        finally
        {
            _deadline!.Stop();
        }
    }

    /// <summary>The three digits of a reply code (int.TryParse would also take signs and spaces).</summary>
    private static bool TryParseCode(ReadOnlySpan<byte> bytes, out int code)
    {
        code = 0;
        for (int i = 0; i < 3; i++)
        {
            int d = bytes[i] - '0';
            if ((uint)d > 9) return false;
            code = code * 10 + d;
        }
        return true;
    }

    private static string Shorten(string s) => s.Length > 80 ? s[..80] + "..." : s;

    private byte[] _line = new byte[256];

    /// <summary>Sends one command line (CRLF is added); one reused buffer per connection, commands go one at a time.</summary>
    public async Task SendLineAsync(string line, CancellationToken cancellationToken)
    {
        int max = Encoding.UTF8.GetMaxByteCount(line.Length) + 2;
        if (_line.Length < max) _line = new byte[Math.Max(max, 2 * _line.Length)];
        int n = Encoding.UTF8.GetBytes(line, _line);
        _line[n++] = (byte)'\r';
        _line[n++] = (byte)'\n';
        await WriteAsync(_line.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends bytes as they are (message data, or several commands at once).</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new UpstreamFailedException("the connection to the MTA failed: " + ex.Message, ex);
        }
    }

    public async Task<SmtpReply> CommandAsync(string line, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await SendLineAsync(line, cancellationToken).ConfigureAwait(false);
        return await ReadReplyAsync(timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The raw stream, for sending message data.</summary>
    public Stream DataStream => _stream;

    /// <summary>Moves the connection to TLS after the MTA's 220 to STARTTLS; tls brings SSL_version, SSL_cipher_list and
    /// SSLtimeout (at least 10 seconds towards an MTA, as ASSP gives its SMTP client).</summary>
    public async Task StartTlsAsync(string targetHost, CancellationToken cancellationToken, Assp.Config.Tls.TlsSettings? tls = null)
    {
        var ssl = new SslStream(_stream, false, AcceptAnyServerCertificate);
        var options = new SslClientAuthenticationOptions { TargetHost = targetHost };
        tls?.Apply(options);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (tls?.HandshakeTimeout is { } limit) timeout.CancelAfter(limit < TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(10) : limit);
        try
        {
            await ssl.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AuthenticationException($"no TLS handshake with {targetHost} within {tls?.HandshakeTimeout}");
        }
        _stream = ssl;
        _reader.ReplaceStream(ssl);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
        _socket.Dispose();
        _reader.Dispose();
        _deadline?.Dispose();
    }
}
