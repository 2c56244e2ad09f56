using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Checks.Virus;

/// <summary>Where a clamd listens: a unix socket path, or a TCP host and port.</summary>
public sealed record ClamdEndpoint(string? SocketPath, string? Host, int Port)
{
    public override string ToString() => SocketPath ?? $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// AvClamdPort syntax: a socket path (anything with a '/'), a port (127.0.0.1 assumed), or host:port
    /// ([v6]:port for IPv6); several separated by '|'. Throws <see cref="FormatException"/> naming the bad entry.
    /// </summary>
    public static IReadOnlyList<ClamdEndpoint> ParseList(string value)
    {
        var list = new List<ClamdEndpoint>();
        foreach (var raw in value.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (raw.Contains('/')) { list.Add(new ClamdEndpoint(raw, null, 0)); continue; }
            string host = "127.0.0.1", port = raw;
            int colon = raw.LastIndexOf(':');
            if (colon >= 0)
            {
                host = raw[..colon].Trim('[', ']');
                port = raw[(colon + 1)..];
            }
            if (host.Length == 0 || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
                throw new FormatException($"AvClamdPort: '{raw}' is neither a socket path, a port nor host:port");
            list.Add(new ClamdEndpoint(null, host, p));
        }
        return list;
    }
}

public enum ClamdStatus { Clean, Infected, Error, Unavailable }

/// <summary>One scan's outcome: clean, infected with <see cref="Virus"/>, an error reply of clamd, or no clamd reachable.</summary>
public sealed record ClamdResult(ClamdStatus Status, string? Virus, string Detail, ClamdEndpoint? Endpoint);

/// <summary>
/// A client of clamd's INSTREAM command: the data goes in length-prefixed chunks, clamd answers
/// "stream: OK", "stream: NAME FOUND" or "... ERROR". Several daemons are used round robin from a random start;
/// one that cannot be reached is skipped for the next. The whole scan is bounded by the timeout.
/// </summary>
public sealed class ClamdClient
{
    /// <summary>INSTREAM chunk size (clamd reads chunks up to StreamMaxLength; small ones keep its buffers small).</summary>
    public const int ChunkSize = 16 * 1024;

    private readonly ClamdEndpoint[] _endpoints;
    private int _next;

    public ClamdClient(IReadOnlyList<ClamdEndpoint> endpoints, TimeSpan timeout)
    {
        if (endpoints.Count == 0) throw new ArgumentException("no clamd endpoint", nameof(endpoints));
        _endpoints = [.. endpoints];
        _next = Random.Shared.Next(_endpoints.Length);
        Timeout = timeout;
    }

    public IReadOnlyList<ClamdEndpoint> Endpoints => _endpoints;
    public TimeSpan Timeout { get; }

    public Task<ClamdResult> ScanAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        RunAsync((stream, ct) => ScanOnAsync(stream, data, ct), cancellationToken);

    /// <summary>PING → PONG on the first reachable daemon.</summary>
    public Task<ClamdResult> PingAsync(CancellationToken cancellationToken) =>
        RunAsync(async (stream, ct) =>
        {
            await stream.WriteAsync("zPING\0"u8.ToArray(), ct).ConfigureAwait(false);
            var reply = await ReadReplyAsync(stream, ct).ConfigureAwait(false);
            return reply == "PONG" ? (ClamdStatus.Clean, null, reply) : (ClamdStatus.Error, null, reply);
        }, cancellationToken);

