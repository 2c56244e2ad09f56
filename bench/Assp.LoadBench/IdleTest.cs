using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Assp.LoadBench;

/// <summary>The figures of an idle-connection run.</summary>
internal sealed class IdleResult
{
    public int Requested { get; init; }
    public int Greeted { get; set; }
    public int StillOpen { get; set; }
    public double OpenSeconds { get; set; }
    public double? RssBeforeMb { get; set; }
    public double? RssHeldMb { get; set; }
    public double? RssAfterCloseMb { get; set; }
    public long? OwnFdLimit { get; set; }
    public long? ProxyFdLimit { get; set; }
    public Dictionary<string, int> Errors { get; } = new(StringComparer.Ordinal);
    public const double TargetMb = 250;
}

/// <summary>
/// Opens N connections, reads each 220 greeting, holds them all open while sampling the proxy's RSS, then closes them.
/// </summary>
internal static class IdleTest
{
    public static async Task<IdleResult> RunAsync(IPEndPoint target, int count, int? pid, TimeSpan hold, TimeSpan limit, TextWriter log, CancellationToken ct, TimeSpan? settle = null)
    {
        var result = new IdleResult { Requested = count, OwnFdLimit = ProcFs.OpenFilesLimit(), ProxyFdLimit = pid is { } p ? ProcFs.OpenFilesLimit(p.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null };
        const int Spare = 64; // our own files, the runtime's, the proxy's listener, logs and upstream connections
        if (result.OwnFdLimit is { } own && own < count + Spare)
            log.WriteLine($"WARNING: this process may open only {own} files (ulimit -n); {count} connections need about {count + Spare}. " +
                          $"Raise it first, e.g. `ulimit -n {Math.Max(65536, count * 2)}` in the shell that runs the benchmark.");
        if (result.ProxyFdLimit is { } theirs && theirs < count + Spare)
            log.WriteLine($"WARNING: the proxy (pid {pid}) may open only {theirs} files; it needs at least {count + Spare} to hold {count} " +
                          "connections (twice that if it opens an upstream connection per client). Raise `ulimit -n` before starting it.");

        result.RssBeforeMb = pid is { } p1 ? ProcFs.StatusMb(p1, "VmRSS") : null;
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(limit);
        var sockets = new Socket?[count];
        using var gate = new SemaphoreSlim(64); // connect in waves, not 2000 SYNs at once
        var sw = Stopwatch.StartNew();
        var tasks = new Task[count];
        for (int i = 0; i < count; i++)
        {
            int n = i;
            tasks[i] = Task.Run(async () =>
            {
                await gate.WaitAsync(bound.Token).ConfigureAwait(false);
                try
                {
                    sockets[n] = await OpenAsync(target, result, bound.Token).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            });
        }
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (result.Errors) result.Errors["stopped by the duration limit while opening"] = 1;
        }
        result.OpenSeconds = sw.Elapsed.TotalSeconds;
        result.Greeted = sockets.Count(s => s is not null);
        log.WriteLine($"idle: {result.Greeted} of {count} connections greeted with 220 in {result.OpenSeconds:0.00} s; holding them {hold.TotalSeconds:0.#} s");

        // Hold: sample RSS once a second, keep the highest.
        var end = DateTime.UtcNow + hold;
        do
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(1, hold.TotalSeconds)), CancellationToken.None).ConfigureAwait(false);
            if (pid is { } p2 && ProcFs.StatusMb(p2, "VmRSS") is { } rss) result.RssHeldMb = Math.Max(result.RssHeldMb ?? 0, rss);
        }
        while (DateTime.UtcNow < end);

        // Did the proxy drop (or write to) any of them while they sat there?
        foreach (var s in sockets)
        {
            if (s is null) continue;
            try
            {
                if (!s.Poll(0, SelectMode.SelectRead)) result.StillOpen++;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        foreach (var s in sockets) s?.Dispose();
        await Task.Delay(settle ?? TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
        result.RssAfterCloseMb = pid is { } p3 ? ProcFs.StatusMb(p3, "VmRSS") : null;
        return result;
    }

    private static async Task<Socket?> OpenAsync(IPEndPoint target, IdleResult result, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        SmtpConnection? c = null;
        try
        {
            c = await SmtpConnection.ConnectAsync(target, timeout.Token, bufferSize: 1024).ConfigureAwait(false);
            int code = await c.ReadReplyAsync(timeout.Token).ConfigureAwait(false);
            if (code == 220)
            {
                var s = c.Detach(); // keep the socket open, give the buffer back
                c = null;
                return s;
            }
            Count(result, "greeting: " + c.LastLine);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Count(result, "no greeting within 30 s");
        }
        catch (SocketException ex)
        {
            Count(result, "connect: " + ex.SocketErrorCode);
        }
        catch (SmtpWireException ex)
        {
            Count(result, ex.Message);
        }
        finally
        {
            c?.Dispose();
        }
        return null;
    }

    private static void Count(IdleResult result, string error)
    {
        lock (result.Errors) result.Errors[error] = result.Errors.GetValueOrDefault(error) + 1;
    }
}
