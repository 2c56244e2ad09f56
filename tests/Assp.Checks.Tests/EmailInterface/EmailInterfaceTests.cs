using System.Text;
using Assp.Checks.EmailInterface;
using Assp.Checks.Whitelist;
using Assp.Storage;

namespace Assp.Checks.Tests.EmailInterface;

public class EmailCommandsTests
{
    [Theory]
    [InlineData("asspspam@assp.local", false, EmailCommand.Spam)]
    [InlineData("ASSPNotSpam@example.com", true, EmailCommand.Ham)]
    [InlineData("asspwhite@assp-nospam.org", false, EmailCommand.WhitelistAdd)]
    [InlineData("asspnotwhite@example.com", true, EmailCommand.WhitelistRemove)]
    [InlineData("asspred@assp.local", false, EmailCommand.RedlistAdd)]
    [InlineData("asspnotred@assp.local", false, EmailCommand.RedlistRemove)]
    [InlineData("assp-persblack@assp.local", false, EmailCommand.PersBlackAdd)]
    [InlineData("assp-persnotblack@assp.local", false, EmailCommand.PersBlackRemove)]
    [InlineData("assphelp@assp.local", false, EmailCommand.Help)]
    public void The_default_local_parts_name_their_commands(string rcpt, bool local, EmailCommand expected) =>
        Assert.Equal(expected, EmailCommands.Recognize(TestConfig.Create(), rcpt, local));

    [Theory]
    [InlineData("asspspam@other.example", false)]     // neither local nor built in
    [InlineData("someone@assp.local", false)]
    [InlineData("asspspamx@assp.local", false)]
    public void Other_addresses_are_ordinary_recipients(string rcpt, bool local) =>
        Assert.Null(EmailCommands.Recognize(TestConfig.Create(), rcpt, local));

    [Fact]
    public void The_options_rename_or_switch_off_the_addresses()
    {
        var cfg = TestConfig.Create(("EmailSpam", "spam"), ("EmailHelp", ""));
        Assert.Equal(EmailCommand.Spam, EmailCommands.Recognize(cfg, "spam@assp.local", false));
        Assert.Null(EmailCommands.Recognize(cfg, "asspspam@assp.local", false));
        Assert.Null(EmailCommands.Recognize(cfg, "assphelp@assp.local", false));
        Assert.Null(EmailCommands.Recognize(TestConfig.Create(("EmailInterfaceOk", "0")), "asspspam@assp.local", false));
    }

    [Fact]
    public void EmailInterfaceDomains_limits_the_domains()
    {
        var cfg = TestConfig.Create(("EmailInterfaceDomains", "@example.com"));
        Assert.Equal(EmailCommand.Spam, EmailCommands.Recognize(cfg, "asspspam@example.com", true));
        Assert.Null(EmailCommands.Recognize(cfg, "asspspam@example.org", true));
        Assert.Null(EmailCommands.Recognize(cfg, "asspspam@assp.local", false));
    }

    [Fact]
    public void Only_relaying_sessions_and_EmailSenderOK_may_use_the_interface()
    {
        var cfg = TestConfig.Create(("EmailSenderOK", "partner@ext.example"));
        Assert.Equal(EmailAccess.NotForInterface, EmailCommands.Authorize(cfg, EmailCommand.WhitelistAdd, "stranger@ext.example", relayAllowed: false));
        Assert.Equal(EmailAccess.Allowed, EmailCommands.Authorize(cfg, EmailCommand.WhitelistAdd, "partner@ext.example", relayAllowed: false));
        Assert.Equal(EmailAccess.Allowed, EmailCommands.Authorize(cfg, EmailCommand.WhitelistAdd, "me@example.com", relayAllowed: true));
    }

    [Fact]
    public void EmailSenderNotOK_keeps_help_and_EmailSenderIgnore_drops_everything()
    {
        var cfg = TestConfig.Create(("EmailSenderNotOK", "bad@example.com"), ("EmailSenderIgnore", "mute@example.com"));
        Assert.Equal(EmailAccess.Denied, EmailCommands.Authorize(cfg, EmailCommand.Spam, "bad@example.com", true));
        Assert.Equal(EmailAccess.Allowed, EmailCommands.Authorize(cfg, EmailCommand.Help, "bad@example.com", true));
        Assert.Equal(EmailAccess.Ignored, EmailCommands.Authorize(cfg, EmailCommand.Help, "mute@example.com", true));
    }
}

