using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Assp.LoadBench;

/// <summary>What one load run does.</summary>
internal sealed record LoadSpec(
    IPEndPoint Target,
    int Connections,
    int MessagesPerConnection,
    TimeSpan DurationLimit,
    TimeSpan ReplyTimeout,
    string Helo,
    string RcptDomain,
    IReadOnlyList<CorpusMessage> Corpus,
    int CorpusOffset = 0);

/// <summary>The figures of one load run.</summary>
internal sealed class RunResult
{
    public required string Mode { get; init; }
    public required string Sink { get; init; }
    public int Connections { get; init; }
    public long Planned { get; init; }
    public long Succeeded { get; set; }
    public long Failed { get; set; }
    public long NotSent { get; set; }
    public long PayloadBytes { get; set; }
    public double Seconds { get; set; }
    public bool StoppedByDurationLimit { get; set; }

    /// <summary>Per-message latencies in Stopwatch ticks, sorted.</summary>
    public long[] Latencies { get; set; } = [];

    public Dictionary<string, int> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>Messages the sink counted during the run (null: it cannot tell).</summary>
    public long? SinkReceived { get; set; }

    public ProcessFigures? Proxy { get; set; }

    public double MessagesPerSecond => Seconds > 0 ? Succeeded / Seconds : 0;
    public double MegabytesPerSecond => Seconds > 0 ? PayloadBytes / 1e6 / Seconds : 0;

    /// <summary>Nearest-rank percentile of the latencies, in milliseconds (NaN without any).</summary>
    public double PercentileMs(double p)
    {
        if (Latencies.Length == 0) return double.NaN;
        int rank = (int)Math.Ceiling(p / 100.0 * Latencies.Length);
        return TicksToMs(Latencies[Math.Clamp(rank - 1, 0, Latencies.Length - 1)]);
    }

    public double MeanMs => Latencies.Length == 0 ? double.NaN : TicksToMs((long)Latencies.Average());
    public double MaxMs => Latencies.Length == 0 ? double.NaN : TicksToMs(Latencies[^1]);

    public static double TicksToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>CPU and memory of the proxy process over a run (from /proc).</summary>
internal sealed record ProcessFigures(double CpuSeconds, double RssMb, double PeakRssMb);

/// <summary>
/// N concurrent plain-SMTP sessions (no PIPELINING: every command waits for its reply). Each session: EHLO once,
/// then MAIL/RCPT/DATA per message cycling through the corpus, then QUIT. Latency of a message: from sending
/// MAIL FROM to the 250 after the final dot.
/// </summary>
internal static partial class LoadGenerator
{
    private static readonly byte[] DataCommand = "DATA\r\n"u8.ToArray();
    private static readonly byte[] RsetCommand = "RSET\r\n"u8.ToArray();
    private static readonly byte[] QuitCommand = "QUIT\r\n"u8.ToArray();

    private sealed class SessionStats(int capacity)
    {
        public List<long> Latencies { get; } = new(Math.Min(capacity, 4096));
        public int Count => Latencies.Count;
        public long Bytes { get; set; }
        public long Failed { get; set; }
        public long Attempted { get; set; }
        public List<string> Errors { get; } = [];
    }

    public static async Task<RunResult> RunAsync(string mode, string sinkName, LoadSpec spec, CancellationToken ct)
    {
        if (spec.Corpus.Count == 0) throw new InvalidOperationException("no messages to send");
        var rcpts = new byte[1000][];
        for (int i = 0; i < rcpts.Length; i++)
            rcpts[i] = Encoding.ASCII.GetBytes($"RCPT TO:<user{i}@{spec.RcptDomain}>\r\n");

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(spec.DurationLimit);
        var stats = new SessionStats[spec.Connections];
        for (int i = 0; i < stats.Length; i++) stats[i] = new SessionStats(spec.MessagesPerConnection);
        // Spread the sessions over the corpus so they do not all send the same message at the same time.
        int stride = Math.Max(1, spec.Corpus.Count / spec.Connections);

        long started = Stopwatch.GetTimestamp();
        var sessions = new Task[spec.Connections];
        for (int c = 0; c < spec.Connections; c++)
        {
            int conn = c;
            sessions[c] = Task.Run(() => SessionAsync(spec, rcpts, conn, spec.CorpusOffset + conn * stride, stats[conn], limit.Token));
        }
        await Task.WhenAll(sessions).ConfigureAwait(false);
        long elapsed = Stopwatch.GetTimestamp() - started;

        var result = new RunResult
        {
            Mode = mode,
            Sink = sinkName,
            Connections = spec.Connections,
            Planned = (long)spec.Connections * spec.MessagesPerConnection,
            Seconds = (double)elapsed / Stopwatch.Frequency,
            StoppedByDurationLimit = limit.IsCancellationRequested && !ct.IsCancellationRequested,
        };
        var all = new long[stats.Sum(s => s.Count)];
        int k = 0;
        foreach (var s in stats)
        {
            s.Latencies.CopyTo(all, k);
            k += s.Count;
            result.Succeeded += s.Count;
            result.Failed += s.Failed;
            result.PayloadBytes += s.Bytes;
            result.NotSent += spec.MessagesPerConnection - s.Attempted;
            foreach (var e in s.Errors) result.Errors[e] = result.Errors.GetValueOrDefault(e) + 1;
        }
        Array.Sort(all);
        result.Latencies = all;
        return result;
    }

