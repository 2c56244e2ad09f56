using System.Buffers.Binary;
using System.Text;
using Assp.Mime.Attachments;

namespace Assp.Mime.Tests.Attachments;

/// <summary>A minimal ISO 9660 image writer (primary descriptor, optional Joliet descriptor, directories, files).</summary>
internal sealed class IsoBuilder
{
    private readonly List<(string Path, byte[]? Data)> _items = [];

    public IsoBuilder File(string path, byte[] data) { _items.Add((path, data)); return this; }
    public IsoBuilder Dir(string path) { _items.Add((path, null)); return this; }

    /// <summary>Builds the image; <paramref name="loop"/> adds a directory entry pointing back at the root.</summary>
    public byte[] Build(bool joliet = false, bool loop = false)
    {
        const int S = 2048;
        var dirs = new List<string> { "" };
        dirs.AddRange(_items.Where(i => i.Data is null).Select(i => i.Path));
        int firstDir = joliet ? 19 : 18;
        var dirSector = dirs.Select((d, i) => (d, i)).ToDictionary(x => x.d, x => firstDir + x.i);
        int next = firstDir + dirs.Count;
        var fileSector = new Dictionary<string, int>();
        foreach (var (p, data) in _items.Where(i => i.Data is not null))
        {
            fileSector[p] = next;
            next += Math.Max(1, (data!.Length + S - 1) / S);
        }
        var img = new byte[next * S];

        static string Parent(string p) => p.Contains('/') ? p[..p.LastIndexOf('/')] : "";
        static string Leaf(string p) => p.Contains('/') ? p[(p.LastIndexOf('/') + 1)..] : p;
        byte[] Name(string leaf, bool dir) => joliet ? Encoding.BigEndianUnicode.GetBytes(leaf) : Encoding.ASCII.GetBytes(dir ? leaf.ToUpperInvariant() : leaf.ToUpperInvariant() + ";1");

        static int Record(byte[] img, int at, int extent, int size, bool dir, byte[] name)
        {
            int len = 33 + name.Length + (name.Length % 2 == 0 ? 1 : 0);
            img[at] = (byte)len;
            BinaryPrimitives.WriteInt32LittleEndian(img.AsSpan(at + 2), extent);
            BinaryPrimitives.WriteInt32BigEndian(img.AsSpan(at + 6), extent);
            BinaryPrimitives.WriteInt32LittleEndian(img.AsSpan(at + 10), size);
            BinaryPrimitives.WriteInt32BigEndian(img.AsSpan(at + 14), size);
            img[at + 25] = (byte)(dir ? 2 : 0);
            img[at + 32] = (byte)name.Length;
            name.CopyTo(img, at + 33);
            return len;
        }

        void Descriptor(int sector, byte type)
        {
            int at = sector * S;
            img[at] = type;
            "CD001"u8.CopyTo(img.AsSpan(at + 1));
            img[at + 6] = 1;
            BinaryPrimitives.WriteInt16LittleEndian(img.AsSpan(at + 128), S);
            BinaryPrimitives.WriteInt16BigEndian(img.AsSpan(at + 130), S);
            if (type == 2) { img[at + 88] = (byte)'%'; img[at + 89] = (byte)'/'; img[at + 90] = (byte)'E'; }
            Record(img, at + 156, dirSector[""], S, true, [0]);
        }
        Descriptor(16, 1);
        if (joliet) Descriptor(17, 2);
        img[(joliet ? 18 : 17) * S] = 255;
        "CD001"u8.CopyTo(img.AsSpan((joliet ? 18 : 17) * S + 1));

        foreach (var d in dirs)
        {
            int at = dirSector[d] * S, p = at;
            p += Record(img, p, dirSector[d], S, true, [0]);
            p += Record(img, p, dirSector[Parent(d)], S, true, [1]);
            foreach (var (path, data) in _items.Where(i => Parent(i.Path) == d && i.Path != d))
            {
                bool isDir = data is null;
                p += Record(img, p, isDir ? dirSector[path] : fileSector[path], isDir ? S : data!.Length, isDir, Name(Leaf(path), isDir));
            }
            if (loop && d == "") Record(img, p, dirSector[""], S, true, Name("again", true));
        }
        foreach (var (p, data) in _items.Where(i => i.Data is not null)) data!.CopyTo(img, fileSector[p] * S);
        return img;
    }
}

public class IsoListingTests
{
    private static ArchiveListing L(byte[] data, string? name = null, ArchiveListOptions? o = null) =>
        ArchiveLister.List(new MemoryStream(data), name, o);

    private static IsoBuilder Sample() => new IsoBuilder()
        .File("readme.txt", "hello"u8.ToArray())
        .Dir("docs")
        .File("docs/invoice.pdf.exe", TestFiles.Pe())
        .Dir("docs/deep")
        .File("docs/deep/inner.zip", TestFiles.Zip(("payload.js", TestFiles.Text("var a = 1;"))));

    [Fact]
    public void Lists_iso_9660_names_and_sniffs_the_files()
    {
        var l = L(Sample().Build(), "x.iso");
        Assert.Equal("iso", l.Format);
        Assert.True(l.IsListable);
        Assert.Equal(["README.TXT", "DOCS", "DOCS/INVOICE.PDF.EXE", "DOCS/DEEP", "DOCS/DEEP/INNER.ZIP"], l.Entries.Select(e => e.Name).ToArray());
        Assert.Equal("exe", l.Entries[2].DetectedType?.Kind);
        Assert.Equal(512, l.Entries[2].Size);
        Assert.True(l.Entries[1].IsDirectory);
        Assert.Contains(l.AllEntries(), e => e.Path == "x.iso/DOCS/DEEP/INNER.ZIP/payload.js");
    }

    [Fact]
    public void Joliet_names_are_preferred()
    {
        var l = L(Sample().Build(joliet: true));
        Assert.Equal(["readme.txt", "docs", "docs/invoice.pdf.exe", "docs/deep", "docs/deep/inner.zip"], l.Entries.Select(e => e.Name).ToArray());
    }

    [Fact]
    public void Directory_loops_and_depth_are_bounded()
    {
        var l = L(Sample().Build(loop: true));
        Assert.Equal(6, l.Entries.Count); // "AGAIN" is listed once, not walked again

        var deep = new IsoBuilder();
        string p = "";
        for (int i = 0; i < 20; i++) { p = p.Length == 0 ? $"d{i}" : $"{p}/d{i}"; deep.Dir(p); }
        var dl = L(deep.Build());
        Assert.True(dl.Entries.Count < 20);
        Assert.Contains(dl.Notes, n => n.Contains("deeper than", StringComparison.Ordinal));
    }

    [Fact]
    public void Damaged_images_never_throw()
    {
        var img = Sample().Build(joliet: true);
        var rnd = new Random(4);
        for (int i = 0; i < 300; i++)
        {
            var bad = (byte[])img.Clone();
            for (int k = 0; k < 6; k++) bad[16 * 2048 + rnd.Next(0, 8 * 2048)] = (byte)rnd.Next(256);
            Assert.NotNull(L(bad));
        }
        var cut = L(img[..(20 * 2048)]);
        Assert.True((cut.Issues & ArchiveIssues.Corrupt) != 0 || cut.Entries.Count < 5);
        Assert.Equal(5, L(img, null, new ArchiveListOptions { ReadEntryContent = false }).Entries.Count);
    }
}
