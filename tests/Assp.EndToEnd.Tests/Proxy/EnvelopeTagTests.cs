using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>SRS and BATV through the real proxy: the MTA sees the rewritten envelope, and bounces with a bad tag are refused.</summary>
public class EnvelopeTagTests
{
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)),
            services: new Assp.Checks.Decision.CheckServices(store));

    [Fact]
    public async Task Srs_rewrites_a_forwarded_sender_and_only_a_signed_bounce_comes_back()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["EnableSRS"] = "1",
            ["SRSSecretKey"] = "e2e-srs-secret",
            ["SRSAliasDomain"] = "example.org",
        }, listeners: ["relayPort"], pipeline: Pipeline(store));

        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("alice@sender.example", ["bob@far.example"],
                "From: alice@sender.example\r\nSubject: forwarded\r\n\r\nhi\r\n")).Code);
        }
        var forwarded = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Matches("^SRS0=.{6}=..=sender.example=alice@example.org$", forwarded.Sender);

        // The bounce to the SRS address reaches the original sender; a forged one is refused.
        await using (var bounce = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await bounce.ReadReplyAsync();
            Assert.Equal(250, (await bounce.SendMailAsync("", [forwarded.Sender], "From: MAILER-DAEMON@far.example\r\nSubject: failure\r\n\r\nb\r\n")).Code);
            Assert.Equal(250, (await bounce.CommandAsync("MAIL FROM:<>")).Code);
            var forged = await bounce.CommandAsync($"RCPT TO:<{forwarded.Sender.Replace("alice", "mallory", StringComparison.Ordinal)}>");
            Assert.Equal(551, forged.Code);
            Assert.Contains("invalid SRS signature", forged.Text);
        }
        var messages = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Contains(messages, m => m.Recipients.Contains("alice@sender.example"));
    }

    [Fact]
    public async Task Batv_tags_outgoing_senders_and_refuses_a_bounce_without_our_tag()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoBATV"] = "1",
            ["BATVSec"] = "7=e2e-batv-secret",
        }, listeners: ["relayPort"], pipeline: Pipeline(store));

        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.com", ["friend@far.example"],
                "From: me@example.com\r\nSubject: hello\r\n\r\nhi\r\n")).Code);
        }
        var sent = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Matches("^prvs=7[0-9]{3}[0-9a-f]{6}=me@example.com$", sent.Sender);

        await using (var bounce = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await bounce.ReadReplyAsync();
            Assert.Equal(250, (await bounce.SendMailAsync("", [sent.Sender], "From: MAILER-DAEMON@far.example\r\nSubject: failure\r\n\r\nb\r\n")).Code);
            Assert.Equal(250, (await bounce.CommandAsync("MAIL FROM:<>")).Code);
            var refused = await bounce.CommandAsync("RCPT TO:<me@example.com>");
            Assert.Equal(554, refused.Code);
            Assert.Contains("BATV error - bounce address - message was never sent by this domain", refused.Text);
        }
        var messages = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Contains(messages, m => m.Sender == "" && m.Recipients.Contains("me@example.com"));   // the tag came off for the MTA
    }

    [Fact]
    public async Task Back250OKISP_answers_250_to_an_ISP_for_a_refused_bounce_and_drops_it()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoBATV"] = "1",
            ["BATVSec"] = "7=e2e-batv-secret",
            ["ispip"] = "127.0.0.1",
            ["send250OKISP"] = "0",
            ["Back250OKISP"] = "1",
        }, pipeline: Pipeline(store));

        await using (var isp = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await isp.ReadReplyAsync();
            Assert.Equal(250, (await isp.SendMailAsync("", ["me@example.com"], "From: MAILER-DAEMON@far.example\r\nSubject: forged bounce\r\n\r\nb\r\n")).Code);
            // An ordinary message after it still reaches the MTA.
            Assert.Equal(250, (await isp.SendMailAsync("someone@far.example", ["me@example.com"], "From: someone@far.example\r\nSubject: real\r\n\r\nhi\r\n")).Code);
        }
        var delivered = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: real", delivered.Text);
        await proxy.WaitForLogAsync("Back250OKISP: bounce from an ISP refused by a backscatter check");
        await Task.Delay(300);
        Assert.Single(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task Fbmtv_tags_outgoing_message_ids_and_refuses_a_bounce_for_mail_we_never_sent()
    {
        using var store = new MemoryStore();
        var services = new Assp.Checks.Decision.CheckServices(store);
        var pipeline = new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)),
            checks: [new Assp.Checks.Checks.FbmtvCheck(services)], services: services);
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoMSGIDsig"] = "1",
            ["MSGIDSec"] = "5=e2e-msgid-secret",
        }, listeners: ["relayPort"], pipeline: pipeline);

        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.com", ["friend@far.example"],
                "From: me@example.com\r\nMessage-ID: <first.1@example.com>\r\nSubject: hello\r\n\r\nhi\r\n")).Code);
        }
        var sent = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        var taggedId = System.Text.RegularExpressions.Regex.Match(sent.Text, "Message-ID: <(sig\\.5[0-9]{3}[0-9a-f]{6}\\.first\\.1@example\\.com)>");
        Assert.True(taggedId.Success, sent.Text);

        await using (var bounce = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await bounce.ReadReplyAsync();
            // A bounce quoting our tagged Message-ID is accepted ...
            Assert.Equal(250, (await bounce.SendMailAsync("", ["me@example.com"],
                $"From: MAILER-DAEMON@far.example\r\nSubject: Undelivered\r\n\r\nMessage-ID: <{taggedId.Groups[1].Value}>\r\n")).Code);
            // ... one for a message we never sent is not.
            var refused = await bounce.SendMailAsync("", ["me@example.com"],
                "From: MAILER-DAEMON@far.example\r\nSubject: Undelivered\r\n\r\nMessage-ID: <forged@example.com>\r\n", ehlo: false);
            Assert.Equal(554, refused.Code);
            Assert.Contains("message was never sent by this domain", refused.Text);
        }
        Assert.Equal(2, (await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20))).Count);
    }
}