    private static async Task SessionAsync(LoadSpec spec, byte[][] rcpts, int conn, int corpusStart, SessionStats stats, CancellationToken stop)
    {
        // Every command with its reply is bounded by the reply timeout; the run as a whole by the duration limit.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var ct = deadline.Token;
        string step = "connect";
        bool closed = false; // the server said 421: it is closing the connection
        SmtpConnection? c = null;

        // A 4xx/5xx to MAIL, RCPT or DATA: count it, RSET, go on. False: the session cannot go on (421, RSET refused).
        async Task<bool> RejectedAsync(int code)
        {
            stats.Failed++;
            stats.Errors.Add($"{step}: {c!.LastLine}");
            if (code == 421) return false;
            step = "RSET"; // from here an I/O error is not one more failed message
            deadline.CancelAfter(spec.ReplyTimeout);
            await c.SendAsync(RsetCommand, ct).ConfigureAwait(false);
            if (await c.ReadReplyAsync(ct).ConfigureAwait(false) == 250) return true;
            stats.Errors.Add($"RSET: {c.LastLine}");
            return false;
        }

        try
        {
            deadline.CancelAfter(spec.ReplyTimeout);
            c = await SmtpConnection.ConnectAsync(spec.Target, ct).ConfigureAwait(false);
            step = "greeting";
            int code = await c.ReadReplyAsync(ct).ConfigureAwait(false);
            if (code != 220) throw new SmtpWireException($"greeting: {c.LastLine}");

            step = "EHLO";
            var extensions = new List<string>();
            deadline.CancelAfter(spec.ReplyTimeout);
            await c.SendAsync(Encoding.ASCII.GetBytes($"EHLO {spec.Helo}\r\n"), ct).ConfigureAwait(false);
            code = await c.ReadReplyAsync(ct, extensions).ConfigureAwait(false);
            if (code != 250) throw new SmtpWireException($"EHLO: {c.LastLine}");
            bool eightBitMime = extensions.Any(e => e.StartsWith("8BITMIME", StringComparison.OrdinalIgnoreCase));

            int seq = conn * spec.MessagesPerConnection;
            for (int i = 0; i < spec.MessagesPerConnection; i++, seq++)
            {
                if (stop.IsCancellationRequested) break;
                var msg = spec.Corpus[(corpusStart + i) % spec.Corpus.Count];
                stats.Attempted++;

                step = "MAIL";
                deadline.CancelAfter(spec.ReplyTimeout);
                long t0 = Stopwatch.GetTimestamp();
                await c.SendAsync(eightBitMime && msg.Has8Bit ? msg.MailCommand8Bit : msg.MailCommand, ct).ConfigureAwait(false);
                code = await c.ReadReplyAsync(ct).ConfigureAwait(false);
                if (code != 250)
                {
                    if (await RejectedAsync(code)) continue;
                    closed = true;
                    break;
                }

                step = "RCPT";
                deadline.CancelAfter(spec.ReplyTimeout);
                await c.SendAsync(rcpts[seq % rcpts.Length], ct).ConfigureAwait(false);
                code = await c.ReadReplyAsync(ct).ConfigureAwait(false);
                if (code is not (250 or 251))
                {
                    if (await RejectedAsync(code)) continue;
                    closed = true;
                    break;
                }

                step = "DATA";
                deadline.CancelAfter(spec.ReplyTimeout);
                await c.SendAsync(DataCommand, ct).ConfigureAwait(false);
                code = await c.ReadReplyAsync(ct).ConfigureAwait(false);
                if (code != 354)
                {
                    if (await RejectedAsync(code)) continue;
                    closed = true;
                    break;
                }

                step = "end of data";
                deadline.CancelAfter(spec.ReplyTimeout);
                await c.SendAsync(msg.Wire, ct).ConfigureAwait(false);
                code = await c.ReadReplyAsync(ct).ConfigureAwait(false);
                if (code != 250)
                {
                    // The transaction is over either way; no RSET needed.
                    stats.Failed++;
                    stats.Errors.Add($"{step}: {c.LastLine}");
                    if (code != 421) continue;
                    closed = true;
                    break;
                }
                stats.Latencies.Add(Stopwatch.GetTimestamp() - t0);
                stats.Bytes += msg.PayloadBytes;
            }

            step = "QUIT";
            if (!closed && !stop.IsCancellationRequested)
            {
                deadline.CancelAfter(spec.ReplyTimeout);
                await c.SendAsync(QuitCommand, ct).ConfigureAwait(false);
                await c.ReadReplyAsync(ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or SmtpWireException or OperationCanceledException or IOException)
        {
            if (ex is OperationCanceledException && stop.IsCancellationRequested)
            {
                // Duration limit: whatever was in flight is neither a success nor a failure; take it back.
                if (step is "MAIL" or "RCPT" or "DATA" or "end of data") stats.Attempted--;
            }
            else if (step != "QUIT")
            {
                string what = ex switch
                {
                    OperationCanceledException => $"no reply within {spec.ReplyTimeout.TotalSeconds:0.#} s",
                    SocketException se => se.SocketErrorCode.ToString(),
                    _ => ex.Message,
                };
                stats.Errors.Add($"{step}: {what}");
                // The message in flight failed, and the rest of this session's messages cannot be sent.
                if (step is "MAIL" or "RCPT" or "DATA" or "end of data") stats.Failed++;
            }
        }
        finally
        {
            c?.Dispose();
        }
    }

    /// <summary>Errors grouped by kind (long numbers masked so that queue ids do not make every line unique).</summary>
    public static IEnumerable<(string Error, int Count)> TopErrors(RunResult r, int max) =>
        r.Errors.GroupBy(e => Mask(e.Key))
            .Select(g => (g.Key, g.Sum(x => x.Value)))
            .OrderByDescending(x => x.Item2)
            .Take(max);

    private static string Mask(string s) => LongNumber().Replace(s, "#");

    [GeneratedRegex(@"\d{4,}")]
    private static partial Regex LongNumber();

    public static string Describe(LoadSpec spec) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{spec.Connections} connections x {spec.MessagesPerConnection} messages to {spec.Target}");
}
