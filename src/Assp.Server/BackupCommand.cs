using System.CommandLine;
using System.Globalization;
using Assp.Config;
using Assp.Config.Scheduling;
using Assp.Storage;
using Spectre.Console;

namespace Assp.Server;

/// <summary>
/// Database backups as ASSP keeps them: every <c>backupDBInterval</c> hours each table is written to
/// <c>backupDBDir</c> in ASSP's export layout, ten versions per table (<see cref="AsspBackups"/>). With
/// <c>copyDBToOrgLoc</c> the newest backup of each list kept in PostgreSQL ("DB:") is also copied to the list's
/// local file location. With <c>mysqlSlaveMode</c> this node leaves the shared tables to the master and backs up
/// only its local ones. `assp backup` runs one now, `assp restore` puts a version back.
/// </summary>
internal static class BackupCommand
{
    /// <summary>The scheduled job: backupDBInterval hours (or crontab entries); empty or 0 turns it off.</summary>
    public static void RegisterJob(Scheduler scheduler, ConfigManager manager, IStore store, Action<string> log) =>
        scheduler.AddOrUpdate("backupDB", () => MaintenanceJobs.Interval(manager.Current["backupDBInterval"], TimeSpan.FromHours(1)), _ =>
            Task.Run(() =>
            {
                var cfg = manager.Current;
                var results = Run(cfg, store, Folder(cfg), null);
                long records = results.Sum(r => r.Written), skipped = results.Sum(r => r.Skipped);
                log($"backupDB: {results.Count} tables ({records:N0} records) written to {Folder(cfg)}" +
                    (skipped > 0 ? $"; {skipped:N0} records ASSP cannot read left out" : ""));
            }), "back up every table to backupDBDir every backupDBInterval hours (ten versions)");

    /// <summary>
    /// ASSP's import at start: the &lt;table&gt;.rpl / .add files in importDBDir for lists set to "DB:" are loaded
    /// (replace, then add) and renamed to .OK so they are not loaded twice. Other files stay where they are.
    /// </summary>
    public static IReadOnlyList<FlatFileImportResult> ImportAtStart(ConfigSnapshot cfg, IStore store, Action<string> log)
    {
        var value = cfg["importDBDir"].Trim();
        if (value.Length == 0) return [];
        var folder = Path.GetFullPath(Path.Combine(cfg.BaseDirectory, value));
        var results = AsspFlatFiles.ImportDbDir(store, folder, renameToOk: true, include: table =>
            StoreFactory.GoverningOption(table) is { } option && StoreFactory.IsDatabaseList(cfg[option]));
        store.Flush();
        foreach (var r in results)
            log($"importDBDir: {Path.GetFileName(r.File)} {(r.Mode == FlatImportMode.Replace ? "replaced" : "added to")} {r.Table}: " +
                $"{r.Imported:N0} records" + (r.Skipped > 0 ? $", {r.Skipped:N0} lines skipped (first: {r.Problems.FirstOrDefault()})" : ""));
        return results;
    }

    /// <summary>The backup folder (backupDBDir, relative to the base folder).</summary>
    public static string Folder(ConfigSnapshot cfg) => Path.GetFullPath(Path.Combine(cfg.BaseDirectory, cfg["backupDBDir"].Trim()));

    /// <summary>The tables this node backs up: all, except the shared ones on a mysqlSlaveMode node.</summary>
    public static IEnumerable<string> TablesToBackUp(ConfigSnapshot cfg, IStore store) =>
        store.TableNames.Where(t => !StoreFactory.LeftToMaster(cfg, t));

    /// <summary>One backup: every table of <see cref="TablesToBackUp"/>, then copyDBToOrgLoc.</summary>
    public static IReadOnlyList<BackupTableResult> Run(ConfigSnapshot cfg, IStore store, string folder, IProgress<string>? progress)
    {
        store.Flush();
        var results = AsspBackups.Backup(store, folder, TablesToBackUp(cfg, store), progress);
        if (cfg.GetBool("copyDBToOrgLoc"))
        {
            // The list's own file name (ASSP's default for its option) in the base folder: a plain-file copy of the shared table.
            var original = new AsspFileLocations().Files().ToDictionary(f => f.Table, f => f.RelativePath, StringComparer.Ordinal);
            foreach (var r in results)
                if (StoreFactory.IsShared(cfg, r.Table) && original.TryGetValue(r.Table, out var rel))
                {
                    var dest = Path.Combine(cfg.BaseDirectory, rel);
                    Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                    File.Copy(r.File, dest, overwrite: true);
                }
        }
        return results;
    }

