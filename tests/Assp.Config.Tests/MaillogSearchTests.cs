using System.Text;
using Assp.Config.Logging;
using Assp.Config.Registry;

namespace Assp.Config.Tests;

/// <summary>The maillog search over logs that MailLog itself wrote and rolled over three days.</summary>
public class MaillogSearchTests
{
    private static ConfigSnapshot Config(TestPaths.TempDir dir, string extra = "")
    {
        File.WriteAllText(Path.Combine(dir.Path, "assp.cfg"), extra + "ConfigSavedOK:=1\n");
        return new ConfigLoader(OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
    }

    private static async Task WaitFor(string file, string text)
    {
        for (int i = 0; i < 200; i++)
        {
            if (File.Exists(file) && File.ReadAllText(file).Contains(text, StringComparison.Ordinal)) return;
            await Task.Delay(25);
        }
        Assert.Fail($"{file} never got '{text}'");
    }

    /// <summary>Three days of log: two rolled files and the current one.</summary>
    private static async Task<ConfigSnapshot> ThreeDaysAsync(TestPaths.TempDir dir)
    {
        var cfg = Config(dir);
        var current = Path.Combine(dir.Path, "logs", "maillog.txt");
        var time = new FakeTime(new DateTimeOffset(2026, 11, 5, 9, 0, 0, TimeSpan.Zero));
        var log = new MailLog(() => cfg, time);
        log.Write("Worker_1", "m1-11111-00001", "Connected: session:0000AA1234 192.0.2.10:40000 > 127.0.0.1:25 > 127.0.0.1:125");
        time.Advance(TimeSpan.FromMinutes(1));
        log.Write("Worker_1", "m1-11111-00001", "192.0.2.10 <spammer@bad.test> to: user@example.com [spam found] (MessageScore 60, limit 50) -> spam/m1-11111-00001.eml");
        await WaitFor(current, "spam found");
        time.Now = new DateTimeOffset(2026, 11, 6, 0, 5, 0, TimeSpan.Zero);
        log.Write("Worker_2", "m1-22222-00002", "[MessageOK] 198.51.100.7 <friend@good.test> to: user@example.com message ok - 1234 bytes - 250 2.0.0 Ok -> notspam/m1-22222-00002.eml");
        time.Advance(TimeSpan.FromMinutes(1));
        log.Write("Worker_2", "m1-22222-00003", "error: the MTA went away\nwhile taking the message");
        await WaitFor(current, "while taking");
        time.Now = new DateTimeOffset(2026, 11, 7, 0, 5, 0, TimeSpan.Zero);
        log.Write("Worker_1", "m1-33333-00004", "2001:db8::5 <x@y.test> to: a@example.com [rcpt] refused: in blackListedDomains");
        time.Advance(TimeSpan.FromMinutes(1));
        log.Write("Worker_1", "m1-33333-00005", "[SMTP Error] 451 4.7.1 greylisted, try again later");
        await log.DisposeAsync();
        var logs = Path.Combine(dir.Path, "logs");
        Assert.True(File.Exists(Path.Combine(logs, "26-11-05.maillog.txt")));
        Assert.True(File.Exists(Path.Combine(logs, "26-11-06.maillog.txt")));
        // Rolled files carry the time of their last line, as they would on a running system.
        File.SetLastWriteTime(Path.Combine(logs, "26-11-05.maillog.txt"), new DateTime(2026, 11, 5, 9, 1, 0));
        File.SetLastWriteTime(Path.Combine(logs, "26-11-06.maillog.txt"), new DateTime(2026, 11, 6, 0, 6, 0));
        return cfg;
    }

    [Fact]
    public async Task Records_come_newest_first_across_rolled_files_parsed_into_their_parts()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = await ThreeDaysAsync(dir);
        Assert.Equal(3, MaillogSearch.LogFiles(cfg).Count);
        var page = MaillogSearch.Search(cfg, new MaillogQuery());
        Assert.Null(page.Error);
        Assert.False(page.HasMore);
        Assert.Equal(3, page.FilesSearched);
        var e = page.Entries;
        Assert.Equal(6, e.Count);
        Assert.Equal([MaillogVerdict.TempFailed, MaillogVerdict.Blocked, MaillogVerdict.Error, MaillogVerdict.Passed, MaillogVerdict.Spam, MaillogVerdict.Connection],
            e.Select(x => x.Verdict));
        Assert.True(e.Zip(e.Skip(1)).All(p => p.First.Time >= p.Second.Time));

        var blocked = e[1];
        Assert.Equal(new DateTime(2026, 11, 7, 0, 5, 0), blocked.Time);
        Assert.Equal("m1-33333-00004", blocked.MessageId);
        Assert.Equal("Worker_1", blocked.Worker);
        Assert.Equal("2001:db8::5", blocked.Ip);
        Assert.Equal("x@y.test", blocked.Sender);
        Assert.Equal(["a@example.com"], blocked.Recipients);

        // The continuation line belongs to its record.
        Assert.EndsWith("error: the MTA went away\n\twhile taking the message", e[2].Line);

        var ok = e[3];
        Assert.Equal("198.51.100.7", ok.Ip);
        Assert.Equal("notspam/m1-22222-00002.eml", ok.StoredFile);
        Assert.EndsWith("26-11-06.maillog.txt", ok.File);
        Assert.Equal("spam/m1-11111-00001.eml", e[4].StoredFile);
        Assert.Equal("0000AA1234", e[5].SessionId);
        Assert.Equal("192.0.2.10", e[5].Ip);
    }

