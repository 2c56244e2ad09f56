using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Assp.LoadBench;

/// <summary>One soak round: the load's figures, the held connections' fate and the proxy's readings around it.</summary>
internal sealed class SoakRound
{
    public int Number { get; init; }
    public required RunResult Load { get; init; }
    public required IReadOnlyDictionary<HeldKind, HeldFigures> Held { get; init; }
    public required ProcSample Start { get; init; }
    /// <summary>After the settle pause, before the forced GC.</summary>
    public required ProcSample SettledBeforeGc { get; init; }

    /// <summary>True when the full GC through the diagnostics port ran before <see cref="Settled"/> was taken.</summary>
    public bool ForcedGc { get; init; }

    public required ProcSample Settled { get; init; }
    public double? PeakRssMb { get; init; }
    public int? PeakFds { get; init; }
    public int? PeakThreads { get; init; }

    /// <summary>MAIL/RCPT/DATA/end-of-data answered with a 4xx.</summary>
    public long Replies4xx { get; init; }

    /// <summary>MAIL/RCPT/DATA/end-of-data answered with a 5xx.</summary>
    public long Replies5xx { get; init; }

    /// <summary>Failed messages without a 4xx/5xx: the connection broke or no reply came.</summary>
    public long BrokenOff => Load.Failed - Replies4xx - Replies5xx;
}

/// <summary>A figure that must not grow from the first round to the last, and whether it did.</summary>
internal sealed record SoakCheck(string Name, string Unit, double First, double Last, double Allowed, string Why)
{
    public double Growth => Last - First;
    public bool Passed => Growth <= Allowed;
}

internal sealed class SoakResult
{
    public List<SoakRound> Rounds { get; } = [];
    public List<SoakCheck> Checks { get; } = [];
    public List<string> Problems { get; } = [];
    public List<string> ProxySettings { get; } = [];
    public List<ProcSample> Samples { get; set; } = [];
    public int MessagesPerConnection { get; set; }
    public bool Passed => Problems.Count == 0 && Checks.All(c => c.Passed);
}

