using System.Buffers;
using System.Net.Sockets;

namespace Assp.Smtp.Session;

/// <summary>Copies bytes both ways between two streams until either side ends or nothing moves for the idle limit.</summary>
internal static class TcpTunnel
{
    public static async Task RunAsync(Stream a, Stream b, TimeSpan idleLimit, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        long lastActivity = Environment.TickCount64;

        async Task CopyAsync(Stream from, Stream to)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                while (true)
                {
                    int n = await from.ReadAsync(buffer, stop.Token).ConfigureAwait(false);
                    if (n == 0) break;
                    Volatile.Write(ref lastActivity, Environment.TickCount64);
                    await to.WriteAsync(buffer.AsMemory(0, n), stop.Token).ConfigureAwait(false);
                    await to.FlushAsync(stop.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException) { }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                // One side has ended: the other direction has nobody left to talk to.
                await stop.CancelAsync().ConfigureAwait(false);
            }
        }

        async Task WatchIdleAsync()
        {
            if (idleLimit == Timeout.InfiniteTimeSpan) return;
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
                    if (Environment.TickCount64 - Volatile.Read(ref lastActivity) > idleLimit.TotalMilliseconds)
                    {
                        await stop.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
            }
            catch (OperationCanceledException) { }
        }

        await Task.WhenAll(CopyAsync(a, b), CopyAsync(b, a), WatchIdleAsync()).ConfigureAwait(false);
    }
}
