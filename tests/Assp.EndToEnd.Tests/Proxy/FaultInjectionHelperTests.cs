using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Tests.Virus;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The faults of the proxy's own helpers, in the same batches as the upstream faults: name servers that answer
/// late or lie, a clamd that stops answering, and a base folder on a disk that fills up while mail flows.
/// </summary>
public partial class FaultInjectionTests
{
    /// <summary>One DNS question as the responder saw it.</summary>
    public sealed record DnsQuestion(byte[] Raw, string Name, int QuestionEnd);

    /// <summary>
    /// A UDP name server on loopback run by a script: for each query the script returns the packets to send and how
    /// long to wait before each (none: stay silent). Every query is answered on its own task, so a late answer
    /// does not hold up the next query.
    /// </summary>
    private sealed class ScriptedDns : IDisposable
    {
        private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _stop = new();
        private volatile Func<DnsQuestion, IEnumerable<(TimeSpan Delay, byte[] Packet)>> _script;
        public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;
        public int Queries;

        public ScriptedDns(Func<DnsQuestion, IEnumerable<(TimeSpan Delay, byte[] Packet)>> script)
        {
            _script = script;
            _ = Task.Run(Loop);
        }

        public void Become(Func<DnsQuestion, IEnumerable<(TimeSpan Delay, byte[] Packet)>> script) => _script = script;

        private async Task Loop()
        {
            while (!_stop.IsCancellationRequested)
            {
                UdpReceiveResult r;
                try { r = await _udp.ReceiveAsync(_stop.Token); }
                catch (OperationCanceledException) { return; }
                catch (ObjectDisposedException) { return; }
                catch (SocketException) { continue; }   // ICMP from a resolver socket that is already closed
                if (Parse(r.Buffer) is not { } question) continue;
                Interlocked.Increment(ref Queries);
                var script = _script;
                _ = Task.Run(async () =>
                {
                    try
                    {
                        foreach (var (delay, packet) in script(question))
                        {
                            if (delay > TimeSpan.Zero) await Task.Delay(delay, _stop.Token);
                            await _udp.SendAsync(packet, r.RemoteEndPoint, _stop.Token);
                        }
                    }
                    catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                    {
                    }
                });
            }
        }

        private static DnsQuestion? Parse(byte[] q)
        {
            if (q.Length < 17) return null;
            var labels = new List<string>();
            int at = 12;
            while (at < q.Length && q[at] != 0)
            {
                int len = q[at];
                if (len > 63 || at + 1 + len > q.Length) return null;
                labels.Add(Encoding.ASCII.GetString(q, at + 1, len));
                at += len + 1;
            }
            if (at + 5 > q.Length) return null;
            return new DnsQuestion(q, string.Join('.', labels).ToLowerInvariant(), at + 5);
        }

        public void Dispose()
        {
            _stop.Cancel();
            _udp.Dispose();
        }
    }

    /// <summary>DNS packets for the scripts: the question is echoed (or replaced), records follow.</summary>
    private static class Dns
    {
        /// <summary>A compression pointer to the question name.</summary>
        public static readonly byte[] QuestionName = [0xC0, 12];

