using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Smtp.Notifications;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// Copy Spam &amp; Ham and NotifyRe through the real proxy in front of a private Postfix: the copies and the
/// notification are read from what Postfix delivered.
/// </summary>
public class NotificationAndCopyTests
{
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)));

    private static async Task<CapturedMessage> WaitForMailToAsync(PostfixInstance mta, string recipient, ProxyInstance proxy)
    {
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < end)
        {
            var hit = mta.GetCapturedMessages().FirstOrDefault(m => m.Recipients.Contains(recipient, StringComparer.OrdinalIgnoreCase));
            if (hit is not null) return hit;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no mail reached {recipient}:\n{proxy.ReadMaillog()}");
    }

    [Fact]
    public async Task A_blocked_spam_is_copied_to_sendAllSpam_with_the_copy_headers()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["blackListedDomains"] = "spam.example",
            ["DoBlackDomainWL"] = "0",
            // blDomainLog's default (3) is "spam folder & sendAllSpam".
            ["sendAllSpam"] = "USERNAME-spam@DOMAIN",
            ["spamTagCC"] = "1",
        }, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(554, (await client.SendMailAsync("bad@spam.example", ["me@example.com"],
                "From: bad@spam.example\r\nTo: me@example.com\r\nX-Assp-Spam: NO\r\nSubject: Cheap pills today\r\n\r\nbuy now\r\n")).Code);
        }
        var copy = await WaitForMailToAsync(mta, "me-spam@example.com", proxy);
        Assert.Equal("bad@spam.example", copy.Sender);
        var text = copy.Text.Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Contains("X-Assp-Copy-Spam: Yes\n", text);
        Assert.Contains("X-Assp-Intended-For: me@example.com\n", text);
        Assert.Contains("X-Assp-Spam-Reason: blacklisted domain", text);
        Assert.Matches(@"Subject: \[\w+\].* Cheap pills today\n", text);
        Assert.DoesNotContain("X-Assp-Spam: NO", text);
        Assert.Contains("buy now", text);
        // The spam itself never reached the recipient.
        Assert.DoesNotContain(mta.GetCapturedMessages(), m => m.Recipients.Contains("me@example.com"));
    }

    [Fact]
    public async Task Delivered_ham_is_copied_to_sendHamInbound_only_for_ccHamFilter_recipients()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["sendHamInbound"] = "archive@example.com",
            ["ccHamFilter"] = "boss@example.com",
        }, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["worker@example.com"],
                "From: friend@far.example\r\nTo: worker@example.com\r\nSubject: first, not copied\r\n\r\nhello\r\n")).Code);
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["boss@example.com"],
                "From: friend@far.example\r\nTo: boss@example.com\r\nSubject: second, copied\r\n\r\nhello boss\r\n")).Code);
        }
        var copy = await WaitForMailToAsync(mta, "archive@example.com", proxy);
        Assert.Equal("friend@far.example", copy.Sender);
        Assert.Contains("Subject: second, copied", copy.Text);
        Assert.Contains("X-Assp-ID: ", copy.Text);
        // Copies go out in order from one queue: the first message's copy would have come first.
        await mta.WaitForMessagesAsync(3, TimeSpan.FromSeconds(30));
        Assert.Single(mta.GetCapturedMessages(), m => m.Recipients.Contains("archive@example.com"));
    }

    [Fact]
    public async Task A_maillog_line_matching_NotifyRe_sends_the_notification_through_the_relay()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["blackListedDomains"] = "spam.example",
            ["DoBlackDomainWL"] = "0",
            ["EmailFrom"] = "assp@example.com",
            ["Notify"] = "admin@example.com",
            ["NotifyRe"] = @"blacklisted domain=>security@example.com=>blacklist hit|MessageOK",
            ["NoNotifyRe"] = "friend@far",
            ["relayHost"] = $"127.0.0.1:{mta.Port}",
        }, pipeline: Pipeline(store));
        await using var notifier = new LogNotifier(() => proxy.Config.Current, m => proxy.Log.Write(m));
        proxy.Log.LineObserver = notifier.Offer;
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            // Delivered, but NoNotifyRe vetoes the MessageOK line of this sender.
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                "From: friend@far.example\r\nTo: me@example.com\r\nSubject: hi\r\n\r\nhello\r\n")).Code);
            Assert.Equal(554, (await client.SendMailAsync("bad@spam.example", ["me@example.com"],
                "From: bad@spam.example\r\nTo: me@example.com\r\nSubject: Cheap pills today\r\n\r\nbuy now\r\n")).Code);
        }
        var note = await WaitForMailToAsync(mta, "security@example.com", proxy);
        Assert.Equal("assp@example.com", note.Sender);
        var text = note.Text.Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Contains("X-Assp-Notification: YES\n", text);
        Assert.Contains("Subject: blacklist hit from proxy.assp-e2e.test\n", text);
        Assert.Contains("log event on host proxy.assp-e2e.test:", text);
        Assert.Contains("bad@spam.example", text);
        Assert.DoesNotContain(mta.GetCapturedMessages(), m => m.Recipients.Contains("admin@example.com"));
    }
}
