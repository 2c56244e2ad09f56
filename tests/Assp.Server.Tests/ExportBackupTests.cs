using System.Globalization;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Storage;
using Assp.Storage.Tests;

namespace Assp.Server.Tests;

/// <summary>
/// The way back to ASSP (`assp export`), backups (`assp backup` / `assp restore`, backupDBInterval's job),
/// importDBDir at start, mysqlSlaveMode and copyDBToOrgLoc, and ASSP's spamdb files as ASSP writes them.
/// </summary>
public sealed class ExportBackupTests(PostgresServer postgres) : IClassFixture<PostgresServer>, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "assp-export-" + Guid.NewGuid().ToString("N"));
    private string Assp => Path.Combine(_root, "assp");
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private static string T(long agoSeconds) => (Now - agoSeconds).ToString(CultureInfo.InvariantCulture);

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    /// <summary>An ASSP 2.x base folder: assp.cfg with a file: list, list files, databases in ASSP's formats.</summary>
    private void WriteAsspFolder()
    {
        foreach (var d in new[] { "files", "pb", "spam" }) Directory.CreateDirectory(Path.Combine(Assp, d));
        File.WriteAllText(Path.Combine(Assp, "assp.cfg"), string.Join("\n",
            "listenPort:=25", "smtpDestination:=127.0.0.1:125", "localDomains:=file:files/localdomains.txt",
            "blackListedDomains:=file:files/blackdomains.txt", "DoBlackDomainWL:=0", "DoPenalty:=1", "PenaltyLimit:=50", "spamlog:=spam",
            "MaxWhitelistDays:=90", "someOldPerlOnlyOption:=1", "ConfigSavedOK:=1", ""));
        File.WriteAllText(Path.Combine(Assp, "files", "localdomains.txt"), "example.com\n");
        File.WriteAllText(Path.Combine(Assp, "files", "blackdomains.txt"), "far.example\n");
        File.WriteAllText(Path.Combine(Assp, "spam", "1.eml"), "Subject: x\r\n\r\ny\r\n");
        File.WriteAllText(Path.Combine(Assp, "whitelist"), $"\nboss@partner.example,user@example.com\u0002{T(3600)}\nbuddy@far.example\u0002{T(86400)}\n");
        File.WriteAllText(Path.Combine(Assp, "redlist"), $"\nnewsletter@lists.example\u0002{T(7200)}\n");
        File.WriteAllText(Path.Combine(Assp, "pb", "pbdb.black.db"), $"\n203.0.113.0\u0002{T(1800)} {T(600)} 4 120 203.0.113.66 DNSBL:_listed_in_zen\n");
        File.WriteAllText(Path.Combine(Assp, "delaydb.white"), $"\n192.0.2 mailer.example\u0002{T(86400)}\n");
        // spamdb as ASSP's rebuild writes it: pairs of words with their spam probability, private records prefixed by
        // the recipient, the version record; spamdb.helo: HELO names with their weight.
        File.WriteAllText(Path.Combine(Assp, "spamdb"), "\n" + string.Join("", new[]
        {
            "***DB-VERSION***\u00022", "buy cheap\u00020.9871", "cheap pills\u00020.9912", "now online\u00020.9655", "online pharmacy\u00020.9934",
            "pills now\u00020.9802", "budget meeting\u00020.0112", "meeting thursday\u00020.0134", "project budget\u00020.0098",
            "thursday afternoon\u00020.0121", "user@example.com project budget\u00020.9800",
        }.Order(StringComparer.Ordinal).Select(l => l + "\n")));
        File.WriteAllText(Path.Combine(Assp, "spamdb.helo"), "\nbad.helo.example\u00021\ngood.helo.example\u00020.2\n");
        File.WriteAllText(Path.Combine(Assp, "HMMdb"), "\nbuy cheap pills now online\u00020.99\n");
    }

    private static async Task<(int Exit, string Out)> Run(params string[] args)
    {
        var output = new StringWriter();
        int exit = await Cli.RunAsync(args, output, new StringWriter());
        return (exit, output.ToString());
    }

    private static ConfigSnapshot Load(string baseDir) =>
        new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false, HostResolver = _ => [] }.Load(new ConfigSource(baseDir));

    private static Dictionary<string, Dictionary<string, string>> Tables(string baseDir)
    {
        using var store = SqliteStore.OpenInBase(baseDir);
        return store.TableNames.Order(StringComparer.Ordinal).ToDictionary(t => t,
            t => store.Table(t).Scan().ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal), StringComparer.Ordinal);
    }

    [Fact]
    public async Task Import_then_export_then_import_again_gives_the_same_configuration_lists_and_databases()
    {
        WriteAsspFolder();
        string first = Path.Combine(_root, "first"), back = Path.Combine(_root, "back"), second = Path.Combine(_root, "second");
        var (exit, text) = await Run("import-assp", "--from", Assp, "--base", first);
        Assert.True(exit == 0, text);
        Assert.Matches(@"HMMdb\s*│\s*skipped\s*│\s*0\s*│\s*ASSP's HMM chains", text);

        (exit, text) = await Run("export", "--base", first, "--to", back);
        Assert.True(exit == 0, text);
        Assert.Contains("Export to ASSP", text);
        Assert.Matches(@"config\s*│\s*assp\.cfg\s*│\s*written", text);
        Assert.Matches(@"pb/pbdb\.black\.db\s*│\s*written ← pbdb\.black\.db\s*│\s*1", text);
        Assert.Matches(@"list file\s*│\s*files/blackdomains\.txt\s*│\s*copied", text);

        // The exported files are what ASSP reads: same records as the originals, in ASSP's layout.
        foreach (var rel in new[] { "whitelist", "redlist", "pb/pbdb.black.db", "delaydb.white", "spamdb.helo" })
            Assert.Equal(File.ReadAllLines(Path.Combine(Assp, rel)).Order(StringComparer.Ordinal), File.ReadAllLines(Path.Combine(back, rel)).Order(StringComparer.Ordinal));
        Assert.False(File.Exists(Path.Combine(back, "HMMdb")));
        var cfgText = File.ReadAllText(Path.Combine(back, "assp.cfg"));
        Assert.Contains("PenaltyLimit:=50\n", cfgText);
        Assert.Contains("someOldPerlOnlyOption:=1\n", cfgText);       // unknown lines go back too
        Assert.Contains("localDomains:=file:files/localdomains.txt\n", cfgText);
        Assert.Contains($"spamlog:={Path.Combine(Assp, "spam")}\n", cfgText);
        Assert.EndsWith("ConfigSavedOK:=1\n", cfgText);
        Assert.Equal("far.example\n", File.ReadAllText(Path.Combine(back, "files", "blackdomains.txt")));

        (exit, text) = await Run("import-assp", "--from", back, "--base", second);
        Assert.True(exit == 0, text);
        var a = Load(first);
        var b = Load(second);
        foreach (var (option, value) in a.All())
            Assert.True(value == b[option.Name], $"{option.Name}: '{value}' became '{b[option.Name]}'");
        var tablesA = Tables(first);
        var tablesB = Tables(second);
        Assert.Equal(tablesA.Keys.Where(t => tablesA[t].Count > 0), tablesB.Keys.Where(t => tablesB[t].Count > 0));
        foreach (var (table, records) in tablesA.Where(t => t.Value.Count > 0))
            Assert.Equal(records, tablesB[table]);
        Assert.Equal(2, tablesB[StoreTables.Whitelist].Count);
    }

    [Fact]
    public async Task Export_refuses_the_base_folder_itself()
    {
        WriteAsspFolder();
        var (exit, text) = await Run("export", "--base", Assp, "--to", Assp);
        Assert.Equal(1, exit);
        Assert.Contains("another folder", text);
    }

    [Fact]
    public async Task ASSPs_spamdb_and_spamdb_helo_act_as_written_by_ASSP()
    {
        WriteAsspFolder();
        string base1 = Path.Combine(_root, "base");
        var (exit, text) = await Run("import-assp", "--from", Assp, "--base", base1);
        Assert.True(exit == 0, text);
        Assert.Matches(@"spamdb\s*│\s*imported → spamdb\s*│\s*11", text);
        using var store = SqliteStore.OpenInBase(base1);
        var db = global::Assp.Bayes.SpamDbStore.Load(store);
        var spam = global::Assp.Bayes.Classifier.Bayes(db, global::Assp.Bayes.Tokenizer.Words("buy cheap pills now online pharmacy"), default, 60);
        var ham = global::Assp.Bayes.Classifier.Bayes(db, global::Assp.Bayes.Tokenizer.Words("project budget meeting thursday afternoon"), default, 60);
        Assert.True(spam.Probability > 0.9, spam.Probability.ToString(CultureInfo.InvariantCulture));
        Assert.True(ham.Probability < 0.1, ham.Probability.ToString(CultureInfo.InvariantCulture));
        // The private record (recipient prefix) outweighs the global one for that recipient only.
        var mine = global::Assp.Bayes.Classifier.Bayes(db, global::Assp.Bayes.Tokenizer.Words("project budget"), new global::Assp.Bayes.PrivateScope("user@example.com", null), 60, explain: true);
        Assert.Contains(mine.Tokens, t => t.Token == "private: project budget" && t.Probability > 0.9);
        Assert.False(db.HasHmm);
        Assert.True(global::Assp.Checks.Checks.HeloDatabase.Weight(store, "bad.helo.example") >= 1);
        Assert.True(global::Assp.Checks.Checks.HeloDatabase.Weight(store, "good.helo.example") < 1);
    }

    [Fact]
    public async Task Backup_then_restore_into_an_empty_store_and_the_restored_whitelist_acts_on_the_next_mail()
    {
        WriteAsspFolder();
        string base1 = Path.Combine(_root, "base");
        Assert.Equal(0, (await Run("import-assp", "--from", Assp, "--base", base1)).Exit);
        File.AppendAllText(Path.Combine(base1, "assp.cfg"), "backupDBDir:=backups\n");
        var (exit, text) = await Run("backup", "--base", base1);
        Assert.True(exit == 0, text);
        Assert.Matches(@"whitelist\s*│\s*whitelist\.bak\s*│\s*2", text);
        Assert.True(File.Exists(Path.Combine(base1, "backups", "pbdb.black.db.bak")));
        Assert.Equal(0, (await Run("backup", "--base", base1)).Exit);
        Assert.True(File.Exists(Path.Combine(base1, "backups", "whitelist.bak.1")));
        (exit, text) = await Run("restore", "--base", base1, "--list");
        Assert.True(exit == 0, text);
        Assert.Matches(@"whitelist\s*│\s*1\s*│", text);

        // Lose the database, restore the last backup into the new empty one.
        foreach (var f in Directory.GetFiles(Path.Combine(base1, "data"), "assp.db*")) File.Delete(f);
        Assert.Empty(Tables(base1).GetValueOrDefault(StoreTables.Whitelist) ?? []);
        (exit, text) = await Run("restore", "--base", base1);
        Assert.True(exit == 0, text);
        Assert.Matches(@"whitelist\s*│\s*whitelist\.bak\s*│\s*2", text);

        var eml = Path.Combine(_root, "mail.eml");
        File.WriteAllText(eml, "From: buddy@far.example\r\nTo: user@example.com\r\nSubject: hi\r\n\r\nyo\r\n");
        (exit, text) = await Run("analyze", "--base", base1, "--json", "--ip", "192.0.2.44", "--from", "buddy@far.example", "--rcpt", "user@example.com", eml);
        Assert.True(exit == 0, text);
        Assert.Contains("\"decision\":\"pass\"", text);
        Assert.Contains("whitelisted", text);

        (exit, text) = await Run("restore", "--base", base1, "--version", "12");
        Assert.Equal(2, exit);
        Assert.Contains("must be L or 1-9", text);
        (exit, text) = await Run("restore", "--base", base1, "--version", "7");
        Assert.Equal(1, exit);
        Assert.Contains("no backup version 7", text);
    }

    private ConfigSnapshot PgConfig(string baseDir, string extra)
    {
        Directory.CreateDirectory(baseDir);
        string db = postgres.CreateDatabase();
        File.WriteAllText(Path.Combine(baseDir, "assp.cfg"), $"DBdriver:=Pg\nmyhost:=127.0.0.1:{postgres.Port}\nmydb:={db}\nmyuser:={PostgresServer.User}\n" +
            $"mypassword:={PostgresServer.Password}\nwhitelistdb:=DB:\nbackupDBDir:=bk\n" + extra);
        return Load(baseDir);
    }

    [Fact]
    public void A_mysqlSlaveMode_node_backs_up_only_its_local_tables_and_copyDBToOrgLoc_writes_the_shared_list_file()
    {
        string master = Path.Combine(_root, "master");
        var cfg = PgConfig(master, "copyDBToOrgLoc:=1\n");
        using (var store = StoreFactory.Open(cfg, null))
        {
            store.Table(StoreTables.Whitelist).Set("shared@example.com", T(60));
            store.Table(StoreTables.Redlist).Set("local@example.com", T(60));
            var results = BackupCommand.Run(cfg, store, BackupCommand.Folder(cfg), null);
            Assert.Contains(results, r => r.Table == StoreTables.Whitelist && r.Written == 1);
            Assert.Contains(results, r => r.Table == StoreTables.Redlist && r.Written == 1);
        }
        // copyDBToOrgLoc: the shared whitelist also lands where ASSP's whitelist file is; the local redlist does not.
        Assert.Contains("shared@example.com\u0002", File.ReadAllText(Path.Combine(master, "whitelist")));
        Assert.False(File.Exists(Path.Combine(master, "redlist")));

        string slave = Path.Combine(_root, "slave");
        cfg = PgConfig(slave, "mysqlSlaveMode:=1\ncopyDBToOrgLoc:=0\n");
        using (var store = StoreFactory.Open(cfg, null))
        {
            store.Table(StoreTables.Whitelist).Set("shared@example.com", T(60));
            store.Table(StoreTables.Redlist).Set("local@example.com", T(60));
            var results = BackupCommand.Run(cfg, store, BackupCommand.Folder(cfg), null);
            Assert.DoesNotContain(results, r => r.Table == StoreTables.Whitelist);
            Assert.Contains(results, r => r.Table == StoreTables.Redlist);
            Assert.True(StoreFactory.LeftToMaster(cfg, StoreTables.Whitelist));
            Assert.False(StoreFactory.LeftToMaster(cfg, StoreTables.Redlist));
        }
        Assert.False(File.Exists(Path.Combine(slave, "bk", "whitelist.bak")));
        Assert.False(File.Exists(Path.Combine(slave, "whitelist")));
    }

    [Fact]
    public void ImportDBDir_files_of_DB_lists_are_imported_at_start_and_renamed_OK()
    {
        string baseDir = Path.Combine(_root, "import");
        var cfg = PgConfig(baseDir, "importDBDir:=in\n");
        Directory.CreateDirectory(Path.Combine(baseDir, "in"));
        File.WriteAllText(Path.Combine(baseDir, "in", "whitelist.rpl"), $"\nnew@example.com\u0002{T(60)}\n");
        File.WriteAllText(Path.Combine(baseDir, "in", "redlist.add"), $"\nred@example.com\u0002{T(60)}\n");
        var log = new List<string>();
        using var store = StoreFactory.Open(cfg, null);
        store.Table(StoreTables.Whitelist).Set("old@example.com", T(60));
        var results = BackupCommand.ImportAtStart(cfg, store, log.Add);
        Assert.Single(results);
        Assert.True(store.Table(StoreTables.Whitelist).ContainsKey("new@example.com"));
        Assert.False(store.Table(StoreTables.Whitelist).ContainsKey("old@example.com"));
        Assert.True(File.Exists(Path.Combine(baseDir, "in", "whitelist.rpl.OK")));
        // redlist is not DB: here, so its file is not ASSP's to import (and stays for the admin to see).
        Assert.True(File.Exists(Path.Combine(baseDir, "in", "redlist.add")));
        Assert.False(store.Table(StoreTables.Redlist).ContainsKey("red@example.com"));
        Assert.Contains(log, l => l.Contains("importDBDir: whitelist.rpl replaced whitelist: 1 records"));
    }

    [Theory]
    [InlineData("DBCacheMaxAge", "10")]
    [InlineData("useDB4griplist", "1")]
    [InlineData("preventBulkImport", "1")]
    [InlineData("ImportMysqlDB", "1")]
    [InlineData("ExportMysqlDB", "1")]
    [InlineData("fillUpImportDBDir", "L")]
    [InlineData("adminusersdbNoBIN", "1")]
    public void Database_options_done_differently_warn_with_option_and_value(string option, string value)
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "assp.cfg"), $"{option}:={value}\n");
        var issue = Assert.Single(Load(_root).Issues, i => i.Option == option);
        Assert.Equal(IssueSeverity.Warning, issue.Severity);
        Assert.Equal(value, issue.Value);
        Assert.StartsWith("not used:", issue.Message);

        // Their defaults (as ASSP writes them into every assp.cfg) are quiet.
        File.WriteAllText(Path.Combine(_root, "assp.cfg"), $"{option}:={OptionRegistry.Default.Get(option).Default}\n");
        Assert.DoesNotContain(Load(_root).Issues, i => i.Option == option);
    }
}
