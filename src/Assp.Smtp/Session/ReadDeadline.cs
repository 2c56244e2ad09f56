namespace Assp.Smtp.Session;

/// <summary>
/// A time limit for reads that is moved by one store per read instead of re-arming a timer per command (a
/// CancellationTokenSource reset and CancelAfter cost a timer-queue update each, several per message). One timer
/// per instance fires now and then; it cancels the token only once the current deadline has really passed, and
/// otherwise waits for the rest.
/// </summary>
internal sealed class ReadDeadline : IDisposable
{
    private readonly CancellationToken _outer;
    private readonly Lock _lock = new();
    private CancellationTokenSource _cts;
    private ITimer? _timer;
    private long _deadline = long.MaxValue;   // Environment.TickCount64; MaxValue: no limit
    private long _due = long.MaxValue;        // when the timer fires next
    private bool _disposed;

    /// <param name="outer">Also cancels the tokens handed out (the session's stop or abort).</param>
    public ReadDeadline(CancellationToken outer)
    {
        _outer = outer;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
    }

    /// <summary>The token for a read that must end within timeout (infinite: only the outer token ends it).</summary>
    public CancellationToken Start(TimeSpan timeout)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (timeout == Timeout.InfiniteTimeSpan)
            {
                _deadline = long.MaxValue;
                return _cts.Token;
            }
            long ms = (long)Math.Ceiling(timeout.TotalMilliseconds);
            _deadline = Environment.TickCount64 + ms;
            if (_deadline < _due)
            {
                _due = _deadline;
                _timer ??= TimeProvider.System.CreateTimer(static s => ((ReadDeadline)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _timer.Change(TimeSpan.FromMilliseconds(ms), Timeout.InfiniteTimeSpan);
            }
            return _cts.Token;
        }
    }

    /// <summary>The read is over: no limit until the next <see cref="Start"/>.</summary>
    public void Stop()
    {
        lock (_lock) _deadline = long.MaxValue;
    }

    private void OnTimer()
    {
        CancellationTokenSource? expired = null;
        lock (_lock)
        {
            if (_disposed) return;
            _due = long.MaxValue;
            if (_deadline == long.MaxValue) return;
            long left = _deadline - Environment.TickCount64;
            if (left > 0)
            {
                _due = _deadline;
                _timer!.Change(TimeSpan.FromMilliseconds(left), Timeout.InfiniteTimeSpan);
                return;
            }
            // Cancelled outside the lock (its callbacks run synchronously); later reads get a fresh source. The
            // spent one is disposed later, as a read may still be looking at its token.
            _spent?.Dispose();
            expired = _spent = _cts;
            _deadline = long.MaxValue;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(_outer);
        }
        try
        {
            expired.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended meanwhile.
        }
    }

    private CancellationTokenSource? _spent;

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _timer?.Dispose();
            _cts.Dispose();
            _spent?.Dispose();
        }
    }
}
