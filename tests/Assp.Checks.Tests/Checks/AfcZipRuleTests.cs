using System.Text;
using Assp.Checks.Checks;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using static Assp.Checks.Tests.Checks.AfcAttachmentOptionTests;

namespace Assp.Checks.Tests.Checks;

/// <summary>The ASSP_AFC zip: lines of UserAttach: they judge the files inside archives, with real zip files.</summary>
public class AfcZipRuleTests
{
    private static readonly byte[] Text = Encoding.ASCII.GetBytes("harmless words\r\n");
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
    private static readonly byte[] OpenSslEncrypted = [.. "Salted__"u8, 1, 2, 3, 4, 5, 6, 7, 8, 0x9A, 0x33, 0x10, 0xFE];

    /// <summary>UserAttach from a file, level 1 for everyone else, with or without the plugin.</summary>
    private static ConfigSnapshot Rules(string userAttach, bool afc = true, params (string, string)[] more) =>
        TestConfig.Create(new Dictionary<string, string> { ["files/userattach.txt"] = userAttach },
            [("localDomains", "local.test"), ("DoBlockExes", "1"), ("BlockExes", "1"), ("UserAttach", "file:files/userattach.txt"),
             ("DoASSP_AFC", afc ? "1" : "0"), .. more]);

    [Fact]
    public async Task A_zip_block_rule_refuses_a_listed_file_inside_an_archive_only_with_the_plugin()
    {
        var cfg = Rules("zip:u@local.test => block => txt|doc\n");
        var mail = Mail("docs.zip", Zip(("readme.txt", Text)));
        var (verdict, ctx) = await Run(cfg, mail);
        Assert.Equal("550 5.7.1 These attachments are not allowed -- Compress before mailing.", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("using user based compressed attachment check"));
        Assert.Contains(ctx.LogLines, l => l.Contains("docs.zip/readme.txt") && l.Contains("UserAttach zip:"));
        // The same file outside an archive is not judged by a zip: rule (level 1 lets .txt pass) ...
        Assert.False((await Run(cfg, Mail("readme.txt", Text))).Verdict.Refuses);
        // ... other recipients have no zip: rule, and without ASSP_AFC the zip: lines do nothing.
        Assert.False((await Run(cfg, mail, rcpt: "other@local.test")).Verdict.Refuses);
        Assert.False((await Run(Rules("zip:u@local.test => block => txt\n", afc: false), mail)).Verdict.Refuses);
    }

    [Fact]
    public async Task A_zip_rule_takes_the_place_of_the_attachment_rule_for_the_members()
    {
        // Level 1 (exe-bin) would refuse the executable member; u@'s zip: rule lists only txt, so it passes ...
        var exeInZip = Mail("tools.zip", Zip(("run.exe", Pe())));
        Assert.True((await Run(Rules("zip:other@local.test => block => txt\n"), exeInZip)).Verdict.Refuses);
        Assert.False((await Run(Rules("zip:u@local.test => block => txt\n"), exeInZip)).Verdict.Refuses);
        // ... and exe-bin in the zip: rule finds it by content, whatever its name.
        var renamed = Mail("tools.zip", Zip(("run.dat", Pe())));
        var (verdict, ctx) = await Run(Rules("zip:u@local.test => block => exe-bin\n"), renamed);
        Assert.True(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("tools.zip/run.dat") && l.Contains(":WIN"));
        Assert.False((await Run(Rules("zip:u@local.test => block => exe-bin|:WIN\n"), renamed)).Verdict.Refuses);
    }

    [Fact]
    public async Task A_zip_good_rule_refuses_every_member_it_does_not_list_at_every_depth()
    {
        var cfg = Rules("~docs => txt|pdf\nzip:*@local.test => good => ~docs|zip\n");
        Assert.False((await Run(cfg, Mail("a.zip", Zip(("a.txt", Text), ("b.pdf", Text))))).Verdict.Refuses);
        var (verdict, ctx) = await Run(cfg, Mail("a.zip", Zip(("a.txt", Text), ("inner.zip", Zip(("logo.png", Png))))));
        Assert.True(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("logo.png") && l.Contains("not allowed"));
    }

