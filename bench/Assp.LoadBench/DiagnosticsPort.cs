using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Assp.LoadBench;

/// <summary>
/// The .NET runtime's own diagnostics port (a unix socket every .NET process opens in $TMPDIR), used for one thing:
/// asking the proxy for a full blocking garbage collection, so that its settled memory can be compared between rounds
/// without the noise of garbage the GC has simply not collected yet. This is what dotnet-gcdump does first: an
/// EventPipe session with the runtime provider's GCHeapCollect keyword makes the runtime run an induced gen2 GC.
/// No tool is needed; the protocol is a small binary header and payload.
/// </summary>
internal static class DiagnosticsPort
{
    private const ulong GcKeyword = 0x1;
    private const ulong GcHeapCollectKeyword = 0x800000;
    private const uint Informational = 4;

    /// <summary>The socket of the process, or null when there is none (not .NET, or diagnostics switched off).</summary>
    public static string? SocketPath(int pid)
    {
        string dir = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } t ? t : "/tmp";
        try
        {
            return Directory.EnumerateFiles(dir, $"dotnet-diagnostic-{pid}-*-socket").OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Makes the process run a full GC; returns null when done, else why not.</summary>
    public static async Task<string?> CollectGarbageAsync(int pid, CancellationToken ct)
    {
        if (SocketPath(pid) is not { } path) return $"no diagnostics socket for pid {pid}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            using var session = await ConnectAsync(path, timeout.Token).ConfigureAwait(false);
            await session.SendAsync(CollectTracingRequest(), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var (ok, payload) = await ReadReplyAsync(session, timeout.Token).ConfigureAwait(false);
            if (!ok || payload.Length < 8) return "the runtime refused the EventPipe session";
            ulong sessionId = BinaryPrimitives.ReadUInt64LittleEndian(payload);

            // The GC runs when the session starts; read the trace stream briefly (and discard it) so the runtime is
            // never blocked on us, then stop the session and read to its end.
            var drain = DrainAsync(session, timeout.Token);
            await Task.Delay(TimeSpan.FromSeconds(1), timeout.Token).ConfigureAwait(false);
            using (var stop = await ConnectAsync(path, timeout.Token).ConfigureAwait(false))
            {
                var body = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(body, sessionId);
                await stop.SendAsync(Message(0x02, 0x01, body), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                await ReadReplyAsync(stop, timeout.Token).ConfigureAwait(false);
            }
            await drain.ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return "the diagnostics port did not answer within 60 s";
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            return "diagnostics port: " + ex.Message;
        }
    }

    private static async Task<Socket> ConnectAsync(string path, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task DrainAsync(Socket socket, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
        }
    }

    /// <summary>EventPipe CollectTracing: 1 MB buffer, nettrace format, the runtime provider with GC | GCHeapCollect.</summary>
    private static byte[] CollectTracingRequest()
    {
        var body = new List<byte>();
        void U32(uint v) => body.AddRange(BitConverter.GetBytes(v));
        void Str(string? s)
        {
            if (s is null)
            {
                U32(0);
                return;
            }
            U32((uint)s.Length + 1);
            body.AddRange(Encoding.Unicode.GetBytes(s + "\0"));
        }
        U32(1); // circular buffer, MB
        U32(1); // format: nettrace
        U32(1); // one provider
        body.AddRange(BitConverter.GetBytes(GcKeyword | GcHeapCollectKeyword));
        U32(Informational);
        Str("Microsoft-Windows-DotNETRuntime");
        Str(null);
        return Message(0x02, 0x02, [.. body]);
    }

    /// <summary>The IPC header ("DOTNET_IPC_V1", total size, command set, command id, reserved) and the payload.</summary>
    private static byte[] Message(byte commandSet, byte commandId, byte[] payload)
    {
        var magic = "DOTNET_IPC_V1\0"u8;
        int size = magic.Length + 2 + 1 + 1 + 2 + payload.Length;
        var m = new byte[size];
        magic.CopyTo(m);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(14), (ushort)size);
        m[16] = commandSet;
        m[17] = commandId;
        payload.CopyTo(m, 20);
        return m;
    }

    /// <summary>Reads one reply: (true, payload) for OK (command set 0xFF, id 0x00), (false, payload) for an error.</summary>
    private static async Task<(bool Ok, byte[] Payload)> ReadReplyAsync(Socket socket, CancellationToken ct)
    {
        var header = new byte[20];
        await ReadExactlyAsync(socket, header, ct).ConfigureAwait(false);
        int size = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(14));
        var payload = new byte[Math.Max(0, size - 20)];
        await ReadExactlyAsync(socket, payload, ct).ConfigureAwait(false);
        return (header[16] == 0xFF && header[17] == 0x00, payload);
    }

    private static async Task ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken ct)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0) throw new IOException("the diagnostics port closed the connection");
            read += n;
        }
    }
}
