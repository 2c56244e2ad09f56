using System.CommandLine;
using Assp.Config;
using Assp.Config.Registry;
using Spectre.Console;

namespace Assp.Server;

/// <summary>The `assp` command: run, check-config, show-config.</summary>
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

        root.Subcommands.Add(run);
        root.Subcommands.Add(check);
        root.Subcommands.Add(show);

        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, stop);
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
            table.AddRow(Markup.Escape(option.Section), Markup.Escape(option.Name), Markup.Escape(option.DisplayValue(value)),
                Markup.Escape(option.DisplayValue(option.Default)));
            rows++;
        }
        console.Write(table);
        console.MarkupLine($"{rows} options shown.");
        return 0;
    }
}
