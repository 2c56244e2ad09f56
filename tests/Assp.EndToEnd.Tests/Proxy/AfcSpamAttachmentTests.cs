using Assp.Bayes;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// ASSP_AFCDetectSpamAttachRe in the real proxy in front of Postfix: the corpus holds spam that always carries one
/// picture and ham with another; after a rebuild a new mail carrying the spam picture (other words) is refused, and
/// one carrying the ham picture reaches Postfix.
/// </summary>
public class AfcSpamAttachmentTests
{
    private static readonly byte[] SpamPicture = [.. "\x89PNG\r\n\x1a\n"u8, .. Enumerable.Range(0, 3000).Select(i => (byte)(i * 29 + 3))];
    private static readonly byte[] HamPicture = [.. "\x89PNG\r\n\x1a\n"u8, .. Enumerable.Range(0, 3000).Select(i => (byte)(i * 23 + 11))];

    private static string Mail(string from, string subject, string text, byte[] picture) =>
        $"From: {from}\r\nTo: me@example.com\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"R\"\r\n\r\n"
        + $"--R\r\nContent-Type: text/plain\r\n\r\n{text}\r\n"
        + "--R\r\nContent-Type: image/png; name=\"x.png\"\r\nContent-Disposition: inline; filename=\"x.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + Convert.ToBase64String(picture, Base64FormattingOptions.InsertLineBreaks) + "\r\n--R--\r\n";

    [Fact]
    public async Task A_picture_the_corpus_knows_as_spam_refuses_the_next_mail_that_carries_it()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoASSP_AFC"] = "1",
            ["AttachmentLog"] = "1",
        }, pipeline: new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)), null,
            CheckCatalog.Discover(new CheckServices(Store: store))));

        var cfg = proxy.Config.Current;
        string spamDir = Path.Combine(proxy.BaseDirectory, cfg["spamlog"]), hamDir = Path.Combine(proxy.BaseDirectory, cfg["notspamlog"]);
        Directory.CreateDirectory(spamDir);
        Directory.CreateDirectory(hamDir);
        for (int i = 0; i < 6; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(spamDir, $"s{i}{cfg["maillogExt"]}"), Mail($"x{i}@promo.example", $"offer {i}", $"special offer {i}", SpamPicture));
            await File.WriteAllTextAsync(Path.Combine(hamDir, $"h{i}{cfg["maillogExt"]}"), Mail($"y{i}@partner.example", $"trip {i}", $"our trip, day {i}", HamPicture));
        }
        // The rebuild as `assp rebuild` runs it with DoASSP_AFC on: the option's regex picks the parts.
        CorpusRebuild.Run(new RebuildOptions
        {
            Folders = [new CorpusFolder("spamlog", spamDir, true, 1), new CorpusFolder("notspamlog", hamDir, false, 1)],
            SpamAttachmentType = cfg.GetRegex("ASSP_AFCDetectSpamAttachRe").IsMatch,
        }, store);

        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("newcomer@far.example", ["me@example.com"], Mail("newcomer@far.example", "hello", "nothing like the others", SpamPicture));
            Assert.Equal(554, refused.Code);
            Assert.Contains("spam attachment found", refused.Text);
        }
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var ok = await client.SendMailAsync("friend@far.example", ["me@example.com"], Mail("friend@far.example", "photos", "from the trip", HamPicture));
            Assert.Equal(250, ok.Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Contains("Subject: photos", got.Text);
        var log = await proxy.WaitForLogAsync("spam attachment (image/ - x.png) found in MIME part");
        Assert.Contains("spam probability is", log);
    }
}
