using System.Text;
using Assp.Checks.Whitelist;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Registry;
using Assp.Config.Scheduling;
using Assp.Mime;
using Assp.Smtp.BlockReports;
using Assp.Storage;

namespace Assp.Smtp.Tests;

public class BlockReportJobTests
{
    [Theory]
    [InlineData("user@example.com", "user@example.com", null, 1, null)]
    [InlineData("user@example.com=>user@example.com", "user@example.com", "user@example.com", 1, null)]
    [InlineData("*@example.com=>*", "*@example.com", null, 1, null)]
    [InlineData("*@example.com=>boss@elsewhere.example=>2", "*@example.com", "boss@elsewhere.example", 2, null)]
    [InlineData("*@example.com=>*>14", "*@example.com", null, 14, null)]
    [InlineData("user@example.com=>=>3", "user@example.com", null, 3, null)]
    [InlineData("user@example.com=>*>=>3", "user@example.com", null, 3, null)]
    [InlineData("*@example.com=>*>=14=>virus|newsletter", "*@example.com", null, 14, "virus|newsletter")]
    [InlineData("[Sales@example.com]=>boss@example.com", "[sales@example.com]", "boss@example.com", 1, null)]
    [InlineData("*@*", "*@*", null, 1, null)]
    public void ASSPs_line_forms_are_read(string line, string query, string? recipient, int days, string? filter)
    {
        var job = BlockReportJob.Parse(line, 1, out var error);
        Assert.True(job is not null, error);
        Assert.Equal(query, job.Query);
        Assert.Equal(recipient, job.Recipient);
        Assert.Equal(days, job.Days);
        Assert.Equal(filter, job.Filter);
        Assert.Empty(job.Cron);
    }

    [Fact]
    public void The_fifth_field_is_a_list_of_cron_entries()
    {
        var job = BlockReportJob.Parse("*@example.com=>it@example.com=>2=>virus|newsletter=>0 0 * * 2,4,6|0 12 * * 1", 1, out _)!;
        Assert.Equal(2, job.Cron.Count);
        Assert.True(job.Cron[0].Matches(new DateTime(2026, 11, 24, 0, 0, 0)));    // a Tuesday at midnight
        Assert.True(job.Cron[1].Matches(new DateTime(2026, 11, 23, 12, 0, 0)));   // a Monday at noon
        Assert.False(job.Cron[1].Matches(new DateTime(2026, 11, 23, 13, 0, 0)));
        Assert.Equal("virus|newsletter", job.Filter);
    }

    [Theory]
    [InlineData("", "missing")]
    [InlineData("not-an-address", "not an address")]
    [InlineData("us*er@example.com", "not an address")]
    [InlineData("user@example.com=>boss=>1", "not a report recipient")]
    [InlineData("user@example.com=>=>many", "not a number of days")]
    [InlineData("user@example.com=>=>1=>x=>61 * * * *", "not a cron entry")]
    public void Bad_lines_are_refused_with_a_reason(string line, string reason)
    {
        Assert.Null(BlockReportJob.Parse(line, 1, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void The_file_is_read_and_only_the_due_lines_run()
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-blockrep-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "files"));
        File.WriteAllText(Path.Combine(dir, "files", "blockreportlist.txt"),
            "# daily\n*@example.com=>*\n; weekly, Sunday\nboss@example.com=>=>7=>=>0 6 * * 0\nbroken line\n");
        var cfg = BlockReportTestSupport.Config(dir, ("BlockReportFile", "file:files/blockreportlist.txt"));
        var problems = new List<string>();
        var daily = BlockReportService.DueJobs(cfg, atBlockReportSchedule: true, new DateTime(2026, 11, 22, 0, 0, 0), problems.Add);
        Assert.Equal("*@example.com", Assert.Single(daily).Query);
        Assert.Contains(problems, p => p.Contains("line 5") && p.Contains("broken line"));
        Assert.Equal("boss@example.com", Assert.Single(BlockReportService.DueJobs(cfg, false, new DateTime(2026, 11, 22, 6, 0, 0))).Query);
        Assert.Empty(BlockReportService.DueJobs(cfg, false, new DateTime(2026, 11, 22, 7, 0, 0)));
    }