    [Fact]
    public async Task A_zip_rule_follows_the_direction_of_the_mail()
    {
        var cfg = Rules("zip:u@local.test => block-out => txt\n");
        var mail = Mail("docs.zip", Zip(("readme.txt", Text)));
        Assert.False((await Run(cfg, mail)).Verdict.Refuses);
        var outgoing = await Run(cfg, mail, from: "u@local.test", rcpt: "x@partner.example", setup: c => c.Class = ConnectionClass.Local);
        Assert.True(outgoing.Verdict.Refuses);
    }

    [Fact]
    public async Task Crypt_zip_in_a_zip_rule_switches_the_refusal_of_encrypted_archives_on_and_off()
    {
        var secret = Mail("secret.zip", EncryptedZip(("notes.txt", Text)));
        Assert.False((await Run(Rules("zip:u@local.test => block => exe\n"), secret)).Verdict.Refuses);
        var (verdict, ctx) = await Run(Rules("zip:u@local.test => block => crypt-zip\n"), secret);
        Assert.True(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("crypt-zip"));
        // ASSP_AFCblockEncryptedZIP refuses it for everyone, a good listing of crypt-zip lifts that for u@.
        Assert.True((await Run(Rules("zip:other@local.test => good => txt\n", true, ("ASSP_AFCblockEncryptedZIP", "1")), secret)).Verdict.Refuses);
        Assert.False((await Run(Rules("zip:u@local.test => good => crypt-zip|txt\n", true, ("ASSP_AFCblockEncryptedZIP", "1")), secret)).Verdict.Refuses);
    }

    [Fact]
    public async Task Encrypt_in_a_zip_block_rule_refuses_OpenSSL_encrypted_files()
    {
        var cfg = Rules("zip:u@local.test => block => encrypt\n");
        Assert.True((await Run(cfg, Mail("data.zip", Zip(("data.bin", OpenSslEncrypted))))).Verdict.Refuses);
        Assert.True((await Run(cfg, Mail("data.bin", OpenSslEncrypted))).Verdict.Refuses);
        Assert.False((await Run(cfg, Mail("data.zip", Zip(("data.bin", Text))))).Verdict.Refuses);
        Assert.False((await Run(Rules("zip:u@local.test => block => txt\n"), Mail("data.bin", OpenSslEncrypted))).Verdict.Refuses);
    }

    [Fact]
    public void Zip_lines_are_kept_apart_from_the_ordinary_rules_and_take_NoCheckIf()
    {
        var cfg = Rules("~~allowSigned => block-in => NoCheckIf=Dkim.Sig\n"
                        + "zip:@partner.example => ~~allowSigned, block-in => txt\n"
                        + "zip:bad@partner.example => frobnicate => txt\n"
                        + "u@local.test => block => mp3\n");
        var rules = AttachmentRules.For(cfg);
        Assert.Equal(["u@local.test"], rules.UserRules.Keys);
        Assert.Contains("@partner.example", rules.ZipRules.Keys);
        Assert.Contains(rules.Problems, p => p.Contains("'frobnicate'"));
        var problems = new List<string>();
        // Neither rules names the other's addresses: the ordinary rule does not judge members, the zip: rule not files.
        Assert.Null(rules.ForArchiveMembers("a@sender.example", "u@local.test", false, _ => false, problems));
        Assert.Null(rules.ForUsers("x@partner.example", "other@local.test", false, _ => false, problems));
        var plain = rules.ForArchiveMembers("x@partner.example", "u@local.test", false, _ => false, problems)!;
        Assert.NotNull(plain.Rule!.Refuses("a.txt", null, checkGood: true));
        var signed = rules.ForArchiveMembers("x@partner.example", "u@local.test", false, s => s == "dkim", problems)!;
        Assert.Null(signed.Rule);
        Assert.Contains("NoCheckIf=Dkim.Sig", signed.Skipped);
    }
}
