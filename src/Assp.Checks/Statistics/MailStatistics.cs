using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Serialization;
using Assp.Checks.Decision;
using Assp.Storage;

namespace Assp.Checks.Statistics;

/// <summary>How a message transaction ended, for the counters.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MessageOutcome>))]
public enum MessageOutcome
{
    /// <summary>The MTA took it.</summary>
    Delivered,
    /// <summary>Refused by a check or a limit (5xx or a dropped connection).</summary>
    Blocked,
    /// <summary>Refused for now (4xx): greylisting, a busy MTA.</summary>
    TempFailed,
    /// <summary>Taken and thrown away on purpose (NULL connections).</summary>
    Discarded,
}

/// <summary>Hits and blocks of one check, by the name the maillog and the X-Assp headers use.</summary>
public sealed record CheckCount(string Check, long Hits, long Blocks);

/// <summary>One bucket of the message score histogram: messages whose score was at most UpperBound (not cumulative).</summary>
public sealed record ScoreBucket(double UpperBound, long Count);

/// <summary>The statistics at one moment; a plain copy that serializes to JSON as it is.</summary>
public sealed record StatisticsSnapshot(
    DateTimeOffset TakenAt,
    DateTimeOffset ProcessStarted,
    TimeSpan Uptime,
    DateTimeOffset CountingSince,
    IReadOnlyDictionary<string, long> Counters,
    IReadOnlyList<CheckCount> Checks,
    IReadOnlyDictionary<string, long> RejectsByReason,
    IReadOnlyList<ScoreBucket> ScoreHistogram,
    double ScoreSum,
    long ScoreCount);

/// <summary>
/// The instance's mail statistics (ASSP's "Info and Stats"): connections, messages by outcome and class, hits and
/// blocks per check, refusals by reason and a histogram of message scores. Counting is Interlocked increments only;
/// the dictionaries grow by one entry the first time a check or reason is seen. The counters live since the last
/// reset and survive restarts: <see cref="Save"/> writes them to a store table (every SaveStatsEvery minutes and at
/// shutdown), <see cref="Load"/> reads them back at start.
/// </summary>
public sealed class MailStatistics
{
    /// <summary>The table the counters are kept in (ASSP kept them in asspstats.sav).</summary>
    public const string TableName = "asspstats";

    /// <summary>Upper bounds of the score buckets; a last, unbounded bucket takes the rest.</summary>
    public static readonly IReadOnlyList<double> ScoreBounds = [0, 5, 10, 20, 30, 40, 50, 75, 100, 150, 250];

    // Fixed counters by name; the names are the JSON keys and, prefixed, the Prometheus metric names.
    public const string ConnectionsAccepted = "connections_accepted";
    public const string ConnectionsRefused = "connections_refused";
    public const string Messages = "messages";
    public const string MessagesDelivered = "messages_delivered";
    public const string MessagesBlocked = "messages_blocked";
    public const string MessagesTempFailed = "messages_tempfailed";
    public const string MessagesDiscarded = "messages_discarded";
    public const string MessagesSpamPassed = "messages_spam_passed";
    public const string MessagesHam = "messages_ham";
    public const string MessagesWhitelisted = "messages_whitelisted";
    public const string MessagesNoProcessing = "messages_noprocessing";
    public const string MessagesOutgoing = "messages_outgoing";
    public const string BytesDelivered = "bytes_delivered";

    public static readonly IReadOnlyList<string> CounterNames =
    [
        ConnectionsAccepted, ConnectionsRefused, Messages, MessagesDelivered, MessagesBlocked, MessagesTempFailed, MessagesDiscarded,
        MessagesSpamPassed, MessagesHam, MessagesWhitelisted, MessagesNoProcessing, MessagesOutgoing, BytesDelivered,
    ];

    private readonly long[] _counters = new long[CounterNames.Count];
    private readonly Dictionary<string, int> _counterIndex;
    private readonly ConcurrentDictionary<string, long[]> _checks = new(StringComparer.Ordinal);   // [hits, blocks]
    private readonly ConcurrentDictionary<string, long[]> _rejects = new(StringComparer.Ordinal);  // [count]
    private readonly long[] _scoreBuckets = new long[ScoreBounds.Count + 1];
    private long _scoreSumMilli;
    private readonly TimeProvider _time;
    private long _sinceTicks;

    public MailStatistics(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        ProcessStarted = _time.GetLocalNow();
        _sinceTicks = ProcessStarted.UtcTicks;
        _counterIndex = CounterNames.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
    }

    public DateTimeOffset ProcessStarted { get; }

