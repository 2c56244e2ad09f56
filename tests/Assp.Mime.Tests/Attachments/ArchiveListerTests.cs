using System.IO.Compression;
using Assp.Mime.Attachments;

namespace Assp.Mime.Tests.Attachments;

public class ArchiveListerTests
{
    private static ArchiveListing L(byte[] b, string? name = null, ArchiveListOptions? o = null) =>
        ArchiveLister.List(new MemoryStream(b), name, o ?? ArchiveListOptions.Default);

    [Fact]
    public void Zip_entries_with_sizes_and_detected_types()
    {
        var zip = TestFiles.Zip(("docs/readme.txt", TestFiles.Text("hello world")), ("bin/setup.exe", TestFiles.Pe()));
        var l = L(zip, "a.zip");
        Assert.Equal("zip", l.Format);
        Assert.Equal(ArchiveIssues.None, l.AllIssues);
        Assert.Equal(2, l.Entries.Count);
        var exe = l.Entries[1];
        Assert.Equal("bin/setup.exe", exe.Name);
        Assert.Equal("a.zip/bin/setup.exe", exe.Path);
        Assert.Equal(0x200, exe.Size);
        Assert.True(exe.CompressedSize > 0);
        Assert.Equal("exe", exe.DetectedType?.Kind);
        Assert.Equal("text", l.Entries[0].DetectedType?.Kind);
    }

    [Fact]
    public void Nested_zip_is_listed_and_flattened()
    {
        var inner = TestFiles.Zip(("evil.scr", TestFiles.Pe()));
        var outer = TestFiles.Zip(("inner.zip", inner), ("note.txt", TestFiles.Text("see inside")));
        var l = L(outer, "outer.zip");
        var nested = l.Entries[0].Nested;
        Assert.NotNull(nested);
        Assert.Equal(1, nested.Depth);
        Assert.Contains(l.AllEntries(), e => e.Path == "outer.zip/inner.zip/evil.scr" && e.DetectedType?.Kind == "exe");
    }

    [Fact]
    public void Nesting_beyond_the_depth_limit_is_reported_too_deep()
    {
        byte[] z = TestFiles.Zip(("payload.exe", TestFiles.Pe()));
        for (int i = 0; i < 5; i++) z = TestFiles.Zip(($"level{i}.zip", z));
        var l = L(z, "top.zip", new ArchiveListOptions { MaxDepth = 3 });
        Assert.True(l.IsTooDeep);
        Assert.False(l.IsBomb);
        Assert.Equal(4, l.AllEntries().Count()); // depth 0..3
        Assert.Contains(l.AllEntries(), e => e.Note == "too deep");
        Assert.DoesNotContain(l.AllEntries(), e => e.Name == "payload.exe");
    }

    [Fact]
    public void Highly_compressible_entry_claiming_a_huge_size_is_a_bomb_and_not_read()
    {
        var zip = TestFiles.Zip(("zeros.bin", new byte[20 * 1024 * 1024]), ("after.txt", TestFiles.Text("x")));
        var l = L(zip);
        Assert.True(l.IsBomb);
        Assert.StartsWith("bomb: compression ratio", l.Entries[0].Note, StringComparison.Ordinal);
        Assert.Null(l.Entries[0].DetectedType);
    }

    [Fact]
    public void Read_budget_stops_nested_bombs()
    {
        var inner = TestFiles.Zip(("a.bin", new byte[3 * 1024 * 1024]));
        var outer = TestFiles.Zip(("1.zip", inner), ("2.zip", inner), ("3.zip", inner), ("4.zip", inner));
        var o = new ArchiveListOptions { MaxCompressionRatio = double.MaxValue, MaxTotalUncompressedBytes = 10 * 1024 };
        var l = L(outer, "o.zip", o);
        Assert.True(l.IsBomb);
        Assert.Contains(l.Notes.Concat(l.AllEntries().Where(e => e.Nested is not null).SelectMany(e => e.Nested!.Notes)),
            n => n.Contains("budget", StringComparison.Ordinal));
    }

    [Fact]
    public void Claimed_total_above_the_limit_is_a_bomb()
    {
        var zip = TestFiles.Zip(("a.txt", new byte[5000]), ("b.txt", new byte[5000]));
        var l = L(zip, null, new ArchiveListOptions { MaxClaimedUncompressedBytes = 6000 });
        Assert.True(l.IsBomb);
    }

