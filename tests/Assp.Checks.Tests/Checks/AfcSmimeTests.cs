using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Assp.Checks.Checks;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Mime;
using static Assp.Checks.Tests.Checks.AfcAttachmentOptionTests;

namespace Assp.Checks.Tests.Checks;

/// <summary>ASSP_AFCSMIME: signing rules, certificates made here, signatures checked by .NET and by openssl.</summary>
public sealed class AfcSmimeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-smime-tests", Guid.NewGuid().ToString("N"));

    public AfcSmimeTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Writes a self-signed certificate for <paramref name="email"/> and its key as PEM files; returns their paths.</summary>
    internal static (string Cert, string Key) MakeCertificate(string dir, string name, string? email, string? sanEmail = null,
        X509KeyUsageFlags usage = X509KeyUsageFlags.DigitalSignature, int validFromDays = -1, int validToDays = 365, string? password = null)
    {
        using var rsa = RSA.Create(2048);
        var subject = email is null ? $"CN={name}" : $"CN={name}, E={email}";
        var req = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.4")], critical: false));
        if (sanEmail is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddEmailAddress(sanEmail);
            req.CertificateExtensions.Add(san.Build());
        }
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(validFromDays), DateTimeOffset.UtcNow.AddDays(validToDays));
        var certPath = Path.Combine(dir, name + "_cert.pem");
        var keyPath = Path.Combine(dir, name + "_key.pem");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, password is null ? rsa.ExportPkcs8PrivateKeyPem()
            : rsa.ExportEncryptedPkcs8PrivateKeyPem(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10000)));
        return (certPath, keyPath);
    }

    private ConfigSnapshot Cfg(string rules, params (string, string)[] values)
    {
        var file = Path.Combine(_dir, "smime_cfg.txt");
        File.WriteAllText(file, rules);
        return TestConfig.Create([("localDomains", "local.test"), ("DoASSP_AFC", "1"), ("ASSP_AFCSMIME", "file:" + file), .. values]);
    }

    private const string Outgoing = "From: \"Mark Schmitz\" <mark@local.test>\r\nTo: peer@far.example\r\nMessage-ID: <s1@local.test>\r\n"
        + "Subject: signed\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello there.\r\n.dot line\r\n";

    private static void Local(FakeMailContext c) => c.Class = ConnectionClass.Local;

    private static Task<(Assp.Checks.Verdict Verdict, FakeMailContext Ctx)> Send(ConfigSnapshot cfg, string mail = Outgoing, string from = "mark@local.test", string rcpt = "peer@far.example") =>
        Run(cfg, mail, from: from, rcpt: rcpt, setup: Local);

    /// <summary>Checks the detached signature of a multipart/signed message with SignedCms; returns the signer.</summary>
    private static X509Certificate2 Verify(byte[] message)
    {
        var parsed = MimeParser.Parse(message);
        Assert.Equal("multipart/signed", parsed.Root.MimeType);
        Assert.Equal("application/pkcs7-signature", parsed.Root.ContentType.Parameters["protocol"]);
        Assert.Equal(2, parsed.Root.Children.Count);
        var signedPart = parsed.Root.Children[0];
        var content = parsed.Source[signedPart.HeaderStart..signedPart.BodyEnd].ToArray();
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        cms.Decode(parsed.Root.Children[1].GetContentBytes().ToArray());
        cms.CheckSignature(verifySignatureOnly: true);
        return cms.SignerInfos[0].Certificate!;
    }

    [Fact]
    public async Task A_private_rule_signs_relayed_mail_and_openssl_verifies_it()
    {
        var (cert, key) = MakeCertificate(_dir, "mark", "mark@local.test");
        var (verdict, ctx) = await Send(Cfg($"mark@local.test => certfile={cert}, keyfile={key}, keypass=\n"));
        Assert.False(verdict.Refuses);
        var signed = Assert.IsType<byte[]>(ctx.State.ReplacementMessage);
        Assert.Equal("mark@local.test", Verify(signed).GetNameInfo(X509NameType.EmailName, false));
        var text = Encoding.ASCII.GetString(signed);
        Assert.Contains("From: \"Mark Schmitz\" <mark@local.test>\r\n", text, StringComparison.Ordinal);
        Assert.Contains("Subject: signed\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("assp-corp-smime", text, StringComparison.Ordinal);
        Assert.Contains(ctx.LogLines, l => l.Contains("added SMIME signature", StringComparison.Ordinal));

        // openssl checks it as a mail client would (the self-signed certificate is its own trust anchor).
        var file = Path.Combine(_dir, "signed.eml");
        File.WriteAllBytes(file, signed);
        var (code, output) = OpenSsl("smime", "-verify", "-in", file, "-CAfile", cert, "-purpose", "any");
        Assert.True(code == 0, output);
        Assert.Contains("Verification successful", output, StringComparison.Ordinal);
        Assert.Contains("Hello there.", output, StringComparison.Ordinal);

        // A changed byte breaks it.
        var tampered = text.Replace("Hello there.", "Hello thera.", StringComparison.Ordinal);
        File.WriteAllText(file, tampered);
        Assert.NotEqual(0, OpenSsl("smime", "-verify", "-in", file, "-CAfile", cert, "-purpose", "any").Code);
    }

    [Fact]
    public async Task A_corporate_certificate_takes_over_From_and_keeps_the_sender_in_Reply_To_and_References()
    {
        var (cert, key) = MakeCertificate(_dir, "office", null, sanEmail: "central.office@local.test", password: "secret");
        var (_, ctx) = await Send(Cfg($"*@local.test => certfile={cert}, keyfile={key}, keypass=secret, emailaddress=SAN\n"));
        var signed = Assert.IsType<byte[]>(ctx.State.ReplacementMessage);
        Verify(signed);
        var parsed = MimeParser.Parse(signed);
        Assert.Equal("central.office@local.test", parsed.From[0].Address);
        Assert.Equal("Mark Schmitz", parsed.From[0].DisplayName);
        Assert.Equal("mark@local.test", parsed.ReplyTo[0].Address);
        Assert.Contains("assp-corp-smime-mark@local.test", parsed.References);
    }

    [Fact]
    public async Task Exclusions_recipients_direction_and_content_decide_which_mail_is_signed()
    {
        var (cert, key) = MakeCertificate(_dir, "corp", "corp@local.test");
        var rule = $"*@local.test => certfile={cert}, keyfile={key}, keypass=, rcpt=-boss@far.example\n";
        Assert.NotNull((await Send(Cfg(rule))).Ctx.State.ReplacementMessage);
        // A "-" line excludes the sender; rcpt=- excludes the recipient; other senders have no rule.
        Assert.Null((await Send(Cfg(rule + "-mark@local.test\n"))).Ctx.State.ReplacementMessage);
        Assert.Null((await Send(Cfg(rule), rcpt: "boss@far.example")).Ctx.State.ReplacementMessage);
        Assert.Null((await Send(Cfg(rule), from: "someone@other.test")).Ctx.State.ReplacementMessage);
        // A group on the exclude side.
        File.WriteAllText(Path.Combine(_dir, "groups.txt"), "[nosmime]\nmark@local.test\n");
        Assert.Null((await Send(Cfg(rule + "-[nosmime]\n", ("Groups", "file:" + Path.Combine(_dir, "groups.txt"))))).Ctx.State.ReplacementMessage);
        // Without DoASSP_AFC, for incoming mail, for 8-bit mail and for mail already signed: nothing.
        Assert.Null((await Send(Cfg(rule, ("DoASSP_AFC", "0")))).Ctx.State.ReplacementMessage);
        Assert.Null((await Run(Cfg(rule), Outgoing, from: "mark@local.test", rcpt: "u@local.test")).Ctx.State.ReplacementMessage);
        Assert.Null((await Send(Cfg(rule), Outgoing.Replace("Hello there.", "Grüße", StringComparison.Ordinal))).Ctx.State.ReplacementMessage);
        var once = Assert.IsType<byte[]>((await Send(Cfg(rule))).Ctx.State.ReplacementMessage);
        Assert.Null((await Send(Cfg(rule), Encoding.ASCII.GetString(once))).Ctx.State.ReplacementMessage);
    }

    [Fact]
    public void Unusable_rules_are_named_and_left_out()
    {
        var (expired, expiredKey) = MakeCertificate(_dir, "old", "old@local.test", validFromDays: -30, validToDays: -1);
        var (noSign, noSignKey) = MakeCertificate(_dir, "enc", "enc@local.test", usage: X509KeyUsageFlags.KeyEncipherment);
        var (noMail, noMailKey) = MakeCertificate(_dir, "nomail", null);
        var (good, goodKey) = MakeCertificate(_dir, "good", "good@local.test");
        var cfg = Cfg($"old@local.test => certfile={expired}, keyfile={expiredKey}, keypass=\n"
            + $"enc@local.test => certfile={noSign}, keyfile={noSignKey}, keypass=\n"
            + $"nomail@local.test => certfile={noMail}, keyfile={noMailKey}, keypass=\n"
            + $"nokey@local.test => certfile={good}, keypass=\n"
            + $"gone@local.test => certfile={_dir}/missing.pem, keyfile={goodKey}, keypass=\n"
            + $"wrongpass@local.test => certfile={good}, keyfile={goodKey}, keypass=nope, color=blue\n"
            + $"good@local.test => certfile={good}, keyfile={goodKey}, keypass=, color=blue\n");
        var rules = SmimeRules.For(cfg);
        Assert.Equal(["good@local.test"], rules.Rules.Select(r => r.Key));
        Assert.Contains(rules.Problems, p => p.Contains("no longer valid", StringComparison.Ordinal));
        Assert.Contains(rules.Problems, p => p.Contains("not valid for SMIME signing", StringComparison.Ordinal));
        Assert.Contains(rules.Problems, p => p.Contains("contains no valid email address", StringComparison.Ordinal));
        Assert.Contains(rules.Problems, p => p.Contains("missing 'keyfile'", StringComparison.Ordinal));
        Assert.Contains(rules.Problems, p => p.Contains("can't find 'certfile'", StringComparison.Ordinal));
        Assert.Contains(rules.Problems, p => p.Contains("error while reading the certificate", StringComparison.Ordinal));
        Assert.Contains(rules.Problems, p => p.Contains("ignoring invalid/unused parameter 'color'", StringComparison.Ordinal));
        Assert.All(rules.Problems, p => Assert.StartsWith("ASSP_AFCSMIME: ", p, StringComparison.Ordinal));
        Assert.DoesNotContain(rules.Problems, p => p.Contains("nope", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("user@your.domain", "user@your.domain", true)]
    [InlineData("user@your.domain", "other@your.domain", false)]
    [InlineData("*your.domain", "a@your.domain", true)]
    [InlineData("*your.domain", "a@sub.your.domain", true)]
    [InlineData("*@your.domain", "a@sub.your.domain", false)]
    [InlineData("*@*.your.domain", "a@sub.your.domain", true)]
    [InlineData("your.domain", "A@Your.Domain", true)]
    [InlineData("@your.domain", "a@your.domain", true)]
    public void Keys_match_addresses_domains_and_wildcards(string key, string address, bool expected) =>
        Assert.Equal(expected, SmimeRules.Matches(key, address));

    [Fact]
    public async Task A_reply_to_the_corporate_address_gets_the_original_sender_added_to_To()
    {
        var (cert, key) = MakeCertificate(_dir, "corp2", "corp@local.test");
        var cfg = Cfg($"*@local.test => certfile={cert}, keyfile={key}, keypass=\n");
        var reply = "From: peer@far.example\r\nTo: corp@local.test\r\nSubject: Re: signed\r\nReferences: <s1@local.test> <assp-corp-smime-mark@local.test>\r\n\r\nThanks\r\n";
        var (_, ctx) = await Run(cfg, reply, from: "peer@far.example", rcpt: "corp@local.test");
        var parsed = MimeParser.Parse(Assert.IsType<byte[]>(ctx.State.ReplacementMessage));
        Assert.Equal(["corp@local.test", "mark@local.test"], parsed.To.Select(a => a.Address));
        Assert.Contains("Thanks", Encoding.ASCII.GetString(parsed.Source.Span), StringComparison.Ordinal);
        // Not for an address of a foreign domain.
        var foreign = reply.Replace("mark@local.test", "mark@elsewhere.example", StringComparison.Ordinal);
        Assert.Null((await Run(cfg, foreign, from: "peer@far.example", rcpt: "corp@local.test")).Ctx.State.ReplacementMessage);
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
