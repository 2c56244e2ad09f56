using System.CommandLine;
using System.Net;
using System.Text.Json;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Registry;
using Spectre.Console;

namespace Assp.Server;

/// <summary>`assp analyze FILE...`: every offline check's verdict and score for stored messages, and the final decision.</summary>
internal static class AnalyzeCommand
{
    public static Command Create(Option<DirectoryInfo> baseOption, IAnsiConsole console, TextWriter output)
    {
        var files = new Argument<FileInfo[]>("FILE") { Description = "message files (.eml, as received)", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "print one JSON object per message" };
        var ip = new Option<string?>("--ip") { Description = "the connecting IP (default: the first public IP of the Received chain)" };
        var helo = new Option<string?>("--helo") { Description = "the HELO name" };
        var from = new Option<string?>("--from") { Description = "the envelope sender (default: Return-Path, then From)" };
        var rcpt = new Option<string[]>("--rcpt") { Description = "an envelope recipient (repeatable; default: the To and Cc addresses)" };
        var outgoing = new Option<bool>("--outgoing") { Description = "analyze as mail from a local user (relayPort / authenticated)" };
        var command = new Command("analyze", "Run messages through every check that works offline and show each verdict, the score and the decision; changes no database.");
        command.Arguments.Add(files);
        foreach (var o in new Option[] { json, ip, helo, from, rcpt, outgoing }) command.Options.Add(o);
        command.SetAction(async (parse, ct) =>
        {
            var baseDir = parse.GetValue(baseOption)!.FullName;
            IPAddress? address = null;
            if (parse.GetValue(ip) is { } ipText && !IPAddress.TryParse(ipText, out address))
            {
                console.MarkupLine($"[red]error:[/] --ip '{Markup.Escape(ipText)}' is not an IP address");
                return 2;
            }
            ConfigSnapshot cfg;
            try
            {
                cfg = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(baseDir));
            }
            catch (ConfigException ex)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
                return 1;
            }
            using var services = DecisionServices.OpenForAnalysis(cfg);
            var envelope = new AnalyzeEnvelope(address, parse.GetValue(helo), parse.GetValue(from), parse.GetValue(rcpt), parse.GetValue(outgoing));
            int exit = 0;
            foreach (var file in parse.GetValue(files)!)
            {
                byte[] bytes;
                try
                {
                    bytes = await File.ReadAllBytesAsync(file.FullName, ct);
                }
                catch (IOException ex)
                {
                    console.MarkupLine($"[red]error:[/] {Markup.Escape(file.FullName)}: {Markup.Escape(ex.Message)}");
                    exit = 1;
                    continue;
                }
                catch (UnauthorizedAccessException ex)
                {
                    console.MarkupLine($"[red]error:[/] {Markup.Escape(file.FullName)}: {Markup.Escape(ex.Message)}");
                    exit = 1;
                    continue;
                }
                var result = await MessageAnalyzer.AnalyzeAsync(services.Pipeline, cfg, bytes, file.FullName, envelope, ct);
                if (parse.GetValue(json)) output.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
                else Print(console, result);
            }
            return exit;
        });
        return command;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private static void Print(IAnsiConsole console, AnalysisResult r)
    {
        console.MarkupLine($"[bold]{Markup.Escape(r.Source)}[/]");
        console.MarkupLine($"  from {Markup.Escape(r.From)} to {Markup.Escape(string.Join(", ", r.Recipients))} via {r.Ip}" +
            (r.Helo is null ? "" : $" (HELO {Markup.Escape(r.Helo)})"));
        if (r.Classes.Count > 0) console.MarkupLine("  " + Markup.Escape(string.Join("; ", r.Classes)));
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("Check");
        table.AddColumn("Outcome");
        table.AddColumn(new TableColumn("Score").RightAligned());
        table.AddColumn("Reason");
        foreach (var c in r.Checks) table.AddRow(Markup.Escape(c.Check), Markup.Escape(c.Outcome), DecisionEngine.Num(c.Score), Markup.Escape(c.Reason));
        foreach (var s in r.Scores.Where(s => !r.Checks.Any(c => c.Reason == s.Reason)))
            table.AddRow(Markup.Escape(s.Check), "score", DecisionEngine.Num(s.MessageScore), Markup.Escape(s.Reason));
        if (table.Rows.Count > 0) console.Write(table);
        var color = r.Decision switch { "block" or "drop" => "red", "tempfail" => "yellow", "tag" => "yellow", _ => "green" };
        console.MarkupLine($"  message score {DecisionEngine.Num(r.MessageScore)}: [{color}]{r.Decision.ToUpperInvariant()}[/]" +
            (r.RefusedAt is null ? "" : $" at {r.RefusedAt}") + (r.Reply is null ? "" : $" - {Markup.Escape(r.Reply)}"));
        foreach (var v in r.Statistics)
        {
            console.MarkupLine($"  {v.Filter}: probability {v.Probability.ToString("0.00000", System.Globalization.CultureInfo.InvariantCulture)}, " +
                $"confidence {v.Confidence.ToString("0.00000", System.Globalization.CultureInfo.InvariantCulture)}, {v.Results} database values");
            if (v.TopTokens.Count == 0) continue;
            var tokens = new Table().Border(TableBorder.Rounded).AddColumn($"{v.Filter} token").AddColumn(new TableColumn("Spam probability").RightAligned());
            foreach (var t in v.TopTokens)
                tokens.AddRow(Markup.Escape(t.Token), t.Probability.ToString("0.0000000", System.Globalization.CultureInfo.InvariantCulture));
            console.Write(tokens);
        }
        if (r.SubjectPrefix.Length > 0) console.MarkupLine($"  subject tag: {Markup.Escape(r.SubjectPrefix)}");
        foreach (var h in r.Headers) console.MarkupLine($"  {Markup.Escape(h)}");
        console.MarkupLine($"  collect: {Markup.Escape(r.Collect)}");
        console.WriteLine();
    }
}
