using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Checks.Tests.Dns;

/// <summary>
/// A UDP relay in front of nsd that never answers questions about one zone: a DNS list that has gone silent,
/// while the other lists keep answering through the same resolver. Given a delay, it answers that zone late instead.
/// </summary>
public sealed class SilentZoneForwarder : IDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _cts = new();
    private int _dropped;

    public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;
    /// <summary>Questions swallowed so far.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    public SilentZoneForwarder(IPEndPoint upstream, string silentZone, TimeSpan? delay = null)
    {
        var suffix = "." + silentZone.TrimEnd('.').ToLowerInvariant();
        _ = Task.Run(async () =>
        {
            while (!_cts.IsCancellationRequested)
            {
                UdpReceiveResult r;
                try { r = await _udp.ReceiveAsync(_cts.Token); }
                catch (Exception) { return; }
                bool slowZone = QuestionName(r.Buffer).EndsWith(suffix, StringComparison.Ordinal);
                if (slowZone && delay is null)
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }
                _ = Task.Run(async () =>
                {
                    try
                    {
                        if (slowZone) await Task.Delay(delay!.Value, _cts.Token);
                        using var up = new UdpClient();
                        up.Connect(upstream);
                        await up.SendAsync(r.Buffer, _cts.Token);
                        var answer = await up.ReceiveAsync(_cts.Token);
                        await _udp.SendAsync(answer.Buffer, r.RemoteEndPoint, _cts.Token);
                    }
                    catch (Exception)
                    {
                        // Shutting down, or nsd gone: the asker times out, as with any lost packet.
                    }
                });
            }
        });
    }

    private static string QuestionName(byte[] packet)
    {
        var name = new StringBuilder();
        int p = 12;
        while (p < packet.Length && packet[p] != 0 && p + 1 + packet[p] <= packet.Length)
        {
            name.Append('.').Append(Encoding.ASCII.GetString(packet, p + 1, packet[p]).ToLowerInvariant());
            p += 1 + packet[p];
        }
        return name.ToString();
    }

    public void Dispose()
    {
        _cts.Cancel();
        _udp.Dispose();
    }
}