    public static Command CreateBackup(Option<DirectoryInfo> baseOption, IAnsiConsole console)
    {
        var to = new Option<DirectoryInfo?>("--to") { Description = "the backup folder (default: backupDBDir)" };
        var command = new Command("backup", "Back up every table now into backupDBDir in ASSP's format (ten versions per table are kept).");
        command.Options.Add(to);
        command.SetAction(parse =>
        {
            // A backup reads a consistent store while the instance runs; no need to stop it.
            if (DbCommand.LoadOffline(console, parse.GetValue(baseOption)!.FullName, force: true, "") is not { } cfg) return 1;
            var folder = parse.GetValue(to)?.FullName ?? Folder(cfg);
            try
            {
                using var store = StoreFactory.Open(cfg, line => console.WriteLine(line));
                IReadOnlyList<BackupTableResult> results = [];
                var tables = TablesToBackUp(cfg, store).ToList();
                console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("backup", maxValue: Math.Max(1, tables.Count));
                        results = Run(cfg, store, folder, new Progress(task));
                        task.Value = task.MaxValue;
                    });
                var table = new Table().Border(TableBorder.Rounded).Title($"Backup to {Markup.Escape(folder)}")
                    .AddColumn("Table").AddColumn("File").AddColumn(new TableColumn("Records").RightAligned()).AddColumn(new TableColumn("Left out").RightAligned());
                foreach (var r in results)
                    table.AddRow(Markup.Escape(r.Table), Markup.Escape(Path.GetFileName(r.File)), N(r.Written), N(r.Skipped));
                console.Write(table);
                console.MarkupLine($"{results.Count} tables, {N(results.Sum(r => r.Written))} records" +
                                   (cfg.GetBool("mysqlSlaveMode") ? " (mysqlSlaveMode: the shared tables are left to the master)" : ""));
                foreach (var p in results.SelectMany(r => r.Problems).Take(20)) console.MarkupLine($"[yellow]left out:[/] {Markup.Escape(p.ToString())}");
                return 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or StoreConfigException)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
                return 1;
            }
        });
        return command;
    }

    public static Command CreateRestore(Option<DirectoryInfo> baseOption, IAnsiConsole console)
    {
        var from = new Option<DirectoryInfo?>("--from") { Description = "the backup folder (default: backupDBDir)" };
        var version = new Option<string>("--version") { Description = "L for the last backup (default), 1-9 for an older one (as fillUpImportDBDir)", DefaultValueFactory = _ => "L" };
        var tables = new Option<string[]>("--table") { Description = "restore only this table (repeatable)", AllowMultipleArgumentsPerToken = false };
        var list = new Option<bool>("--list") { Description = "show the backups found and restore nothing" };
        var force = new Option<bool>("--force") { Description = "run even while an instance runs on the base folder" };
        var command = new Command("restore", "Replace tables with a backup from backupDBDir (the instance must be stopped).");
        command.Options.Add(from);
        command.Options.Add(version);
        command.Options.Add(tables);
        command.Options.Add(list);
        command.Options.Add(force);
        command.SetAction(parse =>
        {
            bool listOnly = parse.GetValue(list);
            if (DbCommand.LoadOffline(console, parse.GetValue(baseOption)!.FullName, force: listOnly || parse.GetValue(force), "stop it first (assp stop)") is not { } cfg)
                return 1;
            var folder = parse.GetValue(from)?.FullName ?? Folder(cfg);
            if (!AsspBackups.TryParseVersion(parse.GetValue(version), out int v))
            {
                console.MarkupLine($"[red]error:[/] --version '{Markup.Escape(parse.GetValue(version) ?? "")}' must be L or 1-9");
                return 2;
            }
            var found = AsspBackups.List(folder);
            if (listOnly)
            {
                var t = new Table().Border(TableBorder.Rounded).Title($"Backups in {Markup.Escape(folder)}")
                    .AddColumn("Table").AddColumn("Version").AddColumn("Written (UTC)").AddColumn(new TableColumn("Bytes").RightAligned());
                foreach (var b in found)
                    t.AddRow(Markup.Escape(b.Table), b.Version == 0 ? "L" : b.Version.ToString(CultureInfo.InvariantCulture),
                        b.WrittenUtc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), N(b.Bytes));
                console.Write(t);
                return 0;
            }
            var wanted = parse.GetValue(tables) is { Length: > 0 } named ? named : null;
            if (!found.Any(b => b.Version == v && (wanted is null || wanted.Contains(b.Table))))
            {
                console.MarkupLine($"[red]error:[/] no backup version {(v == 0 ? "L" : v)} in {Markup.Escape(folder)}" +
                                   (wanted is null ? "" : " for " + Markup.Escape(string.Join(", ", wanted))));
                return 1;
            }
            try
            {
                using var store = StoreFactory.Open(cfg, line => console.WriteLine(line));
                IReadOnlyList<FlatFileImportResult> results = [];
                console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("restore", maxValue: 1);
                        results = AsspBackups.Restore(store, folder, v, wanted, new ImportProgress(task));
                        task.Value = 1;
                    });
                var table = new Table().Border(TableBorder.Rounded).Title($"Restore from {Markup.Escape(folder)}")
                    .AddColumn("Table").AddColumn("File").AddColumn(new TableColumn("Records").RightAligned()).AddColumn(new TableColumn("Skipped").RightAligned());
                foreach (var r in results)
                    table.AddRow(Markup.Escape(r.Table), Markup.Escape(Path.GetFileName(r.File)), N(r.Imported), N(r.Skipped));
                console.Write(table);
                console.MarkupLine($"{results.Count} tables restored, {N(results.Sum(r => r.Imported))} records");
                foreach (var p in results.SelectMany(r => r.Problems).Take(20)) console.MarkupLine($"[yellow]skipped:[/] {Markup.Escape(p.ToString())}");
                return 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or StoreConfigException)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
                return 1;
            }
        });
        return command;
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private sealed class Progress(ProgressTask task) : IProgress<string>
    {
        private bool _started;
        public void Report(string table)
        {
            if (_started) task.Increment(1);
            _started = true;
            task.Description = "backup " + table;
        }
    }

    private sealed class ImportProgress(ProgressTask task) : IProgress<FlatFileProgress>
    {
        public void Report(FlatFileProgress p)
        {
            task.Description = "restore " + p.Table;
            task.Value = p.Fraction;
        }
    }
}
