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
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)));

    private static async Task<TestSmtpClient> AuthenticatedAsync(int port)
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
}
