namespace Assp.Server.Tests;

/// <summary>`assp db`: ASSP's database files in, counts shown, ASSP's formats out; the analyzer sees imported data.</summary>
public sealed class DbCommandTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "assp-db-" + Guid.NewGuid().ToString("N"));

    public DbCommandTests()
    {
        Directory.CreateDirectory(Path.Combine(_base, "pb"));
        File.WriteAllText(Path.Combine(_base, "assp.cfg"), "blackListedDomains:=friends.example\nDoBlackDomainWL:=0\n");
        // ASSP's files as an ASSP base folder holds them: key \x02 value per line.
        File.WriteAllText(Path.Combine(_base, "whitelist"), "\nbuddy@friends.example\u00021767225600\nother@x.example\u00021767225601\n");
        File.WriteAllText(Path.Combine(_base, "redlist"), "\nauto@x.example\u00021767225600\n");
        File.WriteAllText(Path.Combine(_base, "pb", "pbdb.black.db"), "\n198.51.100.7\u00021767225600 1767225600 3 75 198.51.100.7 DNSBL\n");
        File.WriteAllText(Path.Combine(_base, "mail.eml"), "From: buddy@friends.example\r\nTo: me@local.example\r\nSubject: hi\r\n\r\nyo\r\n");
    }

    public void Dispose()
    {
        try { Directory.Delete(_base, true); } catch (IOException) { }
    }

    private async Task<(int Exit, string Out)> Run(params string[] args)
    {
        var output = new StringWriter();
        int exit = await Cli.RunAsync([.. args, "--base", _base], output, new StringWriter());
        return (exit, output.ToString());
    }

    [Fact]
    public async Task ImportStatusAnalyzeExport()
    {
        var (exit, text) = await Run("db", "import");
        Assert.Equal(0, exit);
        Assert.Contains("whitelist", text);
        Assert.Contains("pbdb.black.db", text);

        (exit, text) = await Run("db", "status");
        Assert.Equal(0, exit);
        Assert.Matches(@"whitelist\s*│\s*2", text);
        Assert.Matches(@"redlist\s*│\s*1", text);

        // The imported whitelist makes the blacklisted-domain sender whitelisted; DoBlackDomainWL 0 lets it pass.
        (exit, text) = await Run("analyze", "--json", Path.Combine(_base, "mail.eml"));
        Assert.Equal(0, exit);
        Assert.Contains("\"decision\":\"pass\"", text);
        Assert.Contains("whitelisted", text);

        var export = Path.Combine(_base, "export");
        (exit, _) = await Run("db", "export", export);
        Assert.Equal(0, exit);
        var whitelist = File.ReadAllText(Path.Combine(export, "whitelist"));
        Assert.Contains("buddy@friends.example\u00021767225600", whitelist);
    }

    [Fact]
    public async Task TheHeloDatabaseIsImportedShownAndUsedByTheAnalyzer()
    {
        File.WriteAllText(Path.Combine(_base, "spamdb.helo"), "\nbot.example\u00025\ngood.example\u00020.2\n");
        File.AppendAllText(Path.Combine(_base, "assp.cfg"), "useHeloBlacklist:=1\nPenaltyMessageLimit:=500\n");
        Assert.Equal(0, (await Run("db", "import")).Exit);

        var (exit, text) = await Run("db", "helo");
        Assert.Equal(0, exit);
        Assert.Matches(@"bot\.example\s*│\s*blacklisted \(weight 5\)", text);
        Assert.Matches(@"good\.example\s*│\s*good \(weight 0\.2\)", text);
        (_, text) = await Run("db", "helo", "BOT.example", "new.example");
        Assert.Matches(@"bot\.example\s*│\s*blacklisted", text);
        Assert.Matches(@"new\.example\s*│\s*not listed", text);

        var eml = Path.Combine(_base, "bot.eml");
        File.WriteAllText(eml, "From: x@far.example\r\nTo: me@local.example\r\nSubject: offer\r\n\r\nbuy\r\n");
        (exit, text) = await Run("analyze", "--json", "--ip", "198.51.100.20", "--helo", "bot.example", "--from", "x@far.example",
            "--rcpt", "me@local.example", eml);
        Assert.Equal(0, exit);
        Assert.Contains("\"check\":\"useHeloBlacklist\",\"outcome\":\"block\"", text);
        Assert.Contains("\"decision\":\"block\"", text);
    }

    [Fact]
    public async Task TheLdapCacheIsImportedAndListed()
    {
        var (exit, text) = await Run("db", "ldaplist");
        Assert.Equal(0, exit);
        Assert.Contains("ldaplistdb) is empty", text);

        // 1767225600 = 2026-01-01 00:00 UTC; MaxLDAPlistDays 30 keeps it to 2026-01-31.
        File.WriteAllText(Path.Combine(_base, "ldaplist"), "\nalice@local.example\u00021767225600 1\n");
        Assert.Equal(0, (await Run("db", "import")).Exit);
        (exit, text) = await Run("db", "ldaplist");
        Assert.Equal(0, exit);
        Assert.Matches(@"alice@local\.example\s*│\s*2026-01-01 00:00\s*│\s*2026-01-31 00:00", text);
        Assert.Contains("1 cached addresses", text);
    }

    [Fact]
    public async Task AMissingSourceFolderIsAClearError()
    {
        var (exit, text) = await Run("db", "import", "--dbdir", Path.Combine(_base, "nope"));
        Assert.NotEqual(0, exit);
        Assert.Contains("nope", text);
    }
}
