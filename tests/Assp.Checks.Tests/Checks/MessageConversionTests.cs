using System.Buffers.Binary;
using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.Tests.Checks;

/// <summary>inChrSetConv/outChrSetConv, doInFixTNEF/doOutFixTNEF and their exclusions through the real pipeline, and the
/// attachment check looking into winmail.dat.</summary>
public class MessageConversionTests
{
    private const string Utf8Mail = "From: a@sender.example\nTo: u@local.test\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\nMIME-Version: 1.0\n"
        + "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\nGrüße und 5 €\n";

    private static ConfigSnapshot Cfg(params (string, string)[] values) => TestConfig.Create([("localDomains", "local.test"), .. values]);

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string message, Action<FakeMailContext>? setup = null)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg);
        setup?.Invoke(ctx);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["u@local.test"], message);
        return (verdict, phase, ctx);
    }

    private static MimeMessage Forwarded(FakeMailContext ctx) => MimeParser.Parse(ctx.State.ReplacementMessage ?? throw new InvalidOperationException("not converted"));

    [Fact]
    public async Task Incoming_mail_is_converted_by_inChrSetConv()
    {
        var (_, phase, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1"), ("outChrSetConv", "UTF-8=>ISO-8859-2")), Utf8Mail);
        Assert.Equal("delivered", phase);
        var msg = Forwarded(ctx);
        Assert.Equal("ISO-8859-1", msg.Root.Charset);
        Assert.Equal(ContentEncoding.QuotedPrintable, msg.Root.ContentTransferEncoding);
        Assert.Equal(Encoding.Latin1.GetBytes("Grüße und 5 ?\r\n"), msg.Root.GetContentBytes().ToArray());
        Assert.Equal("Grüße", msg.Subject);
        Assert.Contains(ctx.LogLines, l => l == "character set conversion: from UTF-8 to ISO-8859-1 in MIME part 1");
        Assert.Contains(ctx.LogLines, l => l.StartsWith("info: MIME/TNEF conversion successful (incoming mail", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Relayed_mail_follows_outChrSetConv_only()
    {
        var (_, _, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1")), Utf8Mail, c => c.IsAuthenticated = true);
        Assert.Null(ctx.State.ReplacementMessage);
        (_, _, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1"), ("outChrSetConv", "UTF-8=>ISO-8859-2")), Utf8Mail, c => c.IsAuthenticated = true);
        Assert.Equal("ISO-8859-2", Forwarded(ctx).Root.Charset);
    }

    [Fact]
    public async Task Noprocessing_mail_is_converted_only_with_convertNP()
    {
        var np = ("noProcessingIPs", "203.0.113.9");
        var (_, _, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1"), np, ("ConvLog", "2")), Utf8Mail);
        Assert.Null(ctx.State.ReplacementMessage);
        Assert.Contains(ctx.LogLines, l => l.Contains("convertNP is off", StringComparison.Ordinal));
        (_, _, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1"), np, ("convertNP", "1")), Utf8Mail);
        Assert.Equal("ISO-8859-1", Forwarded(ctx).Root.Charset);
    }

    [Fact]
    public async Task Dkim_signed_mail_is_converted_only_with_doDKIMConv()
    {
        var signed = "DKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=s; h=from; bh=x; b=y\n" + Utf8Mail;
        var (_, _, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1")), signed);
        Assert.Null(ctx.State.ReplacementMessage);
        (_, _, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1"), ("doDKIMConv", "1")), signed);
        Assert.Equal("ISO-8859-1", Forwarded(ctx).Root.Charset);
    }

    [Fact]
    public async Task Smime_signed_and_too_large_mail_stays_as_it_is()
    {
        var signed = "From: a@sender.example\nTo: u@local.test\nMIME-Version: 1.0\n"
            + "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"S\"\n\n"
            + "--S\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\nGrüße\n"
            + "--S\nContent-Type: application/pkcs7-signature; name=smime.p7s\nContent-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n--S--\n";
        var (_, _, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1")), signed);
        Assert.Null(ctx.State.ReplacementMessage);
        var big = Utf8Mail + string.Concat(Enumerable.Repeat(new string('x', 70) + "\n", 16_000));
        (_, _, ctx) = await Run(Cfg(("inChrSetConv", "UTF-8=>ISO-8859-1"), ("neverQueueSize", "1000000")), big);
        Assert.Null(ctx.State.ReplacementMessage);
        Assert.Contains(ctx.LogLines, l => l.Contains("neverQueueSize 1000000", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Winmail_dat_becomes_mime_parts_with_doInFixTNEF()
    {
        var pdf = Encoding.ASCII.GetBytes("%PDF-1.4\nreport\n%%EOF\n");
        var mail = TnefSample.TnefMail(TnefSample.Tnef(("report.pdf", pdf)));
        var (_, _, ctx) = await Run(Cfg(("doInFixTNEF", "1"), ("TNEFDEBUG", "1")), mail);
        var parts = Forwarded(ctx).Root.Children;
        Assert.Equal(["text/plain", "application/ms-tnef", "text/plain", "application/pdf"], parts.Select(p => p.MimeType));
        Assert.Equal("Please see the files.\r\n", parts[2].GetText());
        Assert.Equal(pdf, parts[3].GetContentBytes().ToArray());
        Assert.Contains(ctx.LogLines, l => l.StartsWith("debug: TNEF: message class IPM.Microsoft Mail.Note", StringComparison.Ordinal));

        // keepInTNEF off: the winmail.dat goes; relayed mail needs doOutFixTNEF.
        (_, _, ctx) = await Run(Cfg(("doInFixTNEF", "1"), ("keepInTNEF", "0")), mail);
        Assert.DoesNotContain(Forwarded(ctx).Entities, e => e.MimeType == "application/ms-tnef");
        (_, _, ctx) = await Run(Cfg(("doInFixTNEF", "1")), mail, c => c.IsAuthenticated = true);
        Assert.Null(ctx.State.ReplacementMessage);
        (_, _, ctx) = await Run(Cfg(("doOutFixTNEF", "1")), mail, c => c.IsAuthenticated = true);
        Assert.Equal(4, Forwarded(ctx).Root.Children.Count);
        // Attached as application/octet-stream (not by Exchange): left alone.
        (_, _, ctx) = await Run(Cfg(("doInFixTNEF", "1")), TnefSample.TnefMail(TnefSample.Tnef(("report.pdf", pdf)), "application/octet-stream"));
        Assert.Null(ctx.State.ReplacementMessage);
    }

    [Fact]
    public async Task The_attachment_check_sees_the_files_inside_a_winmail_dat()
    {
        var exe = new byte[0x200];
        exe[0] = (byte)'M'; exe[1] = (byte)'Z';
        var blocking = new[] { ("DoBlockExes", "1"), ("BlockExes", "1") };
        // Even as an octet-stream, a file called winmail.dat is looked into (as ASSP_AFC does).
        foreach (var type in new[] { "application/ms-tnef", "application/octet-stream" })
        {
            var (verdict, phase, ctx) = await Run(Cfg(blocking), TnefSample.TnefMail(TnefSample.Tnef(("notes.txt", "hi"u8.ToArray()), ("invoice.pdf.exe", exe)), type));
            Assert.True(verdict.Refuses, type);
            Assert.Equal("DataBody", phase);
            Assert.Contains(ctx.LogLines, l => l.Contains("bad attachment 'invoice.pdf.exe'", StringComparison.Ordinal));
        }
        var (ok, okPhase, _) = await Run(Cfg(blocking), TnefSample.TnefMail(TnefSample.Tnef(("notes.txt", "hi"u8.ToArray()))));
        Assert.False(ok.Refuses);
        Assert.Equal("delivered", okPhase);
    }

    [Fact]
    public async Task An_unknown_charset_in_a_rule_file_is_skipped_at_run_time()
    {
        var dir = Directory.CreateTempSubdirectory("assp-conv-");
        Directory.CreateDirectory(Path.Combine(dir.FullName, "files"));
        File.WriteAllText(Path.Combine(dir.FullName, "files", "conv.txt"), "bogus=>UTF-8\nUTF-8=>ISO-8859-1\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { AllowExec = false, ExportGroups = false }.Load(new ConfigSource(dir.FullName,
            Overrides: [new("localDomains", "local.test"), new("inChrSetConv", "file:files/conv.txt"), new("ConvLog", "2")]));
        Assert.Contains(cfg.Issues, i => i.Option == "inChrSetConv" && i.Severity == IssueSeverity.Error && i.Value == "bogus=>UTF-8");
        var (_, _, ctx) = await Run(cfg, Utf8Mail);
        Assert.Equal("ISO-8859-1", Forwarded(ctx).Root.Charset);
        Assert.Contains(ctx.LogLines, l => l.Contains("inChrSetConv: unknown charset 'bogus'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("UTF-8")]
    [InlineData("utf8")]
    [InlineData("latin1")]
    [InlineData("iso8859-15")]
    [InlineData("ISO_8859-2")]
    [InlineData("cp1250")]
    [InlineData("windows-1251")]
    [InlineData("cp437")]
    [InlineData("ibm850")]
    [InlineData("koi8-r")]
    [InlineData("Shift_JIS")]
    [InlineData("gb2312")]
    [InlineData("big5")]
    [InlineData("us-ascii")]
    public void Every_charset_the_configuration_accepts_is_known_to_the_mail_side(string name)
    {
        Assert.True(Assp.Config.Registry.CharsetRules.IsKnown(name));
        Assert.NotNull(Charsets.GetEncoding(name));
    }
}
