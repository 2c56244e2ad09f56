using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.LoadBench;

/// <summary>A server closed the connection, sent something that is not an SMTP reply, or took too long.</summary>
internal sealed class SmtpWireException(string message) : Exception(message);

/// <summary>
/// The client side of one SMTP connection: sends bytes, reads (multi-line) replies into a pooled buffer.
/// No allocation on the happy path; the text of the last reply line is decoded only when asked for.
/// </summary>
internal sealed class SmtpConnection : IDisposable
{
    private readonly byte[] _buffer;
    private int _start;
    private int _end;
    private int _lastLineStart;
    private int _lastLineLength;
    private bool _disposed;

    public SmtpConnection(Socket socket, int bufferSize = 8192)
    {
        Socket = socket;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    public Socket Socket { get; }

    /// <summary>Connects to a loopback endpoint, with Nagle off (we send whole commands and wait for replies).</summary>
    public static async Task<SmtpConnection> ConnectAsync(IPEndPoint endpoint, CancellationToken ct, int bufferSize = 8192)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, ct).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new SmtpConnection(socket, bufferSize);
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            int n = await Socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            if (n <= 0) throw new SmtpWireException("connection closed while sending");
            data = data[n..];
        }
    }

    /// <summary>
    /// Reads one complete reply and returns its code. <paramref name="lines"/>, when given, receives the text of
    /// every line (for EHLO's extension list).
    /// </summary>
    public async ValueTask<int> ReadReplyAsync(CancellationToken ct, List<string>? lines = null)
    {
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl < 0)
            {
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == _buffer.Length) throw new SmtpWireException("reply line longer than " + _buffer.Length + " bytes");
                int n = await Socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct).ConfigureAwait(false);
                if (n == 0) throw new SmtpWireException("connection closed by the server");
                _end += n;
                continue;
            }

            int lineStart = _start;
            int lineLength = nl;
            _start += nl + 1;
            if (lineLength > 0 && _buffer[lineStart + lineLength - 1] == (byte)'\r') lineLength--;
            _lastLineStart = lineStart;
            _lastLineLength = lineLength;
            var line = _buffer.AsSpan(lineStart, lineLength);
            if (line.Length < 3 || !char.IsAsciiDigit((char)line[0]) || !char.IsAsciiDigit((char)line[1]) || !char.IsAsciiDigit((char)line[2]))
                throw new SmtpWireException("not an SMTP reply: " + LastLine);
            lines?.Add(line.Length > 4 ? Encoding.Latin1.GetString(line[4..]) : "");
            if (line.Length > 3 && line[3] == (byte)'-') continue;
            return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        }
    }

    /// <summary>The last reply line read (valid until the next read), for error messages.</summary>
    public string LastLine
    {
        get
        {
            var s = Encoding.Latin1.GetString(_buffer, _lastLineStart, Math.Min(_lastLineLength, 200));
            return s.ReplaceLineEndings(" ");
        }
    }

    /// <summary>Gives the buffer back and hands over the socket, which stays open (the idle test holds it).</summary>
    public Socket Detach()
    {
        if (!_disposed)
        {
            _disposed = true;
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        return Socket;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Socket.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
    }
}

internal static class Net
{
    /// <summary>A port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>
    /// Connects, reads the greeting and says QUIT. Returns null when it was a 220, else what went wrong
    /// (connection refused, a different greeting, no greeting within <paramref name="timeout"/>).
    /// </summary>
    public static async Task<string?> ProbeGreetingAsync(IPEndPoint endpoint, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            using var c = await SmtpConnection.ConnectAsync(endpoint, cts.Token).ConfigureAwait(false);
            int code = await c.ReadReplyAsync(cts.Token).ConfigureAwait(false);
            if (code != 220) return "greeting was: " + c.LastLine;
            try
            {
                await c.SendAsync("QUIT\r\n"u8.ToArray(), cts.Token).ConfigureAwait(false);
                await c.ReadReplyAsync(cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or SmtpWireException or OperationCanceledException)
            {
                // The greeting is what counts here.
            }
            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"no greeting within {timeout.TotalSeconds:0.#} s";
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : ex.Message;
        }
        catch (SmtpWireException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>Polls <see cref="ProbeGreetingAsync"/> until a 220 or the deadline; stops early when <paramref name="gaveUp"/> says so.</summary>
    public static async Task<string?> WaitForGreetingAsync(IPEndPoint endpoint, TimeSpan deadline, Func<string?>? gaveUp, CancellationToken ct)
    {
        var until = DateTime.UtcNow + deadline;
        string? last = "not tried";
        while (DateTime.UtcNow < until)
        {
            ct.ThrowIfCancellationRequested();
            var remaining = until - DateTime.UtcNow;
            var probe = TimeSpan.FromSeconds(Math.Clamp(remaining.TotalSeconds, 0.1, 5));
            last = await ProbeGreetingAsync(endpoint, probe, ct).ConfigureAwait(false);
            if (last is null) return null;
            if (gaveUp?.Invoke() is { } why) return why;
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
        return last;
    }
}
