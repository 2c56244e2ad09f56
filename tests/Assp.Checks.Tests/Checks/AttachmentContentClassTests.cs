using System.IO.Compression;
using System.Text;
using Assp.Checks.Checks;
using Assp.Mime.Attachments;

namespace Assp.Checks.Tests.Checks;

/// <summary>ASSP_AFC content classes (PDF, OLE, MMC, PEF) with small files written here in their formats.</summary>
public class AttachmentContentClassTests
{
    private static byte[] Pdf(string body) => Encoding.Latin1.GetBytes("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n" + body + "\ntrailer << /Root 1 0 R >>\n%%EOF\n");

    /// <summary>A PDF whose objects live in a Flate-compressed object stream (nothing readable in the raw file).</summary>
    private static byte[] PdfWithObjectStream(string objects)
    {
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(Encoding.Latin1.GetBytes(objects));
        var data = ms.ToArray();
        var head = Encoding.Latin1.GetBytes($"%PDF-1.7\n5 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {data.Length} >>\nstream\n");
        var tail = Encoding.Latin1.GetBytes("\nendstream\nendobj\n%%EOF\n");
        return [.. head, .. data, .. tail];
    }

    private static byte[] Ole(params string[] entries)
    {
        var b = new byte[2048];
        new byte[] { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 }.CopyTo(b, 0);
        b[0x1E] = 9;
        int at = 512;
        foreach (var name in new[] { "Root Entry" }.Concat(entries))
        {
            var bytes = Encoding.Unicode.GetBytes(name + "\0");
            bytes.CopyTo(b, at);
            b[at + 0x40] = (byte)bytes.Length;
            at += 128;
        }
        new Guid("00020906-0000-0000-C000-000000000046").ToByteArray().CopyTo(b, 512 + 0x50);
        return b;
    }

    private static string? Refused(string block, byte[] content, string name = "file.dat") =>
        new AttachmentRule(block, null).Refuses(name, FileTypeDetector.Detect(content));

    [Fact]
    public void APlainPdfPasses() =>
        Assert.Null(Refused("exe-bin", Pdf("1 0 obj << /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >> endobj")));

    [Fact]
    public void JavaScriptInAPdfIsJspdf()
    {
        var pdf = Pdf("1 0 obj << /Type /Catalog /Names << /JavaScript 4 0 R >> >> endobj\n4 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj");
        Assert.Contains(":JSPDF", Refused("exe-bin", pdf));
        Assert.Null(Refused("exe-bin|:JSPDF", pdf));
        Assert.Null(Refused("exe-bin|:PDF", pdf));
        // Without exe-bin, content is not judged.
        Assert.Null(Refused("exe|scr", pdf));
    }

    [Fact]
    public void JavaScriptHiddenInACompressedObjectStreamWithEscapedNamesIsFound()
    {
        var pdf = PdfWithObjectStream("4 0 << /S /J#61vaScript /J#53 (this.exportDataObject({cName: 'a'})) >>");
        Assert.DoesNotContain("JavaScript", Encoding.Latin1.GetString(pdf));
        Assert.Contains(":JSPDF", Refused("exe-bin", pdf));
    }

    [Fact]
    public void JavaScriptOnOpenWithALaunchActionIsOnlyExceptedByPdf()
    {
        var pdf = Pdf("1 0 obj << /Type /Catalog /OpenAction 4 0 R >> endobj\n4 0 obj << /S /JavaScript /JS (x) /Next << /S /Launch /F (cmd.exe) >> >> endobj");
        Assert.Contains(":PDF", Refused("exe-bin|:JSPDF", pdf));
        Assert.Null(Refused("exe-bin|:PDF", pdf));
    }

    [Fact]
    public void LinksToExecutablesAreUripdfAndSignaturesCertpdf()
    {
        var link = Pdf("7 0 obj << /Type /Annot /Subtype /Link /A << /S /URI /URI (http://evil.example/setup.exe) >> >> endobj");
        Assert.Contains(":URIPDF", Refused("exe-bin", link));
        Assert.Null(Refused("exe-bin|:URIPDF", link));
        var harmlessLink = Pdf("7 0 obj << /Type /Annot /Subtype /Link /A << /S /URI /URI (https://www.example.com/about.html) >> >> endobj");
        Assert.Null(Refused("exe-bin", harmlessLink));
        var local = Pdf("7 0 obj << /A << /S /URI /URI (file:///C:/Windows/System32/calc) >> >> endobj");
        Assert.Contains(":URIPDF", Refused("exe-bin", local));

        var signed = Pdf("9 0 obj << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 10 20 30] /Contents <3082> >> endobj");
        Assert.Contains(":CERTPDF", Refused("exe-bin", signed));
        Assert.Null(Refused("exe-bin|:CERTPDF", signed));
        // A good rule lists what it allows: a signed PDF needs :CERTPDF there too.
        Assert.NotNull(new AttachmentRule(null, "pdf").Refuses("a.pdf", FileTypeDetector.Detect(signed)));
        Assert.Null(new AttachmentRule(null, "pdf|:CERTPDF").Refuses("a.pdf", FileTypeDetector.Detect(signed)));
    }

    [Fact]
    public void OleDocumentsAreJudgedByWhatTheyHold()
    {
        Assert.Null(Refused("exe-bin", Ole("WordDocument", "1Table"), "a.doc"));
        Assert.Contains(":MSOM", Refused("exe-bin", Ole("WordDocument", "Macros", "VBA"), "a.doc"));
        Assert.Null(Refused("exe-bin|:MSOM", Ole("WordDocument", "Macros"), "a.doc"));
        var package = Ole("WordDocument", "ObjectPool", "\u0001Ole10Native");
        Assert.Contains(":MSOLE", Refused("exe-bin", package, "a.doc"));
        Assert.Contains(":MSOLE", Refused("exe-bin|:HLMSOLE", package, "a.doc"));
        Assert.Null(Refused("exe-bin|:MSOLE", package, "a.doc"));
    }

    [Fact]
    public void MmcConsolesAndClassicMacExecutablesHaveTheirClasses()
    {
        var msc = Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?>\r\n<MMC_ConsoleFile ConsoleVersion=\"3.0\" ProgramMode=\"UserSDI\">\r\n</MMC_ConsoleFile>\r\n");
        Assert.Contains(":MMC", Refused("exe-bin", msc, "report.txt"));
        Assert.Null(Refused("exe-bin|:MMC", msc, "report.txt"));
        var pef = new byte[64];
        "Joy!peffpwpc"u8.CopyTo(pef);
        Assert.Contains(":PEF", Refused("exe-bin", pef));
        Assert.Null(Refused("exe-bin|:PEF", pef));
    }
}
