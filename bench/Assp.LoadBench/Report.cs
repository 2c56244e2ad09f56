using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Assp.LoadBench;

/// <summary>Throughput proxy/direct and added median latency, against the targets of the load issue.</summary>
internal sealed record Comparison(double ThroughputRatio, double AddedMedianMs, double AddedP99Ms)
{
    public const double ThroughputTarget = 0.8;
    public const double AddedMedianTargetMs = 2.0;
    public bool ThroughputMet => ThroughputRatio >= ThroughputTarget;
    public bool LatencyMet => AddedMedianMs <= AddedMedianTargetMs;

    public static Comparison Of(RunResult direct, RunResult proxy) => new(
        direct.MessagesPerSecond > 0 ? proxy.MessagesPerSecond / direct.MessagesPerSecond : double.NaN,
        proxy.PercentileMs(50) - direct.PercentileMs(50),
        proxy.PercentileMs(99) - direct.PercentileMs(99));
}

/// <summary>Console table and JSON file.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void PrintTable(TextWriter w, IReadOnlyList<RunResult> runs)
    {
        string[] head = ["mode", "sink", "conns", "messages", "failed", "seconds", "msgs/s", "MB/s", "p50 ms", "p90 ms", "p99 ms"];
        var rows = new List<string[]> { head };
        foreach (var r in runs)
        {
            rows.Add(
            [
                r.Mode, r.Sink, r.Connections.ToString(Inv), r.Succeeded.ToString(Inv), r.Failed.ToString(Inv),
                r.Seconds.ToString("0.00", Inv), r.MessagesPerSecond.ToString("0.0", Inv), r.MegabytesPerSecond.ToString("0.00", Inv),
                Ms(r.PercentileMs(50)), Ms(r.PercentileMs(90)), Ms(r.PercentileMs(99)),
            ]);
        }
        var widths = Enumerable.Range(0, head.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        w.WriteLine();
        for (int i = 0; i < rows.Count; i++)
        {
            var cells = rows[i].Select((cell, c) => c < 2 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]));
            w.WriteLine(string.Join("  ", cells).TrimEnd());
            if (i == 0) w.WriteLine(string.Join("  ", widths.Select(x => new string('-', x))));
        }
        foreach (var r in runs) PrintNotes(w, r);
    }

    private static void PrintNotes(TextWriter w, RunResult r)
    {
        var notes = new List<string>();
        if (r.StoppedByDurationLimit) notes.Add($"stopped by the duration limit: {r.Succeeded + r.Failed} of {r.Planned} messages sent");
        else if (r.NotSent > 0) notes.Add($"{r.NotSent} of {r.Planned} messages not sent (sessions broke off)");
        if (r.SinkReceived is { } got)
        {
            if (got == r.Succeeded)
            {
                if (got > 0) notes.Add($"sink received all {got}");
            }
            else if (got < r.Succeeded) notes.Add($"the sink counted only {got} of {r.Succeeded} accepted messages (NOT RELAYED?)");
            else if (r.StoppedByDurationLimit) notes.Add($"the sink counted {got} ({got - r.Succeeded} more were in flight at the stop)");
            else notes.Add($"the sink counted {got} messages, more than the {r.Succeeded} accepted");
        }
        if (r.Proxy is { } p)
        {
            notes.Add(string.Create(Inv, $"proxy CPU {p.CpuSeconds:0.00} s ({(r.Succeeded > 0 ? p.CpuSeconds * 1000 / r.Succeeded : 0):0.00} ms/msg), RSS {p.RssMb:0} MB, peak {p.PeakRssMb:0} MB"));
        }
        foreach (var (error, count) in LoadGenerator.TopErrors(r, 5)) notes.Add($"{count} x {error}");
        if (notes.Count == 0) return;
        w.WriteLine($"  {r.Mode}: " + string.Join("; ", notes));
    }

    public static void PrintComparison(TextWriter w, Comparison c)
    {
        w.WriteLine();
        w.WriteLine(string.Create(Inv, $"throughput proxy/direct: {c.ThroughputRatio:0.000}   (target >= {Comparison.ThroughputTarget:0.0})  {(c.ThroughputMet ? "met" : "MISSED")}"));
        w.WriteLine(string.Create(Inv, $"added median latency:    {c.AddedMedianMs:+0.000;-0.000} ms (target <= {Comparison.AddedMedianTargetMs:0} ms)   {(c.LatencyMet ? "met" : "MISSED")}"));
        w.WriteLine(string.Create(Inv, $"added p99 latency:       {c.AddedP99Ms:+0.000;-0.000} ms (no target)"));
    }

    public static void PrintIdle(TextWriter w, IdleResult r, int? pid)
    {
        w.WriteLine();
        string rss = r.RssHeldMb is { } held ? held.ToString("0.0", Inv) + " MB" : "unknown (no pid; pass --proxy-pid)";
        w.WriteLine($"{r.StillOpen} idle connections held, proxy RSS {rss}" +
                    (r.RssHeldMb is { } h ? $"   (target <= {IdleResult.TargetMb:0} MB)  {(h <= IdleResult.TargetMb ? "met" : "MISSED")}" : ""));
        if (r.RssBeforeMb is { } before && r.RssHeldMb is { } held2)
        {
            double perConn = r.StillOpen > 0 ? (held2 - before) * 1e6 / 1024 / r.StillOpen : 0;
            w.WriteLine(string.Create(Inv, $"  proxy pid {pid}: RSS {before:0.0} MB before, {held2:0.0} MB held ({perConn:0.0} KiB per connection), " +
                                           $"{r.RssAfterCloseMb:0.0} MB after closing them"));
        }
        w.WriteLine(string.Create(Inv, $"  {r.Greeted} of {r.Requested} greeted with 220 in {r.OpenSeconds:0.00} s; {r.Greeted - r.StillOpen} closed or written to by the proxy while idle"));
        w.WriteLine($"  open-files limit: this process {Limit(r.OwnFdLimit)}, the proxy {Limit(r.ProxyFdLimit)}");
        foreach (var (error, count) in r.Errors.OrderByDescending(e => e.Value).Take(5)) w.WriteLine($"  {count} x {error}");
    }

    private static string Limit(long? n) => n is { } v ? v.ToString(Inv) : "unknown";

    private static string Ms(double ms) => double.IsNaN(ms) ? "-" : ms.ToString(ms < 10 ? "0.00" : "0.0", Inv);

    public static void WriteJson(string path, BenchOptions o, int corpusMessages, IReadOnlyList<RunResult> runs, Comparison? comparison, IdleResult? idle, SoakResult? soak = null)
    {
        using var stream = File.Create(path);
        using var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        j.WriteStartObject();
        j.WriteString("tool", "Assp.LoadBench");
        j.WriteString("timestamp", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv));
        j.WriteNumber("processorCount", Environment.ProcessorCount);
        j.WriteStartObject("settings");
        j.WriteString("mode", o.Mode.ToString().ToLowerInvariant());
        j.WriteNumber("connections", o.Connections);
        j.WriteNumber("messagesPerConnection", o.MessagesPerConnection);
        j.WriteNumber("warmupPerConnection", o.WarmupPerConnection);
        j.WriteNumber("durationLimitSeconds", o.DurationLimitSeconds);
        j.WriteString("corpus", o.SelfTest ? "generated" : o.CorpusDir);
        j.WriteNumber("corpusMessages", corpusMessages);
        j.WriteEndObject();

        j.WriteStartArray("runs");
        foreach (var r in runs)
        {
            j.WriteStartObject();
            j.WriteString("mode", r.Mode);
            j.WriteString("sink", r.Sink);
            j.WriteNumber("connections", r.Connections);
            j.WriteNumber("planned", r.Planned);
            j.WriteNumber("messages", r.Succeeded);
            j.WriteNumber("failed", r.Failed);
            j.WriteNumber("notSent", r.NotSent);
            j.WriteNumber("seconds", Round(r.Seconds, 4));
            j.WriteNumber("messagesPerSecond", Round(r.MessagesPerSecond, 2));
            j.WriteNumber("megabytesPerSecond", Round(r.MegabytesPerSecond, 3));
            j.WriteNumber("payloadBytes", r.PayloadBytes);
            j.WriteBoolean("stoppedByDurationLimit", r.StoppedByDurationLimit);
            if (r.SinkReceived is { } sr) j.WriteNumber("sinkReceived", sr);
            j.WriteStartObject("latencyMs");
            Number(j, "p50", r.PercentileMs(50));
            Number(j, "p90", r.PercentileMs(90));
            Number(j, "p99", r.PercentileMs(99));
            Number(j, "mean", r.MeanMs);
            Number(j, "max", r.MaxMs);
            j.WriteEndObject();
            if (r.Proxy is { } p)
            {
                j.WriteStartObject("proxyProcess");
                j.WriteNumber("cpuSeconds", Round(p.CpuSeconds, 2));
                j.WriteNumber("rssMb", Round(p.RssMb, 1));
                j.WriteNumber("peakRssMb", Round(p.PeakRssMb, 1));
                j.WriteEndObject();
            }
            j.WriteStartObject("errors");
            foreach (var (error, count) in LoadGenerator.TopErrors(r, 20)) j.WriteNumber(error, count);
            j.WriteEndObject();
            j.WriteEndObject();
        }
        j.WriteEndArray();

        if (comparison is { } c)
        {
            j.WriteStartObject("comparison");
            Number(j, "throughputRatio", c.ThroughputRatio, 4);
            j.WriteNumber("throughputRatioTarget", Comparison.ThroughputTarget);
            j.WriteBoolean("throughputMet", c.ThroughputMet);
            Number(j, "addedMedianLatencyMs", c.AddedMedianMs);
            j.WriteNumber("addedMedianLatencyTargetMs", Comparison.AddedMedianTargetMs);
            j.WriteBoolean("latencyMet", c.LatencyMet);
            Number(j, "addedP99LatencyMs", c.AddedP99Ms);
            j.WriteEndObject();
        }
        if (idle is { } i)
        {
            j.WriteStartObject("idle");
            j.WriteNumber("requested", i.Requested);
            j.WriteNumber("greeted", i.Greeted);
            j.WriteNumber("held", i.StillOpen);
            j.WriteNumber("openSeconds", Round(i.OpenSeconds, 3));
            if (i.RssBeforeMb is { } b) j.WriteNumber("rssBeforeMb", Round(b, 1));
            if (i.RssHeldMb is { } h) j.WriteNumber("rssHeldMb", Round(h, 1));
            if (i.RssAfterCloseMb is { } a) j.WriteNumber("rssAfterCloseMb", Round(a, 1));
            j.WriteNumber("rssTargetMb", IdleResult.TargetMb);
            if (i.RssHeldMb is { } h2) j.WriteBoolean("rssMet", h2 <= IdleResult.TargetMb);
            if (i.OwnFdLimit is { } ofl) j.WriteNumber("ownOpenFilesLimit", ofl);
            if (i.ProxyFdLimit is { } pfl) j.WriteNumber("proxyOpenFilesLimit", pfl);
            j.WriteStartObject("errors");
            foreach (var (error, count) in i.Errors) j.WriteNumber(error, count);
            j.WriteEndObject();
            j.WriteEndObject();
        }
        if (soak is not null) SoakTest.WriteJson(j, o, soak);
        j.WriteEndObject();
    }

    private static double Round(double v, int digits) => Math.Round(v, digits);

    private static void Number(Utf8JsonWriter j, string name, double v, int digits = 3)
    {
        if (double.IsFinite(v)) j.WriteNumber(name, Math.Round(v, digits));
        else j.WriteNull(name);
    }
}
