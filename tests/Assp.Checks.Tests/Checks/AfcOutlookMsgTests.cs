using System.Text;
using Assp.Config;
using Assp.Mime;
using Assp.Mime.Tests.Attachments;
using static Assp.Checks.Tests.Checks.AfcAttachmentOptionTests;

namespace Assp.Checks.Tests.Checks;

/// <summary>ASSP_AFCextractAttMail with Outlook .msg attachments through the real pipeline.</summary>
public class AfcOutlookMsgTests
{
    private static string Mail(byte[] msg) =>
        "From: a@sender.example\r\nTo: u@local.test\r\nMessage-ID: <m1@sender.example>\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n--XX\r\n"
        + "Content-Type: application/vnd.ms-outlook; name=\"fwd.msg\"\r\nContent-Disposition: attachment; filename=\"fwd.msg\"\r\n"
        + $"Content-Transfer-Encoding: base64\r\n\r\n{Convert.ToBase64String(msg, Base64FormattingOptions.InsertLineBreaks)}\r\n--XX--\r\n";

    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("DoBlockExes", "1"), ("BlockExes", "1"), ("DoASSP_AFC", "1"), .. values]);

    private static readonly byte[] WithExe = CfbWriter.Msg("invoice", "see attached", ("notes.txt", Encoding.ASCII.GetBytes("plain words\r\n"), null),
        ("invoice.exe", Pe(), null));

    /// <summary>The executable sits in a message attached to the attached message.</summary>
    private static readonly byte[] Nested = CfbWriter.Msg("fw: fw", "below", ("", null, CfbWriter.MessageNodes("inner", "x", ("setup.exe", Pe(), null))));

    [Fact]
    public async Task ASSP_AFCextractAttMail_with_msg_judges_the_files_of_an_attached_Outlook_message()
    {
        Assert.True((await Run(Cfg(), Mail(WithExe))).Verdict.Refuses);                                  // default 3 = both
        Assert.True((await Run(Cfg(("ASSP_AFCextractAttMail", "2")), Mail(WithExe))).Verdict.Refuses);
        Assert.False((await Run(Cfg(("ASSP_AFCextractAttMail", "1")), Mail(WithExe))).Verdict.Refuses);
        Assert.False((await Run(Cfg(("ASSP_AFCextractAttMail", "0")), Mail(WithExe))).Verdict.Refuses);
        Assert.False((await Run(Cfg(("DoASSP_AFC", "0")), Mail(WithExe))).Verdict.Refuses);
        var (verdict, ctx) = await Run(Cfg(), Mail(Nested));
        Assert.True(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("setup.exe", StringComparison.Ordinal));
        // Harmless files pass.
        Assert.False((await Run(Cfg(), Mail(CfbWriter.Msg("hi", "x", ("notes.txt", Encoding.ASCII.GetBytes("words"), null))))).Verdict.Refuses);
    }

    [Fact]
    public async Task With_ASSP_AFCReplBadAttach_the_whole_msg_is_replaced_and_a_damaged_msg_is_logged()
    {
        var (verdict, ctx) = await Run(Cfg(("ASSP_AFCReplBadAttach", "1")), Mail(WithExe));
        Assert.False(verdict.Refuses);
        var delivered = MimeParser.Parse(Assert.IsType<byte[]>(ctx.State.ReplacementMessage));
        Assert.DoesNotContain(delivered.Entities, e => e.FileName == "fwd.msg");
        Assert.Contains("invoice.exe", Encoding.UTF8.GetString(delivered.Source.Span), StringComparison.Ordinal);

        var damaged = (byte[])WithExe.Clone();
        damaged.AsSpan(512, 2048).Fill(0xFF);
        var (_, logged) = await Run(Cfg(("AttachmentLog", "1")), Mail(damaged));
        Assert.Contains(logged.LogLines, l => l.Contains("can't get the message from Outlook attachment fwd.msg", StringComparison.Ordinal));
    }
}
