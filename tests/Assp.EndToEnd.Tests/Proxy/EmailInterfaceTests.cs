using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Whitelist;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The email interface through the real proxy and Postfix: an authenticated local user reports spam and ham,
/// edits the lists and asks for help; the requests never reach Postfix, the replies do.
/// </summary>
public class EmailInterfaceTests
{
    /// <summary>A pipeline on the given store (shared with the block-report tests).</summary>
    internal static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)));

    /// <summary>A session authenticated as the private Postfix's test account (shared with the block-report tests).</summary>
    internal static async Task<TestSmtpClient> AuthenticatedAsync(int port)
    {
        var client = await TestSmtpClient.ConnectAsync(port);
        await client.ReadReplyAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        // testuser / testpass, the account of the private Postfix.
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN AHRlc3R1c2VyAHRlc3RwYXNz")).Code);
        return client;
    }

    [Fact]
    public async Task An_authenticated_user_reports_spam_and_ham_edits_the_lists_and_gets_the_replies()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["AUTHrequireTLS"] = "0",
            ["blackListedDomains"] = "far.example",
            ["DoBlackDomainWL"] = "0",
            ["EmailFrom"] = "spammaster@example.com",
        }, pipeline: Pipeline(store));

        await using (var user = await AuthenticatedAsync(proxy.Port))
        {
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["asspspam@assp.local"],
                "From: me@example.com\r\nTo: asspspam@assp.local\r\nSubject: Fwd: cheap pills\r\n\r\n" +
                "---------- Forwarded message ---------\r\nFrom: Pills <pills@spam.example>\r\nSubject: cheap pills\r\n\r\nbuy now\r\n", ehlo: false)).Code);
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["asspnotspam@example.com"],
                "From: me@example.com\r\nTo: asspnotspam@example.com\r\nSubject: Fwd: minutes\r\n\r\n" +
                "---------- Forwarded message ---------\r\nFrom: colleague@partner.example\r\nSubject: minutes\r\n\r\nattached\r\n", ehlo: false)).Code);
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["asspwhite@assp.local"],
                "From: me@example.com\r\nTo: asspwhite@assp.local\r\nSubject: whitelist\r\n\r\nfriend@far.example\r\n", ehlo: false)).Code);
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["assp-persblack@assp.local"],
                "From: me@example.com\r\nTo: assp-persblack@assp.local\r\nSubject: block\r\n\r\npest@pest.example\r\n", ehlo: false)).Code);
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["assphelp@assp.local"],
                "From: me@example.com\r\nTo: assphelp@assp.local\r\nSubject: help\r\n\r\n", ehlo: false)).Code);
        }

        // The reports are in the corpus folders the rebuild reads.
        var spam = Assert.Single(Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "errors", "spam")));
        Assert.Contains("Subject: Fwd: cheap pills", await File.ReadAllTextAsync(spam));
        var ham = Assert.Single(Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "errors", "notspam")));
        Assert.Contains("Subject: Fwd: minutes", await File.ReadAllTextAsync(ham));
        var white = new WhitelistDb(store);
        Assert.NotEmpty(white.EntriesOf("colleague@partner.example"));   // the ham report whitelisted its sender

        // The whitelisted friend gets past the domain blacklist; the personally blacklisted pest is refused.
        await using (var outside = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.2"))
        {
            await outside.ReadReplyAsync();
            Assert.Equal(250, (await outside.SendMailAsync("friend@far.example", ["me@example.com"],
                "From: friend@far.example\r\nTo: me@example.com\r\nSubject: hello again\r\n\r\nhi\r\n")).Code);
            Assert.Equal(250, (await outside.CommandAsync("MAIL FROM:<pest@pest.example>")).Code);
            var refused = await outside.CommandAsync("RCPT TO:<me@example.com>");
            Assert.Equal(550, refused.Code);
        }

        // Five replies from EmailFrom and the friend's mail reach Postfix; no request does.
        var got = await mta.WaitForMessagesAsync(6, TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(got, m => m.Recipients.Any(r => r.StartsWith("assp", StringComparison.Ordinal)));
        var replies = got.Where(m => m.Sender == "spammaster@example.com").ToList();
        Assert.Equal(5, replies.Count);
        Assert.All(replies, r => Assert.Equal(["me@example.com"], r.Recipients));
        Assert.Contains(replies, r => r.Text.Contains("Subject: ASSP email interface help") && r.Text.Contains("asspwhite@assp.local"));
        Assert.Contains(replies, r => r.Text.Contains("Subject: ASSP whitelist addition") && r.Text.Contains("friend@far.example: added to the whitelist"));
        Assert.Contains(replies, r => r.Text.Contains("Subject: ASSP spam report") && r.Text.Contains("message(s) stored as spam"));
        Assert.Contains(replies, r => r.Text.Contains("pest@pest.example: added to the personal blacklist"));
        Assert.Contains(got, m => m.Text.Contains("Subject: hello again"));
    }

    [Fact]
    public async Task A_template_in_reports_replaces_the_default_reply_text()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, listeners: ["relayPort"], pipeline: Pipeline(store));
        Directory.CreateDirectory(Path.Combine(proxy.BaseDirectory, "reports"));
        await File.WriteAllTextAsync(Path.Combine(proxy.BaseDirectory, "reports", "helpreport.txt"),
            "Our spam filter: how to\nX-Help-Version: 2\n\nWrite to the helpdesk.\n");
        await using (var local = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await local.ReadReplyAsync();
            Assert.Equal(250, (await local.SendMailAsync("me@example.com", ["assphelp@example.org"], "Subject: help\r\n\r\n")).Code);
        }
        var reply = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: Our spam filter: how to", reply.Text);
        Assert.Contains("X-Help-Version: 2", reply.Text);
        Assert.Contains("Write to the helpdesk.", reply.Text);
    }

    [Fact]
    public async Task An_outsider_cannot_use_the_interface_and_changes_nothing()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, pipeline: Pipeline(store));
        await using (var outsider = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.2"))
        {
            await outsider.ReadReplyAsync();
            Assert.Equal(250, (await outsider.CommandAsync("EHLO outside.example")).Code);
            Assert.Equal(250, (await outsider.CommandAsync("MAIL FROM:<stranger@outside.example>")).Code);
            var refused = await outsider.CommandAsync("RCPT TO:<asspwhite@assp.local>");
            Assert.True(refused.Code == 550, refused.Text + "\n" + proxy.ReadMaillog());
            Assert.Contains("User unknown: asspwhite@assp.local", refused.Text);   // NoValidRecipient
            Assert.Equal(550, (await outsider.CommandAsync("RCPT TO:<asspnotspam@example.com>")).Code);
            Assert.Equal(503, (await outsider.CommandAsync("DATA")).Code);
        }
        Assert.Empty(new WhitelistDb(store).EntriesOf("stranger@outside.example"));
        // The maillog is written in the background: wait for the line rather than read at once.
        Assert.Contains("email interface address refused", await proxy.WaitForLogAsync("email interface address refused"));
        Assert.DoesNotContain("request from", proxy.ReadMaillog());
        Assert.False(Directory.Exists(Path.Combine(proxy.BaseDirectory, "errors", "notspam")) &&
            Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "errors", "notspam")).Length > 0);
        await Task.Delay(300);
        Assert.Empty(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task A_forged_admin_sender_from_outside_is_refused_changes_nothing_and_causes_no_reply()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["EmailFrom"] = "spammaster@example.com",
            ["EmailAdmins"] = "boss@example.com",
            ["EmailAdminReportsTo"] = "postmaster@example.com",
            ["blackListedDomains"] = "file:files/blackdomains.txt",
            ["noProcessing"] = "file:files/noprocessing.txt",
        }, pipeline: Pipeline(store));
        proxy.Server.ReloadConfig = reason => proxy.Config.Reload(reason);
        await File.WriteAllTextAsync(Path.Combine(proxy.BaseDirectory, "files", "blackdomains.txt"), "spam.example\n");
        await File.WriteAllTextAsync(Path.Combine(proxy.BaseDirectory, "files", "noprocessing.txt"), "");
        proxy.Config.Reload("test lists written");

        // Envelope and header both claim an admin address; the client is an outsider all the same.
        foreach (var (admin, command) in new[] { ("boss@example.com", "assp-black@example.com"), ("postmaster@example.com", "asspnpadd@assp.local"),
                     ("<>", "assphelp@example.com"), ("boss@example.com", "asspwhite@assp.local") })
        {
            await using var outsider = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.2");
            await outsider.ReadReplyAsync();
            Assert.Equal(250, (await outsider.CommandAsync("EHLO mail.example.com")).Code);
            Assert.Equal(250, (await outsider.CommandAsync($"MAIL FROM:<{admin.Trim('<', '>')}>")).Code);
            var refused = await outsider.CommandAsync($"RCPT TO:<{command}>");
            Assert.True(refused.Code == 550, $"{admin} -> {command}: {refused.Text}\n{proxy.ReadMaillog()}");
            Assert.Equal(503, (await outsider.CommandAsync("DATA")).Code);
        }
        Assert.Equal("spam.example\n", await File.ReadAllTextAsync(Path.Combine(proxy.BaseDirectory, "files", "blackdomains.txt")));
        Assert.Equal("", await File.ReadAllTextAsync(Path.Combine(proxy.BaseDirectory, "files", "noprocessing.txt")));
        Assert.Empty(new WhitelistDb(store).EntriesOf("boss@example.com"));
        Assert.Contains("email interface address refused", await proxy.WaitForLogAsync("email interface address refused"));
        Assert.DoesNotContain("request from", proxy.ReadMaillog());
        // No reply or notice goes to the forged address (no backscatter), and no request reaches Postfix.
        await Task.Delay(500);
        Assert.Empty(mta.GetCapturedMessages());
    }

    private static async Task<int> OutsideMailAsync(ProxyInstance proxy, string from, string to, string subject)
    {
        await using var outside = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.2");
        await outside.ReadReplyAsync();
        var reply = await outside.SendMailAsync(from, [to], $"From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbuy now\r\n");
        if (subject.StartsWith("for", StringComparison.Ordinal) && reply.Code != 250)
            Assert.Fail(reply.Text + "\n" + proxy.ReadMaillog());
        return reply.Code;
    }

    [Fact]
    public async Task Spamlover_noprocessing_and_black_requests_change_how_the_next_mail_is_handled()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["AUTHrequireTLS"] = "0",
            ["EmailFrom"] = "spammaster@example.com",
            ["EmailAdmins"] = "boss@example.com",
            ["spamLovers"] = "file:files/spamlovers.txt",
            ["noProcessing"] = "file:files/noprocessing.txt",
            ["blackListedDomains"] = "file:files/blackdomains.txt",
            ["DoBlackDomainWL"] = "0",
            // ASSP's default checks blackListedDomains even for noprocessing mail; here noprocessing skips it.
            ["DoBlackDomainNP"] = "0",
        }, pipeline: Pipeline(store));
        // As in the real host: the interface's list edits reload the configuration at once.
        proxy.Server.ReloadConfig = reason => proxy.Config.Reload(reason);
        await File.WriteAllTextAsync(Path.Combine(proxy.BaseDirectory, "files", "blackdomains.txt"), "spam.example\n");
        proxy.Config.Reload("test lists written");

        // Before: mail from the blacklisted domain is refused for both users.
        Assert.InRange(await OutsideMailAsync(proxy, "bad@spam.example", "me@example.com", "before"), 500, 599);
        Assert.InRange(await OutsideMailAsync(proxy, "bad@spam.example", "np@example.com", "before"), 500, 599);

        await using (var user = await AuthenticatedAsync(proxy.Port))
        {
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["asspspamlover@assp.local"],
                "From: me@example.com\r\nSubject: spamlover\r\n\r\n", ehlo: false)).Code);
            Assert.Equal(250, (await user.SendMailAsync("np@example.com", ["asspnpadd@assp.local"],
                "From: np@example.com\r\nSubject: noprocessing\r\n\r\n", ehlo: false)).Code);
            // Not an admin: the blacklist request is refused and the list stays as it is.
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["assp-black@assp.local"],
                "From: me@example.com\r\nSubject: black\r\n\r\n@pest.example\r\n", ehlo: false)).Code);
            Assert.Equal(250, (await user.SendMailAsync("boss@example.com", ["assp-black@assp.local"],
                "From: boss@example.com\r\nSubject: black\r\n\r\n@pest.example\r\n", ehlo: false)).Code);
        }

        // After: the spam lover and the noprocessing user get the spam; the newly blacklisted domain is refused.
        Assert.Equal(250, await OutsideMailAsync(proxy, "bad@spam.example", "me@example.com", "for the spam lover"));
        Assert.Equal(250, await OutsideMailAsync(proxy, "bad@spam.example", "np@example.com", "for the noprocessing user"));
        Assert.InRange(await OutsideMailAsync(proxy, "x@pest.example", "someone@example.com", "from the pest"), 500, 599);
        Assert.Contains("me@example.com  # added by email interface from me@example.com",
            await File.ReadAllTextAsync(Path.Combine(proxy.BaseDirectory, "files", "spamlovers.txt")));
        Assert.Contains("@pest.example  # added by email interface from boss@example.com",
            await File.ReadAllTextAsync(Path.Combine(proxy.BaseDirectory, "files", "blackdomains.txt")));

        // Four replies and the two passed spams reach Postfix; no request does.
        var got = await mta.WaitForMessagesAsync(6, TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(got, m => m.Recipients.Any(r => r.StartsWith("assp", StringComparison.Ordinal)));
        Assert.Contains(got, m => m.Text.Contains("Subject: for the spam lover") && m.Recipients.Contains("me@example.com"));
        Assert.Contains(got, m => m.Text.Contains("Subject: for the noprocessing user") && m.Recipients.Contains("np@example.com"));
        var replies = got.Where(m => m.Sender == "spammaster@example.com").ToList();
        Assert.Contains(replies, r => r.Text.Contains("Subject: ASSP spam lover addition") && r.Text.Contains("me@example.com: added to SpamLover addresses"));
        Assert.Contains(replies, r => r.Text.Contains("Subject: ASSP noprocessing addition") && r.Text.Contains("np@example.com: added to noProcessing addresses"));
        Assert.Contains(replies, r => r.Recipients.Contains("me@example.com") && r.Text.Contains("me@example.com: blacklist addition not allowed"));
        Assert.Contains(replies, r => r.Recipients.Contains("boss@example.com") && r.Text.Contains("@pest.example: added to blackListedDomains addresses"));
    }

    [Fact]
    public async Task An_analyze_request_and_a_spam_report_with_DoAdditionalAnalyze_send_the_analysis_through_Postfix()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["AUTHrequireTLS"] = "0",
            ["EmailFrom"] = "spammaster@example.com",
            ["blackListedDomains"] = "spam.example",
            ["EmailAnalyzeTo"] = "admin@example.com",
            ["EmailAnalyzeReply"] = "3",
            ["DoAdditionalAnalyze"] = "2",
            ["EmailErrorsReply"] = "0",
        }, pipeline: Pipeline(store));
        // The analysis runs over read-only views of the same store, as DecisionServices.AnalysisPipeline builds it.
        var services = new CheckServices(store);
        proxy.Server.AnalysisPipeline = _ => new DecisionPipeline(new DecisionEngine(new ReadOnlyIpReputation(new IpPenaltyBox(store)),
            new ReadOnlyAddressReputation(new StoredAddressReputation(store)), null), null, CheckCatalog.Discover(services), services);
        const string attached = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplease look\r\n" +
            "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: bad@spam.example\r\nTo: me@example.com\r\nSubject: cheap pills\r\n\r\nbuy now\r\n--b--\r\n";
        await using (var user = await AuthenticatedAsync(proxy.Port))
        {
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["asspanalyze@assp.local"],
                "From: me@example.com\r\nSubject: what is this\r\n" + attached, ehlo: false)).Code);
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["asspspam@assp.local"],
                "From: me@example.com\r\nSubject: spam\r\n" + attached, ehlo: false)).Code);
        }
        // EmailAnalyzeReply 3: sender and EmailAnalyzeTo; DoAdditionalAnalyze 2: EmailAnalyzeTo only; EmailErrorsReply 0: no spam report reply.
        var got = await mta.WaitForMessagesAsync(3, TimeSpan.FromSeconds(30));
        await Task.Delay(500);
        got = mta.GetCapturedMessages();
        Assert.Equal(3, got.Count);
        Assert.All(got, m => Assert.Equal("spammaster@example.com", m.Sender));
        Assert.All(got, m => Assert.Contains("Subject: ASSP analysis report", m.Text));
        Assert.All(got, m => Assert.Contains("Analysis of message 1 of 1 (Subject: cheap pills)", m.Text));
        Assert.All(got, m => Assert.Contains("envelope: from <bad@spam.example>", m.Text));
        Assert.All(got, m => Assert.Contains(": BLOCK at", m.Text));
        // The additional analysis runs after the report put the spammer on the reporter's personal blacklist.
        Assert.Single(got, m => m.Text.Contains("550 mailbox for <me@example.com> is unavailable"));
        Assert.Single(got, m => m.Recipients.Contains("me@example.com"));
        Assert.Equal(2, got.Count(m => m.Recipients.Contains("admin@example.com")));
        // The analysis changed nothing: the reported spam is in the corpus, the PenaltyBox holds no score for the analyzed IP.
        Assert.Single(Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "errors", "spam")));
    }

    [Fact]
    public async Task EmailForwardReportedTo_hands_spam_reports_to_the_central_instance()
    {
        using var centralStore = new MemoryStore();
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        // The central (rebuild) instance trusts the edge's reports: they come from 127.0.0.1, in acceptAllMail.
        await using var central = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["acceptAllMail"] = "127.0.0.1",
            ["EmailFrom"] = "central@example.com",
        }, pipeline: Pipeline(centralStore));
        await using var edge = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["AUTHrequireTLS"] = "0",
            ["EmailFrom"] = "edge@example.com",
            // The first host does not answer: the second one takes the report.
            ["EmailForwardReportedTo"] = $"127.0.0.1:{ProxyInstance.FreePort()}|127.0.0.1:{central.Port}",
        }, pipeline: Pipeline(store));
        await using (var user = await AuthenticatedAsync(edge.Port))
        {
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["asspspam@assp.local"],
                "From: me@example.com\r\nSubject: Fwd: cheap pills\r\n\r\nFrom: pills@spam.example\r\nSubject: cheap pills\r\n\r\nbuy\r\n", ehlo: false)).Code);
        }
        // The central instance filed it and answered; the edge did nothing itself.
        var reply = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal("central@example.com", reply.Sender);
        Assert.Contains("Subject: ASSP spam report", reply.Text);
        Assert.Single(Directory.GetFiles(Path.Combine(central.BaseDirectory, "errors", "spam")));
        Assert.False(Directory.Exists(Path.Combine(edge.BaseDirectory, "errors", "spam")) &&
            Directory.GetFiles(Path.Combine(edge.BaseDirectory, "errors", "spam")).Length > 0);
        Assert.Contains("forwarded to 127.0.0.1:" + central.Port, await edge.WaitForLogAsync("(EmailForwardReportedTo)"));
    }
}
