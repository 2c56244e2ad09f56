using System.Text;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.Tests.Virus;

/// <summary>ASSP_AFC with viruses (ASSP_AFCSelect, ASSP_AFCReplViriParts/Text) against a real private clamd and a real scanner script.</summary>
public class AfcVirusPartTests(ClamdServer clamd) : IClassFixture<ClamdServer>
{
    private const string Rcpt = "u@local.test";
    private static readonly string EicarB64 = Convert.ToBase64String(Encoding.ASCII.GetBytes(ClamdServer.Eicar));

    /// <summary>A text part, a large harmless attachment, then the given attachment (base64).</summary>
    private static string Mail(string name, byte[] content, int paddingBytes = 0) =>
        "From: a@sender.example\nTo: u@local.test\nMessage-ID: <7@sender.example>\nSubject: files\nMIME-Version: 1.0\n"
        + "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\nsee attached\n--XX\n"
        + (paddingBytes > 0
            ? "Content-Type: application/octet-stream; name=\"big.bin\"\nContent-Disposition: attachment; filename=\"big.bin\"\n"
              + $"Content-Transfer-Encoding: base64\n\n{Convert.ToBase64String(new byte[paddingBytes], Base64FormattingOptions.InsertLineBreaks)}\n--XX\n"
            : "")
        + $"Content-Type: application/octet-stream; name=\"{name}\"\nContent-Disposition: attachment; filename=\"{name}\"\n"
        + $"Content-Transfer-Encoding: base64\n\n{Convert.ToBase64String(content, Base64FormattingOptions.InsertLineBreaks)}\n--XX--\n";

    private static readonly byte[] EicarBytes = Encoding.ASCII.GetBytes(ClamdServer.Eicar);

