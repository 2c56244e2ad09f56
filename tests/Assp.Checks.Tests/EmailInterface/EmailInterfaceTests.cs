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
    [InlineData("asspspamlover@assp.local", false, EmailCommand.SpamLoverAdd)]
    [InlineData("asspnotspamlover@example.com", true, EmailCommand.SpamLoverRemove)]
    [InlineData("asspnpadd@assp.local", false, EmailCommand.NoProcessingAdd)]
    [InlineData("asspnprem@assp.local", false, EmailCommand.NoProcessingRemove)]
    [InlineData("assp-black@assp.local", false, EmailCommand.BlackAdd)]
    [InlineData("assp-notblack@assp.local", false, EmailCommand.BlackRemove)]
    [InlineData("asspanalyze@assp-nospam.org", false, EmailCommand.Analyze)]
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
        Assert.Equal(EmailAccess.Allowed, EmailCommands.Authorize(cfg, EmailCommand.Analyze, "bad@example.com", true));
        Assert.Equal(EmailAccess.Denied, EmailCommands.Authorize(cfg, EmailCommand.SpamLoverAdd, "bad@example.com", true));
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

    private static string ListFile(ConfigSnapshotHolder h, string relative) => File.ReadAllText(Path.Combine(h.Cfg.BaseDirectory, relative));

    private sealed record ConfigSnapshotHolder(Assp.Config.ConfigSnapshot Cfg);

    /// <summary>A config whose list options are files (as ASSP requires for the interface), written empty or with content.</summary>
    private static ConfigSnapshotHolder FileLists(params (string Name, string Value)[] extra)
    {
        var files = new Dictionary<string, string>
        {
            ["files/spamlovers.txt"] = "# spam lovers\npostmaster@example.com\n",
            ["files/noprocessing.txt"] = "newsletter@bulk.example  # wanted\n@trusted.example\n",
            ["files/blackdomains.txt"] = "@old-spam.example\n",
        };
        var values = new List<(string, string)>
        {
            ("spamLovers", "file:files/spamlovers.txt"), ("noProcessing", "file:files/noprocessing.txt"),
            ("blackListedDomains", "file:files/blackdomains.txt"), ("EmailAdmins", "boss@example.com"),
        };
        values.AddRange(extra);
        return new ConfigSnapshotHolder(TestConfig.Create(files, [.. values]));
    }

    private static Assp.Config.ConfigSnapshot Reloaded(ConfigSnapshotHolder h, params (string Name, string Value)[] extra)
    {
        var loader = new Assp.Config.ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { AllowExec = false, ExportGroups = false };
        var overrides = new List<KeyValuePair<string, string>>
        {
            new("spamLovers", "file:files/spamlovers.txt"), new("noProcessing", "file:files/noprocessing.txt"),
            new("blackListedDomains", "file:files/blackdomains.txt"), new("EmailAdmins", "boss@example.com"),
        };
        overrides.AddRange(extra.Select(e => KeyValuePair.Create(e.Name, e.Value)));
        return loader.Load(new Assp.Config.ConfigSource(h.Cfg.BaseDirectory, Overrides: overrides));
    }

    [Fact]
    public void A_user_puts_only_their_own_address_on_spamLovers_and_takes_it_off_again()
    {
        var (p, _, _, _) = Create();
        var h = FileLists();
        var added = p.Process(h.Cfg, Request(EmailCommand.SpamLoverAdd, "me@example.com", "Subject: sl\r\n\r\nother@example.com\r\n"), IsLocal);
        Assert.Contains("me@example.com: added to SpamLover addresses", added.Lines);
        Assert.Equal(["spamLovers"], added.ChangedLists);
        var text = ListFile(h, "files/spamlovers.txt");
        Assert.Contains("me@example.com  # added by email interface from me@example.com", text);
        Assert.DoesNotContain("other@example.com", text);
        var cfg = Reloaded(h);
        Assert.True(cfg.GetAddressList("spamLovers").Contains("me@example.com"));
        Assert.Contains("me@example.com: already on SpamLover addresses - not added",
            p.Process(cfg, Request(EmailCommand.SpamLoverAdd, "me@example.com", "Subject: sl\r\n\r\n"), IsLocal).Lines);
        var removed = p.Process(cfg, Request(EmailCommand.SpamLoverRemove, "me@example.com", "Subject: sl\r\n\r\n"), IsLocal);
        Assert.Contains("me@example.com: removed from SpamLover addresses", removed.Lines);
        Assert.DoesNotContain("me@example.com", ListFile(h, "files/spamlovers.txt"));
        Assert.Contains("postmaster@example.com", ListFile(h, "files/spamlovers.txt"));
    }

    [Fact]
    public void Admins_and_EmailSpamLoverTo_list_addresses_for_spamLovers()
    {
        var (p, _, _, _) = Create();
        var h = FileLists(("EmailSpamLoverTo", "helpdesk@example.com"));
        p.Process(h.Cfg, Request(EmailCommand.SpamLoverAdd, "boss@example.com", "Subject: sl\r\n\r\nsales@example.com\r\n*@example.org\r\n"), IsLocal);
        p.Process(h.Cfg, Request(EmailCommand.SpamLoverAdd, "helpdesk@example.com", "Subject: sl\r\n\r\nsupport@example.com\r\n"), IsLocal);
        var text = ListFile(h, "files/spamlovers.txt");
        Assert.Contains("sales@example.com", text);
        Assert.Contains("support@example.com", text);
        Assert.DoesNotContain("*@example.org", text);   // no wildcards by mail
        Assert.DoesNotContain("boss@example.com  #", text);
    }

    [Fact]
    public void Without_a_file_list_spamLovers_and_noProcessing_cannot_be_edited()
    {
        var (p, _, _, _) = Create();
        var cfg = TestConfig.Create(("spamLovers", "postmaster"), ("noProcessing", "x@y.example"));
        Assert.Contains("error: spamLovers is not a file: list - unable to add me@example.com",
            p.Process(cfg, Request(EmailCommand.SpamLoverAdd, "me@example.com", "Subject: sl\r\n\r\n"), IsLocal).Lines);
        var np = p.Process(cfg, Request(EmailCommand.NoProcessingAdd, "me@example.com", "Subject: np\r\n\r\n"), IsLocal);
        Assert.Contains("error: noProcessing is not a file: list - unable to add me@example.com", np.Lines);
        Assert.Empty(np.ChangedLists);
    }

    [Fact]
    public void NoProcessing_add_and_remove_edit_the_file_and_say_what_another_entry_covers()
    {
        var (p, _, _, _) = Create();
        var h = FileLists(("EmailNoProcessingTo", "helpdesk@example.com"));
        var added = p.Process(h.Cfg, Request(EmailCommand.NoProcessingAdd, "helpdesk@example.com",
            "Subject: np\r\n\r\nreports@partner.example\r\nsomeone@trusted.example\r\n"), IsLocal);
        Assert.Contains("reports@partner.example: added to noProcessing addresses", added.Lines);
        Assert.Contains("someone@trusted.example: already on noProcessing addresses - not added", added.Lines);
        var cfg = Reloaded(h, ("EmailNoProcessingTo", "helpdesk@example.com"));
        var removed = p.Process(cfg, Request(EmailCommand.NoProcessingRemove, "helpdesk@example.com",
            "Subject: np\r\n\r\nreports@partner.example\r\nsomeone@trusted.example\r\nnobody@else.example\r\n"), IsLocal);
        Assert.Contains("reports@partner.example: removed from noProcessing addresses", removed.Lines);
        Assert.Contains(removed.Lines, l => l.StartsWith("someone@trusted.example: unable to remove", StringComparison.Ordinal));
        Assert.Contains("nobody@else.example: is not on noProcessing addresses - not removed", removed.Lines);
        // A plain user acts on their own address only.
        var own = p.Process(cfg, Request(EmailCommand.NoProcessingAdd, "me@example.com", "Subject: np\r\n\r\nreports@partner.example\r\n"), IsLocal);
        Assert.Equal(["me@example.com: added to noProcessing addresses"], own.Lines);
    }

    [Fact]
    public void Only_admins_edit_blackListedDomains_and_never_with_a_local_domain()
    {
        var (p, _, _, _) = Create();
        var h = FileLists();
        var refused = p.Process(h.Cfg, Request(EmailCommand.BlackAdd, "me@example.com", "Subject: b\r\n\r\n@bad.example\r\n"), IsLocal);
        Assert.Equal(["me@example.com: blacklist addition not allowed"], refused.Lines);
        Assert.DoesNotContain("bad.example", ListFile(h, "files/blackdomains.txt"));
        var added = p.Process(h.Cfg, Request(EmailCommand.BlackAdd, "boss@example.com",
            "Subject: b\r\n\r\n@bad.example\r\nspammer@worse.example\r\n@example.com\r\nx@old-spam.example\r\n"), IsLocal);
        Assert.Contains("@bad.example: added to blackListedDomains addresses", added.Lines);
        Assert.Contains("spammer@worse.example: added to blackListedDomains addresses", added.Lines);
        Assert.Contains("@example.com: is local - not added", added.Lines);
        Assert.Contains("x@old-spam.example: already in blackListedDomains addresses - not added", added.Lines);
        var cfg = Reloaded(h);
        Assert.True(cfg.GetDomainList("blackListedDomains").Matches("anyone@bad.example"));
        var removed = p.Process(cfg, Request(EmailCommand.BlackRemove, "boss@example.com", "Subject: b\r\n\r\n@bad.example\r\n"), IsLocal);
        Assert.Contains("@bad.example: removed from blackListedDomains addresses", removed.Lines);
        Assert.False(Reloaded(h).GetDomainList("blackListedDomains").Matches("anyone@bad.example"));
        Assert.Equal(["me@example.com: blacklist removal not allowed"],
            p.Process(cfg, Request(EmailCommand.BlackRemove, "me@example.com", "Subject: b\r\n\r\nspammer@worse.example\r\n"), IsLocal).Lines);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("2", false)]
    [InlineData("0", false)]
    public void EmailErrorsModifyNoP_takes_a_reported_spammer_off_noProcessing_or_shows_it(string mode, bool removed)
    {
        var (p, _, _, _) = Create();
        var h = FileLists(("EmailErrorsModifyNoP", mode));
        var outcome = p.Process(h.Cfg, Request(EmailCommand.Spam, "me@example.com",
            "From: me@example.com\r\nSubject: Fwd: news\r\n\r\nFrom: newsletter@bulk.example\r\nSubject: news\r\n\r\nbuy\r\n"), IsLocal);
        Assert.Equal(removed, !ListFile(h, "files/noprocessing.txt").Contains("newsletter@bulk.example", StringComparison.Ordinal));
        if (mode == "1") Assert.Contains("newsletter@bulk.example deleted from the noProcessing list", outcome.Lines);
        if (mode == "2") Assert.Contains("newsletter@bulk.example is on the noProcessing list", outcome.Lines);
        if (mode == "0") Assert.DoesNotContain(outcome.Lines, l => l.Contains("noProcessing", StringComparison.Ordinal));
        // A ham report never touches noProcessing.
        var ham = p.Process(h.Cfg, Request(EmailCommand.Ham, "me@example.com", "Subject: x\r\n\r\nFrom: someone@trusted.example\r\n"), IsLocal);
        Assert.DoesNotContain(ham.Lines, l => l.Contains("noProcessing", StringComparison.Ordinal));
    }

    [Fact]
    public void ALL_at_domain_whitelists_the_whole_domain_and_a_bare_wildcard_is_refused()
    {
        var (p, white, _, _) = Create();
        var cfg = TestConfig.Create();
        var outcome = p.Process(cfg, Request(EmailCommand.WhitelistAdd, "me@example.com", "Subject: w\r\n\r\n_ALL_@partner.example\r\n*@other.example\r\n"), IsLocal);
        Assert.Contains("*@partner.example: added to the whitelist", outcome.Lines);
        Assert.Contains(outcome.Lines, l => l.StartsWith("*@other.example: wildcards are not taken", StringComparison.Ordinal));
        Assert.True(white.IsWhite(cfg, "*@partner.example", "me@example.com"));
        Assert.False(white.IsWhite(cfg, "*@other.example", "me@example.com"));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public void EmailAllowEqual_decides_whether_addresses_with_an_equals_sign_are_taken(string allow, bool taken)
    {
        var (p, white, _, _) = Create();
        var h = FileLists(("EmailAllowEqual", allow));
        var cfg = h.Cfg;
        p.Process(cfg, Request(EmailCommand.WhitelistAdd, "me@example.com", "Subject: w\r\n\r\nbounce=x@lists.example\r\n"), IsLocal);
        Assert.Equal(taken, white.IsWhite(cfg, "bounce=x@lists.example", "me@example.com"));
        p.Process(cfg, Request(EmailCommand.NoProcessingAdd, "boss@example.com", "Subject: np\r\n\r\nlist=y@lists.example\r\n"), IsLocal);
        Assert.Equal(taken, ListFile(h, "files/noprocessing.txt").Contains("list=y@lists.example", StringComparison.Ordinal));
    }

    [Fact]
    public void Delete_in_the_subject_deletes_whitelist_records_by_scope()
    {
        var (p, white, _, _) = Create();
        var cfg = TestConfig.Create(("EmailAdmins", "boss@example.com"));
        white.Add("friend@far.example", "me@example.com");
        white.Add("friend@far.example", "other@example.com");
        Assert.Equal(4, white.EntriesOf("friend@far.example").Count);   // global, @example.com, two private
        var mine = p.Process(cfg, Request(EmailCommand.WhitelistRemove, "me@example.com", "Subject: delete\r\n\r\nfriend@far.example\r\n"), IsLocal);
        Assert.Contains("friend@far.example: 1 whitelist record(s) deleted", mine.Lines);
        Assert.Equal(3, white.EntriesOf("friend@far.example").Count);
        Assert.DoesNotContain(white.EntriesOf("friend@far.example"), e => e.Key == "friend@far.example,me@example.com");
        var all = p.Process(cfg, Request(EmailCommand.WhitelistRemove, "boss@example.com", "Subject: Delete please\r\n\r\nfriend@far.example,*\r\n"), IsLocal);
        Assert.Contains("friend@far.example: 3 whitelist record(s) deleted", all.Lines);
        Assert.Empty(white.EntriesOf("friend@far.example"));
        // Without "delete" a removal only marks the records.
        white.Add("pal@far.example", "me@example.com");
        p.Process(cfg, Request(EmailCommand.WhitelistRemove, "me@example.com", "Subject: remove\r\n\r\npal@far.example\r\n"), IsLocal);
        Assert.Contains(white.EntriesOf("pal@far.example"), e => e.State == WhitelistEntryState.Removed);
    }

    [Fact]
    public async Task An_analyze_request_reports_the_checks_for_the_attached_mail()
    {
        using var store = new MemoryStore();
        var cfg = TestConfig.Create(("blackListedDomains", "bad.example"));
        var pipeline = new Assp.Checks.Decision.DecisionPipeline(new Assp.Checks.Decision.DecisionEngine(
            new Assp.Checks.Tests.Decision.FakeIpReputation(), new Assp.Checks.Tests.Decision.FakeAddressReputation()));
        var outcome = await EmailAnalysis.AnalyzeAsync(pipeline, cfg, Encoding.UTF8.GetBytes(
            "From: me@example.com\r\nSubject: what about this\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplease check\r\n" +
            "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: seller@bad.example\r\nTo: me@example.com\r\nSubject: offer\r\n\r\ncheap\r\n--b--\r\n"), default);
        Assert.Equal(EmailCommand.Analyze, outcome.Command);
        Assert.Equal("Analysis of message 1 of 1 (Subject: offer)", outcome.Lines[0]);
        Assert.Contains(outcome.Lines, l => l.Contains("envelope: from <seller@bad.example> to me@example.com", StringComparison.Ordinal));
        Assert.Contains(outcome.Lines, l => l.Contains("message score", StringComparison.Ordinal));
        Assert.Contains(outcome.Lines, l => l.Contains("bad.example", StringComparison.Ordinal) && l.Contains("blackListedDomains", StringComparison.OrdinalIgnoreCase)
            || l.Contains("BLOCK", StringComparison.Ordinal) || l.Contains("TAG", StringComparison.Ordinal));
    }
}

public class ListFileEditorTests
{
    [Fact]
    public void Entries_are_appended_with_a_comment_and_removed_by_their_address_only()
    {
        var path = Path.Combine(Path.GetTempPath(), "assp-listfile-" + Guid.NewGuid().ToString("N"), "files", "list.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "# header\nkeep@example.com\nGone@Example.com   # old\nlover@example.com=>2.5");   // no final line break
        ListFileEditor.Add(path, "new@example.com", "boss@example.com", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var lines = File.ReadAllLines(path);
        Assert.Equal("lover@example.com=>2.5", lines[3]);
        Assert.Equal("new@example.com  # added by email interface from boss@example.com 2026-01-02 03:04:05", lines[4]);
        Assert.Equal(1, ListFileEditor.Remove(path, "gone@example.com"));
        Assert.Equal(1, ListFileEditor.Remove(path, "lover@example.com"));
        Assert.Equal(0, ListFileEditor.Remove(path, "header"));
        Assert.Equal(["# header", "keep@example.com", "new@example.com  # added by email interface from boss@example.com 2026-01-02 03:04:05"], File.ReadAllLines(path));
    }
}
