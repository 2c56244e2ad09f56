using System.Text;
using Assp.Checks.Virus;
using Assp.Config;

namespace Assp.Checks.Tests.Virus;

/// <summary>ClamAVLogScan, FileLogScan and ScanCC: scans of collected files, resent mail and copies, with a real clamd.</summary>
public class StoredMailScannerTests(ClamdServer clamd) : IClassFixture<ClamdServer>
{
    private static readonly string Infected = $"From: a@sender.example\r\nSubject: bad\r\n\r\n{ClamdServer.Eicar}\r\n";
    private const string Clean = "From: a@sender.example\r\nSubject: fine\r\n\r\nnothing to see\r\n";

    private ConfigSnapshot Clam(params (string, string)[] values) =>
        TestConfig.Create([("UseAvClamd", "1"), ("AvClamdPort", clamd.SocketPath), ("viruslog", "quarantine"), .. values]);

    private static string Store(ConfigSnapshot cfg, string folder, string text)
    {
        var dir = Path.Combine(cfg.BaseDirectory, folder);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "1234.eml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task A_collected_file_with_a_virus_is_found_by_clamd_when_ClamAVLogScan_includes_collected_files()
    {
        var cfg = Clam(("ClamAVLogScan", "2"));
        Assert.True(StoredMailScanner.ScansCollected(cfg, "spamlog"));
        var log = new List<string>();
        Assert.StartsWith(ClamdServer.EicarName, await StoredMailScanner.ScanCollectedFileAsync(cfg, Store(cfg, "spam", Infected), log.Add, default));
        Assert.Null(await StoredMailScanner.ScanCollectedFileAsync(cfg, Store(cfg, "notspam", Clean), log.Add, default));
    }

    [Theory]
    [InlineData("ClamAVLogScan", "1", "spamlog")]  // resend folder only
    [InlineData("ClamAVLogScan", "0", "spamlog")]
    [InlineData("ClamAVLogScan", "2", "viruslog")] // already in the virus folder
    public void Collected_files_are_not_scanned_below_level_2_or_in_the_virus_folder(string option, string value, string folder) =>
        Assert.False(StoredMailScanner.ScansCollected(Clam((option, value)), folder));

    [Fact]
    public void Without_a_viruslog_folder_collected_files_are_not_scanned() =>
        Assert.False(StoredMailScanner.ScansCollected(Clam(("ClamAVLogScan", "2"), ("viruslog", "")), "spamlog"));

    [Fact]
    public void Without_UseAvClamd_ClamAVLogScan_alone_does_not_scan() =>
        Assert.False(StoredMailScanner.ScansCollected(Clam(("ClamAVLogScan", "2"), ("UseAvClamd", "0")), "spamlog"));

    [Fact]
    public void An_infected_file_is_moved_into_the_viruslog_folder_under_its_name()
    {
        var cfg = Clam(("ClamAVLogScan", "2"));
        var path = Store(cfg, "spam", Infected);
        var moved = StoredMailScanner.MoveToVirusFolder(cfg, path);
        Assert.Equal(Path.Combine(cfg.BaseDirectory, "quarantine", "1234.eml"), moved);
        Assert.False(File.Exists(path));
        Assert.Equal(Infected, File.ReadAllText(moved!));
    }

    [Fact]
    public async Task A_name_matching_SuspiciousVirus_does_not_count_as_infected()
    {
        var cfg = Clam(("ClamAVLogScan", "2"), ("SuspiciousVirus", "Eicar"));
        Assert.Null(await StoredMailScanner.ScanCollectedFileAsync(cfg, Store(cfg, "spam", Infected), _ => { }, default));
    }

    [Fact]
    public async Task With_clamd_unreachable_a_collected_file_passes_and_the_reason_is_logged()
    {
        var cfg = Clam(("ClamAVLogScan", "2"), ("AvClamdPort", Path.Combine(Path.GetTempPath(), "no-such-clamd.sock")));
        var log = new List<string>();
        Assert.Null(await StoredMailScanner.ScanCollectedFileAsync(cfg, Store(cfg, "spam", Infected), log.Add, default));
        Assert.Contains(log, l => l.Contains("not scanned", StringComparison.Ordinal));
    }

    // ---- the resend folder ----

    [Theory]
    [InlineData("1", true)]
    [InlineData("2", true)]
    [InlineData("0", false)]
    public async Task A_mail_to_be_resent_is_scanned_from_level_1(string level, bool found)
    {
        var cfg = Clam(("ClamAVLogScan", level));
        var virus = await StoredMailScanner.ScanResendAsync(cfg, "resend/4711.eml", Encoding.ASCII.GetBytes(Infected), _ => { }, default);
        if (found) Assert.StartsWith(ClamdServer.EicarName, virus); else Assert.Null(virus);
    }

    [Fact]
    public async Task Own_report_files_and_X_ASSP_ForceResend_mails_are_resent_unscanned()
    {
        var cfg = Clam(("ClamAVLogScan", "1"));
        Assert.Null(await StoredMailScanner.ScanResendAsync(cfg, "resend/n10000123456.eml", Encoding.ASCII.GetBytes(Infected), _ => { }, default));
        Assert.Null(await StoredMailScanner.ScanResendAsync(cfg, "resend/4712.eml", Encoding.ASCII.GetBytes("X-ASSP-ForceResend: yes\r\n" + Infected), _ => { }, default));
        Assert.NotNull(await StoredMailScanner.ScanResendAsync(cfg, "resend/n10000123456x.eml", Encoding.ASCII.GetBytes(Infected), _ => { }, default));
    }

    // ---- ScanCC ----

    [Fact]
    public async Task With_ScanCC_an_infected_copy_is_not_forwarded()
    {
        var cfg = Clam(("ScanCC", "1"));
        var log = new List<string>();
        Assert.StartsWith(ClamdServer.EicarName, await StoredMailScanner.ScanCopyAsync(cfg, Encoding.ASCII.GetBytes(Infected), haveToScan: true, log.Add, default));
        Assert.Contains(log, l => l.Contains("skip forwarding", StringComparison.Ordinal));
        Assert.Null(await StoredMailScanner.ScanCopyAsync(cfg, Encoding.ASCII.GetBytes(Clean), haveToScan: true, log.Add, default));
    }

    [Fact]
    public async Task Without_ScanCC_or_when_the_mail_is_not_to_be_scanned_copies_go_unscanned()
    {
        Assert.Null(await StoredMailScanner.ScanCopyAsync(Clam(), Encoding.ASCII.GetBytes(Infected), haveToScan: true, _ => { }, default));
        Assert.Null(await StoredMailScanner.ScanCopyAsync(Clam(("ScanCC", "1")), Encoding.ASCII.GetBytes(Infected), haveToScan: false, _ => { }, default));
    }

    // ---- FileLogScan with a real script ----

    [Fact]
    public async Task FileLogScan_2_runs_the_file_scanner_on_a_collected_file()
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-filelogscan-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var script = Path.Combine(dir, "scan.sh");
        File.WriteAllText(script, "#!/bin/sh\nif grep -q THE-BAD-THING \"$1\"; then echo \"infected by Test.Bad.Thing\"; else echo OK; fi\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var cfg = TestConfig.Create(("DoFileScan", "1"), ("FileScanCMD", "/bin/sh " + script + " FILENAME"), ("FileScanDir", Path.Combine(dir, "work")),
            ("FileScanBad", "infected"), ("FileScanRespRe", @"(?<=by )\S+"), ("FileLogScan", "2"), ("viruslog", "quarantine"));
        Assert.True(StoredMailScanner.ScansCollected(cfg, "notspamlog"));
        Assert.Equal("Test.Bad.Thing", await StoredMailScanner.ScanCollectedFileAsync(cfg, Store(cfg, "notspam", "Subject: x\r\n\r\nTHE-BAD-THING\r\n"), _ => { }, default));
        Assert.Null(await StoredMailScanner.ScanCollectedFileAsync(cfg, Store(cfg, "notspam", Clean), _ => { }, default));
        var level1 = TestConfig.Create(("DoFileScan", "1"), ("FileScanCMD", "/bin/sh " + script + " FILENAME"), ("FileLogScan", "1"), ("viruslog", "quarantine"));
        Assert.False(StoredMailScanner.ScansCollected(level1, "notspamlog"));
    }
}
