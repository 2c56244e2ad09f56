using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Tests.Checks;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Mime;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>inChrSetConv, outChrSetConv and doInFixTNEF through the real proxy: what Postfix receives is the converted mail.</summary>
public class ConversionTests
{
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store)), null, CheckCatalog.Discover(CheckServices.None));

    private const string Utf8Mail = "From: friend@far.example\r\nTo: me@example.com\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/alternative; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Grüße aus Köln, 5 €\r\n--B\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>Grüße</p>\r\n--B--\r\n";

    [Fact]
    public async Task Postfix_receives_incoming_mail_in_latin1_and_relayed_mail_in_utf8()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["inChrSetConv"] = "UTF-8=>ISO-8859-1",
            ["outChrSetConv"] = "ISO-8859-1=>UTF-8",
        }, listeners: ["relayPort"], pipeline: Pipeline(store));

        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"], Utf8Mail)).Code);
        }
        // Outgoing through relayPort: Latin-1 quoted-printable becomes UTF-8.
        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.com", ["friend@far.example"],
                "From: me@example.com\r\nTo: friend@far.example\r\nSubject: =?ISO-8859-1?Q?caf=E9?=\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 cr=E8me\r\n")).Code);
        }
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));

        var incoming = MimeParser.Parse(got.Single(m => m.Recipients.Contains("me@example.com")).Raw);
        var plain = incoming.Entities.Single(e => e.MimeType == "text/plain");
        Assert.Equal("ISO-8859-1", plain.Charset);
        Assert.Equal(ContentEncoding.QuotedPrintable, plain.ContentTransferEncoding);
        Assert.Equal(Encoding.Latin1.GetBytes("Grüße aus Köln, 5 ?"), plain.GetContentBytes().ToArray());
        Assert.Equal("ISO-8859-1", incoming.Entities.Single(e => e.MimeType == "text/html").Charset);
        Assert.Contains("Subject: =?ISO-8859-1?B?", Encoding.ASCII.GetString(incoming.Root.RawHeaders.Span));
        Assert.Equal("Grüße", incoming.Subject);
        Assert.True(incoming.Headers.Contains("X-Assp-ID"));   // our headers still go on after the conversion

        var outgoing = MimeParser.Parse(got.Single(m => m.Recipients.Contains("friend@far.example")).Raw);
        Assert.Equal("UTF-8", outgoing.Root.Charset);
        // (Postfix stores the mail with LF line ends.)
        Assert.Equal("café crème\n", Encoding.UTF8.GetString(outgoing.Root.GetContentBytes().Span).ReplaceLineEndings("\n"));
        Assert.Equal("café", outgoing.Subject);

        var log = await File.ReadAllTextAsync(Path.Combine(proxy.BaseDirectory, "logs", "maillog.txt"));
        Assert.Contains("character set conversion: from UTF-8 to ISO-8859-1 in MIME part 3", log);
    }

    [Fact]
    public async Task Postfix_receives_the_files_of_a_winmail_dat_as_mime_parts()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["doInFixTNEF"] = "1",
            ["keepInTNEF"] = "0",
        }, pipeline: Pipeline(store));
        var pdf = Encoding.ASCII.GetBytes("%PDF-1.4\nquarterly figures\n%%EOF\n");
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var mail = TnefSample.TnefMail(TnefSample.Tnef(("figures.pdf", pdf)), rcpt: "me@example.com").Replace("\n", "\r\n", StringComparison.Ordinal);
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"], mail)).Code);
        }
        var msg = MimeParser.Parse(Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Raw);
        Assert.DoesNotContain(msg.Entities, e => e.MimeType == "application/ms-tnef");
        Assert.Equal("Please see the files.\n", msg.Root.Children.Single(e => e.MimeType == "text/plain" && e.ContentDisposition?.Disposition == "inline").GetText()?.ReplaceLineEndings("\n"));
        var file = msg.Entities.Single(e => e.FileName == "figures.pdf");
        Assert.Equal("application/pdf", file.MimeType);
        Assert.Equal(pdf, file.GetContentBytes().ToArray());
    }
}
