using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Config;
using Assp.Config.Registry;
using Assp.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>One private Postfix for the whole fault matrix; CHUNKING is off so the relay sees DATA and the dot.</summary>
public sealed class FaultPostfix : IAsyncLifetime
{
    public PostfixInstance Mta { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Mta = await PostfixInstance.StartAsync(new PostfixOptions { ExtraMainCf = "smtpd_discard_ehlo_keywords = chunking" });

    public async Task DisposeAsync() => await Mta.DisposeAsync();
}

/// <summary>
/// The no-loss promise under faults of the neighbours: the real proxy in front of a real Postfix, with a
/// fault-injecting relay between them that breaks every other upstream connection at a chosen moment. After each
/// fault: every message the client saw 250 for is in Postfix's delivery exactly once, every other one was told a
/// 4xx/5xx (never a silent close), nothing else arrived, and the proxy serves the next client.
/// </summary>
public partial class FaultInjectionTests(FaultPostfix postfix, ITestOutputHelper output) : IClassFixture<FaultPostfix>
{
    private const int MessagesPerFault = 6;

    /// <summary>What the relay does to a faulted connection.</summary>
    public enum FaultKind { Reply, Hang, Drop }

    /// <summary>
    /// A TCP relay between the proxy and Postfix. Odd connections (1st, 3rd ...) get the fault at the given phase
    /// (GREETING, EHLO, MAIL, RCPT, DATA, DOT = the end of the data); even ones pass untouched.
    /// </summary>
    private sealed class FaultRelay : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly int _mtaPort;
        private readonly string _phase;
        private readonly FaultKind _kind;
        private readonly string _reply;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _connections;
        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public int Faulted;

        public FaultRelay(int mtaPort, string phase, FaultKind kind, string reply = "")
        {
            _mtaPort = mtaPort;
            _phase = phase;
            _kind = kind;
            _reply = reply;
            _listener.Start();
            _loop = Task.Run(AcceptLoop);
        }

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient proxySide;
                try { proxySide = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (OperationCanceledException) { return; }
                bool fault = Interlocked.Increment(ref _connections) % 2 == 1;
                _ = Task.Run(() => Serve(proxySide, fault));
            }
        }

