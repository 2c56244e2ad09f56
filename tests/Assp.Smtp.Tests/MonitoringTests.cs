using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Statistics;
using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Registry;
using Assp.Smtp.Monitoring;
using Assp.Storage;

namespace Assp.Smtp.Tests;

/// <summary>
/// The monitoring services with real sessions through SmtpProxyServer and a small MTA on loopback: the live session
/// list and its change feed, the statistics the sessions count, the health probes and the Prometheus text.
/// </summary>
public sealed class MonitoringTests : IAsyncLifetime
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "assp-monitor-test-" + Guid.NewGuid().ToString("N"));
    private readonly TinyMta _mta = new();
    private readonly GatePipeline _pipeline = new();
    private ConfigManager _config = null!;
    private SmtpProxyServer _server = null!;
    private int _port;

    public Task InitializeAsync()
    {
        _port = FreePort();
        BaseFolder.Initialize(_base, OptionRegistry.Default, new Dictionary<string, string>
        {
            ["listenPort"] = $"127.0.0.1:{_port}",
            ["smtpDestination"] = $"127.0.0.1:{_mta.Port}",
            ["localDomains"] = "example.com",
            ["myName"] = "proxy.test",
            ["DoTLS"] = "0",
            ["maxSMTPipSessions"] = "0",
            // The scored test messages must not slow their own client down.
            ["DoDamping"] = "0",
        });
        _config = new ConfigManager(new ConfigLoader(OptionRegistry.Default), new ConfigSource(_base));
        _server = new SmtpProxyServer(() => _config.Current, null, _pipeline);
        Assert.Empty(_server.Start());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _pipeline.Release();
        await _server.DisposeAsync();
        _config.Dispose();
        await _mta.DisposeAsync();
        try { Directory.Delete(_base, true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_session_appears_with_its_envelope_and_phase_and_goes_away_when_it_ends()
    {
        long before = _server.SessionChanges.Version;
        _pipeline.Hold = true;
        await using var client = await LineSmtpClient.ConnectAsync(_port);
        await client.CommandAsync("EHLO client.example");
        await client.CommandAsync("MAIL FROM:<alice@client.example>");
        await client.CommandAsync("RCPT TO:<bob@example.com>");
        await client.CommandAsync("RCPT TO:<carol@example.com>");
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendRawAsync("Subject: hi\r\n\r\nbody\r\n.\r\n");
        await _pipeline.Entered.Task.WaitAsync(TimeSpan.FromSeconds(20));

        var view = _server.LiveSessions();
        var session = Assert.Single(view.Sessions);
        Assert.True(view.Version > before);
        Assert.Equal("127.0.0.1", session.ClientIp);
        Assert.Equal("client.example", session.Helo);
        Assert.Equal("alice@client.example", session.Sender);
        Assert.Equal(["bob@example.com", "carol@example.com"], session.Recipients);
        Assert.Equal(SessionPhase.Checking, session.Phase);
        Assert.Equal(12.5, session.Score);
        Assert.Contains("spam-suspect", session.States);
        Assert.StartsWith("listenPort", session.Listener);

        // The snapshot is plain data: it round-trips through JSON with the phase as a word.
        var json = JsonSerializer.Serialize(view);
        Assert.Contains("\"Phase\":\"Checking\"", json);
        Assert.Equal(session.Recipients, JsonSerializer.Deserialize<LiveSessionsView>(json)!.Sessions[0].Recipients);

        long seen = _server.SessionChanges.Version;
        var waiting = _server.SessionChanges.WaitForChangeAsync(seen, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        _pipeline.Release();
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(20)) > seen);

        await client.CommandAsync("QUIT");
        await WaitUntil(() => _server.LiveSessions().Sessions.Count == 0);
    }

    [Fact]
    public async Task Closing_a_session_by_its_id_drops_the_client_in_the_middle_of_DATA()
    {
        await using var client = await LineSmtpClient.ConnectAsync(_port);
        await client.CommandAsync("EHLO client.example");
        await client.CommandAsync("MAIL FROM:<alice@client.example>");
        await client.CommandAsync("RCPT TO:<bob@example.com>");
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        // Part of a message, no end mark: the session waits in DATA.
        await client.SendRawAsync("Subject: slow\r\n\r\n" + new string('x', 700) + "\r\n");
        await WaitUntil(() => _server.LiveSessions().Sessions is [{ Phase: SessionPhase.Data, Bytes: > 700 }]);
        var id = _server.LiveSessions().Sessions[0].Id;

        Assert.False(_server.CloseSession("no-such-session", "test"));
        Assert.True(_server.CloseSession(id, "test"));
        await Assert.ThrowsAnyAsync<IOException>(() => client.ReadReplyAsync());
        await WaitUntil(() => _server.LiveSessions().Sessions.Count == 0);
        Assert.False(_server.CloseSession(id, "test"));
    }

    [Fact]
    public async Task Statistics_count_connections_delivered_and_blocked_messages_checks_and_scores()
    {
        await using (var client = await LineSmtpClient.ConnectAsync(_port))
        {
            await client.CommandAsync("EHLO client.example");
            Assert.Equal(250, (await client.SendMessageAsync("Subject: fine\r\n\r\nhello\r\n")).Code);
            Assert.Equal(554, (await client.SendMessageAsync("Subject: buy\r\n\r\nSPAMWORD\r\n")).Code);
            await client.CommandAsync("QUIT");
        }
        var s = _server.Statistics.Snapshot();
        Assert.Equal(1, s.Counters[MailStatistics.ConnectionsAccepted]);
        Assert.Equal(2, s.Counters[MailStatistics.Messages]);
        Assert.Equal(1, s.Counters[MailStatistics.MessagesDelivered]);
        Assert.Equal(1, s.Counters[MailStatistics.MessagesHam]);
        Assert.Equal(1, s.Counters[MailStatistics.MessagesBlocked]);
        var bomb = Assert.Single(s.Checks, c => c.Check == "bombRe");
        Assert.Equal(1, bomb.Blocks);
        Assert.Equal(1, s.RejectsByReason["bombRe"]);
        Assert.Equal(2, s.ScoreCount);
        Assert.Equal(62.5, s.ScoreSum);
        // 12.5 falls in the (10, 20] bucket, 50 in (40, 50].
        Assert.Equal(1, s.ScoreHistogram.Single(b => b.UpperBound == 20).Count);
        Assert.Equal(1, s.ScoreHistogram.Single(b => b.UpperBound == 50).Count);

        // Saved and loaded into a fresh instance (a restart), the figures are the same; a reset clears them.
        using var store = new MemoryStore();
        _server.Statistics.Save(store.Table(MailStatistics.TableName));
        var restarted = new MailStatistics();
        restarted.Load(store.Table(MailStatistics.TableName));
        var r = restarted.Snapshot();
        Assert.Equal(s.Counters, r.Counters);
        Assert.Equal(s.Checks, r.Checks);
        Assert.Equal(s.RejectsByReason, r.RejectsByReason);
        Assert.Equal(s.ScoreHistogram, r.ScoreHistogram);
        Assert.Equal(s.ScoreSum, r.ScoreSum);
        Assert.Equal(s.CountingSince, r.CountingSince);
        restarted.Reset();
        Assert.All(restarted.Snapshot().Counters.Values, v => Assert.Equal(0, v));
        restarted.Save(store.Table(MailStatistics.TableName));
        Assert.DoesNotContain(store.Table(MailStatistics.TableName).Scan(), kv => kv.Key.StartsWith("check:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Health_probes_report_the_mta_the_store_and_what_is_not_configured()
    {
        using var store = new MemoryStore();
        var monitor = new HealthMonitor(() => _config.Current, _server, store, null);
        var report = await monitor.RunAsync();
        Assert.Same(report, monitor.Latest);
        HealthProbeResult P(string name) => Assert.Single(report.Probes, p => p.Name == name);
        Assert.Equal(HealthStatus.Ok, P("upstream").Status);
        Assert.Contains("220", P("upstream").Detail);
        Assert.Equal(HealthStatus.Ok, P("storage").Status);
        Assert.Equal(HealthStatus.Ok, P("sessions").Status);
        Assert.Equal(HealthStatus.Disabled, P("dns").Status);
        Assert.Equal(HealthStatus.Disabled, P("clamd").Status);
        Assert.True(report.Healthy);

        // An MTA that is gone fails the upstream probe, and the report is not healthy.
        await _mta.DisposeAsync();
        report = await monitor.RunAsync();
        Assert.Equal(HealthStatus.Failed, report.Probes.Single(p => p.Name == "upstream").Status);
        Assert.False(report.Healthy);
    }

    [Fact]
    public async Task Health_probe_for_clamd_fails_when_no_daemon_listens()
    {
        int dead = FreePort();
        Assert.Empty(_config.SetValues([new("UseAvClamd", "1"), new("AvClamdPort", $"127.0.0.1:{dead}")]));
        var monitor = new HealthMonitor(() => _config.Current, _server, null, null);
        var report = await monitor.RunAsync();
        Assert.Equal(HealthStatus.Failed, report.Probes.Single(p => p.Name == "clamd").Status);
        Assert.Equal(HealthStatus.Disabled, report.Probes.Single(p => p.Name == "storage").Status);
    }

    [Fact]
    public async Task Prometheus_text_parses_and_holds_the_counters_and_a_cumulative_score_histogram()
    {
        await using (var client = await LineSmtpClient.ConnectAsync(_port))
        {
            await client.CommandAsync("EHLO client.example");
            await client.SendMessageAsync("Subject: fine\r\n\r\nhello\r\n");
            await client.SendMessageAsync("Subject: buy\r\n\r\nSPAMWORD\r\n");
            await client.CommandAsync("QUIT");
        }
        var monitor = new HealthMonitor(() => _config.Current, _server, null, null);
        await monitor.RunAsync();
        var text = PrometheusMetrics.Render(_server.Statistics.Snapshot(), _server.ActiveSessions, _server.SessionsTotal, 1, monitor.Latest);
        var samples = PrometheusText.Parse(text);
        Assert.Equal(1, samples[("assp_messages_total", "outcome=delivered")]);
        Assert.Equal(1, samples[("assp_messages_total", "outcome=blocked")]);
        Assert.Equal(1, samples[("assp_check_blocks_total", "check=bombRe")]);
        Assert.Equal(1, samples[("assp_rejects_total", "reason=bombRe")]);
        Assert.Equal(0, samples[("assp_message_score_bucket", "le=10")]);
        Assert.Equal(1, samples[("assp_message_score_bucket", "le=20")]);
        Assert.Equal(2, samples[("assp_message_score_bucket", "le=+Inf")]);
        Assert.Equal(2, samples[("assp_message_score_count", "")]);
        Assert.Equal(1, samples[("assp_health_probe_up", "probe=upstream")]);
        Assert.True(samples[("assp_uptime_seconds", "")] >= 0);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 400 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition());
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>
    /// Scores every message 12.5 at DATA; "SPAMWORD" in the body is refused as bombRe with score 50. With Hold set,
    /// the body phase waits until released so a test can look at a session in the middle of its checks.
    /// </summary>
    private sealed class GatePipeline : ICheckPipeline
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Hold { get; set; }
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Release() => _gate.TrySetResult();

        public async ValueTask<Verdict> RunAsync(SmtpPhase phase, IMailContext context, CancellationToken cancellationToken)
        {
            if (phase == SmtpPhase.MailFrom) context.CheckState.NewMessage();
            if (phase != SmtpPhase.DataBody) return Verdict.Pass;
            var st = context.CheckState.Message;
            using var reader = new StreamReader(context.OpenMessage()!);
            var text = await reader.ReadToEndAsync(cancellationToken);
            if (text.Contains("SPAMWORD", StringComparison.Ordinal))
            {
                st.MessageScore = 50;
                st.SpamFound = true;
                st.Reports.Add(new CheckReport("bombRe", "block", 50, "SPAMWORD"));
                return Verdict.Block("554 5.7.1 bomb", "bombRe: SPAMWORD");
            }
            st.MessageScore = 12.5;
            st.Reports.Add(new CheckReport("DoBayesian", "score", 12.5, "probability 0.7"));
            st.SpamFound = Hold;
            if (Hold)
            {
                Entered.TrySetResult();
                await _gate.Task.WaitAsync(cancellationToken);
            }
            return Verdict.Pass;
        }
    }

    /// <summary>An MTA that says yes to everything.</summary>
    private sealed class TinyMta : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private bool _disposed;

        public TinyMta()
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _loop = Task.Run(AcceptLoop);
        }

        public int Port { get; }

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient c;
                try { c = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
                _ = Task.Run(() => Serve(c));
            }
        }

        private async Task Serve(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var s = client.GetStream();
                    var reader = new StreamReader(s, Encoding.Latin1);
                    Task Say(string text) => s.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"), _stop.Token).AsTask();
                    await Say("220 mta.test ESMTP");
                    while (await reader.ReadLineAsync(_stop.Token) is { } line)
                    {
                        var verb = line.Split(' ')[0].ToUpperInvariant();
                        if (verb == "EHLO") await Say("250-mta.test\r\n250 8BITMIME");
                        else if (verb == "DATA")
                        {
                            await Say("354 go ahead");
                            while (await reader.ReadLineAsync(_stop.Token) is { } l && l != ".") { }
                            await Say("250 2.0.0 Ok: queued");
                        }
                        else if (verb == "QUIT") { await Say("221 bye"); return; }
                        else await Say("250 2.0.0 ok");
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException) { }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            _stop.Cancel();
            _listener.Stop();
            await _loop;
        }
    }
}

