using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Logging;
using Assp.Config.Registry;
using Assp.Fuzzing;
using Assp.Smtp.Protocol;
using FsCheck.Fluent;

namespace Assp.Smtp.Tests;

/// <summary>
/// Hostile input for the SMTP side: the path parser, the reply parser and the line reader on mutated real command
/// lines and random bytes, and whole sessions of generated commands against the running proxy. The documented
/// outcomes are a null with a reason (paths, replies), a line status (reader) and an SMTP reply (session); an
/// exception, or the proxy's "internal error" reply, is a finding.
/// </summary>
public class ProtocolFuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string[] RealCommands =
    [
        "EHLO client.example", "HELO [192.0.2.1]", "MAIL FROM:<sender@client.example> SIZE=1024 BODY=8BITMIME",
        "MAIL FROM:<>", "MAIL FROM:sender@client.example", "RCPT TO:<user@example.com>", "RCPT TO:<@relay.example,@b.example:user@example.com>",
        "RCPT TO:<\"odd > name\"@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@example.com", "RCPT TO:<user%victim.example@example.com>",
        "DATA", "BDAT 10 LAST", "RSET", "NOOP", "VRFY user", "EXPN list", "HELP", "AUTH PLAIN AHVzZXIAcGFzcw==", "AUTH LOGIN", "STARTTLS",
        "XCLIENT ADDR=192.0.2.1", "QUIT",
    ];

    private static readonly byte[][] Seeds = RealCommands.Select(c => Encoding.ASCII.GetBytes(c + "\r\n")).ToArray();
    private static readonly byte[] Interesting = "<>@:,;\"\\%!= \t\r\n\0\xFF.-"u8.ToArray();

    [Fact]
    public void Mail_and_rcpt_paths_parse_or_give_a_reason()
    {
        var runs = FuzzRun.For(FuzzRun.Mutations(Seeds, Interesting), data =>
        {
            var line = Encoding.Latin1.GetString(data).TrimEnd('\r', '\n');
            int space = line.IndexOf(' ');
            var argument = space < 0 ? "" : line[(space + 1)..];
            foreach (var keyword in new[] { "FROM", "TO" })
            {
                var path = SmtpPath.Parse(argument, keyword, out var error);
                if (path is null)
                {
                    Assert.False(string.IsNullOrEmpty(error));
                    continue;
                }
                _ = path.LocalPart;
                _ = path.Domain;
                _ = path.HasRoutingLocalPart;
                _ = path.IsNull;
            }
        });
        output.WriteLine($"{runs} inputs in {FuzzRun.Budget.TotalSeconds:0} s");
        Assert.True(runs > 0);
    }

    [Fact]
    public void Configured_replies_parse_or_are_null()
    {
        var seeds = new[] { "554 5.7.1 go away", "550 5.1.1 <user> unknown\\r\\n550 second line", "421 $myName closing", "250 OK" }
            .Select(Encoding.UTF8.GetBytes).ToArray();
        var runs = FuzzRun.For(FuzzRun.Mutations(seeds, Interesting), data =>
        {
            var reply = SmtpReply.ParseConfigured(Encoding.Latin1.GetString(data));
            if (reply is null) return;
            Assert.InRange(reply.Code, 200, 599);
            Assert.EndsWith("\r\n", reply.ToWire());
        });
        output.WriteLine($"{runs} inputs in {FuzzRun.Budget.TotalSeconds:0} s");
        Assert.True(runs > 0);
    }

    /// <summary>A stream that hands out its bytes in chunks of the given sizes (network reads are split anywhere).</summary>
    private sealed class ChunkedStream(byte[] data, int[] chunks) : Stream
    {
        private int _pos, _chunk;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_pos >= data.Length) return 0;
            int size = Math.Max(1, chunks.Length == 0 ? count : chunks[_chunk++ % chunks.Length]);
            int n = Math.Min(Math.Min(size, count), data.Length - _pos);
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public void The_line_reader_ends_every_input_with_lines_and_one_end_of_stream()
    {
        var session = Seeds.SelectMany(s => s).ToArray();
        var gen = FsCheck.Fluent.Gen.Zip(FuzzRun.Mutations([session, .. Seeds], Interesting), FsCheck.Fluent.Gen.Choose(1, 700).ArrayOf());
        var runs = FuzzRun.For(gen, t =>
        {
            var (data, chunks) = t;
            using var reader = new SmtpLineReader(new ChunkedStream(data, chunks), 64);
            int consumed = 0, reads = 0;
            while (true)
            {
                var line = reader.ReadLineAsync(100, allowPartial: false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                Assert.True(++reads <= data.Length + 2, "the reader does not make progress");
                if (line.Status == LineStatus.EndOfStream) break;
                Assert.True(line.Bytes.Length <= 100 + 2 || line.Status == LineStatus.TooLong);
                consumed += line.Bytes.Length;
            }
        });
        output.WriteLine($"{runs} inputs in {FuzzRun.Budget.TotalSeconds:0} s");
        Assert.True(runs > 0);
    }

    /// <summary>An MTA that says yes to everything (the session fuzz is about the proxy, not the MTA).</summary>
    private sealed class YesMta : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public YesMta()
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    TcpClient c;
                    try { c = await _listener.AcceptTcpClientAsync(_stop.Token); }
                    catch (OperationCanceledException) { return; }
                    _ = Task.Run(() => Serve(c));
                }
            });
        }

        private async Task Serve(TcpClient client)
        {
            using var _ = client;
            try
            {
                var s = client.GetStream();
                var reader = new StreamReader(s, Encoding.Latin1);
                async Task Say(string text) => await s.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"), _stop.Token);
                await Say("220 yes.test ESMTP");
                bool data = false;
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    if (data)
                    {
                        if (line == ".") { data = false; await Say("250 queued"); }
                        continue;
                    }
                    var verb = line.Split(' ')[0].ToUpperInvariant();
                    if (verb == "EHLO") await Say("250-yes.test\r\n250-PIPELINING\r\n250 8BITMIME");
                    else if (verb == "DATA") { data = true; await Say("354 go"); }
                    else if (verb == "QUIT") { await Say("221 bye"); return; }
                    else await Say("250 ok");
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            try { await _loop; } catch (OperationCanceledException) { }
        }
    }

    /// <summary>A proxy in front of a <see cref="YesMta"/> on a free loopback port, with its last log lines kept for
    /// failure messages (a session that ends without a word says why only there).</summary>
    private sealed class TestProxy : IAsyncDisposable
    {
        private readonly string _baseDir = Path.Combine(Path.GetTempPath(), "assp-smtp-fuzz-" + Guid.NewGuid().ToString("N"));
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();
        private readonly MailLog _log;
        public ConfigManager Config { get; }
        public SmtpProxyServer Server { get; }
        public int Port { get; }

        public TestProxy(int mtaPort, IReadOnlyDictionary<string, string> options)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var values = new Dictionary<string, string>(options)
            {
                ["listenPort"] = $"127.0.0.1:{Port}",
                ["smtpDestination"] = $"127.0.0.1:{mtaPort}",
                ["myName"] = "proxy.test",
            };
            BaseFolder.Initialize(_baseDir, OptionRegistry.Default, values);
            Config = new ConfigManager(new ConfigLoader(OptionRegistry.Default), new ConfigSource(_baseDir));
            _log = new MailLog(() => Config.Current) { LineObserver = (line, _) => { _lines.Enqueue(line); while (_lines.Count > 60) _lines.TryDequeue(out string? _); } };
            Server = new SmtpProxyServer(() => Config.Current, _log);
            Assert.Empty(Server.Start());
        }

        public string LastLines() => string.Join("\n", _lines);

        public async ValueTask DisposeAsync()
        {
            await Server.StopAsync(TimeSpan.FromSeconds(2));
            await Server.DisposeAsync();
            await _log.DisposeAsync();
            Config.Dispose();
            try { Directory.Delete(_baseDir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Sessions_of_hostile_commands_get_replies_never_an_internal_error_and_the_proxy_keeps_serving()
    {
        await using var mta = new YesMta();
        await using var proxy = new TestProxy(mta.Port, new Dictionary<string, string>
        {
            ["localDomains"] = "example.com",
            ["maxSMTPipSessions"] = "0",
            ["DoDamping"] = "0",
            ["MaxErrors"] = "1000",
            ["smtpIdleTimeout"] = "5",
            // The fuzz sessions write without waiting for the greeting; etValencePB would drop them as early talkers.
            ["etValencePB"] = "0",
            // The stand-in MTA answers 250 to AUTH, which counts as a failed login; the fuzz sessions must not reach
            // the MaxAUTHErrors block, which refuses the whole network at connect (CI saw that as an empty session).
            ["MaxAUTHErrors"] = "0",
        });
        // Whole lines from the real commands, mutated; a session is a list of them.
        var session = FuzzRun.Mutations(Seeds, Interesting).ArrayOf().Select(lines => lines.Take(12).ToArray());
        var runs = FuzzRun.For(session, lines => RunSession(proxy.Port, lines, proxy.LastLines).GetAwaiter().GetResult());
        output.WriteLine($"{runs} inputs in {FuzzRun.Budget.TotalSeconds:0} s");
        Assert.True(runs > 0);
        // Still serving a well-behaved client.
        Assert.Contains("250", await RunSession(proxy.Port, [Encoding.ASCII.GetBytes("EHLO ok.example\r\n")], proxy.LastLines));
    }

    [Fact]
    public async Task A_refusal_at_connect_reaches_a_client_that_already_pipelined_a_lot()
    {
        await using var mta = new YesMta();
        await using var proxy = new TestProxy(mta.Port, new Dictionary<string, string>());
        // Switched on at run time, the listener stays open and turns every new connection away.
        Assert.Empty(proxy.Config.SetValues([new("DisableSMTPNetworking", "1")]));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, proxy.Port);
        var stream = tcp.GetStream();
        // The proxy closes with this input unread, so the kernel answers it with a reset; the 421 sent before
        // must still be readable.
        var junk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("NOOP pipelined before the greeting\r\n", 2000)));
        try { await stream.WriteAsync(junk); } catch (IOException) { }
        await Task.Delay(500);
        var said = new StringBuilder();
        var buffer = new byte[4096];
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, guard.Token)) > 0) said.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        catch (IOException e)
        {
            Assert.Fail($"the connection was reset before the refusal was read ({e.Message}); read so far: '{said}'");
        }
        Assert.StartsWith("421 proxy.test Service not available", said.ToString());
    }

    /// <summary>Sends the lines (each ended with CRLF unless it has a line end), then QUIT; returns everything the proxy said.</summary>
    private static async Task<string> RunSession(int port, byte[][] lines, Func<string> proxyLog)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        var said = new StringBuilder();
        var buffer = new byte[65536];
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reading = Task.Run(async () =>
        {
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer, guard.Token)) > 0) lock (said) said.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
        });
        try
        {
            foreach (var line in lines)
            {
                var bytes = line.Length > 0 && line[^1] == '\n' ? line : [.. line, (byte)'\r', (byte)'\n'];
                await stream.WriteAsync(bytes, guard.Token);
            }
            await stream.WriteAsync("\r\n.\r\nQUIT\r\n"u8.ToArray(), guard.Token);
        }
        catch (IOException)
        {
            // The proxy may close on its own (QUIT inside the lines, too many errors): fine.
        }
        await reading.WaitAsync(TimeSpan.FromSeconds(90));
        var text = said.ToString();
        Assert.False(guard.IsCancellationRequested, $"the session did not end:\n{text}\nthe proxy's last lines:\n{proxyLog()}");
        Assert.DoesNotContain("internal error", text);
        Assert.True(text.StartsWith("220", StringComparison.Ordinal), $"no greeting; the client read '{text}'; the proxy's last lines:\n{proxyLog()}");
        return text;
    }
}
