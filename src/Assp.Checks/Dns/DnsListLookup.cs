using System.Diagnostics;
using Assp.Dns;

namespace Assp.Checks.Dns;

/// <summary>One provider's answer: the first A record's address text, or null when not listed.</summary>
public sealed record DnsListReply(DnsListProvider Provider, string? Reply, DnsStatus Status);

/// <summary>What came back from one lookup round over a provider list.</summary>
public sealed record DnsListAnswers(IReadOnlyList<DnsListReply> Replies, bool TimedOut, TimeSpan Elapsed)
{
    public IEnumerable<DnsListReply> Hits => Replies.Where(r => r.Reply is not null);

    /// <summary>At least one provider gave a real answer (listed or not); only such a result may be cached.</summary>
    public bool AnyDefinite => Replies.Any(r => r.Status is DnsStatus.Success or DnsStatus.NxDomain or DnsStatus.NoData);
}

/// <summary>
/// Asks every provider at once and collects answers until <c>maxReplies</c> definite answers arrived, <c>maxHits</c>
/// listings were seen (unless every reply is wanted), or <c>maxTime</c> ran out; then decides on what it has.
/// With a <c>readTimeout</c> (URIBLsocktime) it works as ASSP's socket loop does: it waits that long for the next
/// answer at a time and looks at <c>maxTime</c> only between such waits, so an answer that arrives during the
/// wait that began before <c>maxTime</c> ran out still counts.
/// </summary>
public static class DnsListLookup
{
    public static async Task<DnsListAnswers> RunAsync(DnsResolver resolver, string label, IReadOnlyList<DnsListProvider> providers,
        int maxReplies, int maxHits, TimeSpan maxTime, bool allReplies, CancellationToken cancellationToken = default, TimeSpan? readTimeout = null)
    {
        var sw = Stopwatch.StartNew();
        if (providers.Count == 0) return new DnsListAnswers([], false, TimeSpan.Zero);
        maxReplies = maxReplies <= 0 ? providers.Count : Math.Min(maxReplies, providers.Count);
        var pending = new Dictionary<Task<DnsResponse>, DnsListProvider>(providers.Count);
        foreach (var p in providers) pending[resolver.QueryAsync(p.QueryName(label), DnsRecordType.A, cancellationToken)] = p;

        var replies = new List<DnsListReply>(providers.Count);
        int definite = 0, hits = 0;
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(maxTime);
        var deadline = Task.Delay(Timeout.Infinite, timer.Token);
        bool timedOut = false;
        var read = readTimeout is { } rt && rt > TimeSpan.Zero ? rt : (TimeSpan?)null;
        while (pending.Count > 0)
        {
            if (read is not null && sw.Elapsed >= maxTime)
            {
                timedOut = true;
                break;
            }
            using var idle = read is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var wait = idle is null ? deadline : Task.Delay(read!.Value, idle.Token);
            var done = await Task.WhenAny(pending.Keys.Append(wait)).ConfigureAwait(false);
            idle?.Cancel();
            if (done == wait)
            {
                // Without a read timeout this is the deadline; with one, the deadline is looked at on the next round.
                if (idle is not null && !cancellationToken.IsCancellationRequested) continue;
                timedOut = true;
                break;
            }
            var provider = pending[(Task<DnsResponse>)done];
            pending.Remove((Task<DnsResponse>)done);
            if (done.IsCanceled || done.IsFaulted) continue;
            var r = ((Task<DnsResponse>)done).Result;
            string? reply = r.Status == DnsStatus.Success ? r.Addresses.FirstOrDefault()?.ToString() : null;
            replies.Add(new DnsListReply(provider, reply, r.Status));
            if (r.IsDefinite) definite++;
            if (reply is not null) hits++;
            if (definite >= maxReplies || !allReplies && maxHits > 0 && hits >= maxHits) break;
        }
        return new DnsListAnswers(replies, timedOut, sw.Elapsed);
    }
}
