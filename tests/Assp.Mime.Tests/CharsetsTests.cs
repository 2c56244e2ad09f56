using System.Text;

namespace Assp.Mime.Tests;

public class CharsetsTests
{
    [Theory]
    [InlineData("utf8", 65001)]
    [InlineData("UTF-8", 65001)]
    [InlineData("\"utf-8\"", 65001)]
    [InlineData("latin1", 28591)]
    [InlineData("ISO_8859-1", 28591)]
    [InlineData("iso8859-15", 28605)]
    [InlineData("iso-8859-2", 28592)]
    [InlineData("windows-1251", 1251)]
    [InlineData("cp1252", 1252)]
    [InlineData("x-cp1250", 1250)]
    [InlineData("koi8-r", 20866)]
    [InlineData("x-mac-roman", 10000)]
    [InlineData("gb2312", 936)]
    [InlineData("GB18030", 54936)]
    [InlineData("big5", 950)]
    [InlineData("euc-kr", 949)]
    [InlineData("ks_c_5601-1987", 949)]
    [InlineData("shift_jis", 932)]
    [InlineData("iso-2022-jp", 50220)]
    [InlineData("us-ascii", 20127)]
    [InlineData("utf-7", 65000)]
    [InlineData("utf-8*en", 65001)]
    public void Aliases_resolve(string name, int codePage) => Assert.Equal(codePage, Charsets.GetEncoding(name)!.CodePage);

    [Theory]
    [InlineData("x-unknown")]
    [InlineData("klingon")]
    [InlineData(null)]
    public void Unknown_is_null(string? name) => Assert.Null(Charsets.GetEncoding(name));

    [Theory]
    [InlineData("koi8-r", new byte[] { 0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4 }, "Привет")]
    [InlineData("windows-1251", new byte[] { 0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2 }, "Привет")]
    [InlineData("big5", new byte[] { 0xA4, 0xA4, 0xA4, 0xE5 }, "中文")]
    [InlineData("gb2312", new byte[] { 0xD6, 0xD0, 0xCE, 0xC4 }, "中文")]
    [InlineData("gb18030", new byte[] { 0xD6, 0xD0, 0xCE, 0xC4 }, "中文")]
    [InlineData("euc-kr", new byte[] { 0xC7, 0xD1, 0xB1, 0xB9 }, "한국")]
    [InlineData("iso-2022-jp", new byte[] { 0x1B, 0x24, 0x42, 0x46, 0x7C, 0x4B, 0x5C, 0x1B, 0x28, 0x42 }, "日本")]
    [InlineData("shift_jis", new byte[] { 0x93, 0xFA, 0x96, 0x7B }, "日本")]
    [InlineData("utf-7", new byte[] { 0x48, 0x69, 0x20, 0x2B, 0x41, 0x4F, 0x6B, 0x2D }, "Hi é")]
    [InlineData("x-mac-roman", new byte[] { 0x8E }, "é")]
    [InlineData("iso-8859-1", new byte[] { 0x99 }, "™")]
    [InlineData("klingon", new byte[] { 0xE9 }, "é")]
    [InlineData("us-ascii", new byte[] { 0xC3, 0xA9 }, "é")]
    [InlineData(null, new byte[] { 0xE9 }, "é")]
    public void Decodes(string? charset, byte[] bytes, string expected) => Assert.Equal(expected, Charsets.Decode(bytes, charset));

    [Fact]
    public void Unknown_charset_in_a_part_is_recorded()
    {
        var m = TestUtil.Parse("Content-Type: text/plain; charset=klingon\n\ncaf\u00e9");
        Assert.Equal("café", m.Root.GetText());
        Assert.True(m.HasProblem(MimeProblemKind.UnknownCharset));
        Assert.Equal("Привет", TestUtil.Parse("Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: base64\n\n" + Convert.ToBase64String(Charsets.GetEncoding("koi8-r")!.GetBytes("Привет"))).Root.GetText());
        _ = Encoding.UTF8;
    }
}
