using System.Buffers.Binary;
using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Tests.Virus;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>Virus scanning with a real private clamd and attachment blocking, through the real proxy in front of Postfix.</summary>
public class VirusAndAttachmentTests(ClamdServer clamd) : IClassFixture<ClamdServer>
{
    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store)), null, CheckCatalog.Discover(CheckServices.None));

    private static string Attachment(string subject, string name, byte[] content) =>
        $"From: friend@far.example\r\nTo: me@example.com\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
        + $"Content-Type: application/octet-stream; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n"
        + $"Content-Transfer-Encoding: base64\r\n\r\n{Convert.ToBase64String(content, Base64FormattingOptions.InsertLineBreaks)}\r\n--XX--\r\n";

    private static byte[] Pe()
    {
        var b = new byte[0x200];
        b[0] = (byte)'M'; b[1] = (byte)'Z';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(0x3C), 0x80);
        "PE\0\0"u8.CopyTo(b.AsSpan(0x80));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84), 0x14C);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 16), 0xE0);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 18), 0x0102);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 20), 0x10B);
        return b;
    }

    private Dictionary<string, string> Settings(string avClamdPort) => new()
    {
        ["UseAvClamd"] = "1",
        ["AvClamdPort"] = avClamdPort,
        ["ClamAVtimeout"] = "10",
        ["DoBlockExes"] = "1",
        ["BlockExes"] = "1",
    };

    [Fact]
    public async Task An_EICAR_mail_is_refused_with_the_virus_reply_and_a_clean_one_is_delivered()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings($"127.0.0.1:{clamd.Port}|{clamd.SocketPath}"), pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("friend@far.example", ["me@example.com"],
                Attachment("infected", "eicar.dat", Encoding.ASCII.GetBytes(ClamdServer.Eicar)));
            Assert.Equal(554, refused.Code);
            Assert.Contains($"Mail appears infected with [{ClamdServer.EicarName}", refused.Text);
        }
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                Attachment("clean", "notes.txt", Encoding.ASCII.GetBytes("nothing bad in here\r\n")))).Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: clean", got.Text);
        Assert.DoesNotContain(mta.GetCapturedMessages(), m => m.Text.Contains("Subject: infected"));
        await proxy.WaitForLogAsync("virus detected: 'Eicar-Test-Signature");
    }

    [Fact]
    public async Task With_clamd_stopped_the_proxy_keeps_delivering_as_ASSP_does()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings(clamd.SocketPath), pipeline: Pipeline(store));
        clamd.Stop();
        try
        {
            await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                Attachment("unscanned", "eicar.dat", Encoding.ASCII.GetBytes(ClamdServer.Eicar)))).Code);
        }
        finally
        {
            clamd.Start();
        }
        Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        await proxy.WaitForLogAsync("passes unscanned");
    }

    [Fact]
    public async Task With_ClamAVLogScan_2_an_infected_mail_that_was_not_scanned_live_is_moved_from_its_collection_folder_to_quarantine()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        var settings = Settings(clamd.SocketPath);
        settings["whiteListedDomains"] = "far.example";
        settings["ScanWL"] = "0";          // whitelisted mail is not scanned in the SMTP transaction …
        settings["ClamAVLogScan"] = "2";   // … but its collected copy is
        settings["fileLogging"] = "1";
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                Attachment("passed unscanned", "eicar.dat", Encoding.ASCII.GetBytes(ClamdServer.Eicar)))).Code);
        }
        Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        var line = await proxy.WaitForLogAsync("moved virus infected file");
        Assert.Contains(ClamdServer.EicarName, line);
        var quarantine = Path.Combine(proxy.BaseDirectory, "quarantine");
        var file = Assert.Single(Directory.GetFiles(quarantine));
        Assert.Contains(Convert.ToBase64String(Encoding.ASCII.GetBytes(ClamdServer.Eicar))[..40], await File.ReadAllTextAsync(file));
        var notspam = Path.Combine(proxy.BaseDirectory, "notspam");
        Assert.Empty(Directory.Exists(notspam) ? Directory.GetFiles(notspam) : []);
    }

    [Fact]
    public async Task An_exe_renamed_txt_is_refused_by_DoBlockExes()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings(clamd.SocketPath), pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("friend@far.example", ["me@example.com"], Attachment("program", "readme.txt", Pe()));
            Assert.Equal(550, refused.Code);
            Assert.Contains("These attachments are not allowed -- Compress before mailing.", refused.Text);
        }
        await proxy.WaitForLogAsync("bad attachment 'readme.txt'");
        Assert.Empty(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task With_ASSP_AFCReplBadAttach_the_bad_attachment_is_replaced_and_the_mail_reaches_the_MTA()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        var settings = Settings(clamd.SocketPath);
        settings["DoASSP_AFC"] = "1";
        settings["ASSP_AFCReplBadAttach"] = "1";
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"], Attachment("program", "tool.exe", Pe()))).Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: program", got.Text);
        Assert.Contains("see attached", got.Text);
        Assert.Contains("The attached file (tool.exe) was removed from this email by ASSP for policy reasons!", got.Text);
        Assert.DoesNotContain(Convert.ToBase64String(Pe())[..40], got.Text);
        Assert.DoesNotContain("filename=\"tool.exe\"", got.Text);
        await proxy.WaitForLogAsync("replaced by a text");
    }

    [Fact]
    public async Task With_ASSP_AFCReplViriParts_an_EICAR_attachment_is_cut_out_by_clamd_and_the_mail_reaches_the_MTA()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        var settings = Settings(clamd.SocketPath);
        settings["DoASSP_AFC"] = "1";
        settings["ASSP_AFCSelect"] = "2";
        settings["ASSP_AFCReplViriParts"] = "1";
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                Attachment("infected", "eicar.dat", Encoding.ASCII.GetBytes(ClamdServer.Eicar)))).Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: infected", got.Text);
        Assert.Contains("see attached", got.Text);
        Assert.Contains($"There was a virus ({ClamdServer.EicarName}", got.Text);
        Assert.Contains("(attachment eicar.dat) by ASSP!", got.Text);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.ASCII.GetBytes(ClamdServer.Eicar))[..40], got.Text);
        await proxy.WaitForLogAsync("the part was replaced by a text (ASSP_AFCReplViriParts)");
    }

    [Fact]
    public async Task An_EICAR_mail_sends_a_virus_report_through_the_relay_to_the_MTA()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        var services = new CheckServices(Mailer: Assp.Smtp.ReportMailer.SendAsync);
        var pipeline = new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store)), null,
            CheckCatalog.Discover(services), services);
        var settings = Settings(clamd.SocketPath);
        settings["EmailVirusReportsTo"] = "virusalert@example.com|OUT:never@example.com";
        settings["EmailFrom"] = "assp@example.com";
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings, pipeline: pipeline);
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("friend@far.example", ["me@example.com"],
                Attachment("infected", "eicar.dat", Encoding.ASCII.GetBytes(ClamdServer.Eicar)));
            Assert.Equal(554, refused.Code);
        }
        var report = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal("assp@example.com", report.Sender);
        Assert.Equal(["virusalert@example.com"], report.Recipients);
        Assert.Contains($"Virus: {ClamdServer.EicarName}", report.Text);
        Assert.Contains("Sender: friend@far.example", report.Text);
        Assert.Contains("Recipient: me@example.com", report.Text);
        Assert.Contains("Subject: infected", report.Text);
        await proxy.WaitForLogAsync("virus report (EmailVirusReportsTo) sent to virusalert@example.com");
    }
}
