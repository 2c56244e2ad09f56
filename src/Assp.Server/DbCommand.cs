using System.CommandLine;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Storage;
using Spectre.Console;

namespace Assp.Server;

/// <summary>`assp db status|helo|import|export`: the instance's databases and ASSP's file formats.</summary>
internal static class DbCommand
{
    public static Command Create(Option<DirectoryInfo> baseOption, IAnsiConsole console)
    {
        var db = new Command("db", "The instance's databases (whitelist, redlist, PenaltyBox, …): counts, import from ASSP, export for ASSP.");

        var status = new Command("status", "List the tables of data/assp.db with their record counts.");
        status.SetAction(parse => WithStore(console, parse.GetValue(baseOption)!.FullName, force: true, (cfg, store) =>
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Table").AddColumn(new TableColumn("Records").RightAligned());
            foreach (var name in store.TableNames.OrderBy(n => n, StringComparer.Ordinal))
                table.AddRow(Markup.Escape(name), store.Table(name).Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            console.Write(table);
            return 0;
        }));

        var from = new Option<DirectoryInfo?>("--from") { Description = "an ASSP base folder whose database files to import (default: the --base folder)" };
        var dbdir = new Option<DirectoryInfo?>("--dbdir") { Description = "a folder of ASSP export files (<table>.add adds, <table>.rpl replaces), e.g. ASSP's importDBDir" };
        var force = new Option<bool>("--force") { Description = "run even while an instance runs on the base folder (it will not see the change until restarted)" };
        var import = new Command("import", "Import ASSP's database files: its list files (whitelist, redlist, pb/pbdb.*.db, delaydb, persblack, …) or its export files.");
        import.Options.Add(from);
        import.Options.Add(dbdir);
        import.Options.Add(force);
        import.SetAction(parse => WithStore(console, parse.GetValue(baseOption)!.FullName, parse.GetValue(force), (cfg, store) =>
        {
            var source = parse.GetValue(dbdir)?.FullName ?? parse.GetValue(from)?.FullName;
            if (source is not null && !Directory.Exists(source))
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(source)} is not a folder");
                return 1;
            }
            IReadOnlyList<FlatFileImportResult> results = parse.GetValue(dbdir) is { } dir
                ? AsspFlatFiles.ImportDbDir(store, dir.FullName, renameToOk: false, progress: new SyncProgress(console))
                : AsspFlatFiles.ImportBaseFolder(store, (parse.GetValue(from)?.FullName) ?? cfg.BaseDirectory, Locations(cfg), new SyncProgress(console));
            store.Flush();
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Table").AddColumn("File").AddColumn("Mode")
                .AddColumn(new TableColumn("Imported").RightAligned()).AddColumn(new TableColumn("Skipped").RightAligned());
            foreach (var r in results)
                table.AddRow(Markup.Escape(r.Table), Markup.Escape(r.File), r.Mode.ToString().ToLowerInvariant(), $"{r.Imported:N0}", $"{r.Skipped:N0}");
            console.Write(table);
            foreach (var p in results.SelectMany(r => r.Problems).Take(20)) console.MarkupLine($"[yellow]skipped:[/] {Markup.Escape(p.ToString())}");
            if (results.Count == 0) console.MarkupLine("no ASSP database files found");
            return 0;
        }));

        var target = new Argument<DirectoryInfo?>("DIR") { Description = "the folder to write to (default: exportDBDir)", Arity = ArgumentArity.ZeroOrOne };
        var asspFiles = new Option<bool>("--assp-files") { Description = "write ASSP's list files (whitelist, pb/pbdb.*.db, …) as an ASSP base folder holds them, instead of its export format" };
        var export = new Command("export", "Export every table in ASSP's export format (<table>, LF, key\\x02value lines), or as ASSP's list files.");
        export.Arguments.Add(target);
        export.Options.Add(asspFiles);
        export.SetAction(parse => WithStore(console, parse.GetValue(baseOption)!.FullName, force: true, (cfg, store) =>
        {
            var dir = parse.GetValue(target)?.FullName ?? Path.GetFullPath(Path.Combine(cfg.BaseDirectory, cfg["exportDBDir"].Trim()));
            Directory.CreateDirectory(dir);
            var results = parse.GetValue(asspFiles) ? AsspFlatFiles.ExportBaseFolder(store, dir, Locations(cfg)) : AsspFlatFiles.ExportDbDir(store, dir);
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Table").AddColumn("File").AddColumn(new TableColumn("Records").RightAligned());
            foreach (var r in results) table.AddRow(Markup.Escape(r.Table), Markup.Escape(r.File), $"{r.Written:N0}");
            console.Write(table);
            return 0;
        }));

        // The HELO database (spamdb.helo): blacklisted and known good HELO names with their weights.
        var names = new Argument<string[]>("HELO") { Description = "HELO names to look up (default: list every entry)", Arity = ArgumentArity.ZeroOrMore };
        var helo = new Command("helo", "Show the HELO database (spamdb.helo): blacklisted HELOs (weight 1 or more) and known good ones (below 1).");
        helo.Arguments.Add(names);
        helo.SetAction(parse => WithStore(console, parse.GetValue(baseOption)!.FullName, force: true, (cfg, store) =>
        {
            var wanted = parse.GetValue(names) ?? [];
            var rows = wanted.Length > 0
                ? wanted.Select(n => (Helo: n.ToLowerInvariant(), Weight: Assp.Checks.Checks.HeloDatabase.Weight(store, n)))
                : store.Table(StoreTables.SpamDbHelo).Scan().OrderBy(r => r.Key, StringComparer.Ordinal)
                    .Select(r => (Helo: r.Key, Weight: Assp.Checks.Checks.HeloDatabase.Weight(store, r.Key)));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("HELO").AddColumn("Listed");
            int count = 0;
            foreach (var (name, weight) in rows)
            {
                table.AddRow(Markup.Escape(name), weight is { } w ? Assp.Checks.Checks.HeloDatabase.Describe(w) : "not listed");
                count++;
            }
            if (count == 0) console.MarkupLine("the HELO database (spamdb.helo) is empty");
            else console.Write(table);
            return 0;
        }));

        // The LDAP/VRFY cache (ldaplistdb): what ASSP's LDAPShowDB "Show file" button displays.
        var ldaplist = new Command("ldaplist", "Show the LDAP/VRFY address cache (ldaplistdb; ASSP's LDAPShowDB view): each address with its last mail and the day it expires (MaxLDAPlistDays).");
        ldaplist.SetAction(parse => WithStore(console, parse.GetValue(baseOption)!.FullName, force: true, (cfg, store) =>
        {
            double days = cfg.GetDecimal("MaxLDAPlistDays", 30);
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Address").AddColumn("Last mail (UTC)").AddColumn("Expires (UTC)");
            int count = 0;
            foreach (var row in store.Table(StoreTables.LdapList).Scan().OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                var first = row.Value.Value.Trim().Split(' ')[0];
                string last = "?", expires = "?";
                if (long.TryParse(first, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var t))
                {
                    last = DateTimeOffset.FromUnixTimeSeconds(t).ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
                    expires = days > 0 ? DateTimeOffset.FromUnixTimeSeconds(t).AddDays(days).ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) : "never";
                }
                table.AddRow(Markup.Escape(row.Key), last, expires);
                count++;
            }
            if (count == 0) console.MarkupLine("the LDAP/VRFY cache (ldaplistdb) is empty");
            else
            {
                console.Write(table);
                console.MarkupLine($"{count:N0} cached addresses");
            }
            return 0;
        }));

        db.Subcommands.Add(status);
        db.Subcommands.Add(helo);
        db.Subcommands.Add(ldaplist);
        db.Subcommands.Add(import);
        db.Subcommands.Add(export);
        return db;
    }

    /// <summary>Where the configuration says ASSP keeps each database file.</summary>
    internal static AsspFileLocations Locations(ConfigSnapshot cfg) => new()
    {
        Whitelistdb = cfg["whitelistdb"],
        Redlistdb = cfg["redlistdb"],
        Persblackdb = cfg["persblackdb"],
        Ldaplistdb = cfg["ldaplistdb"],
        Delaydb = cfg["delaydb"],
        Pbdb = cfg["pbdb"],
        Spamdb = cfg["spamdb"],
        Griplist = cfg["griplist"],
    };

    private static int WithStore(IAnsiConsole console, string baseDir, bool force, Func<ConfigSnapshot, IStore, int> action)
    {
        if (LoadOffline(console, baseDir, force, "stop it first (assp stop)") is not { } cfg) return 1;
        try
        {
            using var store = StoreFactory.Open(cfg, line => console.WriteLine(line));
            return action(cfg, store);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException
                                       or StoreConfigException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return 1;
        }
    }

    /// <summary>
    /// The configuration of a base folder for a command that works on its databases offline; null (after printing why)
    /// when it cannot be read or, without <paramref name="force"/>, while an instance runs there.
    /// </summary>
    internal static ConfigSnapshot? LoadOffline(IAnsiConsole console, string baseDir, bool force, string whatToDo)
    {
        ConfigSnapshot cfg;
        try
        {
            cfg = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false }.Load(new ConfigSource(baseDir));
        }
        catch (ConfigException ex)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return null;
        }
        if (!force && InstanceFiles.ReadPid(cfg) is { } pid && Unix.IsAlive(pid))
        {
            console.MarkupLine($"[red]error:[/] an instance (pid {pid}) runs on {Markup.Escape(baseDir)}; {whatToDo} or use --force");
            return null;
        }
        return cfg;
    }

    /// <summary>Progress printed on the calling thread, every 100,000 records and at the end of each file.</summary>
    private sealed class SyncProgress(IAnsiConsole console) : IProgress<FlatFileProgress>
    {
        private string? _file;
        public void Report(FlatFileProgress p)
        {
            if (p.File != _file)
            {
                _file = p.File;
                console.MarkupLine($"importing {Markup.Escape(p.File)} into {Markup.Escape(p.Table)}");
            }
            else if (p.Records > 0 && p.Records % 100_000 == 0)
                console.MarkupLine($"  {p.Records:N0} records ({p.Fraction:P0})");
        }
    }
}
