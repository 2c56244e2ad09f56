using System.Net;

namespace Assp.Dns;

/// <summary>What the resolver knows about one server: a smoothed response time and its recent failures.</summary>
public sealed class DnsServerHealth
{
    private readonly object _lock = new();
    private double _srttMs = double.NaN;
    private int _consecutiveFailures;
    private long _lastFailureMs;
    private long _queries, _failures;

    internal DnsServerHealth(IPEndPoint endPoint, int index)
    {
        EndPoint = endPoint;
        Index = index;
    }

    public IPEndPoint EndPoint { get; }
    /// <summary>Position in the configured list (the order used while response times are close).</summary>
    public int Index { get; private set; }

    /// <summary>The same server at a new place in a reconfigured list; its history stays.</summary>
    internal DnsServerHealth WithIndex(int index)
    {
        Index = index;
        return this;
    }

    public double SmoothedRttMs { get { lock (_lock) return _srttMs; } }
    public int ConsecutiveFailures { get { lock (_lock) return _consecutiveFailures; } }
    public long Queries => Interlocked.Read(ref _queries);
    public long Failures => Interlocked.Read(ref _failures);

    internal void CountQuery() => Interlocked.Increment(ref _queries);

    internal void Success(TimeSpan rtt)
    {
        lock (_lock)
        {
            double ms = rtt.TotalMilliseconds;
            _srttMs = double.IsNaN(_srttMs) ? ms : _srttMs * 0.8 + ms * 0.2;
            _consecutiveFailures = 0;
        }
    }

    internal void Failure(long nowMs)
    {
        Interlocked.Increment(ref _failures);
        lock (_lock)
        {
            _consecutiveFailures++;
            _lastFailureMs = nowMs;
            // A failure weighs like a slow answer, so a flaky server drifts down the order.
            _srttMs = double.IsNaN(_srttMs) ? 1000 : _srttMs * 0.8 + 200;
        }
    }

    internal bool InBackoff(long nowMs, int threshold, TimeSpan backoff)
    {
        lock (_lock) return _consecutiveFailures >= threshold && nowMs - _lastFailureMs < backoff.TotalMilliseconds;
    }

    public override string ToString() => $"{EndPoint} srtt={SmoothedRttMs:0.0}ms failures={ConsecutiveFailures}";
}