    [Theory]
    [InlineData("", null, null)]
    [InlineData("3", 3, null)]
    [InlineData(" 10 newsletter|$BRF ", 10, "newsletter|$BRF")]
    [InlineData("+7", 7, null)]
    [InlineData("virus", null, "virus")]
    public void The_subject_gives_days_and_filter(string subject, int? days, string? filter)
    {
        Assert.Equal((days, filter), BlockReportService.ParseSubject(subject));
    }
}

internal static class BlockReportTestSupport
{
    public static ConfigSnapshot Config(string dir, params (string Name, string Value)[] values)
    {
        var all = new List<(string, string)> { ("localDomains", "example.com"), ("myName", "assp1.example.com"), ("EmailFrom", "assp@example.com") };
        all.AddRange(values);
        var loader = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false };
        var cfg = loader.Load(new ConfigSource(dir, Overrides: [.. all.Select(v => KeyValuePair.Create(v.Item1, v.Item2))]));
        Assert.DoesNotContain(cfg.Issues, i => i.Severity == IssueSeverity.Error);
        return cfg;
    }

    /// <summary>Stores a mail in a collection folder and returns its relative name.</summary>
    public static string Store(string dir, string folder, string name, string message)
    {
        Directory.CreateDirectory(Path.Combine(dir, folder));
        File.WriteAllText(Path.Combine(dir, folder, name), message);
        return folder + "/" + name;
    }

    public static string Mail(string from, string to, string subject, string? intended = null) =>
        $"X-Assp-Envelope-From: {from}\r\n" + (intended is null ? "" : $"X-Assp-Intended-For: {intended}\r\n") +
        $"From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhello\r\n";
}