public class EmailRequestTextTests
{
    [Fact]
    public void Addresses_are_read_from_the_lines_until_the_signature()
    {
        var listed = EmailRequestText.ListedAddresses("please add\r\nFriend@Far.Example <other@x.example>\r\n*@spam.example,*\r\nno address here\r\n-- \r\nme@example.com\r\n");
        Assert.Equal(
            [new ListedAddress("friend@far.example", null), new ListedAddress("other@x.example", null), new ListedAddress("*@spam.example", "*")],
            listed);
    }

    [Fact]
    public void Reported_senders_come_from_attached_mails_or_inline_forwards()
    {
        var attached = Mime.MimeParser.Parse(Encoding.ASCII.GetBytes(
            "From: me@example.com\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nspam\r\n" +
            "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: Spammer <spammer@bad.example>\r\nSubject: buy\r\n\r\ncheap\r\n--b--\r\n"));
        Assert.Equal(["spammer@bad.example"], EmailRequestText.ReportedSenders(attached));
        var inline = Mime.MimeParser.Parse(Encoding.ASCII.GetBytes(
            "From: me@example.com\r\nSubject: Fwd: buy\r\n\r\n---------- Forwarded message ---------\r\nFrom: Spammer <spammer@bad.example>\r\nSubject: buy\r\n\r\ncheap\r\n"));
        Assert.Equal(["spammer@bad.example"], EmailRequestText.ReportedSenders(inline));
    }
}

public class EmailInterfaceProcessorTests
{
    private static (EmailInterfaceProcessor Processor, WhitelistDb White, Redlist Red, PersonalBlacklist Black) Create()
    {
        var store = new MemoryStore();
        var white = new WhitelistDb(store);
        var red = new Redlist(store);
        var black = new PersonalBlacklist(store);
        return (new EmailInterfaceProcessor(white, red, black), white, red, black);
    }

    private static bool IsLocal(string a) => a.EndsWith("@example.com", StringComparison.OrdinalIgnoreCase);

    private static EmailRequest Request(EmailCommand command, string sender, string message, params string[] others) =>
        new(command, sender, others, Encoding.UTF8.GetBytes(message));

    [Fact]
    public void A_spam_report_is_stored_in_correctedspam_and_takes_the_sender_off_the_whitelist()
    {
        var (p, white, _, black) = Create();
        var cfg = TestConfig.Create();
        white.Add("spammer@bad.example", "me@example.com");
        var outcome = p.Process(cfg, Request(EmailCommand.Spam, "me@example.com",
            "From: me@example.com\r\nSubject: Fwd: buy\r\n\r\nFrom: spammer@bad.example\r\nSubject: buy\r\n\r\ncheap\r\n"), IsLocal);
        var file = Assert.Single(outcome.StoredFiles);
        Assert.Equal(Path.Combine(cfg.BaseDirectory, "errors", "spam"), Path.GetDirectoryName(file));
        Assert.EndsWith(".eml", file);
        Assert.Contains("Subject: Fwd: buy", File.ReadAllText(file));
        Assert.False(white.IsWhite(cfg, "spammer@bad.example", "me@example.com"));
        Assert.True(black.IsBlocked("me@example.com", "spammer@bad.example"));   // EmailErrorsModifyPersBlack default *@*
    }

    [Fact]
    public void A_ham_report_stores_the_attached_mail_in_correctednotspam_and_whitelists_its_sender()
    {
        var (p, white, _, _) = Create();
        var cfg = TestConfig.Create();
        var outcome = p.Process(cfg, Request(EmailCommand.Ham, "me@example.com",
            "From: me@example.com\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nnot spam\r\n" +
            "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: friend@far.example\r\nSubject: lunch\r\n\r\nsee you\r\n--b--\r\n"), IsLocal);
        var file = Assert.Single(outcome.StoredFiles);
        Assert.Equal(Path.Combine(cfg.BaseDirectory, "errors", "notspam"), Path.GetDirectoryName(file));
        Assert.StartsWith("From: friend@far.example\r\nSubject: lunch", File.ReadAllText(file));
        Assert.True(white.IsWhite(cfg, "friend@far.example", "me@example.com"));
    }

    [Fact]
    public void EmailErrorsModifyWhite_off_leaves_the_whitelist_alone()
    {
        var (p, white, _, _) = Create();
        var cfg = TestConfig.Create(("EmailErrorsModifyWhite", "0"));
        p.Process(cfg, Request(EmailCommand.Ham, "me@example.com", "Subject: x\r\n\r\nFrom: friend@far.example\r\n"), IsLocal);
        Assert.False(white.IsWhite(cfg, "friend@far.example", "me@example.com"));
    }

