using System.Security.Cryptography;
using System.Text;
using Assp.Auth.Dkim;

namespace Assp.Auth.Tests.Dkim;

public sealed class DkimVerifierTests
{
    // RFC 8463 Appendix A: the keys (A.2) and the message signed with both (A.3).
    internal const string Rfc8463Ed25519Record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    internal const string Rfc8463RsaRecord =
        "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

    internal const string Rfc8463Message =
        "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n" +
        " d=football.example.com; i=@football.example.com;\r\n" +
        " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n" +
        " subject : date : message-id : from : subject : date;\r\n" +
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" +
        " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n" +
        " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n" +
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n" +
        " d=football.example.com; i=@football.example.com;\r\n" +
        " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n" +
        " date : message-id : from : subject : date;\r\n" +
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" +
        " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n" +
        " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n" +
        " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n" +
        "From: Joe SixPack <joe@football.example.com>\r\n" +
        "To: Suzie Q <suzie@shopping.example.net>\r\n" +
        "Subject: Is dinner ready?\r\n" +
        "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" +
        "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n" +
        "\r\n" +
        "Hi.\r\n" +
        "\r\n" +
        "We lost the game.  Are you hungry yet?\r\n" +
        "\r\n" +
        "Joe.\r\n";

    internal static InMemoryDkimDns Rfc8463Dns() => new InMemoryDkimDns()
        .Add("brisbane._domainkey.football.example.com", Rfc8463Ed25519Record)
        .Add("test._domainkey.football.example.com", Rfc8463RsaRecord);

    private static DkimMessage Msg(string text) => DkimMessage.Parse(Encoding.Latin1.GetBytes(text));

    private static Task<DkimResult> Verify(string text, IDkimDns dns, DkimVerifierOptions? o = null) =>
        new DkimVerifier(dns, o).VerifyAsync(Msg(text));

    [Fact]
    public async Task Rfc8463_example_passes_with_both_signatures()
    {
        var r = await Verify(Rfc8463Message, Rfc8463Dns());
        Assert.Equal(2, r.Signatures.Count);
        Assert.All(r.Signatures, s => Assert.Equal(DkimStatus.Pass, s.Status));
        Assert.Equal("ed25519-sha256", r.Signatures[0].Algorithm);
        Assert.Equal("rsa-sha256", r.Signatures[1].Algorithm);
        Assert.Equal(DkimStatus.Pass, r.Overall);
        Assert.Equal(["football.example.com"], r.PassingDomains);
        Assert.Equal("@football.example.com", r.Signatures[0].Identity);
    }

    [Fact]
    public async Task Rfc8463_example_with_changed_body_or_subject_fails()
    {
        var body = await Verify(Rfc8463Message.Replace("hungry", "Hungry"), Rfc8463Dns());
        Assert.All(body.Signatures, s => Assert.Equal(DkimStatus.Fail, s.Status));
        Assert.All(body.Signatures, s => Assert.Equal("body hash did not verify", s.Reason));
        var subject = await Verify(Rfc8463Message.Replace("dinner ready", "dinner  ready!"), Rfc8463Dns());
        Assert.All(subject.Signatures, s => Assert.Equal("signature did not verify", s.Reason));
        // Relaxed canonicalisation ignores whitespace changes in the header and at line ends.
        var relaxed = await Verify(Rfc8463Message.Replace("Subject: Is dinner ready?", "Subject:   Is  dinner\tready?  ").Replace("Joe.\r\n", "Joe.  \r\n\r\n"), Rfc8463Dns());
        Assert.All(relaxed.Signatures, s => Assert.Equal(DkimStatus.Pass, s.Status));
    }

    [Fact]
    public async Task Missing_or_broken_keys_give_permerror_and_dns_trouble_temperror()
    {
        var none = await Verify(Rfc8463Message, new InMemoryDkimDns());
        Assert.All(none.Signatures, s => Assert.Equal((DkimStatus.PermError, "no key for signature"), (s.Status, s.Reason)));
        var temp = await Verify(Rfc8463Message, Rfc8463Dns().Fail("test._domainkey.football.example.com"));
        Assert.Equal(DkimStatus.Pass, temp.Signatures[0].Status);
        Assert.Equal(DkimStatus.TempError, temp.Signatures[1].Status);
        Assert.Equal(DkimStatus.Pass, temp.Overall);
        var revoked = await Verify(Rfc8463Message, new InMemoryDkimDns()
            .Add("brisbane._domainkey.football.example.com", "v=DKIM1; k=ed25519; p=")
            .Add("test._domainkey.football.example.com", "v=DKIM1; p=MIGf"));
        Assert.Equal("key revoked", revoked.Signatures[0].Reason);
        Assert.Equal(DkimStatus.PermError, revoked.Signatures[1].Status);
        Assert.Equal(DkimStatus.PermError, revoked.Overall);
    }

