using System.CommandLine;
using Assp.Config;
using Assp.Config.Files;
using Assp.Storage;
using Spectre.Console;

namespace Assp.Server;

/// <summary>
/// `assp export --to DIR`: the way back to ASSP. Writes an ASSP base folder: assp.cfg holding every option with this
/// instance's value (its other lines kept), the list files it refers to (same relative paths), and the databases in
/// ASSP's flat-file formats where its options put them. Lists set to "DB:" go to importDBDir as &lt;table&gt;.rpl,
/// which ASSP loads into its own database at start.
/// </summary>
internal static class ExportCommand
{
    public static Command Create(Option<DirectoryInfo> baseOption, IAnsiConsole console)
    {
        var to = new Option<DirectoryInfo>("--to") { Description = "the folder to write the ASSP base folder into (created when missing)", Required = true };
        var command = new Command("export", "Write an ASSP base folder from this instance: assp.cfg, list files, databases in ASSP's formats.");
        command.Options.Add(to);
        command.SetAction(parse =>
        {
            var rows = new List<MigrationRow>();
            int exit = Run(console, parse.GetValue(baseOption)!.FullName, parse.GetValue(to)!.FullName, rows);
            if (rows.Count > 0) WriteSummary(console, rows);
            return exit;
        });
        return command;
    }

    internal static int Run(IAnsiConsole console, string baseDir, string target, List<MigrationRow> rows)
    {
        // Reading the store while the instance runs is safe (SQLite WAL / PostgreSQL); the copy is of this moment.
        if (DbCommand.LoadOffline(console, baseDir, force: true, "") is not { } cfg) return 1;
        target = Path.GetFullPath(target);
        if (string.Equals(target.TrimEnd('/'), cfg.BaseDirectory.TrimEnd('/'), StringComparison.Ordinal))
        {
            console.MarkupLine("[red]error:[/] --to must be another folder than the base folder");
            return 1;
        }
        try
        {
            Directory.CreateDirectory(target);
            // 1. assp.cfg: the base folder's lines (unknown options included) with every option set to the value in use.
            var file = File.Exists(cfg.ConfigPath) ? AsspConfigFile.Load(cfg.ConfigPath) : AsspConfigFile.CreateEmpty();
            int options = 0;
            foreach (var (option, value) in cfg.All())
            {
                file.Set(option.Name, value);
                options++;
            }
            // Corpus folders stay where they are: relative names would point into the new folder.
            foreach (var (option, what) in ImportAsspCommand.CorpusFolders)
            {
                var value = cfg[option].Trim();
                if (value.Length == 0 || Path.IsPathRooted(value)) continue;
                var folder = Path.GetFullPath(Path.Combine(cfg.BaseDirectory, value));
                if (!Directory.Exists(folder)) continue;
                file.Set(option, folder);
                rows.Add(new("corpus", $"{option} ({value})", "referenced", Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).LongCount(),
                    $"{what}; {option} names {folder}"));
            }
            file.Save(Path.Combine(target, "assp.cfg"));
            File.Delete(Path.Combine(target, "assp.cfg.bak"));
            rows.Insert(0, new("config", "assp.cfg", "written", options, "every option with the value in use; unknown lines kept"));

            // 2. list files: the files assp.cfg refers to and everything under files/.
            var listFiles = cfg.FilesRead.Keys.ToHashSet(StringComparer.Ordinal);
            var filesDir = Path.Combine(cfg.BaseDirectory, "files");
            if (Directory.Exists(filesDir))
                foreach (var f in Directory.EnumerateFiles(filesDir, "*", SearchOption.AllDirectories)) listFiles.Add(Path.GetFullPath(f));
            foreach (var path in listFiles.Order(StringComparer.Ordinal))
            {
                var rel = Path.GetRelativePath(cfg.BaseDirectory, path);
                if (!File.Exists(path)) continue;
                if (rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel))
                {
                    rows.Add(new("list file", path, "skipped", 0, "outside the base folder; assp.cfg keeps referring to it there"));
                    continue;
                }
                var dest = Path.Combine(target, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                File.Copy(path, dest, overwrite: true);
                rows.Add(new("list file", rel, "copied", File.ReadLines(path).LongCount(), ""));
            }

            // 3. databases: at the file locations of assp.cfg; DB: lists as importDBDir/<table>.rpl for ASSP's database.
            using var store = StoreFactory.Open(cfg, null);
            var existing = store.TableNames.ToHashSet(StringComparer.Ordinal);
            // HMMdb is keyed by chain hash here, which ASSP cannot read: ASSP rebuilds its own from the corpus folders.
            foreach (var r in AsspFlatFiles.ExportBaseFolder(store, target, DbCommand.Locations(cfg), t => t != AsspDatabases.HmmDb))
                rows.Add(new("database", Path.GetRelativePath(target, r.File), $"written ← {r.Table}", r.Written, Skipped(r)));
            if (existing.Contains(AsspDatabases.HmmDb))
                rows.Add(new("database", AsspDatabases.HmmDb, "skipped", store.Table(AsspDatabases.HmmDb).Count,
                    "kept by chain hash here, which ASSP cannot read; ASSP's rebuild makes its own from the corpus folders"));
            var importDir = Path.Combine(target, cfg["importDBDir"].Trim());
            foreach (var table in existing.Order(StringComparer.Ordinal))
            {
                if (table == AsspDatabases.HmmDb || StoreFactory.GoverningOption(table) is not { } option || !StoreFactory.IsDatabaseList(cfg[option])) continue;
                var r = AsspFlatFiles.ExportFile(store.Table(table), Path.Combine(importDir, AsspFlatFiles.AsspTableName(table) + ".rpl"));
                rows.Add(new("database", Path.GetRelativePath(target, r.File), $"written ← {r.Table}", r.Written,
                    $"{option} is DB:; ASSP imports it into its database at start. " + Skipped(r)));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException
                                       or StoreConfigException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return 1;
        }
        return 0;
    }

    private static string Skipped(FlatFileExportResult r) =>
        r.Skipped == 0 ? "" : $"{r.Skipped:N0} records ASSP cannot read left out, first: {r.Problems.FirstOrDefault()?.Reason ?? "?"}";

    private static void WriteSummary(IAnsiConsole console, List<MigrationRow> rows)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Export to ASSP")
            .AddColumn("What").AddColumn("Item").AddColumn("Result").AddColumn(new TableColumn("Count").RightAligned()).AddColumn("Why");
        foreach (var r in rows)
            table.AddRow(Markup.Escape(r.Kind), Markup.Escape(r.Item), r.Skipped ? $"[yellow]{Markup.Escape(r.Result)}[/]" : Markup.Escape(r.Result),
                r.Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(r.Why));
        console.Write(table);
        long records = rows.Where(r => r.Kind == "database").Sum(r => r.Count);
        console.MarkupLine($"{rows.Count(r => r.Kind == "list file" && !r.Skipped)} list files, {records:N0} database records, {rows.Count(r => r.Skipped)} skipped.");
    }
}
