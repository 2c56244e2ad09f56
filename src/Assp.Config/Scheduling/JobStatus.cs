namespace Assp.Config.Scheduling;

/// <summary>A snapshot of one scheduled job, for the status page and logs.</summary>
/// <param name="Name">The job's unique name.</param>
/// <param name="Description">Free text given when the job was added.</param>
/// <param name="Schedule">The schedule in normalized form ('never', 'every 6h', crontab entries).</param>
/// <param name="LastStart">When the last run started.</param>
/// <param name="LastDuration">How long the last finished run took.</param>
/// <param name="LastResult">"ok", "failed: message", "skipped: still running" or "cancelled: scheduler stopping".</param>
/// <param name="NextRun">When the job is due next; null when it does not run on its own.</param>
/// <param name="Runs">How many runs were started (scheduled and manual).</param>
/// <param name="Failures">How many runs ended with an exception.</param>
public sealed record JobStatus(
    string Name,
    string? Description,
    string Schedule,
    DateTimeOffset? LastStart,
    TimeSpan? LastDuration,
    string? LastResult,
    DateTimeOffset? NextRun,
    long Runs,
    long Failures)
{
    /// <summary>How many due runs were dropped because the previous run had not finished.</summary>
    public long Skips { get; init; }

    /// <summary>Whether a run is in progress right now.</summary>
    public bool IsRunning { get; init; }
}