/// <summary>A strict reader of the Prometheus text format: every line must be a comment, HELP/TYPE or a valid sample.</summary>
internal static class PrometheusText
{
    private static readonly System.Text.RegularExpressions.Regex Sample = new(
        @"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)$");
    private static readonly System.Text.RegularExpressions.Regex Label = new(@"(?<k>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<v>(?:[^""\\]|\\.)*)""");

    /// <summary>Samples by (name, "k=v,k=v"); fails the test on any line that is not valid exposition text.</summary>
    public static Dictionary<(string, string), double> Parse(string text)
    {
        Assert.EndsWith("\n", text);
        var types = new Dictionary<string, string>();
        var result = new Dictionary<(string, string), double>();
        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal)) { Assert.Matches(@"^# HELP assp_\w+ \S.*$", line); continue; }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.Equal(4, parts.Length);
                Assert.Contains(parts[3], new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                Assert.True(types.TryAdd(parts[2], parts[3]), "TYPE given twice for " + parts[2]);
                continue;
            }
            var m = Sample.Match(line);
            Assert.True(m.Success, "not a sample line: " + line);
            var name = m.Groups["name"].Value;
            Assert.StartsWith("assp_", name);
            var family = types.Keys.Where(t => name == t || name.StartsWith(t + "_", StringComparison.Ordinal)).OrderByDescending(t => t.Length).FirstOrDefault();
            Assert.True(family is not null, "sample without TYPE: " + line);
            var labels = string.Join(",", Label.Matches(m.Groups["labels"].Value).Select(l => l.Groups["k"].Value + "=" + l.Groups["v"].Value));
            var raw = m.Groups["value"].Value;
            double value = raw switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, "NaN" => double.NaN,
                _ => double.Parse(raw, System.Globalization.CultureInfo.InvariantCulture) };
            Assert.True(result.TryAdd((name, labels), value), "duplicate sample: " + line);
        }
        return result;
    }
}
