using System.Globalization;
using System.Net;

namespace Assp.LoadBench;

/// <summary>The modes: direct, proxy, compare (direct then proxy, same process, same messages) and idle.</summary>
internal static class Bench
{
    public static async Task<int> RunAsync(BenchOptions o, TextWriter log, CancellationToken ct)
    {
        log.WriteLine($"ASSP SMTP load benchmark: mode {o.Mode.ToString().ToLowerInvariant()}, {Environment.ProcessorCount} cores, " +
                      $"open-files limit {ProcFs.OpenFilesLimit()?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}");

        List<CorpusMessage> corpus = [];
        if (o.Mode != BenchMode.Idle && o.GeneratedMessages > 0)
        {
            // 3 lines per step: 5 to 250 lines, 6 KiB on average, near the corpus's mean of 5.3 KiB.
            corpus = Corpus.Generate(o.GeneratedMessages, linesPerStep: 3);
            long generatedBytes = corpus.Sum(m => (long)m.PayloadBytes);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"corpus: {corpus.Count} generated messages (--generated), mean {generatedBytes / corpus.Count / 1024.0:0.0} KiB"));
        }
        else if (o.Mode != BenchMode.Idle)
        {
            if (!Corpus.LooksExported(o.CorpusDir) && !Corpus.Export(o.CorpusDir, log, out string? problem))
            {
                await Console.Error.WriteLineAsync($"error: corpus: {problem}");
                return 3;
            }
            corpus = Corpus.Load(o.CorpusDir, o.CorpusLimit);
            if (corpus.Count == 0)
            {
                await Console.Error.WriteLineAsync($"error: corpus: no messages in {o.CorpusDir}");
                return 3;
            }
            long bytes = corpus.Sum(m => (long)m.PayloadBytes);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"corpus: {corpus.Count} messages from {o.CorpusDir}, {bytes / 1e6:0.0} MB in SMTP form (CRLF, dot-stuffed), " +
                $"mean {bytes / corpus.Count / 1024.0:0.0} KiB"));
        }

        int sinkConnections = Math.Max(256, o.Mode switch
        {
            BenchMode.Idle => 2 * o.Idle + 64,
            // The proxy opens an upstream connection for every client, the held ones included.
            BenchMode.Soak => 2 * (o.Connections + o.Idle + o.Slowloris) + 64,
            _ => 2 * o.Connections + 64,
        });
        var (sink, sinkProblem) = await StartSinkAsync(o, sinkConnections, log, ct);
        if (sink is null)
        {
            await Console.Error.WriteLineAsync($"error: {sinkProblem}");
            return 3;
        }

        var runs = new List<RunResult>();
        Comparison? comparison = null;
        IdleResult? idle = null;
        SoakResult? soak = null;
        int? idlePid = null;
        int exit = 0;
        await using (sink)
        {
            log.WriteLine($"sink: {sink.Name} on {sink.EndPoint}");

            if (o.Mode is BenchMode.Direct or BenchMode.Compare)
                runs.Add(await MeasureAsync(o, "direct", sink.EndPoint, sink, null, corpus, log, ct));

            if (o.Mode is BenchMode.Proxy or BenchMode.Compare or BenchMode.Idle or BenchMode.Soak)
            {
                var (proxy, problem) = await ProxyTarget.StartAsync(o, sink, log, ct);
                if (proxy is null)
                {
                    if (runs.Count > 0) Report.PrintTable(log, runs);
                    log.WriteLine();
                    log.WriteLine(problem);
                    await Console.Error.WriteLineAsync("error: the proxy did not come up; see above");
                    if (o.JsonPath is not null) Report.WriteJson(o.JsonPath, o, corpus.Count, runs, null, null);
                    return 3;
                }
                await using (proxy)
                {
                    if (o.Mode == BenchMode.Soak)
                    {
                        if (proxy.Pid is null)
                        {
                            await Console.Error.WriteLineAsync("error: the soak samples the proxy from /proc: its pid is unknown (pass --proxy-pid)");
                            return 3;
                        }
                        soak = await SoakTest.RunAsync(o, proxy, sink, corpus, log, ct);
                    }
                    else if (o.Mode == BenchMode.Idle)
                    {
                        idlePid = proxy.Pid;
                        idle = await IdleTest.RunAsync(proxy.EndPoint, o.Idle, proxy.Pid, TimeSpan.FromSeconds(o.IdleHoldSeconds),
                            TimeSpan.FromSeconds(o.DurationLimitSeconds), log, ct);
                    }
                    else
                    {
                        runs.Add(await MeasureAsync(o, "proxy", proxy.EndPoint, sink, proxy, corpus, log, ct));
                    }
                    if (proxy.Died is { } died)
                    {
                        log.WriteLine(died);
                        exit = 1;
                    }
                }
            }
        }

        if (runs.Count > 0) Report.PrintTable(log, runs);
        if (o.Mode == BenchMode.Compare && runs.Count == 2)
        {
            comparison = Comparison.Of(runs[0], runs[1]);
            Report.PrintComparison(log, comparison);
        }
        if (idle is not null)
        {
            Report.PrintIdle(log, idle, idlePid);
            if (idle.Greeted < idle.Requested || idle.StillOpen < idle.Greeted) exit = 1;
        }
        if (soak is not null)
        {
            SoakTest.Print(log, o, soak);
            if (!soak.Passed) exit = 1;
        }
        if (runs.Any(r => r.Failed > 0 || (r.NotSent > 0 && !r.StoppedByDurationLimit))) exit = 1;
        if (o.JsonPath is not null)
        {
            Report.WriteJson(o.JsonPath, o, corpus.Count, runs, comparison, idle, soak);
            log.WriteLine($"\nfigures written to {o.JsonPath}");
        }
        return exit;
    }

    private static async Task<(ISink? Sink, string? Problem)> StartSinkAsync(BenchOptions o, int maxConnections, TextWriter log, CancellationToken ct)
    {
        if (o.Sink == SinkKind.Postfix && !OperatingSystem.IsWindows())
        {
            try
            {
                return (await PostfixSink.StartAsync(o.SinkPort, maxConnections, ct), null);
            }
            catch (InvalidOperationException ex)
            {
                return (null, ex.Message);
            }
        }
        if (o.Sink == SinkKind.SmtpSink)
        {
            if (File.Exists(o.SmtpSinkPath))
            {
                try
                {
                    return (await SmtpSinkProcess.StartAsync(o.SmtpSinkPath, o.SinkPort, maxConnections, ct), null);
                }
                catch (InvalidOperationException ex)
                {
                    return (null, ex.Message);
                }
            }
            log.WriteLine($"sink: {o.SmtpSinkPath} not found (Debian: apt-get install postfix); using the internal sink instead");
        }
        try
        {
            return (InternalSink.Start(o.SinkPort), null);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            return (null, $"internal sink on 127.0.0.1:{o.SinkPort}: {ex.Message}");
        }
    }

    /// <summary>A warm-up round (not counted), then the measured run; the sink's count and the proxy's CPU/RSS around it.</summary>
    internal static async Task<RunResult> MeasureAsync(BenchOptions o, string mode, IPEndPoint target, ISink sink, ProxyTarget? proxy,
        IReadOnlyList<CorpusMessage> corpus, TextWriter log, CancellationToken ct)
    {
        var limit = TimeSpan.FromSeconds(o.DurationLimitSeconds);
        var timeout = TimeSpan.FromSeconds(o.ReplyTimeoutSeconds);
        long? sinkBeforeWarmup = sink.MessagesReceived;
        if (o.WarmupPerConnection > 0)
        {
            var warm = new LoadSpec(target, o.Connections, o.WarmupPerConnection, limit, timeout, o.Helo, o.RcptDomain, corpus,
                CorpusOffset: corpus.Count / 2);
            log.WriteLine($"{mode}: warm-up, {LoadGenerator.Describe(warm)} ...");
            var w = await LoadGenerator.RunAsync(mode, sink.Name, warm, ct);
            if (w.Failed > 0 || w.NotSent > 0)
            {
                log.WriteLine($"{mode}: warm-up had {w.Failed} failed and {w.NotSent} unsent messages:");
                foreach (var (error, count) in LoadGenerator.TopErrors(w, 5)) log.WriteLine($"  {count} x {error}");
            }
            // A queueing sink (Postfix) delivers a little later: the warm-up must not count in the measured run.
            var settle = DateTime.UtcNow.AddSeconds(10);
            while (sinkBeforeWarmup is { } w0 && (sink.MessagesReceived ?? 0) - w0 < w.Succeeded && DateTime.UtcNow < settle)
                await Task.Delay(50, ct);
        }

        var spec = new LoadSpec(target, o.Connections, o.MessagesPerConnection, limit, timeout, o.Helo, o.RcptDomain, corpus);
        long? sinkBefore = sink.MessagesReceived;
        var before = proxy?.Sample();
        log.WriteLine($"{mode}: {LoadGenerator.Describe(spec)} ...");
        var r = await LoadGenerator.RunAsync(mode, sink.Name, spec, ct);
        var after = proxy?.Sample();
        if (before is not null && after is not null)
            r.Proxy = new ProcessFigures(after.CpuSeconds - before.CpuSeconds, after.RssMb, after.PeakRssMb);

        if (sinkBefore is { } b)
        {
            // The sink's counter may trail the client's last 250 a little (smtp-sink reports through a pipe, and a
            // proxy may relay after answering): give it up to 5 s to catch up.
            var until = DateTime.UtcNow.AddSeconds(5);
            while ((sink.MessagesReceived ?? 0) - b < r.Succeeded && DateTime.UtcNow < until)
                await Task.Delay(50, ct);
            r.SinkReceived = (sink.MessagesReceived ?? 0) - b;
        }
        string failed = r.Failed > 0 ? $", {r.Failed} FAILED" : "";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{mode}: {r.Succeeded} messages in {r.Seconds:0.00} s, {r.MessagesPerSecond:0.0} msgs/s, p50 {r.PercentileMs(50):0.00} ms{failed}"));
        return r;
    }
}