    public DateTimeOffset CountingSince => new(Interlocked.Read(ref _sinceTicks), TimeSpan.Zero);

    public long this[string counter] => Interlocked.Read(ref _counters[_counterIndex[counter]]);

    private void Add(string counter, long n = 1) => Interlocked.Add(ref _counters[_counterIndex[counter]], n);

    public void ConnectionAccepted() => Add(ConnectionsAccepted);

    /// <summary>A connection turned away before any SMTP dialog (session limits, AUTH error block, DisableSMTPNetworking).</summary>
    public void ConnectionRefused(string reason)
    {
        Add(ConnectionsRefused);
        Reject(reason);
    }

    /// <summary>A refusal with this reason (a check name where a check refused, else the limit or the SMTP step).</summary>
    public void Reject(string reason) => Interlocked.Increment(ref _rejects.GetOrAdd(reason, _ => new long[1])[0]);

    /// <summary>
    /// A refusal during the dialog (connect, HELO, MAIL, RCPT, DATA): counts the checks that hit, the refusal's
    /// reason (the blocking check's name when there is one, else <paramref name="fallbackReason"/>) and, once a
    /// transaction has begun, the message.
    /// </summary>
    public void Refused(MessageState? state, string fallbackReason, bool temporary, bool inTransaction)
    {
        string reason = fallbackReason;
        if (state is not null)
        {
            for (int i = state.Reports.Count - 1; i >= 0; i--)
            {
                if (state.Reports[i].Outcome == "block") { reason = state.Reports[i].Check; break; }
            }
            // Before DATA only the refusing check is counted: the transaction may go on (another RCPT) and the
            // other findings are counted with the message.
            if (inTransaction) CountChecks(state);
            else if (reason != fallbackReason) CountBlock(reason);
        }
        Reject(reason);
        if (!inTransaction) return;
        Add(Messages);
        Add(temporary ? MessagesTempFailed : MessagesBlocked);
        if (state is not null) ObserveScore(state.MessageScore);
    }

    private void CountBlock(string check) => Interlocked.Increment(ref _checks.GetOrAdd(check, _ => new long[2])[1]);

    /// <summary>A message that went through the checks and was delivered (or discarded on purpose).</summary>
    public void MessageDone(MessageState state, MessageOutcome outcome, long bytes)
    {
        Add(Messages);
        CountChecks(state);
        switch (outcome)
        {
            case MessageOutcome.Delivered:
                Add(MessagesDelivered);
                Add(BytesDelivered, bytes);
                break;
            case MessageOutcome.Blocked: Add(MessagesBlocked); break;
            case MessageOutcome.TempFailed: Add(MessagesTempFailed); break;
            case MessageOutcome.Discarded: Add(MessagesDiscarded); break;
        }
        if (outcome == MessageOutcome.Delivered)
        {
            if (state.RelayOk) Add(MessagesOutgoing);
            else if (state.IsNoProcessing) Add(MessagesNoProcessing);
            else if (state.IsWhitelisted) Add(MessagesWhitelisted);
            else if (state.SpamFound) Add(MessagesSpamPassed);
            else Add(MessagesHam);
        }
        ObserveScore(state.MessageScore);
    }

    private void CountChecks(MessageState state)
    {
        // A check may report more than once for one message (per recipient); it counts once.
        HashSet<string>? seen = null;
        foreach (var report in state.Reports)
        {
            seen ??= new HashSet<string>(StringComparer.Ordinal);
            bool blocked = report.Outcome == "block";
            if (!seen.Add(report.Check + (blocked ? "\0b" : ""))) continue;
            var counts = _checks.GetOrAdd(report.Check, _ => new long[2]);
            if (blocked) Interlocked.Increment(ref counts[1]);
            else Interlocked.Increment(ref counts[0]);
        }
    }

    public void ObserveScore(double score)
    {
        int i = 0;
        while (i < ScoreBounds.Count && score > ScoreBounds[i]) i++;
        Interlocked.Increment(ref _scoreBuckets[i]);
        Interlocked.Add(ref _scoreSumMilli, (long)Math.Round(score * 1000));
    }

