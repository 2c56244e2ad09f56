using Assp.Checks.Statistics;
using Assp.Config;
using Assp.Smtp;
using Assp.Smtp.Monitoring;

namespace Assp.Web;

/// <summary>
/// The running proxy's live objects the web admin shows: open sessions and their change feed, the close action,
/// the mail statistics and the health probes. The process hands them over with <see cref="From"/>; tests may
/// give their own.
/// </summary>
public sealed class LiveServices
{
    /// <summary>Every open SMTP session as it is now.</summary>
    public required Func<LiveSessionsView> Sessions { get; init; }
    /// <summary>Completes with the new version once the session list changed from the version given.</summary>
    public required Func<long, CancellationToken, Task<long>> WaitForSessionChange { get; init; }
    /// <summary>Ends one session by id (with a reason for the maillog); false when it is gone already.</summary>
    public required Func<string, string, bool> CloseSession { get; init; }
    public required MailStatistics Statistics { get; init; }
    /// <summary>The health probes; null when the process runs none.</summary>
    public HealthMonitor? Health { get; init; }

    // The counters as loaded at start, moved by every reset made here, so "since start" survives a reset.
    private Dictionary<string, long>? _startBaseline;
    private readonly Lock _baselineLock = new();

    private Dictionary<string, long> Baseline()
    {
        lock (_baselineLock)
            return _startBaseline ??= Statistics.Snapshot().Counters.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>Takes the start figures now (the process does it right after loading the saved statistics).</summary>
    public void MarkStart() => Baseline();

    /// <summary>Each counter since this process started (the statistics themselves count since the last reset).</summary>
    public IReadOnlyDictionary<string, long> SinceStart(StatisticsSnapshot snapshot)
    {
        var baseline = Baseline();
        lock (_baselineLock)
            return snapshot.Counters.ToDictionary(kv => kv.Key, kv => Math.Max(0, kv.Value - baseline.GetValueOrDefault(kv.Key)), StringComparer.Ordinal);
    }

    /// <summary>Starts the statistics afresh (ASSP's reset); the since-start figures keep counting.</summary>
    public void ResetStatistics()
    {
        var baseline = Baseline();
        lock (_baselineLock)
        {
            var before = Statistics.Snapshot().Counters;
            Statistics.Reset();
            foreach (var (name, value) in before) baseline[name] = baseline.GetValueOrDefault(name) - value;
        }
    }

    public static LiveServices From(SmtpProxyServer smtp, HealthMonitor? health) => new LiveServices
    {
        Sessions = smtp.LiveSessions,
        WaitForSessionChange = smtp.SessionChanges.WaitForChangeAsync,
        CloseSession = smtp.CloseSession,
        Statistics = smtp.Statistics,
        Health = health,
    }.Started();

    private LiveServices Started()
    {
        MarkStart();
        return this;
    }
}

/// <summary>Sends one message (envelope sender, recipients, raw bytes) through the relay; null on success, else why not.</summary>
public delegate Task<string?> MailSender(ConfigSnapshot cfg, string from, IReadOnlyList<string> to, byte[] message, CancellationToken cancellationToken);
