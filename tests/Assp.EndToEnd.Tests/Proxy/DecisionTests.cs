using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>The decision engine in the real proxy in front of Postfix: learning, bypassing, tagging, refusing.</summary>
public class DecisionTests
{
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)));

    [Fact]
    public async Task A_correspondent_of_a_local_user_is_whitelisted_and_then_bypasses_the_checks()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["blackListedDomains"] = "far.example",
            ["DoBlackDomainWL"] = "0",
        }, listeners: ["relayPort"], pipeline: Pipeline(store));

        // Before: the stranger's domain is blacklisted.
        await using (var first = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await first.ReadReplyAsync();
            var refused = await first.SendMailAsync("friend@far.example", ["me@example.com"], "From: friend@far.example\r\nSubject: hello\r\n\r\nhi\r\n");
            Assert.Equal(554, refused.Code);
            Assert.Contains("postmaster@example.com", refused.Text);
        }

        // A local user writes to the stranger through relayPort: the proxy learns the address.
        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.com", ["friend@far.example"],
                "From: me@example.com\r\nTo: friend@far.example\r\nSubject: lunch?\r\n\r\nsee you\r\n")).Code);
        }
        Assert.NotEmpty(new Assp.Checks.Whitelist.WhitelistDb(store).EntriesOf("friend@far.example"));

        // After: the reply gets through; the blacklist check is skipped for whitelisted mail.
        await using (var again = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await again.ReadReplyAsync();
            Assert.Equal(250, (await again.SendMailAsync("friend@far.example", ["me@example.com"],
                "From: friend@far.example\r\nTo: me@example.com\r\nSubject: Re: lunch?\r\n\r\nyes\r\n")).Code);
        }
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Contains(got, m => m.Text.Contains("Subject: Re: lunch?"));
        var log = await File.ReadAllTextAsync(Path.Combine(proxy.BaseDirectory, "logs", "maillog.txt"));
        Assert.Contains("whitelist addition: friend@far.example", log);
    }

    [Fact]
    public async Task Test_mode_tags_the_subject_and_adds_the_spam_headers_at_the_MTA()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["blackListedDomains"] = "spam.example",
            ["blTestMode"] = "1",
            ["spamSubject"] = "[SPAM]",
            ["spamTag"] = "1",
        }, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("bad@spam.example", ["me@example.com"],
                "From: bad@spam.example\r\nTo: me@example.com\r\nSubject: cheap stuff\r\n\r\nbuy\r\n")).Code);
        }
        var msg = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: [SPAM] [BlackDomain][testmode] cheap stuff", msg.Text);
        Assert.Contains("X-Assp-Spam: YES", msg.Text);
        Assert.Contains("X-Assp-Block: NO (testmode)", msg.Text);
        Assert.Contains("X-Assp-Spam-Reason: blacklisted domain 'bad@spam.example'", msg.Text);
    }

    [Fact]
    public async Task A_message_over_the_score_limit_is_refused_and_never_reaches_the_MTA()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["blackListedDomains"] = "spam.example",
            ["DoBlackDomain"] = "3",
            ["blValencePB"] = "55",
        }, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var reply = await client.SendMailAsync("bad@spam.example", ["me@example.com"], "From: bad@spam.example\r\nSubject: x\r\n\r\nbuy\r\n");
            Assert.Equal(554, reply.Code);
            Assert.Contains("Error for IP 127.0.0.1", reply.Text);
        }
        await Task.Delay(500);
        Assert.Empty(mta.GetCapturedMessages());
    }
}
