using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Assp.Dns;

/// <summary>
/// A stub resolver: asks recursive servers over UDP (TCP when the answer is truncated), validates every answer,
/// caches answers and failures, and joins concurrent asks for the same name into one query. Every lookup ends
/// within <see cref="DnsResolverOptions.Timeout"/>; no lookup throws except when the caller's token is cancelled.
/// </summary>
public sealed class DnsResolver
{
    private const int ReceiveBufferSize = 65536;
    private const int MaxCnameDepth = 8;

    // Replaced together by Reconfigure; a lookup already running keeps the server list it started with.
    private volatile DnsResolverOptions _options;
    private volatile DnsServerHealth[] _servers;
    private readonly Lock _reconfigureLock = new();
    private volatile int _serverGeneration;
    private readonly ConcurrentDictionary<(string, DnsRecordType), Task<DnsResponse>> _inflight = new();
    private long _upstreamLookups, _packetsSent, _packetsRejected, _udpSocketsOpened;
    private const int MaxIdleUdpSocketsPerServer = 32;
    private readonly ConcurrentDictionary<IPEndPoint, ConcurrentBag<Socket>> _idleUdpSockets = new();

    public DnsResolver(DnsResolverOptions options, DnsCache? cache = null)
    {
        _options = options;
        _servers = [.. options.Servers.Select((ep, i) => new DnsServerHealth(ep, i))];
        Cache = cache ?? new DnsCache(options.CacheSize);
    }

    public DnsResolverOptions Options => _options;

