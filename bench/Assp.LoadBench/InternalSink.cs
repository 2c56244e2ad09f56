using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Assp.LoadBench;

/// <summary>An SMTP server on 127.0.0.1 that accepts everything and throws it away.</summary>
internal interface ISink : IAsyncDisposable
{
    string Name { get; }
    IPEndPoint EndPoint { get; }

    /// <summary>Messages whose final dot the sink has seen so far (null when it cannot tell).</summary>
    long? MessagesReceived { get; }
}

/// <summary>
/// The in-process sink: async sockets, one pooled buffer per connection, replies from static byte arrays,
/// PIPELINING-safe (every command in a read is answered, the answers go out in one send).
/// </summary>
internal sealed class InternalSink : ISink
{
    private static readonly byte[] Greeting = "220 loadbench-sink ESMTP\r\n"u8.ToArray();
    private static readonly byte[] EhloReply = "250-loadbench-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 0\r\n250 ENHANCEDSTATUSCODES\r\n"u8.ToArray();
    private static readonly byte[] HeloReply = "250 loadbench-sink\r\n"u8.ToArray();
    private static readonly byte[] MailOk = "250 2.1.0 Ok\r\n"u8.ToArray();
    private static readonly byte[] RcptOk = "250 2.1.5 Ok\r\n"u8.ToArray();
    private static readonly byte[] DataGo = "354 End data with <CR><LF>.<CR><LF>\r\n"u8.ToArray();
    private static readonly byte[] Queued = "250 2.0.0 Ok: queued\r\n"u8.ToArray();
    private static readonly byte[] Ok = "250 2.0.0 Ok\r\n"u8.ToArray();
    private static readonly byte[] VrfyReply = "252 2.0.0 Cannot VRFY\r\n"u8.ToArray();
    private static readonly byte[] Bye = "221 2.0.0 Bye\r\n"u8.ToArray();
    private static readonly byte[] Unknown = "502 5.5.2 Error: command not recognized\r\n"u8.ToArray();
    private static readonly byte[] TooLong = "500 5.5.2 Error: line too long\r\n"u8.ToArray();

    private const int BufferSize = 64 * 1024;

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly Task _acceptLoop;
    private long _messages;
    private long _dataBytes;
    private long _sessions;

