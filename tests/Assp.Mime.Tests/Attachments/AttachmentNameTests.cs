using Assp.Mime.Attachments;

namespace Assp.Mime.Tests.Attachments;

public class AttachmentNameTests
{
    [Fact]
    public void Rtlo_trick_is_removed_and_reported()
    {
        var s = AttachmentName.Sanitize("invoice\u202Efdp.exe");
        Assert.Equal("invoicefdp.exe", s.Name);
        Assert.True(s.HadBidiControls);
        Assert.True(s.IsSuspicious);
        Assert.Equal("exe", AttachmentName.Extensions(s.Name).Last);
        Assert.True(AttachmentName.Sanitize("a\u2066b\u2069.\u200Fscr").HadBidiControls);
        Assert.Equal("ab.scr", AttachmentName.Sanitize("a\u2066b\u2069.\u200Fscr").Name);
    }

    [Theory]
    [InlineData(@"C:\Users\x\evil.exe", "evil.exe", true)]
    [InlineData("../../etc/passwd", "passwd", true)]
    [InlineData("D:evil.bat", "evil.bat", true)]
    [InlineData("plain.txt", "plain.txt", false)]
    public void Paths_are_stripped(string raw, string name, bool hadPath)
    {
        var s = AttachmentName.Sanitize(raw);
        Assert.Equal(name, s.Name);
        Assert.Equal(hadPath, s.HadPath);
    }

    [Fact]
    public void Controls_trailing_dots_invisible_and_streams()
    {
        var s = AttachmentName.Sanitize("ev\u0000il\r\n.exe. . ");
        Assert.Equal("evil.exe", s.Name);
        Assert.True(s.HadControlChars);
        Assert.True(s.HadTrailingDotsOrSpaces);
        var z = AttachmentName.Sanitize("e\u200Bvil.e\uFEFFxe");
        Assert.Equal("evil.exe", z.Name);
        Assert.True(z.HadInvisibleChars);
        Assert.Equal("doc.txt_evil.exe", AttachmentName.Sanitize("doc.txt:evil.exe").Name);
        var empty = AttachmentName.Sanitize(null);
        Assert.True(empty.IsEmpty);
        Assert.True(AttachmentName.Sanitize(" ... ").IsEmpty);
    }

    [Fact]
    public void Blank_padding_before_the_extension_is_reported()
    {
        var s = AttachmentName.Sanitize("invoice.pdf                                   .exe");
        Assert.True(s.HadWhitespacePadding);
        Assert.Equal("invoice.pdf.exe", s.Name);
        Assert.True(AttachmentName.Extensions(s.Name).IsDeceptiveDoubleExtension);
    }

    [Fact]
    public void Long_names_keep_their_extension()
    {
        var s = AttachmentName.Sanitize(new string('a', 400) + ".exe");
        Assert.Equal(AttachmentName.MaxLength, s.Name.Length);
        Assert.EndsWith(".exe", s.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Double_extension()
    {
        var e = AttachmentName.Extensions("Invoice.PDF.exe");
        Assert.Equal("exe", e.Last);
        Assert.Equal(["exe", "pdf.exe"], e.All);
        Assert.Equal("pdf.exe", e.Double);
        Assert.True(e.HasDoubleExtension);
        Assert.True(e.IsDeceptiveDoubleExtension);

        var tgz = AttachmentName.Extensions("backup.tar.gz");
        Assert.Equal(["gz", "tar.gz"], tgz.All);
        Assert.True(tgz.HasDoubleExtension);
        Assert.False(tgz.IsDeceptiveDoubleExtension);

        var one = AttachmentName.Extensions("report.docx");
        Assert.Equal(["docx"], one.All);
        Assert.False(one.HasDoubleExtension);
        Assert.Null(one.Double);

        var many = AttachmentName.Extensions("a.b.c.d.e");
        Assert.Equal(["e", "d.e", "c.d.e"], many.All);

        var dotted = AttachmentName.Extensions("Mr. Smith's holiday photos.jpg");
        Assert.False(dotted.HasDoubleExtension);

        var none = AttachmentName.Extensions("README");
        Assert.Null(none.Last);
        Assert.Empty(none.All);
        Assert.Null(AttachmentName.Extensions(null).Last);
    }

    [Fact]
    public void Clsid_extensions()
    {
        var e = AttachmentName.Extensions("readme.txt.{3050f4d8-98B5-11CF-BB82-00AA00BDCE0B}");
        Assert.Equal("3050F4D8-98B5-11CF-BB82-00AA00BDCE0B", e.Clsid);
        Assert.Equal("{3050f4d8-98b5-11cf-bb82-00aa00bdce0b}", e.Last);
        Assert.True(e.IsDeceptiveDoubleExtension);
        Assert.Null(AttachmentName.Extensions("normal.pdf").Clsid);
    }

    [Fact]
    public void HasExtension_matches_chains()
    {
        Assert.True(AttachmentName.HasExtension("x.tar.gz", ["tar.gz"]));
        Assert.True(AttachmentName.HasExtension("invoice\u202Efdp.EXE", [".exe"]));
        Assert.False(AttachmentName.HasExtension("exe.pdf", ["exe"]));
    }
}