    /// <summary>
    /// Takes new settings while lookups run (a configuration reload): servers that stay keep their health record,
    /// lookups under way finish with the servers they started with. When the server list changes the cache is
    /// emptied, because the new servers may answer differently (a local DNSBL mirror, a split-horizon resolver).
    /// Returns whether anything changed.
    /// </summary>
    public bool Reconfigure(DnsResolverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_reconfigureLock)
        {
            var current = _options;
            bool sameServers = current.Servers.SequenceEqual(options.Servers);
            if (sameServers && (current with { Servers = [] }) == (options with { Servers = [] })) return false;
            if (!sameServers)
            {
                var old = _servers;
                _servers = [.. options.Servers.Select((ep, i) => old.FirstOrDefault(h => h.EndPoint.Equals(ep)) is { } kept
                    ? kept.WithIndex(i) : new DnsServerHealth(ep, i))];
            }
            _options = options;
            // Idle sockets may be bound to a local address that is no longer wanted.
            foreach (var idle in _idleUdpSockets.Values)
                while (idle.TryTake(out var socket)) socket.Dispose();
            if (!sameServers)
            {
                _serverGeneration++;
                Cache.Clear();
            }
            return true;
        }
    }
    public DnsCache Cache { get; }
    public IReadOnlyList<DnsServerHealth> Servers => _servers;

    /// <summary>Lookups that went to the network (cache misses not joined to one already running).</summary>
    public long UpstreamLookups => Interlocked.Read(ref _upstreamLookups);
    public long PacketsSent => Interlocked.Read(ref _packetsSent);

    /// <summary>UDP sockets opened so far (with ReuseUdpSockets far fewer than packets sent).</summary>
    public long UdpSocketsOpened => Interlocked.Read(ref _udpSocketsOpened);
    /// <summary>Packets that were received and thrown away: unparsable, wrong ID, wrong question.</summary>
    public long PacketsRejected => Interlocked.Read(ref _packetsRejected);

    /// <summary>Looks up <paramref name="name"/>; the answer comes from the cache when it can.</summary>
    public Task<DnsResponse> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken = default)
    {
        if (!DnsName.TryNormalize(name, out var n))
            return Task.FromResult(new DnsResponse { Name = name ?? "", Type = type, Status = DnsStatus.InvalidName, Error = "invalid name" });
        if (Cache.TryGet(n, type, out var hit)) return Task.FromResult(hit);

        var key = (n, type);
        var tcs = new TaskCompletionSource<DnsResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = _inflight.GetOrAdd(key, tcs.Task);
        if (task == tcs.Task) _ = RunSharedAsync(n, type, tcs, key);
        return cancellationToken.CanBeCanceled ? task.WaitAsync(cancellationToken) : task;
    }

    /// <summary>A and AAAA at once; the addresses of both (empty when neither exists).</summary>
    public async Task<IReadOnlyList<IPAddress>> GetAddressesAsync(string host, CancellationToken cancellationToken = default)
    {
        var a = QueryAsync(host, DnsRecordType.A, cancellationToken);
        var aaaa = QueryAsync(host, DnsRecordType.AAAA, cancellationToken);
        var r = await Task.WhenAll(a, aaaa).ConfigureAwait(false);
        return [.. r[0].Addresses, .. r[1].Addresses];
    }

    /// <summary>The PTR names of an address.</summary>
    public async Task<IReadOnlyList<string>> GetHostNamesAsync(IPAddress address, CancellationToken cancellationToken = default)
    {
        var r = await QueryAsync(DnsName.ReverseLookupName(address), DnsRecordType.PTR, cancellationToken).ConfigureAwait(false);
        return [.. r.Records.OfType<PtrRecord>().Select(p => p.Target)];
    }

    /// <summary>MX records sorted by preference.</summary>
    public async Task<IReadOnlyList<MxRecord>> GetMxAsync(string domain, CancellationToken cancellationToken = default)
    {
        var r = await QueryAsync(domain, DnsRecordType.MX, cancellationToken).ConfigureAwait(false);
        return [.. r.Records.OfType<MxRecord>().OrderBy(m => m.Preference)];
    }

    private async Task RunSharedAsync(string name, DnsRecordType type, TaskCompletionSource<DnsResponse> tcs, (string, DnsRecordType) key)
    {
        DnsResponse response;
        try
        {
            long deadline = Environment.TickCount64 + (long)_options.Timeout.TotalMilliseconds;
            response = await LookupAsync(name, type, 0, deadline).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Nothing from the network may escape as an exception; report it as a failed lookup.
            response = new DnsResponse { Name = name, Type = type, Status = DnsStatus.NetworkError, Error = e.Message };
        }
        // Out of the join table first: whoever asks after the answer is out starts afresh (or hits the cache).
        _inflight.TryRemove(key, out _);
        tcs.TrySetResult(response);
    }

    /// <summary>Cache, then network; follows a CNAME chain that the answer left unfinished (without joining in-flight asks, which could wait on each other).</summary>
    private async Task<DnsResponse> LookupAsync(string name, DnsRecordType type, int depth, long deadline)
    {
        if (depth > 0 && Cache.TryGet(name, type, out var cached)) return cached;
        int generation = _serverGeneration;
        Interlocked.Increment(ref _upstreamLookups);
        var ex = await ExchangeAsync(name, type, deadline).ConfigureAwait(false);
        if (ex.Message is null)
        {
            var failed = new DnsResponse { Name = name, Type = type, Status = ex.Status, Error = ex.Error };
            if (ex.Status is DnsStatus.ServerFailure or DnsStatus.Refused && (generation == _serverGeneration)) Cache.Set(name, type, failed, _options.FailureTtl);
            return failed;
        }

        var response = Interpret(ex.Message, name, type, ex.Server);
        if (response.Status == DnsStatus.NoData && response.CnameChain.Count > 0 && depth < MaxCnameDepth)
        {
            var next = await LookupAsync(response.CnameChain[^1], type, depth + 1, deadline).ConfigureAwait(false);
            response = new DnsResponse
            {
                Name = name, Type = type, Status = next.Status, Records = next.Records,
                CnameChain = [.. response.CnameChain, .. next.CnameChain], Ttl = Min(response.Ttl, next.Ttl),
                Server = response.Server, Error = next.Error,
            };
            if (!response.IsDefinite) return response;
        }
        // An answer from servers that were replaced meanwhile is handed to its askers but not kept.
        if (generation == _serverGeneration) Cache.Set(name, type, response, response.Ttl);
        return response;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>
    /// Turns a validated message into a result. Only records on the path qname → CNAME targets count (the
    /// bailiwick of a stub); the SOA for negative caching must be the name's own zone or above it.
    /// </summary>
    internal DnsResponse Interpret(DnsMessage msg, string name, DnsRecordType type, IPEndPoint? server)
    {
        var chain = new List<string>();
        string current = name;
        uint ttl = uint.MaxValue;
        if (type != DnsRecordType.CNAME)
        {
            for (int i = 0; i < MaxCnameDepth * 2; i++)
            {
                CnameRecord? link = null;
                foreach (var r in msg.Answers)
                    if (r is CnameRecord c && DnsName.Equal(c.Name, current)) { link = c; break; }
                if (link is null) break;
                var target = link.Target.ToLowerInvariant();
                if (target == name || chain.Contains(target)) break; // a loop: stop where we are
                chain.Add(target);
                ttl = Math.Min(ttl, link.Ttl);
                current = target;
            }
        }

        var records = new List<DnsRecord>();
        foreach (var r in msg.Answers)
        {
            if (r.Type == type && DnsName.Equal(r.Name, current))
            {
                records.Add(r);
                ttl = Math.Min(ttl, r.Ttl);
            }
        }
        if (records.Count > 0)
        {
            return new DnsResponse
            {
                Name = name, Type = type, Status = DnsStatus.Success, Records = records, CnameChain = chain, Server = server,
                Ttl = Clamp(TimeSpan.FromSeconds(ttl), _options.MaxTtl),
            };
        }

        TimeSpan negative = _options.DefaultNegativeTtl;
        foreach (var r in msg.Authority)
        {
            if (r is SoaRecord soa && DnsName.IsAtOrBelow(current, soa.Name))
            {
                negative = TimeSpan.FromSeconds(Math.Min(soa.Ttl, soa.Minimum));
                break;
            }
        }
        if (ttl != uint.MaxValue) negative = Min(negative, TimeSpan.FromSeconds(ttl));
        return new DnsResponse
        {
            Name = name, Type = type, Server = server, CnameChain = chain,
            Status = msg.ResponseCode == DnsResponseCode.NxDomain ? DnsStatus.NxDomain : DnsStatus.NoData,
            Ttl = Clamp(negative, _options.MaxNegativeTtl),
        };
    }

    private TimeSpan Clamp(TimeSpan ttl, TimeSpan max) => ttl < _options.MinTtl ? _options.MinTtl : ttl > max ? max : ttl;

    private readonly record struct Exchange(DnsMessage? Message, DnsStatus Status, IPEndPoint? Server, string? Error);

    /// <summary>Servers by health: those in back-off last; by response time once the spread exceeds the configured distance.</summary>
    internal DnsServerHealth[] OrderedServers()
    {
        long now = Environment.TickCount64;
        var list = _servers.ToList();
        double spread = _options.MaxResponseSpread.TotalMilliseconds;
        bool bySpeed = false;
        if (spread > 0)
        {
            var rtts = list.Select(s => s.SmoothedRttMs).Where(d => !double.IsNaN(d)).ToList();
            bySpeed = rtts.Count > 1 && rtts.Max() - rtts.Min() > spread;
        }
        var ordered = list
            .OrderBy(s => s.InBackoff(now, _options.FailuresBeforeBackoff, _options.Backoff))
            .ThenBy(s => bySpeed ? (double.IsNaN(s.SmoothedRttMs) ? 0 : s.SmoothedRttMs) : 0)
            .ThenBy(s => s.Index)
            .ToArray();
        return _options.ServerLimit > 0 && ordered.Length > _options.ServerLimit ? ordered[.._options.ServerLimit] : ordered;
    }

    /// <summary>
    /// Asks the first server; every <see cref="DnsResolverOptions.Retransmit"/> without an answer (or at once after a
    /// failure) asks the next one too, keeping the earlier asks open. The first valid answer wins; the deadline ends it.
    /// </summary>
    private async Task<Exchange> ExchangeAsync(string name, DnsRecordType type, long deadline)
    {
        var servers = OrderedServers();
        if (servers.Length == 0) return new Exchange(null, DnsStatus.NetworkError, null, "no DNS servers configured");
        long remaining = deadline - Environment.TickCount64;
        if (remaining <= 0) return new Exchange(null, DnsStatus.Timeout, null, "no time left");

        int total = servers.Length * (1 + Math.Max(0, _options.Retries));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(remaining));
        var pending = new List<(Task<Attempt> Task, DnsServerHealth Server, long Started)>();
        int next = 0;
        bool edns = _options.EdnsUdpSize > 0;
        var last = new Exchange(null, DnsStatus.Timeout, null, "timeout");

        void Launch()
        {
            var s = servers[next++ % servers.Length];
            pending.Add((AttemptAsync(s, name, type, edns, cts.Token), s, Environment.TickCount64));
        }

        Launch();
        while (!cts.IsCancellationRequested && (pending.Count > 0 || next < total))
        {
            if (pending.Count == 0)
            {
                Launch();
                continue;
            }
            var delay = Task.Delay(next < total ? _options.Retransmit : Timeout.InfiniteTimeSpan, cts.Token);
            var tasks = new Task[pending.Count + 1];
            for (int i = 0; i < pending.Count; i++) tasks[i] = pending[i].Task;
            tasks[^1] = delay;
            var done = await Task.WhenAny(tasks).ConfigureAwait(false);
            if (done == delay)
            {
                if (!cts.IsCancellationRequested && next < total) Launch();
                continue;
            }
            int idx = pending.FindIndex(p => p.Task == done);
            var (t, server, _) = pending[idx];
            pending.RemoveAt(idx);
            var a = await t.ConfigureAwait(false);
            if (a.Message is { } m)
            {
                switch (m.ResponseCode)
                {
                    case DnsResponseCode.NoError or DnsResponseCode.NxDomain:
                        server.Success(a.Elapsed);
                        cts.Cancel();
                        // Servers that had their full retransmit interval and stayed silent count as failed.
                        long now = Environment.TickCount64;
                        foreach (var p in pending)
                            if (now - p.Started >= _options.Retransmit.TotalMilliseconds) p.Server.Failure(now);
                        return new Exchange(m, DnsStatus.Success, server.EndPoint, null);
                    case DnsResponseCode.FormErr when edns:
                        edns = false; // an old server that does not speak EDNS0: ask again without
                        server.Failure(Environment.TickCount64);
                        last = new Exchange(null, DnsStatus.ServerFailure, server.EndPoint, "FORMERR");
                        total++;
                        break;
                    case DnsResponseCode.Refused:
                        server.Failure(Environment.TickCount64);
                        last = new Exchange(null, DnsStatus.Refused, server.EndPoint, "REFUSED");
                        break;
                    default:
                        server.Failure(Environment.TickCount64);
                        last = new Exchange(null, DnsStatus.ServerFailure, server.EndPoint, m.ResponseCode.ToString().ToUpperInvariant());
                        break;
                }
            }
            else if (a.Status != DnsStatus.Timeout)
            {
                server.Failure(Environment.TickCount64);
                last = new Exchange(null, a.Status, server.EndPoint, a.Error);
            }
            if (!cts.IsCancellationRequested && next < total) Launch();
        }
        cts.Cancel();
        foreach (var p in pending) p.Server.Failure(Environment.TickCount64);
        // A server that answered with a failure says more than the silent ones.
        return last;
    }

    private readonly record struct Attempt(DnsMessage? Message, DnsStatus Status, TimeSpan Elapsed, string? Error);

    private async Task<Attempt> AttemptAsync(DnsServerHealth server, string name, DnsRecordType type, bool edns, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        server.CountQuery();
        byte[] query = ArrayPool<byte>.Shared.Rent(DnsMessageWriter.MaxQuerySize + 2);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        try
        {
            ushort id = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
            int qlen = DnsMessageWriter.WriteQuery(query, id, name, type, edns ? _options.EdnsUdpSize : 0);
            if (qlen < 0) return new Attempt(null, DnsStatus.InvalidName, default, "name cannot be encoded");

            var socket = await RentUdpSocketAsync(server.EndPoint, ct).ConfigureAwait(false);
            bool reusable = false;
            try
            {
                await socket.SendAsync(query.AsMemory(0, qlen), SocketFlags.None, ct).ConfigureAwait(false);
                Interlocked.Increment(ref _packetsSent);
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer.AsMemory(0, ReceiveBufferSize), SocketFlags.None, ct).ConfigureAwait(false);
                    var msg = Validate(buffer.AsSpan(0, n), id, name, type);
                    if (msg is null) continue;
                    // Only a socket whose question was answered goes back: no late answer can be waiting in it.
                    reusable = true;
                    if (msg.Truncated && _options.TcpFallback)
                        return await TcpAttemptAsync(server, name, type, edns, started, ct).ConfigureAwait(false);
                    return new Attempt(msg, DnsStatus.Success, Stopwatch.GetElapsedTime(started), null);
                }
            }
            finally
            {
                ReturnUdpSocket(server.EndPoint, socket, reusable);
            }
        }
        catch (OperationCanceledException)
        {
            return new Attempt(null, DnsStatus.Timeout, Stopwatch.GetElapsedTime(started), "timeout");
        }
        catch (SocketException e)
        {
            return new Attempt(null, DnsStatus.NetworkError, Stopwatch.GetElapsedTime(started), e.SocketErrorCode.ToString());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(query);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<Attempt> TcpAttemptAsync(DnsServerHealth server, string name, DnsRecordType type, bool edns, long started, CancellationToken ct)
    {
        byte[] query = ArrayPool<byte>.Shared.Rent(DnsMessageWriter.MaxQuerySize + 2);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        try
        {
            ushort id = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
            int qlen = DnsMessageWriter.WriteQuery(query.AsSpan(2), id, name, type, edns ? _options.EdnsUdpSize : 0);
            BinaryPrimitives.WriteUInt16BigEndian(query, (ushort)qlen);
            using var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            BindLocal(socket, server.EndPoint);
            await socket.ConnectAsync(server.EndPoint, ct).ConfigureAwait(false);
            await socket.SendAsync(query.AsMemory(0, qlen + 2), SocketFlags.None, ct).ConfigureAwait(false);
            Interlocked.Increment(ref _packetsSent);
            if (!await ReadExactlyAsync(socket, buffer.AsMemory(0, 2), ct).ConfigureAwait(false))
                return new Attempt(null, DnsStatus.NetworkError, Stopwatch.GetElapsedTime(started), "TCP connection closed");
            int len = BinaryPrimitives.ReadUInt16BigEndian(buffer);
            if (!await ReadExactlyAsync(socket, buffer.AsMemory(0, len), ct).ConfigureAwait(false))
                return new Attempt(null, DnsStatus.NetworkError, Stopwatch.GetElapsedTime(started), "TCP answer cut short");
            var msg = Validate(buffer.AsSpan(0, len), id, name, type);
            return msg is null
                ? new Attempt(null, DnsStatus.NetworkError, Stopwatch.GetElapsedTime(started), "invalid TCP answer")
                : new Attempt(msg, DnsStatus.Success, Stopwatch.GetElapsedTime(started), null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(query);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, Memory<byte> target, CancellationToken ct)
    {
        int read = 0;
        while (read < target.Length)
        {
            int n = await socket.ReceiveAsync(target[read..], SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    /// <summary>
    /// A connected UDP socket for the server. Connecting makes the kernel drop datagrams from any other address. With
    /// ReuseUdpSockets (DNSReuseSocket) an idle one is taken when there is one; otherwise each query gets a new socket
    /// and so a fresh random port.
    /// </summary>
    private async ValueTask<Socket> RentUdpSocketAsync(IPEndPoint server, CancellationToken ct)
    {
        if (_options.ReuseUdpSockets && _idleUdpSockets.TryGetValue(server, out var idle) && idle.TryTake(out var pooled)) return pooled;
        var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            BindLocal(socket, server);
            await socket.ConnectAsync(server, ct).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        Interlocked.Increment(ref _udpSocketsOpened);
        return socket;
    }

    private void ReturnUdpSocket(IPEndPoint server, Socket socket, bool reusable)
    {
        if (reusable && _options.ReuseUdpSockets)
        {
            var idle = _idleUdpSockets.GetOrAdd(server, _ => []);
            if (idle.Count < MaxIdleUdpSocketsPerServer)
            {
                idle.Add(socket);
                return;
            }
        }
        socket.Dispose();
    }

    private void BindLocal(Socket socket, IPEndPoint server)
    {
        var local = _options.LocalAddress;
        if (local is not null && local.AddressFamily == server.AddressFamily) socket.Bind(new IPEndPoint(local, 0));
    }

    /// <summary>The packet is a response to exactly our question with our ID; anything else is dropped.</summary>
    private DnsMessage? Validate(ReadOnlySpan<byte> packet, ushort id, string name, DnsRecordType type)
    {
        if (DnsMessageReader.TryParse(packet, out var msg) != DnsParseError.None || msg is null
            || !msg.IsResponse || msg.Id != id || msg.Opcode != 0
            || msg.QuestionCount != 1 || msg.QuestionType != type || msg.QuestionClass != 1 || !DnsName.Equal(msg.QuestionName, name))
        {
            Interlocked.Increment(ref _packetsRejected);
            return null;
        }
        return msg;
    }
}
