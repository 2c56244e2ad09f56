using System.Security.Cryptography;
using Assp.Auth.Tests.Dkim;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>genDKIM and genARC in the real proxy in front of Postfix; what Postfix stored is checked with dkimpy.</summary>
public sealed class SigningTests : IDisposable
{
    private readonly DirectoryInfo _keys = Directory.CreateTempSubdirectory("assp-dkim-");
    private readonly RSA _rsa = RSA.Create(2048);

    public void Dispose()
    {
        _keys.Delete(recursive: true);
        _rsa.Dispose();
    }

    /// <summary>A DKIMgenConfig file in ASSP's format for example.org, selector "mail", with an RSA key file.</summary>
    private string WriteConfig()
    {
        var keyFile = Path.Combine(_keys.FullName, "example.org.pem");
        File.WriteAllText(keyFile, _rsa.ExportRSAPrivateKeyPem());
        var config = Path.Combine(_keys.FullName, "dkimconfig.txt");
        File.WriteAllText(config, $"""
            # test setup
            <example.org>
              <mail>
                Algorithm=rsa-sha256
                Method=relaxed/relaxed
                Headers=From:To:Subject:Date:Message-ID:X-Assp-ID
                KeyFile={keyFile}
                Mode=DKIM
              </mail>
            </example.org>
            """);
        return "file:" + config;
    }

    private Dictionary<string, string> Keys() => new()
    {
        ["mail._domainkey.example.org"] = "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(_rsa.ExportSubjectPublicKeyInfo()),
    };