        public static byte[] Name(string name)
        {
            var bytes = new List<byte>();
            foreach (var label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
            {
                bytes.Add((byte)label.Length);
                bytes.AddRange(Encoding.ASCII.GetBytes(label));
            }
            bytes.Add(0);
            return [.. bytes];
        }

        public static byte[] Response(DnsQuestion q, IReadOnlyList<byte[]>? answers = null, int rcode = 0, ushort? id = null,
            bool truncated = false, byte[]? question = null)
        {
            answers ??= [];
            question ??= q.Raw[12..q.QuestionEnd];
            var p = new byte[12 + question.Length + answers.Sum(a => a.Length)];
            BinaryPrimitives.WriteUInt16BigEndian(p, id ?? BinaryPrimitives.ReadUInt16BigEndian(q.Raw));
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)(0x8180 | (truncated ? 0x0200 : 0) | rcode));
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 1);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), (ushort)answers.Count);
            question.CopyTo(p, 12);
            int at = 12 + question.Length;
            foreach (var a in answers)
            {
                a.CopyTo(p, at);
                at += a.Length;
            }
            return p;
        }

        private static byte[] Record(byte[] owner, ushort type, byte[] data)
        {
            var r = new byte[owner.Length + 10 + data.Length];
            owner.CopyTo(r, 0);
            int at = owner.Length;
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(at), type);
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(at + 2), 1);
            BinaryPrimitives.WriteUInt32BigEndian(r.AsSpan(at + 4), 60);
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(at + 8), (ushort)data.Length);
            data.CopyTo(r, at + 10);
            return r;
        }

        public static byte[] A(byte[] owner, string address) => Record(owner, 1, IPAddress.Parse(address).GetAddressBytes());
        public static byte[] Cname(byte[] owner, string target) => Record(owner, 5, Name(target));

        public static byte[] Listed(DnsQuestion q) => Response(q, [A(QuestionName, "127.0.0.2")]);
        public static byte[] NotListed(DnsQuestion q) => Response(q, rcode: 3);
    }

    private static IEnumerable<(TimeSpan, byte[])> Now(byte[] packet) => [(TimeSpan.Zero, packet)];

    /// <summary>The DNSBL zone of these tests; every other name is answered "no such name" at once.</summary>
    private const string BlZone = "bl.test";

    /// <summary>Message i comes from 203.0.113.(10+i) by its Received line, so its DNSBL question names it.</summary>
    private static string OriginIp(int i) => $"203.0.113.{10 + i}";

    private static MessageParts FromOrigin(int i) => new(
        $"Received: from spam{i}.example (spam{i}.example [{OriginIp(i)}]) by relay.example.net with ESMTP id {i}; Sat, 21 Nov 2026 10:00:00 +0000\r\n");

    /// <summary>The message index a DNSBL question is about, or -1 for any other question.</summary>
    private static int IndexOf(DnsQuestion q) =>
        q.Name.EndsWith(".113.0.203." + BlZone, StringComparison.Ordinal) && int.TryParse(q.Name.Split('.')[0], out var n) ? n - 10 : -1;

    private static (Dictionary<string, string> Settings, DecisionPipeline Pipeline) DnsSetup(ScriptedDns dns, string dnsTimeout, string rblMaxTime,
        string validateRbl = "1")
    {
        var settings = new Dictionary<string, string>
        {
            ["UseLocalDNS"] = "0",
            ["DNSServers"] = $"127.0.0.1:{dns.Port}",
            ["DNStimeout"] = dnsTimeout,
            ["DNSretry"] = "0",
            ["RBLServiceProvider"] = BlZone + "=>1",
            ["RBLmaxtime"] = rblMaxTime,
            ["ValidateRBL"] = validateRbl,
            ["enhancedOriginIPDetect"] = "1",
        };
        // The DNS-list engines start on the configured servers, as DecisionServices builds them at start.
        var startDir = Directory.CreateTempSubdirectory("assp-e2e-fault-dns-").FullName;
        var atStart = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false }
            .Load(new ConfigSource(startDir, Overrides: [.. settings]));
        return (settings, new DecisionPipeline(new DecisionEngine(NoIpReputation.Instance, NoAddressReputation.Instance), DnsListChecks.FromConfig(atStart)));
    }

    /// <summary>
    /// Name servers that answer correctly but late. An answer within DNStimeout and within RBLmaxtime counts (the
    /// even messages are listed and refused with RBLError); one later than DNStimeout, or later than RBLmaxtime when
    /// that is the shorter, counts as "not listed" (the odd messages are delivered).
    /// </summary>
    [Theory]
    // Margins of 1.5 s and more either side, so a loaded machine does not turn one case into the other.
    [InlineData("3", "5", 1500, 5000)]   // beyond DNStimeout
    [InlineData("6", "2", 200, 4000)]    // within DNStimeout, beyond RBLmaxtime
    public async Task Slow_dns_servers_cost_time_and_late_answers_count_as_not_listed(string dnsTimeout, string rblMaxTime, int fastMs, int slowMs)
    {
        using var dns = new ScriptedDns(q => IndexOf(q) is var i and >= 0
            ? [(TimeSpan.FromMilliseconds(i % 2 == 0 ? fastMs : slowMs), Dns.Listed(q))]
            : Now(Dns.NotListed(q)));
        var (settings, pipeline) = DnsSetup(dns, dnsTimeout, rblMaxTime);
        var outcomes = await RunBatchAsync($"dns slow ({fastMs}/{slowMs} ms, DNStimeout {dnsTimeout}, RBLmaxtime {rblMaxTime})", postfix.Mta.Port,
            settings, pipeline, upstreamFault: false, message: FromOrigin);
        for (int i = 0; i < outcomes.Count; i++)
        {
            if (i % 2 == 0)
            {
                Assert.Equal(554, outcomes[i].Code);
                Assert.Contains("DNS Blacklisted by " + BlZone, outcomes[i].Text);
            }
            else Assert.Equal(250, outcomes[i].Code);
        }
    }

    /// <summary>How a lying name server answers the DNSBL questions.</summary>
    public enum DnsLie { ListsEverything, ListsEverythingScored, HugeListing, WrongId, WrongQuestion, CutPackets, Garbage, TruncatedNoTcp, CnameLoop }

    private static IEnumerable<(TimeSpan, byte[])> Lie(DnsLie lie, DnsQuestion q)
    {
        if (!q.Name.EndsWith("." + BlZone, StringComparison.Ordinal)) return Now(Dns.NotListed(q));
        switch (lie)
        {
            case DnsLie.ListsEverything or DnsLie.ListsEverythingScored:
                return Now(Dns.Listed(q));
            case DnsLie.HugeListing:
                // About 48 KB: thousands of A records in one UDP answer.
                return Now(Dns.Response(q, [.. Enumerable.Range(0, 3000).Select(n => Dns.A(Dns.QuestionName, $"127.0.{2 + n / 250}.{n % 250 + 2}"))]));
            case DnsLie.WrongId:
                var id = BinaryPrimitives.ReadUInt16BigEndian(q.Raw);
                return Enumerable.Range(1, 5).Select(n => (TimeSpan.Zero, Dns.Response(q, [Dns.A(Dns.QuestionName, "127.0.0.2")], id: (ushort)(id ^ (n * 0x1111)))));
            case DnsLie.WrongQuestion:
                return Now(Dns.Response(q, [Dns.A(Dns.QuestionName, "127.0.0.2")], question: [.. Dns.Name("99.113.0.203." + BlZone), 0, 1, 0, 1]));
            case DnsLie.CutPackets:
                var whole = Dns.Listed(q);
                return [(TimeSpan.Zero, whole[..5]), (TimeSpan.Zero, whole[..(whole.Length - 3)]), (TimeSpan.Zero, whole[..12])];
            case DnsLie.Garbage:
                var loopAt = q.QuestionEnd;
                var selfPointer = Dns.Response(q, [[(byte)(0xC0 | loopAt >> 8), (byte)loopAt, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 2]]);
                var claimsMore = Dns.Listed(q);
                BinaryPrimitives.WriteUInt16BigEndian(claimsMore.AsSpan(6), 40);   // says 40 answers, carries one
                var noise = new byte[300];
                new Random(q.Name.Length).NextBytes(noise);
                noise[0] = q.Raw[0];
                noise[1] = q.Raw[1];
                return [(TimeSpan.Zero, selfPointer), (TimeSpan.Zero, claimsMore), (TimeSpan.Zero, noise)];
            case DnsLie.TruncatedNoTcp:
                // "Ask again over TCP" where nothing listens on TCP.
                return Now(Dns.Response(q, truncated: true));
            case DnsLie.CnameLoop:
                const string a = "loop-a." + BlZone, b = "loop-b." + BlZone;
                return Now(Dns.Response(q, q.Name == a ? [Dns.Cname(Dns.QuestionName, b), Dns.Cname(Dns.Name(b), a)]
                    : q.Name == b ? [Dns.Cname(Dns.QuestionName, a), Dns.Cname(Dns.Name(a), b)]
                    : [Dns.Cname(Dns.QuestionName, a), Dns.Cname(Dns.Name(a), b), Dns.Cname(Dns.Name(b), a)]));
            default:
                throw new ArgumentOutOfRangeException(nameof(lie));
        }
    }

    /// <summary>
    /// Name servers that lie. A listing (whatever its size) is a listing: RBLError (5xx) in block mode, a score in
    /// scoring mode; a packet that is not a valid answer to the question asked is dropped, so the lookup ends as
    /// "not listed" when DNStimeout runs out. Before the last message the server turns honest: the proxy serves.
    /// </summary>
    [Theory]
    [InlineData(DnsLie.ListsEverything, 5)]
    [InlineData(DnsLie.ListsEverythingScored, 5)]
    [InlineData(DnsLie.HugeListing, 5)]
    [InlineData(DnsLie.WrongId, 0)]
    [InlineData(DnsLie.WrongQuestion, 0)]
    [InlineData(DnsLie.CutPackets, 0)]
    [InlineData(DnsLie.Garbage, 0)]
    [InlineData(DnsLie.TruncatedNoTcp, 0)]
    [InlineData(DnsLie.CnameLoop, 0)]
    public async Task Lying_dns_servers_lose_no_mail_and_only_real_listings_refuse(DnsLie lie, int refused)
    {
        using var dns = new ScriptedDns(q => Lie(lie, q));
        var (settings, pipeline) = DnsSetup(dns, "1", "2", lie == DnsLie.ListsEverythingScored ? "3" : "1");
        var outcomes = await RunBatchAsync($"dns lying: {lie}", postfix.Mta.Port, settings, pipeline, upstreamFault: false, message: FromOrigin,
            beforeLast: _ =>
            {
                dns.Become(q => Now(Dns.NotListed(q)));
                return Task.CompletedTask;
            });
        Assert.True(dns.Queries > 0, "no DNSBL question reached the responder");
        Assert.Equal(refused, outcomes.Count(o => o.Code >= 500));
        // Block mode answers RBLError; in scoring mode the listing adds rblValencePB and the message score reaching
        // the limit answers PenaltyError.
        var reply = lie == DnsLie.ListsEverythingScored ? "Error for IP 127.0.0.1" : "DNS Blacklisted by " + BlZone;
        Assert.All(outcomes.Where(o => o.Code >= 500), o => Assert.Contains(reply, o.Text));
        Assert.DoesNotContain(outcomes, o => o.Code is >= 400 and < 500);
    }

    private static MessageParts WithAttachment(string content) => new(
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n",
        "--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n" +
        "Content-Type: application/octet-stream; name=\"file.dat\"\r\nContent-Disposition: attachment; filename=\"file.dat\"\r\n" +
        $"Content-Transfer-Encoding: base64\r\n\r\n{Convert.ToBase64String(Encoding.ASCII.GetBytes(content), Base64FormattingOptions.InsertLineBreaks)}\r\n--XX--\r\n");

    private static async Task<int> Signal(string signal, ClamdServer clamd)
    {
        var pid = (await File.ReadAllTextAsync(Path.Combine(clamd.Directory, "clamd.pid"))).Trim();
        Assert.Matches(@"^\d+$", pid);
        return await Sh($"kill -{signal} {pid}");
    }

    /// <summary>
    /// A clamd that takes the connection and then says nothing: a real clamd frozen with SIGSTOP (its kernel
    /// backlog still accepts), or a listener that never reads. After ClamAVtimeout the message passes unscanned, as
    /// in ASSP, and the maillog says why; the session goes on. Messages 1 to 4 carry the EICAR test file, which
    /// thus passes. The real clamd is then resumed (SIGCONT) and refuses EICAR again.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_clamd_that_stops_answering_costs_the_timeout_and_no_mail(bool realClamdStopped)
    {
        using var clamd = realClamdStopped ? new ClamdServer() : null;
        using var mute = new TcpListener(IPAddress.Loopback, 0);
        mute.Start();   // never accepts: the kernel completes the handshakes, nobody reads
        var endpoint = clamd is not null ? $"127.0.0.1:{clamd.Port}" : $"127.0.0.1:{((IPEndPoint)mute.LocalEndpoint).Port}";
        bool stopped = false;
        using var store = new MemoryStore();
        try
        {
            var outcomes = await RunBatchAsync(realClamdStopped ? "clamd stopped (SIGSTOP)" : "clamd listener never answers", postfix.Mta.Port,
                new Dictionary<string, string> { ["UseAvClamd"] = "1", ["AvClamdPort"] = endpoint, ["ClamAVtimeout"] = "2" },
                new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store)), null,
                    CheckCatalog.Discover(CheckServices.None)),
                upstreamFault: false,
                message: i => WithAttachment(i is >= 1 and <= 4 ? ClamdServer.Eicar : "nothing bad in here\r\n"),
                beforeEach: async (_, i) =>
                {
                    if (i == 1 && clamd is not null)
                    {
                        Assert.Equal(0, await Signal("STOP", clamd));
                        stopped = true;
                    }
                },
                beforeLast: async _ =>
                {
                    if (clamd is not null)
                    {
                        Assert.Equal(0, await Signal("CONT", clamd));
                        stopped = false;
                    }
                },
                afterBatch: async proxy =>
                {
                    var log = await proxy.WaitForLogAsync($"ClamAV: streamscan failed - {endpoint}: timed out after 2 secs - message passes unscanned");
                    output.WriteLine("  maillog: " + log.Split('\n').First(l => l.Contains("streamscan failed", StringComparison.Ordinal)).TrimEnd());
                    if (clamd is null) return;
                    // Resumed: scanning works again.
                    var infected = await SendOneAsync(proxy.Port, "after SIGCONT", WithAttachment(ClamdServer.Eicar));
                    Assert.Equal(554, infected.Code);
                    Assert.Contains(ClamdServer.EicarName, infected.Text);
                });
            // The wait is ClamAVtimeout, not a hang (the client's own limit is 60 s).
            Assert.All(outcomes, o => Assert.True(o.Elapsed < TimeSpan.FromSeconds(30), $"{o.Subject} waited {o.Elapsed}"));
            Assert.All(outcomes, o => Assert.Equal(250, o.Code));
        }
        finally
        {
            if (stopped && clamd is not null) await Signal("CONT", clamd);
        }
    }

    /// <summary>
    /// The base folder on a small tmpfs that is filled to the last byte while mail flows: small messages (held in
    /// memory) are still relayed, large ones (spooled to BASE/tmp) are answered 451 so their senders retry; what
    /// cannot be written beside the mail (collection, maillog) is missed, not fatal. Once space is freed the proxy
    /// spools, collects and logs again.
    /// </summary>
    [Fact]
    public async Task A_full_disk_costs_no_acknowledged_mail_and_the_proxy_recovers_when_space_is_freed()
    {
        var mountPoint = Directory.CreateTempSubdirectory("assp-e2e-diskfull-").FullName;
        if (await Sh($"mount -t tmpfs -o size=24m assp-e2e-diskfull '{mountPoint}'") != 0)
            throw new InvalidOperationException("cannot mount a tmpfs (needs root and CAP_SYS_ADMIN)");
        var filler = Path.Combine(mountPoint, "filler");
        using var store = new MemoryStore();
        int logLengthWhenFreed = 0, collectedWhenFreed = 0;
        var sameSession = "same-session-" + Guid.NewGuid().ToString("N")[..8];
        static int Collected(ProxyInstance proxy) =>
            Directory.Exists(Path.Combine(proxy.BaseDirectory, "okmail")) ? Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "okmail")).Length : 0;
        try
        {
            await RunBatchAsync("disk full (3 large messages, the last after space is freed)", postfix.Mta.Port, new Dictionary<string, string>
                {
                    ["baysNonSpamLog"] = "4",
                    ["fileLogging"] = "1",
                },
                new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store))),
                afterStart: async proxy =>
                {
                    var end = DateTime.UtcNow + TimeSpan.FromSeconds(10);
                    while (!File.Exists(Path.Combine(proxy.BaseDirectory, "logs", "maillog.txt")) && DateTime.UtcNow < end) await Task.Delay(50);
                },
                beforeEach: async (proxy, i) =>
                {
                    if (i == MessagesPerFault - 1) return;
                    // Full again before every message: a refused spool file gives its space back when it is deleted.
                    await Task.Delay(200);
                    FillUp(filler);
                    Assert.ThrowsAny<IOException>(() => File.WriteAllBytes(Path.Combine(mountPoint, "probe"), new byte[8192]));
                    // Message 3 nearly fits: the space runs out at the last few KB of the spooled message.
                    if (i == 3)
                    {
                        using var f = new FileStream(filler, FileMode.Open, FileAccess.Write);
                        f.SetLength(Math.Max(0, f.Length - (LargeMessageBytes - 2048)));
                    }
                    // tmpfs hands out whole pages: the maillog's last page would still take the next lines. A line
                    // longer than a page makes the maillog writer itself meet the full disk.
                    proxy.Log.Write("disk full test: " + new string('-', 5000));
                    await Task.Delay(200);
                },
                beforeLast: async proxy =>
                {
                    // A client that goes on in the same session after the 451: the next (small) message is relayed.
                    await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
                    {
                        await client.ReadReplyAsync();
                        var large = await client.SendMailAsync("sender@client.example", ["user@example.com"],
                            $"Subject: {sameSession} large\r\n\r\n{LargeBody(LargeMessageBytes)}");
                        Assert.Equal(451, large.Code);
                        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
                        var small = await client.SendMailAsync("sender@client.example", ["user@example.com"], $"Subject: {sameSession} small\r\n\r\nhello\r\n", ehlo: false);
                        Assert.Equal(250, small.Code);
                    }
                    File.Delete(filler);
                    await Task.Delay(200);   // lets the maillog writer settle, so the length below is the state before the last message
                    logLengthWhenFreed = proxy.ReadMaillog().Length;
                    collectedWhenFreed = Collected(proxy);
                },
                afterBatch: async proxy =>
                {
                    // Logging and collecting work again for the message sent after the space was freed.
                    var end = DateTime.UtcNow + TimeSpan.FromSeconds(20);
                    while (DateTime.UtcNow < end && (proxy.ReadMaillog().Length <= logLengthWhenFreed || Collected(proxy) <= collectedWhenFreed))
                        await Task.Delay(100);
                    output.WriteLine("  whole maillog (padding left out):\n" + string.Join('\n', proxy.ReadMaillog().Split('\n').Where(l => l.Trim().Length > 0)));
                    Assert.True(proxy.ReadMaillog().Length > logLengthWhenFreed, "the maillog was not written after the space was freed");
                    // The lines lost while the disk was full are counted in the log.
                    Assert.Matches(@"\[Main_Thread\] error: \d+ maillog line\(s\) could not be written: No space left on device", proxy.ReadMaillog());
                    Assert.True(Collected(proxy) > collectedWhenFreed, "nothing was collected after the space was freed");
                    var sameSessionDelivered = (await postfix.Mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)))
                        .Select(m => m.Text).Where(t => t.Contains(sameSession, StringComparison.Ordinal)).ToList();
                    Assert.Single(sameSessionDelivered);
                    Assert.Contains(sameSession + " small", sameSessionDelivered[0]);
                },
                upstreamFault: false, bodyBytes: i => i % 2 == 1 ? LargeMessageBytes : 0, baseDirectory: mountPoint);
        }
        finally
        {
            await Sh($"umount -l '{mountPoint}'");
            try { Directory.Delete(mountPoint, true); } catch (IOException) { }
        }
    }

    /// <summary>Larger than the 1 MiB a session holds in memory: spooled to BASE/tmp.</summary>
    private const int LargeMessageBytes = 1_500_000;

    /// <summary>Writes until the file system refuses another byte.</summary>
    private static void FillUp(string path)
    {
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);
        foreach (var size in new[] { 1 << 20, 1 << 16, 4096, 512, 1 })
        {
            var block = new byte[size];
            try
            {
                while (true) file.Write(block);
            }
            catch (IOException)
            {
            }
        }
    }
}