/// <summary>
/// `--mode soak`: rounds of corpus load through ONE proxy process while idle and slowloris connections are held
/// open, the proxy sampled from /proc every second; between rounds everything is closed and the proxy left to
/// settle. The verdict: the settled descriptors, threads and RSS of the last round against the first.
/// </summary>
internal static class SoakTest
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Descriptors: a leak of one per session or message would show as hundreds; a few lazily opened files (logs, databases) may come late.</summary>
    public const int FdSlack = 8;

    /// <summary>Threads: the thread pool grows under load and retires idle workers only after ~20 s; a leak of one thread per session would show as hundreds.</summary>
    public const int ThreadSlack = 8;

    /// <summary>RSS: the GC keeps freed heap for reuse instead of handing it back at once, so settled RSS varies by a few percent between rounds.</summary>
    public const double RssSlackFraction = 0.10;
    public const double RssSlackMinMb = 24;

    public static async Task<SoakResult> RunAsync(BenchOptions o, ProxyTarget proxy, ISink sink, IReadOnlyList<CorpusMessage> corpus,
        TextWriter log, CancellationToken ct)
    {
        var result = new SoakResult();
        int pid = proxy.Pid ?? throw new InvalidOperationException("the soak needs the proxy's pid");
        int perConnection = (o.SoakMessages + o.Connections - 1) / o.Connections;
        result.MessagesPerConnection = perConnection;
        result.ProxySettings.AddRange(DescribeProxySettings(o));
        log.WriteLine($"soak: {o.Rounds} rounds of {o.Connections} connections x {perConnection} messages " +
                      $"({(long)o.Connections * perConnection} per round) while {o.Idle} idle and {o.Slowloris} slowloris connections " +
                      $"(one byte every {o.SlowlorisIntervalSeconds:0.#} s) are held; settle {o.SettleSeconds:0.#} s between rounds");
        log.WriteLine("soak: proxy " + string.Join(", ", result.ProxySettings));
        long needFds = o.Connections + o.Idle + o.Slowloris + 64L;
        if (ProcFs.OpenFilesLimit() is { } own && own < needFds)
            log.WriteLine($"WARNING: this process may open only {own} files; the soak needs about {needFds} (ulimit -n)");
        if (ProcFs.OpenFilesLimit(pid.ToString(Inv)) is { } theirs && theirs < 2 * needFds)
            log.WriteLine($"WARNING: the proxy may open only {theirs} files; it needs about {2 * needFds} (a client and an upstream socket per session)");

        var limit = TimeSpan.FromSeconds(o.DurationLimitSeconds);
        var timeout = TimeSpan.FromSeconds(o.ReplyTimeoutSeconds);
        await using var sampler = new ProcessSampler(pid, TimeSpan.FromSeconds(1));
        for (int round = 1; round <= o.Rounds; round++)
        {
            sampler.Enter(round, "start");
            var start = sampler.Take();
            log.WriteLine();
            log.WriteLine($"round {round}: proxy {Describe(start)}; opening {o.Idle} idle and {o.Slowloris} slowloris connections ...");
            sampler.Enter(round, "open");
            var heldSince = Stopwatch.GetTimestamp();
            await using var held = await HeldConnections.OpenAsync(proxy.EndPoint, o.Idle, o.Slowloris,
                TimeSpan.FromSeconds(o.SlowlorisIntervalSeconds), o.RcptDomain, ct).ConfigureAwait(false);
            log.WriteLine($"round {round}: " + string.Join(", ", held.Figures.Values.Select(f => $"{f.Opened} of {f.Requested} {f.Label}")) +
                          $" open after {Stopwatch.GetElapsedTime(heldSince).TotalSeconds:0.0} s; load: {o.Connections} x {perConnection} ...");

            sampler.Enter(round, "load");
            long? sinkBefore = sink.MessagesReceived;
            var spec = new LoadSpec(proxy.EndPoint, o.Connections, perConnection, limit, timeout, o.Helo, o.RcptDomain, corpus,
                CorpusOffset: (round - 1) * 7919 % corpus.Count);
            var load = await LoadGenerator.RunAsync("soak", sink.Name, spec, ct).ConfigureAwait(false);

            var minHold = TimeSpan.FromSeconds(o.MinHoldSeconds) - Stopwatch.GetElapsedTime(heldSince);
            if (minHold > TimeSpan.Zero)
            {
                sampler.Enter(round, "hold");
                log.WriteLine($"round {round}: load done; holding the idle and slowloris connections {minHold.TotalSeconds:0} s more (--min-hold)");
                await Task.Delay(minHold, ct).ConfigureAwait(false);
            }
            sampler.Enter(round, "closing");
            await held.CloseAsync().ConfigureAwait(false);

            if (sinkBefore is { } b)
            {
                // The sink's counter may trail the last 250 a little (smtp-sink reports through a pipe).
                var until = DateTime.UtcNow.AddSeconds(10);
                while ((sink.MessagesReceived ?? 0) - b < load.Succeeded && DateTime.UtcNow < until)
                    await Task.Delay(50, ct).ConfigureAwait(false);
                load.SinkReceived = (sink.MessagesReceived ?? 0) - b;
            }

            sampler.Enter(round, "settle");
            await Task.Delay(TimeSpan.FromSeconds(o.SettleSeconds), ct).ConfigureAwait(false);
            var beforeGc = sampler.Take();
            // A full GC through the runtime's diagnostics port: garbage not collected yet must not look like growth.
            sampler.Enter(round, "gc");
            string? gcProblem = await DiagnosticsPort.CollectGarbageAsync(pid, ct).ConfigureAwait(false);
            if (gcProblem is not null) log.WriteLine($"round {round}: no forced GC ({gcProblem}); the settled figures include uncollected garbage");
            else await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            var settled = sampler.Take();
            var samples = sampler.Samples(round);
            var (r4, r5) = RejectionCounts(load);
            var r = new SoakRound
            {
                Number = round,
                Load = load,
                Held = held.Figures,
                Start = start,
                SettledBeforeGc = beforeGc,
                ForcedGc = gcProblem is null,
                Settled = settled,
                PeakRssMb = samples.Max(s => s.RssMb),
                PeakFds = samples.Max(s => s.Fds),
                PeakThreads = samples.Max(s => s.Threads),
                Replies4xx = r4,
                Replies5xx = r5,
            };
            result.Rounds.Add(r);
            log.WriteLine(string.Create(Inv,
                $"round {round}: {load.Succeeded} accepted, {load.Failed} failed in {load.Seconds:0.0} s ({load.MessagesPerSecond:0} msgs/s), " +
                $"sink {load.SinkReceived?.ToString(Inv) ?? "?"}; after {o.SettleSeconds:0} s: proxy {Describe(beforeGc)}; " +
                $"settled{(gcProblem is null ? " after a full GC" : "")}: {Describe(settled)}"));
            if (proxy.Died is { } died)
            {
                result.Problems.Add(died);
                break;
            }
        }
        result.Samples = sampler.All();
        Judge(o, result);
        return result;
    }

    private static IEnumerable<string> DescribeProxySettings(BenchOptions o)
    {
        if (o.ProxyEndpoint is not null || o.ProxyCommand is not null)
        {
            yield return "started elsewhere: its session limits and timeouts are its own";
            yield break;
        }
        int sessions = o.Connections + o.Idle + o.Slowloris + 16;
        yield return $"maxSMTPSessions={(sessions <= 999 ? sessions : 0)}" + (sessions > 999 ? " (no limit: the run needs more than the option's maximum of 999)" : "");
        yield return "maxSMTPipSessions=0 (every connection comes from 127.0.0.1, which is in acceptAllMail and exempt anyway)";
        yield return "acceptAllMail=127.0.0.1";
        var given = o.ProxySettings.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
        foreach (var name in new[] { "smtpIdleTimeout", "smtpNOOPIdleTimeout" })
        {
            yield return given.TryGetValue(name, out var v) ? $"{name}={v}" : $"{name} default ({(name == "smtpIdleTimeout" ? "180" : "0")})";
        }
        foreach (var (name, value) in o.ProxySettings)
        {
            if (!name.Equals("smtpIdleTimeout", StringComparison.OrdinalIgnoreCase) && !name.Equals("smtpNOOPIdleTimeout", StringComparison.OrdinalIgnoreCase))
                yield return $"{name}={value}";
        }
    }

    /// <summary>4xx and 5xx replies to MAIL, RCPT, DATA and the final dot, from the load's error lines ("STEP: CODE text").</summary>
    internal static (long Replies4xx, long Replies5xx) RejectionCounts(RunResult load)
    {
        long r4 = 0, r5 = 0;
        foreach (var (error, count) in load.Errors)
        {
            int colon = error.IndexOf(": ", StringComparison.Ordinal);
            if (colon < 0) continue;
            string step = error[..colon];
            if (step is not ("MAIL" or "RCPT" or "DATA" or "end of data")) continue;
            string reply = error[(colon + 2)..];
            if (reply.Length < 3 || !char.IsAsciiDigit(reply[0]) || !char.IsAsciiDigit(reply[1]) || !char.IsAsciiDigit(reply[2])) continue;
            if (reply[0] == '4') r4 += count;
            else if (reply[0] == '5') r5 += count;
        }
        return (r4, r5);
    }

    private static void Judge(BenchOptions o, SoakResult result)
    {
        foreach (var r in result.Rounds)
        {
            var l = r.Load;
            if (l.Failed > 0) result.Problems.Add($"round {r.Number}: {l.Failed} messages failed ({r.Replies4xx} x 4xx, {r.Replies5xx} x 5xx, {r.BrokenOff} broken off)");
            if (l.NotSent > 0) result.Problems.Add($"round {r.Number}: {l.NotSent} of {l.Planned} messages not sent" + (l.StoppedByDurationLimit ? " (duration limit)" : ""));
            if (l.SinkReceived is { } got && got < l.Succeeded)
                result.Problems.Add($"round {r.Number}: the sink counted only {got} of {l.Succeeded} messages answered with 250 (LOST)");
            foreach (var f in r.Held.Values)
            {
                if (f.Opened < f.Requested)
                    result.Problems.Add($"round {r.Number}: only {f.Opened} of {f.Requested} {f.Label} connections opened: " +
                                        string.Join("; ", f.OpenErrors.Select(e => $"{e.Value} x {e.Key}")));
            }
        }
        if (result.Rounds.Count < 2 || result.Problems.Any(p => p.Contains("exited", StringComparison.Ordinal))) return;
        var first = result.Rounds[0].Settled;
        var last = result.Rounds[^1].Settled;
        if (first.Fds is { } f0 && last.Fds is { } f1)
            result.Checks.Add(new SoakCheck("open descriptors", "", f0, f1, FdSlack,
                $"back to the first round's level within {FdSlack}: a leak of one per session would show as thousands"));
        if (first.Threads is { } t0 && last.Threads is { } t1)
            result.Checks.Add(new SoakCheck("threads", "", t0, t1, ThreadSlack,
                $"back to the first round's level within {ThreadSlack}: the thread pool may keep a few extra workers for ~20 s"));
        if (first.RssMb is { } m0 && last.RssMb is { } m1)
        {
            double allowed = Math.Max(RssSlackMinMb, m0 * RssSlackFraction);
            long perRound = (long)o.Connections * result.MessagesPerConnection;
            result.Checks.Add(new SoakCheck("RSS", " MB", m0, m1, allowed,
                string.Create(Inv, $"within max({RssSlackMinMb:0} MB, {RssSlackFraction:0%}) of the first round, measured after a full GC: the GC keeps freed heap for reuse; " +
                                   $"a leak of {allowed * 1e6 / perRound / Math.Max(1, result.Rounds.Count - 1):0} bytes per message would exceed it")));
        }
    }

    private static string Describe(ProcSample s) => string.Create(Inv,
        $"RSS {s.RssMb:0.0} MB (anon {s.AnonMb:0.0}), {s.Fds} fds, {s.Threads} threads");

    public static void Print(TextWriter w, BenchOptions o, SoakResult result)
    {
        w.WriteLine();
        string[] head = ["round", "sent", "250", "4xx", "5xx", "failed", "sink", "seconds", "msgs/s", "RSS MB start/peak/settled", "anon MB settled",
            "fds start/peak/settled", "threads start/peak/settled"];
        var rows = new List<string[]> { head };
        foreach (var r in result.Rounds)
        {
            var l = r.Load;
            rows.Add(
            [
                r.Number.ToString(Inv), (l.Succeeded + l.Failed).ToString(Inv), l.Succeeded.ToString(Inv), r.Replies4xx.ToString(Inv),
                r.Replies5xx.ToString(Inv), r.BrokenOff.ToString(Inv), l.SinkReceived?.ToString(Inv) ?? "?", l.Seconds.ToString("0.0", Inv),
                l.MessagesPerSecond.ToString("0", Inv),
                $"{Mb(r.Start.RssMb)} / {Mb(r.PeakRssMb)} / {Mb(r.Settled.RssMb)}", Mb(r.Settled.AnonMb),
                $"{r.Start.Fds} / {r.PeakFds} / {r.Settled.Fds}", $"{r.Start.Threads} / {r.PeakThreads} / {r.Settled.Threads}",
            ]);
        }
        var widths = Enumerable.Range(0, head.Length).Select(c => rows.Max(row => row[c].Length)).ToArray();
        for (int i = 0; i < rows.Count; i++)
        {
            w.WriteLine(string.Join("  ", rows[i].Select((cell, c) => cell.PadLeft(widths[c]))).TrimEnd());
            if (i == 0) w.WriteLine(string.Join("  ", widths.Select(x => new string('-', x))));
        }
        w.WriteLine($"  sent = answered 250 + failed (4xx, 5xx, or broken off); sink = messages that arrived at the sink; " +
                    $"{o.Connections} connections x {result.MessagesPerConnection} messages per round");

        w.WriteLine();
        w.WriteLine("what the proxy did with the held connections (" + string.Join(", ", result.ProxySettings.Where(s => s.StartsWith("smtp", StringComparison.Ordinal))) + "):");
        foreach (var r in result.Rounds)
        {
            foreach (var f in r.Held.Values.Where(f => f.Requested > 0))
            {
                string lastWords = string.Join(", ", f.ProxyLastLines.OrderByDescending(x => x.Value).Take(3).Select(x => $"{x.Value} x '{x.Key}'"));
                string fate = f.ClosedByProxy == 0
                    ? string.Create(Inv, $"all {f.HeldToEnd} held open by the proxy until we closed them after {f.HeldSeconds:0} s")
                    : string.Create(Inv, $"{f.HeldToEnd} held until we closed them after {f.HeldSeconds:0} s, {f.ClosedByProxy} closed by the proxy after " +
                                         $"{f.FirstClosedAfterSeconds:0}-{f.LastClosedAfterSeconds:0} s with {lastWords}");
                string errors = f.OpenErrors.Count == 0 ? "" : "; not opened: " + string.Join(", ", f.OpenErrors.Select(e => $"{e.Value} x {e.Key}"));
                w.WriteLine($"  round {r.Number}, {f.Requested} {f.Label}: {f.Opened} opened; {fate}{errors}");
            }
        }

        foreach (var r in result.Rounds)
        {
            foreach (var (error, count) in LoadGenerator.TopErrors(r.Load, 5)) w.WriteLine($"  round {r.Number}: {count} x {error}");
        }

        w.WriteLine();
        w.WriteLine("verdict (settled figures, first round against the last):");
        foreach (var c in result.Checks)
        {
            w.WriteLine(string.Create(Inv,
                $"  {c.Name}: {c.First:0.#}{c.Unit} -> {c.Last:0.#}{c.Unit}, growth {c.Growth:+0.#;-0.#;0}{c.Unit} (allowed {c.Allowed:0.#}{c.Unit})  " +
                $"{(c.Passed ? "ok" : "GROWTH")}  - {c.Why}"));
        }
        if (result.Rounds.Count < 2) w.WriteLine("  (one round only: nothing to compare; use --rounds 2 or more)");
        foreach (var p in result.Problems) w.WriteLine($"  PROBLEM: {p}");
        w.WriteLine(result.Passed ? "soak passed: no message lost, no growth" : "soak FAILED");
    }

    private static string Mb(double? mb) => mb is { } v ? v.ToString("0", Inv) : "?";

    public static void WriteJson(Utf8JsonWriter j, BenchOptions o, SoakResult result)
    {
        j.WriteStartObject("soak");
        j.WriteNumber("rounds", o.Rounds);
        j.WriteNumber("messagesPerRound", (long)o.Connections * result.MessagesPerConnection);
        j.WriteNumber("connections", o.Connections);
        j.WriteNumber("idle", o.Idle);
        j.WriteNumber("slowloris", o.Slowloris);
        j.WriteNumber("slowlorisIntervalSeconds", o.SlowlorisIntervalSeconds);
        j.WriteNumber("settleSeconds", o.SettleSeconds);
        j.WriteBoolean("passed", result.Passed);
        j.WriteStartArray("proxySettings");
        foreach (var s in result.ProxySettings) j.WriteStringValue(s);
        j.WriteEndArray();
        j.WriteStartArray("roundResults");
        foreach (var r in result.Rounds)
        {
            var l = r.Load;
            j.WriteStartObject();
            j.WriteNumber("round", r.Number);
            j.WriteNumber("planned", l.Planned);
            j.WriteNumber("sent", l.Succeeded + l.Failed);
            j.WriteNumber("accepted", l.Succeeded);
            j.WriteNumber("replies4xx", r.Replies4xx);
            j.WriteNumber("replies5xx", r.Replies5xx);
            j.WriteNumber("brokenOff", r.BrokenOff);
            j.WriteNumber("notSent", l.NotSent);
            if (l.SinkReceived is { } sr) j.WriteNumber("sinkReceived", sr);
            j.WriteNumber("seconds", Math.Round(l.Seconds, 3));
            j.WriteNumber("messagesPerSecond", Math.Round(l.MessagesPerSecond, 1));
            WriteSample(j, "start", r.Start);
            WriteSample(j, "settledBeforeGc", r.SettledBeforeGc);
            j.WriteBoolean("forcedGc", r.ForcedGc);
            WriteSample(j, "settled", r.Settled);
            j.WriteStartObject("peak");
            if (r.PeakRssMb is { } pr) j.WriteNumber("rssMb", Math.Round(pr, 1));
            if (r.PeakFds is { } pf) j.WriteNumber("fds", pf);
            if (r.PeakThreads is { } pt) j.WriteNumber("threads", pt);
            j.WriteEndObject();
            j.WriteStartArray("held");
            foreach (var f in r.Held.Values)
            {
                j.WriteStartObject();
                j.WriteString("kind", f.Label);
                j.WriteNumber("requested", f.Requested);
                j.WriteNumber("opened", f.Opened);
                j.WriteNumber("heldToEnd", f.HeldToEnd);
                j.WriteNumber("closedByProxy", f.ClosedByProxy);
                j.WriteNumber("heldSeconds", Math.Round(f.HeldSeconds, 1));
                if (f.FirstClosedAfterSeconds is { } fc) j.WriteNumber("firstClosedAfterSeconds", Math.Round(fc, 1));
                if (f.LastClosedAfterSeconds is { } lc) j.WriteNumber("lastClosedAfterSeconds", Math.Round(lc, 1));
                j.WriteStartObject("proxyLastLines");
                foreach (var (line, count) in f.ProxyLastLines) j.WriteNumber(line, count);
                j.WriteEndObject();
                j.WriteStartObject("openErrors");
                foreach (var (error, count) in f.OpenErrors) j.WriteNumber(error, count);
                j.WriteEndObject();
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteStartObject("errors");
            foreach (var (error, count) in LoadGenerator.TopErrors(l, 20)) j.WriteNumber(error, count);
            j.WriteEndObject();
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteStartArray("checks");
        foreach (var c in result.Checks)
        {
            j.WriteStartObject();
            j.WriteString("name", c.Name);
            j.WriteNumber("first", Math.Round(c.First, 1));
            j.WriteNumber("last", Math.Round(c.Last, 1));
            j.WriteNumber("growth", Math.Round(c.Growth, 1));
            j.WriteNumber("allowed", Math.Round(c.Allowed, 1));
            j.WriteBoolean("passed", c.Passed);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteStartArray("problems");
        foreach (var p in result.Problems) j.WriteStringValue(p);
        j.WriteEndArray();
        j.WriteStartArray("samples");
        foreach (var s in result.Samples)
        {
            j.WriteStartObject();
            j.WriteNumber("t", Math.Round(s.Seconds, 1));
            j.WriteNumber("round", s.Round);
            j.WriteString("phase", s.Phase);
            if (s.RssMb is { } rss) j.WriteNumber("rssMb", Math.Round(rss, 1));
            if (s.AnonMb is { } anon) j.WriteNumber("anonMb", Math.Round(anon, 1));
            if (s.Fds is { } fds) j.WriteNumber("fds", fds);
            if (s.Threads is { } th) j.WriteNumber("threads", th);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static void WriteSample(Utf8JsonWriter j, string name, ProcSample s)
    {
        j.WriteStartObject(name);
        if (s.RssMb is { } rss) j.WriteNumber("rssMb", Math.Round(rss, 1));
        if (s.AnonMb is { } anon) j.WriteNumber("anonMb", Math.Round(anon, 1));
        if (s.Fds is { } fds) j.WriteNumber("fds", fds);
        if (s.Threads is { } th) j.WriteNumber("threads", th);
        j.WriteEndObject();
    }
}