    private const string Outgoing = "From: Me <me@example.org>\r\nTo: friend@far.example\r\nSubject: lunch?\r\n" +
        "Date: Fri, 21 Nov 2025 12:00:00 +0000\r\nMessage-ID: <lunch-1@example.org>\r\n\r\nsee you at noon\r\n.. and a dotted line\r\n";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Relayed_mail_is_DKIM_signed_over_the_bytes_the_MTA_gets_and_dkimpy_accepts_it(bool chunking)
    {
        // Without CHUNKING the signed message goes out after DATA, dot-stuffed (the body has a line starting with dots).
        await using var mta = await PostfixInstance.StartAsync(chunking ? null : new PostfixOptions { ExtraMainCf = "smtpd_discard_ehlo_keywords = chunking" });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["genDKIM"] = "1",
            ["DKIMgenConfig"] = WriteConfig(),
            ["DKIMlogging"] = "3",
        }, listeners: ["relayPort"]);

        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.org", ["friend@far.example"], Outgoing)).Code);
        }
        // Incoming mail (not relayed) is not signed.
        await using (var incoming = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await incoming.ReadReplyAsync();
            Assert.Equal(250, (await incoming.SendMailAsync("someone@far.example", ["me@example.org"],
                "From: someone@far.example\r\nTo: me@example.org\r\nSubject: hi\r\n\r\nhello\r\n")).Code);
        }
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        var signed = got.Single(m => m.Text.Contains("Subject: lunch?"));
        Assert.Contains("\n.. and a dotted line\n", signed.Text.Replace("\r\n", "\n"));
        var unsigned = got.Single(m => m.Text.Contains("Subject: hi"));
        Assert.Contains("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=mail;", signed.Text);
        Assert.Contains("h=From:To:Subject:Date:Message-ID:X-Assp-ID", signed.Text.Replace("\r\n ", ""));
        Assert.DoesNotContain("DKIM-Signature", unsigned.Text);

        var verdicts = Dkimpy.Verify(new Dictionary<string, byte[]> { ["signed.eml"] = signed.Raw }, Keys());
        Assert.Equal("pass", verdicts["signed.eml"]);
        var tampered = System.Text.Encoding.UTF8.GetBytes(signed.Text.Replace("see you at noon", "see you at one"));
        Assert.StartsWith("fail", Dkimpy.Verify(new Dictionary<string, byte[]> { ["t.eml"] = tampered }, Keys())["t.eml"]);
        var log = proxy.ReadMaillog();
        Assert.Contains("info: successful added DKIM-Signature (d=example.org s=mail)", log);
        Assert.Contains("DKIM: self signature check: result: pass", log);
    }

    [Fact]
    public async Task A_Domainkey_mode_selector_makes_DomainKey_signatures_that_Mail_DKIM_accepts_in_memory_and_from_disk()
    {
        using var perl = new MailDkimPerl();
        var keyFile = Path.Combine(_keys.FullName, "dk.pem");
        File.WriteAllText(keyFile, perl.Rsa.ExportRSAPrivateKeyPem());
        var config = Path.Combine(_keys.FullName, "dkimconfig-dk.txt");
        File.WriteAllText(config, $"""
            <example.org>
              <dk>
                Mode=Domainkey
                Method=nofws
                KeyFile={keyFile}
              </dk>
            </example.org>
            """);
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { MessageSizeLimit = 20 * 1024 * 1024 });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["genDKIM"] = "1",
            ["DKIMgenConfig"] = "file:" + config,
            ["DKIMlogging"] = "3",
        }, listeners: ["relayPort"]);
        var big = new System.Text.StringBuilder(Outgoing.Replace("lunch?", "big one", StringComparison.Ordinal));
        for (int i = 0; big.Length < 1_500_000; i++) big.Append("line  ").Append(i).Append(" \t\r\n");
        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.org", ["friend@far.example"], Outgoing)).Code);
            Assert.Equal(250, (await relay.SendMailAsync("me@example.org", ["friend@far.example"], big.ToString())).Code);
        }
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(60));
        foreach (var m in got) Assert.Contains("DomainKey-Signature: a=rsa-sha1; c=nofws; d=example.org; s=dk; q=dns;", m.Text);
        var keys = new Dictionary<string, string> { ["dk._domainkey.example.org"] = perl.KeyRecord() };
        var verdicts = perl.Verify(got.Select((m, i) => (Name: $"m{i}.eml", m.Raw)).ToDictionary(x => x.Name, x => x.Raw), keys);
        Assert.Equal(["dk:pass", "dk:pass"], verdicts.Values);
        var tampered = System.Text.Encoding.UTF8.GetBytes(got.Single(m => m.Text.Contains("lunch?")).Text.Replace("see you at noon", "see you at one"));
        Assert.StartsWith("dk:fail", perl.Verify(new Dictionary<string, byte[]> { ["t.eml"] = tampered }, keys)["t.eml"]);
        var log = proxy.ReadMaillog();
        Assert.Contains("info: successful added DomainKey-Signature (d=example.org s=dk)", log);
        Assert.Matches(@"successful added DomainKey-Signature \(d=example.org s=dk\) to a message of \d+ bytes on disk", log);
        Assert.Contains("DKIM: self signature check: result: pass", log);
    }

    [Fact]
    public async Task A_3_MB_message_kept_on_disk_is_signed_by_streaming_and_dkimpy_accepts_it()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { MessageSizeLimit = 20 * 1024 * 1024 });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["genDKIM"] = "1",
            ["DKIMgenConfig"] = WriteConfig(),
            ["DKIMlogging"] = "2",
        }, listeners: ["relayPort"]);
        // Lines with dots, runs of blanks and trailing blanks (relaxed canonicalisation), trailing empty lines.
        var body = new System.Text.StringBuilder();
        for (int i = 0; body.Length < 3 * 1024 * 1024; i++)
            body.Append(i % 7 == 0 ? ".. dotted line " : "line  ").Append(i).Append(i % 5 == 0 ? " \t \r\n" : "\r\n");
        body.Append("\r\n\r\n");
        var header = Outgoing.Replace("lunch?", "big report", StringComparison.Ordinal);
        var message = header[..header.IndexOf("\r\n\r\n", StringComparison.Ordinal)] + "\r\n\r\n" + body;
        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.org", ["friend@far.example"], message)).Code);
        }
        var signed = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(60)));
        Assert.True(signed.Raw.Length > 2_500_000);                  // the capture stores LF line ends
        Assert.Contains("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=mail;", signed.Text);
        Assert.Equal("pass", Dkimpy.Verify(new Dictionary<string, byte[]> { ["big.eml"] = signed.Raw }, Keys())["big.eml"]);
        Assert.Matches(@"successful added DKIM-Signature \(d=example.org s=mail\) to a message of \d+ bytes on disk", proxy.ReadMaillog());
    }

    [Fact]
    public async Task GenARC_seals_every_message_and_dkimpy_validates_the_chain()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["genARC"] = "1",
            ["ARCSigningHost"] = "mx.example.org",
            ["DKIMgenConfig"] = WriteConfig(),
        });
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("someone@far.example", ["me@example.org"],
                "From: someone@far.example\r\nTo: me@example.org\r\nSubject: hi\r\nDate: Fri, 21 Nov 2025 12:00:00 +0000\r\n\r\nhello\r\n")).Code);
        }
        var msg = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("ARC-Seal: a=rsa-sha256;", msg.Text);
        Assert.Contains("ARC-Authentication-Results: i=1; mx.example.org; arc=none", msg.Text);
        var verdicts = Dkimpy.Verify(new Dictionary<string, byte[]> { ["arc.eml"] = msg.Raw }, Keys(), arc: true);
        Assert.StartsWith("pass", verdicts["arc.eml"]);
    }
}
