namespace Assp.Checks.Tests.Whitelist;

/// <summary>A clock the test moves by hand, so expiry can be tested without waiting.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public static readonly DateTimeOffset Start = new(2024, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private DateTimeOffset _now = start;

    public ManualClock() : this(Start) { }

    public override DateTimeOffset GetUtcNow() => _now;

    public long UnixNow => _now.ToUnixTimeSeconds();

    public void Advance(TimeSpan by) => _now += by;
}
