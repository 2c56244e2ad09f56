using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Assp.Mime.Tests.Attachments;

/// <summary>Builders for minimal files of each kind, made in memory.</summary>
internal static class TestFiles
{
    public static byte[] Pe(bool dll = false, bool pe32Plus = true)
    {
        var b = new byte[0x200];
        b[0] = (byte)'M'; b[1] = (byte)'Z';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(0x3C), 0x80);
        "PE\0\0"u8.CopyTo(b.AsSpan(0x80));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84), pe32Plus ? (ushort)0x8664 : (ushort)0x14C);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 16), 0xF0); // size of optional header
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 18), dll ? (ushort)0x2022 : (ushort)0x0022);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 20), pe32Plus ? (ushort)0x20B : (ushort)0x10B);
        return b;
    }

    public static byte[] Elf()
    {
        var b = new byte[64];
        b[0] = 0x7F; b[1] = (byte)'E'; b[2] = (byte)'L'; b[3] = (byte)'F';
        b[4] = 2; b[5] = 1; b[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), 0x3E);
        return b;
    }

    public static byte[] Zip(params (string Name, byte[] Data)[] entries) => Zip(CompressionLevel.Optimal, entries);

    public static byte[] Zip(CompressionLevel level, params (string Name, byte[] Data)[] entries)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in entries)
            {
                var e = zip.CreateEntry(name, level);
                using var s = e.Open();
                s.Write(data);
            }
        }
        return ms.ToArray();
    }

    public static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    public static byte[] TarGz(params (string Name, byte[] Data)[] entries)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, data) in entries)
            {
                var e = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) };
                tar.WriteEntry(e);
            }
        }
        return ms.ToArray();
    }

    public static byte[] Tar(params (string Name, byte[] Data)[] entries)
    {
        var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Ustar, leaveOpen: true))
        {
            tar.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "dir/"));
            foreach (var (name, data) in entries)
                tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        }
        return ms.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>Sets the "encrypted" bit of every entry in the local headers and the central directory.</summary>
    public static byte[] MarkEncrypted(byte[] zip, int? onlyIndex = null)
    {
        var b = (byte[])zip.Clone();
        int local = 0, central = 0;
        for (int i = 0; i + 4 <= b.Length; i++)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i));
            if (sig == 0x04034B50) { if (onlyIndex is null || onlyIndex == local) b[i + 6] |= 1; local++; }
            else if (sig == 0x02014B50) { if (onlyIndex is null || onlyIndex == central) b[i + 8] |= 1; central++; }
        }
        return b;
    }

    /// <summary>Points every central-directory record at the first entry's data (overlapping-entry bomb).</summary>
    public static byte[] Overlap(byte[] zip)
    {
        var b = (byte[])zip.Clone();
        for (int i = 0; i + 46 <= b.Length; i++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i)) == 0x02014B50)
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(i + 42), 0);
        return b;
    }

    public static byte[] Rar4(params (string Name, int Size, bool Encrypted)[] files)
    {
        var ms = new MemoryStream();
        ms.Write("Rar!\x1A\x07\x00"u8);
        ms.Write([0, 0, 0x73, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0]);
        foreach (var (name, size, enc) in files)
        {
            var nb = Encoding.ASCII.GetBytes(name);
            var h = new byte[32 + nb.Length];
            h[2] = 0x74;
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(3), (ushort)(0x8000 | (enc ? 4 : 0)));
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(5), (ushort)h.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(7), (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(11), (uint)size);
            h[24] = 29; h[25] = 0x30;
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(26), (ushort)nb.Length);
            nb.CopyTo(h, 32);
            ms.Write(h);
            ms.Write(new byte[size]);
        }
        ms.Write([0, 0, 0x7B, 0, 0x40, 7, 0]);
        return ms.ToArray();
    }

    public static byte[] Rar5(params (string Name, int Size)[] files)
    {
        var ms = new MemoryStream();
        ms.Write("Rar!\x1A\x07\x01\x00"u8);
        void Block(byte[] body)
        {
            ms.Write(new byte[4]);
            ms.WriteByte((byte)body.Length); // < 128 in these tests: one-byte vint
            ms.Write(body);
        }
        Block([1, 0, 0]);
        foreach (var (name, size) in files)
        {
            var nb = Encoding.UTF8.GetBytes(name);
            var body = new List<byte> { 2, 2, (byte)size, 0, (byte)size, 0, 0, 0, (byte)nb.Length };
            body.AddRange(nb);
            Block([.. body]);
            ms.Write(new byte[size]);
        }
        Block([5, 0, 0]);
        return ms.ToArray();
    }

    public static byte[] Cab(params (string Name, int Size)[] files)
    {
        var ms = new MemoryStream();
        var h = new byte[36];
        "MSCF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 44);
        h[24] = 3; h[25] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(26), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(28), (ushort)files.Length);
        ms.Write(h);
        ms.Write(new byte[8]); // CFFOLDER
        foreach (var (name, size) in files)
        {
            var f = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(f, (uint)size);
            ms.Write(f);
            ms.Write(Encoding.ASCII.GetBytes(name));
            ms.WriteByte(0);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(ms.GetBuffer().AsSpan(8), (uint)ms.Length);
        return ms.ToArray();
    }

    /// <summary>A forward-only view of a byte array (like a network stream).</summary>
    public sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 1000));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