    [Theory]
    [InlineData("v=DKIM1; k=rsa; h=sha1; p=KEY", "key h= does not allow the signature's hash algorithm")]
    [InlineData("v=DKIM1; k=rsa; s=web; p=KEY", "key s= does not include email")]
    [InlineData("v=DKIM1; k=ed25519; p=KEY", "key record p= is not a 32-byte Ed25519 key")]
    [InlineData("k=rsa; v=DKIM1; p=KEY", "key record v= is not DKIM1 or not first")]
    [InlineData("v=DKIM1; k=dsa; p=KEY", "key type k=dsa is not supported")]
    public async Task Key_record_tags_are_honoured(string record, string reason)
    {
        var key = Rfc8463RsaRecord[(Rfc8463RsaRecord.IndexOf("p=") + 2)..];
        var dns = new InMemoryDkimDns().Add("brisbane._domainkey.football.example.com", Rfc8463Ed25519Record)
            .Add("test._domainkey.football.example.com", record.Replace("KEY", key));
        var r = await Verify(Rfc8463Message, dns);
        Assert.Equal((DkimStatus.PermError, reason), (r.Signatures[1].Status, r.Signatures[1].Reason));
        var ok = await Verify(Rfc8463Message, new InMemoryDkimDns().Add("test._domainkey.football.example.com", $"v=DKIM1; k=rsa; h=sha1:sha256; s=email:web; t=y; p={key}"));
        Assert.Equal(DkimStatus.Pass, ok.Signatures[1].Status);
        Assert.True(ok.Signatures[1].Testing);
    }

