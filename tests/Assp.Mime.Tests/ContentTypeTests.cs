namespace Assp.Mime.Tests;

public class ContentTypeTests
{
    [Fact]
    public void Basic_type_and_parameters()
    {
        var ct = ContentType.Parse("Text/HTML; charset=\"UTF-8\"; format=flowed (comment)");
        Assert.Equal("text/html", ct.MimeType);
        Assert.Equal("UTF-8", ct.Charset);
        Assert.Equal("flowed", ct.Parameters["FORMAT"]);
        Assert.True(ct.IsValid);
        Assert.True(ct.Is("text", "html"));
    }

    [Fact]
    public void Rfc2231_continuations_charset_language_and_percent_decoding()
    {
        var ct = ContentType.Parse("application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"");
        Assert.Equal("This is even more ***fun*** isn't it!", ct.Parameters["title"]);
        var cd = ContentDisposition.Parse("attachment; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf");
        Assert.Equal("naïve résumé.pdf", cd.FileName);
        var iso = ContentDisposition.Parse("attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt");
        Assert.Equal("Grüße.txt", iso.FileName);
    }

    [Fact]
    public void Continuations_out_of_order_and_rfc2231_beats_plain()
    {
        var cd = ContentDisposition.Parse("attachment; filename=\"fallback.txt\"; filename*1=\"two.txt\"; filename*0=\"part\"");
        Assert.Equal("parttwo.txt", cd.FileName);
    }

    [Fact]
    public void Encoded_words_in_quoted_parameter_values()
    {
        var ct = ContentType.Parse("image/bmp;\tname=\"=?iso-2022-jp?B?GyRCJV4lJCVrJTklSCE8JXNJPTwoGyhCLmJtcA==?=\"");
        Assert.Equal("マイルストーン表示.bmp", ct.Name);
        Assert.Equal("report.pdf", ContentType.Parse("application/pdf; name=\"=?utf-8?Q?report?=.pdf\"").Name);
    }

    [Fact]
    public void Missing_semicolons_and_unquoted_spaces_are_tolerated()
    {
        var ct = ContentType.Parse("text/plain charset=us-ascii format=flowed");
        Assert.Equal("us-ascii", ct.Charset);
        Assert.Equal("flowed", ct.Parameters["format"]);
        var cd = ContentDisposition.Parse("attachment; filename=my file.exe; size=3");
        Assert.Equal("my file.exe", cd.FileName);
        Assert.Equal("3", cd.Parameters["size"]);
    }

    [Fact]
    public void Broken_types_fall_back()
    {
        Assert.Equal("text/plain", ContentType.Parse("").MimeType);
        Assert.Equal("text/plain", ContentType.Parse("text").MimeType);
        Assert.False(ContentType.Parse("text").IsValid);
        Assert.Equal("text/plain", ContentType.Parse("; charset=koi8-r").MimeType);
        Assert.Equal("koi8-r", ContentType.Parse("; charset=koi8-r").Charset);
        var mp = ContentType.Parse("multipart/mixed; boundary=\"----=_NextPart_000_0000_01C2\"");
        Assert.Equal("----=_NextPart_000_0000_01C2", mp.Boundary);
        Assert.Equal("abc", ContentType.Parse("multipart/mixed; boundary=\"abc \"").Boundary);
    }

    [Fact]
    public void Disposition_without_type_and_unterminated_quote()
    {
        Assert.True(ContentDisposition.Parse("filename=a.txt").IsAttachment);
        Assert.Equal("a.txt", ContentDisposition.Parse("filename=a.txt").FileName);
        Assert.Equal("b c.txt", ContentDisposition.Parse("inline; filename=\"b c.txt").FileName);
        Assert.Equal("inline", ContentDisposition.Parse("INLINE").Disposition);
    }

    [Theory]
    [InlineData("(\\")]
    [InlineData("(B\u00e9(c2\\")]
    [InlineData("text/plain; a=\"\\")]
    public void Trailing_backslash_in_comment_or_quote_does_not_throw(string value)
    {
        _ = ContentType.Parse(value);
        _ = ContentDisposition.Parse(value);
        _ = AddressParser.ParseList(value);
        _ = MessageIds.ParseList(value);
    }

    [Theory]
    [InlineData("C:\\Users\\x\\evil.exe", "evil.exe")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("  report.pdf. ", "report.pdf")]
    [InlineData("a\u0000b\u0007.txt", "ab.txt")]
    [InlineData("D:name.txt", "name.txt")]
    [InlineData("..", null)]
    [InlineData("dir/", null)]
    public void File_names_are_sanitized(string raw, string? expected) => Assert.Equal(expected, FileNames.Sanitize(raw));

    [Fact]
    public void Entity_file_name_prefers_disposition_then_content_type_name()
    {
        var m = TestUtil.Parse("Content-Type: application/octet-stream; name=\"ct-name.bin\"\nContent-Disposition: attachment; filename=\"=?utf-8?Q?r=C3=A9sum=C3=A9.doc?=\"\n\nx");
        Assert.Equal("résumé.doc", m.Root.FileName);
        var m2 = TestUtil.Parse("Content-Type: application/octet-stream; name=\"dir\\\\ct-name.bin\"\n\nx");
        Assert.Equal("ct-name.bin", m2.Root.FileName);
        Assert.True(m2.Root.IsAttachment);
    }
}
