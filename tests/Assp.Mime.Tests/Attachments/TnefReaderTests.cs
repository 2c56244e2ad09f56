using System.Buffers.Binary;
using System.Text;
using Assp.Mime.Attachments;

namespace Assp.Mime.Tests.Attachments;

/// <summary>A small TNEF writer for building test streams (MS-OXTNEF layout).</summary>
internal sealed class TnefWriter
{
    public const int PtLong = 0x0003, PtObject = 0x000D, PtString8 = 0x001E, PtUnicode = 0x001F, PtBinary = 0x0102;
    private readonly MemoryStream _ms = new();

    public TnefWriter(ushort key = 0x1234)
    {
        Span<byte> h = stackalloc byte[6];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x223E9F78);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], key);
        _ms.Write(h);
    }

    public TnefWriter Attr(int level, uint tag, byte[] data, bool badChecksum = false)
    {
        _ms.WriteByte((byte)level);
        Span<byte> h = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(h, tag);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)data.Length);
        _ms.Write(h);
        _ms.Write(data);
        int sum = 0;
        foreach (byte b in data) sum += b;
        Span<byte> c = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(c, (ushort)(sum + (badChecksum ? 1 : 0)));
        _ms.Write(c);
        return this;
    }

    public TnefWriter Version() => Attr(1, 0x00089006, [0, 0, 1, 0]);
    public TnefWriter Subject(string s) => Attr(1, 0x00018004, Z8(s));
    public TnefWriter Body(string s) => Attr(1, 0x0002800C, Encoding.ASCII.GetBytes(s));
    public TnefWriter MessageProps(params (int Type, int Id, byte[] Value)[] props) => Attr(1, 0x00069003, Props(props));
    public TnefWriter RendData() => Attr(2, 0x00069002, new byte[14]);
    public TnefWriter Title(string s) => Attr(2, 0x00018010, Z8(s));
    public TnefWriter Data(byte[] d) => Attr(2, 0x0006800F, d);
    public TnefWriter AttachProps(params (int Type, int Id, byte[] Value)[] props) => Attr(2, 0x00069005, Props(props));

    public byte[] ToArray() => _ms.ToArray();

    public static byte[] Z8(string s) => Encoding.Latin1.GetBytes(s + "\0");
    public static byte[] Z16(string s) => Encoding.Unicode.GetBytes(s + "\0");
    public static byte[] I32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); return b; }

    public static byte[] Props((int Type, int Id, byte[] Value)[] props)
    {
        var ms = new MemoryStream();
        void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); ms.Write(b); }
        U32((uint)props.Length);
        foreach (var (type, id, value) in props)
        {
            U32((uint)type | ((uint)id << 16));
            if (type is PtString8 or PtUnicode or PtBinary or PtObject)
            {
                U32(1);
                U32((uint)value.Length);
                ms.Write(value);
                ms.Write(new byte[(4 - value.Length % 4) % 4]);
            }
            else ms.Write(value);
        }
        return ms.ToArray();
    }
}

public class TnefReaderTests
{
    private static byte[] Sample() => new TnefWriter()
        .Version()
        .Subject("Quarterly numbers")
        .Body("Please see the attached files.")
        .MessageProps((TnefWriter.PtBinary, 0x1013, Encoding.UTF8.GetBytes("<p>Hello</p>")),
                      (TnefWriter.PtString8, 0x001A, TnefWriter.Z8("IPM.Note")))
        .RendData()
        .Title("QUARTE~1.XLS")
        .Data(TestFiles.Text("col1;col2\n1;2\n"))
        .AttachProps((TnefWriter.PtUnicode, 0x3707, TnefWriter.Z16("Quarterly Report 2024.xlsx")),
                     (TnefWriter.PtLong, 0x3705, TnefWriter.I32(1)),
                     (TnefWriter.PtString8, 0x370E, TnefWriter.Z8("application/vnd.ms-excel")))
        .RendData()
        .Title("INVOIC~1.EXE")
        .Data(TestFiles.Pe())
        .AttachProps((TnefWriter.PtString8, 0x3707, TnefWriter.Z8("invoice.pdf.exe")))
        .ToArray();

    [Fact]
    public void Lists_attachments_names_sizes_and_data()
    {
        var m = TnefReader.List(new MemoryStream(Sample()));
        Assert.True(m.IsTnef);
        Assert.False(m.Truncated);
        Assert.Equal(0, m.ChecksumErrors);
        Assert.Equal(0x1234, m.LegacyKey);
        Assert.Equal(2, m.Attachments.Count);

        var a = m.Attachments[0];
        Assert.Equal("QUARTE~1.XLS", a.Title);
        Assert.Equal("Quarterly Report 2024.xlsx", a.FileName);
        Assert.Equal("application/vnd.ms-excel", a.MimeType);
        Assert.Equal(1, a.AttachMethod);
        Assert.Equal(14, a.Size);
        using (var r = new StreamReader(a.OpenData())) Assert.Equal("col1;col2\n1;2\n", r.ReadToEnd());

        var b = m.Attachments[1];
        Assert.Equal("invoice.pdf.exe", b.FileName);
        Assert.Equal(0x200, b.Size);
        Assert.True(FileTypeDetector.IsExecutableContent(b.OpenData()));
        Assert.True(AttachmentName.Extensions(b.FileName).IsDeceptiveDoubleExtension);
    }