    private static readonly RSA Rsa2048 = RSA.Create(2048);
    private static readonly DkimSigningKey RsaKey = DkimSigningKey.FromRsa(Rsa2048);
    private static readonly DkimSigningKey EdKey = DkimSigningKey.FromEd25519Seed(Convert.FromHexString("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));

    private const string Plain =
        "Received: from a by b; Fri, 11 Jul 2003 21:00:37 -0700\r\n" +
        "From: Joe <joe@example.org>\r\nTo: Sue <sue@example.net>\r\nSubject:  Test   message\r\n" +
        "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\nMessage-ID: <1@example.org>\r\n\r\nLine one \r\n\r\nLine  two\r\n\r\n\r\n";

    private static string SignWith(string message, DkimSigningKey key, Func<DkimSigningOptions, DkimSigningOptions>? edit = null)
    {
        var o = new DkimSigningOptions { Domain = "example.org", Selector = "sel", Key = key };
        if (edit is not null) o = edit(o);
        return DkimSigner.Sign(Msg(message), o) + message;
    }

    private static InMemoryDkimDns KeyDns(DkimSigningKey key, string extra = "") => new InMemoryDkimDns().Add("sel._domainkey.example.org", key.KeyRecord + extra);

    public static TheoryData<DkimCanonicalization, DkimCanonicalization, bool> Canonicalizations => new()
    {
        { DkimCanonicalization.Simple, DkimCanonicalization.Simple, false },
        { DkimCanonicalization.Simple, DkimCanonicalization.Relaxed, false },
        { DkimCanonicalization.Relaxed, DkimCanonicalization.Simple, true },
        { DkimCanonicalization.Relaxed, DkimCanonicalization.Relaxed, true },
    };

    [Theory]
    [MemberData(nameof(Canonicalizations))]
    public async Task Own_signatures_verify_in_every_canonicalization(DkimCanonicalization h, DkimCanonicalization b, bool ed)
    {
        var key = ed ? EdKey : RsaKey;
        var signed = SignWith(Plain, key, o => o with { HeaderCanonicalization = h, BodyCanonicalization = b });
        var r = await Verify(signed, KeyDns(key));
        Assert.Equal(DkimStatus.Pass, Assert.Single(r.Signatures).Status);
        // Trailing empty lines never matter; a changed word always does.
        Assert.Equal(DkimStatus.Pass, (await Verify(signed + "\r\n\r\n", KeyDns(key))).Overall);
        Assert.Equal(DkimStatus.Fail, (await Verify(signed.Replace("Line one", "Line 1"), KeyDns(key))).Overall);
        // Whitespace inside a line: relaxed body tolerates it, simple does not.
        var spaced = await Verify(signed.Replace("Line  two", "Line two"), KeyDns(key));
        Assert.Equal(b == DkimCanonicalization.Relaxed ? DkimStatus.Pass : DkimStatus.Fail, spaced.Overall);
    }

    [Fact]
    public async Task Added_header_instance_breaks_the_signature_unless_over_signed()
    {
        var signed = SignWith(Plain, RsaKey);
        // A second Subject added on top: h= lists Subject once and picks the bottom one: still passes.
        Assert.Equal(DkimStatus.Pass, (await Verify("Subject: spam\r\n" + signed, KeyDns(RsaKey))).Overall);
        // Over-signed (Subject listed twice while one exists): adding one breaks it.
        var over = SignWith(Plain, RsaKey, o => o with { Headers = ["From", "Subject", "Subject"] });
        Assert.Contains("h=From:Subject", over);
        var overSigned = DkimSigner.Sign(Msg(Plain), new DkimSigningOptions { Domain = "example.org", Selector = "sel", Key = RsaKey, Headers = ["From", "Subject"] });
        Assert.Equal(DkimStatus.Pass, (await Verify(overSigned + Plain, KeyDns(RsaKey))).Overall);
        var manual = ResignWithHeaderList(Plain, "from:subject:subject:x-missing");
        Assert.Equal(DkimStatus.Pass, (await Verify(manual, KeyDns(RsaKey))).Overall);
        Assert.Equal(DkimStatus.Fail, (await Verify(manual.Replace("From: Joe", "Subject: more\r\nFrom: Joe"), KeyDns(RsaKey))).Overall);
        Assert.Equal(DkimStatus.Fail, (await Verify(manual.Replace("From: Joe", "X-Missing: now here\r\nFrom: Joe"), KeyDns(RsaKey))).Overall);
    }

    /// <summary>Signs with an explicit h= (names repeated or absent), the way other signers over-sign.</summary>
    private static string ResignWithHeaderList(string message, string h, string extraTags = "")
    {
        var msg = Msg(message);
        var (bh, _) = DkimCanonicalizer.HashBody(msg.Body.Span, DkimCanonicalization.Relaxed, HashAlgorithmName.SHA256, null);
        var unsigned = $"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel; h={h};{extraTags} bh={Convert.ToBase64String(bh)}; b=";
        var field = new DkimHeaderField("DKIM-Signature", Encoding.ASCII.GetBytes(unsigned));
        var data = DkimVerifier.HeaderHashInput(msg, h.Split(':'), field, DkimCanonicalization.Relaxed);
        return unsigned + Convert.ToBase64String(RsaKey.Sign(data)) + "\r\n" + message;
    }

    [Fact]
    public async Task Body_length_limit_allows_appended_text_and_policy_can_refuse_it()
    {
        var msg = Msg(Plain);
        var (_, length) = DkimCanonicalizer.HashBody(msg.Body.Span, DkimCanonicalization.Relaxed, HashAlgorithmName.SHA256, null);
        var limited = ResignWithHeaderList(Plain, "from:to:subject", $" l={length};");
        Assert.Equal(DkimStatus.Pass, (await Verify(limited, KeyDns(RsaKey))).Overall);
        var appended = limited + "-- \r\nList footer\r\n";
        var r = await Verify(appended, KeyDns(RsaKey));
        Assert.Equal(DkimStatus.Pass, r.Overall);
        Assert.True(r.Signatures[0].BodyOnlyPartlySigned);
        Assert.Equal(DkimStatus.Policy, (await Verify(appended, KeyDns(RsaKey), new DkimVerifierOptions { RefusePartialBody = true })).Overall);
        var tooLong = ResignWithHeaderList(Plain, "from", $" l={length + 10};");
        Assert.Equal("l= is longer than the body", (await Verify(tooLong, KeyDns(RsaKey))).Signatures[0].Reason);
    }

    [Fact]
    public async Task Expired_signature_and_bad_identity_are_permerrors()
    {
        var signed = SignWith(Plain, RsaKey, o => o with { ExpirationSeconds = 3600, SigningTime = DateTimeOffset.FromUnixTimeSeconds(1_000_000_000) });
        var now = () => DateTimeOffset.FromUnixTimeSeconds(1_000_000_000 + 100);
        Assert.Equal(DkimStatus.Pass, (await Verify(signed, KeyDns(RsaKey), new DkimVerifierOptions { Now = now })).Overall);
        var late = await Verify(signed, KeyDns(RsaKey), new DkimVerifierOptions { Now = () => now().AddHours(2) });
        Assert.Equal((DkimStatus.PermError, "signature expired"), (late.Overall, late.Signatures[0].Reason));

        var sub = SignWith(Plain, RsaKey, o => o with { Identity = "joe@mail.example.org" });
        Assert.Equal(DkimStatus.Pass, (await Verify(sub, KeyDns(RsaKey))).Overall);
        var strict = await Verify(sub, KeyDns(RsaKey, "; t=s"));
        Assert.Equal("key has t=s but i= is a subdomain of d=", strict.Signatures[0].Reason);
        var foreign = SignWith(Plain, RsaKey, o => o with { Identity = "joe@example.com" });
        Assert.Equal("i= domain is not d= or a subdomain of it", (await Verify(foreign, KeyDns(RsaKey))).Signatures[0].Reason);
    }

    [Theory]
    [InlineData("a=rsa-sha1", "rsa-sha1 is not accepted (RFC 8301)", DkimStatus.PermError)]
    [InlineData("a=foo-sha512", "unsupported algorithm foo-sha512", DkimStatus.Neutral)]
    [InlineData("v=2", "signature version is not 1", DkimStatus.PermError)]
    [InlineData("h=to:subject", "From is not signed", DkimStatus.PermError)]
    [InlineData("c=fancy/simple", "unknown canonicalization fancy/simple", DkimStatus.PermError)]
    [InlineData("q=http", "unsupported query method http", DkimStatus.PermError)]
    [InlineData("d=a; d=b", "tag d= appears twice", DkimStatus.PermError)]
    public async Task Malformed_signature_headers_are_reported(string change, string reason, DkimStatus status)
    {
        var header = "v=1; a=rsa-sha256; d=example.org; s=sel; h=from:to; bh=AAAA; b=AAAA";
        var tag = change.Split('=')[0];
        var parts = header.Split("; ").Where(p => !p.StartsWith(tag + "=", StringComparison.Ordinal)).Append(change);
        var r = await Verify("DKIM-Signature: " + string.Join("; ", parts) + "\r\n" + Plain, KeyDns(RsaKey));
        Assert.Equal((status, reason), (r.Signatures[0].Status, r.Signatures[0].Reason));
    }

    [Fact]
    public async Task Short_rsa_keys_are_refused()
    {
        using var small = RSA.Create(512);
        var key = DkimSigningKey.FromRsa(small);
        var r = await Verify(SignWith(Plain, key), KeyDns(key));
        Assert.Equal((DkimStatus.PermError, "RSA key of 512 bits is too short"), (r.Overall, r.Signatures[0].Reason));
        Assert.Equal(DkimStatus.Pass, (await Verify(SignWith(Plain, key), KeyDns(key), new DkimVerifierOptions { MinimumRsaBits = 512 })).Overall);
    }

    [Fact]
    public async Task Message_without_signatures_has_result_none()
    {
        var r = await Verify(Plain, new InMemoryDkimDns());
        Assert.Equal(DkimStatus.None, r.Overall);
        Assert.Empty(r.PassingDomains);
    }

    [Fact]
    public void Pem_keys_load_for_rsa_and_ed25519()
    {
        var rsaPem = Rsa2048.ExportRSAPrivateKeyPem();
        Assert.False(DkimSigningKey.FromPem(rsaPem).IsEd25519);
        Assert.False(DkimSigningKey.FromPem(Rsa2048.ExportPkcs8PrivateKeyPem()).IsEd25519);
        // openssl genpkey -algorithm ed25519 output for the RFC 8032 test 1 key.
        var der = Convert.FromHexString("302e020100300506032b657004220420" + "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var pem = "-----BEGIN PRIVATE KEY-----\n" + Convert.ToBase64String(der) + "\n-----END PRIVATE KEY-----\n";
        var ed = DkimSigningKey.FromPem(pem);
        Assert.True(ed.IsEd25519);
        Assert.Equal("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", ed.PublicKeyBase64);
        Assert.Throws<FormatException>(() => DkimSigningKey.FromPem("not a key"));
    }

    [Fact]
    public async Task Mangled_signatures_and_arc_headers_never_throw()
    {
        var random = new Random(8463);
        var source = Encoding.Latin1.GetBytes(Rfc8463Message);
        var arcLike = Encoding.Latin1.GetBytes(Rfc8463Message.Replace("DKIM-Signature: v=1;", "ARC-Message-Signature: i=1;"));
        int checkedCount = 0;
        for (int round = 0; round < 300; round++)
        {
            foreach (var original in new[] { source, arcLike })
            {
                var bytes = (byte[])original.Clone();
                // Damage a few bytes of the signature headers (the first 900 bytes).
                for (int k = random.Next(1, 6); k > 0; k--)
                    bytes[random.Next(0, 900)] = (byte)"=;:: \t\r\nabAZ09+/@.-\0\xff"[random.Next(0, 20)];
                var msg = DkimMessage.Parse(bytes);
                var dkim = await new DkimVerifier(Rfc8463Dns()).VerifyAsync(msg);
                var arc = await new Assp.Auth.Arc.ArcValidator(Rfc8463Dns()).ValidateAsync(msg);
                Assert.NotNull(dkim);
                Assert.NotNull(arc);
                checkedCount++;
            }
        }
        Assert.Equal(600, checkedCount);
    }
}
