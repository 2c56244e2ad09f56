using System.Text;
using Assp.Auth.Dkim;

namespace Assp.Auth.Tests.Dkim;

/// <summary>DomainKeys (RFC 4870) verification against signatures made by Mail::DKIM, the library ASSP uses.</summary>
public sealed class DomainKeysVerifierTests : IDisposable
{
    private const string Message =
        "Received: from relay.example.org by mx.example.net; Sat, 21 Nov 2026 10:00:00 +0000\n" +
        "From: Joe Sender <joe@mail.example.org>\n" +
        "To: ann@example.net\n" +
        "Subject:  a   DomainKeys   test\n" +
        "Date: Sat, 21 Nov 2026 10:00:00 +0000\n" +
        "Message-ID: <dk-1@mail.example.org>\n" +
        "\n" +
        "Hello  Ann,\n" +
        "\tthis line starts with a tab.\n" +
        "\n" +
        "Joe\n" +
        "\n\n";

    private readonly MailDkimPerl _signer = new();
    private readonly InMemoryDkimDns _dns = new();

    public DomainKeysVerifierTests()
    {
        _dns.Add("sel._domainkey.example.org", _signer.KeyRecord());
    }

    public void Dispose() => _signer.Dispose();

    private async Task<DkimSignatureResult> Verify(byte[] message)
    {
        var result = await new DomainKeysVerifier(_dns).VerifyAsync(DkimMessage.Parse(message));
        Assert.Single(result.Signatures);
        return result.Signatures[0];
    }

    private static byte[] Replace(byte[] message, string from, string to)
    {
        var text = Encoding.Latin1.GetString(message);
        Assert.Contains(from, text);
        return Encoding.Latin1.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("nofws", "-")]
    [InlineData("nofws", "*")]
    [InlineData("simple", "-")]
    [InlineData("simple", "*")]
    [InlineData("nofws", "from:subject")]
    public async Task A_signature_made_by_Mail_DKIM_verifies(string method, string headers)
    {
        var signed = _signer.Sign(Message, method, "example.org", "sel", headers);
        var r = await Verify(signed);
        Assert.Equal(DkimStatus.Pass, r.Status);
        Assert.True(r.DomainKeys);
        Assert.Equal("example.org", r.Domain);
        Assert.Equal("joe@mail.example.org", r.Identity);
        Assert.Equal("rsa-sha1", r.Algorithm);
    }

    [Theory]
    [InlineData("nofws")]
    [InlineData("simple")]
    public async Task A_changed_body_fails(string method)
    {
        var signed = Replace(_signer.Sign(Message, method, "example.org", "sel"), "Joe\r\n", "Joe (changed)\r\n");
        var r = await Verify(signed);
        Assert.Equal(DkimStatus.Fail, r.Status);
        Assert.Equal("signature did not verify", r.Reason);
    }

    [Fact]
    public async Task Whitespace_changes_pass_nofws_and_fail_simple()
    {
        var nofws = Replace(_signer.Sign(Message, "nofws", "example.org", "sel"), "Hello  Ann,", "Hello Ann,");
        Assert.Equal(DkimStatus.Pass, (await Verify(nofws)).Status);
        var folded = Replace(_signer.Sign(Message, "nofws", "example.org", "sel"), "Subject:  a   DomainKeys", "Subject: a\r\n DomainKeys");
        Assert.Equal(DkimStatus.Pass, (await Verify(folded)).Status);
        var simple = Replace(_signer.Sign(Message, "simple", "example.org", "sel"), "Hello  Ann,", "Hello Ann,");
        Assert.Equal(DkimStatus.Fail, (await Verify(simple)).Status);
    }

    [Fact]
    public async Task Trailing_empty_lines_do_not_count()
    {
        var signed = _signer.Sign(Message, "simple", "example.org", "sel");
        Assert.Equal(DkimStatus.Pass, (await Verify([.. signed, .. "\r\n\r\n"u8.ToArray()])).Status);
    }

    [Fact]
    public async Task An_empty_body_verifies()
    {
        var signed = _signer.Sign("From: joe@example.org\nTo: ann@example.net\nSubject: empty\n\n", "nofws", "example.org", "sel");
        Assert.Equal(DkimStatus.Pass, (await Verify(signed)).Status);
    }

