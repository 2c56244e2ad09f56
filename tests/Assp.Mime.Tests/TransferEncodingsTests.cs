using System.Text;

namespace Assp.Mime.Tests;

public class TransferEncodingsTests
{
    private static string B64(string s) => Encoding.ASCII.GetString(TransferEncodings.DecodeBase64(Encoding.ASCII.GetBytes(s), out _));
    private static string Qp(string s) => Encoding.Latin1.GetString(TransferEncodings.DecodeQuotedPrintable(Encoding.ASCII.GetBytes(s), out _));

    [Theory]
    [InlineData("SGVsbG8=", "Hello")]
    [InlineData("SGVsbG8", "Hello")]
    [InlineData("SGVs\r\nbG8=\r\n", "Hello")]
    [InlineData("SG!!Vs*bG8=", "Hello")]
    [InlineData("SGVsbG8=SGVsbG8=", "HelloHello")]
    [InlineData("", "")]
    public void Base64_is_tolerant(string input, string expected) => Assert.Equal(expected, B64(input));

    [Fact]
    public void Base64_counts_garbage()
    {
        TransferEncodings.DecodeBase64("SG!!Vs"u8, out int bad);
        Assert.Equal(2, bad);
    }

    [Theory]
    [InlineData("caf=E9", "caf\u00e9")]
    [InlineData("caf=e9", "caf\u00e9")]
    [InlineData("soft=\r\nbreak", "softbreak")]
    [InlineData("soft=\nbreak", "softbreak")]
    [InlineData("soft=  \r\nbreak", "softbreak")]
    [InlineData("bad=ZZescape", "bad=ZZescape")]
    [InlineData("trailing=", "trailing")]
    [InlineData("a=3D=3Db", "a==b")]
    public void Quoted_printable(string input, string expected) => Assert.Equal(expected, Qp(input));

    [Theory]
    [InlineData("base64", ContentEncoding.Base64)]
    [InlineData(" Quoted-Printable ", ContentEncoding.QuotedPrintable)]
    [InlineData("7BIT", ContentEncoding.SevenBit)]
    [InlineData("8bit", ContentEncoding.EightBit)]
    [InlineData("binary", ContentEncoding.Binary)]
    [InlineData("x-uuencode", ContentEncoding.UUEncode)]
    [InlineData("\"base64\"", ContentEncoding.Base64)]
    [InlineData("rot13", ContentEncoding.Unknown)]
    [InlineData(null, ContentEncoding.Default)]
    public void Parse_names(string? value, ContentEncoding expected) => Assert.Equal(expected, TransferEncodings.Parse(value));

    [Fact]
    public void Entity_decoding_records_problems()
    {
        var m = TestUtil.Parse("Content-Transfer-Encoding: base64\n\nSGV$$sbG8=\n");
        Assert.Equal("Hello", m.Root.GetText());
        Assert.True(m.HasProblem(MimeProblemKind.InvalidBase64));
        var q = TestUtil.Parse("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe =XX\n");
        Assert.Equal("Grüße =XX\r\n", q.Root.GetText());
        Assert.True(q.HasProblem(MimeProblemKind.InvalidQuotedPrintable));
    }
}
