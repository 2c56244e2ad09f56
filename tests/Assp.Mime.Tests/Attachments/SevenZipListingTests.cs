using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Assp.Mime.Attachments;

namespace Assp.Mime.Tests.Attachments;

/// <summary>7z listing. The fixtures were made with 7-Zip 26.02 ("7z a"), from: readme.txt (14 bytes), dir/,
/// dir/invoice.pdf.exe (512 bytes, "MZ"...), emptydir/, empty.txt.</summary>
public class SevenZipListingTests
{
    private static readonly byte[] Plainhdr = Convert.FromBase64String(
        "N3q8ryccAAQK+UoeIQAAAAAAAADGAAAAAAAAAKuRwM7gAg0AGV0AJpZ8G/jvrLp92rb+2diRr5oOIob/BVFAAAABBAYAAQkhAAcLAQABISEBAAyCDgAIDQIJggAKAQGctKW5OwjpAAAFBQ4B4A8BIBkMAAAAAAAAAAAAAAAAEW0AZABpAHIAAABlAG0AcAB0AHkAZABpAHIAAABlAG0AcAB0AHkALgB0AHgAdAAAAGQAaQByAC8AaQBuAHYAbwBpAGMAZQAuAHAAZABmAC4AZQB4AGUAAAByAGUAYQBkAG0AZQAuAHQAeAB0AAAAFRYBABCA7UEQgO1BIICkgSCApIEggKSBAAA=");

    private static readonly byte[] Lzmahdr = Convert.FromBase64String(
        "N3q8ryccAATSWylKowAAAAAAAAAiAAAAAAAAAJzxVcXgAg0AGV0AJpZ8G/jvrLp92rb+2diRr5oOIob/BVFAAAAAAIEzB64P0B3SfJ8/R0EtHqDZXNAemQhBWv/frtMHeeBYEsJKcCdADGfFphcuhK8uu0QlBpXgmPHgrkwQezsx3EcxWf1GOblSJrbYbxZ7TS4g52970fqfEEpy7l3HQZ+oXh9FewPFrE6a1+aYog5WomOO/xJmXZJg/G51RT0cAAAAFwYhAQmAggAHCwEAASMDAQEFXQAQAAAMgMYKAauRwM4AAA==");

    private static readonly byte[] Enchdr = Convert.FromBase64String(
        "N3q8ryccAATvMmJv4AAAAAAAAAA+AAAAAAAAABcFR2q7WTymga66F/t/99VUECJ+oGQ2kbvWIznB8gbeVHKqaEGulINGBayULQ+7sCj/R7QM10AG+1c/JMrlyZ14VkWZEzDwMb1iXW3zAeeuq2j7AdkF/yoz5BaEVY/lxSshv7OhRsSr7eDkkJO3mNbUj0F17jsCLtmbQT1eU2jMdERTZ7eECmztxNSqhD2Own3jxSdQaDjkN95VzkT0+jISXO4mjVb1W3DUl5XpYOoZA9lq2VSXHTCIRt+1WaWbQc7wFMhjVCCzajaXdAZX9EVEhVQTXa+tbOx6F/rSwqgoP+/cqRcGMAEJgLAABwsBAAIkBvEHARJTD76QlSEnSOtZPp+lGmV1MgUjAwEBBV0AEAAAAQAMgKWAygoBQGnhRwAA");

    private static readonly byte[] Encdata = Convert.FromBase64String(
        "N3q8ryccAASlOTh+1QAAAAAAAAAiAAAAAAAAAARYiiQvOSZzw1MjKgvJke+OeloMxdngdmTn1pEr3Ivdmzz3KEAeBWxNlsJ5ysPhtSu23BYAAIEzB64P0QDUPKCKabDjxAD69FhUvg65LCs0iYBgDs+myd0kIwByCAUPmk2AItpXnlELhUQuwcBD+oHAE84xkMTZOZL6bA6L0Mq883lTYgcWOEBUXsXq0J3HRF+KpcTDj2NPdtROzi0q7jefUmd+WB/Pj/nGTtaKddaKUX3LDWnp8D+yJor/jw6ZaE5YXYV22+LbHvro4YCvYLdJDnppX8EAAAAXBjABCYClAAcLAQABIwMBAQVdABAAAAyAygoBKc1B+wAA");

