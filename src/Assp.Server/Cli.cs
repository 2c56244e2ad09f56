using System.CommandLine;
using Assp.Config;
using Assp.Config.Registry;
using Spectre.Console;

namespace Assp.Server;

/// <summary>The `assp` command: run, check-config, show-config, stop, reload, status, init, install-service.</summary>
public static class Cli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken stop = default)
    {
        var console = CreateConsole(output);
        var baseOption = new Option<DirectoryInfo>("--base")
        {
            Description = "ASSP base folder (holds assp.cfg, files/, logs/); default: $ASSP_BASE or the current folder",
            DefaultValueFactory = _ => new DirectoryInfo(Environment.GetEnvironmentVariable("ASSP_BASE") is { Length: > 0 } b ? b : Directory.GetCurrentDirectory()),
            Recursive = true,
        };
        var setOption = new Option<string[]>("--set")
        {
            Description = "override an option for this run: --set name=value (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var changedOption = new Option<bool>("--changed") { Description = "only options whose value differs from the default" };
        var sectionOption = new Option<string?>("--section") { Description = "only options of sections whose name contains this text" };

        var root = new RootCommand("ASSP for .NET: the Anti-Spam SMTP Proxy, compatible with ASSP's assp.cfg and list files.");
        root.Options.Add(baseOption);

        var run = new Command("run", "Start the proxy (creates the base folder with a default assp.cfg when missing).");
        run.Options.Add(setOption);
        run.SetAction(async (parse, token) =>
        {
            var overrides = ParseOverrides(parse.GetValue(setOption) ?? [], error);
            if (overrides is null) return 2;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, stop);
            return await ProxyHost.RunAsync(parse.GetValue(baseOption)!.FullName, overrides, output, linked.Token);
        });

        var check = new Command("check-config", "Validate assp.cfg, every list file, group and regex; exit 1 when there are errors.");
        check.SetAction(parse => CheckConfig(console, parse.GetValue(baseOption)!.FullName));

        var show = new Command("show-config", "Print the options and their values.");
        show.Options.Add(changedOption);
        show.Options.Add(sectionOption);
        show.SetAction(parse => ShowConfig(console, parse.GetValue(baseOption)!.FullName, parse.GetValue(changedOption), parse.GetValue(sectionOption)));

        var stopCommand = new Command("stop", "Stop the instance running on the base folder (SIGTERM; it finishes running transfers).");
        stopCommand.SetAction(parse => Signal(console, parse.GetValue(baseOption)!.FullName, Unix.SIGTERM, "stop", waitForExit: true));
        var reload = new Command("reload", "Make the running instance re-read assp.cfg and every list file now (SIGHUP).");
        reload.SetAction(parse => Signal(console, parse.GetValue(baseOption)!.FullName, Unix.SIGHUP, "reload", waitForExit: false));
        var status = new Command("status", "Show whether an instance runs on the base folder, and what it is doing.");
        status.SetAction(parse => Status(console, parse.GetValue(baseOption)!.FullName));

        root.Subcommands.Add(run);
        root.Subcommands.Add(check);
        root.Subcommands.Add(show);
        root.Subcommands.Add(stopCommand);
        root.Subcommands.Add(reload);
        root.Subcommands.Add(status);
        var jobs = new Command("jobs", "List the running instance's scheduled jobs: schedule, last run and result, next run.");
        jobs.SetAction(parse => Jobs(console, parse.GetValue(baseOption)!.FullName));
        root.Subcommands.Add(jobs);
        root.Subcommands.Add(ServiceInstaller.CreateInitCommand(baseOption, console));
        root.Subcommands.Add(ServiceInstaller.CreateInstallCommand(baseOption, console));
        root.Subcommands.Add(AnalyzeCommand.Create(baseOption, console, output));
        root.Subcommands.Add(DbCommand.Create(baseOption, console));
        root.Subcommands.Add(ImportAsspCommand.Create(baseOption, console));
        root.Subcommands.Add(ExportCommand.Create(baseOption, console));
        root.Subcommands.Add(BackupCommand.CreateBackup(baseOption, console));
        root.Subcommands.Add(BackupCommand.CreateRestore(baseOption, console));
        root.Subcommands.Add(RebuildCommand.Create(baseOption, console));

        var parsed = root.Parse(args);
        // ProcessTerminationTimeout = null: System.CommandLine must not handle SIGTERM/SIGINT itself. Its default
        // (2 s) ends the process with exit code 143 when `run` takes longer than that to stop, i.e. whenever a
        // transfer is still finishing; `run` handles both signals itself (ProxyHost) and stops gracefully.
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, stop);
    }

    internal static IAnsiConsole CreateConsole(TextWriter output)
    {
        bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!terminal) console.Profile.Width = 200;
        return console;
    }

    internal static List<KeyValuePair<string, string>>? ParseOverrides(string[] items, TextWriter error)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var item in items)
        {
            int eq = item.IndexOf('=');
            if (eq <= 0)
            {
                error.WriteLine($"--set '{item}': expected name=value");
                return null;
            }
            result.Add(new(item[..eq].Trim(), item[(eq + 1)..]));
        }
        return result;
    }

    private static int CheckConfig(IAnsiConsole console, string baseDir)
    {
        var loader = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false };
        ConfigSnapshot snapshot;
        try
        {
            snapshot = loader.Load(new ConfigSource(baseDir));
        }
        catch (ConfigException ex)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return 1;
        }
        var issues = snapshot.Issues.OrderByDescending(i => i.Severity).ThenBy(i => i.File).ThenBy(i => i.Line).ToList();
        int errors = issues.Count(i => i.Severity == IssueSeverity.Error);
        int warnings = issues.Count(i => i.Severity == IssueSeverity.Warning);
        if (issues.Count > 0)
        {
            var table = new Table().Border(TableBorder.Rounded).Title($"Problems in {Markup.Escape(snapshot.ConfigPath)}");
            table.AddColumn("Severity");
            table.AddColumn("Where");
            table.AddColumn("Option");
            table.AddColumn("Value");
            table.AddColumn("Problem");
            foreach (var i in issues)
            {
                var color = i.Severity switch { IssueSeverity.Error => "red", IssueSeverity.Warning => "yellow", _ => "grey" };
                table.AddRow($"[{color}]{i.Severity.ToString().ToLowerInvariant()}[/]", Markup.Escape(i.Location),
                    Markup.Escape(i.Option ?? ""), Markup.Escape(i.Value ?? ""), Markup.Escape(i.Message));
            }
            console.Write(table);
        }
        int changed = snapshot.All().Count(x => x.Value != x.Option.Default);
        console.MarkupLine($"{snapshot.Registry.Count} options ({changed} changed from default), {snapshot.FilesRead.Count} list files read: " +
            $"[{(errors > 0 ? "red" : "green")}]{errors} errors[/], {warnings} warnings.");
        return errors > 0 ? 1 : 0;
    }

    private static ConfigSnapshot LoadQuietly(string baseDir) =>
        new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, HostResolver = _ => [] }.Load(new ConfigSource(baseDir));

    private static int Signal(IAnsiConsole console, string baseDir, int signal, string what, bool waitForExit)
    {
        var cfg = LoadQuietly(baseDir);
        var pid = InstanceFiles.ReadPid(cfg);
        if (pid is null || !Unix.IsAlive(pid.Value))
        {
            console.MarkupLine($"[yellow]no instance runs on {Markup.Escape(cfg.BaseDirectory)}[/] (pid file {Markup.Escape(InstanceFiles.PidPath(cfg))})");
            return 1;
        }
        if (Unix.kill(pid.Value, signal) != 0)
        {
            console.MarkupLine($"[red]cannot signal pid {pid}[/] (error {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}; run as the same user or root)");
            return 1;
        }
        if (!waitForExit)
        {
            console.MarkupLine($"{what}: signal sent to pid {pid}");
            return 0;
        }
        var until = DateTime.UtcNow.AddSeconds(45);
        while (Unix.IsAlive(pid.Value) && DateTime.UtcNow < until) Thread.Sleep(100);
        if (Unix.IsAlive(pid.Value))
        {
            console.MarkupLine($"[red]pid {pid} is still running after 45 s[/]");
            return 1;
        }
        console.MarkupLine($"{what}: pid {pid} has ended");
        return 0;
    }

    private static int Status(IAnsiConsole console, string baseDir)
    {
        var cfg = LoadQuietly(baseDir);
        var pid = InstanceFiles.ReadPid(cfg);
        if (pid is null || !Unix.IsAlive(pid.Value))
        {
            console.MarkupLine($"not running on {Markup.Escape(cfg.BaseDirectory)}");
            return 3;   // the LSB code for "not running"
        }
        var status = InstanceFiles.ReadStatus(cfg.BaseDirectory);
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("").AddColumn("");
        table.AddRow("pid", pid.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (status is not null)
        {
            table.AddRow("version", Markup.Escape(status.Version));
            table.AddRow("running since", Markup.Escape(status.Started.ToString("yyyy-MM-dd HH:mm:ss zzz", System.Globalization.CultureInfo.InvariantCulture)));
            table.AddRow("configuration", $"generation {status.ConfigGeneration}, loaded {Markup.Escape(status.ConfigLoaded)}");
            table.AddRow("listeners", Markup.Escape(string.Join(", ", status.Listeners)));
            table.AddRow("sessions", $"{status.ActiveSessions} now, {status.SessionsTotal} since start");
            table.AddRow("messages delivered", status.MessagesDelivered.ToString(System.Globalization.CultureInfo.InvariantCulture));
            table.AddRow("status written", Markup.Escape(status.Updated.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)));
        }
        console.Write(table);
        return 0;
    }

    private static int Jobs(IAnsiConsole console, string baseDir)
    {
        var cfg = LoadQuietly(baseDir);
        var pid = InstanceFiles.ReadPid(cfg);
        var status = pid is not null && Unix.IsAlive(pid.Value) ? InstanceFiles.ReadStatus(cfg.BaseDirectory) : null;
        if (status is null)
        {
            console.MarkupLine($"not running on {Markup.Escape(cfg.BaseDirectory)}");
            return 3;
        }
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "Job", "Schedule", "Last run", "Took", "Result", "Next run", "Runs", "Failures" }) table.AddColumn(column);
        string When(DateTimeOffset? t) => t?.ToLocalTime().ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) ?? "-";
        foreach (var j in status.Jobs)
        {
            table.AddRow(Markup.Escape(j.Name), Markup.Escape(j.Schedule), When(j.LastStart),
                j.LastDuration is { } d ? $"{d.TotalMilliseconds:0} ms" : "-", Markup.Escape(j.LastResult ?? "-"), When(j.NextRun),
                j.Runs.ToString(System.Globalization.CultureInfo.InvariantCulture), j.Failures.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        console.Write(table);
        return 0;
    }

    private static int ShowConfig(IAnsiConsole console, string baseDir, bool changedOnly, string? section)
    {
        var loader = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false };
        var snapshot = loader.Load(new ConfigSource(baseDir));
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("Section");
        table.AddColumn("Option");
        table.AddColumn("Value");
        table.AddColumn("Default");
        int rows = 0;
        foreach (var (option, value) in snapshot.All())
        {
            if (changedOnly && value == option.Default) continue;
            if (section is not null && !option.Section.Contains(section, StringComparison.OrdinalIgnoreCase)) continue;
            var name = snapshot.Registry.IsNotUsed(option) ? option.Name + " (not used by this implementation)" : option.Name;
            table.AddRow(Markup.Escape(option.Section), Markup.Escape(name), Markup.Escape(option.DisplayValue(value)),
                Markup.Escape(option.DisplayValue(option.Default)));
            rows++;
        }
        console.Write(table);
        console.MarkupLine($"{rows} options shown.");
        return 0;
    }
}
