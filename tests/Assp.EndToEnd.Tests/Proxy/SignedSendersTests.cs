using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>signedSenders in the real proxy in front of Postfix: the partner's unsigned mail is refused at the end of
/// DATA, its S/MIME signed mail reaches Postfix, and mail from anybody else is not asked for a signature.</summary>
public class SignedSendersTests
{
    private const string Signed = "From: a@partner.example\r\nTo: me@example.com\r\nSubject: signed report\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"S\"\r\n\r\n"
        + "--S\r\nContent-Type: text/plain\r\n\r\nthe figures\r\n--S\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
        + "Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--S--\r\n";

    [Fact]
    public async Task Unsigned_mail_from_a_signed_sender_is_refused_and_signed_mail_is_delivered()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["signedSenders"] = "@partner.example",
        }, pipeline: new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)), null,
            CheckCatalog.Discover(new CheckServices(Store: store))));

        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("a@partner.example", ["me@example.com"],
                "From: a@partner.example\r\nTo: me@example.com\r\nSubject: plain report\r\n\r\nthe figures\r\n");
            Assert.Equal(554, refused.Code);
            Assert.Contains("must be S/MIME or PGP signed or encrypted", refused.Text);
        }
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("a@partner.example", ["me@example.com"], Signed)).Code);
            Assert.Equal(250, (await client.SendMailAsync("b@other.example", ["me@example.com"],
                "From: b@other.example\r\nTo: me@example.com\r\nSubject: plain note\r\n\r\nhello\r\n", ehlo: false)).Code);
        }
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(30));
        Assert.Contains(got, m => m.Text.Contains("Subject: signed report", StringComparison.Ordinal));
        Assert.Contains(got, m => m.Text.Contains("Subject: plain note", StringComparison.Ordinal));
        Assert.DoesNotContain(got, m => m.Text.Contains("Subject: plain report", StringComparison.Ordinal));
        Assert.Contains("processed as whitelisted", await proxy.WaitForLogAsync("signedSenders: mail from a@partner.example is signed"));
    }
}
