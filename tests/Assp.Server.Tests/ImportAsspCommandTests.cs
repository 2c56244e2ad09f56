using System.Globalization;

namespace Assp.Server.Tests;

/// <summary>`assp import-assp`: a realistic ASSP folder moves into a new base folder and acts on the next mail.</summary>
public sealed class ImportAsspCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "assp-migrate-" + Guid.NewGuid().ToString("N"));
    private string Assp => Path.Combine(_root, "assp");
    private string Base => Path.Combine(_root, "new");
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private static string T(long agoSeconds) => (Now - agoSeconds).ToString(CultureInfo.InvariantCulture);

    public ImportAsspCommandTests()
    {
        // An ASSP 2.x base folder as an admin has it: assp.cfg with file: lists, list files, databases, corpus.
        foreach (var d in new[] { "files", "pb", "spam", "notspam", "errors/spam" }) Directory.CreateDirectory(Path.Combine(Assp, d));
        File.WriteAllText(Path.Combine(Assp, "assp.cfg"), string.Join("\n",
            "listenPort:=25", "smtpDestination:=127.0.0.1:125", "localDomains:=file:files/localdomains.txt",
            "blackListedDomains:=file:files/blackdomains.txt", "DoBlackDomainWL:=0", "whitelistdb:=whitelist",
            "redlistdb:=redlist", "pbdb:=pb/pbdb", "delaydb:=delaydb", "spamlog:=spam", "notspamlog:=notspam",
            "correctedspam:=errors/spam", "incomingOkMail:=okmail", "DoPenalty:=1", "PenaltyLimit:=50", "MaxWhitelistDays:=90", "DelayExpiryTime:=36",
            "someOldPerlOnlyOption:=1", "ConfigSavedOK:=1", ""));
        File.WriteAllText(Path.Combine(Assp, "files", "localdomains.txt"), "# our domains\nexample.com\nexample.org\n");
        File.WriteAllText(Path.Combine(Assp, "files", "blackdomains.txt"), "far.example # bulk sender\n");
        File.WriteAllText(Path.Combine(Assp, "files", "nodelay.txt"), "partner.example\n");
        File.WriteAllText(Path.Combine(Assp, "whitelist"),
            $"\nbuddy@far.example\u0002{T(86400)}\nboss@partner.example,user@example.com\u0002{T(3600)}\n");
        File.WriteAllText(Path.Combine(Assp, "redlist"), $"\nnewsletter@lists.example\u0002{T(7200)}\n");
        File.WriteAllText(Path.Combine(Assp, "pb", "pbdb.black.db"),
            $"\n203.0.113.0\u0002{T(1800)} {T(600)} 4 120 203.0.113.66 DNSBL:_listed_in_zen\n");
        File.WriteAllText(Path.Combine(Assp, "pb", "pbdb.white.db"), $"\n198.51.100.0\u0002{T(7200)} {T(60)} 9\n");
        File.WriteAllText(Path.Combine(Assp, "delaydb"), $"\n192.0.2.10 bounce@mailer.example user@example.com\u0002{T(120)}\n");
        // DelayMD5 (ASSP's default) keeps the tuple "network sender-domain" as its MD5.
        File.WriteAllText(Path.Combine(Assp, "delaydb.white"), $"\n{Md5("192.0.2.0 mailer.example")}\u0002{T(86400)}\n");
        File.WriteAllText(Path.Combine(Assp, "spam", "1234.eml"), "From: x@spam.example\r\nSubject: win\r\n\r\nmoney\r\n");
        File.WriteAllText(Path.Combine(Assp, "notspam", "99.eml"), "From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n");
    }

    private static string Md5(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private static async Task<(int Exit, string Out)> Run(params string[] args)
    {
        var output = new StringWriter();
        int exit = await Cli.RunAsync(args, output, new StringWriter());
        return (exit, output.ToString());
    }

    [Fact]
    public async Task A_dry_run_reports_everything_and_writes_nothing()
    {
        var (exit, text) = await Run("import-assp", "--from", Assp, "--base", Base, "--dry-run");
        Assert.True(exit == 0, text);
        Assert.Contains("dry run", text);
        Assert.Matches(@"whitelist\s*│\s*would imported → whitelist\s*│\s*2", text);
        Assert.Matches(@"someOldPerlOnlyOption\s*│\s*not used", text);
        Assert.False(Directory.Exists(Base));
    }

    [Fact]
    public async Task The_import_moves_config_lists_databases_and_corpus_and_they_act_on_the_next_mail()
    {
        Directory.CreateDirectory(Base);
        File.WriteAllText(Path.Combine(Base, "assp.cfg"), "myName:=mx2.example.com\nlistenPort:=2525\n");
        var (exit, text) = await Run("import-assp", "--from", Assp, "--base", Base);
        Assert.True(exit == 0, text);
        Assert.Matches(@"config\s*│\s*assp\.cfg\s*│\s*merged", text);
        Assert.Matches(@"list file\s*│\s*files/blackdomains\.txt\s*│\s*copied\s*│\s*1", text);
        Assert.Matches(@"list file\s*│\s*files/nodelay\.txt\s*│\s*copied", text);
        Assert.Matches(@"pb/pbdb\.black\.db\s*│\s*imported → pbdb\.black\.db\s*│\s*1", text);
        Assert.Matches(@"delaydb\.white\s*│\s*imported → delaydb\.white\s*│\s*1", text);
        Assert.Matches(@"redlist\s*│\s*imported → redlist\s*│\s*1", text);
        Assert.Matches(@"pb/pbdb\.rbl\.db\s*│\s*skipped\s*│\s*0\s*│\s*no such file", text);
        Assert.Matches(@"spamlog \(spam\)\s*│\s*referenced\s*│\s*1", text);
        Assert.Matches(@"incomingOkMail \(okmail\)\s*│\s*skipped\s*│\s*0\s*│\s*no such folder", text);
        Assert.Matches(@"someOldPerlOnlyOption\s*│\s*not used", text);

        // assp.cfg: ASSP's values win, the base folder's own lines stay, corpus folders point into the ASSP folder.
        var cfg = File.ReadAllText(Path.Combine(Base, "assp.cfg"));
        Assert.Contains("listenPort:=25\n", cfg);
        Assert.Contains("myName:=mx2.example.com\n", cfg);
        Assert.Contains($"spamlog:={Path.Combine(Assp, "spam")}\n", cfg);
        Assert.Equal("far.example # bulk sender\n", File.ReadAllText(Path.Combine(Base, "files", "blackdomains.txt")));
        Assert.True(File.Exists(Path.Combine(Base, "assp.cfg.before-import")));

        // The imported whitelist lets the blacklisted domain's sender through; the imported PenaltyBox blocks the IP.
        var eml = Path.Combine(_root, "mail.eml");
        File.WriteAllText(eml, "From: buddy@far.example\r\nTo: user@example.com\r\nSubject: hi\r\n\r\nyo\r\n");
        (exit, text) = await Run("analyze", "--base", Base, "--json", "--ip", "192.0.2.44", "--from", "buddy@far.example", "--rcpt", "user@example.com", eml);
        Assert.True(exit == 0, text);
        Assert.Contains("\"decision\":\"pass\"", text);
        Assert.Contains("whitelisted", text);
        File.WriteAllText(eml, "From: other@elsewhere.example\r\nTo: user@example.com\r\nSubject: hi\r\n\r\nyo\r\n");
        (exit, text) = await Run("analyze", "--base", Base, "--json", "--ip", "203.0.113.66", "--from", "other@elsewhere.example", "--rcpt", "user@example.com", eml);
        Assert.True(exit == 0, text);
        Assert.True(text.Contains("\"decision\":\"block\""), text);

        // The imported greylist safelist: a new triplet of a safelisted (network, sender domain) passes at once.
        var config = new global::Assp.Config.ConfigLoader(global::Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false, AllowExec = false, HostResolver = _ => [] }
            .Load(new global::Assp.Config.ConfigSource(Base));
        using (var store = global::Assp.Storage.SqliteStore.OpenInBase(Base))
        {
            var greylist = new global::Assp.Checks.Delaying.Greylist(store);
            Assert.Equal(global::Assp.Checks.Delaying.DelayOutcome.Safelisted,
                greylist.Check(config, System.Net.IPAddress.Parse("192.0.2.77"), "news@mailer.example", "user@example.com").Outcome);
            Assert.Equal(global::Assp.Checks.Delaying.DelayOutcome.NewTriplet,
                greylist.Check(config, System.Net.IPAddress.Parse("192.0.2.77"), "news@other.example", "user@example.com").Outcome);
        }
        // The check renewed the tuple's time: put the original file's line back for the round trip below.
        Assert.Equal(0, (await Run("db", "import", "--base", Base, "--from", Assp)).Exit);

        // Round trip: exported again in ASSP's layout, every database file has the original's lines.
        var export = Path.Combine(_root, "export");
        (exit, text) = await Run("db", "export", "--base", Base, "--assp-files", export);
        Assert.True(exit == 0, text);
        foreach (var rel in new[] { "whitelist", "redlist", "pb/pbdb.black.db", "pb/pbdb.white.db", "delaydb", "delaydb.white" })
            Assert.Equal(Lines(Path.Combine(Assp, rel)), Lines(Path.Combine(export, rel)));
        static string[] Lines(string path) => File.ReadAllLines(path).Order(StringComparer.Ordinal).ToArray();
    }

    [Fact]
    public async Task A_folder_without_assp_cfg_is_refused()
    {
        var (exit, text) = await Run("import-assp", "--from", Path.Combine(Assp, "files"), "--base", Base);
        Assert.Equal(1, exit);
        Assert.Contains("has no assp.cfg", text);
    }
}
