using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>The regex filters in the real proxy in front of Postfix: a bombRe hit is refused, preHeaderRe drops the client.</summary>
public class RegexFilterTests
{
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)), null,
            CheckCatalog.Discover(new CheckServices(Store: store)));

    [Fact]
    public async Task A_bombRe_hit_is_refused_with_the_configured_reply_and_a_clean_message_is_delivered()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["bombRe"] = @"viagra=>1.5|~casino|jackpot~=>3",
            ["bombError"] = "554 5.7.1 bombs are not welcome here",
        }, pipeline: Pipeline(store));

        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("someone@far.example", ["me@example.com"],
                "From: someone@far.example\r\nTo: me@example.com\r\nSubject: offer\r\n\r\nwin the JACKPOT today\r\n");
            Assert.Equal(554, refused.Code);
            Assert.Contains("bombs are not welcome here (reason: bombRe: 'JACKPOT')", refused.Text);

            // The session goes on: a clean message in the same connection is delivered.
            var ok = await client.SendMailAsync("someone@far.example", ["me@example.com"],
                "From: someone@far.example\r\nTo: me@example.com\r\nSubject: lunch\r\n\r\nsee you at noon\r\n", ehlo: false);
            Assert.Equal(250, ok.Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: lunch", got.Text);
        var log = await File.ReadAllTextAsync(Path.Combine(proxy.BaseDirectory, "logs", "maillog.txt"));
        Assert.Contains("[bombRe] PB 60: for JACKPOT", log);
    }

    [Fact]
    public async Task A_preHeaderRe_line_gets_421_and_the_connection_is_dropped()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["preHeaderRe"] = @"^X-Crash-Me:",
        }, pipeline: Pipeline(store));

        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<me@example.com>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            // Only the header so far: the proxy must not wait for the rest of the message.
            await client.SendAsync("From: someone@far.example\r\nX-Crash-Me: yes\r\n");
            var reply = await client.ReadReplyAsync();
            Assert.Equal(421, reply.Code);
            Assert.Contains("proxy.assp-e2e.test Service not available, closing transmission channel", reply.Text);
            Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(10)));
        }

        // A message without the line is delivered.
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("someone@far.example", ["me@example.com"],
                "From: someone@far.example\r\nSubject: fine\r\n\r\nX-Crash-Me: in the body is fine\r\n")).Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: fine", got.Text);
        var log = await File.ReadAllTextAsync(Path.Combine(proxy.BaseDirectory, "logs", "maillog.txt"));
        Assert.Contains("[preHeaderRE][block]", log);
    }
}
