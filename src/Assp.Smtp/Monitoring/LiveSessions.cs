using System.Text.Json.Serialization;

namespace Assp.Smtp.Monitoring;

/// <summary>Where an SMTP session is in its life, for the live connections view.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SessionPhase>))]
public enum SessionPhase
{
    Connect,
    Helo,
    Tls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Checking,
    Forwarding,
    Idle,
    Closing,
}

/// <summary>One open SMTP session as the admin sees it; a copy taken at one moment, safe to keep and serialize.</summary>
/// <param name="States">
/// Short state words for colouring: "ok", "whitelisted", "noprocessing", "spam-suspect", "blocked", "tls", "auth", "relay".
/// </param>
/// <param name="Bytes">The size of the message being received (its DATA so far); 0 outside DATA.</param>
public sealed record LiveSessionSnapshot(
    string Id,
    string ClientIp,
    int ClientPort,
    string Listener,
    DateTimeOffset Started,
    string? Helo,
    string? Sender,
    IReadOnlyList<string> Recipients,
    SessionPhase Phase,
    double Score,
    IReadOnlyList<string> States,
    string? MessageId,
    int Messages,
    long Bytes = 0);

/// <summary>All open sessions at one moment; Version grows with every change so a page can ask "anything new since N?".</summary>
public sealed record LiveSessionsView(long Version, DateTimeOffset TakenAt, IReadOnlyList<LiveSessionSnapshot> Sessions);

/// <summary>
/// The change feed of the session list: a version number bumped (Interlocked) on every session change, and a wait
/// for the next change that costs the sessions nothing while nobody waits.
/// </summary>
public sealed class SessionChangeFeed
{
    private long _version;
    private TaskCompletionSource? _waiters;

    public long Version => Interlocked.Read(ref _version);

    internal void Changed()
    {
        Interlocked.Increment(ref _version);
        // Only when a page waits is there anything to wake.
        if (Volatile.Read(ref _waiters) is not null) Interlocked.Exchange(ref _waiters, null)?.TrySetResult();
    }

    /// <summary>Completes with the new version once it differs from <paramref name="knownVersion"/> (at once if it already does).</summary>
    public async Task<long> WaitForChangeAsync(long knownVersion, CancellationToken cancellationToken)
    {
        while (true)
        {
            var current = Volatile.Read(ref _waiters);
            if (current is null)
            {
                var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                current = Interlocked.CompareExchange(ref _waiters, mine, null) ?? mine;
            }
            // Checked after the waiter is in place, so a change between the two is never missed.
            long now = Version;
            if (now != knownVersion) return now;
            await current.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