    private static readonly byte[] Solid = Convert.FromBase64String(
        "N3q8ryccAAS9XMVNIQAAAAAAAAC6AAAAAAAAANTVQmjgAg0AGV0AJpZ8G/jvrLp92rb+2diRr5oOIob/BVFAAAABBAYAAQkhAAcLAQABISEBAAyCDgAIDQIJggAKAQGctKW5OwjpAAAFAw4BgBkPAAAAAAAAAAAAAAAAAAAAEUcAZABpAHIAAABkAGkAcgAvAGkAbgB2AG8AaQBjAGUALgBwAGQAZgAuAGUAeABlAAAAcgBlAGEAZABtAGUALgB0AHgAdAAAABkEAAAAABQaAQCdEjQi7XndAeGNNCLted0BnmMkIu153QEVDgEAEIDtQSCApIEggKSBAAA=");

    private static readonly byte[] Copy = Convert.FromBase64String(
        "N3q8ryccAAQOD8r5DgAAAAAAAABSAAAAAAAAAOYjQdNoZWxsbyBmcm9tIDd6CgEEBgABCQ4ABwsBAAEBAAwOAAgKAbk7COkAAAUBERcAcgBlAGEAZABtAGUALgB0AHgAdAAAABkEAAAAABQKAQCeYyQi7XndARUGAQAggKSBAAA=");

    private static readonly byte[] Bcj = Convert.FromBase64String(
        "N3q8ryccAAT3SkIQrAAAAAAAAAAiAAAAAAAAAIpSLz8AJpZ8G/jvrLp92rb+2diRr5oOIob/BVFAAAAAgTMHrg/PpC64D9RqXu5+I4y7vvhtnYp6DdnNPXPoDK/PcGk7IpWbfd37k0wIz5CckV4SMzhpKuXhBtp2a6K5/m5AanUqoEcAFg4rBwOOW8OBFkyjQ7FnnpNB+7ZWZ7o38L7j36T8Mv6v/NNuGNyJnwAxk70zGJeupEjIIFv/YLCNDpv1U5/ZQmj4J9jjAAAAFwYaAQmAkgAHCwEAASMDAQEFXQAQAAAMgLoKAZSMqnsAAA==");

    private static ArchiveListing L(byte[] data, string? name = null, ArchiveListOptions? o = null) =>
        ArchiveLister.List(new MemoryStream(data), name, o);

    private static string Names(ArchiveListing l) =>
        string.Join(",", l.Entries.Select(e => e.Name + (e.IsDirectory ? "/" : "") + (e.Size is { } s && !e.IsDirectory ? "=" + s : "")));

    [Fact]
    public void Plain_header_lists_names_sizes_and_directories()
    {
        var l = L(Plainhdr);
        Assert.Equal("7z", l.Format);
        Assert.True(l.IsListable);
        Assert.Equal(ArchiveIssues.None, l.Issues);
        Assert.Equal("dir/,emptydir/,empty.txt=0,dir/invoice.pdf.exe=512,readme.txt=14", Names(l));
    }

    [Fact]
    public void Lzma_compressed_header_is_unpacked_and_listed()
    {
        // 7-Zip packs the header with LZMA unless told not to; that is the usual case.
        var l = L(Lzmahdr, "a.7z");
        Assert.True(l.IsListable);
        Assert.Equal("dir/,emptydir/,empty.txt=0,dir/invoice.pdf.exe=512,readme.txt=14", Names(l));
        Assert.Equal("a.7z/dir/invoice.pdf.exe", l.Entries[3].Path);
        Assert.True(AttachmentName.Extensions(l.Entries[3].Name).IsDeceptiveDoubleExtension);
        Assert.Equal("readme.txt=14", Names(L(Copy)));
        Assert.Equal("dir/,dir/invoice.pdf.exe=512,readme.txt=14", Names(L(Bcj)));
    }

    [Fact]
    public void Solid_block_sizes_come_from_the_substreams()
    {
        Assert.Equal("dir/,dir/invoice.pdf.exe=512,readme.txt=14", Names(L(Solid)));
    }

