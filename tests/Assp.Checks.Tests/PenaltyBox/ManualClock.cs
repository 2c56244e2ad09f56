namespace Assp.Checks.Tests.PenaltyBox;

/// <summary>A clock that moves only when the test advances it (no timers: the PenaltyBox reads the time, never waits).</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
