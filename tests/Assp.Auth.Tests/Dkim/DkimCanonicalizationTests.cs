using System.Text;
using Assp.Auth.Dkim;

namespace Assp.Auth.Tests.Dkim;

public sealed class DkimCanonicalizationTests
{
    // RFC 6376 3.4.5 example.
    private const string Header1 = "A: X\r\n";
    private const string Header2 = "B : Y\t\r\n\tZ  \r\n";
    private const string Body = " C \r\nD \t E\r\n\r\n\r\n";

    [Fact]
    public void Relaxed_matches_the_rfc_example()
    {
        var output = new List<byte>();
        DkimCanonicalizer.AppendHeader(output, Encoding.ASCII.GetBytes(Header1), DkimCanonicalization.Relaxed);
        DkimCanonicalizer.AppendHeader(output, Encoding.ASCII.GetBytes(Header2), DkimCanonicalization.Relaxed);
        Assert.Equal("a:X\r\nb:Y Z\r\n", Encoding.ASCII.GetString([.. output]));
        Assert.Equal(" C\r\nD E\r\n", Encoding.ASCII.GetString(DkimCanonicalizer.CanonicalBody(Encoding.ASCII.GetBytes(Body), DkimCanonicalization.Relaxed)));
    }

    [Fact]
    public void Simple_matches_the_rfc_example()
    {
        var output = new List<byte>();
        DkimCanonicalizer.AppendHeader(output, Encoding.ASCII.GetBytes(Header1), DkimCanonicalization.Simple);
        DkimCanonicalizer.AppendHeader(output, Encoding.ASCII.GetBytes(Header2), DkimCanonicalization.Simple);
        Assert.Equal(Header1 + Header2, Encoding.ASCII.GetString([.. output]));
        Assert.Equal(" C \r\nD \t E\r\n", Encoding.ASCII.GetString(DkimCanonicalizer.CanonicalBody(Encoding.ASCII.GetBytes(Body), DkimCanonicalization.Simple)));
    }

    [Theory]
    [InlineData("", DkimCanonicalization.Simple, "\r\n")]
    [InlineData("", DkimCanonicalization.Relaxed, "")]
    [InlineData("\r\n\r\n", DkimCanonicalization.Simple, "\r\n")]
    [InlineData("\r\n\r\n", DkimCanonicalization.Relaxed, "")]
    [InlineData("x", DkimCanonicalization.Simple, "x\r\n")]
    [InlineData("a\n\nb  \n", DkimCanonicalization.Relaxed, "a\r\n\r\nb\r\n")]
    [InlineData(" \t \r\n", DkimCanonicalization.Relaxed, "")]
    public void Body_edge_cases(string body, DkimCanonicalization c, string expected) =>
        Assert.Equal(expected, Encoding.ASCII.GetString(DkimCanonicalizer.CanonicalBody(Encoding.ASCII.GetBytes(body), c)));

    [Fact]
    public void Body_hash_of_empty_bodies_matches_rfc_6376_3_4_3_and_3_4_4()
    {
        var (simple, _) = DkimCanonicalizer.HashBody([], DkimCanonicalization.Simple, System.Security.Cryptography.HashAlgorithmName.SHA256, null);
        var (relaxed, _) = DkimCanonicalizer.HashBody([], DkimCanonicalization.Relaxed, System.Security.Cryptography.HashAlgorithmName.SHA256, null);
        Assert.Equal("frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=", Convert.ToBase64String(simple));
        Assert.Equal("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Convert.ToBase64String(relaxed));
    }

    [Fact]
    public void Length_limit_hashes_only_the_prefix()
    {
        var body = Encoding.ASCII.GetBytes("abc\r\ndef\r\n");
        var (limited, total) = DkimCanonicalizer.HashBody(body, DkimCanonicalization.Simple, System.Security.Cryptography.HashAlgorithmName.SHA256, 5);
        Assert.Equal(10, total);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData("abc\r\n"u8), limited);
    }

    [Fact]
    public void Signature_value_is_removed_but_bh_and_folding_stay()
    {
        var raw = Encoding.ASCII.GetBytes("DKIM-Signature: v=1; bh=abc;\r\n b=dGVz\r\n dA==; d=x\r\n");
        Assert.Equal("DKIM-Signature: v=1; bh=abc;\r\n b=; d=x\r\n", Encoding.ASCII.GetString(DkimSignature.WithoutSignatureValue(raw)));
        var last = Encoding.ASCII.GetBytes("DKIM-Signature: v=1; b = xyz\r\n");
        Assert.Equal("DKIM-Signature: v=1; b =\r\n", Encoding.ASCII.GetString(DkimSignature.WithoutSignatureValue(last)));
    }

    [Theory]
    [InlineData(DkimCanonicalization.Relaxed)]
    [InlineData(DkimCanonicalization.Simple)]
    public async Task The_streamed_body_hash_equals_the_in_memory_one(DkimCanonicalization c)
    {
        // Lines longer than the 64 KiB read buffer, CRLFs split across reads, blank runs and trailing empty lines.
        var sb = new StringBuilder();
        var random = new Random(7);
        while (sb.Length < 400_000)
        {
            sb.Append('x', random.Next(0, 3) == 0 ? random.Next(60_000, 140_000) : random.Next(0, 80));
            sb.Append(random.Next(0, 4) == 0 ? " \t  " : "").Append("\r\n");
        }
        sb.Append("\r\n\r\n");
        foreach (var text in new[] { sb.ToString(), "", "\r\n", "no line end", "a \r\n\r\n" })
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            var expected = DkimCanonicalizer.HashBody(bytes, c, System.Security.Cryptography.HashAlgorithmName.SHA256, null);
            var streamed = await DkimCanonicalizer.HashBodyAsync(new MemoryStream(bytes), c, System.Security.Cryptography.HashAlgorithmName.SHA256);
            Assert.Equal(Convert.ToBase64String(expected.Hash), Convert.ToBase64String(streamed.Hash));
            Assert.Equal(expected.CanonicalLength, streamed.CanonicalLength);
        }
    }
}
