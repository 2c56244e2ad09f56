using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>ASSP_AFCSMIME and ASSP_AFCWebScript through the real proxy in front of Postfix.</summary>
public sealed class AfcSmimeAndWebScriptTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("assp-afc-e2e-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store)), null, CheckCatalog.Discover(CheckServices.None));

    private (string Cert, string Key) Certificate(string email)
    {
        using var rsa = RSA.Create(2048);
        var req = new CertificateRequest($"CN=Signer, E={email}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certPath = Path.Combine(_dir.FullName, "cert.pem");
        var keyPath = Path.Combine(_dir.FullName, "key.pem");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    private const string Outgoing = "From: Me <me@example.org>\r\nTo: friend@far.example\r\nSubject: contract\r\n"
        + "Date: Fri, 21 Nov 2025 12:00:00 +0000\r\nMessage-ID: <contract-1@example.org>\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=us-ascii\r\n\r\nthe signed words\r\n.. and a dotted line\r\n";

    [Fact]
    public async Task Relayed_mail_reaches_the_MTA_S_MIME_signed_with_the_corporate_certificate_and_openssl_verifies_it()
    {
        var (cert, key) = Certificate("office@example.org");
        var rules = Path.Combine(_dir.FullName, "smime_cfg.txt");
        File.WriteAllText(rules, $"*@example.org => certfile={cert}, keyfile={key}, keypass=\n");
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoASSP_AFC"] = "1",
            ["ASSP_AFCSMIME"] = "file:" + rules,
        }, listeners: ["relayPort"], pipeline: Pipeline(store));

        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.org", ["friend@far.example"], Outgoing)).Code);
        }
        await using (var incoming = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await incoming.ReadReplyAsync();
            Assert.Equal(250, (await incoming.SendMailAsync("someone@far.example", ["me@example.org"],
                "From: someone@far.example\r\nTo: me@example.org\r\nSubject: hi\r\n\r\nhello\r\n")).Code);
        }
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        var signed = got.Single(m => m.Text.Contains("Subject: contract"));
        Assert.Contains("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;", signed.Text);
        var lines = signed.Text.Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Contains("\nFrom: Me <office@example.org>\n", lines);
        Assert.Contains("\nReply-To: Me <me@example.org>\n", lines);
        Assert.Contains("<assp-corp-smime-me@example.org>", signed.Text);
        Assert.DoesNotContain("multipart/signed", got.Single(m => m.Text.Contains("Subject: hi")).Text);

        var file = Path.Combine(_dir.FullName, "signed.eml");
        File.WriteAllBytes(file, signed.Raw);
        var (code, output) = OpenSsl("smime", "-verify", "-in", file, "-CAfile", cert, "-purpose", "any");
        Assert.True(code == 0, output);
        Assert.Contains("Verification successful", output);
        Assert.Contains(".. and a dotted line", output);
        await proxy.WaitForLogAsync("added SMIME signature for 'Me <office@example.org>'");
    }

    [Fact]
    public async Task A_large_incoming_attachment_reaches_the_MTA_as_the_link_text_the_script_printed()
    {
        var stored = Path.Combine(_dir.FullName, "webroot");
        Directory.CreateDirectory(stored);
        var script = Path.Combine(_dir.FullName, "move.sh");
        File.WriteAllText(script, $"#!/bin/sh\nmv \"$2\" '{stored}/'\nprintf 'Download %s from https://files.example.org/ (relayok=%s)' \"$(basename \"$2\")\" \"$1\"\n");
        var payload = RandomNumberGenerator.GetBytes(40_000);
        var mail = "From: friend@far.example\r\nTo: me@example.com\r\nSubject: big file\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
            + "Content-Type: application/zip; name=\"data.zip\"\r\nContent-Disposition: attachment; filename=\"data.zip\"\r\n"
            + $"Content-Transfer-Encoding: base64\r\n\r\n{Convert.ToBase64String(payload, Base64FormattingOptions.InsertLineBreaks)}\r\n--XX--\r\n";
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoASSP_AFC"] = "1",
            ["ASSP_AFCWebScript"] = $"/bin/sh {script} $relayok FILENAME",
            ["ASSP_AFCinsize"] = "20",
            ["AttachmentLog"] = "1",
        }, pipeline: Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"], mail)).Code);
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("see attached", got.Text);
        Assert.Matches(@"Download \S+_data\.zip from https://files\.example\.org/ \(relayok=0\)", got.Text);
        Assert.DoesNotContain(Convert.ToBase64String(payload)[..60], got.Text);
        var moved = Assert.Single(Directory.GetFiles(stored));
        Assert.Equal(payload, File.ReadAllBytes(moved));
        Assert.Empty(Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "transfer")));
        await proxy.WaitForLogAsync("was stored outside for download and replaced by script result");
    }

    private static (int Code, string Output) OpenSsl(params string[] args)
    {
        var psi = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }
}