    private InternalSink(Socket listener)
    {
        _listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public static InternalSink Start(int port = 0, int backlog = 4096)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            listener.Listen(backlog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new InternalSink(listener);
    }

    public string Name => "internal";
    public IPEndPoint EndPoint { get; }
    public long? MessagesReceived => Interlocked.Read(ref _messages);

    /// <summary>Bytes received in DATA, from after the 354 up to and including each CRLF.CRLF terminator.</summary>
    public long DataBytes => Interlocked.Read(ref _dataBytes);

    public long Sessions => Interlocked.Read(ref _sessions);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested) return;
                continue; // e.g. EMFILE under an idle test: keep accepting
            }
            client.NoDelay = true;
            _open.TryAdd(client, 0);
            Interlocked.Increment(ref _sessions);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var replies = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            await SendAllAsync(socket, Greeting).ConfigureAwait(false);
            int start = 0, end = 0, replyLength = 0;
            bool inData = false, discarding = false;
            int dataState = 0;
            long dataBytes = 0;
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0) return;
                end += n;
                bool quit = false;
                while (start < end && !quit)
                {
                    if (inData)
                    {
                        int consumed = ScanData(buffer.AsSpan(start, end - start), ref dataState, out bool done);
                        dataBytes += consumed;
                        start += consumed;
                        if (done)
                        {
                            inData = false;
                            Interlocked.Increment(ref _messages);
                            Interlocked.Add(ref _dataBytes, dataBytes);
                            dataBytes = 0;
                            Append(socket, replies, ref replyLength, Queued);
                        }
                        continue;
                    }

                    int nl = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
                    if (nl < 0) break;
                    var line = buffer.AsSpan(start, nl);
                    start += nl + 1;
                    if (discarding)
                    {
                        discarding = false; // the tail of an over-long line
                        continue;
                    }
                    switch (Verb(line))
                    {
                        case "EHLO": Append(socket, replies, ref replyLength, EhloReply); break;
                        case "HELO": Append(socket, replies, ref replyLength, HeloReply); break;
                        case "MAIL": Append(socket, replies, ref replyLength, MailOk); break;
                        case "RCPT": Append(socket, replies, ref replyLength, RcptOk); break;
                        case "DATA":
                            Append(socket, replies, ref replyLength, DataGo);
                            inData = true;
                            dataState = LineStart;
                            break;
                        case "RSET" or "NOOP": Append(socket, replies, ref replyLength, Ok); break;
                        case "VRFY": Append(socket, replies, ref replyLength, VrfyReply); break;
                        case "QUIT":
                            Append(socket, replies, ref replyLength, Bye);
                            quit = true;
                            break;
                        default: Append(socket, replies, ref replyLength, Unknown); break;
                    }
                }
                if (replyLength > 0)
                {
                    await SendAllAsync(socket, replies.AsMemory(0, replyLength)).ConfigureAwait(false);
                    replyLength = 0;
                }
                if (quit) return;

                if (start == end)
                {
                    start = end = 0;
                }
                else if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }
                else if (end == buffer.Length)
                {
                    // A command line filling the whole buffer: answer it and drop it up to its newline.
                    await SendAllAsync(socket, TooLong).ConfigureAwait(false);
                    start = end = 0;
                    discarding = true;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the sink is stopping.
        }
        finally
        {
            _open.TryRemove(socket, out _);
            socket.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(replies);
        }
    }

    // Where the data scanner is in the "\r\n.\r\n" terminator.
    private const int MidLine = 0, SeenCr = 1, LineStart = 2, SeenDot = 3, SeenDotCr = 4;

    /// <summary>
    /// Scans DATA bytes for the end-of-data line; returns how many bytes belong to the message (all of
    /// <paramref name="data"/>, or up to and including the terminator's LF when <paramref name="done"/>).
    /// </summary>
    internal static int ScanData(ReadOnlySpan<byte> data, ref int state, out bool done)
    {
        int i = 0;
        while (i < data.Length)
        {
            if (state == MidLine)
            {
                int cr = data[i..].IndexOf((byte)'\r');
                if (cr < 0)
                {
                    done = false;
                    return data.Length;
                }
                i += cr + 1;
                state = SeenCr;
                continue;
            }
            byte b = data[i++];
            state = (state, b) switch
            {
                (SeenCr, (byte)'\n') => LineStart,
                (LineStart, (byte)'.') => SeenDot,
                (SeenDot, (byte)'\r') => SeenDotCr,
                (SeenDotCr, (byte)'\n') => -1,
                (_, (byte)'\r') => SeenCr,
                _ => MidLine,
            };
            if (state == -1)
            {
                state = LineStart;
                done = true;
                return i;
            }
        }
        done = false;
        return data.Length;
    }

    private static string Verb(ReadOnlySpan<byte> line)
    {
        if (line.Length < 4) return "";
        Span<char> v = stackalloc char[4];
        for (int i = 0; i < 4; i++) v[i] = char.ToUpperInvariant((char)line[i]);
        return v switch
        {
            "EHLO" => "EHLO",
            "HELO" => "HELO",
            "MAIL" => "MAIL",
            "RCPT" => "RCPT",
            "DATA" => "DATA",
            "RSET" => "RSET",
            "NOOP" => "NOOP",
            "VRFY" => "VRFY",
            "QUIT" => "QUIT",
            _ => "",
        };
    }

    private static void Append(Socket socket, byte[] replies, ref int length, byte[] reply)
    {
        if (length + reply.Length > replies.Length)
        {
            // Deep pipelining: push out what we have synchronously (rare; replies are small).
            int sent = 0;
            while (sent < length) sent += socket.Send(replies, sent, length - sent, SocketFlags.None);
            length = 0;
        }
        reply.CopyTo(replies, length);
        length += reply.Length;
    }

    private async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = await socket.SendAsync(data, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            data = data[n..];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        foreach (var s in _open.Keys) s.Dispose();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