    public StatisticsSnapshot Snapshot()
    {
        var now = _time.GetLocalNow();
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < CounterNames.Count; i++) counters[CounterNames[i]] = Interlocked.Read(ref _counters[i]);
        // A check's hits include its blocks, so "hits" reads as "found something".
        var checks = _checks.Select(kv => new CheckCount(kv.Key, Interlocked.Read(ref kv.Value[0]) + Interlocked.Read(ref kv.Value[1]),
                Interlocked.Read(ref kv.Value[1])))
            .OrderByDescending(c => c.Hits).ThenBy(c => c.Check, StringComparer.Ordinal).ToList();
        var rejects = _rejects.OrderByDescending(kv => kv.Value[0]).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(kv => kv.Key, kv => Interlocked.Read(ref kv.Value[0]), StringComparer.Ordinal);
        var buckets = new List<ScoreBucket>(_scoreBuckets.Length);
        long count = 0;
        for (int i = 0; i < _scoreBuckets.Length; i++)
        {
            long n = Interlocked.Read(ref _scoreBuckets[i]);
            count += n;
            buckets.Add(new ScoreBucket(i < ScoreBounds.Count ? ScoreBounds[i] : double.PositiveInfinity, n));
        }
        return new StatisticsSnapshot(now, ProcessStarted, now - ProcessStarted, CountingSince, counters, checks, rejects, buckets,
            Interlocked.Read(ref _scoreSumMilli) / 1000.0, count);
    }

    /// <summary>Starts counting afresh (ASSP's "reset statistics"); uptime is not touched.</summary>
    public void Reset()
    {
        for (int i = 0; i < _counters.Length; i++) Interlocked.Exchange(ref _counters[i], 0);
        for (int i = 0; i < _scoreBuckets.Length; i++) Interlocked.Exchange(ref _scoreBuckets[i], 0);
        Interlocked.Exchange(ref _scoreSumMilli, 0);
        _checks.Clear();
        _rejects.Clear();
        Interlocked.Exchange(ref _sinceTicks, _time.GetUtcNow().UtcTicks);
    }

    // Keys in the table: "since", "c:<counter>", "check:<name>" = "hits blocks", "reject:<reason>", "score:<bucket>", "scoresum".
    /// <summary>Writes every counter to the table (the table then holds exactly the current figures).</summary>
    public void Save(IStoreTable table)
    {
        var s = Snapshot();
        string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        var keep = new HashSet<string>(StringComparer.Ordinal) { "since", "scoresum" };
        table.Set("since", I(s.CountingSince.UtcTicks));
        table.Set("scoresum", I(Interlocked.Read(ref _scoreSumMilli)));
        foreach (var (name, value) in s.Counters) { table.Set("c:" + name, I(value)); keep.Add("c:" + name); }
        foreach (var c in s.Checks) { table.Set("check:" + c.Check, $"{I(c.Hits - c.Blocks)} {I(c.Blocks)}"); keep.Add("check:" + c.Check); }
        foreach (var (reason, n) in s.RejectsByReason) { table.Set("reject:" + reason, I(n)); keep.Add("reject:" + reason); }
        for (int i = 0; i < _scoreBuckets.Length; i++) { table.Set("score:" + I(i), I(Interlocked.Read(ref _scoreBuckets[i]))); keep.Add("score:" + I(i)); }
        // A reset since the last save leaves stale keys behind: they go.
        table.RemoveWhere((key, _) => !keep.Contains(key));
    }

    /// <summary>Adds the figures saved in the table to the (normally still empty) counters; unreadable entries are skipped.</summary>
    public void Load(IStoreTable table)
    {
        static bool L(string v, out long n) => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out n);
        foreach (var (key, record) in table.Scan())
        {
            var v = record.Value;
            if (key == "since" && L(v, out var ticks) && ticks > 0 && ticks < DateTime.MaxValue.Ticks) Interlocked.Exchange(ref _sinceTicks, ticks);
            else if (key == "scoresum" && L(v, out var sum)) Interlocked.Add(ref _scoreSumMilli, sum);
            else if (key.StartsWith("c:", StringComparison.Ordinal) && _counterIndex.TryGetValue(key[2..], out int ci) && L(v, out var n))
                Interlocked.Add(ref _counters[ci], n);
            else if (key.StartsWith("check:", StringComparison.Ordinal) && v.Split(' ') is [var h, var b] && L(h, out var hits) && L(b, out var blocks))
            {
                var counts = _checks.GetOrAdd(key[6..], _ => new long[2]);
                Interlocked.Add(ref counts[0], hits);
                Interlocked.Add(ref counts[1], blocks);
            }
            else if (key.StartsWith("reject:", StringComparison.Ordinal) && L(v, out var r))
                Interlocked.Add(ref _rejects.GetOrAdd(key[7..], _ => new long[1])[0], r);
            else if (key.StartsWith("score:", StringComparison.Ordinal) && int.TryParse(key[6..], CultureInfo.InvariantCulture, out int bi)
                     && bi >= 0 && bi < _scoreBuckets.Length && L(v, out var sc))
                Interlocked.Add(ref _scoreBuckets[bi], sc);
        }
    }
}