public class BlockReportBuilderTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-blockrep-tests", Guid.NewGuid().ToString("N"));

    private ConfigSnapshot Setup(params (string, string)[] values)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "logs"));
        var cfg = BlockReportTestSupport.Config(_dir, values);
        var now = DateTime.Now;
        string L(DateTime t, string id, string text) => MailLog.FormatLine(cfg, t, "Worker_1", id, text);
        var pills = BlockReportTestSupport.Store(_dir, "spam", "pills.eml", BlockReportTestSupport.Mail("bad@spam.example", "me@example.com", "<script>alert(1)</script> pills", "me@example.com"));
        var lines = new[]
        {
            L(now.AddDays(-10), "m1-00001-00001", "10.0.0.9 <old@spam.example> to: me@example.com [spam found] (old) -> spam/gone.eml"),
            L(now.AddHours(-3), "m1-00002-00002", "10.0.0.1 <bad@spam.example> to: me@example.com [spam found] (Bayesian spam 0.99)"),
            L(now.AddHours(-3), "m1-00002-00002", "10.0.0.1 <bad@spam.example> to: me@example.com [body] refused: 554 5.7.1 spam found -> " + pills),
            L(now.AddHours(-2), "m1-00003-00003", "10.0.0.2 <news@news.example> to: me@example.com [spam found] (BlackDomain news.example)"),
            L(now.AddHours(-2), "m1-00004-00004", "10.0.0.3 <x@spam.example> to: other@example.com [spam found] (Bayesian)"),
            L(now.AddHours(-1), "m1-00005-00005", "10.0.0.4 <friend@ok.example> to: me@example.com message ok - 100 bytes"),
        };
        File.WriteAllText(Path.Combine(_dir, "logs", "maillog.txt"), string.Join("\n", lines) + "\n");
        return cfg;
    }

    [Fact]
    public void The_finder_joins_a_mails_records_and_keeps_to_the_days_the_address_and_the_filter()
    {
        var cfg = Setup();
        var filter = BlockedMailFinder.Filter(cfg, null, out var error);   // BlockReportFilter: Virus|BlackDomain
        Assert.Null(error);
        var found = BlockedMailFinder.Find(cfg, DateTime.Now.AddDays(-5), r => r == "me@example.com", filter);
        var mail = Assert.Single(found);
        Assert.Equal("bad@spam.example", mail.Sender);
        Assert.Equal("spam/pills.eml", mail.StoredFile);
        Assert.Equal("<script>alert(1)</script> pills", mail.Subject);
        Assert.Contains("554 5.7.1 spam found", mail.Reason);
        Assert.Equal("10.0.0.1", mail.Ip);

        // Without the default filter the BlackDomain one shows up; eleven days back the old one, whose file is gone.
        var own = BlockedMailFinder.Filter(cfg, "nothing-matches-this", out _);
        var all = BlockedMailFinder.Find(cfg, DateTime.Now.AddDays(-11), r => r == "me@example.com", own);
        Assert.Equal(3, all.Count);
        Assert.Null(all.Single(m => m.Sender == "old@spam.example").StoredFile);
        Assert.Equal(2, BlockedMailFinder.Find(cfg, DateTime.Now.AddDays(-5), r => r == "me@example.com", BlockedMailFinder.Filter(cfg, "Virus", out _)).Count);
        Assert.Single(BlockedMailFinder.Find(cfg, DateTime.Now.AddDays(-5), r => r == "me@example.com", BlockedMailFinder.Filter(cfg, "$BRF", out _)));
        Assert.Null(BlockedMailFinder.Filter(cfg, "(unclosed", out var bad));
        Assert.Contains("not a valid regular expression", bad);
    }

    [Fact]
    public void The_report_has_text_and_html_with_resend_links_and_encodes_mail_content()
    {
        var cfg = Setup();
        var mails = BlockedMailFinder.Find(cfg, DateTime.Now.AddDays(-5), r => r == "me@example.com", null);
        var reply = BlockReportBuilder.Build(cfg, "me@example.com", "me@example.com", 5, mails, DateTimeOffset.UtcNow);
        var message = MimeParser.Parse(reply.Message);
        Assert.StartsWith("ASSP block report for me@example.com", message.Subject);
        Assert.Equal(["me@example.com"], reply.To);
        Assert.Equal("assp@example.com", reply.From);
        var text = message.TextParts.Single(p => p.MimeType == "text/plain").GetText()!;
        var html = message.TextParts.Single(p => p.MimeType == "text/html").GetText()!;
        var link = "mailto:asspblock@assp.local?subject=request%20ASSP%20to%20resend%20blocked%20mail%20from%20ASSP-host%20assp1.example.com&body=%23%23%23spam%2Fpills.eml%23%23%23%0D%0A";
        Assert.Contains(link, text);
        Assert.Contains("<script>alert(1)</script> pills", text);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; pills", html);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("<td>bad@spam.example</td>", html);
        Assert.Equal(2, CountOf(html, "href=\"" + link.Replace("&", "&amp;") + "\""));   // left and right
    }

    [Fact]
    public void Format_and_link_options_shape_the_report()
    {
        var cfg = Setup(("BlockReportFormat", "1"), ("BlockResendLinkNo", "me@example.com"));
        var mails = BlockedMailFinder.Find(cfg, DateTime.Now.AddDays(-5), r => r == "me@example.com", null);
        var message = MimeParser.Parse(BlockReportBuilder.Build(cfg, "me@example.com", "me@example.com", 5, mails, DateTimeOffset.UtcNow).Message);
        Assert.Equal("text/plain", message.Root.MimeType);
        Assert.DoesNotContain("mailto:", message.TextParts.Single().GetText());

        var leftOnly = Setup(("BlockResendLink", "1"), ("inclResendLink", "2"));
        Assert.Equal((false, true, false), BlockReportBuilder.Links(leftOnly, "me@example.com"));
        var only = Setup(("BlockResendLinkOnly", "boss@example.com"));
        Assert.Equal((false, false, false), BlockReportBuilder.Links(only, "me@example.com"));
        Assert.Equal((true, true, true), BlockReportBuilder.Links(only, "boss@example.com"));
    }

    [Fact]
    public void A_user_request_answers_with_the_own_report_and_an_admin_may_ask_for_a_domain()
    {
        var cfg = Setup(("BlockReportAdmins", "boss@example.com"), ("EmailBlockReply", "3"), ("EmailBlockTo", "copies@example.com"));
        var request = Encoding.ASCII.GetBytes("From: me@example.com\r\nSubject: 2\r\n\r\n*@example.com=>boss@example.com\r\n");
        var outcome = BlockReportService.HandleRequest(cfg, "me@example.com", request, null, DateTimeOffset.UtcNow);
        // A user's body lines are ignored: the own report, to the user and the EmailBlockTo copy.
        Assert.Equal(2, outcome.Mails.Count);
        Assert.Contains(outcome.Mails, m => m.To.SequenceEqual(["me@example.com"]));
        Assert.Contains(outcome.Mails, m => m.To.SequenceEqual(["copies@example.com"]));
        Assert.All(outcome.Mails, m => Assert.Contains("1 blocked mail in 2 days", MimeParser.Parse(m.Message).Subject));

        var admin = BlockReportService.HandleRequest(cfg, "boss@example.com",
            Encoding.ASCII.GetBytes("From: boss@example.com\r\nSubject: report\r\n\r\n*@example.com=>boss@example.com=>3=>$BRF\r\nfar@remote.example\r\n*@remote.example=>*\r\n"),
            null, DateTimeOffset.UtcNow);
        var combined = admin.Mails.First(m => m.To.SequenceEqual(["boss@example.com"]));
        var body = MimeParser.Parse(combined.Message).TextParts.First().GetText();
        Assert.Contains("other@example.com", body);
        Assert.Contains("me@example.com", body);
        Assert.Contains(admin.Log, l => l.Contains("non-local addresses needs a recipient"));
    }

    [Fact]
    public void A_group_gets_one_combined_report_or_one_per_member()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "groups.txt"), "[team@example.com]\nme@example.com\nother@example.com\n");
        var cfg = Setup(("Groups", "file:groups.txt"));
        var combined = BlockReportService.Run(cfg, BlockReportJob.Parse("[team@example.com]=>boss@example.com=>5", 1, out _)!, DateTimeOffset.UtcNow, requested: false);
        var mail = Assert.Single(combined.Mails);
        Assert.Equal(["boss@example.com"], mail.To);
        Assert.Contains("2 blocked mails", MimeParser.Parse(mail.Message).Subject);
        var each = BlockReportService.Run(cfg, BlockReportJob.Parse("[team@example.com]", 1, out _)!, DateTimeOffset.UtcNow, requested: false);
        // One day back: only other@example.com's mail (2 hours old) and me@'s (3 hours old) count; each member gets one.
        Assert.Equal(["me@example.com", "other@example.com"], each.Mails.Select(m => m.To.Single()).Order());
        // A member who asks with the group's own address as sender gets the combined report.
        var asked = BlockReportService.HandleRequest(cfg, "team@example.com", Encoding.ASCII.GetBytes("Subject: 5\r\n\r\n"), null, DateTimeOffset.UtcNow);
        Assert.Contains("2 blocked mails", MimeParser.Parse(Assert.Single(asked.Mails).Message).Subject);
    }

    private BlockReportOutcome AskAs(ConfigSnapshot cfg, string admin, string lines) =>
        BlockReportService.HandleRequest(cfg, admin, Encoding.ASCII.GetBytes($"From: {admin}\r\nSubject: 2\r\n\r\n{lines}"), null, DateTimeOffset.UtcNow);

    private ConfigSnapshot WithAdminDomains(string entries, string? groups = null)
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "admindomains.txt"), entries);
        var values = new List<(string, string)>
        {
            ("BlockReportAdmins", "boss@example.com|chief@example.com"), ("EmailAdmins", "root@example.com"),
            ("localDomains", "example.com|example.org|sub.example.net"), ("EmailAdminDomains", "file:admindomains.txt"),
        };
        if (groups is not null)
        {
            File.WriteAllText(Path.Combine(_dir, "groups.txt"), groups);
            values.Add(("Groups", "file:groups.txt"));
        }
        return Setup([.. values]);
    }

    [Fact]
    public void EmailAdminDomains_lets_an_admin_ask_for_its_domains_and_voids_a_request_for_any_other()
    {
        var cfg = WithAdminDomains("# restrictions\nboss@example.com=>*@example.com\n");
        var allowed = AskAs(cfg, "boss@example.com", "*@example.com=>boss@example.com\r\n");
        var mail = Assert.Single(allowed.Mails);
        Assert.Contains("other@example.com", MimeParser.Parse(mail.Message).TextParts.First().GetText());

        // One line outside the allowed domain and the whole request (including the allowed line) is ignored and logged.
        var refused = AskAs(cfg, "boss@example.com", "*@example.com=>boss@example.com\r\n*@example.org=>boss@example.com\r\n");
        Assert.Empty(refused.Mails);
        Assert.Contains(refused.Log, l => l.Contains("EmailAdminDomains does not allow") && l.Contains("*@example.org"));
        // *@* covers more than one domain, so it is refused too.
        Assert.Empty(AskAs(cfg, "boss@example.com", "*@*=>boss@example.com\r\n").Mails);

        // Admins without an entry may ask for every domain.
        var free = AskAs(cfg, "chief@example.com", "*@example.org=>chief@example.com\r\n*@example.com=>chief@example.com\r\n");
        Assert.Equal(2, free.Mails.Count);
        Assert.DoesNotContain(free.Log, l => l.Contains("EmailAdminDomains"));
    }

    [Fact]
    public void EmailAdminDomains_entries_for_one_admin_add_up_and_users_and_wildcard_domains_work()
    {
        var cfg = WithAdminDomains("boss@example.com=>me@example.com\nboss@example.com=>*@example.org,*@*.example.net\nroot@example.com|boss@example.com=>example.biz\n");
        var restriction = AdminDomainRestriction.For(cfg, "Boss@Example.com")!;
        Assert.True(restriction.Allows("me@example.com", cfg.Groups));
        Assert.True(restriction.Allows("*@example.org", cfg.Groups));
        Assert.True(restriction.Allows("anyone@sub.example.net", cfg.Groups));
        Assert.True(restriction.Allows("*@example.biz", cfg.Groups));
        Assert.False(restriction.Allows("other@example.com", cfg.Groups));
        Assert.False(restriction.Allows("*@example.com", cfg.Groups));
        Assert.False(restriction.Allows("*@example.net", cfg.Groups));
        Assert.True(AdminDomainRestriction.For(cfg, "root@example.com")!.Allows("x@example.biz", cfg.Groups));
        Assert.False(AdminDomainRestriction.For(cfg, "root@example.com")!.Allows("me@example.com", cfg.Groups));

        var both = AskAs(cfg, "boss@example.com", "me@example.com=>boss@example.com\r\n*@example.org=>boss@example.com\r\n");
        Assert.Equal(2, both.Mails.Count);
        Assert.Empty(AskAs(cfg, "boss@example.com", "me@example.com=>boss@example.com\r\nother@example.com=>boss@example.com\r\n").Mails);
    }

    [Fact]
    public void EmailAdminDomains_takes_groups_on_both_sides()
    {
        var cfg = WithAdminDomains("[bosses]=>[mydomains]\nroot@example.com=>[team@example.com]\n",
            "[bosses]\nboss@example.com\nchief@example.com\n[mydomains]\n*@example.org\nme@example.com\n[team@example.com]\nme@example.com\nother@example.com\n");
        foreach (var admin in new[] { "boss@example.com", "chief@example.com" })
        {
            var restriction = AdminDomainRestriction.For(cfg, admin)!;
            Assert.True(restriction.Allows("*@example.org", cfg.Groups));
            Assert.True(restriction.Allows("me@example.com", cfg.Groups));
            Assert.False(restriction.Allows("other@example.com", cfg.Groups));
            // A group query passes only when every member is allowed.
            Assert.False(restriction.Allows("[team@example.com]", cfg.Groups));
        }
        var root = AdminDomainRestriction.For(cfg, "root@example.com")!;
        Assert.True(root.Allows("[team@example.com]", cfg.Groups));
        Assert.False(root.Allows("*@example.com", cfg.Groups));
        Assert.Single(AskAs(cfg, "root@example.com", "[team@example.com]=>root@example.com\r\n").Mails);
        Assert.Empty(AskAs(cfg, "chief@example.com", "[team@example.com]=>chief@example.com\r\n").Mails);
    }

    [Fact]
    public void A_malformed_EmailAdminDomains_entry_is_named_in_the_log_and_restricts_nothing()
    {
        var cfg = WithAdminDomains("boss@example.com\n");
        var outcome = AskAs(cfg, "boss@example.com", "*@example.org=>boss@example.com\r\n");
        Assert.Single(outcome.Mails);
        Assert.Contains(outcome.Log, l => l.Contains("EmailAdminDomains entry 'boss@example.com'") && l.Contains("line 1"));
    }

    private static int CountOf(string s, string part)
    {
        int n = 0, i = 0;
        while ((i = s.IndexOf(part, i, StringComparison.Ordinal)) >= 0) { n++; i += part.Length; }
        return n;
    }
}