    private async Task<ClamdResult> RunAsync(Func<Stream, CancellationToken, Task<(ClamdStatus, string?, string)>> talk, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (Timeout > TimeSpan.Zero) timeout.CancelAfter(Timeout);
        int start = (int)((uint)Interlocked.Increment(ref _next) % (uint)_endpoints.Length);
        var failures = new List<string>();
        for (int i = 0; i < _endpoints.Length; i++)
        {
            var endpoint = _endpoints[(start + i) % _endpoints.Length];
            Socket? socket = null;
            try
            {
                socket = await ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                socket?.Dispose();
                failures.Add($"{endpoint}: {(ex is OperationCanceledException ? "connect timed out" : ex.Message)}");
                if (timeout.IsCancellationRequested) break;
                continue;
            }
            try
            {
                await using var stream = new NetworkStream(socket, ownsSocket: true);
                var (status, virus, detail) = await talk(stream, timeout.Token).ConfigureAwait(false);
                return new ClamdResult(status, virus, detail, endpoint);
            }
            catch (Exception ex) when (ex is SocketException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // The daemon was reached but the talk failed: no other daemon is tried for this data (the time is used up).
                var what = ex is OperationCanceledException ? $"timed out after {Timeout.TotalSeconds:0} secs" : ex.Message;
                return new ClamdResult(ClamdStatus.Unavailable, null, $"{endpoint}: {what}", endpoint);
            }
        }
        return new ClamdResult(ClamdStatus.Unavailable, null, string.Join("; ", failures), null);
    }

    private static async Task<Socket> ConnectAsync(ClamdEndpoint endpoint, CancellationToken ct)
    {
        if (endpoint.SocketPath is { } path)
        {
            var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try { await unix.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false); }
            catch { unix.Dispose(); throw; }
            return unix;
        }
        EndPoint target = IPAddress.TryParse(endpoint.Host, out var ip) ? new IPEndPoint(ip, endpoint.Port) : new DnsEndPoint(endpoint.Host!, endpoint.Port);
        var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try { await tcp.ConnectAsync(target, ct).ConfigureAwait(false); }
        catch { tcp.Dispose(); throw; }
        return tcp;
    }

    private static async Task<(ClamdStatus, string?, string)> ScanOnAsync(Stream stream, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        try
        {
            await stream.WriteAsync("zINSTREAM\0"u8.ToArray(), ct).ConfigureAwait(false);
            var length = new byte[4];
            for (int offset = 0; offset < data.Length; offset += ChunkSize)
            {
                var chunk = data.Slice(offset, Math.Min(ChunkSize, data.Length - offset));
                BinaryPrimitives.WriteUInt32BigEndian(length, (uint)chunk.Length);
                await stream.WriteAsync(length, ct).ConfigureAwait(false);
                await stream.WriteAsync(chunk, ct).ConfigureAwait(false);
            }
            BinaryPrimitives.WriteUInt32BigEndian(length, 0);
            await stream.WriteAsync(length, ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            // clamd stops reading and answers at once when the stream is over its StreamMaxLength: read that answer.
            var early = await ReadReplyAsync(stream, ct).ConfigureAwait(false);
            if (early.Length == 0) throw;
            return Interpret(early);
        }
        return Interpret(await ReadReplyAsync(stream, ct).ConfigureAwait(false));
    }

    /// <summary>Reads clamd's reply up to its NUL (z-commands) or the end of the connection.</summary>
    private static async Task<string> ReadReplyAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[512];
        var sb = new MemoryStream();
        while (sb.Length < 8192)
        {
            int n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
            if (n == 0) break;
            int nul = Array.IndexOf(buffer, (byte)0, 0, n);
            sb.Write(buffer, 0, nul >= 0 ? nul : n);
            if (nul >= 0) break;
        }
        return Encoding.UTF8.GetString(sb.ToArray()).Trim();
    }

    /// <summary>"stream: OK" → clean; "stream: Name FOUND" → infected with Name; anything else (… ERROR) → error.</summary>
    public static (ClamdStatus, string?, string) Interpret(string reply)
    {
        var text = reply.StartsWith("stream:", StringComparison.Ordinal) ? reply[7..].Trim() : reply.Trim();
        if (text == "OK") return (ClamdStatus.Clean, null, reply);
        if (text.EndsWith(" FOUND", StringComparison.Ordinal)) return (ClamdStatus.Infected, text[..^6].Trim(), reply);
        return (ClamdStatus.Error, null, reply.Length == 0 ? "no reply" : reply);
    }
}
