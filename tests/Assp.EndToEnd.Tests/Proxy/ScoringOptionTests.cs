using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// Recipient and session options through the real proxy in front of Postfix: DoRFC822's 553 replies, DisableVRFY,
/// a collect address (250 OK, nothing reaches the MTA) and the HELO Postfix hears with myHelo.
/// </summary>
public class ScoringOptionTests
{
    private static DecisionPipeline Pipeline(IStore store)
    {
        var services = new CheckServices(Store: store);
        return new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)),
            null, CheckCatalog.Discover(services), services);
    }

    [Fact]
    public async Task Malformed_addresses_get_553_and_VRFY_is_refused_to_strangers()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoRFC822"] = "3",
            ["DisableVRFY"] = "1",
        }, pipeline: Pipeline(store));
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        Assert.Equal("502 VRFY not supported", (await client.CommandAsync("VRFY me@example.com")).Text.TrimEnd());
        var sender = await client.CommandAsync("MAIL FROM:<two..dots@far.example>");
        Assert.Equal("553 Malformed (RFC822) address: two..dots@far.example", sender.Text.TrimEnd());
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<friend@far.example>")).Code);
        var rcpt = await client.CommandAsync("RCPT TO:<bad..user@example.com>");
        Assert.Equal("553 Malformed (RFC822) address: bad..user@example.com", rcpt.Text.TrimEnd());
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<me@example.com>")).Code);
    }

    [Fact]
    public async Task Mail_to_a_collect_address_is_answered_250_and_kept_from_the_MTA()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["spamaddresses"] = "collect@example.com",
            ["myHelo"] = "gateway-IP|MYNAME",
        }, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var taken = await client.SendMailAsync("friend@far.example", ["collect@example.com"],
                "From: friend@far.example\r\nTo: collect@example.com\r\nSubject: honeypot\r\n\r\nbuy now\r\n");
            Assert.Equal("250 OK", taken.Text.TrimEnd());
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                "From: friend@far.example\r\nTo: me@example.com\r\nSubject: real mail\r\n\r\nhello\r\n", ehlo: false)).Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: real mail", got.Text);
        Assert.DoesNotContain("honeypot", got.Text);
        // Postfix writes the HELO it heard into its own Received: line: myHelo's incoming part, IP filled in.
        Assert.Contains("gateway-127.0.0.1", got.Text);
        await proxy.WaitForLogAsync("Collect Address: collect@example.com");
    }
}
