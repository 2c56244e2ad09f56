using Assp.Config.Logging;
using Assp.Config.Registry;

namespace Assp.Config.Tests;

public class MailLogTests
{
    [Theory]
    [InlineData("MMM-DD-YY hh:mm:ss", 0, "Nov-05-26 07:08:09")]
    [InlineData("YYYY-MM-DD hh:mm:ss", 0, "2026-11-05 07:08:09")]
    [InlineData("DDD DD.MM.YYYY hh:mm:ss", 2, "Don 05.11.2026 07:08:09")]
    [InlineData("MMM-DD-YY", 1, "nov-05-26")]
    [InlineData("YY-MM-DD", 0, "26-11-05")]
    public void Dates_follow_LogDateFormat_and_LogDateLang(string format, int lang, string expected) =>
        Assert.Equal(expected, LogDateFormat.Format(new DateTime(2026, 11, 5, 7, 8, 9), format, lang));

    private static ConfigSnapshot Config(TestPaths.TempDir dir, string extra = "")
    {
        File.WriteAllText(Path.Combine(dir.Path, "assp.cfg"), extra + "ConfigSavedOK:=1\n");
        return new ConfigLoader(OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
    }

    [Fact]
    public void Lines_have_date_worker_and_session_id()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Config(dir);
        var line = MailLog.FormatLine(cfg, new DateTime(2026, 11, 5, 7, 8, 9), "Worker_1", "m1-12345-01", "[SMTP Error] 554 go away");
        Assert.Equal("Nov-05-26 07:08:09 m1-12345-01 [Worker_1] [SMTP Error] 554 go away", line);
        var quiet = Config(dir, "WorkerLogging:=\nuniqeIDLogging:=\n");
        Assert.Equal("Nov-05-26 07:08:09 hello", MailLog.FormatLine(quiet, new DateTime(2026, 11, 5, 7, 8, 9), "Worker_1", "m1-1", "hello"));
        Assert.Equal("Nov-05-26 07:08:09 [Worker_1] two\n\tlines", MailLog.FormatLine(cfg, new DateTime(2026, 11, 5, 7, 8, 9), "Worker_1", null, "two\r\nlines"));
    }

