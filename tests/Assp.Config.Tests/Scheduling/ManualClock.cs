namespace Assp.Config.Tests.Scheduling;

/// <summary>
/// A TimeProvider whose clock only moves when the test says so. Timers fire synchronously, in due
/// order, on the thread that advances the clock, with the clock set to each timer's due time.
/// </summary>
internal sealed class ManualClock(DateTimeOffset start, TimeZoneInfo? zone = null) : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;
    private long _sequence;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    public override TimeZoneInfo LocalTimeZone { get; } = zone ?? TimeZoneInfo.Utc;

    public int TimersCreated { get; private set; }

    /// <summary>Timers that are armed (not disposed, with a due time).</summary>
    public int ArmedTimers
    {
        get
        {
            lock (_gate) return _timers.Count(t => t.Due is not null);
        }
    }

    /// <summary>The earliest due time of any armed timer.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_gate) return _timers.Where(t => t.Due is not null).Min(t => t.Due);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_gate)
        {
            _timers.Add(timer);
            TimersCreated++;
        }
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by) => AdvanceTo(GetUtcNow() + by);

    /// <summary>Moves the clock to <paramref name="target"/>, firing every timer that comes due on the way.</summary>
    public void AdvanceTo(DateTimeOffset target)
    {
        while (true)
        {
            ManualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.Due is { } d && d <= target).OrderBy(t => t.Due).ThenBy(t => t.Sequence).FirstOrDefault();
                if (next is null)
                {
                    if (target > _now) _now = target;
                    return;
                }
                if (next.Due > _now) _now = next.Due!.Value;
                next.Due = next.Period is { } p ? _now + p : null;
            }
            next.Callback(next.State);
        }
    }

    /// <summary>Sets the clock without firing anything, like a machine waking from sleep; overdue timers fire on the next advance.</summary>
    public void JumpTo(DateTimeOffset target)
    {
        lock (_gate) _now = target;
    }

    /// <summary>Fires the next armed timer, moving the clock to its due time; false when none is armed.</summary>
    public bool FireNext()
    {
        var due = NextDue;
        if (due is null) return false;
        AdvanceTo(due.Value);
        return true;
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;
        public object? State { get; } = state;
        public DateTimeOffset? Due { get; set; }
        public TimeSpan? Period { get; private set; }
        public long Sequence { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                if (!clock._timers.Contains(this)) return false;
                Sequence = ++clock._sequence;
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
                Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period;
                return true;
            }
        }

        public void Dispose()
        {
            lock (clock._gate) clock._timers.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
