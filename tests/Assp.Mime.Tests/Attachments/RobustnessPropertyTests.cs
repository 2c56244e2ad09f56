using Assp.Mime.Attachments;
using FsCheck;
using FsCheck.Fluent;

namespace Assp.Mime.Tests.Attachments;

/// <summary>Random and mutated input must never throw.</summary>
public class RobustnessPropertyTests
{
    private static readonly byte[][] Prefixes =
    [
        [],
        "PK\x03\x04"u8.ToArray(),
        "PK\x05\x06"u8.ToArray(),
        [0x1F, 0x8B, 8, 0],
        "Rar!\x1A\x07\x00"u8.ToArray(),
        "Rar!\x1A\x07\x01\x00"u8.ToArray(),
        "MSCF\0\0\0\0"u8.ToArray(),
        [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
        "MZ"u8.ToArray(),
        [0x7F, (byte)'E', (byte)'L', (byte)'F'],
        [0xCA, 0xFE, 0xBA, 0xBE],
        [0x78, 0x9F, 0x3E, 0x22],
        "%PDF-"u8.ToArray(),
        [0xFF, 0xFE],
    ];

    private static readonly byte[][] Seeds =
    [
        TestFiles.Zip(("a.txt", TestFiles.Text("hello")), ("b.exe", TestFiles.Pe())),
        TestFiles.TarGz(("a.txt", TestFiles.Text("hello"))),
        TestFiles.Rar4(("x.exe", 5, false)),
        TestFiles.Rar5(("x.exe", 5)),
        TestFiles.Cab(("x.dll", 5)),
        new TnefWriter().Subject("s").RendData().Title("A.EXE").Data(TestFiles.Pe())
            .AttachProps((TnefWriter.PtUnicode, 0x3707, TnefWriter.Z16("a.exe"))).ToArray(),
    ];

    private static bool NeverThrows(byte[] data)
    {
        var options = new ArchiveListOptions { MaxTotalUncompressedBytes = 1 << 20, MaxNestedArchiveBytes = 1 << 18 };
        _ = FileTypeDetector.Detect(data);
        _ = FileTypeDetector.Detect(new MemoryStream(data));
        _ = ArchiveLister.List(new MemoryStream(data), "x", options);
        _ = ArchiveLister.List(new TestFiles.ForwardOnlyStream(data), "x", options);
        var m = TnefReader.List(new MemoryStream(data));
        foreach (var a in m.AllAttachments()) _ = a.FileName;
        _ = AttachmentName.Extensions(AttachmentName.Sanitize(System.Text.Encoding.Latin1.GetString(data)).Name);
        return true;
    }

    [Fact]
    public void Random_bytes_with_magic_prefixes_never_throw()
    {
        var gen = from p in Gen.Elements(Prefixes)
                  from body in ArbMap.Default.GeneratorFor<byte[]>()
                  select p.Concat(body).ToArray();
        Prop.ForAll(gen.ToArbitrary(), NeverThrows)
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Mutated_valid_archives_and_tnef_never_throw()
    {
        var gen = from seed in Gen.Elements(Seeds)
                  from flips in Gen.ListOf(Gen.Choose(0, 1 << 20).Zip(Gen.Choose(0, 255)))
                  from cut in Gen.Choose(0, 100)
                  select Mutate(seed, flips, cut);
        Prop.ForAll(gen.ToArbitrary(), NeverThrows)
            .Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    private static byte[] Mutate(byte[] seed, IEnumerable<(int Pos, int Val)> flips, int cutPercent)
    {
        var b = (byte[])seed.Clone();
        foreach (var (pos, val) in flips) b[pos % b.Length] = (byte)val;
        int len = cutPercent >= 50 ? b.Length : b.Length * (cutPercent * 2) / 100;
        return b[..len];
    }

    [Fact]
    public void Random_names_sanitize_without_bidi_or_controls()
    {
        Prop.ForAll<string>(s =>
        {
            var r = AttachmentName.Sanitize(s);
            return r.Name.All(c => !char.IsControl(c) && !AttachmentName.IsBidiControl(c))
                   && !r.Name.Contains('/', StringComparison.Ordinal) && !r.Name.Contains('\\', StringComparison.Ordinal)
                   && !r.Name.EndsWith('.') && !r.Name.EndsWith(' ') && r.Name.Length <= AttachmentName.MaxLength;
        }).QuickCheckThrowOnFailure();
    }
}
