using System.CommandLine;
using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Registry;
using Assp.Storage;
using Spectre.Console;

namespace Assp.Server;

/// <summary>One line of the import summary: what was looked at, what became of it and why.</summary>
internal sealed record MigrationRow(string Kind, string Item, string Result, long Count, string Why)
{
    public bool Skipped => Result is "skipped" or "would skip";
}

/// <summary>
/// `assp import-assp --from ASSPDIR`: moves an ASSP installation into a base folder — its assp.cfg (merged, our
/// unknown options reported), the list files assp.cfg refers to (same relative paths), its flat-file databases and
/// its corpus folders (copied, or referenced where they are).
/// </summary>
internal static class ImportAsspCommand
{
    /// <summary>The corpus folders ASSP keeps (option name → what it holds).</summary>
    internal static readonly (string Option, string What)[] CorpusFolders =
    [
        ("spamlog", "spam"), ("notspamlog", "not spam"), ("incomingOkMail", "ok mail"), ("discarded", "discarded"),
        ("viruslog", "quarantine"), ("correctedspam", "corrected spam"), ("correctednotspam", "corrected not spam"),
    ];

    internal enum CorpusMode { Reference, Copy, Skip }

    public static Command Create(Option<DirectoryInfo> baseOption, IAnsiConsole console)
    {
        var from = new Option<DirectoryInfo>("--from") { Description = "the ASSP base folder to migrate (holds assp.cfg, files/, whitelist, pb/, …)", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "read everything and show what would be imported; write nothing" };
        var force = new Option<bool>("--force") { Description = "run even while an instance runs on the base folder" };
        var corpus = new Option<CorpusMode>("--corpus")
        {
            Description = "corpus folders (spam, notspam, okmail, errors/…): reference them in ASSP's folder (default), copy them, or skip them",
            DefaultValueFactory = _ => CorpusMode.Reference,
        };
        var command = new Command("import-assp", "Migrate an ASSP installation into the base folder: assp.cfg, list files, databases, corpus folders.");
        command.Options.Add(from);
        command.Options.Add(dryRun);
        command.Options.Add(force);
        command.Options.Add(corpus);
        command.SetAction(parse =>
        {
            var rows = new List<MigrationRow>();
            int exit = Run(console, parse.GetValue(from)!.FullName, parse.GetValue(baseOption)!.FullName,
                parse.GetValue(dryRun), parse.GetValue(force), parse.GetValue(corpus), rows);
            if (rows.Count > 0) WriteSummary(console, rows, parse.GetValue(dryRun));
            return exit;
        });
        return command;
    }

