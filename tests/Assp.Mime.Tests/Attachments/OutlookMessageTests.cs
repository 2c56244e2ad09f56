using System.Buffers.Binary;
using System.Text;
using Assp.Mime.Attachments;
using FsCheck;
using FsCheck.Fluent;

namespace Assp.Mime.Tests.Attachments;

/// <summary>The compound file reader and the Outlook .msg reader, on files written by <see cref="CfbWriter"/>.</summary>
public class OutlookMessageTests
{
    private static readonly byte[] Big = Enumerable.Range(0, 10_000).Select(i => (byte)(i % 251)).ToArray();
    private static readonly byte[] Small = Encoding.ASCII.GetBytes("MZ small file");

    private static byte[] Sample() => CfbWriter.Msg("Quarterly report", "Hello,\r\nsee the files.",
        ("report.pdf", Big, null),
        ("tool.exe", Small, null),
        ("", null, CfbWriter.MessageNodes("Forwarded", "inner body", ("inner.js", Encoding.ASCII.GetBytes("WScript.Shell"), null))));

    [Fact]
    public void A_msg_gives_its_subject_body_and_attachments_with_their_data()
    {
        var msg = OutlookMessage.Read(Sample());
        Assert.Equal("Quarterly report", msg.Subject);
        Assert.Equal("Hello,\r\nsee the files.", msg.Body);
        Assert.Equal(3, msg.Attachments.Count);
        Assert.Equal("report.pdf", msg.Attachments[0].FileName);
        Assert.Equal(Big, msg.Attachments[0].Data);      // regular sectors
        Assert.Equal(Small, msg.Attachments[1].Data);    // the mini stream
        var inner = Assert.IsType<OutlookMessage>(msg.Attachments[2].Message);
        Assert.Equal("Forwarded.msg", msg.Attachments[2].FileName);
        Assert.Equal("inner body", inner.Body);
        Assert.Equal(["report.pdf", "tool.exe", "inner.js"], msg.AllFiles().Select(f => f.FileName));
    }

    [Fact]
    public void The_compound_file_tree_lists_storages_and_streams()
    {
        var file = CompoundFile.Open(CfbWriter.Write(CfbWriter.Storage("Root Entry",
            CfbWriter.Storage("Folder", CfbWriter.Stream("a", [1, 2, 3]), CfbWriter.Stream("b", Big)), CfbWriter.Stream("top", []))));
        var folder = Assert.IsType<CompoundEntry>(file.Root.Child("folder"));
        Assert.True(folder.IsStorage);
        Assert.Equal(new byte[] { 1, 2, 3 }, file.Read(folder.Child("A")!));
        Assert.Equal(Big, file.Read(folder.Child("b")!));
        Assert.Empty(file.Read(file.Root.Child("top")!));
    }

    [Fact]
    public void Loops_and_sectors_outside_the_file_are_refused()
    {
        var data = CfbWriter.Write(CfbWriter.Storage("Root Entry", CfbWriter.Stream("big", Big)));
        var file = CompoundFile.Open(data);
        Assert.Equal(Big, file.Read(file.Root.Child("big")!));
        // The stream starts at sector 0; its FAT entry (in the FAT sector named by the first DIFAT slot) points back to 0.
        uint fatSector = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(0x4C));
        var looped = (byte[])data.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(looped.AsSpan((int)(fatSector + 1) * 512 + 4), 0);
        var loopedFile = CompoundFile.Open(looped);
        var ex = Assert.Throws<InvalidDataException>(() => loopedFile.Read(loopedFile.Root.Child("big")!));
        Assert.Contains("loops", ex.Message);
        var outside = (byte[])data.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(outside.AsSpan((int)(fatSector + 1) * 512 + 4), 50_000);
        var outsideFile = CompoundFile.Open(outside);
        Assert.Contains("outside the file", Assert.Throws<InvalidDataException>(() => outsideFile.Read(outsideFile.Root.Child("big")!)).Message);
        // A directory whose sibling points back at itself.
        var dirSector = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(0x30));
        var selfSibling = (byte[])data.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(selfSibling.AsSpan((int)(dirSector + 1) * 512 + 128 + 0x48), 1);
        Assert.Contains("reached twice", Assert.Throws<InvalidDataException>(() => CompoundFile.Open(selfSibling)).Message);
    }

    [Fact]
    public void Other_data_is_not_a_compound_file()
    {
        Assert.False(OutlookMessage.IsOutlookMessage("From: x\r\n\r\nbody"u8));
        Assert.Throws<InvalidDataException>(() => OutlookMessage.Read(new byte[600]));
        // A compound file without message properties (an old Word document, say) is not a message.
        Assert.Throws<InvalidDataException>(() => OutlookMessage.Read(CfbWriter.Write(CfbWriter.Storage("Root Entry", CfbWriter.Stream("WordDocument", Small)))));
    }

    private static readonly byte[] Seed = Sample();

    [Fact]
    public void Damaged_msg_files_end_with_a_format_error_or_a_result_never_a_crash_or_a_hang()
    {
        var gen = from flips in Gen.ListOf(Gen.Choose(0, Seed.Length - 1).Zip(Gen.Choose(0, 255)))
                  from cut in Gen.Choose(0, 100)
                  from headerOnly in Gen.Elements(false, true)
                  select Mutate(flips, cut, headerOnly);
        Prop.ForAll(gen.ToArbitrary(), data =>
        {
            try
            {
                var msg = OutlookMessage.Read(data);
                foreach (var f in msg.AllFiles()) Assert.True(f.Data.Length <= Seed.Length * 64L);
            }
            catch (InvalidDataException)
            {
            }
            return true;
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    /// <summary>Random bytes written over the file (with headerOnly: over the header and the directory, where a
    /// damage matters most), then the file cut short.</summary>
    private static byte[] Mutate(IEnumerable<(int Pos, int Val)> flips, int cutPercent, bool headerOnly)
    {
        var b = (byte[])Seed.Clone();
        var dirSector = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(0x30));
        foreach (var (pos, val) in flips)
        {
            int at = headerOnly ? (pos % 2 == 0 ? pos % 512 : Math.Min(b.Length - 1, (dirSector + 1) * 512 + pos % 1024)) : pos;
            b[at] = (byte)val;
        }
        int len = cutPercent >= 50 ? b.Length : b.Length * (cutPercent * 2) / 100;
        return b[..len];
    }
}
