using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Checks;

/// <summary>DoBlockExes with real attachments (a small PE, ELF, script and zip built here) through the real pipeline.</summary>
public class AttachmentCheckTests
{
    private const string Rcpt = "u@local.test";
    private const string Reply = "550 5.7.1 These attachments are not allowed -- Compress before mailing.";

    internal static byte[] Pe()
    {
        var b = new byte[0x200];
        b[0] = (byte)'M'; b[1] = (byte)'Z';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(0x3C), 0x80);
        "PE\0\0"u8.CopyTo(b.AsSpan(0x80));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84), 0x8664);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 16), 0xF0);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 18), 0x0022);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 20), 0x20B);
        return b;
    }

    private static byte[] Elf()
    {
        var b = new byte[64];
        b[0] = 0x7F; b[1] = (byte)'E'; b[2] = (byte)'L'; b[3] = (byte)'F';
        b[4] = 2; b[5] = 1; b[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), 0x3E);
        return b;
    }

    private static byte[] Zip(params (string Name, byte[] Data)[] entries)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var s = zip.CreateEntry(name).Open();
                s.Write(data);
            }
        return ms.ToArray();
    }

    private static readonly byte[] PlainText = Encoding.ASCII.GetBytes("just some harmless words\r\n");

    /// <summary>A multipart mail with one base64 attachment.</summary>
    internal static string Mail(string fileName, byte[] content, string contentType = "application/octet-stream")
    {
        var b64 = Convert.ToBase64String(content, Base64FormattingOptions.InsertLineBreaks);
        return "From: a@sender.example\nTo: u@local.test\nMessage-ID: <1@sender.example>\nSubject: files\nMIME-Version: 1.0\n"
            + "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\nsee attached\n--XX\n"
            + $"Content-Type: {contentType}; name=\"{fileName}\"\nContent-Disposition: attachment; filename=\"{fileName}\"\n"
            + $"Content-Transfer-Encoding: base64\n\n{b64}\n--XX--\n";
    }

    private static ConfigSnapshot Cfg(params (string, string)[] values) => Cfg(null, values);

    private static ConfigSnapshot Cfg(Dictionary<string, string>? files, params (string, string)[] values) =>
        TestConfig.Create(files, [("localDomains", "local.test"), ("DoBlockExes", "1"), ("BlockExes", "1"), .. values]);

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string message,
        string from = "a@sender.example", string rcpt = Rcpt, Action<FakeMailContext>? setup = null)
    {
        var ip = new FakeIpReputation();
        var pipeline = new DecisionPipeline(new DecisionEngine(ip, new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg);
        setup?.Invoke(ctx);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, from, [rcpt], message);
        return (verdict, phase, ctx);
    }

    [Fact]
    public void TheCheckIsCatalogued() =>
        Assert.Contains(CheckCatalog.Discover(CheckServices.None), c => c is AttachmentCheck && c.Definition.Name == "DoBlockExes");

    [Fact]
    public async Task Level1BlocksAnExeByNameWithAttachmentError()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), Mail("setup.exe", PlainText));
        Assert.Equal("DataBody", phase);
        Assert.Equal(Reply, verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("[spam found] (bad attachment 'setup.exe')"));
        Assert.Contains(ctx.State.Scores, s => s.Check == "baValencePB" && s.MessageScore == 20);
    }

    [Fact]
    public async Task DisabledOrLevelZeroChecksNothing()
    {
        Assert.Equal("delivered", (await Run(Cfg(("DoBlockExes", "0")), Mail("setup.exe", Pe()))).Phase);
        Assert.Equal("delivered", (await Run(Cfg(("BlockExes", "0")), Mail("setup.exe", Pe()))).Phase);
    }

    [Fact]
    public async Task AnExecutableRenamedTxtIsCaughtByContent()
    {
        var (verdict, _, ctx) = await Run(Cfg(), Mail("readme.txt", Pe(), "text/plain"));
        Assert.Equal(Reply, verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("bad attachment 'readme.txt'"));
        // Without exe-bin in the level only the name counts.
        Assert.Equal("delivered", (await Run(Cfg(("BadAttachL1", "exe|scr")), Mail("readme.txt", Pe(), "text/plain"))).Phase);
        // A :TAG exception lets that class of executable through.
        Assert.Equal("delivered", (await Run(Cfg(("BadAttachL1", "exe-bin|:WIN")), Mail("readme.txt", Pe()))).Phase);
        Assert.True((await Run(Cfg(("BadAttachL1", "exe-bin|:WIN")), Mail("tool.dat", Elf()))).Verdict.Refuses);
    }

    [Fact]
    public async Task AHarmlessAttachmentPasses()
    {
        var (verdict, phase, ctx) = await Run(Cfg(), Mail("notes.txt", PlainText, "text/plain"));
        Assert.False(verdict.Refuses);
        Assert.Equal("delivered", phase);
        Assert.Empty(ctx.State.Scores);
    }

    [Fact]
    public async Task LevelsAreCumulative()
    {
        var cfg = (string level) => Cfg(("BlockExes", level), ("BadAttachL2", "docm"), ("BadAttachL3", "zip|url"));
        Assert.Equal("delivered", (await Run(cfg("1"), Mail("a.docm", PlainText))).Phase);
        Assert.True((await Run(cfg("2"), Mail("a.docm", PlainText))).Verdict.Refuses);
        Assert.True((await Run(cfg("2"), Mail("a.exe", PlainText))).Verdict.Refuses);
        Assert.Equal("delivered", (await Run(cfg("2"), Mail("link.url", PlainText))).Phase);
        Assert.True((await Run(cfg("3"), Mail("link.url", PlainText))).Verdict.Refuses);
        Assert.True((await Run(cfg("3"), Mail("a.docm", PlainText))).Verdict.Refuses);
        Assert.True((await Run(cfg("3"), Mail("a.EXE", PlainText))).Verdict.Refuses);
    }

    [Fact]
    public async Task Level4AllowsOnlyGoodAttach()
    {
        var cfg = Cfg(("BlockExes", "4"), ("GoodAttach", "pdf|txt|zip"));
        Assert.Equal("delivered", (await Run(cfg, Mail("report.pdf", PlainText))).Phase);
        var (verdict, _, _) = await Run(cfg, Mail("photo.bmp", PlainText));
        Assert.Equal(Reply, verdict.Reply);
        // A good name does not save executable content.
        Assert.True((await Run(cfg, Mail("readme.txt", Pe()))).Verdict.Refuses);
    }

    [Fact]
    public async Task ArchivesAreLookedInto()
    {
        var (verdict, _, ctx) = await Run(Cfg(), Mail("docs.zip", Zip(("a.txt", PlainText), ("run.exe", PlainText)), "application/zip"));
        Assert.Equal(Reply, verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("bad attachment 'docs.zip/run.exe'"));
        // An executable hidden under a harmless name inside the zip.
        Assert.True((await Run(Cfg(), Mail("docs.zip", Zip(("photo.jpg", Pe()))))).Verdict.Refuses);
        Assert.Equal("delivered", (await Run(Cfg(), Mail("docs.zip", Zip(("a.txt", PlainText))))).Phase);
        // Level 4: a zip allowed by GoodAttach is judged by its members' content, not by their names.
        var level4 = Cfg(("BlockExes", "4"), ("GoodAttach", "zip"));
        Assert.Equal("delivered", (await Run(level4, Mail("docs.zip", Zip(("a.odt", PlainText))))).Phase);
        Assert.True((await Run(level4, Mail("docs.zip", Zip(("a.odt", Pe()))))).Verdict.Refuses);
    }

    [Fact]
    public async Task FilenameIsPutIntoTheReply()
    {
        var (verdict, _, _) = await Run(Cfg(("AttachmentError", "550 5.7.1 attachment FILENAME refused")), Mail("evil.scr", PlainText));
        Assert.Equal("550 5.7.1 attachment evil.scr refused", verdict.Reply);
    }

    [Fact]
    public async Task MonitorLogsOnlyAndScoreOnlyScores()
    {
        var (verdict, phase, ctx) = await Run(Cfg(("DoBlockExes", "2")), Mail("setup.exe", PlainText));
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("[monitoring] (bad attachment 'setup.exe')"));
        Assert.Empty(ctx.State.Scores);

        (verdict, phase, ctx) = await Run(Cfg(("DoBlockExes", "3"), ("baValencePB", "33")), Mail("setup.exe", PlainText));
        Assert.Equal("delivered", phase);
        Assert.Contains(ctx.LogLines, l => l.Contains("[scoring] (bad attachment 'setup.exe')"));
        Assert.Equal(33, ctx.State.MessageScore);
    }

    [Fact]
    public async Task TestModePassesTagged()
    {
        var (verdict, phase, ctx) = await Run(Cfg(("attachTestMode", "1")), Mail("setup.exe", PlainText));
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("spam found and passing (bad attachment 'setup.exe'"));
        Assert.Contains(ctx.State.Reports, r => r.Check == "DoBlockExes" && r.Outcome == "tag");
    }

    [Fact]
    public async Task WhitelistedAndNoProcessingMailUseTheirOwnLevels()
    {
        var white = Cfg(("whiteListedDomains", "sender.example"), ("BlockWLExes", "0"));
        Assert.Equal("delivered", (await Run(white, Mail("setup.exe", PlainText))).Phase);
        var whiteChecked = Cfg(("whiteListedDomains", "sender.example"), ("BlockWLExes", "1"));
        Assert.True((await Run(whiteChecked, Mail("setup.exe", PlainText))).Verdict.Refuses);
        var np = Cfg(("noProcessing", "a@sender.example"), ("BlockNPExes", "0"));
        Assert.Equal("delivered", (await Run(np, Mail("setup.exe", PlainText))).Phase);
        var npChecked = Cfg(("noProcessing", "a@sender.example"), ("BlockNPExes", "1"));
        Assert.True((await Run(npChecked, Mail("setup.exe", PlainText))).Verdict.Refuses);
    }

    [Fact]
    public async Task UserAttachRulesReplaceTheLevels()
    {
        var rules = "~office => doc|docx|xls\n"
                    + "~~base => block => exe|scr\n"
                    + "u@local.test => ~~base , good-in => ~office|pdf\n"
                    + "@partner.example => block-out => zip , block => --scr|exe|scr|pif\n"
                    + "boss@local.test => block-in => mp3\n";
        var cfg = Cfg(new Dictionary<string, string> { ["files/userattach.txt"] = rules }, ("UserAttach", "file:files/userattach.txt"), ("BlockExes", "0"));

        // Incoming to u@: only the office templates and pdf are allowed, exe/scr blocked.
        Assert.Equal("delivered", (await Run(cfg, Mail("a.docx", PlainText))).Phase);
        Assert.Equal("delivered", (await Run(cfg, Mail("a.pdf", PlainText))).Phase);
        var (verdict, _, ctx) = await Run(cfg, Mail("a.zip", PlainText));
        Assert.Equal(Reply, verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("using user based attachment check"));
        // A user rule scores the message but not the IP.
        Assert.Contains(ctx.State.Scores, s => s.Check == "baValencePB" && s.IpScore == 0);

        // The level would not check (BlockExes 0), but boss@ has a rule; block-in applies incoming.
        Assert.True((await Run(cfg, Mail("song.mp3", PlainText), rcpt: "boss@local.test")).Verdict.Refuses);
        Assert.Equal("delivered", (await Run(cfg, Mail("setup.exe", PlainText), rcpt: "other@local.test")).Phase);

        // The domain rule of the sender: '--scr' removed scr at load, exe stays; block-out does not apply incoming.
        Assert.Equal("delivered", (await Run(cfg, Mail("a.scr", PlainText), from: "x@partner.example", rcpt: "other@local.test")).Phase);
        Assert.True((await Run(cfg, Mail("a.pif", PlainText), from: "x@partner.example", rcpt: "other@local.test")).Verdict.Refuses);
        Assert.Equal("delivered", (await Run(cfg, Mail("a.zip", PlainText), from: "x@partner.example", rcpt: "other@local.test")).Phase);
    }

    [Fact]
    public void UserAttachParserReportsBadLines()
    {
        var problems = new List<string>();
        var rules = UserAttachParser.Parse(["nobody", "a@b.c => frobnicate => exe", "~~t => block => exe", "~~t => block => com", "x@y.z => ~~t, ~~missing"], problems);
        Assert.Contains(problems, p => p.Contains("has no '=>'"));
        Assert.Contains(problems, p => p.Contains("'frobnicate'"));
        Assert.Contains(problems, p => p.Contains("defined twice"));
        Assert.Contains(problems, p => p.Contains("'~~missing'"));
        Assert.Equal("exe", rules["x@y.z"]["block"]);
    }

    [Fact]
    public void ABrokenLevelRegexIsReportedNotThrown()
    {
        var cfg = Cfg(("BadAttachL1", "exe|(unclosed"));
        var rules = AttachmentRules.For(cfg);
        Assert.Null(rules.Level(1));
        Assert.Contains(rules.Problems, p => p.StartsWith("BadAttachL1", StringComparison.Ordinal));
    }

    [Fact]
    public void NoCheckIfSkipsAChecksOnlyForAValidatedSender()
    {
        var problems = new List<string>();
        var cfg = Cfg(new Dictionary<string, string> { ["files/ua.txt"] =
            "~~allowSDSSIn=>good-in=>NoCheckIf=SpfDkim.SpfSig,block-in=>NoCheckIf=SpfDkim.SpfSig\n"
            + "sender@domain.org=>~~allowSDSSIn,good-in=>pdf|exe,block-in=>exe\n"
            + "dkim@domain.org=>block=>exe,block-in=>NoCheckIf=Dkim.Sig\n"
            + "bad@domain.org=>block=>exe,block=>NoCheckIf=Spf Dkim\n" }, ("UserAttach", "file:files/ua.txt"));
        var rules = AttachmentRules.For(cfg);
        Func<string, bool> None = _ => false, SpfOnly = s => s == "spf", SpfDkim = s => s is "spf" or "dkim", DkimOnly = s => s == "dkim";

        var plain = rules.ForUsers("sender@domain.org", Rcpt, outgoing: false, None, problems)!;
        Assert.NotNull(plain.Rule);
        Assert.Null(plain.Skipped);
        Assert.NotNull(plain.Rule!.Refuses("a.exe", null));
        Assert.NotNull(plain.Rule.Refuses("a.zip", null));
        // SPF alone satisfies neither "SpfDkim" nor "SpfSig" (sig can never be proven here).
        Assert.NotNull(rules.ForUsers("sender@domain.org", Rcpt, false, SpfOnly, problems)!.Rule);
        var skipped = rules.ForUsers("sender@domain.org", Rcpt, false, SpfDkim, problems)!;
        Assert.Null(skipped.Rule);
        Assert.Contains("NoCheckIf=SpfDkim.SpfSig", skipped.Skipped);
        // The -in condition does not lift an outgoing check.
        Assert.Null(rules.ForUsers("sender@domain.org", Rcpt, true, SpfDkim, problems)?.Skipped);

        // Only the block check is skipped for dkim@ when DKIM passed; its block=>exe is gone then.
        var dkim = rules.ForUsers("dkim@domain.org", Rcpt, false, DkimOnly, problems)!;
        Assert.Null(dkim.Rule);
        Assert.NotNull(rules.ForUsers("dkim@domain.org", Rcpt, false, SpfOnly, problems)!.Rule!.Refuses("x.exe", null));

        // Whitespace in a NoCheckIf is a configuration error: reported, the rule stays in force.
        Assert.Contains(rules.Problems, p => p.Contains("NoCheckIf=Spf Dkim"));
        Assert.NotNull(rules.ForUsers("bad@domain.org", Rcpt, false, SpfDkim, problems)!.Rule!.Refuses("x.exe", null));
    }

    [Theory]
    [InlineData("Spf", "spf", true)]
    [InlineData("Spf", "dkim", false)]
    [InlineData("SpfDkim", "spf", false)]
    [InlineData("SpfDkim", "spf,dkim", true)]
    [InlineData("Spf.Dkim", "dkim", true)]
    [InlineData("Spf.DkimSig", "dkim", false)]
    [InlineData("Spf.DkimSig", "dkim,sig", true)]
    [InlineData("dKiM", "dkim", true)]
    public void NoCheckIfTermsAreAndedWithinAndOredByDots(string condition, string states, bool holds) =>
        Assert.Equal(holds, AttachmentRules.Holds(condition, s => states.Split(',').Contains(s)));

    [Fact]
    public async Task ARuntimeRemovalOfTheRecipientLiftsTheSendersRule()
    {
        var rules = "@partner.example => block => exe|zip\n"
                    + "u@local.test => block-in => --+zip\n"
                    + "v@local.test => block-in => --zip|mp3\n";
        var cfg = Cfg(new Dictionary<string, string> { ["files/userattach.txt"] = rules }, ("UserAttach", "file:files/userattach.txt"), ("BlockExes", "0"));
        Assert.Equal("delivered", (await Run(cfg, Mail("a.zip", PlainText), from: "x@partner.example")).Phase);
        Assert.True((await Run(cfg, Mail("a.exe", PlainText), from: "x@partner.example")).Verdict.Refuses);
        // A configuration-time removal only edits v@'s own rule: the sender's zip block stays.
        Assert.True((await Run(cfg, Mail("a.zip", PlainText), from: "x@partner.example", rcpt: "v@local.test")).Verdict.Refuses);
        // Outgoing, the -in removal does not apply.
        var outgoing = await Run(cfg, Mail("a.zip", PlainText), from: "u@local.test", rcpt: "y@partner.example",
            setup: c => c.Class = ConnectionClass.Local);
        Assert.True(outgoing.Verdict.Refuses);
    }

    [Fact]
    public async Task ReplBadAttachCutsTheAttachmentOutAndDelivers()
    {
        var cfg = Cfg(("DoASSP_AFC", "1"), ("ASSP_AFCReplBadAttach", "1"));
        var (verdict, phase, ctx) = await Run(cfg, Mail("setup.exe", Pe()));
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        var changed = ctx.State.ReplacementMessage;
        Assert.NotNull(changed);
        var parsed = Assp.Mime.MimeParser.Parse(changed!);
        var parts = parsed.Root.Children;
        Assert.Equal(2, parts.Count);
        Assert.Equal("see attached", parts[0].GetText()!.Trim());
        Assert.Equal("text/plain", parts[1].MimeType);
        Assert.Equal("The attached file (setup.exe) was removed from this email by ASSP for policy reasons! The file was detected as extension .exe .",
            parts[1].GetText()!.Trim());
        Assert.DoesNotContain(parsed.Attachments, a => a.FileName == "setup.exe");
        Assert.Equal("files", parsed.Subject);
        Assert.Contains(ctx.LogLines, l => l.Contains("replaced by a text"));

        // Without the plugin switch, or in monitor mode, nothing is replaced.
        var (refused, _, plain) = await Run(Cfg(("ASSP_AFCReplBadAttach", "1")), Mail("setup.exe", Pe()));
        Assert.Equal(Reply, refused.Reply);
        Assert.Null(plain.State.ReplacementMessage);
        var monitor = await Run(Cfg(("DoASSP_AFC", "1"), ("ASSP_AFCReplBadAttach", "1"), ("DoBlockExes", "2")), Mail("setup.exe", Pe()));
        Assert.Null(monitor.Ctx.State.ReplacementMessage);
        // A uuencoded file cannot be cut out of its text part: the mail is refused as usual.
        var uu = "From: a@sender.example\nTo: u@local.test\nSubject: uu\n\nhello\nbegin 644 run.exe\n#4V%L\n`\nend\n";
        Assert.Equal(Reply, (await Run(Cfg(("DoASSP_AFC", "1"), ("ASSP_AFCReplBadAttach", "1"), ("BlockUuencoded", "0")), uu)).Verdict.Reply);
    }

    [Fact]
    public async Task BlockUuencodedRefusesUuencodedContentWithItsOwnReply()
    {
        var uu = "From: a@sender.example\nTo: u@local.test\nSubject: uu\n\nhello\nbegin 644 notes.txt\n#4V%L\n`\nend\n";
        var (verdict, _, ctx) = await Run(Cfg(), uu);
        Assert.Equal("554 5.7.1 This message is uuencoded and will be blocked.", verdict.Reply?.Trim());
        Assert.Contains(ctx.LogLines, l => l.Contains("uuencoded attachment 'notes.txt'"));
        // Off: the uuencoded file is judged like any attachment by its name (and content).
        Assert.Equal("delivered", (await Run(Cfg(("BlockUuencoded", "0")), uu)).Phase);
        Assert.Equal(Reply, (await Run(Cfg(("BlockUuencoded", "0")), uu.Replace("notes.txt", "run.exe"))).Verdict.Reply);
        // A plain text mail passes.
        Assert.Equal("delivered", (await Run(Cfg(), "From: a@sender.example\nTo: u@local.test\nSubject: t\n\nbegin the text here\n")).Phase);
    }
}
