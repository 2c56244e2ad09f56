using System.CommandLine;
using System.Globalization;
using Assp.Bayes;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Storage;
using Spectre.Console;

namespace Assp.Server;

/// <summary>`assp rebuild`: builds spamdb and HMMdb from the corpus folders now, with a progress bar and a summary.</summary>
internal static class RebuildCommand
{
    public static Command Create(Option<DirectoryInfo> baseOption, IAnsiConsole console)
    {
        var force = new Option<bool>("--force")
        {
            Description = "run even while an instance runs on the base folder (it picks up the new database by its generation marker)",
        };
        var command = new Command("rebuild",
            "Build the Bayesian (spamdb) and HMM (HMMdb) databases from the corpus folders (spamlog, notspamlog, correctedspam ×2, correctednotspam ×4).");
        command.Options.Add(force);
        command.SetAction(parse => Run(console, parse.GetValue(baseOption)!.FullName, parse.GetValue(force)));
        return command;
    }

    private static int Run(IAnsiConsole console, string baseDir, bool force)
    {
        if (DbCommand.LoadOffline(console, baseDir, force, "switch RunRebuildNow on there,") is not { } cfg) return 1;
        RebuildSummary? summary = null;
        string report = "";
        try
        {
            using var store = StoreFactory.Open(cfg, line => console.WriteLine(line));
            console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("reading the corpus");
                    var progress = new Progress(task);
                    (summary, report) = SpamDbRebuild.Run(cfg, store, progress, CancellationToken.None);
                    task.Value = task.MaxValue;
                });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException or StoreConfigException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return 1;
        }
        var s = summary!;
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Corpus").AddColumn("Folder").AddColumn(new TableColumn("Files").RightAligned());
        foreach (var (option, path, files) in s.Folders) table.AddRow(option, Markup.Escape(path), files.ToString("N0", CultureInfo.InvariantCulture));
        console.Write(table);
        var result = new Table().Border(TableBorder.Rounded).AddColumn("Result").AddColumn(new TableColumn("Value").RightAligned());
        result.AddRow("Spam weight", s.SpamWeight.ToString("N0", CultureInfo.InvariantCulture));
        result.AddRow("Not-spam weight", s.HamWeight.ToString("N0", CultureInfo.InvariantCulture));
        result.AddRow("Corpus norm", $"{s.Norm.ToString("0.0000", CultureInfo.InvariantCulture)} ({Markup.Escape(s.NormDescription)})");
        result.AddRow("Bayesian pairs (spamdb)", s.BayesRecords.ToString("N0", CultureInfo.InvariantCulture));
        result.AddRow("HMM sequences (HMMdb)", s.HmmRecords.ToString("N0", CultureInfo.InvariantCulture));
        result.AddRow("HELOs (spamdb.helo)", s.HeloRecords.ToString("N0", CultureInfo.InvariantCulture));
        result.AddRow("Memory in use", $"{s.DatabaseBytes / 1048576.0:0.0} MB");
        result.AddRow("Unreadable files", s.UnreadableFiles.ToString(CultureInfo.InvariantCulture));
        result.AddRow("Generation", s.Written ? s.Generation.ToString(CultureInfo.InvariantCulture) : "not written (RebuildTestMode)");
        result.AddRow("Time", $"{s.Elapsed.TotalSeconds:0.0} s");
        console.Write(result);
        foreach (var line in report.Split('\n').Where(l => l.StartsWith("auto correction", StringComparison.Ordinal)))
            console.MarkupLine(Markup.Escape(line));
        return 0;
    }

    /// <summary>Moves the Spectre task along; the rebuild reports from its own thread.</summary>
    private sealed class Progress(ProgressTask task) : IProgress<RebuildProgress>
    {
        public void Report(RebuildProgress p)
        {
            task.MaxValue = Math.Max(1, p.Total);
            task.Value = p.Done;
            task.Description = p.Stage;
        }
    }
}
