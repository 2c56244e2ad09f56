using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Smtp.Session;

namespace Assp.Smtp.Forwarding;

/// <summary>
/// ProxyConf: transparent TCP forwarding. Each rule listens on its local endpoint and copies bytes both ways between
/// the client and the target, uninspected. Clients outside a rule's allow list are closed at once, as are all new
/// clients while DisableSMTPNetworking is set. A reload opens new rules and closes removed ones; connections already
/// forwarded go on until either side ends them. Outgoing connections start from smtpLocalIPAddress when it maps the
/// target.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private const int CopyBufferSize = 16 * 1024;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    private readonly Func<ConfigSnapshot> _config;
    private readonly MailLog? _log;
    private readonly Lock _gate = new();
    private readonly Dictionary<IPEndPoint, Listener> _listeners = [];
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private long _forwarded;
    private bool _stopped;

    private sealed record Listener(ProxyRule Rule, Socket Socket, CancellationTokenSource Closing, IPEndPoint Bound)
    {
        public Task Loop { get; set; } = Task.CompletedTask;
    }

    public TcpForwarder(Func<ConfigSnapshot> config, MailLog? log)
    {
        _config = config;
        _log = log;
    }

    /// <summary>Connections forwarded since start (accepted and connected to the target).</summary>
    public long ConnectionsForwarded => Interlocked.Read(ref _forwarded);

    public int ActiveConnections => _connections.Count;

    /// <summary>The rules being served and the endpoint each is bound to (port 0 in the rule becomes a real port).</summary>
    public IReadOnlyList<(ProxyRule Rule, IPEndPoint EndPoint)> Bound
    {
        get
        {
            lock (_gate) return _listeners.Values.Select(l => (l.Rule, l.Bound)).ToList();
        }
    }

    private void Log(string message) => _log?.Write("Proxy", null, message);

    /// <summary>Opens the listeners of the current ProxyConf and closes those no longer in it. Returns the problems.</summary>
    public List<string> Refresh()
    {
        var cfg = _config();
        var set = ProxyRule.FromConfig(cfg);
        var problems = new List<string>(set.Problems);
        lock (_gate)
        {
            if (_stopped) return problems;
            foreach (var (endPoint, listener) in _listeners.ToList())
            {
                if (set.Rules.Any(r => r.SameAs(listener.Rule))) continue;
                _listeners.Remove(endPoint);
                // Closed before the new rules bind: a changed rule usually keeps its port.
                Close(listener, "changed or removed in ProxyConf");
            }
            foreach (var rule in set.Rules)
            {
                if (_listeners.Values.Any(l => l.Rule.SameAs(rule))) continue;
                try
                {
                    var socket = new Socket(rule.Local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    try
                    {
                        if (rule.Local.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
                        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                        socket.Bind(rule.Local);
                        socket.Listen(128);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                    var listener = new Listener(rule, socket, CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token), (IPEndPoint)socket.LocalEndPoint!);
                    listener.Loop = Task.Run(() => AcceptLoopAsync(listener));
                    _listeners[listener.Bound] = listener;
                    Log($"forwarding TCP {listener.Bound} => {rule.TargetHost}:{rule.TargetPort}" +
                        (rule.Allowed is null ? "" : $" for {rule.Allowed.Count} allowed client entries") + " (ProxyConf)");
                }
                catch (SocketException ex)
                {
                    problems.Add($"ProxyConf: cannot listen on {rule.Local}: {ex.Message}");
                }
            }
        }
        foreach (var p in problems) Log("error: " + p);
        return problems;
    }

    private void Close(Listener listener, string why)
    {
        listener.Closing.Cancel();
        try { listener.Socket.Close(); } catch (SocketException) { }
        Log($"stopped forwarding {listener.Bound} => {listener.Rule.TargetHost}:{listener.Rule.TargetPort}: {why}");
    }

    private async Task AcceptLoopAsync(Listener listener)
    {
        while (!listener.Closing.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.Socket.AcceptAsync(listener.Closing.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (listener.Closing.IsCancellationRequested) return;
                continue;
            }
            var task = HandleAsync(listener.Rule, client);
            _connections[task] = 0;
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(ProxyRule rule, Socket client)
    {
        using (client)
        {
            var remote = ((IPEndPoint)client.RemoteEndPoint!).Address;
            if (remote.IsIPv4MappedToIPv6) remote = remote.MapToIPv4();
            var cfg = _config();
            if (cfg.GetBool("DisableSMTPNetworking"))
            {
                Log($"{remote} refused on {rule.Local}: DisableSMTPNetworking is set");
                return;
            }
            if (!rule.Allows(remote))
            {
                Log($"{remote} refused on {rule.Local}: not in the allowed clients of ProxyConf '{rule.Spec}'");
                return;
            }
            using var target = await ConnectAsync(cfg, rule, remote).ConfigureAwait(false);
            if (target is null) return;
            Interlocked.Increment(ref _forwarded);
            client.NoDelay = true;
            target.NoDelay = true;
            Log($"{remote} connected through {rule.Local} to {rule.TargetHost}:{rule.TargetPort}");
            // Each direction ends on its own: end of data from one side is passed on as a half-close to the other.
            var ct = _stopping.Token;
            var up = PumpAsync(client, target, ct);
            var down = PumpAsync(target, client, ct);
            var (sent, received) = (await up.ConfigureAwait(false), await down.ConfigureAwait(false));
            Log($"{remote} disconnected from {rule.TargetHost}:{rule.TargetPort} ({sent} bytes sent, {received} bytes received)");
        }
    }

    private async Task<Socket?> ConnectAsync(ConfigSnapshot cfg, ProxyRule rule, IPAddress remote)
    {
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(rule.TargetHost, out var literal) ? [literal]
                : await System.Net.Dns.GetHostAddressesAsync(rule.TargetHost, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            Log($"{remote} on {rule.Local}: cannot resolve {rule.TargetHost}: {ex.Message}");
            return null;
        }
        var localMap = LocalAddressMap.For(cfg);
        string? lastError = "no address";
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (localMap.For(rule.TargetHost, address) is { } local && local.AddressFamily == address.AddressFamily)
                    socket.Bind(new IPEndPoint(local, 0));
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(ConnectTimeout);
                await socket.ConnectAsync(new IPEndPoint(address, rule.TargetPort), timeout.Token).ConfigureAwait(false);
                return socket;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                lastError = ex is OperationCanceledException ? "timed out" : ex.Message;
                socket.Dispose();
            }
        }
        Log($"{remote} on {rule.Local}: cannot connect to {rule.TargetHost}:{rule.TargetPort}: {lastError}");
        return null;
    }

    /// <summary>Copies until the source ends or fails, then half-closes the destination. Returns the bytes copied.</summary>
    private static async Task<long> PumpAsync(Socket from, Socket to, CancellationToken ct)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        long total = 0;
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
                if (n == 0) break;
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, ct).ConfigureAwait(false);
                total += n;
            }
            try { to.Shutdown(SocketShutdown.Send); } catch (SocketException) { }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A reset or a stop on one side ends both: the peer of the other side sees the connection close.
            try { to.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            try { from.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return total;
    }

    /// <summary>Closes the listeners and waits up to <paramref name="grace"/> for forwarded connections, then cuts them.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        List<Listener> all;
        lock (_gate)
        {
            _stopped = true;
            all = [.. _listeners.Values];
            _listeners.Clear();
            // Marks the forwarder stopped for Refresh; open connections are cut only after the grace period.
            foreach (var l in all) l.Closing.Cancel();
        }
        foreach (var l in all)
        {
            try { l.Socket.Close(); } catch (SocketException) { }
        }
        await Task.WhenAll(all.Select(l => l.Loop)).ConfigureAwait(false);
        var running = Task.WhenAll(_connections.Keys);
        if (await Task.WhenAny(running, Task.Delay(grace)).ConfigureAwait(false) != running)
        {
            _stopping.Cancel();
            await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        }
        _stopping.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped) await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