        private async Task Serve(TcpClient proxySide, bool fault)
        {
            using var _ = proxySide;
            using var mtaSide = new TcpClient();
            var token = _stop.Token;
            try
            {
                var down = proxySide.GetStream();
                if (fault && _phase == "GREETING")
                {
                    Interlocked.Increment(ref Faulted);
                    await Act(down, token);
                    return;
                }
                await mtaSide.ConnectAsync(IPAddress.Loopback, _mtaPort, token);
                var up = mtaSide.GetStream();
                // Replies flow back untouched.
                var back = up.CopyToAsync(down, token);
                var reader = new StreamReader(down, Encoding.Latin1);
                bool inData = false;
                int dataLines = 0;
                while (await reader.ReadLineAsync(token) is { } line)
                {
                    if (inData)
                    {
                        if (line == ".")
                        {
                            inData = false;
                            if (fault && _phase == "DOT")
                            {
                                // Postfix never sees the dot: its half-received message is discarded when we close.
                                Interlocked.Increment(ref Faulted);
                                mtaSide.Close();
                                await Act(down, token);
                                if (_kind != FaultKind.Reply) return;
                                await AnswerLocally(reader, down, token);
                                return;
                            }
                        }
                        else if (fault && _phase == "DATA-LINE" && ++dataLines == 2)
                        {
                            Interlocked.Increment(ref Faulted);
                            await Act(down, token);
                            return;
                        }
                        await Send(up, line, token);
                        continue;
                    }
                    var verb = line.Split(' ')[0].ToUpperInvariant();
                    if (verb == "HELO") verb = "EHLO";
                    if (fault && verb == _phase)
                    {
                        Interlocked.Increment(ref Faulted);
                        await Act(down, token);
                        if (_kind != FaultKind.Reply) return;
                        continue;   // the command never reached Postfix, the proxy got our reply instead
                    }
                    await Send(up, line, token);
                    if (verb == "DATA") inData = true;
                    if (verb == "QUIT") break;
                }
                await back.WaitAsync(TimeSpan.FromSeconds(10), token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or TimeoutException)
            {
            }
        }

        private async Task Act(NetworkStream down, CancellationToken token)
        {
            switch (_kind)
            {
                case FaultKind.Reply:
                    await down.WriteAsync(Encoding.ASCII.GetBytes(_reply + "\r\n"), token);
                    break;
                case FaultKind.Hang:
                    // Says nothing until the proxy gives up and closes.
                    try { while (await down.ReadAsync(new byte[512], token) > 0) { } } catch (IOException) { }
                    break;
                case FaultKind.Drop:
                    break;
            }
        }

        /// <summary>After a faked end-of-data reply the upstream is gone: RSET/NOOP get 250, QUIT 221.</summary>
        private static async Task AnswerLocally(StreamReader reader, NetworkStream down, CancellationToken token)
        {
            while (await reader.ReadLineAsync(token) is { } line)
            {
                bool quit = line.StartsWith("QUIT", StringComparison.OrdinalIgnoreCase);
                await down.WriteAsync(Encoding.ASCII.GetBytes(quit ? "221 bye\r\n" : "250 ok\r\n"), token);
                if (quit) return;
            }
        }

        private static Task Send(NetworkStream up, string line, CancellationToken token) =>
            up.WriteAsync(Encoding.Latin1.GetBytes(line + "\r\n"), token).AsTask();

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            try { await _loop; } catch (OperationCanceledException) { }
        }
    }

    /// <summary>What the client saw for one message: the code (and text) of the step that ended it (0: closed without a reply).</summary>
    private sealed record Outcome(string Subject, int Code, string Step, string Text = "", TimeSpan Elapsed = default);

    /// <summary>What a batch message carries besides the defaults: extra header lines and a body of its own.</summary>
    private sealed record MessageParts(string ExtraHeaders = "", string? Body = null, int BodyBytes = 0);

    /// <summary>One message on its own connection; stops at the first reply that is not a go-ahead.</summary>
    private static async Task<Outcome> SendOneAsync(int port, string subject, int bodyBytes = 0) =>
        await SendOneAsync(port, subject, new MessageParts(BodyBytes: bodyBytes));

    private static async Task<Outcome> SendOneAsync(int port, string subject, MessageParts parts)
    {
        string step = "connect";
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await using var client = await TestSmtpClient.ConnectAsync(port);
            var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(60));
            if (reply.Code != 220) return new Outcome(subject, reply.Code, step);
            foreach (var (name, command, expected) in new[]
                     {
                         ("EHLO", "EHLO client.example", 250), ("MAIL", "MAIL FROM:<sender@client.example>", 250),
                         ("RCPT", "RCPT TO:<user@example.com>", 250), ("DATA", "DATA", 354),
                     })
            {
                step = name;
                await client.SendAsync(command + "\r\n");
                reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(60));
                if (reply.Code != expected) return new Outcome(subject, reply.Code, step);
            }
            step = "DOT";
            started.Restart();
            await client.SendAsync($"From: sender@client.example\r\nTo: user@example.com\r\nSubject: {subject}\r\n{parts.ExtraHeaders}\r\n" +
                                   (parts.Body ?? "line one\r\nline two\r\nline three\r\n") + LargeBody(parts.BodyBytes) + ".\r\n");
            reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(60));
            var elapsed = started.Elapsed;
            try { await client.CommandAsync("QUIT"); } catch (IOException) { }
            return new Outcome(subject, reply.Code, step, reply.Text, elapsed);
        }
        catch (IOException)
        {
            return new Outcome(subject, 0, step);
        }
        catch (OperationCanceledException)
        {
            // No reply within a minute: the session hung.
            return new Outcome(subject, 0, step + " (no reply within 60 s)", Elapsed: started.Elapsed);
        }
    }

    private static string LargeBody(int bytes)
    {
        var sb = new StringBuilder(bytes + 1000);
        var line = new string('x', 998) + "\r\n";
        while (sb.Length < bytes) sb.Append(line);
        return sb.ToString();
    }

    /// <summary>Sends the batch, then checks and reports the counts; returns what each client saw.</summary>
    private async Task<List<Outcome>> RunBatchAsync(string fault, int proxyUpstreamPort, Dictionary<string, string>? settings = null,
        DecisionPipeline? pipeline = null, Func<ProxyInstance, Task>? afterStart = null, Func<ProxyInstance, Task>? beforeLast = null,
        bool upstreamFault = true, Func<int, int>? bodyBytes = null, Func<int, MessageParts>? message = null,
        Func<ProxyInstance, int, Task>? beforeEach = null, string? baseDirectory = null, Func<ProxyInstance, Task>? afterBatch = null)
    {
        var values = new Dictionary<string, string> { ["smtpIdleTimeout"] = "3" };
        foreach (var (k, v) in settings ?? []) values[k] = v;
        await using var proxy = await ProxyInstance.StartAsync(proxyUpstreamPort, values, pipeline: pipeline, baseDirectory: baseDirectory);
        if (afterStart is not null) await afterStart(proxy);
        var tag = "fault-" + Guid.NewGuid().ToString("N")[..8];
        var outcomes = new List<Outcome>();
        for (int i = 0; i < MessagesPerFault; i++)
        {
            if (beforeEach is not null) await beforeEach(proxy, i);
            if (i == MessagesPerFault - 1 && beforeLast is not null) await beforeLast(proxy);
            var parts = message?.Invoke(i) ?? new MessageParts();
            if (bodyBytes is not null) parts = parts with { BodyBytes = bodyBytes(i) };
            outcomes.Add(await SendOneAsync(proxy.Port, $"{tag} {fault} #{i}", parts));
        }

        var accepted = outcomes.Where(o => o.Code == 250 && o.Step == "DOT").Select(o => o.Subject).ToHashSet();
        var told4xx = outcomes.Count(o => o.Code is >= 400 and < 500);
        var told5xx = outcomes.Count(o => o.Code >= 500);
        var silent = outcomes.Where(o => o.Code == 0 || (o.Code < 400 && !(o.Code == 250 && o.Step == "DOT"))).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        List<string> delivered;
        while (true)
        {
            delivered = postfix.Mta.GetCapturedMessages().Select(m => SubjectOf(m.Text)).Where(s => s.StartsWith(tag, StringComparison.Ordinal)).ToList();
            if (delivered.Count >= accepted.Count || DateTime.UtcNow > deadline) break;
            await Task.Delay(100);
        }
        // A late extra (a refused message that arrived anyway) would show up now.
        await Task.Delay(500);
        delivered = postfix.Mta.GetCapturedMessages().Select(m => SubjectOf(m.Text)).Where(s => s.StartsWith(tag, StringComparison.Ordinal)).ToList();

        output.WriteLine($"FAULT {fault}: sent {outcomes.Count}, 250 {accepted.Count}, 4xx {told4xx}, 5xx {told5xx}, " +
                         $"no reply {silent.Count}, delivered {delivered.Count}");
        foreach (var o in outcomes) output.WriteLine($"  {o.Subject}: {o.Step} -> {o.Code} {o.Text.Trim()} ({o.Elapsed.TotalSeconds:0.0} s)");
        // What the admin sees (docs/operations.md quotes these).
        foreach (var line in proxy.ReadMaillog().Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)
                     || l.Contains("MTA", StringComparison.Ordinal) || l.Contains("timeout", StringComparison.OrdinalIgnoreCase)
                     || l.Contains("clam", StringComparison.OrdinalIgnoreCase) || l.Contains("DNS", StringComparison.Ordinal)).Distinct().Take(12))
            output.WriteLine("  maillog: " + line.TrimEnd());

        Assert.Empty(silent);
        Assert.Equal(accepted.OrderBy(s => s), delivered.OrderBy(s => s));
        Assert.True(outcomes[^1].Code == 250 && outcomes[^1].Step == "DOT", $"the proxy did not serve again after {fault}: {outcomes[^1]}");
        // An upstream fault must have refused some; a fault of the proxy's own helpers need not refuse anything.
        if (upstreamFault) Assert.True(accepted.Count < outcomes.Count, "the fault was never hit");
        if (afterBatch is not null) await afterBatch(proxy);
        return outcomes;
    }

    private static string SubjectOf(string raw)
    {
        foreach (var line in raw.Replace("\r\n", "\n").Split('\n'))
        {
            if (line.Length == 0) break;
            if (line.StartsWith("Subject: ", StringComparison.OrdinalIgnoreCase)) return line[9..].Trim();
        }
        return "";
    }

    [Theory]
    [InlineData("GREETING", "421 4.3.2 not now")]
    [InlineData("GREETING", "554 5.3.2 no service")]
    [InlineData("EHLO", "421 4.3.2 shutting down")]
    [InlineData("EHLO", "550 5.7.1 go away")]
    [InlineData("MAIL", "451 4.3.0 try later")]
    [InlineData("MAIL", "553 5.1.8 sender refused")]
    [InlineData("RCPT", "450 4.2.0 mailbox busy")]
    [InlineData("RCPT", "550 5.1.1 no such user")]
    [InlineData("DATA", "451 4.3.0 no data now")]
    [InlineData("DATA", "554 5.5.0 no data")]
    [InlineData("DOT", "452 4.3.1 insufficient storage")]
    [InlineData("DOT", "552 5.3.4 message too big")]
    public async Task The_mta_answering_4xx_or_5xx_at_a_phase_loses_nothing(string phase, string reply)
    {
        await using var relay = new FaultRelay(postfix.Mta.Port, phase, FaultKind.Reply, reply);
        await RunBatchAsync($"{phase} {reply[..3]}", relay.Port);
        Assert.True(relay.Faulted > 0);
    }

    [Theory]
    [InlineData("GREETING")]
    [InlineData("RCPT")]
    [InlineData("DATA")]
    [InlineData("DOT")]
    public async Task The_mta_hanging_at_a_phase_is_timed_out_with_a_4xx_and_loses_nothing(string phase)
    {
        await using var relay = new FaultRelay(postfix.Mta.Port, phase, FaultKind.Hang);
        await RunBatchAsync($"hang at {phase}", relay.Port);
        Assert.True(relay.Faulted > 0);
    }

    [Theory]
    [InlineData("MAIL")]
    [InlineData("DATA-LINE")]
    [InlineData("DOT")]
    public async Task The_mta_dropping_the_connection_loses_nothing(string phase)
    {
        await using var relay = new FaultRelay(postfix.Mta.Port, phase, FaultKind.Drop);
        await RunBatchAsync($"drop at {phase}", relay.Port);
        Assert.True(relay.Faulted > 0);
    }

    [Fact]
    public async Task The_mta_refusing_connections_gets_421_and_the_proxy_serves_once_it_is_back()
    {
        // The first five sessions find nothing listening; the MTA comes back for the last.
        int dead = ProxyInstance.FreePort();
        await using var relay = new FaultRelay(postfix.Mta.Port, "none", FaultKind.Reply);
        await RunBatchAsync("refused", dead, beforeLast: proxy =>
        {
            var cfgPath = Path.Combine(proxy.BaseDirectory, "assp.cfg");
            var text = File.ReadAllText(cfgPath).Replace($"127.0.0.1:{dead}", $"127.0.0.1:{relay.Port}");
            File.WriteAllText(cfgPath, text);
            proxy.Config.Reload("test");
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task Silent_dns_servers_cost_time_not_mail()
    {
        using var silent = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var settings = new Dictionary<string, string>
        {
            ["UseLocalDNS"] = "0",
            ["DNSServers"] = $"127.0.0.1:{((IPEndPoint)silent.Client.LocalEndPoint!).Port}",
            ["DNStimeout"] = "1",
            ["DNSretry"] = "0",
            ["RBLServiceProvider"] = "bl.test=>1",
            ["RBLmaxtime"] = "1",
        };
        var startDir = Directory.CreateTempSubdirectory("assp-e2e-fault-dns-").FullName;
        var atStart = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false }
            .Load(new ConfigSource(startDir, Overrides: [.. settings]));
        var pipeline = new DecisionPipeline(new DecisionEngine(NoIpReputation.Instance, NoAddressReputation.Instance), DnsListChecks.FromConfig(atStart));
        await RunBatchAsync("dns silent", postfix.Mta.Port, settings, pipeline, upstreamFault: false);
    }

    [Fact]
    public async Task Clamd_down_costs_no_mail()
    {
        int dead = ProxyInstance.FreePort();
        await RunBatchAsync("clamd down", postfix.Mta.Port, new Dictionary<string, string>
        {
            ["UseAvClamd"] = "1",
            ["AvClamdPort"] = $"127.0.0.1:{dead}",
            ["ClamAVtimeout"] = "2",
        }, new DecisionPipeline(new DecisionEngine(NoIpReputation.Instance, NoAddressReputation.Instance), null,
            CheckCatalog.Discover(CheckServices.None)), upstreamFault: false);
    }

    [Fact]
    public async Task A_read_only_base_folder_costs_no_acknowledged_mail()
    {
        string? mounted = null;
        try
        {
            await RunBatchAsync("base folder read-only", postfix.Mta.Port, afterStart: async proxy =>
            {
                // Root ignores file modes: a read-only bind mount is what really refuses the writes.
                if (await Sh($"mount --bind '{proxy.BaseDirectory}' '{proxy.BaseDirectory}' && mount -o remount,bind,ro '{proxy.BaseDirectory}'") != 0)
                    throw new InvalidOperationException("cannot mount the base folder read-only (needs root and CAP_SYS_ADMIN)");
                mounted = proxy.BaseDirectory;
                Assert.ThrowsAny<Exception>(() => File.WriteAllText(Path.Combine(proxy.BaseDirectory, "probe"), "x"));
            }, beforeLast: async _ =>
            {
                if (mounted is not null && await Sh($"umount '{mounted}'") == 0) mounted = null;
            }, upstreamFault: false, bodyBytes: i => i % 2 == 1 ? 1_500_000 : 0);   // odd ones need the spool
        }
        finally
        {
            if (mounted is not null) await Sh($"umount '{mounted}'");
        }
    }

    private static async Task<int> Sh(string command)
    {
        using var process = System.Diagnostics.Process.Start("/bin/sh", ["-c", command]);
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
