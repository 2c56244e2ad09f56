using System.Text;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Smtp.Collection;

namespace Assp.Smtp.Tests;

public class MailCopiesTests
{
    private static ConfigSnapshot Config(params (string Name, string Value)[] values)
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-copy-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var loader = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false };
        var cfg = loader.Load(new ConfigSource(dir, Overrides: [.. values.Select(v => KeyValuePair.Create(v.Name, v.Value))]));
        Assert.DoesNotContain(cfg.Issues, i => i.Severity == IssueSeverity.Error);
        return cfg;
    }

    private static CopyFacts Spam(CollectTarget code, double score = 60, bool never = false, params string[] rcpts) =>
        new(code, rcpts.Length == 0 ? ["bob@local.test"] : rcpts, "spammer@far.test", score, CcNever: never);

    [Fact]
    public void A_spam_code_with_copy_goes_to_sendAllSpam_with_USERNAME_and_DOMAIN_replaced()
    {
        var cfg = Config(("sendAllSpam", "USERNAME+spam@DOMAIN, archive@local.test"));
        var to = MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy, rcpts: ["Bob@Local.test", "eve@other.test"]));
        Assert.Equal(["bob+spam@local.test", "archive@local.test", "eve+spam@other.test"], to);
    }

    [Theory]
    [InlineData(CollectTarget.Spam)]
    [InlineData(CollectTarget.Discard)]
    [InlineData(CollectTarget.NotSpam)]
    [InlineData(CollectTarget.None)]
    public void Codes_without_copy_are_not_copied(CollectTarget code)
    {
        var cfg = Config(("sendAllSpam", "spamcopy@local.test"));
        Assert.Empty(MailCopies.SpamCopyTargets(cfg, Spam(code)));
    }

    [Fact]
    public void DiscardAndCopy_is_copied()
    {
        var cfg = Config(("sendAllSpam", "spamcopy@local.test"));
        Assert.Equal(["spamcopy@local.test"], MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.DiscardAndCopy)));
    }

    [Fact]
    public void ccSpamAlways_copies_a_discarded_spam_whatever_its_code()
    {
        var cfg = Config(("sendAllSpam", "spamcopy@local.test"), ("ccSpamAlways", "bob@local.test"));
        Assert.Equal(["spamcopy@local.test"], MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.Discard)));
        // Not for a recipient off the list.
        Assert.Empty(MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.Discard, rcpts: ["bob@local.test", "ann@local.test"])));
    }

    [Fact]
    public void ccSpamFilter_limits_copies_to_its_recipients()
    {
        var cfg = Config(("sendAllSpam", "spamcopy@local.test"), ("ccSpamFilter", "@local.test"));
        Assert.Equal(["spamcopy@local.test"], MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy)));
        Assert.Empty(MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy, rcpts: ["bob@elsewhere.test"])));
    }

    [Fact]
    public void ccMaxScore_and_ccSpamNeverRe_stop_the_copy()
    {
        var cfg = Config(("sendAllSpam", "spamcopy@local.test"), ("ccMaxScore", "75"));
        Assert.Empty(MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy, score: 80)));
        Assert.NotEmpty(MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy, score: 70)));
        Assert.Empty(MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy, never: true)));
    }

    [Fact]
    public void ccSpamNeverRe_looks_at_header_added_lines_and_reasons()
    {
        var cfg = Config(("ccSpamNeverRe", "newsletter|DNSBL: listed"));
        Assert.True(MailCopies.NeverCopy(cfg, "Subject: our Newsletter\r\n", "", []));
        Assert.True(MailCopies.NeverCopy(cfg, "Subject: x\r\n", "", ["DNSBL: listed in zen"]));
        Assert.False(MailCopies.NeverCopy(cfg, "Subject: x\r\n", "X-Assp-Spam: YES\r\n", ["Bayes"]));
        Assert.False(MailCopies.NeverCopy(Config(), "Subject: newsletter\r\n", "", []));
    }

    [Fact]
    public void NoCollect_and_collected_bounces_are_not_copied()
    {
        var cfg = Config(("sendAllSpam", "spamcopy@local.test"), ("DoNotCollectBounces", "1"));
        Assert.Empty(MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy) with { NoCollect = true }));
        Assert.Empty(MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy) with { IsBounce = true }));
    }

    [Fact]
    public void ccSpamInDomain_copies_per_domain_with_a_wildcard_fallback_even_without_sendAllSpam()
    {
        var cfg = Config(("ccSpamInDomain", "monitor@local.test|catch@*"));
        Assert.Equal(["monitor@local.test", "catch@other.test"],
            MailCopies.SpamCopyTargets(cfg, Spam(CollectTarget.SpamAndCopy, rcpts: ["bob@local.test", "eve@other.test"])));
    }

    [Fact]
    public void Ham_goes_to_sendHamInbound_or_sendHamOutbound_by_direction_and_filters()
    {
        var cfg = Config(("sendHamInbound", "USERNAME@archive.DOMAIN"), ("sendHamOutbound", "out@archive.test"));
        Assert.Equal(["bob@archive.local.test"], MailCopies.HamCopyTargets(cfg, relayOk: false, ["bob@local.test"], "a@far.test"));
        Assert.Equal(["out@archive.test"], MailCopies.HamCopyTargets(cfg, relayOk: true, ["x@far.test"], "bob@local.test"));

        var filtered = Config(("sendHamInbound", "archive@local.test"), ("ccHamFilter", "@local.test"), ("ccnHamFilter", "boss@local.test"));
        Assert.Equal(["archive@local.test"], MailCopies.HamCopyTargets(filtered, false, ["bob@local.test"], "a@far.test"));
        Assert.Empty(MailCopies.HamCopyTargets(filtered, false, ["bob@other.test"], "a@far.test"));
        Assert.Empty(MailCopies.HamCopyTargets(filtered, false, ["boss@local.test"], "a@far.test"));
        Assert.Empty(MailCopies.HamCopyTargets(Config(), false, ["bob@local.test"], "a@far.test"));
    }

    [Fact]
    public void ccMailReplaceRecpt_rewrites_copy_addresses()
    {
        const string rule = "01<=>S<=>*@spam.local.test<=>*@archive.local.test<=><=>1<=>";
        var logged = new List<string>();
        var on = Config(("ReplaceRecpt", rule), ("ccMailReplaceRecpt", "1"));
        Assert.Equal(["bob@archive.local.test", "x@other.test"],
            MailCopies.ReplaceRecipients(on, ["bob@spam.local.test", "x@other.test"], "a@far.test", logged.Add));
        Assert.Equal(["info: ccMail recipient bob@spam.local.test replaced with bob@archive.local.test"], logged);
        var off = Config(("ReplaceRecpt", rule));
        Assert.Equal(["bob@spam.local.test"], MailCopies.ReplaceRecipients(off, ["bob@spam.local.test"], "a@far.test", logged.Add));
    }

    private const string Message = "Received: from x\r\nFrom: a@far.test\r\nX-Assp-Spam: forged\r\nSubject: Cheap pills\r\nDisposition-Notification-To: a@far.test\r\n\r\nbuy now\r\n";

    [Fact]
    public void The_spam_copy_gets_tags_spamSubject_and_the_copy_headers()
    {
        var cfg = Config(("spamSubjectCC", "1"), ("spamSubject", "[SPAM]"), ("spamTagCC", "1"),
            ("removeDispositionNotification", "Disposition-Notification-To"));
        var copy = Encoding.Latin1.GetString(MailCopies.BuildSpamCopy(cfg, Encoding.ASCII.GetBytes(Message), "Received: by us\r\n",
            "X-Assp-ID: me m1\r\nX-Assp-Spam: YES\r\n", "[DNSBL]", "bob@local.test"));
        Assert.StartsWith("Received: by us\r\nReceived: from x\r\nFrom: a@far.test\r\nSubject: [SPAM] [DNSBL] Cheap pills\r\n", copy);
        Assert.DoesNotContain("forged", copy);
        Assert.DoesNotContain("Disposition-Notification-To", copy);
        Assert.EndsWith("X-Assp-ID: me m1\r\nX-Assp-Spam: YES\r\nX-Assp-Intended-For: bob@local.test\r\nX-Assp-Copy-Spam: Yes\r\n\r\nbuy now\r\n", copy);
    }

    [Fact]
    public void The_spam_copy_adds_a_missing_From_and_Subject_and_ccMaxBytes_cuts_the_body()
    {
        var cfg = Config(("spamTagCC", "0"), ("ccMaxBytes", "1"), ("MaxBytes", "10"));
        var copy = Encoding.Latin1.GetString(MailCopies.BuildSpamCopy(cfg, Encoding.ASCII.GetBytes("To: b@x.test\r\n\r\n" + new string('x', 100)),
            "", "", "[DNSBL]", "b@x.test"));
        Assert.Contains("From: sender not supplied\r\n", copy);
        Assert.Contains("Subject:\r\n", copy);
        Assert.EndsWith("\r\n\r\n" + new string('x', 10), copy);
    }

    [Fact]
    public void The_ham_copy_is_the_message_as_delivered()
    {
        var cfg = Config();
        var copy = Encoding.Latin1.GetString(MailCopies.BuildHamCopy(cfg, Encoding.ASCII.GetBytes(Message), "Received: by us\r\n", "X-Assp-ID: me m1\r\n", stripForeignAssp: true));
        Assert.Equal("Received: by us\r\nReceived: from x\r\nFrom: a@far.test\r\nSubject: Cheap pills\r\nDisposition-Notification-To: a@far.test\r\nX-Assp-ID: me m1\r\n\r\nbuy now\r\n", copy);
    }

    [Fact]
    public async Task The_copier_sends_in_the_background_to_the_copy_destination()
    {
        var cfg = Config(("sendAllDestination", "127.0.0.1:2526"), ("smtpDestination", "127.0.0.1:2525"), ("sendAllHamDestination", ""));
        var sent = new List<(string From, string To, string? Dest)>();
        var done = new TaskCompletionSource();
        await using (var copier = new MailCopier(null, send: (_, from, to, _, _, dest) =>
        {
            lock (sent) sent.Add((from, string.Join(",", to), dest));
            if (sent.Count == 2) done.TrySetResult();
            return Task.FromResult<string?>(null);
        }))
        {
            Assert.True(copier.Enqueue(cfg, spam: true, "s@far.test", ["copy@local.test"], [1], "m1"));
            Assert.True(copier.Enqueue(cfg, spam: false, "s@far.test", ["ham@local.test"], [1], "m2"));
            await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.Contains(("s@far.test", "copy@local.test", "127.0.0.1:2526"), sent);
        // Ham falls back to the spam copies' destination.
        Assert.Contains(("s@far.test", "ham@local.test", "127.0.0.1:2526"), sent);
    }

    [Fact]
    public async Task ScanCC_keeps_an_infected_copy_from_being_forwarded()
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-scancc-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var script = Path.Combine(dir, "scan.sh");
        File.WriteAllText(script, "#!/bin/sh\nif grep -q THE-BAD-THING \"$1\"; then echo \"infected by Test.Bad.Thing\"; else echo OK; fi\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        (string, string)[] scanner = [("DoFileScan", "1"), ("FileScanCMD", "/bin/sh " + script + " FILENAME"), ("FileScanDir", Path.Combine(dir, "work")),
            ("FileScanBad", "infected"), ("FileScanRespRe", @"(?<=by )\S+"), ("smtpDestination", "127.0.0.1:1")];
        var sent = new List<string>();
        var logged = new List<string>();
        var copier = new MailCopier((_, line) => { lock (logged) logged.Add(line); }, send: (_, _, to, msg, _, _) =>
        {
            lock (sent) sent.Add(Encoding.ASCII.GetString(msg));
            return Task.FromResult<string?>(null);
        });
        var bad = Encoding.ASCII.GetBytes("Subject: copy\r\n\r\nTHE-BAD-THING\r\n");
        var good = Encoding.ASCII.GetBytes("Subject: copy\r\n\r\nfine\r\n");
        var on = Config([("ScanCC", "1"), .. scanner]);
        Assert.True(copier.Enqueue(on, spam: true, "a@far.test", ["c@local.test"], bad, "m1", scan: true));
        Assert.True(copier.Enqueue(on, spam: true, "a@far.test", ["c@local.test"], good, "m2", scan: true));
        Assert.True(copier.Enqueue(on, spam: true, "a@far.test", ["c@local.test"], bad, "m3", scan: false));   // not a mail to scan (e.g. ScanWL off)
        Assert.True(copier.Enqueue(Config(scanner), spam: true, "a@far.test", ["c@local.test"], bad, "m4", scan: true));  // ScanCC off
        await copier.DisposeAsync();
        Assert.Equal(3, sent.Count);
        Assert.Single(sent, m => m.Contains("fine", StringComparison.Ordinal));
        Assert.Contains(logged, l => l.Contains("skip forwarding the copy - virus found: Test.Bad.Thing", StringComparison.Ordinal));
    }
}
