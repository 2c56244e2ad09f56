using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.Checks;
using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Registry;

namespace Assp.Smtp.Tests;

/// <summary>
/// The proxy between a test client and a scripted MTA that records exactly what it receives: DATA (dot-stuffed,
/// after 354) when the MTA does not offer CHUNKING, one "BDAT size LAST" when it does, and what the client is
/// told when the MTA refuses or fails.
/// </summary>
public partial class DeliveryTests
{
    private const string Message = "From: a@client.example\r\nSubject: hello\r\nX-Assp-Spam: forged\r\n\tcontinued\r\n\r\n"
                                   + "line one\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast\r\n";

    [Fact]
    public async Task Without_chunking_the_message_goes_after_data_dot_stuffed_with_our_headers()
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port);
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.SendMessageAsync(Message)).Code);
        var got = Assert.Single(mta.Transfers);
        Assert.Equal("DATA", got.Command);
        Assert.EndsWith("\r\n.\r\n", got.Raw);
        var stored = Unstuff(got.Raw[..^3]);
        AssertForwarded(stored);
        Assert.Contains("\r\n..starts with a dot\r\n...two dots\r\n..\r\n", got.Raw);
    }

    [Fact]
    public async Task With_chunking_the_message_goes_in_one_bdat_of_the_exact_size_not_dot_stuffed()
    {
        await using var mta = new ScriptedMta(chunking: true);
        await using var proxy = await Proxy.StartAsync(mta.Port);
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        var reply = await client.SendMessageAsync(Message);
        Assert.Equal(250, reply.Code);
        Assert.Contains("queued as BDAT1", reply.Text);
        var got = Assert.Single(mta.Transfers);
        Assert.Equal($"BDAT {Encoding.UTF8.GetByteCount(got.Raw)} LAST", got.Command);
        AssertForwarded(got.Raw);
        Assert.Equal(0, mta.PipelinedBytesAfterBdat);
    }

    [Fact]
    public async Task A_refused_bdat_reaches_the_client_and_the_mta_transaction_is_reset()
    {
        await using var mta = new ScriptedMta(chunking: true) { FinalReply = "554 5.7.1 refused by policy" };
        await using var proxy = await Proxy.StartAsync(mta.Port);
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        var reply = await client.SendMessageAsync(Message);
        Assert.Equal(554, reply.Code);
        Assert.Contains("refused by policy", reply.Text);
        Assert.Equal("RSET", mta.Commands.SkipWhile(c => !c.StartsWith("BDAT", StringComparison.Ordinal)).Skip(1).First());
        mta.FinalReply = null;
        Assert.Equal(250, (await client.SendMessageAsync(Message)).Code);
        Assert.Equal(2, mta.Transfers.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_mta_that_closes_before_its_final_answer_gets_the_client_a_451(bool chunking)
    {
        await using var mta = new ScriptedMta(chunking) { CloseInsteadOfFinalReply = true };
        await using var proxy = await Proxy.StartAsync(mta.Port);
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(451, (await client.SendMessageAsync(Message)).Code);
    }

    [Fact]
    public async Task A_message_on_disk_is_streamed_after_data_even_when_chunking_is_offered()
    {
        await using var mta = new ScriptedMta(chunking: true);
        await using var proxy = await Proxy.StartAsync(mta.Port, ("maxSize", "0"), ("maxSizeExternal", "0"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        var big = Message + string.Concat(Enumerable.Range(0, 30_000).Select(i => $".{i} {new string('x', 40)}\r\n"));
        Assert.Equal(250, (await client.SendMessageAsync(big)).Code);
        var got = Assert.Single(mta.Transfers);
        Assert.Equal("DATA", got.Command);
        Assert.Equal(Unstuff(got.Raw[..^3])[^(big.Length - Message.Length)..], big[Message.Length..]);
    }

    [Fact]
    public async Task Idle_clients_are_cut_off_while_waiting_for_a_command_and_inside_data()
    {
        await using var mta = new ScriptedMta(chunking: true);
        // 2 s rather than 1: the MTA's replies are waited for as long, and a loaded machine may take a second.
        await using var proxy = await Proxy.StartAsync(mta.Port, ("smtpIdleTimeout", "2"));
        await using (var idle = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example"))
        {
            // Busy for longer than the limit in total, but never idle that long.
            for (int i = 0; i < 6; i++)
            {
                await Task.Delay(500);
                Assert.Equal(250, (await idle.CommandAsync("NOOP")).Code);
            }
            Assert.Equal(451, (await idle.ReadReplyAsync()).Code);
        }
        await using var half = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await half.CommandAsync("MAIL FROM:<a@client.example>")).Code);
        Assert.Equal(250, (await half.CommandAsync("RCPT TO:<user@example.com>")).Code);
        Assert.Equal(354, (await half.CommandAsync("DATA")).Code);
        await half.SendRawAsync("Subject: half\r\n\r\nand then nothing");
        await Assert.ThrowsAsync<IOException>(() => half.ReadReplyAsync());
        Assert.Empty(mta.Transfers);
    }

    [Fact]
    public async Task A_whitelisted_session_may_stay_idle_for_NpWlTimeOut()
    {
        await using var mta = new ScriptedMta(chunking: true);
        await using var proxy = await Proxy.StartAsync(mta.Port, null, null, new WhitelistingPipeline(),
            ("smtpIdleTimeout", "1"), ("NpWlTimeOut", "6"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        // Well past smtpIdleTimeout: a session that is not whitelisted is cut off by now (the test above). The MTA's
        // replies are waited for as long, so a slow MTA on a loaded machine is no 421 either.
        await Task.Delay(2500);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal(250, (await client.SendMessageAsync(Message)).Code);
        // NpWlTimeOut still ends an idle session in the end.
        Assert.Equal(451, (await client.ReadReplyAsync()).Code);
    }

    /// <summary>A pipeline that whitelists every client IP (as whiteListedIPs would) and passes everything.</summary>
    private sealed class WhitelistingPipeline : ICheckPipeline
    {
        public ValueTask<Verdict> RunAsync(SmtpPhase phase, IMailContext context, CancellationToken cancellationToken)
        {
            if (phase == SmtpPhase.Connect) context.CheckState.IpWhitelisted = "test";
            if (phase == SmtpPhase.MailFrom) context.CheckState.NewMessage();
            return ValueTask.FromResult(Verdict.Pass);
        }
    }

    [Fact]
    public async Task The_received_line_names_the_client_by_its_ptr_when_the_lookup_has_answered()
    {
        await using var mta = new ScriptedMta(chunking: true);
        IPAddress? asked = null;
        await using var proxy = await Proxy.StartAsync(mta.Port, (ip, _) =>
        {
            asked = ip;
            return Task.FromResult<string?>("mail.client.example");
        });
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.SendMessageAsync(Message)).Code);
        Assert.Equal(IPAddress.Loopback, asked);
        Assert.StartsWith("Received: from mail.client.example ([127.0.0.1] helo=client.example)\r\n\tby proxy.test with ESMTP",
            Assert.Single(mta.Transfers).Raw);
    }

    [Fact]
    public async Task A_ptr_lookup_that_has_not_answered_is_not_waited_for()
    {
        await using var mta = new ScriptedMta(chunking: true);
        var never = new TaskCompletionSource<string?>();
        await using var proxy = await Proxy.StartAsync(mta.Port, (_, _) => never.Task);
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.SendMessageAsync(Message)).Code);
        AssertForwarded(Assert.Single(mta.Transfers).Raw);
    }

    /// <summary>Our Received line first, the client's X-Assp header gone, ours at the end of the header, the body as sent.</summary>
    private static void AssertForwarded(string stored)
    {
        Assert.StartsWith("Received: from unknown ([127.0.0.1] helo=client.example)\r\n\tby proxy.test with ESMTP", stored);
        Assert.DoesNotContain("forged", stored);
        Assert.DoesNotContain("\tcontinued", stored);
        int headerEnd = stored.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.Contains("\r\nX-Assp-ID: proxy.test ", stored[..headerEnd]);
        Assert.EndsWith("\r\nFrom: a@client.example\r\nSubject: hello\r\n" + stored[(stored.IndexOf("X-Assp-ID", StringComparison.Ordinal))..headerEnd] + "\r\n\r\n"
                        + "line one\r\n.starts with a dot\r\n..two dots\r\n.\r\nlast\r\n", stored);
    }

    private static string Unstuff(string wire) => string.Join("\r\n", wire.Split("\r\n").Select(l => l.StartsWith('.') ? l[1..] : l));

    [Fact]
    public async Task A_client_over_maxSMTPipSessions_is_refused_and_scored_with_iplValencePB()
    {
        var scored = new System.Collections.Concurrent.ConcurrentQueue<(IPAddress Ip, string Valence, string Reason)>();
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, null, (_, ip, valence, reason) => scored.Enqueue((ip, valence, reason)),
            ("maxSMTPipSessions", "1"));
        await using var first = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Empty(scored);

        using var second = new TcpClient();
        await second.ConnectAsync(IPAddress.Loopback, proxy.Port);
        using var reader = new StreamReader(second.GetStream(), Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var refusal = await reader.ReadLineAsync(timeout.Token);
        Assert.StartsWith("421 proxy.test too many sessions from 127.0.0.1 (1)", refusal);
        Assert.Null(await reader.ReadLineAsync(timeout.Token));   // closed after the refusal
        var hit = Assert.Single(scored);
        Assert.Equal((IPAddress.Loopback, "iplValencePB", "LimitingIP"), hit);
    }

    [Fact]
    public async Task An_ip_in_the_PopB4SMTPFile_may_relay_and_others_may_not()
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-popb4-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var allowed = Path.Combine(dir, "popip.db");
            PopBeforeSmtpTests.WriteBerkeleyHash(allowed, ("127.0.0.1", "1763800000"));
            var other = Path.Combine(dir, "other.db");
            PopBeforeSmtpTests.WriteBerkeleyHash(other, ("198.51.100.7", "1763800000"));
            await using var mta = new ScriptedMta(chunking: false);
            foreach (var (file, expected) in new[] { (allowed, 250), (other, 530), ("", 530) })
            {
                await using var proxy = await Proxy.StartAsync(mta.Port, ("PopB4SMTPFile", file));
                await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
                Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
                Assert.Equal(expected, (await client.CommandAsync("RCPT TO:<someone@remote.example>")).Code);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>SmtpProxyServer on a free loopback port in front of the MTA, with a fresh base folder.</summary>
    private sealed class Proxy : IAsyncDisposable
    {
        private readonly string _base;
        private readonly ConfigManager _config;
        private readonly SmtpProxyServer _server;
        public int Port { get; }

        private Proxy(string baseDir, ConfigManager config, SmtpProxyServer server, int port, Assp.Config.Logging.MailLog? log = null)
        {
            _base = baseDir;
            _config = config;
            _server = server;
            Port = port;
            _log = log;
        }

        private readonly Assp.Config.Logging.MailLog? _log;
        public string BaseDirectory => _base;

        /// <summary>A base folder with the test defaults plus <paramref name="settings"/>, a free port, and its configuration.</summary>
        private static (string BaseDir, int Port, ConfigManager Config) Prepare(int mtaPort, (string Name, string Value)[] settings)
        {
            var baseDir = Path.Combine(Path.GetTempPath(), "assp-smtp-test-" + Guid.NewGuid().ToString("N"));
            int port = FreePort();
            var values = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["listenPort"] = $"127.0.0.1:{port}",
                ["smtpDestination"] = $"127.0.0.1:{mtaPort}",
                ["localDomains"] = "example.com",
                ["myName"] = "proxy.test",
                ["DoTLS"] = "0",
                ["maxSMTPipSessions"] = "0",
            };
            foreach (var (name, value) in settings) values[name] = value;
            BaseFolder.Initialize(baseDir, OptionRegistry.Default, values);
            return (baseDir, port, new ConfigManager(new ConfigLoader(OptionRegistry.Default), new ConfigSource(baseDir)));
        }

        /// <summary>A proxy that writes its maillog (logs/maillog.txt), for the logging tests.</summary>
        public static Task<Proxy> StartWithLogAsync(int mtaPort, params (string Name, string Value)[] settings) => StartWithLogAsync(mtaPort, null, settings);

        public static Task<Proxy> StartWithLogAsync(int mtaPort, ICheckPipeline? pipeline, params (string Name, string Value)[] settings)
        {
            var (baseDir, port, config) = Prepare(mtaPort, settings);
            var log = new Assp.Config.Logging.MailLog(() => config.Current);
            var server = new SmtpProxyServer(() => config.Current, log, pipeline);
            Assert.Empty(server.Start());
            return Task.FromResult(new Proxy(baseDir, config, server, port, log));
        }

        /// <summary>Stops the proxy and returns its whole maillog (sessions end first, so every line is written).</summary>
        public async Task<string> StopAndReadLogAsync()
        {
            await _server.StopAsync(TimeSpan.FromSeconds(5));
            if (_log is not null) await _log.DisposeAsync();
            var path = Path.Combine(_base, "logs", "maillog.txt");
            return File.Exists(path) ? await File.ReadAllTextAsync(path) : "";
        }

        public static Task<Proxy> StartAsync(int mtaPort, params (string Name, string Value)[] settings) => StartAsync(mtaPort, null, settings);

        public static Task<Proxy> StartAsync(int mtaPort, Func<IPAddress, CancellationToken, Task<string?>>? reverseLookup,
            params (string Name, string Value)[] settings) => StartAsync(mtaPort, reverseLookup, null, settings);

        public static Task<Proxy> StartAsync(int mtaPort, Func<IPAddress, CancellationToken, Task<string?>>? reverseLookup,
            Action<ConfigSnapshot, IPAddress, string, string>? ipPenalty, params (string Name, string Value)[] settings) =>
            StartAsync(mtaPort, reverseLookup, ipPenalty, null, settings);

        public static Task<Proxy> StartAsync(int mtaPort, Func<IPAddress, CancellationToken, Task<string?>>? reverseLookup,
            Action<ConfigSnapshot, IPAddress, string, string>? ipPenalty, ICheckPipeline? pipeline, params (string Name, string Value)[] settings)
        {
            var (baseDir, port, config) = Prepare(mtaPort, settings);
            var server = new SmtpProxyServer(() => config.Current, null, pipeline) { ReverseLookup = reverseLookup, IpPenalty = ipPenalty };
            var problems = server.Start();
            Assert.Empty(problems);
            return Task.FromResult(new Proxy(baseDir, config, server, port));
        }

        public async ValueTask DisposeAsync()
        {
            await _server.StopAsync(TimeSpan.FromSeconds(2));
            await _server.DisposeAsync();
            _config.Dispose();
            try { Directory.Delete(_base, true); } catch (IOException) { }
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>An MTA that records commands and message data byte for byte.</summary>
    private sealed class ScriptedMta : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly bool _chunking;
        private int _queued;

        public ScriptedMta(bool chunking)
        {
            _chunking = chunking;
            _listener.Start();
            _loop = Task.Run(AcceptLoop);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public string? FinalReply { get; set; }
        public bool CloseInsteadOfFinalReply { get; init; }
        /// <summary>How long the MTA waits before its greeting (the proxy greets its client only after it).</summary>
        public TimeSpan GreetingDelay { get; init; }
        /// <summary>When set, the MTA offers AUTH PLAIN and accepts exactly this initial response.</summary>
        public string? AuthPlain { get; init; }
        public List<string> Commands { get; } = [];
        public List<(string Command, string Raw)> Transfers { get; } = [];
        public int PipelinedBytesAfterBdat { get; private set; }

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient c;
                try { c = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (OperationCanceledException) { return; }
                _ = Task.Run(() => Serve(c));
            }
        }

        private async Task Serve(TcpClient client)
        {
            using (client)
            {
                var s = client.GetStream();
                var input = new List<byte>();
                var buf = new byte[65536];
                async Task<bool> Fill()
                {
                    int n = await s.ReadAsync(buf, _stop.Token);
                    input.AddRange(buf.AsSpan(0, n).ToArray());
                    return n > 0;
                }
                async Task<string?> Line()
                {
                    while (true)
                    {
                        int lf = input.IndexOf((byte)'\n');
                        if (lf >= 0)
                        {
                            var line = Encoding.Latin1.GetString(input.GetRange(0, lf + 1).ToArray()).TrimEnd('\r', '\n');
                            input.RemoveRange(0, lf + 1);
                            return line;
                        }
                        if (!await Fill()) return null;
                    }
                }
                Task Say(string text) => s.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"), _stop.Token).AsTask();
                async Task<bool> Finish(string command, string raw)
                {
                    if (CloseInsteadOfFinalReply) return false;
                    lock (Transfers) Transfers.Add((command, raw));
                    await Say(FinalReply ?? $"250 2.0.0 Ok: queued as {(command == "DATA" ? "DATA" : "BDAT")}{Interlocked.Increment(ref _queued)}");
                    return true;
                }
                try
                {
                    if (GreetingDelay > TimeSpan.Zero) await Task.Delay(GreetingDelay, _stop.Token);
                    await Say("220 mta.test ESMTP");
                    while (await Line() is { } line)
                    {
                        lock (Commands) Commands.Add(line);
                        var verb = line.Split(' ')[0].ToUpperInvariant();
                        if (verb == "EHLO") await Say("250-mta.test\r\n250-PIPELINING\r\n" + (_chunking ? "250-CHUNKING\r\n" : "")
                            + (AuthPlain is null ? "" : "250-AUTH PLAIN\r\n") + "250 8BITMIME");
                        else if (line == "AUTH PLAIN" && AuthPlain is not null)
                        {
                            // PLAIN without an initial response: the credentials come after a 334; "*" cancels.
                            await Say("334 ");
                            var answer = await Line();
                            lock (Commands) Commands.Add(answer ?? "");
                            await Say(answer == "*" ? "501 5.0.0 AUTH aborted" : answer == AuthPlain ? "235 2.7.0 ok" : "535 5.7.8 bad credentials");
                        }
                        else if (verb == "AUTH") await Say(AuthPlain is not null && line == "AUTH PLAIN " + AuthPlain ? "235 2.7.0 ok" : "535 5.7.8 bad credentials");
                        else if (verb == "DATA")
                        {
                            await Say("354 go ahead");
                            var raw = new StringBuilder();
                            while (await Line() is { } l)
                            {
                                raw.Append(l).Append("\r\n");
                                if (l == ".") break;
                            }
                            if (!await Finish(line, raw.ToString())) return;
                        }
                        else if (verb == "BDAT")
                        {
                            int size = int.Parse(line.Split(' ')[1]);
                            while (input.Count < size) if (!await Fill()) return;
                            var raw = Encoding.Latin1.GetString(input.GetRange(0, size).ToArray());
                            input.RemoveRange(0, size);
                            PipelinedBytesAfterBdat = input.Count;
                            if (!await Finish(line, raw)) return;
                        }
                        else if (verb == "QUIT")
                        {
                            await Say("221 bye");
                            return;
                        }
                        else await Say("250 2.0.0 ok");
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException) { }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            try { await _loop; } catch (OperationCanceledException) { }
        }
    }
}
