using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Virus;

/// <summary>DoFileScan with a small real shell script as the scanner.</summary>
public class FileScanTests
{
    private const string Rcpt = "u@local.test";
    private const string CleanMail = "From: a@sender.example\nTo: u@local.test\nMessage-ID: <1@sender.example>\nSubject: hi\n\nnothing to see\n";
    private const string BadMail = "From: a@sender.example\nTo: u@local.test\nMessage-ID: <2@sender.example>\nSubject: hi\n\nTHE-BAD-THING here\n";
    private const string OddMail = "From: a@sender.example\nTo: u@local.test\nMessage-ID: <2@sender.example>\nSubject: hi\n\nODD-THING here\n";

    /// <summary>
    /// A scanner like the real ones: prints "FILE: OK", "FILE: infected by Test.Bad.Thing" or a heuristic name; with
    /// "remove" as second argument it deletes an infected file as an on-access scanner would; logs its arguments.
    /// </summary>
    private static (string Dir, string Script) Scanner()
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-filescan-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var script = Path.Combine(dir, "scan.sh");
        File.WriteAllText(script, """
            #!/bin/sh
            echo "$@" >> "$(dirname "$0")/args.log"
            if grep -q THE-BAD-THING "$1"; then
              echo "$1: infected by Test.Bad.Thing"
              [ "$2" = remove ] && rm -f "$1"
            elif grep -q ODD-THING "$1"; then
              echo "$1: infected by Heuristics.Odd.Thing" >&2
            else
              echo "$1: OK"
            fi
            """.Replace("\r", ""));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return (dir, script);
    }

    private static ConfigSnapshot Cfg(string dir, params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("DoFileScan", "1"), ("FileScanDir", Path.Combine(dir, "work")),
            ("FileScanBad", "infected"), ("FileScanRespRe", @"(?<=by )\S+"), ("ScanLog", "2"), .. values]);

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string message)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", [Rcpt], message);
        return (verdict, phase, ctx);
    }

    [Fact]
    public async Task InfectedOutputRefusesWithTheVirusName()
    {
        var (dir, script) = Scanner();
        var cfg = Cfg(dir, ("FileScanCMD", $"/bin/sh {script} FILENAME NUMBER *ip*"));
        var (verdict, phase, ctx) = await Run(cfg, BadMail);
        Assert.Equal("DataBody", phase);
        Assert.Equal("554 5.7.1 Mail appears infected with [Test.Bad.Thing].", verdict.Reply);
        Assert.Contains(ctx.State.Scores, s => s.Check == "vdValencePB");
        Assert.Contains(ctx.LogLines, l => l.Contains("FileScan: scanned") && l.Contains("infected by Test.Bad.Thing"));
        // The file was written to FileScanDir with the maillogExt and removed afterwards; *ip* was substituted.
        var args = File.ReadAllText(Path.Combine(dir, "args.log"));
        Assert.Matches(@"/work/a\.\d+\.\d+\.eml \d+ 203\.0\.113\.9", args);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "work")));
    }

    [Fact]
    public async Task CleanOutputPasses()
    {
        var (dir, script) = Scanner();
        var (verdict, phase, ctx) = await Run(Cfg(dir, ("FileScanCMD", $"/bin/sh {script} FILENAME")), CleanMail);
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("FileScan: scanned") && l.EndsWith(" - OK"));
    }

    [Fact]
    public async Task GoodRegexMustMatchWhenSet()
    {
        var (dir, script) = Scanner();
        // Only FileScanGood: anything the scanner does not call OK is infected ('a virus' without a name).
        var cfg = Cfg(dir, ("FileScanCMD", $"/bin/sh {script} FILENAME"), ("FileScanBad", ""), ("FileScanGood", @": OK\b"), ("FileScanRespRe", ""));
        Assert.Equal("delivered", (await Run(cfg, CleanMail)).Phase);
        var (verdict, _, _) = await Run(cfg, BadMail);
        Assert.Equal("554 5.7.1 Mail appears infected with [a virus].", verdict.Reply);
    }

    [Fact]
    public async Task StderrCountsAndSuspiciousNamesAreOnlyScored()
    {
        var (dir, script) = Scanner();
        var cfg = Cfg(dir, ("FileScanCMD", $"/bin/sh {script} FILENAME"), ("SuspiciousVirus", @"Heuristics\."), ("vsValencePB", "25"));
        var (verdict, phase, ctx) = await Run(cfg, OddMail);
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "vsValencePB" && s.MessageScore == 25);
    }

    [Fact]
    public async Task AFileRemovedByTheScannerMeansInfected()
    {
        var (dir, script) = Scanner();
        var cfg = Cfg(dir, ("FileScanCMD", $"/bin/sh {script} FILENAME remove"), ("FileScanBad", "nothing-matches-this"));
        Assert.True((await Run(cfg, BadMail)).Verdict.Refuses);
        Assert.Equal("delivered", (await Run(cfg, CleanMail)).Phase);
    }

    [Fact]
    public async Task NorunOnlyLooksForTheFile()
    {
        var (dir, _) = Scanner();
        var (verdict, phase, _) = await Run(Cfg(dir, ("FileScanCMD", "NORUN-10")), BadMail);
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task MonitorModeLogsAndPasses()
    {
        var (dir, script) = Scanner();
        var (verdict, phase, ctx) = await Run(Cfg(dir, ("FileScanCMD", $"/bin/sh {script} FILENAME"), ("DoFileScan", "2")), BadMail);
        Assert.Equal("delivered", phase);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("[monitoring] (virus detected: 'FileScan'"));
    }

    [Fact]
    public async Task EmptyCommandOrDisabledScansNothing()
    {
        var (dir, script) = Scanner();
        Assert.Equal("delivered", (await Run(Cfg(dir, ("FileScanCMD", "")), BadMail)).Phase);
        Assert.Equal("delivered", (await Run(Cfg(dir, ("FileScanCMD", $"/bin/sh {script} FILENAME"), ("DoFileScan", "0")), BadMail)).Phase);
        Assert.False(File.Exists(Path.Combine(dir, "args.log")));
    }
}