    [Fact]
    public async Task Text_regex_date_range_verdicts_and_paging_narrow_the_results()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = await ThreeDaysAsync(dir);

        var text = MaillogSearch.Search(cfg, new MaillogQuery { Text = "USER@example.com" });
        Assert.Equal(["m1-22222-00002", "m1-11111-00001"], text.Entries.Select(x => x.MessageId));

        var regex = MaillogSearch.Search(cfg, new MaillogQuery { Text = @"<\w+@(good|y)\.test>", IsRegex = true });
        Assert.Equal(["m1-33333-00004", "m1-22222-00002"], regex.Entries.Select(x => x.MessageId));

        var bad = MaillogSearch.Search(cfg, new MaillogQuery { Text = "(unclosed", IsRegex = true });
        Assert.Contains("invalid regular expression", bad.Error);
        Assert.Empty(bad.Entries);

        var day6 = MaillogSearch.Search(cfg, new MaillogQuery { From = new DateTime(2026, 11, 6, 0, 0, 0), To = new DateTime(2026, 11, 6, 23, 59, 59) });
        Assert.Equal(["m1-22222-00003", "m1-22222-00002"], day6.Entries.Select(x => x.MessageId));
        // The search stopped at the first record older than the range: the oldest file was not opened.
        Assert.Equal(2, day6.FilesSearched);

        var spam = MaillogSearch.Search(cfg, new MaillogQuery { Verdicts = [MaillogVerdict.Spam, MaillogVerdict.Blocked] });
        Assert.Equal(["m1-33333-00004", "m1-11111-00001"], spam.Entries.Select(x => x.MessageId));

        var first = MaillogSearch.Search(cfg, new MaillogQuery { Take = 4 });
        Assert.True(first.HasMore);
        Assert.Equal(4, first.Entries.Count);
        var second = MaillogSearch.Search(cfg, new MaillogQuery { Skip = 4, Take = 4 });
        Assert.False(second.HasMore);
        Assert.Equal(["m1-11111-00001", "m1-11111-00001"], second.Entries.Select(x => x.MessageId));
        Assert.Empty(first.Entries.Select(x => x.Line).Intersect(second.Entries.Select(x => x.Line)));
    }

    [Fact]
    public void A_catastrophic_regex_times_out_instead_of_hanging()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Config(dir);
        dir.File("logs/maillog.txt", "Nov-05-26 09:00:00 " + new string('a', 5000) + "!\n");
        var page = MaillogSearch.Search(cfg, new MaillogQuery { Text = "(a+)+$", IsRegex = true });
        Assert.True(page.TimedOut);
        Assert.Null(page.Error);
    }

    [Fact]
    public void Other_date_formats_and_languages_are_read_back()
    {
        var parser = new MaillogLineParser("DDD DD.MM.YYYY hh:mm:ss", 2);
        var e = parser.Parse("Don 05.11.2026 07:08:09 [Worker_3] 10.1.2.3 <a@b.test> to: c@d.test [MessageOK] message ok");
        Assert.Equal(new DateTime(2026, 11, 5, 7, 8, 9), e.Time);
        Assert.Equal("Worker_3", e.Worker);
        Assert.Equal(MaillogVerdict.Passed, e.Verdict);
        var french = new MaillogLineParser("MMM-DD-YY hh:mm:ss", 1).Parse("déc-24-26 23:00:00 bonjour");
        Assert.Equal(new DateTime(2026, 12, 24, 23, 0, 0), french.Time);
    }

    [Fact]
    public void Reading_backwards_gives_every_line_across_block_boundaries_with_multibyte_text()
    {
        using var dir = new TestPaths.TempDir();
        var path = Path.Combine(dir.Path, "big.txt");
        var lines = new List<string>();
        var rnd = new Random(11);
        var sb = new StringBuilder();
        for (int i = 0; i < 4000; i++)
        {
            var line = $"{i} " + new string("äöü€x"[i % 5], rnd.Next(0, 120)) + (i % 97 == 0 ? new string('z', 70_000) : "");
            lines.Add(line);
            sb.Append(line).Append(i % 3 == 0 ? "\r\n" : "\n");
        }
        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
        Assert.True(new FileInfo(path).Length > 4 * ReverseLineReader.BlockSize);
        var back = ReverseLineReader.ReadLines(path).ToList();
        lines.Reverse();
        Assert.Equal(lines, back);
    }
}