public class BlockedMailResendTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-resend-tests", Guid.NewGuid().ToString("N"));

    private ConfigSnapshot Cfg(params (string, string)[] values)
    {
        Directory.CreateDirectory(_dir);
        return BlockReportTestSupport.Config(_dir, values);
    }

    [Fact]
    public void A_user_gets_only_mail_that_was_for_them_and_only_to_themselves()
    {
        var cfg = Cfg();
        var file = BlockReportTestSupport.Store(_dir, "spam", "a.eml",
            BlockReportTestSupport.Mail("sender@far.example", "me@example.com, you@example.com", "offer", "me@example.com"));
        var ok = BlockReportService.PrepareResend(cfg, "me@example.com", file, "", null);
        Assert.NotNull(ok.Mail);
        Assert.Equal(["me@example.com"], ok.Mail.To);
        Assert.Equal("sender@far.example", ok.Mail.From);
        Assert.StartsWith("X-Assp-Resend-Blocked: assp1.example.com\r\n", Encoding.ASCII.GetString(ok.Mail.Message));

        var stranger = BlockReportService.PrepareResend(cfg, "nosy@example.com", "spam/b.eml", "", null);
        Assert.Null(stranger.Mail);   // not there at all
        BlockReportTestSupport.Store(_dir, "spam", "b.eml", BlockReportTestSupport.Mail("sender@far.example", "me@example.com", "offer", "me@example.com"));
        var denied = BlockReportService.PrepareResend(cfg, "nosy@example.com", "spam/b.eml", "", null);
        Assert.Null(denied.Mail);
        Assert.Contains("was not addressed to you", Encoding.UTF8.GetString(denied.Notice!.Message));
    }

    [Fact]
    public void Admins_and_resend_requesters_send_to_the_intended_recipients()
    {
        var cfg = Cfg(("EmailAdmins", "admin@example.com"), ("EmailResendRequester", "helper@example.com"));
        var mail = MimeParser.Parse(Encoding.ASCII.GetBytes(BlockReportTestSupport.Mail("s@far.example", "helper@example.com, x@far.example", "hi", "a@example.com")));
        bool Local(string a) => a.EndsWith("@example.com", StringComparison.Ordinal);
        Assert.Equal(["a@example.com"], BlockReportService.ResendRecipients(cfg, "admin@example.com", mail, Local));
        Assert.Equal(["a@example.com", "helper@example.com"], BlockReportService.ResendRecipients(cfg, "helper@example.com", mail, Local));
        Assert.Empty(BlockReportService.ResendRecipients(cfg, "someone@example.com", mail, Local));
        var noIntended = MimeParser.Parse(Encoding.ASCII.GetBytes(BlockReportTestSupport.Mail("s@far.example", "b@example.com, x@far.example", "hi")));
        Assert.Equal(["b@example.com"], BlockReportService.ResendRecipients(cfg, "admin@example.com", noIntended, Local));
        Assert.Equal(["b@example.com"], BlockReportService.ResendRecipients(cfg, "b@example.com", noIntended, Local));
    }

    [Fact]
    public void With_FileLogScan_an_infected_stored_mail_is_scanned_again_and_not_resent()
    {
        Directory.CreateDirectory(_dir);
        var script = Path.Combine(_dir, "scan.sh");
        File.WriteAllText(script, "#!/bin/sh\nif grep -q THE-BAD-THING \"$1\"; then echo \"infected by Test.Bad.Thing\"; else echo OK; fi\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        (string, string)[] scanner = [("DoFileScan", "1"), ("FileScanCMD", "/bin/sh " + script + " FILENAME"), ("FileScanDir", Path.Combine(_dir, "scanwork")),
            ("FileScanBad", "infected"), ("FileScanRespRe", @"(?<=by )\S+")];
        var bad = BlockReportTestSupport.Store(_dir, "spam", "bad.eml",
            BlockReportTestSupport.Mail("sender@far.example", "me@example.com", "offer", "me@example.com").Replace("offer", "offer THE-BAD-THING", StringComparison.Ordinal));
        var refused = BlockReportService.PrepareResend(Cfg([("FileLogScan", "1"), .. scanner]), "me@example.com", bad, "", null);
        Assert.Null(refused.Mail);
        Assert.Contains("contains a virus (Test.Bad.Thing)", Encoding.UTF8.GetString(refused.Notice!.Message));
        Assert.NotNull(BlockReportService.PrepareResend(Cfg([("FileLogScan", "0"), .. scanner]), "me@example.com", bad, "", null).Mail);
    }

    [Fact]
    public void Viruses_and_files_outside_the_collection_are_not_resent()
    {
        var cfg = Cfg(("EmailAdmins", "admin@example.com"));
        var virus = BlockReportTestSupport.Store(_dir, "quarantine", "v.eml", BlockReportTestSupport.Mail("s@far.example", "me@example.com", "virus", "me@example.com"));
        Assert.Contains("may contain a virus", Encoding.UTF8.GetString(BlockReportService.PrepareResend(cfg, "me@example.com", virus, "", null).Notice!.Message));
        Assert.NotNull(BlockReportService.PrepareResend(cfg, "admin@example.com", virus, "", null).Mail);
        File.WriteAllText(Path.Combine(_dir, "secret.eml"), BlockReportTestSupport.Mail("s@far.example", "me@example.com", "x", "me@example.com"));
        Assert.Null(BlockReportService.PrepareResend(cfg, "me@example.com", "../" + Path.GetFileName(_dir) + "/secret.eml", "", null).Mail);
        Assert.Null(BlockReportService.PrepareResend(cfg, "me@example.com", "spam/../secret.eml", "", null).Mail);
        Assert.Null(BlockReportService.PrepareResend(cfg, "me@example.com", "/etc/passwd", "", null).Mail);
    }

    [Fact]
    public void DelResendSpam_and_autoAddResendToWhite_follow_who_asked()
    {
        using var store = new MemoryStore();
        var white = new WhitelistDb(store);
        var editor = new WhitelistEditor(white, new Redlist(store), new PersonalBlacklist(store));
        var cfg = Cfg(("autoAddResendToWhite", "1"), ("EmailAdmins", "admin@example.com"));
        var user = BlockReportTestSupport.Store(_dir, "spam", "u.eml", BlockReportTestSupport.Mail("friend@far.example", "me@example.com", "x", "me@example.com"));
        Assert.NotNull(BlockReportService.PrepareResend(cfg, "me@example.com", user, "", editor).Mail);
        Assert.True(white.IsWhite(cfg, "friend@far.example", "me@example.com"));
        Assert.False(File.Exists(Path.Combine(_dir, user)));   // DelResendSpam (default on): a user's resend deletes it

        var admin = BlockReportTestSupport.Store(_dir, "spam", "a.eml", BlockReportTestSupport.Mail("other@far.example", "me@example.com", "x", "me@example.com"));
        Assert.NotNull(BlockReportService.PrepareResend(cfg, "admin@example.com", admin, "", editor).Mail);
        Assert.False(white.IsWhite(cfg, "other@far.example", "me@example.com"));   // 1 = users only
        Assert.True(File.Exists(Path.Combine(_dir, "errors", "notspam", "a.eml")));   // an admin's resend moves it

        var kept = BlockReportTestSupport.Store(_dir, "spam", "k.eml", BlockReportTestSupport.Mail("third@far.example", "me@example.com", "x", "me@example.com"));
        Assert.NotNull(BlockReportService.PrepareResend(cfg, "me@example.com", kept, "don't whitelist, no delete", editor).Mail);
        Assert.False(white.IsWhite(cfg, "third@far.example", "me@example.com"));
        Assert.True(File.Exists(Path.Combine(_dir, kept)));
    }

    [Fact]
    public void A_resend_for_another_host_is_left_to_the_forward_peers_and_a_forwarded_request_is_not_forwarded_again()
    {
        var cfg = Cfg(("BlockRepForwHost", "127.0.0.1:2526|SSL:127.0.0.1:4650"));
        Assert.Equal(["127.0.0.1:2526", "SSL:127.0.0.1:4650"], BlockReportForwarding.Peers(cfg));
        var request = Encoding.ASCII.GetBytes("Subject: request ASSP to resend blocked mail from ASSP-host assp2.example.com\r\n\r\n###spam/far.eml###\r\n");
        var elsewhere = BlockReportService.HandleRequest(cfg, "me@example.com", request, null, DateTimeOffset.UtcNow, forwarding: true);
        Assert.Empty(elsewhere.Mails);   // no failure notice: the peer that has it answers
        Assert.Contains(elsewhere.Log, l => l.Contains("the request goes to BlockRepForwHost"));
        var here = BlockReportService.HandleRequest(cfg, "me@example.com", request, null, DateTimeOffset.UtcNow, forwarding: false);
        Assert.Contains("does not exist", Encoding.UTF8.GetString(Assert.Single(here.Mails).Message));

        Assert.False(BlockReportForwarding.IsForwarded(request));
        Assert.True(BlockReportForwarding.IsForwarded(Encoding.ASCII.GetBytes("X-Assp-BlockReport-Forwarded: assp1\r\n" + Encoding.ASCII.GetString(request))));
        Assert.False(BlockReportForwarding.IsForwarded(Encoding.ASCII.GetBytes("Subject: x\r\n\r\nX-Assp-BlockReport-Forwarded: in the body\r\n")));
    }

    [Fact]
    public void A_resend_request_names_its_files_between_hashes_and_its_host_in_the_subject()
    {
        var cfg = Cfg();
        var link = BlockReportBuilder.ResendLink(cfg, "spam/a.eml");
        var body = Uri.UnescapeDataString(link[(link.IndexOf("&body=", StringComparison.Ordinal) + 6)..]);
        Assert.Equal([("spam/a.eml", "")], BlockReportService.ResendLines(body));
        Assert.Equal("assp1.example.com", BlockReportService.LinkHost(Uri.UnescapeDataString(link.Split("subject=")[1].Split('&')[0])));
        Assert.Null(BlockReportService.LinkHost("3 days"));
    }
}

public sealed class ResendLookupTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-resend-lookup", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public void A_file_RebuildFileTimeLimit_moved_to_rebuild_error_is_still_found_for_a_resend()
    {
        Directory.CreateDirectory(_dir);
        var cfg = BlockReportTestSupport.Config(_dir);
        var moved = BlockReportTestSupport.Store(_dir, "rebuild_error/spam", "slow.eml", BlockReportTestSupport.Mail("a@spam.example", "me@example.com", "slow"));
        Assert.Equal(Path.GetFullPath(Path.Combine(_dir, moved)), BlockReportService.FindStored(cfg, "spam/slow.eml", out var option));
        Assert.Equal("spamlog", option);
        // Only the corpus folders have such a place; nothing outside the base folder is reached.
        Assert.Null(BlockReportService.FindStored(cfg, "spam/../../etc/passwd.eml", out _));
        Assert.Null(BlockReportService.FindStored(cfg, "spam/missing.eml", out _));
    }
}
