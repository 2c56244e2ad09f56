using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.LoadBench;

/// <summary>What the soak's extra connections do while the load runs.</summary>
internal enum HeldKind
{
    /// <summary>Greeted, then silent.</summary>
    Idle,

    /// <summary>Greeted, then an EHLO line one byte per interval that never ends.</summary>
    SlowCommand,

    /// <summary>EHLO, MAIL, RCPT, DATA at once, then a message body one byte per interval that never ends.</summary>
    SlowData,
}

/// <summary>How one group of held connections fared: how many were held to the end, and what the proxy did with the rest.</summary>
internal sealed class HeldFigures
{
    public required HeldKind Kind { get; init; }
    public int Requested { get; init; }
    public int Opened { get; set; }
    public int HeldToEnd { get; set; }
    public int ClosedByProxy { get; set; }
    public double? FirstClosedAfterSeconds { get; set; }
    public double? LastClosedAfterSeconds { get; set; }
    public double HeldSeconds { get; set; }

    /// <summary>The last line the proxy sent before it closed a connection ("(nothing)" when it closed silently), with counts.</summary>
    public Dictionary<string, int> ProxyLastLines { get; } = new(StringComparer.Ordinal);

    /// <summary>Connections that could not be opened, by reason.</summary>
    public Dictionary<string, int> OpenErrors { get; } = new(StringComparer.Ordinal);

    public string Label => Kind switch
    {
        HeldKind.Idle => "idle",
        HeldKind.SlowCommand => "slowloris EHLO",
        _ => "slowloris DATA",
    };
}

/// <summary>
/// The idle and slowloris connections of a soak round: opened before the load, watched while it runs (when and with
/// which last words the proxy closes one), and closed by us afterwards.
/// </summary>
internal sealed class HeldConnections : IAsyncDisposable
{
    private readonly List<Held> _all = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly TimeSpan _interval;

    private sealed class Held(HeldKind kind, Socket socket)
    {
        public HeldKind Kind { get; } = kind;
        public Socket Socket { get; } = socket;
        public long Opened { get; } = Stopwatch.GetTimestamp();
        public readonly StringBuilder Received = new();
        public volatile bool ClosedByUs;
        public double? ClosedByProxyAfter;
        public string? LastLine;
    }

    private HeldConnections(TimeSpan interval) => _interval = interval;

    public IReadOnlyDictionary<HeldKind, HeldFigures> Figures { get; private set; } = new Dictionary<HeldKind, HeldFigures>();

