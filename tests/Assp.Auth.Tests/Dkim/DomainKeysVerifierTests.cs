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
