using System.Text;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Smtp.Collection;
using Assp.Smtp.Session;

namespace Assp.Smtp.Tests;

public class MessageCollectorTests
{
    private static ConfigSnapshot Config(params (string Name, string Value)[] values)
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-collect-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var loader = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false };
        var cfg = loader.Load(new ConfigSource(dir, Overrides: [.. values.Select(v => KeyValuePair.Create(v.Name, v.Value))]));
        Assert.DoesNotContain(cfg.Issues, i => i.Severity == IssueSeverity.Error);
        return cfg;
    }

    private static MessageBuffer Buffer(string text, int memoryLimit = 1 << 20)
    {
        var buffer = new MessageBuffer(memoryLimit, Path.Combine(Path.GetTempPath(), "assp-collect-tests", "spool"));
        buffer.Write(Encoding.ASCII.GetBytes(text));
        return buffer;
    }

    private static MessageCollector.Request Request(CollectTarget target, string subject = "Cheap pills", string block = "X-Assp-ID: test\r\n") =>
        new(target, subject, Encoding.ASCII.GetBytes(block), StripAsspHeaders: true, "m1");

    private const string Message = "From: a@far.example\r\nX-Assp-Spam: forged\r\nSubject: Cheap pills\r\n\r\nbuy now\r\n";

    [Fact]
    public async Task A_spam_is_stored_in_spamlog_under_its_subject_with_our_header_block_first()
    {
        var cfg = Config(("UseSubjectsAsMaillogNames", "1"));
        string? stored;
        await using (var collector = new MessageCollector(null))
        {
            using var buffer = Buffer(Message);
            stored = collector.Collect(cfg, Request(CollectTarget.Spam), buffer);
        }
        Assert.NotNull(stored);
        Assert.Matches(@"^spam/Cheap_pills--\d+\.eml$", stored);
        var text = await File.ReadAllTextAsync(Path.Combine(cfg.BaseDirectory, stored));
        // Incoming X-Assp- lines are not kept: only this proxy writes them.
        Assert.Equal("X-Assp-ID: test\r\nFrom: a@far.example\r\nSubject: Cheap pills\r\n\r\nbuy now\r\n", text);
        Assert.Empty(Directory.GetFiles(Path.Combine(cfg.BaseDirectory, "tmp", "collect")));
    }

    [Fact]
    public async Task MaxAllowedDups_moves_the_oldest_spam_with_the_same_subject_to_discarded()
    {
        var cfg = Config(("UseSubjectsAsMaillogNames", "1"), ("MaxAllowedDups", "2"), ("discarded", "discarded"), ("freqSpam", "1"),
            ("AllowedDupSubjectRe", "newsletter"));
        await using (var collector = new MessageCollector(null))
        {
            for (int i = 0; i < 4; i++)
            {
                using var buffer = Buffer(Message);
                Assert.NotNull(collector.Collect(cfg, Request(CollectTarget.Spam), buffer));
            }
            for (int i = 0; i < 3; i++)
            {
                using var buffer = Buffer(Message);
                Assert.NotNull(collector.Collect(cfg, Request(CollectTarget.Spam, subject: "Weekly newsletter"), buffer));
            }
        }
        var spam = Path.Combine(cfg.BaseDirectory, "spam");
        Assert.Equal(2, Directory.GetFiles(spam, "Cheap_pills--*").Length);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(cfg.BaseDirectory, "discarded"), "Cheap_pills--*").Length);
        Assert.Equal(3, Directory.GetFiles(spam, "Weekly_newsletter--*").Length);   // AllowedDupSubjectRe: all kept
    }

    [Fact]
    public void MaxAllowedDups_needs_subject_names_a_discarded_folder_and_a_spamlog_file()
    {
        var on = Config(("UseSubjectsAsMaillogNames", "1"), ("MaxAllowedDups", "5"), ("discarded", "discarded"));
        Assert.Equal("Cheap_pills--", MessageCollector.Duplicates(on, "spamlog", "Cheap_pills--17.eml", "Cheap pills")?.Prefix);
        Assert.Null(MessageCollector.Duplicates(on, "notspamlog", "Cheap_pills--17.eml", "Cheap pills"));
        Assert.Null(MessageCollector.Duplicates(Config(("UseSubjectsAsMaillogNames", "1"), ("MaxAllowedDups", "5"), ("discarded", "")),
            "spamlog", "Cheap_pills--17.eml", "Cheap pills"));
        Assert.Null(MessageCollector.Duplicates(Config(("UseSubjectsAsMaillogNames", "0"), ("MaxAllowedDups", "5"), ("discarded", "discarded")),
            "spamlog", "1234.eml", "Cheap pills"));
        Assert.Null(MessageCollector.Duplicates(Config(("UseSubjectsAsMaillogNames", "1"), ("MaxAllowedDups", "0"), ("discarded", "discarded")),
            "spamlog", "Cheap_pills--17.eml", "Cheap pills"));
    }

    [Fact]
    public async Task Without_StoreCompleteMail_only_the_header_and_MaxBytes_of_the_body_are_kept()
    {
        var cfg = Config(("StoreCompleteMail", "0"), ("MaxBytes", "100"));
        var body = new string('x', 5000);
        var message = "Subject: big\r\n\r\n" + body;
        string? stored;
        await using (var collector = new MessageCollector(null))
        {
            using var buffer = Buffer(message);
            stored = collector.Collect(cfg, Request(CollectTarget.NotSpam, block: ""), buffer);
        }
        var bytes = await File.ReadAllBytesAsync(Path.Combine(cfg.BaseDirectory, stored!));
        Assert.Equal("Subject: big\r\n\r\n".Length + 100, bytes.Length);

        // StoreCompleteMail above the message size keeps it whole.
        var whole = Config(("StoreCompleteMail", "100000"), ("MaxBytes", "100"));
        await using (var collector = new MessageCollector(null))
        {
            using var buffer = Buffer(message);
            stored = collector.Collect(whole, Request(CollectTarget.NotSpam, block: ""), buffer);
        }
        Assert.Equal(message.Length, new FileInfo(Path.Combine(whole.BaseDirectory, stored!)).Length);
    }

    [Fact]
    public async Task A_message_spooled_on_disk_is_streamed_even_after_the_session_dropped_its_spool()
    {
        var cfg = Config(("StoreCompleteMail", "1000000"), ("MaxBytes", "4000"));
        var line = new string('y', 998) + "\r\n";
        var message = "Subject: large\r\n\r\n" + string.Concat(Enumerable.Repeat(line, 3000));   // 3 MB
        string? stored;
        await using (var collector = new MessageCollector(null))
        {
            var buffer = Buffer(message, memoryLimit: 64 * 1024);
            Assert.True(buffer.IsOnDisk);
            stored = collector.Collect(cfg, Request(CollectTarget.OkMail, subject: "large", block: ""), buffer);
            // The session goes on with the next message at once: its spool file is deleted.
            buffer.Dispose();
        }
        var length = new FileInfo(Path.Combine(cfg.BaseDirectory, stored!)).Length;
        Assert.Equal(1_000_000, length);
        Assert.StartsWith("okmail/large--", stored);
    }

    [Fact]
    public async Task FreqNonSpam_keeps_every_nth_ham_and_a_spam_skipped_by_freqSpam_goes_to_discarded()
    {
        var cfg = Config(("freqNonSpam", "3"), ("freqSpam", "2"));
        await using var collector = new MessageCollector(null);
        var ham = Enumerable.Range(0, 6).Select(_ => collector.Plan(cfg, CollectTarget.NotSpam)).ToList();
        Assert.Equal([null, null, (CollectTarget.NotSpam, "notspamlog"), null, null, (CollectTarget.NotSpam, "notspamlog")], ham);
        Assert.Equal((CollectTarget.Discard, "discarded"), collector.Plan(cfg, CollectTarget.Spam));
        Assert.Equal((CollectTarget.Spam, "spamlog"), collector.Plan(cfg, CollectTarget.Spam));
        Assert.Null(collector.Plan(cfg, CollectTarget.None));
    }

    [Fact]
    public async Task A_folder_that_cannot_be_written_is_a_maillog_warning_not_an_error()
    {
        var cfg = Config(("spamlog", "blocked/spam"));
        // A file where the folder should be: no user (not even root) can create the folder.
        await File.WriteAllTextAsync(Path.Combine(cfg.BaseDirectory, "blocked"), "not a folder");
        var lines = new List<string>();
        MessageCollector collector;
        await using (collector = new MessageCollector((_, line) => { lock (lines) lines.Add(line); }))
        {
            using var buffer = Buffer(Message);
            Assert.NotNull(collector.Collect(cfg, Request(CollectTarget.Spam), buffer));
        }
        Assert.Equal(1, collector.Failed);
        Assert.Equal(0, collector.Written);
        Assert.Contains(lines, l => l.StartsWith("warning: collected mail could not be stored in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_file_counter_goes_on_after_a_restart()
    {
        var cfg = Config(("UseSubjectsAsMaillogNames", "1"));
        string first, second;
        await using (var collector = new MessageCollector(null))
        {
            using var buffer = Buffer(Message);
            first = collector.Collect(cfg, Request(CollectTarget.Spam), buffer)!;
        }
        await using (var collector = new MessageCollector(null))
        {
            using var buffer = Buffer(Message);
            second = collector.Collect(cfg, Request(CollectTarget.Spam), buffer)!;
        }
        static long Number(string path) => long.Parse(path[(path.LastIndexOf("--", StringComparison.Ordinal) + 2)..^4]);
        Assert.True(Number(second) > Number(first));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(cfg.BaseDirectory, "spam")).Length);
    }

    [Fact]
    public async Task A_file_matching_noCollectRe_is_not_kept()
    {
        var cfg = Config(("noCollectRe", "X-Assp-ID: secret|do not keep"));
        var lines = new List<string>();
        MessageCollector collector;
        await using (collector = new MessageCollector((_, line) => { lock (lines) lines.Add(line); }))
        {
            using (var buffer = Buffer("Subject: a\r\n\r\nplease do not keep this\r\n"))
                Assert.NotNull(collector.Collect(cfg, Request(CollectTarget.Spam, subject: "a"), buffer));
            // Our own header lines are part of what the regex sees.
            using (var buffer = Buffer("Subject: b\r\n\r\nnormal\r\n"))
                Assert.NotNull(collector.Collect(cfg, Request(CollectTarget.Spam, subject: "b", block: "X-Assp-ID: secret\r\n"), buffer));
            using (var buffer = Buffer("Subject: c\r\n\r\nnormal\r\n"))
                Assert.NotNull(collector.Collect(cfg, Request(CollectTarget.Spam, subject: "c"), buffer));
        }
        var kept = Assert.Single(Directory.GetFiles(Path.Combine(cfg.BaseDirectory, "spam")));
        Assert.StartsWith("c--", Path.GetFileName(kept));
        Assert.Equal(2, lines.Count(l => l.Contains("matched noCollectRe", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Nothing_is_stored_where_the_folder_is_not_set()
    {
        var cfg = Config(("incomingOkMail", ""));
        await using var collector = new MessageCollector(null);
        using var buffer = Buffer(Message);
        Assert.Null(collector.Collect(cfg, Request(CollectTarget.OkMail), buffer));
    }

    /// <summary>A scanner script: "infected by Test.Bad.Thing" when the file holds THE-BAD-THING, else OK.</summary>
    private static string ScannerScript()
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-collect-tests", "scanner-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var script = Path.Combine(dir, "scan.sh");
        File.WriteAllText(script, "#!/bin/sh\nif grep -q THE-BAD-THING \"$1\"; then echo \"infected by Test.Bad.Thing\"; else echo OK; fi\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    [Theory]
    [InlineData("2", true)]
    [InlineData("1", false)] // resend folder only: collected files stay unscanned
    public async Task With_FileLogScan_2_an_infected_collected_file_is_moved_to_the_viruslog_folder(string fileLogScan, bool moved)
    {
        var cfg = Config(("DoFileScan", "1"), ("FileScanCMD", "/bin/sh " + ScannerScript() + " FILENAME"), ("FileScanBad", "infected"),
            ("FileScanRespRe", @"(?<=by )\S+"), ("FileLogScan", fileLogScan), ("viruslog", "quarantine"));
        var lines = new List<string>();
        string? bad, good;
        await using (var collector = new MessageCollector((_, line) => { lock (lines) lines.Add(line); }))
        {
            using var infected = Buffer("From: a@far.example\r\nSubject: bad\r\n\r\nTHE-BAD-THING\r\n");
            bad = collector.Collect(cfg, Request(CollectTarget.NotSpam, "bad"), infected);
            using var clean = Buffer("From: a@far.example\r\nSubject: good\r\n\r\nall fine\r\n");
            good = collector.Collect(cfg, Request(CollectTarget.NotSpam, "good"), clean);
        }
        Assert.NotNull(bad);
        Assert.NotNull(good);
        Assert.True(File.Exists(Path.Combine(cfg.BaseDirectory, good)));
        var quarantined = Path.Combine(cfg.BaseDirectory, "quarantine", Path.GetFileName(bad));
        Assert.Equal(moved, File.Exists(quarantined));
        Assert.Equal(!moved, File.Exists(Path.Combine(cfg.BaseDirectory, bad)));
        if (moved) Assert.Contains(lines, l => l.Contains("moved virus infected file", StringComparison.Ordinal) && l.Contains("Test.Bad.Thing", StringComparison.Ordinal));
    }
}