    [Fact]
    public async Task Log_is_written_and_rolls_daily_to_a_dated_name()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Config(dir);
        var time = new FakeTime(new DateTimeOffset(2026, 11, 5, 23, 59, 0, TimeSpan.Zero));
        var log = new MailLog(() => cfg, time);
        log.Write("first day");
        await WaitForFile(Path.Combine(dir.Path, "logs", "maillog.txt"), "first day");
        time.Advance(TimeSpan.FromMinutes(2));
        log.Write("second day");
        await log.DisposeAsync();
        var logs = Path.Combine(dir.Path, "logs");
        var rolled = File.ReadAllText(Path.Combine(logs, "26-11-05.maillog.txt"));
        var current = File.ReadAllText(Path.Combine(logs, "maillog.txt"));
        Assert.Contains("Nov-05-26 23:59:00 [Main_Thread] first day", rolled);
        Assert.Equal(2, Directory.GetFiles(logs).Length);
        Assert.DoesNotContain("second day", rolled);
        Assert.Contains("Nov-06-26 00:01:00 [Main_Thread] second day", current);
    }

    [Fact]
    public async Task A_log_named_maillog_log_never_rolls()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Config(dir, "logfile:=logs/maillog.log\n");
        var time = new FakeTime(new DateTimeOffset(2026, 11, 5, 12, 0, 0, TimeSpan.Zero));
        var log = new MailLog(() => cfg, time);
        log.Write("one");
        await WaitForFile(Path.Combine(dir.Path, "logs", "maillog.log"), "one");
        time.Advance(TimeSpan.FromDays(3));
        log.Write("two");
        await log.DisposeAsync();
        Assert.Equal(["maillog.log"], Directory.GetFiles(Path.Combine(dir.Path, "logs")).Select(Path.GetFileName));
    }

    /// <summary>The writer works in the background: wait until a line is on disk before moving the clock.</summary>
    private static async Task WaitForFile(string path, string text)
    {
        for (int i = 0; i < 200; i++)
        {
            if (File.Exists(path))
            {
                using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                if (new StreamReader(s).ReadToEnd().Contains(text)) return;
            }
            await Task.Delay(25);
        }
        throw new TimeoutException($"'{text}' never reached {path}");
    }

    [Fact]
    public async Task Empty_logfile_writes_no_file()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Config(dir, "logfile:=\n");
        var log = new MailLog(() => cfg);
        log.Write("nothing");
        await log.DisposeAsync();
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "logs")));
    }

    [Fact]
    public async Task A_full_disk_loses_lines_but_not_the_writer_and_the_gap_is_logged_once_space_is_back()
    {
        // /dev/full refuses every write with "No space left on device", like a full file system.
        using var dir = new TestPaths.TempDir();
        var full = Config(dir, "logfile:=/dev/full\nLogRollDays:=0\n");
        var cfg = full;
        var log = new MailLog(() => cfg);
        log.Write("lost one");
        log.Write("lost two");
        // Let the writer meet the full disk before the log moves on.
        await Task.Delay(300);
        cfg = Config(dir, "LogRollDays:=0\n");
        log.Write("after the disk has space again");
        await log.DisposeAsync();   // must not throw: the writer survived
        var text = File.ReadAllText(Path.Combine(dir.Path, "logs", "maillog.txt"));
        Assert.Matches(@"\[Main_Thread\] error: [12] maillog line\(s\) could not be written: No space left on device", text);
        Assert.Contains("after the disk has space again", text);
        Assert.DoesNotContain("lost one", text);
    }

    [Fact]
    public async Task NoLogLineRe_drops_matching_lines_after_the_notifier_saw_them()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Config(dir, "noLogLineRe:=monitoring probe|skip me\n");
        var seen = new List<string>();
        var log = new MailLog(() => cfg) { LineObserver = (_, m) => seen.Add(m) };
        log.Write("Worker_1", null, "a monitoring probe connected");
        log.Write("Worker_1", null, "a line of a noLog session", recorded: false);
        log.Write("Worker_1", null, "an ordinary line");
        await log.DisposeAsync();
        var text = File.ReadAllText(Path.Combine(dir.Path, "logs", "maillog.txt"));
        Assert.DoesNotContain("monitoring probe", text);
        Assert.DoesNotContain("noLog session", text);
        Assert.Contains("an ordinary line", text);
        Assert.Equal(["a monitoring probe connected", "a line of a noLog session", "an ordinary line"], seen);
    }

    [Theory]
    [InlineData("mail", 2)]
    [InlineData("LOCAL3", 19)]
    [InlineData("authpriv", 10)]
    [InlineData("local8", null)]
    [InlineData("nonsense", null)]
    public void Syslog_facilities_have_their_RFC_numbers(string name, int? expected) => Assert.Equal(expected, SyslogSender.Facility(name));

    [Fact]
    public async Task SysLog_sends_every_line_over_UDP_with_facility_and_severity()
    {
        using var dir = new TestPaths.TempDir();
        using var receiver = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        int port = ((System.Net.IPEndPoint)receiver.Client.LocalEndPoint!).Port;
        // asspLog off: syslog still gets the lines.
        var cfg = Config(dir, $"sysLog:=1\nsysLogIp:=127.0.0.1\nsysLogPort:={port}\nSysLogFac:=local4\nasspLog:=\n");
        var log = new MailLog(() => cfg);
        log.Write("Worker_1", "m1-1", "info: hello syslog");
        log.Write("Worker_1", "m1-1", "error: something broke");
        log.Write("warning: watch out");
        var got = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (got.Count < 3)
        {
            var packet = await receiver.ReceiveAsync(timeout.Token);
            got.Add(System.Text.Encoding.UTF8.GetString(packet.Buffer));
        }
        await log.DisposeAsync();
        // local4 = 20: info 20*8+6, err 20*8+3, warning 20*8+4.
        Assert.Matches(@"^<166>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ assp\[\d+\]: info: hello syslog$", got[0]);
        Assert.StartsWith("<163>", got[1]);
        Assert.EndsWith(": error: something broke", got[1]);
        Assert.StartsWith("<164>", got[2]);
        Assert.False(File.Exists(Path.Combine(dir.Path, "logs", "maillog.txt")));
    }

    [Fact]
    public async Task An_unknown_SysLogFac_is_reported_in_the_maillog_once()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Config(dir, "sysLog:=1\nsysLogIp:=127.0.0.1\nSysLogFac:=nonsense\n");
        var log = new MailLog(() => cfg);
        log.Write("one");
        await WaitForFile(Path.Combine(dir.Path, "logs", "maillog.txt"), "one");
        log.Write("two");
        await log.DisposeAsync();
        var text = File.ReadAllText(Path.Combine(dir.Path, "logs", "maillog.txt"));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "SysLogFac 'nonsense' is not a syslog facility"));
        Assert.Contains("two", text);
    }
}
