using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>Corpus collection by the real proxy in front of Postfix: where spam, ham and whitelisted mail are stored.</summary>
public class CollectionTests
{
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)));

    /// <summary>The files of a collection folder once the background writer has stored count of them.</summary>
    private static async Task<string[]> WaitForFilesAsync(ProxyInstance proxy, string folder, int count)
    {
        var dir = Path.Combine(proxy.BaseDirectory, folder);
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < end)
        {
            var files = Directory.Exists(dir) ? Directory.GetFiles(dir) : [];
            if (files.Length >= count) return files;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{count} files did not appear in {folder}:\n{proxy.ReadMaillog()}");
    }

    private static int FileCount(ProxyInstance proxy, string folder)
    {
        var dir = Path.Combine(proxy.BaseDirectory, folder);
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Length : 0;
    }

    [Fact]
    public async Task A_refused_spam_is_stored_in_spam_and_the_maillog_names_the_file()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["blackListedDomains"] = "spam.example",
            ["DoBlackDomainWL"] = "0",
            ["fileLogging"] = "1",
        }, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(554, (await client.SendMailAsync("bad@spam.example", ["me@example.com"],
                "From: bad@spam.example\r\nTo: me@example.com\r\nSubject: Cheap pills today\r\n\r\nbuy now\r\n")).Code);
        }
        var file = Assert.Single(await WaitForFilesAsync(proxy, "spam", 1));
        Assert.Matches(@"Cheap_pills_today--\d+\.eml$", file);
        var text = await File.ReadAllTextAsync(file);
        Assert.StartsWith("X-Assp-Version: ASSP for .NET ", text);
        Assert.Contains("X-Assp-Spam-Reason: blacklisted domain 'bad@spam.example'", text);
        Assert.DoesNotContain("X-Assp-Spam: YES", text);
        Assert.Contains("Received: from ", text);
        Assert.EndsWith("Subject: Cheap pills today\r\n\r\nbuy now\r\n", text);
        var log = await proxy.WaitForLogAsync("-> spam/Cheap_pills_today--");
        Assert.Contains("refused: ", log);
        Assert.Equal(0, FileCount(proxy, "notspam"));
    }

    [Fact]
    public async Task Ham_goes_to_okmail_per_baysNonSpamLog_and_local_mail_to_notspam_per_NonSpamLog()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["baysNonSpamLog"] = "4",
            ["fileLogging"] = "1",
            ["noCollecting"] = "quiet@far.example",
        }, listeners: ["relayPort"], pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            // noCollecting: mail from this sender is never stored.
            Assert.Equal(250, (await client.SendMailAsync("quiet@far.example", ["me@example.com"],
                "From: quiet@far.example\r\nTo: me@example.com\r\nSubject: private\r\n\r\nsecret\r\n")).Code);
            Assert.Equal(250, (await client.SendMailAsync("someone@far.example", ["me@example.com"],
                "From: someone@far.example\r\nTo: me@example.com\r\nSubject: meeting notes\r\n\r\nsee attached\r\n", ehlo: false)).Code);
        }
        var ok = Assert.Single(await WaitForFilesAsync(proxy, "okmail", 1));
        Assert.Matches(@"meeting_notes--\d+\.eml$", ok);
        await proxy.WaitForLogAsync("message ok - ");
        Assert.Contains("-> okmail/meeting_notes--", proxy.ReadMaillog());

        // Local mail (relayPort) is ham that ASSP keeps in notspam (NonSpamLog 2).
        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.com", ["friend@far.example"],
                "From: me@example.com\r\nTo: friend@far.example\r\nSubject: lunch tomorrow\r\n\r\nnoon?\r\n")).Code);
        }
        var ham = Assert.Single(await WaitForFilesAsync(proxy, "notspam", 1));
        Assert.Matches(@"lunch_tomorrow--\d+\.eml$", ham);
        Assert.Equal(3, (await mta.WaitForMessagesAsync(3, TimeSpan.FromSeconds(20))).Count);
        Assert.Single(Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "okmail")));
    }

    [Fact]
    public async Task A_whitelisted_sender_is_collected_in_notspam()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["whiteListedDomains"] = "friend.example",
        }, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("pal@friend.example", ["me@example.com"],
                "From: pal@friend.example\r\nTo: me@example.com\r\nSubject: photos\r\n\r\nhere\r\n")).Code);
        }
        Assert.Matches(@"photos--\d+\.eml$", Assert.Single(await WaitForFilesAsync(proxy, "notspam", 1)));
        Assert.Equal(0, FileCount(proxy, "okmail"));
    }

    [Fact]
    public async Task A_3_MB_message_is_stored_up_to_MaxBytes_and_delivered_whole()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["StoreCompleteMail"] = "0",
            ["MaxBytes"] = "4000",
            ["StoreASSPHeader"] = "0",
        }, pipeline: Pipeline(store));
        var header = "From: someone@far.example\r\nTo: me@example.com\r\nSubject: big report\r\n\r\n";
        var body = new StringBuilder();
        var line = new string('r', 998) + "\r\n";
        while (body.Length < 3 * 1024 * 1024) body.Append(line);
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("someone@far.example", ["me@example.com"], header + body)).Code);
        }
        // Larger than npSize: ASSP does not process it and keeps it in okmail (noProcessingLog 4).
        var file = Assert.Single(await WaitForFilesAsync(proxy, "okmail", 1));
        Assert.Matches(@"big_report--\d+\.eml$", file);
        var stored = await File.ReadAllTextAsync(file);
        // Our Received line, then the message header and 4000 bytes of the body.
        Assert.StartsWith("Received: from ", stored);
        Assert.EndsWith(header + body.ToString(0, 4000), stored);
        var delivered = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.True(delivered.Raw.Length > 3_000_000);   // the capture has LF line ends
    }

    [Fact]
    public async Task A_collection_folder_that_cannot_be_written_loses_no_mail()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["baysNonSpamLog"] = "2",
            ["notspamlog"] = "blocked/notspam",
        }, pipeline: Pipeline(store));
        // A file where the folder should be: not even root can store there.
        await File.WriteAllTextAsync(Path.Combine(proxy.BaseDirectory, "blocked"), "not a folder");
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("someone@far.example", ["me@example.com"],
                "From: someone@far.example\r\nTo: me@example.com\r\nSubject: still arrives\r\n\r\nbody\r\n")).Code);
            // The session goes on normally.
            Assert.Equal(250, (await client.SendMailAsync("someone@far.example", ["me@example.com"],
                "From: someone@far.example\r\nTo: me@example.com\r\nSubject: second\r\n\r\nbody\r\n", ehlo: false)).Code);
        }
        Assert.Equal(2, (await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20))).Count);
        await proxy.WaitForLogAsync("warning: collected mail could not be stored in");
    }
}