    [Fact]
    public void Overlapping_entries_are_a_bomb()
    {
        var zip = TestFiles.Overlap(TestFiles.Zip(("a.txt", TestFiles.Text("aaaa")), ("b.txt", TestFiles.Text("bbbb")), ("c.txt", TestFiles.Text("cccc"))));
        var l = L(zip);
        Assert.True(l.IsBomb);
        Assert.Contains(l.Notes, n => n.Contains("overlapping", StringComparison.Ordinal));
    }

    [Fact]
    public void Entry_limit_is_enforced()
    {
        var entries = Enumerable.Range(0, 50).Select(i => ($"f{i}.txt", TestFiles.Text("x"))).ToArray();
        var l = L(TestFiles.Zip(entries), null, new ArchiveListOptions { MaxEntries = 10 });
        Assert.Equal(10, l.Entries.Count);
        Assert.True((l.Issues & ArchiveIssues.TooManyEntries) != 0);
    }

    [Fact]
    public void Encrypted_entry_is_flagged_and_not_read()
    {
        var zip = TestFiles.MarkEncrypted(TestFiles.Zip(("plain.txt", TestFiles.Text("hello")), ("secret.exe", TestFiles.Pe())), onlyIndex: 1);
        var l = L(zip);
        Assert.False(l.Entries[0].IsEncrypted);
        Assert.Equal("text", l.Entries[0].DetectedType?.Kind);
        Assert.True(l.Entries[1].IsEncrypted);
        Assert.Null(l.Entries[1].DetectedType);
        Assert.True((l.Issues & ArchiveIssues.Encrypted) != 0);
    }

    [Fact]
    public void Truncated_and_garbage_zips_do_not_throw()
    {
        var zip = TestFiles.Zip(("a.txt", TestFiles.Text(new string('a', 5000))), ("b.exe", TestFiles.Pe()));
        var cut = L(zip[..(zip.Length / 2)]);
        Assert.True((cut.Issues & ArchiveIssues.Corrupt) != 0);
        Assert.Contains(cut.Entries, e => e.Name == "a.txt"); // salvaged from the local header

        var garbage = new byte[300];
        new Random(1).NextBytes(garbage);
        "PK\x03\x04"u8.CopyTo(garbage);
        var g = L(garbage);
        Assert.Equal("zip", g.Format);

        // Damaged compressed data: the entry is noted, listing goes on.
        var bad = (byte[])zip.Clone();
        for (int i = 40; i < 80; i++) bad[i] ^= 0x5A;
        var d = L(bad);
        Assert.Equal(2, d.Entries.Count);
    }

    [Fact]
    public void Tar_gz_is_listed_from_a_forward_only_stream()
    {
        var inner = TestFiles.Zip(("x.js", TestFiles.Text("var s = new ActiveXObject('WScript.Shell');")));
        var tgz = TestFiles.TarGz(("readme.txt", TestFiles.Text("hi")), ("tools/run.exe", TestFiles.Pe()), ("more.zip", inner));
        var l = ArchiveLister.List(new TestFiles.ForwardOnlyStream(tgz), "pack.tgz", ArchiveListOptions.Default);
        Assert.Equal("gzip", l.Format);
        Assert.Equal(ArchiveIssues.None, l.AllIssues);
        Assert.Equal(["readme.txt", "tools/run.exe", "more.zip"], l.Entries.Select(e => e.Name));
        Assert.Equal("exe", l.Entries[1].DetectedType?.Kind);
        Assert.Equal(0x200, l.Entries[1].Size);
        Assert.Equal("script", l.AllEntries().Single(e => e.Name == "x.js").DetectedType?.Kind);
    }

    [Fact]
    public void Plain_tar_and_single_gzip()
    {
        var tar = L(TestFiles.Tar(("a.sh", TestFiles.Text("#!/bin/bash\necho hi"))));
        Assert.Equal("tar", tar.Format);
        Assert.True(tar.Entries[0].IsDirectory);
        Assert.Equal("script", tar.Entries[1].DetectedType?.Kind);

        var gz = L(TestFiles.Gzip(TestFiles.Pe()), "tool.exe.gz");
        Assert.Single(gz.Entries);
        Assert.Equal("tool.exe", gz.Entries[0].Name);
        Assert.Equal(0x200, gz.Entries[0].Size);
        Assert.Equal("exe", gz.Entries[0].DetectedType?.Kind);

        var cut = TestFiles.TarGz(("a.txt", new byte[100_000]));
        var c = L(cut[..(cut.Length - 30)]);
        Assert.True((c.AllIssues & ArchiveIssues.Corrupt) != 0 || c.Entries.Count == 1);
    }