    [Fact]
    public async Task Only_the_headers_below_the_signature_are_signed()
    {
        var signed = _signer.Sign(Message, "nofws", "example.org", "sel");
        // A hop adds a header above the signature: still good.
        Assert.Equal(DkimStatus.Pass, (await Verify([.. "Received: from later.example.net\r\n"u8.ToArray(), .. signed])).Status);
        // A header inserted below it breaks a signature without h=...
        var inserted = Replace(signed, "To: ann@example.net\r\n", "To: ann@example.net\r\nX-Added: yes\r\n");
        Assert.Equal(DkimStatus.Fail, (await Verify(inserted)).Status);
        // ...but not one whose h= does not name it.
        var listed = Replace(_signer.Sign(Message, "nofws", "example.org", "sel", "from:to:subject"), "To: ann@example.net\r\n", "To: ann@example.net\r\nX-Added: yes\r\n");
        Assert.Equal(DkimStatus.Pass, (await Verify(listed)).Status);
        // A second Subject below the signature is covered when h= names subject once (all fields of that name).
        var second = Replace(_signer.Sign(Message, "nofws", "example.org", "sel", "from:to:subject"), "To: ann@example.net\r\n", "To: ann@example.net\r\nSubject: also\r\n");
        Assert.Equal(DkimStatus.Fail, (await Verify(second)).Status);
    }

    [Fact]
    public async Task The_sender_header_is_the_identity_and_must_lie_in_d()
    {
        var withSender = Message.Replace("To: ann", "Sender: list@lists.example.org\nTo: ann", StringComparison.Ordinal);
        var r = await Verify(_signer.Sign(withSender, "nofws", "example.org", "sel"));
        Assert.Equal(DkimStatus.Pass, r.Status);
        Assert.Equal("list@lists.example.org", r.Identity);

        var foreign = Message.Replace("joe@mail.example.org", "joe@other.example", StringComparison.Ordinal);
        var bad = await Verify(_signer.Sign(foreign, "nofws", "example.org", "sel"));
        Assert.Equal(DkimStatus.PermError, bad.Status);
        Assert.Contains("not d=", bad.Reason);
    }

    [Fact]
    public async Task Key_problems_are_reported()
    {
        var signed = _signer.Sign(Message, "nofws", "example.org", "other");
        var missing = await Verify(signed);
        Assert.Equal(DkimStatus.PermError, missing.Status);
        Assert.Equal("no key for signature", missing.Reason);

        _dns.Add("other._domainkey.example.org", "k=rsa; p=");
        Assert.Equal("key revoked", (await Verify(signed)).Reason);

        _dns.Fail("tmp._domainkey.example.org");
        Assert.Equal(DkimStatus.TempError, (await Verify(_signer.Sign(Message, "nofws", "example.org", "tmp"))).Status);
    }

    [Theory]
    [InlineData("g=joe; ", DkimStatus.Pass)]
    [InlineData("g=jo*; ", DkimStatus.Pass)]
    [InlineData("g=; ", DkimStatus.Pass)]
    [InlineData("g=ann; ", DkimStatus.PermError)]
    [InlineData("t=y; ", DkimStatus.Pass)]
    public async Task Key_granularity_and_testing(string tags, DkimStatus expected)
    {
        _dns.Add("g._domainkey.example.org", _signer.KeyRecord(tags));
        var r = await Verify(_signer.Sign(Message, "nofws", "example.org", "g"));
        Assert.Equal(expected, r.Status);
        Assert.Equal(tags.StartsWith("t=y", StringComparison.Ordinal), r.Testing);
    }

    [Fact]
    public async Task Malformed_signatures_are_permerrors_and_other_algorithms_neutral()
    {
        var body = "\r\nFrom: joe@example.org\r\nTo: ann@example.net\r\n\r\nhi\r\n";
        Assert.Equal(DkimStatus.PermError, (await Verify(Encoding.ASCII.GetBytes("DomainKey-Signature: a=rsa-sha1; s=sel; b=AAAA" + body))).Status);
        Assert.Equal(DkimStatus.PermError, (await Verify(Encoding.ASCII.GetBytes("DomainKey-Signature: d=example.org; s=sel; b=!!" + body))).Status);
        Assert.Equal(DkimStatus.PermError, (await Verify(Encoding.ASCII.GetBytes("DomainKey-Signature: d=example.org; s=sel; c=relaxed; b=AAAA" + body))).Status);
        Assert.Equal(DkimStatus.Neutral, (await Verify(Encoding.ASCII.GetBytes("DomainKey-Signature: a=rsa-sha256; d=example.org; s=sel; b=AAAA" + body))).Status);
    }