    [Fact]
    public void Encrypted_header_is_reported_without_names()
    {
        var l = L(Enchdr);
        Assert.False(l.IsListable);
        Assert.True((l.Issues & ArchiveIssues.Encrypted) != 0);
        Assert.Empty(l.Entries);
        Assert.Contains(l.Notes, n => n.Contains("encrypted header, names unavailable", StringComparison.Ordinal));
    }

    [Fact]
    public void Encrypted_data_with_a_visible_header_lists_names_as_encrypted()
    {
        var l = L(Encdata);
        Assert.True(l.IsListable);
        Assert.True((l.Issues & ArchiveIssues.Encrypted) != 0);
        Assert.Equal("dir/,dir/invoice.pdf.exe=512,readme.txt=14", Names(l));
        Assert.All(l.Entries.Where(e => !e.IsDirectory), e => Assert.True(e.IsEncrypted));
    }

    // ---- hand-built archives ---------------------------------------------------------------------

    private static byte[] Num(long v)
    {
        // The 7z number format; this writer uses the 1-, 2- and 9-byte forms only.
        if (v < 0x80) return [(byte)v];
        if (v < 0x4000) return [(byte)(0x80 | (v >> 8)), (byte)v];
        var b = new byte[9];
        b[0] = 0xFF;
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(1), v);
        return b;
    }

    private static byte[] Cat(params object[] parts)
    {
        var ms = new MemoryStream();
        foreach (var p in parts)
        {
            switch (p)
            {
                case byte b: ms.WriteByte(b); break;
                case int i: ms.WriteByte((byte)i); break;
                case byte[] a: ms.Write(a); break;
                default: throw new ArgumentException(p.ToString());
            }
        }
        return ms.ToArray();
    }

    /// <summary>Signature header + packed data + header, with correct CRCs.</summary>
    private static byte[] Archive(byte[] packed, byte[] header)
    {
        var sig = new byte[32];
        new byte[] { 0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4 }.CopyTo(sig, 0);
        BinaryPrimitives.WriteInt64LittleEndian(sig.AsSpan(12), packed.Length);
        BinaryPrimitives.WriteInt64LittleEndian(sig.AsSpan(20), header.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(sig.AsSpan(28), Crc32(header));
        BinaryPrimitives.WriteUInt32LittleEndian(sig.AsSpan(8), Crc32(sig.AsSpan(12, 20)));
        return [.. sig, .. packed, .. header];
    }

    private static uint Crc32(ReadOnlySpan<byte> d)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in d)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    private static byte[] Names16(params string[] names) => [0, .. names.SelectMany(n => Encoding.Unicode.GetBytes(n + "\0"))];

    /// <summary>A plain header: one LZMA folder holding the given files (one stream each).</summary>
    private static byte[] PlainArchive(long packSize, long folderSize, long[] fileSizes, string[] names)
    {
        var sizes = fileSizes.Take(fileSizes.Length - 1).SelectMany(Num).ToArray();
        var namesProp = Names16(names);
        var header = Cat(0x01,
            0x04, // main streams
            0x06, Num(0), Num(1), 0x09, Num(packSize), 0x00,
            0x07, 0x0B, Num(1), 0, Num(1), 0x23, 0x03, 0x01, 0x01, Num(5), new byte[] { 0x5D, 0, 0, 1, 0 }, 0x0C, Num(folderSize), 0x00,
            0x08, 0x0D, Num(fileSizes.Length), 0x09, sizes, 0x00,
            0x00,
            0x05, Num(names.Length), 0x11, Num(namesProp.Length), namesProp, 0x00,
            0x00);
        return Archive(new byte[packSize], header);
    }

    [Fact]
    public void Hand_built_header_with_several_streams()
    {
        var l = L(PlainArchive(10, 300, [100, 150, 50], ["a.txt", "b.exe", "c/d.js"]));
        Assert.Equal("a.txt=100,b.exe=150,c/d.js=50", Names(l));
        Assert.Equal(ArchiveIssues.None, l.Issues);
    }

    [Fact]
    public void Claimed_sizes_and_ratios_flag_bombs()
    {
        var ratio = L(PlainArchive(100, 1L << 30, [1L << 30], ["zeros.bin"]));
        Assert.True(ratio.IsBomb);
        Assert.Contains(ratio.Notes, n => n.Contains("ratio", StringComparison.Ordinal));
        var huge = L(PlainArchive(1 << 26, 3L << 30, [1L << 30, 1L << 30, 1L << 30], ["a", "b", "c"]));
        Assert.True(huge.IsBomb);
        Assert.Equal(3, huge.Entries.Count);
    }

    [Fact]
    public void Entry_limit_applies()
    {
        var names = Enumerable.Range(0, 50).Select(i => $"f{i}").ToArray();
        var l = L(PlainArchive(10, 50, Enumerable.Repeat(1L, 50).ToArray(), names), null, new ArchiveListOptions { MaxEntries = 10 });
        Assert.True((l.Issues & ArchiveIssues.TooManyEntries) != 0);
        Assert.Equal(10, l.Entries.Count);
    }

    [Theory]
    [InlineData(new byte[] { 0x21 }, "LZMA2")]
    [InlineData(new byte[] { 0x04, 0x02, 0x02 }, "BZip2")]
    [InlineData(new byte[] { 0x03, 0x04, 0x01 }, "PPMd")]
    public void Header_packed_with_another_method_is_reported(byte[] coder, string method)
    {
        var packed = new byte[40];
        var header = Cat(0x17,
            0x06, Num(0), Num(1), 0x09, Num(packed.Length), 0x00,
            0x07, 0x0B, Num(1), 0, Num(1), coder.Length, coder, 0x0C, Num(100), 0x00,
            0x00);
        var l = L(Archive(packed, header));
        Assert.False(l.IsListable);
        Assert.Contains(l.Notes, n => n.Contains($"compressed header ({method}), names unavailable", StringComparison.Ordinal));
        Assert.Equal(0, (int)(l.Issues & ArchiveIssues.Corrupt));
    }

    [Fact]
    public void Copy_packed_header_is_read()
    {
        var namesProp = Names16("x.scr");
        var inner = Cat(0x01, 0x05, Num(1), 0x0E, Num(1), 0x80, 0x0F, Num(1), 0x80, 0x11, Num(namesProp.Length), namesProp, 0x00, 0x00);
        var header = Cat(0x17,
            0x06, Num(0), Num(1), 0x09, Num(inner.Length), 0x00,
            0x07, 0x0B, Num(1), 0, Num(1), 0x01, 0x00, 0x0C, Num(inner.Length), 0x00,
            0x00);
        var l = L(Archive(inner, header));
        Assert.Equal("x.scr=0", Names(l));
    }

    [Fact]
    public void Damaged_archives_never_throw()
    {
        var fixtures = new[] { Plainhdr, Lzmahdr, Enchdr, Encdata, Solid, Copy, Bcj };
        foreach (var f in fixtures)
            for (int cut = 0; cut < f.Length; cut++)
            {
                var l = L(f[..cut]);
                Assert.NotNull(l);
                if (cut >= 6 && cut < f.Length - 1) Assert.True((l.Issues & (ArchiveIssues.Corrupt | ArchiveIssues.NotListable)) != 0, $"cut {cut}");
            }
        var rnd = new Random(5);
        for (int i = 0; i < 3000; i++)
        {
            var f = (byte[])fixtures[i % fixtures.Length].Clone();
            int flips = rnd.Next(1, 4);
            for (int k = 0; k < flips; k++) f[rnd.Next(6, f.Length)] = (byte)rnd.Next(256);
            Assert.NotNull(L(f));
        }
    }

    [Fact]
    public void Header_crc_mismatch_is_noted()
    {
        var f = (byte[])Plainhdr.Clone();
        f[^3] ^= 0x20; // inside the attributes, after the names
        var l = L(f);
        Assert.True((l.Issues & ArchiveIssues.Corrupt) != 0);
        Assert.Contains(l.Notes, n => n.Contains("header CRC mismatch", StringComparison.Ordinal));
    }

    [Fact]
    public void Seven_zip_inside_a_zip_is_listed_as_nested()
    {
        var zip = TestFiles.Zip(("inner.7z", Lzmahdr));
        var l = L(zip, "outer.zip");
        var nested = l.Entries.Single().Nested!;
        Assert.Equal("7z", nested.Format);
        Assert.Contains(l.AllEntries(), e => e.Path == "outer.zip/inner.7z/dir/invoice.pdf.exe");
    }
}