    internal static int Run(IAnsiConsole console, string asspDir, string baseDir, bool dryRun, bool force, CorpusMode corpus, List<MigrationRow> rows)
    {
        asspDir = Path.GetFullPath(asspDir);
        baseDir = Path.GetFullPath(baseDir);
        var asspCfgPath = Path.Combine(asspDir, "assp.cfg");
        if (!File.Exists(asspCfgPath))
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(asspDir)} has no assp.cfg; --from must name an ASSP base folder");
            return 1;
        }
        bool inPlace = string.Equals(asspDir.TrimEnd('/'), baseDir.TrimEnd('/'), StringComparison.Ordinal);
        var targetCfgPath = Path.Combine(baseDir, "assp.cfg");
        var loader = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false, HostResolver = _ => [] };
        if (!force && File.Exists(targetCfgPath))
        {
            try
            {
                if (InstanceFiles.ReadPid(loader.Load(new ConfigSource(baseDir))) is { } pid && Unix.IsAlive(pid))
                {
                    console.MarkupLine($"[red]error:[/] an instance (pid {pid}) runs on {Markup.Escape(baseDir)}; stop it first (assp stop) or use --force");
                    return 1;
                }
            }
            catch (ConfigException) { }     // a broken target assp.cfg is replaced by the merge below
        }

        ConfigSnapshot assp;
        AsspConfigFile asspFile;
        try
        {
            assp = loader.Load(new ConfigSource(asspDir));
            asspFile = AsspConfigFile.Load(asspCfgPath);
        }
        catch (Exception ex) when (ex is ConfigException or IOException or UnauthorizedAccessException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return 1;
        }

        string would(string done) => dryRun ? "would " + done : done;
        try
        {
            console.Progress().AutoClear(false).HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    // 1. assp.cfg: ASSP's lines win; lines only the target has stay; corpus folders may be re-pointed.
                    var cfgTask = ctx.AddTask("assp.cfg", maxValue: 1);
                    var merged = inPlace || !File.Exists(targetCfgPath) ? asspFile : AsspConfigFile.Load(targetCfgPath);
                    if (!ReferenceEquals(merged, asspFile))
                        foreach (var entry in asspFile.Entries)
                            merged.Set(entry.Name, entry.Value);
                    int options = asspFile.Entries.Count(e => e.Name != AsspConfigFile.SavedMarkerName);
                    rows.Add(new("config", "assp.cfg", inPlace ? "in place" : would(File.Exists(targetCfgPath) ? "merged" : "copied"), options,
                        File.Exists(targetCfgPath) && !inPlace ? "ASSP's values replace the base folder's; its other lines stay" : ""));
                    foreach (var (name, _) in assp.UnknownEntries.OrderBy(u => u.Key, StringComparer.Ordinal))
                        rows.Add(new("option", name, "not used", 0, OptionRegistry.Default.IsObsolete(name)
                            ? "no longer an option in ASSP 2.6.8; kept in assp.cfg" : "unknown to ASSP for .NET; kept in assp.cfg"));
                    cfgTask.Increment(1);

                    // 2. list files: copied to the same relative path, so assp.cfg's file: references stay true.
                    var listFiles = assp.FilesRead.Keys.ToHashSet(StringComparer.Ordinal);
                    var filesDir = Path.Combine(asspDir, "files");
                    if (Directory.Exists(filesDir))
                        foreach (var f in Directory.EnumerateFiles(filesDir, "*", SearchOption.AllDirectories)) listFiles.Add(Path.GetFullPath(f));
                    var listTask = ctx.AddTask("list files", maxValue: Math.Max(1, listFiles.Count));
                    foreach (var file in listFiles.Order(StringComparer.Ordinal))
                    {
                        listTask.Increment(1);
                        var rel = Path.GetRelativePath(asspDir, file);
                        if (!File.Exists(file))
                            rows.Add(new("list file", rel, dryRun ? "would skip" : "skipped", 0, "assp.cfg refers to it, but it does not exist"));
                        else if (rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel))
                            rows.Add(new("list file", file, dryRun ? "would skip" : "skipped", 0, "outside the ASSP folder; assp.cfg keeps referring to it there"));
                        else
                        {
                            if (!dryRun && !inPlace)
                            {
                                var target = Path.Combine(baseDir, rel);
                                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                                File.Copy(file, target, overwrite: true);
                            }
                            rows.Add(new("list file", rel, inPlace ? "in place" : would("copied"), File.ReadLines(file).LongCount(), ""));
                        }
                    }

                    // 3. corpus folders.
                    var corpusTask = ctx.AddTask("corpus folders", maxValue: CorpusFolders.Length);
                    foreach (var (option, what) in CorpusFolders)
                    {
                        corpusTask.Increment(1);
                        var value = assp[option].Trim();
                        if (value.Length == 0) continue;
                        var folder = Path.GetFullPath(Path.Combine(asspDir, value));
                        if (!Directory.Exists(folder))
                        {
                            rows.Add(new("corpus", $"{option} ({value})", dryRun ? "would skip" : "skipped", 0, "no such folder"));
                            continue;
                        }
                        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToList();
                        if (inPlace)
                            rows.Add(new("corpus", $"{option} ({value})", "in place", files.Count, what));
                        else if (corpus == CorpusMode.Skip)
                            rows.Add(new("corpus", $"{option} ({value})", dryRun ? "would skip" : "skipped", files.Count, "--corpus skip"));
                        else if (corpus == CorpusMode.Reference)
                        {
                            merged.Set(option, folder);
                            rows.Add(new("corpus", $"{option} ({value})", would("referenced"), files.Count, $"{what}; {option} now names {folder}"));
                        }
                        else
                        {
                            var target = Path.GetFullPath(Path.Combine(baseDir, value));
                            if (!dryRun)
                                foreach (var f in files)
                                {
                                    var dest = Path.Combine(target, Path.GetRelativePath(folder, f));
                                    Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                                    File.Copy(f, dest, overwrite: true);
                                }
                            rows.Add(new("corpus", $"{option} ({value})", would("copied"), files.Count, what));
                        }
                    }
                    if (!dryRun && !inPlace)
                    {
                        Directory.CreateDirectory(baseDir);
                        if (File.Exists(targetCfgPath)) File.Copy(targetCfgPath, targetCfgPath + ".before-import", overwrite: true);
                        merged.Save(targetCfgPath);
                    }

                    // 4. databases: each ASSP file replaces its table; a dry run parses into memory only.
                    var locations = DbCommand.Locations(assp);
                    var dbFiles = locations.Files().ToList();
                    var dbTask = ctx.AddTask("databases", maxValue: Math.Max(1, dbFiles.Count + 1));
                    foreach (var (option, value) in SqlBacked(assp))
                        rows.Add(new("database", option, dryRun ? "would skip" : "skipped", 0,
                            $"kept in ASSP's SQL database ({value}); export it there (exportDBDir) and use assp db import --dbdir"));
                    using IStore store = dryRun ? new MemoryStore() : SqliteStore.OpenInBase(baseDir);
                    foreach (var (table, rel) in dbFiles)
                    {
                        var path = Path.Combine(asspDir, rel);
                        if (!File.Exists(path))
                        {
                            rows.Add(new("database", rel, dryRun ? "would skip" : "skipped", 0, "no such file"));
                            dbTask.Increment(1);
                            continue;
                        }
                        if (table == AsspDatabases.HmmDb)
                        {
                            // ASSP's HMM chains are keyed in its own way; this implementation keys them by hash.
                            rows.Add(new("database", rel, dryRun ? "would skip" : "skipped", 0,
                                "ASSP's HMM chains cannot be read here; assp rebuild builds HMMdb from the corpus folders"));
                            dbTask.Increment(1);
                            continue;
                        }
                        var result = AsspFlatFiles.ImportFile(store.Table(table), path, FlatImportMode.Replace,
                            new DbProgress(dbTask), store.Clock);
                        rows.Add(new("database", rel, would("imported") + $" → {table}", result.Imported,
                            result.Skipped == 0 ? "" : $"{result.Skipped:N0} lines unreadable, first: {result.Problems.FirstOrDefault()?.ToString() ?? "?"}"));
                        dbTask.Value = Math.Floor(dbTask.Value) + 1;
                    }
                    store.Flush();
                    dbTask.Value = dbTask.MaxValue;
                });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return 1;
        }
        return 0;
    }

    /// <summary>Database options that name ASSP's SQL database ("DB:") instead of a file.</summary>
    private static IEnumerable<(string Option, string Value)> SqlBacked(ConfigSnapshot cfg)
    {
        foreach (var option in new[] { "whitelistdb", "redlistdb", "persblackdb", "ldaplistdb", "delaydb", "pbdb", "spamdb", "griplist" })
            if (cfg[option].TrimStart().StartsWith("DB:", StringComparison.OrdinalIgnoreCase))
                yield return (option, cfg[option].Trim());
    }

    private static void WriteSummary(IAnsiConsole console, List<MigrationRow> rows, bool dryRun)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(dryRun ? "ASSP import (dry run: nothing written)" : "ASSP import")
            .AddColumn("What").AddColumn("Item").AddColumn("Result").AddColumn(new TableColumn("Count").RightAligned()).AddColumn("Why");
        foreach (var r in rows)
        {
            var result = r.Skipped ? $"[yellow]{Markup.Escape(r.Result)}[/]" : Markup.Escape(r.Result);
            table.AddRow(Markup.Escape(r.Kind), Markup.Escape(r.Item), result, r.Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(r.Why));
        }
        console.Write(table);
        long records = rows.Where(r => r.Kind == "database" && !r.Skipped).Sum(r => r.Count);
        console.MarkupLine($"{rows.Count(r => r.Kind == "list file" && !r.Skipped)} list files, {records:N0} database records, " +
            $"{rows.Count(r => r.Skipped)} skipped, {rows.Count(r => r.Kind == "option")} options not used.");
    }

    /// <summary>Moves a file's share of the database bar as its lines are read.</summary>
    private sealed class DbProgress(ProgressTask task) : IProgress<FlatFileProgress>
    {
        public void Report(FlatFileProgress p) => task.Value = Math.Floor(task.Value) + Math.Min(0.99, p.Fraction);
    }
}