    [Fact]
    public async Task DomainKeys_never_count_for_DMARC_and_DKIM_ignores_them()
    {
        var signed = _signer.Sign(Message, "nofws", "example.org", "sel");
        var dk = await new DomainKeysVerifier(_dns).VerifyAsync(DkimMessage.Parse(signed));
        Assert.Equal(DkimStatus.Pass, dk.Overall);
        Assert.Empty(dk.PassingDomains);
        var dkim = await new DkimVerifier(_dns).VerifyAsync(DkimMessage.Parse(signed));
        Assert.Equal(DkimStatus.None, dkim.Overall);
    }
}

/// <summary>DomainKey-Signatures we make (genDKIM with Mode=Domainkey), checked by Mail::DKIM's own verifier.</summary>
public sealed class DomainKeysSignerTests : IDisposable
{
    private const string Message =
        "From: Joe Sender <joe@example.org>\r\nTo: ann@example.net\r\nSubject:  signed   by us\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n" +
        "Message-ID: <dk-2@example.org>\r\nX-Assp-Tag: added\r\n\r\nHello  Ann,\r\n\r\n\tindented line\r\nbye\r\n\r\n";

    private readonly MailDkimPerl _perl = new();

    public void Dispose() => _perl.Dispose();

    [Fact]
    public async Task Signatures_we_make_verify_in_Mail_DKIM_and_in_our_verifier()
    {
        var messages = new Dictionary<string, byte[]>();
        foreach (var nofws in new[] { true, false })
            foreach (var headers in new IReadOnlyList<string>?[] { null, ["From", "Subject", "To", "Date", "Cc"] })
            {
                var options = new DomainKeysSigningOptions { Domain = "example.org", Selector = "sel", Key = _perl.Rsa, Nofws = nofws, Headers = headers };
                var header = DomainKeysSigner.Sign(DkimMessage.Parse(Encoding.ASCII.GetBytes(Message)), options);
                Assert.StartsWith("DomainKey-Signature: a=rsa-sha1; c=" + (nofws ? "nofws" : "simple") + "; d=example.org; s=sel; q=dns", header);
                Assert.Equal(headers is not null, header.Contains("h=from:subject:to:date;", StringComparison.Ordinal));
                var signed = Encoding.ASCII.GetBytes(header + Message);
                messages[$"{(nofws ? "nofws" : "simple")}-{(headers is null ? "all" : "h")}.eml"] = signed;
                var ours = await new DomainKeysVerifier(new InMemoryDkimDns().Add("sel._domainkey.example.org", _perl.KeyRecord()))
                    .VerifyAsync(DkimMessage.Parse(signed));
                Assert.Equal(DkimStatus.Pass, ours.Overall);
            }
        messages["tampered.eml"] = [.. messages["nofws-all.eml"].SkipLast(8), .. "changed\r\n"u8.ToArray()];
        var verdicts = _perl.Verify(messages, new Dictionary<string, string> { ["sel._domainkey.example.org"] = _perl.KeyRecord() });
        Assert.Equal(5, verdicts.Count);
        foreach (var name in messages.Keys.Where(n => n != "tampered.eml")) Assert.Equal("dk:pass", verdicts[name]);
        Assert.StartsWith("dk:fail", verdicts["tampered.eml"]);
    }

    [Fact]
    public async Task A_body_streamed_from_disk_gets_the_same_signature()
    {
        var bytes = Encoding.ASCII.GetBytes(Message + string.Concat(Enumerable.Repeat("a line  of\tthe long body\r\n", 20000)));
        var msg = DkimMessage.Parse(bytes);
        var options = new DomainKeysSigningOptions { Domain = "example.org", Selector = "sel", Key = _perl.Rsa };
        var inMemory = DomainKeysSigner.Sign(msg, options);
        int bodyStart = bytes.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        using var stream = new MemoryStream(bytes) { Position = bodyStart };
        var streamed = await DomainKeysSigner.SignAsync(DkimMessage.Parse(bytes.AsMemory(0, bodyStart)), stream, options);
        Assert.Equal(inMemory, streamed);   // RSA PKCS#1 v1.5 is deterministic: same hash, same signature
    }
}
