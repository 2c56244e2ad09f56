using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Virus;

/// <summary>EmailVirusReportsTo / EmailVirusReportsHeader / EmailVirusReportsToRCPT, with a scanner that finds a
/// virus in every mail and a mailer that keeps what it was given.</summary>
public class VirusReportTests
{
    private const string Mail = "From: a@sender.example\nTo: u@local.test\nMessage-ID: <7@sender.example>\nSubject: invoice\nX-Trace: abc\n\nbody\n";

    private sealed class CapturingMailer
    {
        public List<(string From, IReadOnlyList<string> To, string Message)> Sent { get; } = [];
        public Task<string?> SendAsync(ConfigSnapshot cfg, string from, IReadOnlyList<string> to, byte[] message, CancellationToken ct)
        {
            Sent.Add((from, to, Encoding.UTF8.GetString(message)));
            return Task.FromResult<string?>(null);
        }
    }

    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("DoFileScan", "1"), ("FileScanDir", Path.Combine(Path.GetTempPath(), "assp-vr-" + Guid.NewGuid().ToString("N")[..8])),
            ("FileScanCMD", "echo FILENAME: infected by Test.Report.Virus"), ("FileScanBad", "infected"), ("FileScanRespRe", @"(?<=by )\S+"),
            ("EmailFrom", "assp@local.test"), .. values]);

    private static async Task<(CapturingMailer Mailer, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string from = "a@sender.example",
        string[]? rcpts = null, Action<FakeMailContext>? setup = null, string message = Mail)
    {
        var mailer = new CapturingMailer();
        var services = new CheckServices(Mailer: mailer.SendAsync);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(services), services);
        var ctx = new FakeMailContext(cfg);
        setup?.Invoke(ctx);
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, from, rcpts ?? ["u@local.test", "w@local.test"], message);
        Assert.True(verdict.Refuses);
        return (mailer, ctx);
    }

    [Fact]
    public async Task TheAdminsGetAReportWithTheMessageFacts()
    {
        var (mailer, ctx) = await Run(Cfg(("EmailVirusReportsTo", "admin@local.test|IN:USER-alert@DOMAIN|OUT:outbound@local.test")));
        var report = Assert.Single(mailer.Sent);
        Assert.Equal("assp@local.test", report.From);
        Assert.Equal(["admin@local.test", "u-alert@local.test", "w-alert@local.test"], report.To);
        Assert.Contains("Subject: virus detected by ASSP: Test.Report.Virus", report.Message);
        Assert.Contains("Message-ID: 7@sender.example", report.Message);
        Assert.Contains("Remote IP: 203.0.113.9", report.Message);
        Assert.Contains("Subject: invoice", report.Message);
        Assert.Contains("Sender: a@sender.example", report.Message);
        Assert.Contains("Recipient: u@local.test, w@local.test", report.Message);
        Assert.Contains("Virus: Test.Report.Virus", report.Message);
        Assert.DoesNotContain("X-Trace", report.Message);
        Assert.Contains(ctx.LogLines, l => l.Contains("virus report (EmailVirusReportsTo) sent to admin@local.test"));
    }

    [Fact]
    public async Task OutgoingMailUsesTheSenderForUserAndDomainAndTheHeaderCanBeAdded()
    {
        var (mailer, _) = await Run(Cfg(("EmailVirusReportsTo", "IN:in@local.test|OUT:USER@DOMAIN"), ("ScanLocal", "1"), ("EmailVirusReportsHeader", "1")),
            from: "boss@local.test", rcpts: ["x@far.example"], setup: c => c.IsAuthenticated = true);
        var report = Assert.Single(mailer.Sent);
        Assert.Equal(["boss@local.test"], report.To);
        Assert.Contains("Full header:", report.Message);
        Assert.Contains("X-Trace: abc", report.Message);
    }

    [Fact]
    public async Task RecipientsGetACopyInAnyCaseOrForHamOnly()
    {
        Assert.Empty((await Run(Cfg())).Mailer.Sent);
        var (always, _) = await Run(Cfg(("EmailVirusReportsToRCPT", "1")));
        var copy = Assert.Single(always.Sent);
        Assert.Equal(["u@local.test", "w@local.test"], copy.To);
        Assert.Contains("Virus: Test.Report.Virus", copy.Message);
        // Ham only: a mail already found to be spam before the scan gets no copy.
        Assert.Single((await Run(Cfg(("EmailVirusReportsToRCPT", "2")))).Mailer.Sent);
        var withExe = "From: a@sender.example\nTo: u@local.test\nSubject: tool\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
                      + "--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/octet-stream; name=tool.exe\n\nxx\n--b--\n";
        // The attachment check (in test mode: scored, not refused) finds spam before the virus scan runs.
        var spam = await Run(Cfg(("EmailVirusReportsToRCPT", "2"), ("DoBlockExes", "1"), ("BlockExes", "1"), ("attachTestMode", "1")), message: withExe);
        Assert.True(spam.Ctx.State.SpamFound);
        Assert.Empty(spam.Mailer.Sent);
    }

    [Fact]
    public void AddressesFollowTheDirection()
    {
        Assert.Equal(["a@x.test", "in-u@local.test"],
            Assp.Checks.Checks.VirusReports.AdminAddresses("a@x.test|IN:in-USER@DOMAIN|OUT:out@x.test", false, "s@far.example", ["u@local.test"]));
        Assert.Equal(["a@x.test", "out@x.test"],
            Assp.Checks.Checks.VirusReports.AdminAddresses("a@x.test|IN:in-USER@DOMAIN|OUT:out@x.test", true, "s@far.example", ["u@local.test"]));
    }
}
