using System.Text;
using Assp.Checks.Checks;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Mime;
using static Assp.Checks.Tests.Checks.AfcAttachmentOptionTests;

namespace Assp.Checks.Tests.Checks;

/// <summary>ASSP_AFCWebScript with ASSP_AFCinsize/ASSP_AFCoutsize through the real pipeline and a real shell script.</summary>
public sealed class AfcWebScriptTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-webscript-tests", Guid.NewGuid().ToString("N"));

    public AfcWebScriptTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>A script that keeps a copy of the stored file and its arguments, then prints <paramref name="output"/>.</summary>
    private string Script(string output, bool removeFile = true)
    {
        var path = Path.Combine(_dir, "move.sh");
        File.WriteAllText(path, "#!/bin/sh\n"
            + $"printf '%s\\n' \"$@\" > '{_dir}/args'\n"
            + $"cp \"$2\" '{_dir}/copy'\n"
            + (removeFile ? "rm -f \"$2\"\n" : "")
            + $"printf '%s' '{output}'\n");
        return "/bin/sh " + path;
    }

    private static readonly byte[] Payload = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray();

    private static string Mail(string fileName = "big report.pdf", byte[]? data = null) =>
        "From: a@sender.example\r\nTo: u@local.test\r\nMessage-ID: <w1@sender.example>\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
        + $"Content-Type: application/pdf; name=\"{fileName}\"\r\nContent-Disposition: attachment; filename=\"{fileName}\"\r\n"
        + $"Content-Transfer-Encoding: base64\r\n\r\n{Convert.ToBase64String(data ?? Payload, Base64FormattingOptions.InsertLineBreaks)}\r\n--XX--\r\n";

    private ConfigSnapshot Cfg(string script, params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("DoASSP_AFC", "1"), ("ASSP_AFCWebScript", script + " $relayok FILENAME $mailfrom"),
            ("ASSP_AFCinsize", "2"), ("ASSP_AFCoutsize", "0"), .. values]);

    private static string? Delivered(FakeMailContext ctx) =>
        ctx.State.ReplacementMessage is { } b ? Encoding.UTF8.GetString(b) : null;

    [Fact]
    public async Task A_large_attachment_is_stored_decoded_handed_to_the_script_and_replaced_by_its_text()
    {
        var cfg = Cfg(Script("Download: https://files.example/x"));
        var (verdict, ctx) = await Run(cfg, Mail());
        Assert.False(verdict.Refuses);
        var delivered = Delivered(ctx);
        Assert.NotNull(delivered);
        var parsed = MimeParser.Parse(Encoding.UTF8.GetBytes(delivered));
        var leaves = parsed.Entities.Where(e => !e.IsMultipart).ToList();
        Assert.Equal(2, leaves.Count);
        Assert.Equal("see attached", leaves[0].GetText()!.Trim());
        Assert.Equal("text/plain", leaves[1].MimeType);
        Assert.Null(leaves[1].FileName);
        Assert.Equal("Download: https://files.example/x", leaves[1].GetText()!.Trim());
        Assert.Contains("From: a@sender.example", delivered, StringComparison.Ordinal);

        // The script got $relayok (0: incoming), the stored file's path and the sender; the file held the decoded bytes.
        var args = File.ReadAllLines(Path.Combine(_dir, "args"));
        Assert.Equal("0", args[0]);
        Assert.Equal(Path.Combine(cfg.BaseDirectory, "transfer"), Path.GetDirectoryName(args[1]));
        Assert.EndsWith("_big_report.pdf", args[1], StringComparison.Ordinal);
        Assert.Equal("a@sender.example", args[2]);
        Assert.Equal(Payload, File.ReadAllBytes(Path.Combine(_dir, "copy")));
        Assert.False(File.Exists(args[1]));
        Assert.Contains(ctx.LogLines, l => l.Contains("was stored outside for download and replaced by script result", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_size_limits_follow_the_direction_and_small_attachments_stay()
    {
        var script = Script("link");
        // Under ASSP_AFCinsize (2 KB = 2048 bytes; the attachment is about 4 KB encoded): left.
        Assert.Null(Delivered((await Run(Cfg(script, ("ASSP_AFCinsize", "8")), Mail())).Ctx));
        // 0 turns it off; so does DoASSP_AFC off.
        Assert.Null(Delivered((await Run(Cfg(script, ("ASSP_AFCinsize", "0")), Mail())).Ctx));
        Assert.Null(Delivered((await Run(Cfg(script, ("DoASSP_AFC", "0")), Mail())).Ctx));
        // Relayed mail uses ASSP_AFCoutsize: off at 0, on at 2, and $relayok is 1.
        void Local(FakeMailContext c) => c.Class = ConnectionClass.Local;
        Assert.Null(Delivered((await Run(Cfg(script), Mail(), from: "u@local.test", rcpt: "x@far.example", setup: Local)).Ctx));
        var (_, outgoing) = await Run(Cfg(script, ("ASSP_AFCoutsize", "2"), ("ASSP_AFCinsize", "0")), Mail(), from: "u@local.test", rcpt: "x@far.example", setup: Local);
        Assert.NotNull(Delivered(outgoing));
        Assert.Equal("1", File.ReadAllLines(Path.Combine(_dir, "args"))[0]);
    }

    [Theory]
    [InlineData("error: web server full")]
    [InlineData("")]
    public async Task No_output_or_an_error_leaves_the_attachment(string output)
    {
        var (_, ctx) = await Run(Cfg(Script(output)), Mail());
        Assert.Null(Delivered(ctx));
        Assert.Contains(ctx.LogLines, l => output.Length == 0 ? l.Contains("WebScript returned no result", StringComparison.Ordinal)
            : l.Contains("WebScript returned: error: web server full", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_file_the_script_leaves_is_removed_and_html_output_makes_an_html_part()
    {
        var cfg = Cfg(Script("<HTML><a href=x>get it</a></HTML>", removeFile: false));
        var (_, ctx) = await Run(cfg, Mail());
        var parsed = MimeParser.Parse(ctx.State.ReplacementMessage!);
        Assert.Contains(parsed.Entities, e => e.MimeType == "text/html" && e.GetText()!.Contains("get it", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(Path.Combine(cfg.BaseDirectory, "transfer")));
        Assert.Contains(ctx.LogLines, l => l.Contains("was not removed by WebScript - it is now removed by assp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Names_and_addresses_from_the_mail_cannot_reach_the_shell()
    {
        var marker = Path.Combine(_dir, "pwned");
        // DoRFC822 would refuse such a sender at MAIL FROM; here it must reach the script.
        var cfg = Cfg(Script("link"), ("DoRFC822", "0"));
        var (_, ctx) = await Run(cfg, Mail($"a'$(touch {marker})'`touch {marker}`.pdf"), from: $"x'$(touch {marker})'@sender.example");
        Assert.NotNull(Delivered(ctx));
        Assert.False(File.Exists(marker));
        var args = File.ReadAllLines(Path.Combine(_dir, "args"));
        Assert.Equal($"x'$(touch {marker})'@sender.example", args[2]);
        Assert.DoesNotContain('\'', Path.GetFileName(args[1]));
    }

    [Fact]
    public async Task An_unknown_variable_stops_the_script_and_an_option_name_gives_its_value()
    {
        var (_, unknown) = await Run(Cfg(Script("link"), ("ASSP_AFCWebScript", Script("link") + " $nosuchthing FILENAME")), Mail());
        Assert.Null(Delivered(unknown));
        Assert.Contains(unknown.LogLines, l => l.Contains("don't know what to do with $nosuchthing", StringComparison.Ordinal));
        var (_, option) = await Run(Cfg(Script("link"), ("ASSP_AFCWebScript", Script("link") + " $myName FILENAME")), Mail());
        Assert.NotNull(Delivered(option));
        Assert.Equal(option.Config["myName"], File.ReadAllLines(Path.Combine(_dir, "args"))[0]);
    }
}
