using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Checks.Virus;
using Assp.Config;

namespace Assp.Checks.Tests.Virus;

/// <summary>The clamd client and UseAvClamd against a real private clamd (one per test class).</summary>
public class ClamAvTests(ClamdServer clamd) : IClassFixture<ClamdServer>
{
    private const string Rcpt = "u@local.test";
    private const string CleanMail = "From: a@sender.example\nTo: u@local.test\nMessage-ID: <1@sender.example>\nSubject: hi\n\nnothing to see\n";

    private static string MailWith(string body) =>
        $"From: a@sender.example\nTo: u@local.test\nMessage-ID: <2@sender.example>\nSubject: test\n\n{body}\n";

    private static string MailWithAttachment(string content) =>
        "From: a@sender.example\nTo: u@local.test\nMessage-ID: <3@sender.example>\nSubject: files\nMIME-Version: 1.0\n"
        + "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\nsee attached\n--XX\n"
        + "Content-Type: application/octet-stream; name=\"test.com\"\nContent-Disposition: attachment; filename=\"test.com\"\n"
        + $"Content-Transfer-Encoding: base64\n\n{Convert.ToBase64String(Encoding.ASCII.GetBytes(content))}\n--XX--\n";

    private ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("UseAvClamd", "1"), ("AvClamdPort", clamd.SocketPath), ("ScanLog", "2"), .. values]);

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string message,
        string from = "a@sender.example", Action<FakeMailContext>? setup = null)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg);
        setup?.Invoke(ctx);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, from, [Rcpt], message);
        return (verdict, phase, ctx);
    }

    // ---- the client ----

    [Fact]
    public async Task ClientFindsEicarOverTheUnixSocketAndTcp()
    {
        foreach (var port in new[] { clamd.SocketPath, clamd.Port.ToString(), "127.0.0.1:" + clamd.Port })
        {
            var client = new ClamdClient(ClamdEndpoint.ParseList(port), TimeSpan.FromSeconds(30));
            var infected = await client.ScanAsync(Encoding.ASCII.GetBytes("hello " + ClamdServer.Eicar + " bye"), default);
            Assert.Equal(ClamdStatus.Infected, infected.Status);
            Assert.StartsWith(ClamdServer.EicarName, infected.Virus);
            var clean = await client.ScanAsync(Encoding.ASCII.GetBytes("hello world"), default);
            Assert.Equal(ClamdStatus.Clean, clean.Status);
            Assert.Equal(ClamdStatus.Clean, (await client.PingAsync(default)).Status);
        }
    }

    [Fact]
    public async Task ClientSendsBigDataInChunks()
    {
        // Several chunks, the signature in a later one and across a chunk border.
        var data = new byte[ClamdClient.ChunkSize * 3];
        Array.Fill(data, (byte)'a');
        var eicar = Encoding.ASCII.GetBytes(ClamdServer.Eicar);
        eicar.CopyTo(data, ClamdClient.ChunkSize * 2 - 10);
        var client = new ClamdClient(ClamdEndpoint.ParseList(clamd.SocketPath), TimeSpan.FromSeconds(30));
        Assert.Equal(ClamdStatus.Infected, (await client.ScanAsync(data, default)).Status);
    }

    [Fact]
    public async Task ClientFailsOverToTheNextDaemonRoundRobin()
    {
        var dead = Path.Combine(clamd.Directory, "nobody-listens.sock");
        var client = new ClamdClient(ClamdEndpoint.ParseList($"{dead}|127.0.0.1:{clamd.Port}|{clamd.SocketPath}"), TimeSpan.FromSeconds(30));
        var used = new HashSet<string>();
        for (int i = 0; i < 6; i++)
        {
            var r = await client.ScanAsync(Encoding.ASCII.GetBytes(ClamdServer.Eicar), default);
            Assert.Equal(ClamdStatus.Infected, r.Status);
            used.Add(r.Endpoint!.ToString());
        }
        Assert.Equal(2, used.Count);
        Assert.DoesNotContain(dead, used);
    }

    [Fact]
    public async Task ClientReportsUnavailableAndTimesOut()
    {
        var none = new ClamdClient(ClamdEndpoint.ParseList(Path.Combine(clamd.Directory, "missing.sock") + "|127.0.0.1:1"), TimeSpan.FromSeconds(5));
        var r = await none.ScanAsync(Encoding.ASCII.GetBytes("x"), default);
        Assert.Equal(ClamdStatus.Unavailable, r.Status);
        Assert.Contains("missing.sock", r.Detail);

        // A listener that accepts and never answers: the timeout ends the scan.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var accept = silent.AcceptSocketAsync();
        var slow = new ClamdClient(ClamdEndpoint.ParseList("127.0.0.1:" + port), TimeSpan.FromSeconds(1));
        var t = await slow.ScanAsync(Encoding.ASCII.GetBytes("x"), default);
        Assert.Equal(ClamdStatus.Unavailable, t.Status);
        Assert.Contains("timed out", t.Detail);
        (await accept).Dispose();
    }

    [Fact]
    public async Task ClientReportsClamdErrorsSuchAsTheSizeLimit()
    {
        var data = new byte[3 * 1024 * 1024]; // over StreamMaxLength 2M
        var client = new ClamdClient(ClamdEndpoint.ParseList(clamd.SocketPath), TimeSpan.FromSeconds(30));
        var r = await client.ScanAsync(data, default);
        Assert.Equal(ClamdStatus.Error, r.Status);
        Assert.Contains("size limit", r.Detail);
    }

    [Theory]
    [InlineData("localhost:abc")]
    [InlineData("99999")]
    [InlineData(":3310")]
    public void BadAvClamdPortIsAClearError(string value)
    {
        var ex = Assert.Throws<FormatException>(() => ClamdEndpoint.ParseList(value));
        Assert.Contains("AvClamdPort", ex.Message);
    }

    [Fact]
    public void ReplyParsing()
    {
        Assert.Equal((ClamdStatus.Clean, null, "stream: OK"), ClamdClient.Interpret("stream: OK"));
        Assert.Equal(ClamdStatus.Infected, ClamdClient.Interpret("stream: Win.Test.EICAR_HDB-1 FOUND").Item1);
        Assert.Equal("Win.Test.EICAR_HDB-1", ClamdClient.Interpret("stream: Win.Test.EICAR_HDB-1 FOUND").Item2);
        Assert.Equal(ClamdStatus.Error, ClamdClient.Interpret("INSTREAM size limit exceeded. ERROR").Item1);
        Assert.Equal(ClamdStatus.Error, ClamdClient.Interpret("").Item1);
    }

    // ---- UseAvClamd in the pipeline ----

    [Fact]
    public async Task EicarMailIsRefusedWithAvError()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), MailWithAttachment(ClamdServer.Eicar));
        Assert.Equal("DataBody", phase);
        Assert.StartsWith($"554 5.7.1 Mail appears infected with [{ClamdServer.EicarName}", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("ClamAV: scanned") && l.Contains("FOUND"));
        Assert.Contains(ctx.State.Scores, s => s.Check == "vdValencePB" && s.MessageScore == 50);
        Assert.Contains(ctx.State.Reports, r => r.Check == "UseAvClamd" && r.Outcome == "block");
    }

    [Fact]
    public async Task CleanMailPassesAndOffMeansOff()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), CleanMail);
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("ClamAV: scanned") && l.Contains("stream: OK"));
        Assert.Equal("delivered", (await Run(Cfg(("UseAvClamd", "0")), MailWith(ClamdServer.Eicar))).Phase);
    }

    [Fact]
    public async Task SuspiciousVirusIsOnlyScored()
    {
        var cfg = Cfg(("SuspiciousVirus", @"Heuristics\.=>1.4"), ("vsValencePB", "25"));
        var (verdict, phase, ctx) = await Run(cfg, MailWith(ClamdServer.SuspiciousPattern));
        Assert.True(phase == "delivered", string.Join("\n", ctx.LogLines));
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "vsValencePB" && s.MessageScore == 35 && s.IpScore == 0);
        Assert.Contains(ctx.LogLines, l => l.Contains("passing the virus check because of only suspicious virus 'Heuristics.'"));
        // Without SuspiciousVirus the same finding blocks.
        Assert.True((await Run(Cfg(), MailWith(ClamdServer.SuspiciousPattern))).Verdict.Refuses);
    }

    [Fact]
    public async Task ScopeSwitchesAndExemptions()
    {
        var virus = MailWith(ClamdServer.Eicar);
        // Whitelisted mail is scanned by default (ScanWL), not without it.
        Assert.True((await Run(Cfg(("whiteListedDomains", "sender.example")), virus)).Verdict.Refuses);
        Assert.Equal("delivered", (await Run(Cfg(("whiteListedDomains", "sender.example"), ("ScanWL", "0")), virus)).Phase);
        // Noprocessing mail only with ScanNP.
        Assert.Equal("delivered", (await Run(Cfg(("noProcessing", "a@sender.example")), virus)).Phase);
        Assert.True((await Run(Cfg(("noProcessing", "a@sender.example"), ("ScanNP", "1")), virus)).Verdict.Refuses);
        // Local (authenticated) mail only with ScanLocal.
        Assert.Equal("delivered", (await Run(Cfg(), virus, setup: c => c.IsAuthenticated = true)).Phase);
        Assert.True((await Run(Cfg(("ScanLocal", "1")), virus, setup: c => c.IsAuthenticated = true)).Verdict.Refuses);
        // noScan, noScanIP, NoScanRe.
        Assert.Equal("delivered", (await Run(Cfg(("noScan", "@sender.example")), virus)).Phase);
        Assert.Equal("delivered", (await Run(Cfg(("noScan", Rcpt)), virus)).Phase);
        Assert.Equal("delivered", (await Run(Cfg(("noScanIP", "203.0.113.0/24")), virus)).Phase);
        Assert.Equal("delivered", (await Run(Cfg(("NoScanRe", "Subject: test")), virus)).Phase);
    }

    [Fact]
    public async Task NoClamdReachableMeansTheMailPasses()
    {
        var cfg = Cfg(("AvClamdPort", Path.Combine(clamd.Directory, "gone.sock")));
        var (verdict, phase, ctx) = await Run(cfg, MailWith(ClamdServer.Eicar));
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("ClamAV: streamscan failed") && l.Contains("passes unscanned"));
    }

    [Fact]
    public async Task OnlyClamAvBytesOfTheBodyAreScanned()
    {
        var body = new string('x', 2000) + "\n" + ClamdServer.Eicar;
        Assert.Equal("delivered", (await Run(Cfg(("ClamAVBytes", "500")), MailWith(body))).Phase);
        Assert.True((await Run(Cfg(("ClamAVBytes", "60000")), MailWith(body))).Verdict.Refuses);
    }
}