    private ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("UseAvClamd", "1"), ("AvClamdPort", clamd.SocketPath), ("ScanLog", "2"),
            ("ClamAVBytes", "2000"), .. values]);

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string message)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", [Rcpt], message);
        return (verdict, phase, ctx);
    }

    private static string Delivered(FakeMailContext ctx) => Encoding.Latin1.GetString(Assert.IsType<byte[]>(ctx.State.ReplacementMessage));

    [Fact]
    public async Task With_ASSP_AFCReplViriParts_the_infected_attachment_is_replaced_and_the_mail_delivered()
    {
        var (verdict, phase, ctx) = await Run(Cfg(("DoASSP_AFC", "1"), ("ASSP_AFCReplViriParts", "1")), Mail("eicar.com", EicarBytes));
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        var text = Delivered(ctx);
        Assert.Contains($"There was a virus ({ClamdServer.EicarName}", text);
        Assert.Contains("(attachment eicar.com) by ASSP!", text);
        Assert.DoesNotContain(EicarB64[..40], text);
        var parsed = MimeParser.Parse(Encoding.Latin1.GetBytes(text));
        Assert.Equal("see attached", parsed.TextParts.First().GetText()!.Trim());
        Assert.Contains(ctx.LogLines, l => l.Contains("the part was replaced by a text (ASSP_AFCReplViriParts)"));
    }

    [Fact]
    public async Task The_replacement_text_and_a_part_without_a_name()
    {
        const string body = "From: a@sender.example\nTo: u@local.test\nMessage-ID: <8@sender.example>\nSubject: t\nMIME-Version: 1.0\n"
            + "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\nhello\n--XX\nContent-Type: text/plain\n\n"
            + ClamdServer.Eicar + "\n--XX--\n";
        var (_, phase, ctx) = await Run(Cfg(("DoASSP_AFC", "1"), ("ASSP_AFCReplViriParts", "1"),
            ("ASSP_AFCReplViriPartsText", "removed VIRUS from FILENAME")), body);
        Assert.Equal("delivered", phase);
        var text = Delivered(ctx);
        Assert.Contains($"removed {ClamdServer.EicarName}", text);
        Assert.Contains("from MIME-TEXT.eml", text);
        Assert.Contains("hello", text);
        Assert.DoesNotContain(ClamdServer.Eicar, text);
    }

    [Fact]
    public async Task A_virus_in_an_attached_mail_replaces_the_whole_attached_mail()
    {
        var inner = "From: b@x.example\nSubject: inner\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"YY\"\n\n--YY\n"
            + "Content-Type: text/plain\n\ninner text\n--YY\nContent-Type: application/octet-stream; name=\"v.com\"\n"
            + $"Content-Transfer-Encoding: base64\n\n{EicarB64}\n--YY--\n";
        var mail = "From: a@sender.example\nTo: u@local.test\nMessage-ID: <9@sender.example>\nSubject: fwd\nMIME-Version: 1.0\n"
            + "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\nforwarded\n--XX\n"
            + "Content-Type: message/rfc822\n\n" + inner + "\n--XX--\n";
        var (_, phase, ctx) = await Run(Cfg(("DoASSP_AFC", "1"), ("ASSP_AFCReplViriParts", "1")), mail);
        Assert.Equal("delivered", phase);
        var text = Delivered(ctx);
        Assert.Contains("forwarded", text);
        Assert.DoesNotContain("inner text", text);
        Assert.Contains("(attachment v.com)", text);
    }

    [Fact]
    public async Task A_virus_in_the_header_leaves_the_header_and_the_text()
    {
        var mail = $"From: a@sender.example\nTo: u@local.test\nMessage-ID: <10@sender.example>\nSubject: t\nX-Note: {ClamdServer.Eicar}\n"
            + "MIME-Version: 1.0\nContent-Type: text/html\n\n<p>body</p>\n";
        var (_, phase, ctx) = await Run(Cfg(("DoASSP_AFC", "1"), ("ASSP_AFCReplViriParts", "1")), mail);
        Assert.Equal("delivered", phase);
        var parsed = MimeParser.Parse(Assert.IsType<byte[]>(ctx.State.ReplacementMessage));
        Assert.Equal("text/plain", parsed.Root.MimeType);
        Assert.Equal("t", parsed.Subject);
        Assert.Contains("(attachment MIME-TEXT.eml)", parsed.Root.GetText());
        Assert.True((await Run(Cfg(("DoASSP_AFC", "1")), mail)).Verdict.Refuses);
    }

    [Theory]
    [InlineData("0", false)]   // plugin off: only the start of the mail (ClamAVBytes) is scanned
    [InlineData("1", false)]   // attachments only: virus scanning as without the plugin
    [InlineData("2", true)]    // ClamAV and FileScan: every part, whole
    [InlineData("3", true)]    // both
    public async Task ASSP_AFCSelect_decides_whether_the_scanners_see_the_whole_mail(string select, bool found)
    {
        // The EICAR attachment comes after 6000 bytes of padding, beyond ClamAVBytes (2000).
        var cfg = Cfg(("DoASSP_AFC", select == "0" ? "0" : "1"), ("ASSP_AFCSelect", select == "0" ? "3" : select));
        var (verdict, _, _) = await Run(cfg, Mail("eicar.com", EicarBytes, paddingBytes: 6000));
        Assert.Equal(found, verdict.Refuses);
        if (found) Assert.Contains($"Mail appears infected with [{ClamdServer.EicarName}", verdict.Reply);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("2", false)]
    [InlineData("3", true)]
    public async Task ASSP_AFCSelect_decides_whether_bad_attachments_are_replaced(string select, bool replaced)
    {
        var cfg = Cfg(("UseAvClamd", "0"), ("DoBlockExes", "1"), ("BlockExes", "1"), ("DoASSP_AFC", "1"), ("ASSP_AFCSelect", select),
            ("ASSP_AFCReplBadAttach", "1"));
        var (verdict, _, ctx) = await Run(cfg, Mail("run.exe", Encoding.ASCII.GetBytes("MZ harmless")));
        Assert.Equal(!replaced, verdict.Refuses);
        Assert.Equal(replaced, ctx.State.ReplacementMessage is not null);
    }

    [Fact]
    public async Task FileScan_sees_every_part_and_its_bad_part_is_replaced()
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-afc-filescan-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var script = Path.Combine(dir, "scan.sh");
        File.WriteAllText(script, "#!/bin/sh\nif grep -q THE-BAD-THING \"$1\"; then echo \"$1: infected by Test.Bad.Thing\"; else echo \"$1: OK\"; fi\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var cfg = Cfg(("UseAvClamd", "0"), ("DoFileScan", "1"), ("FileScanCMD", $"/bin/sh {script} FILENAME"), ("FileScanDir", dir),
                ("FileScanBad", "infected"), ("FileScanRespRe", @"Test\.Bad\.\w+"), ("DoASSP_AFC", "1"), ("ASSP_AFCReplViriParts", "1"));
            var (verdict, phase, ctx) = await Run(cfg, Mail("bad.doc", Encoding.ASCII.GetBytes("here is THE-BAD-THING inside"), paddingBytes: 6000));
            Assert.Equal("delivered", phase);
            Assert.False(verdict.Refuses);
            var text = Delivered(ctx);
            Assert.Contains("There was a virus (Test.Bad.Thing) removed from this email (attachment bad.doc) by ASSP!", text);
            Assert.Contains("filename=\"big.bin\"", text);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
