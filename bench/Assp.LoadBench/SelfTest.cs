using System.Net;
using System.Text;
using System.Text.Json;

namespace Assp.LoadBench;

/// <summary>
/// `--self-test`: no corpus, no smtp-sink, no proxy. Checks the wire conversion and the sink's end-of-data scanner,
/// runs direct mode with 2 connections x 5 of 10 generated messages against the internal sink and verifies that the
/// sink got exactly those bytes, holds a few idle connections, writes and re-reads the JSON. Exit 0 when all pass.
/// </summary>
internal static class SelfTest
{
    public static async Task<int> RunAsync(TextWriter log, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(60));
        var failures = new List<string>();
        void Check(bool ok, string what)
        {
            log.WriteLine($"  {(ok ? "ok  " : "FAIL")}  {what}");
            if (!ok) failures.Add(what);
        }

        log.WriteLine("self-test: wire form");
        Check(Wire("a\n.b\n..c\nd") == "a\r\n..b\r\n...c\r\nd\r\n.\r\n", "LF to CRLF, dot-stuffing, missing final newline");
        Check(Wire("") == ".\r\n", "empty message");
        Check(Wire(".\n") == "..\r\n.\r\n", "a lone dot line is stuffed");
        Check(Wire("x\r\ny\rz\n\n") == "x\r\ny\r\nz\r\n\r\n.\r\n", "CRLF kept, lone CR becomes CRLF, empty line kept");
        Check(Corpus.UsableSender("joe@example.org") == "joe@example.org" && Corpus.UsableSender("-") is null &&
              Corpus.UsableSender("MAILER-DAEMON") is null && Corpus.UsableSender("a b@c") is null, "mbox_from as MAIL FROM");

        log.WriteLine("self-test: sink end-of-data scanner");
        var data = "hello\r\n..x\r\n.y\r\n\r\n.\r\nNEXT"u8.ToArray();
        int expectEnd = data.Length - 4;
        Check(ScanInChunks(data, 1) == expectEnd && ScanInChunks(data, 3) == expectEnd && ScanInChunks(data, data.Length) == expectEnd,
            "CRLF.CRLF found at the same place whatever the read sizes");
        Check(ScanInChunks(".\r\n"u8.ToArray(), 1) == 3, "empty message: the terminator right after the 354");
        Check(ScanInChunks("a\r\n..\r\nb\r\n"u8.ToArray(), 2) == -1, "a stuffed dot line is not the end");

        log.WriteLine("self-test: direct mode, 2 connections x 5 messages, internal sink");
        var messages = Corpus.Generate(10);
        RunResult r;
        long sinkMessages, sinkBytes;
        await using (var sink = InternalSink.Start())
        {
            var spec = new LoadSpec(sink.EndPoint, 2, 5, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10),
                "selftest.example.net", "example.com", messages);
            r = await LoadGenerator.RunAsync("direct", sink.Name, spec, bound.Token);
            sinkMessages = sink.MessagesReceived ?? 0;
            sinkBytes = sink.DataBytes;
            r.SinkReceived = sinkMessages;
            Check(r.Succeeded == 10 && r.Failed == 0 && r.NotSent == 0, $"10 messages accepted (accepted {r.Succeeded}, failed {r.Failed}, not sent {r.NotSent})");
            foreach (var (error, count) in LoadGenerator.TopErrors(r, 5)) log.WriteLine($"        {count} x {error}");
            Check(sinkMessages == 10, $"the sink counted 10 messages ({sinkMessages})");
            long wireBytes = messages.Sum(m => (long)m.Wire.Length);
            Check(sinkBytes == wireBytes, $"the sink received exactly the DATA bytes sent ({sinkBytes} of {wireBytes})");
            Check(r.Latencies.Length == 10 && r.Latencies.All(t => t > 0), "10 latencies measured");
            Check(r.PayloadBytes == messages.Sum(m => (long)m.PayloadBytes) && r.MessagesPerSecond > 0, "throughput counted");

            log.WriteLine("self-test: idle connections (20, against the internal sink, RSS of this process)");
            var idle = await IdleTest.RunAsync(sink.EndPoint, 20, Environment.ProcessId, TimeSpan.FromSeconds(0.5),
                TimeSpan.FromSeconds(20), log, bound.Token, settle: TimeSpan.FromMilliseconds(100));
            Check(idle.Greeted == 20 && idle.StillOpen == 20 && idle.RssHeldMb > 0, $"20 held, RSS sampled ({idle.StillOpen} held, {idle.RssHeldMb:0.0} MB)");

            log.WriteLine("self-test: refused connections are counted, not hung on");
            var closed = new IPEndPoint(IPAddress.Loopback, Net.FreePort());
            var refused = await LoadGenerator.RunAsync("direct", "none",
                new LoadSpec(closed, 2, 3, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), "x", "example.com", messages), bound.Token);
            Check(refused.Succeeded == 0 && refused.NotSent == 6 && refused.Errors.Keys.Any(e => e.StartsWith("connect", StringComparison.Ordinal)),
                "6 messages not sent, connect errors reported");

            log.WriteLine("self-test: JSON");
            string json = Path.Combine(Path.GetTempPath(), $"assp-loadbench-selftest-{Environment.ProcessId}.json");
            try
            {
                var opts = new BenchOptions { Mode = BenchMode.Direct, Connections = 2, MessagesPerConnection = 5, SelfTest = true };
                Report.WriteJson(json, opts, messages.Count, [r], null, idle);
                using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
                var run = doc.RootElement.GetProperty("runs")[0];
                Check(run.GetProperty("messages").GetInt64() == 10 && run.GetProperty("latencyMs").GetProperty("p50").GetDouble() > 0 &&
                      doc.RootElement.GetProperty("idle").GetProperty("held").GetInt32() == 20, "written and read back");
            }
            finally
            {
                File.Delete(json);
            }
        }

        Report.PrintTable(log, [r]);
        log.WriteLine();
        if (failures.Count == 0)
        {
            log.WriteLine("self-test passed");
            return 0;
        }
        log.WriteLine($"self-test FAILED ({failures.Count}): {string.Join("; ", failures)}");
        return 1;
    }

    private static string Wire(string raw) => Encoding.Latin1.GetString(Corpus.ToSmtpData(Encoding.Latin1.GetBytes(raw)));

    /// <summary>Where the sink's scanner ends the message when fed <paramref name="data"/> in chunks; -1 if it does not.</summary>
    private static int ScanInChunks(byte[] data, int chunk)
    {
        int state = 2; // line start: right after "DATA\r\n"
        int pos = 0;
        while (pos < data.Length)
        {
            int len = Math.Min(chunk, data.Length - pos);
            int used = InternalSink.ScanData(data.AsSpan(pos, len), ref state, out bool done);
            pos += used;
            if (done) return pos;
        }
        return -1;
    }
}