    [Fact]
    public void Whitelist_add_and_remove_act_on_the_body_lines_and_the_other_recipients()
    {
        var (p, white, _, _) = Create();
        var cfg = TestConfig.Create();
        var added = p.Process(cfg, Request(EmailCommand.WhitelistAdd, "me@example.com",
            "Subject: add\r\n\r\nfriend@far.example\r\n", "colleague@partner.example"), IsLocal);
        Assert.True(white.IsWhite(cfg, "friend@far.example", "me@example.com"));
        Assert.True(white.IsWhite(cfg, "colleague@partner.example", "me@example.com"));
        Assert.Contains("friend@far.example: added to the whitelist", added.Lines);
        var removed = p.Process(cfg, Request(EmailCommand.WhitelistRemove, "me@example.com", "Subject: rm\r\n\r\nfriend@far.example\r\n"), IsLocal);
        Assert.Contains("friend@far.example: removed from the whitelist", removed.Lines);
        Assert.False(white.IsWhite(cfg, "friend@far.example", "me@example.com"));
    }

    [Fact]
    public void A_redlisted_address_is_not_whitelisted()
    {
        var (p, white, red, _) = Create();
        var cfg = TestConfig.Create();
        red.Add("friend@far.example");
        var outcome = p.Process(cfg, Request(EmailCommand.WhitelistAdd, "me@example.com", "Subject: add\r\n\r\nfriend@far.example\r\n"), IsLocal);
        Assert.Contains("friend@far.example: is on the redlist and cannot be whitelisted", outcome.Lines);
        Assert.False(white.IsWhite(cfg, "friend@far.example", "me@example.com"));
    }

    [Fact]
    public void Only_admins_name_other_addresses_on_the_redlist()
    {
        var (p, _, red, _) = Create();
        var cfg = TestConfig.Create(("EmailAdmins", "boss@example.com"));
        p.Process(cfg, Request(EmailCommand.RedlistAdd, "me@example.com", "Subject: red\r\n\r\nvictim@far.example\r\n"), IsLocal);
        Assert.False(red.Contains("victim@far.example"));
        Assert.True(red.Contains("me@example.com"));
        p.Process(cfg, Request(EmailCommand.RedlistAdd, "boss@example.com", "Subject: red\r\n\r\nvictim@far.example\r\n"), IsLocal);
        Assert.True(red.Contains("victim@far.example"));
        p.Process(cfg, Request(EmailCommand.RedlistRemove, "boss@example.com", "Subject: red\r\n\r\nvictim@far.example\r\n"), IsLocal);
        Assert.False(red.Contains("victim@far.example"));
    }

    [Fact]
    public void Personal_blacklist_takes_wildcard_forms_reports_the_list_and_removes()
    {
        var (p, _, _, black) = Create();
        var cfg = TestConfig.Create();
        var added = p.Process(cfg, Request(EmailCommand.PersBlackAdd, "me@example.com", "Subject: pb\r\n\r\nspammer@bad.example\r\n*@worse.example\r\na*b@x.example\r\n"), IsLocal);
        Assert.True(black.IsBlocked("me@example.com", "spammer@bad.example"));
        Assert.True(black.IsBlocked("me@example.com", "anyone@worse.example"));
        Assert.Contains("a*b@x.example: not a form the personal blacklist takes", added.Lines);
        var report = p.Process(cfg, Request(EmailCommand.PersBlackAdd, "me@example.com", "Subject: pb\r\n\r\n"), IsLocal);
        Assert.Contains("your personal blacklist has 2 entries:", report.Lines);
        p.Process(cfg, Request(EmailCommand.PersBlackRemove, "me@example.com", "Subject: pb\r\n\r\nspammer@bad.example\r\n"), IsLocal);
        Assert.False(black.IsBlocked("me@example.com", "spammer@bad.example"));
    }

    [Fact]
    public void An_admin_removes_an_address_from_every_personal_blacklist()
    {
        var (p, _, _, black) = Create();
        var cfg = TestConfig.Create(("EmailAdmins", "boss@example.com"));
        black.Add("a@example.com", "x@bad.example");
        black.Add("b@example.com", "x@bad.example");
        p.Process(cfg, Request(EmailCommand.PersBlackRemove, "me@example.com", "Subject: pb\r\n\r\nx@bad.example,*\r\n"), IsLocal);
        Assert.True(black.IsBlocked("a@example.com", "x@bad.example"));   // not an admin: only the own (empty) list
        p.Process(cfg, Request(EmailCommand.PersBlackRemove, "boss@example.com", "Subject: pb\r\n\r\nx@bad.example,*\r\n"), IsLocal);
        Assert.False(black.IsBlocked("a@example.com", "x@bad.example"));
        Assert.False(black.IsBlocked("b@example.com", "x@bad.example"));
    }
}