    /// <summary>Opens <paramref name="idle"/> idle and <paramref name="slowloris"/> slowloris connections (half of each slow kind).</summary>
    public static async Task<HeldConnections> OpenAsync(IPEndPoint target, int idle, int slowloris, TimeSpan interval, string rcptDomain, CancellationToken ct)
    {
        var held = new HeldConnections(interval);
        int slowCommand = slowloris / 2;
        var figures = new Dictionary<HeldKind, HeldFigures>
        {
            [HeldKind.Idle] = new() { Kind = HeldKind.Idle, Requested = idle },
            [HeldKind.SlowCommand] = new() { Kind = HeldKind.SlowCommand, Requested = slowCommand },
            [HeldKind.SlowData] = new() { Kind = HeldKind.SlowData, Requested = slowloris - slowCommand },
        };
        held.Figures = figures;
        var kinds = Enumerable.Repeat(HeldKind.Idle, idle)
            .Concat(Enumerable.Repeat(HeldKind.SlowCommand, slowCommand))
            .Concat(Enumerable.Repeat(HeldKind.SlowData, slowloris - slowCommand));
        using var gate = new SemaphoreSlim(64); // connect in waves, not a thousand SYNs at once
        var opening = kinds.Select(kind => Task.Run(async () =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var (socket, error) = await ConnectAsync(target, kind, rcptDomain, ct).ConfigureAwait(false);
                var f = figures[kind];
                lock (f)
                {
                    if (socket is null) f.OpenErrors[error!] = f.OpenErrors.GetValueOrDefault(error!) + 1;
                    else f.Opened++;
                }
                if (socket is null) return;
                var h = new Held(kind, socket);
                lock (held._all) held._all.Add(h);
                var watch = Task.Run(() => held.WatchAsync(h));
                var dribble = kind == HeldKind.Idle ? Task.CompletedTask : Task.Run(() => held.DribbleAsync(h));
                lock (held._tasks) held._tasks.AddRange([watch, dribble]);
            }
            finally
            {
                gate.Release();
            }
        }, ct)).ToArray();
        await Task.WhenAll(opening).ConfigureAwait(false);
        return held;
    }

    private static async Task<(Socket? Socket, string? Error)> ConnectAsync(IPEndPoint target, HeldKind kind, string rcptDomain, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        SmtpConnection? c = null;
        string step = "connect";
        try
        {
            c = await SmtpConnection.ConnectAsync(target, timeout.Token, bufferSize: 1024).ConfigureAwait(false);
            step = "greeting";
            int code = await c.ReadReplyAsync(timeout.Token).ConfigureAwait(false);
            if (code != 220) return (null, "greeting: " + c.LastLine);
            if (kind == HeldKind.SlowData)
            {
                foreach (var (command, expect) in new[]
                         {
                             ("EHLO slowloris.example.net", 250), ("MAIL FROM:<slowloris@example.net>", 250),
                             ($"RCPT TO:<slowloris@{rcptDomain}>", 250), ("DATA", 354),
                         })
                {
                    step = command.Split(' ')[0];
                    await c.SendAsync(Encoding.ASCII.GetBytes(command + "\r\n"), timeout.Token).ConfigureAwait(false);
                    if (await c.ReadReplyAsync(timeout.Token).ConfigureAwait(false) != expect) return (null, $"{step}: {c.LastLine}");
                }
            }
            var socket = c.Detach();
            c = null;
            return (socket, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"{step}: no reply within 30 s");
        }
        catch (SocketException ex)
        {
            return (null, $"{step}: {ex.SocketErrorCode}");
        }
        catch (SmtpWireException ex)
        {
            return (null, $"{step}: {ex.Message}");
        }
        finally
        {
            c?.Dispose();
        }
    }

    /// <summary>Reads whatever the proxy sends until it closes the connection (or we do).</summary>
    private async Task WatchAsync(Held h)
    {
        var buffer = new byte[512];
        try
        {
            while (true)
            {
                int n = await h.Socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0) break;
                lock (h.Received)
                {
                    if (h.Received.Length < 4096) h.Received.Append(Encoding.Latin1.GetString(buffer, 0, n));
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        if (h.ClosedByUs) return;
        h.ClosedByProxyAfter = Stopwatch.GetElapsedTime(h.Opened).TotalSeconds;
        string text;
        lock (h.Received) text = h.Received.ToString();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        h.LastLine = lines.Length > 0 ? lines[^1] : "(nothing)";
    }

    /// <summary>One byte per interval of a line (or body) that never ends.</summary>
    private async Task DribbleAsync(Held h)
    {
        byte[] start = h.Kind == HeldKind.SlowCommand ? "EHLO slowloris"u8.ToArray() : "Subject: slowloris\r\n\r\n"u8.ToArray();
        var one = new byte[1];
        try
        {
            for (long i = 0; ; i++)
            {
                await Task.Delay(_interval, _stop.Token).ConfigureAwait(false);
                if (i < start.Length) one[0] = start[(int)i];
                else if (h.Kind == HeldKind.SlowCommand) one[0] = (byte)'a';
                else one[0] = ((i - start.Length) % 72) switch { 70 => (byte)'\r', 71 => (byte)'\n', _ => (byte)'x' };
                if (await h.Socket.SendAsync(one, SocketFlags.None, _stop.Token).ConfigureAwait(false) <= 0) return;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Counts what is still open, closes everything, and fills in <see cref="Figures"/>.</summary>
    public async Task CloseAsync()
    {
        List<Held> all;
        lock (_all) all = [.. _all];
        foreach (var h in all)
        {
            // A connection the proxy has closed reads as end of stream: the watcher has seen it (or is about to).
            if (h.ClosedByProxyAfter is null) h.ClosedByUs = true;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var h in all) h.Socket.Dispose();
        Task[] tasks;
        lock (_tasks) tasks = [.. _tasks];
        await Task.WhenAll(tasks).ConfigureAwait(false);

        foreach (var group in all.GroupBy(h => h.Kind))
        {
            var f = Figures[group.Key];
            foreach (var h in group)
            {
                f.HeldSeconds = Math.Max(f.HeldSeconds, Stopwatch.GetElapsedTime(h.Opened).TotalSeconds);
                if (h.ClosedByProxyAfter is { } after)
                {
                    f.ClosedByProxy++;
                    f.FirstClosedAfterSeconds = Math.Min(f.FirstClosedAfterSeconds ?? after, after);
                    f.LastClosedAfterSeconds = Math.Max(f.LastClosedAfterSeconds ?? after, after);
                    string line = h.LastLine ?? "(nothing)";
                    f.ProxyLastLines[line] = f.ProxyLastLines.GetValueOrDefault(line) + 1;
                }
                else
                {
                    f.HeldToEnd++;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await CloseAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