    [Fact]
    public void Reads_message_body_subject_class_and_html()
    {
        var m = TnefReader.List(Sample());
        Assert.Equal("Quarterly numbers", m.Subject);
        Assert.Equal("Please see the attached files.", m.Body);
        Assert.Equal("<p>Hello</p>", m.HtmlBody);
        Assert.Equal("IPM.Note", m.MessageClass);
    }

    [Fact]
    public void Truncated_stream_keeps_what_was_read()
    {
        var full = Sample();
        // Cut inside the data of the second attachment (the PE bytes).
        int at = full.AsSpan().IndexOf("PE\0\0"u8);
        var m = TnefReader.List(new MemoryStream(full[..at]));
        Assert.True(m.IsTnef);
        Assert.True(m.Truncated);
        Assert.Equal(2, m.Attachments.Count);
        Assert.Equal("Quarterly Report 2024.xlsx", m.Attachments[0].FileName);
        Assert.False(m.Attachments[0].DataTruncated);
        Assert.Equal("INVOIC~1.EXE", m.Attachments[1].FileName);
        Assert.True(m.Attachments[1].DataTruncated);
        Assert.Equal(0x200, m.Attachments[1].DeclaredSize);
        Assert.True(m.Attachments[1].Size < 0x200);
        Assert.NotEmpty(m.Notes);

        // Every prefix is tolerated.
        for (int n = 0; n <= full.Length; n++)
            Assert.NotNull(TnefReader.List(full.AsSpan(0, n)));
    }

    [Fact]
    public void Data_from_mapi_property_when_attAttachData_is_missing()
    {
        var t = new TnefWriter()
            .RendData()
            .AttachProps((TnefWriter.PtUnicode, 0x3704, TnefWriter.Z16("SETUP.BAT")),
                         (TnefWriter.PtBinary, 0x3701, TestFiles.Text("@echo off\r\npowershell -enc AAAA\r\n")))
            .ToArray();
        var m = TnefReader.List(t);
        var a = Assert.Single(m.Attachments);
        Assert.Equal("SETUP.BAT", a.FileName);
        Assert.Equal("script", FileTypeDetector.Detect(a.OpenData()).Kind);
    }

    [Fact]
    public void Embedded_message_is_parsed()
    {
        var inner = new TnefWriter().RendData().Title("INNER.JS").Data(TestFiles.Text("var s = new ActiveXObject('WScript.Shell');")).ToArray();
        var obj = new byte[16].Concat(inner).ToArray(); // IID_IMessage would be here
        var t = new TnefWriter()
            .RendData()
            .AttachProps((TnefWriter.PtLong, 0x3705, TnefWriter.I32(5)),
                         (TnefWriter.PtString8, 0x3001, TnefWriter.Z8("Forwarded message")),
                         (TnefWriter.PtObject, 0x3701, obj))
            .ToArray();
        var m = TnefReader.List(t);
        var a = Assert.Single(m.Attachments);
        Assert.Equal(5, a.AttachMethod);
        Assert.Equal("Forwarded message", a.FileName);
        Assert.NotNull(a.EmbeddedMessage);
        Assert.Contains(m.AllAttachments(), x => x.FileName == "INNER.JS");
    }

    [Fact]
    public void Checksum_errors_are_counted_not_fatal()
    {
        var t = new TnefWriter().Attr(2, 0x00069002, new byte[14], badChecksum: true).Title("A.TXT").Data([1, 2, 3]).ToArray();
        var m = TnefReader.List(t);
        Assert.Equal(1, m.ChecksumErrors);
        Assert.Equal("A.TXT", Assert.Single(m.Attachments).FileName);
    }

    [Fact]
    public void Not_tnef_and_limits()
    {
        var m = TnefReader.List(new MemoryStream(TestFiles.Text("hello")));
        Assert.False(m.IsTnef);
        Assert.Empty(m.Attachments);
        Assert.False(TnefReader.IsTnef([0x78, 0x9F]));

        var noData = TnefReader.List(Sample(), new TnefReadOptions { KeepData = false });
        Assert.False(noData.Attachments[1].HasData);
        Assert.Equal(0x200, noData.Attachments[1].Size);

        var capped = TnefReader.List(new MemoryStream(Sample()), new TnefReadOptions { MaxInputBytes = 100 });
        Assert.True(capped.Truncated);
    }
}