    [Fact]
    public void Gzip_bomb_is_reported_by_ratio()
    {
        var l = L(TestFiles.Gzip(new byte[30 * 1024 * 1024]), "zeros.gz");
        Assert.True(l.IsBomb);
    }

    [Fact]
    public void Rar4_and_rar5_headers_are_listed()
    {
        var r4 = L(TestFiles.Rar4(("doc.pdf", 10, false), ("evil.exe", 20, true)), "a.rar");
        Assert.Equal("rar", r4.Format);
        Assert.Equal(["doc.pdf", "evil.exe"], r4.Entries.Select(e => e.Name));
        Assert.Equal(20, r4.Entries[1].Size);
        Assert.True(r4.Entries[1].IsEncrypted);
        Assert.True((r4.Issues & ArchiveIssues.Encrypted) != 0);

        var r5 = L(TestFiles.Rar5(("a.txt", 5), ("b.scr", 7)));
        Assert.Equal(["a.txt", "b.scr"], r5.Entries.Select(e => e.Name));
        Assert.Equal(7, r5.Entries[1].Size);
        Assert.True(r5.IsListable);

        var cut = TestFiles.Rar4(("doc.pdf", 10, false));
        Assert.NotNull(L(cut[..20]));
    }

    [Fact]
    public void Cab_headers_are_listed_and_truncated_7z_is_not_listable()
    {
        var cab = L(TestFiles.Cab(("setup.inf", 100), ("payload.dll", 4000)));
        Assert.Equal(["setup.inf", "payload.dll"], cab.Entries.Select(e => e.Name));
        Assert.Equal(4000, cab.Entries[1].Size);

        var sevenZ = L([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4, 1, 2, 3, 4]);
        Assert.Equal("7z", sevenZ.Format);
        Assert.False(sevenZ.IsListable);
        Assert.True((sevenZ.Issues & ArchiveIssues.NotListable) != 0);
    }

    [Fact]
    public void Non_archive_input_is_reported_not_listable()
    {
        var l = L(TestFiles.Pe(), "x.exe");
        Assert.Equal("none", l.Format);
        Assert.Equal("exe", l.Type.Kind);
        Assert.False(l.IsListable);
        Assert.Empty(L([]).Entries);
    }

    [Fact]
    public void Ooxml_is_listed_as_zip_with_its_parts()
    {
        var docm = TestFiles.Zip(("[Content_Types].xml", TestFiles.Text("<Types/>")), ("word/document.xml", TestFiles.Text("<w/>")),
            ("word/vbaProject.bin", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]));
        var l = L(docm, "x.docm");
        Assert.Equal("ooxml", l.Type.Kind);
        Assert.True(l.Type.HasMacros);
        Assert.Equal("ole", l.Entries[2].DetectedType?.Kind);
    }

    [Fact]
    public void Oversized_non_seekable_input_is_flagged()
    {
        var zip = TestFiles.Zip(CompressionLevel.NoCompression, ("a.bin", new byte[10_000]));
        var l = ArchiveLister.List(new TestFiles.ForwardOnlyStream(zip), null, new ArchiveListOptions { MaxArchiveBytes = 5000 });
        Assert.True((l.Issues & ArchiveIssues.TooLarge) != 0);
    }
}

public class ArchiveListerLimitTests
{
    [Fact]
    public void Entries_before_the_limit_still_get_their_type()
    {
        var entries = Enumerable.Range(0, 20).Select(i => ($"f{i}.exe", TestFiles.Pe())).ToArray();
        var l = ArchiveLister.List(new MemoryStream(TestFiles.Zip(entries)), null, new ArchiveListOptions { MaxEntries = 5 });
        Assert.Equal(5, l.Entries.Count);
        Assert.All(l.Entries, e => Assert.Equal("exe", e.DetectedType?.Kind));
    }
}
