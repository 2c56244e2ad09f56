using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using static Assp.Checks.Tests.Checks.AfcAttachmentOptionTests;

namespace Assp.Checks.Tests.Checks;

/// <summary>ASSP_AFCMSGSIZEscore and ASSP_AFCextractAttMail through the real pipeline.</summary>
public class AfcMessageOptionTests
{
    private static string Sized(int bodyBytes) =>
        "From: a@sender.example\nTo: u@local.test\nMessage-ID: <1@sender.example>\nSubject: size\n\n" + new string('x', bodyBytes) + "\n";

    private static ConfigSnapshot SizeCfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("DoASSP_AFC", "1"), ("ASSP_AFCMSGSIZEscore", "500=>10, 1000=>5,1500=>0"), .. values]);

    private static double SizeScore(FakeMailContext ctx) =>
        ctx.State.Scores.Where(s => s.Check == "ASSP_AFCMSGSIZEscore").Sum(s => s.MessageScore);

    [Theory]
    [InlineData(300, 0)]
    [InlineData(700, 10)]
    [InlineData(1200, 5)]
    [InlineData(2000, 0)]
    public async Task ASSP_AFCMSGSIZEscore_adds_the_score_of_the_highest_size_reached(int bodyBytes, double expected)
    {
        var (_, ctx) = await Run(SizeCfg(), Sized(bodyBytes));
        Assert.Equal(expected, SizeScore(ctx));
        Assert.All(ctx.State.Scores.Where(s => s.Check == "ASSP_AFCMSGSIZEscore"), s => Assert.Equal(0, s.IpScore));
        if (expected > 0) Assert.Contains(ctx.State.Scores, s => s.Reason.StartsWith("SIZE:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASSP_AFCMSGSIZEscore_leaves_out_outgoing_whitelisted_and_noprocessing_mail_but_not_npSize()
    {
        var mail = Sized(700);
        Assert.Equal(0, SizeScore((await Run(SizeCfg(("DoASSP_AFC", "0")), mail)).Ctx));
        Assert.Equal(0, SizeScore((await Run(SizeCfg(), mail, from: "u@local.test", rcpt: "x@far.example", setup: c => c.Class = ConnectionClass.Local)).Ctx));
        Assert.Equal(0, SizeScore((await Run(SizeCfg(("whiteListedDomains", "sender.example")), mail)).Ctx));
        Assert.Equal(0, SizeScore((await Run(SizeCfg(("noProcessingDomains", "sender.example")), mail)).Ctx));
        var (_, bySize) = await Run(SizeCfg(("npSize", "600")), mail);
        Assert.NotNull(bySize.State.NoProcessing);
        Assert.Equal(10, SizeScore(bySize));
    }

    private static readonly byte[] Text = Encoding.ASCII.GetBytes("inner words\r\n");

    /// <summary>A mail forwarding another mail (with an executable attached) as message/rfc822 or as an .eml file.</summary>
    private static string Forward(bool asFile)
    {
        var inner = "From: b@x.example\r\nSubject: inner\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"YY\"\r\n\r\n--YY\r\n"
            + "Content-Type: text/plain\r\n\r\ninner text\r\n--YY\r\nContent-Type: application/octet-stream; name=\"setup.exe\"\r\n"
            + $"Content-Transfer-Encoding: base64\r\n\r\n{Convert.ToBase64String(Pe(), Base64FormattingOptions.InsertLineBreaks)}\r\n--YY--\r\n";
        var part = asFile
            ? "Content-Type: application/octet-stream; name=\"fwd.eml\"\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n"
              + $"Content-Transfer-Encoding: base64\r\n\r\n{Convert.ToBase64String(Encoding.ASCII.GetBytes(inner), Base64FormattingOptions.InsertLineBreaks)}\r\n"
            : "Content-Type: message/rfc822\r\n\r\n" + inner + "\r\n";
        return "From: a@sender.example\r\nTo: u@local.test\r\nMessage-ID: <2@sender.example>\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--XX\r\n" + part + "--XX--\r\n";
    }

    private static ConfigSnapshot AttCfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("DoBlockExes", "1"), ("BlockExes", "1"), .. values]);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ASSP_AFCextractAttMail_decides_whether_the_files_of_an_attached_mail_are_judged(bool asFile)
    {
        var mail = Forward(asFile);
        Assert.True((await Run(AttCfg(("DoASSP_AFC", "1")), mail)).Verdict.Refuses);                                   // default 3 = both
        Assert.True((await Run(AttCfg(("DoASSP_AFC", "1"), ("ASSP_AFCextractAttMail", "1")), mail)).Verdict.Refuses);
        Assert.False((await Run(AttCfg(("DoASSP_AFC", "1"), ("ASSP_AFCextractAttMail", "0")), mail)).Verdict.Refuses);
        Assert.False((await Run(AttCfg(("DoASSP_AFC", "1"), ("ASSP_AFCextractAttMail", "2")), mail)).Verdict.Refuses);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bad_file_in_an_attached_mail_replaces_the_whole_attached_mail(bool asFile)
    {
        var (verdict, ctx) = await Run(AttCfg(("DoASSP_AFC", "1"), ("ASSP_AFCReplBadAttach", "1")), Forward(asFile));
        Assert.False(verdict.Refuses);
        var delivered = Encoding.Latin1.GetString(Assert.IsType<byte[]>(ctx.State.ReplacementMessage));
        Assert.Contains("forwarded", delivered);
        Assert.Contains("The attached file (setup.exe) was removed from this email by ASSP for policy reasons!", delivered);
        Assert.DoesNotContain("inner text", delivered);
        Assert.DoesNotContain("fwd.eml", delivered);
    }
}
