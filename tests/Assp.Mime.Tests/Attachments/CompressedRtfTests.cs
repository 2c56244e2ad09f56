using System.Buffers.Binary;
using System.Text;
using Assp.Mime.Attachments;

namespace Assp.Mime.Tests.Attachments;

/// <summary>A slow but straightforward LZFu compressor, to build test streams.</summary>
internal static class LzfuCompressor
{
    private const string Preamble =
        "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor " +
        "MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

    /// <summary>Compresses with greedy longest matches (including matches that overlap the bytes being written).</summary>
    public static byte[] Compress(byte[] input, bool badCrc = false, bool noEnd = false)
    {
        var dict = new byte[4096];
        Encoding.ASCII.GetBytes(Preamble).CopyTo(dict, 0);
        int wp = Preamble.Length;
        var body = new MemoryStream();
        var run = new List<byte>();
        int control = 0, tokens = 0;

        void Flush()
        {
            body.WriteByte((byte)control);
            body.Write(run.ToArray());
            run.Clear();
            control = 0;
            tokens = 0;
        }

        int pos = 0;
        while (pos < input.Length)
        {
            int bestLen = 0, bestOff = 0;
            for (int off = 0; off < 4096; off++)
            {
                if (off == wp) continue; // that would be the end marker
                int len = 0;
                while (len < 17 && pos + len < input.Length)
                {
                    // A byte at or after the write position is one this very reference writes.
                    int src = (off + len) % 4096;
                    int ahead = (src - wp + 4096) % 4096;
                    byte b = ahead < len ? input[pos + ahead] : dict[src];
                    if (b != input[pos + len]) break;
                    len++;
                }
                if (len > bestLen) { bestLen = len; bestOff = off; }
            }
            if (bestLen >= 2)
            {
                control |= 1 << tokens;
                int word = (bestOff << 4) | (bestLen - 2);
                run.Add((byte)(word >> 8));
                run.Add((byte)word);
                for (int k = 0; k < bestLen; k++) { dict[wp] = input[pos + k]; wp = (wp + 1) % 4096; }
                pos += bestLen;
            }
            else
            {
                run.Add(input[pos]);
                dict[wp] = input[pos];
                wp = (wp + 1) % 4096;
                pos++;
            }
            if (++tokens == 8) Flush();
        }
        if (!noEnd)
        {
            control |= 1 << tokens;
            run.Add((byte)(wp >> 4));
            run.Add((byte)(wp << 4));
            tokens++;
        }
        if (tokens > 0) Flush();
        return Wrap(body.ToArray(), input.Length, CompressedRtf.Compressed, badCrc ? 0xDEADBEEF : CompressedRtf.Crc(body.ToArray()));
    }

    public static byte[] Wrap(byte[] content, int rawSize, uint type, uint crc)
    {
        var all = new byte[16 + content.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(all, (uint)(content.Length + 12));
        BinaryPrimitives.WriteUInt32LittleEndian(all.AsSpan(4), (uint)rawSize);
        BinaryPrimitives.WriteUInt32LittleEndian(all.AsSpan(8), type);
        BinaryPrimitives.WriteUInt32LittleEndian(all.AsSpan(12), crc);
        content.CopyTo(all, 16);
        return all;
    }
}

public class CompressedRtfTests
{
    // The worked example of [MS-OXRTFCP] section 3.1.1.1: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n".
    private static byte[] Hex(string s) => Convert.FromHexString(s.Replace(" ", "", StringComparison.Ordinal));

    private static readonly byte[] Example = Hex(
        "2d 00 00 00 2b 00 00 00 4c 5a 46 75 f1 c5 c7 a7" +
        "03 00 0a 00 72 63 70 67 31 32 35 42 32 0a f3 20" +
        "68 65 6c 09 00 20 62 77 05 b0 6c 64 7d 0a 80 0f a0");

    [Fact]
    public void Decompresses_the_specification_example()
    {
        var r = CompressedRtf.Decompress(Example)!;
        Assert.Equal("{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n", r.Text);
        Assert.True(r.WasCompressed);
        Assert.True(r.CrcValid);
        Assert.True(r.Complete);
        Assert.Null(r.Problem);
        Assert.Equal(0xA7C7C5F1u, CompressedRtf.Crc(Example.AsSpan(16)));
    }

    [Theory]
    [InlineData("{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times New Roman;}}\\f0\\fs24 Hello, world!\\par}")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // overlapping runs
    [InlineData("x")]
    [InlineData("")]
    public void Round_trips_through_the_test_compressor(string text)
    {
        var data = Encoding.ASCII.GetBytes(text);
        var r = CompressedRtf.Decompress(LzfuCompressor.Compress(data))!;
        Assert.Equal(text, r.Text);
        Assert.True(r.CrcValid);
        Assert.True(r.Complete, r.Problem);
    }

    [Fact]
    public void Long_input_wraps_the_ring_dictionary()
    {
        var rnd = new Random(3);
        var sb = new StringBuilder("{\\rtf1\\ansi ");
        string[] words = ["\\par ", "invoice ", "payment ", "{\\b urgent} ", "click ", "here ", "\\tab ", "account "];
        while (sb.Length < 9000) sb.Append(words[rnd.Next(words.Length)]).Append(rnd.Next(1000));
        sb.Append('}');
        var data = Encoding.ASCII.GetBytes(sb.ToString());
        var packed = LzfuCompressor.Compress(data);
        Assert.True(packed.Length < data.Length / 2, $"{packed.Length} of {data.Length}");
        var r = CompressedRtf.Decompress(packed)!;
        Assert.Equal(data, r.Rtf);
        Assert.True(r.Complete);
    }

    [Fact]
    public void Crc_mismatch_is_reported_but_content_kept()
    {
        var r = CompressedRtf.Decompress(LzfuCompressor.Compress("{\\rtf1 hi}"u8.ToArray(), badCrc: true))!;
        Assert.False(r.CrcValid);
        Assert.Equal("{\\rtf1 hi}", r.Text);
        Assert.Contains("CRC", r.Problem, StringComparison.Ordinal);
        var flipped = (byte[])Example.Clone();
        flipped[20] ^= 0x01; // a literal changes: the CRC no longer matches
        Assert.False(CompressedRtf.Decompress(flipped)!.CrcValid);
    }

    [Fact]
    public void Uncompressed_mela_content_is_returned_as_is()
    {
        var raw = "{\\rtf1 plain}"u8.ToArray();
        var r = CompressedRtf.Decompress(LzfuCompressor.Wrap(raw, raw.Length, CompressedRtf.Uncompressed, 0))!;
        Assert.False(r.WasCompressed);
        Assert.Equal(raw, r.Rtf);
        Assert.True(r.Complete);
    }

    [Fact]
    public void Truncated_missing_end_and_wrong_size_are_reported()
    {
        var cut = Example[..^5];
        var r = CompressedRtf.Decompress(cut)!;
        Assert.False(r.Complete);
        Assert.StartsWith("{\\rtf1\\ansi\\ansicpg1252\\pard hello", r.Text, StringComparison.Ordinal);
        Assert.NotNull(r.Problem);

        var noEnd = CompressedRtf.Decompress(LzfuCompressor.Compress("{\\rtf1 x}"u8.ToArray(), noEnd: true))!;
        Assert.False(noEnd.Complete);
        Assert.Equal("{\\rtf1 x}", noEnd.Text);

        var wrongSize = (byte[])Example.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(wrongSize.AsSpan(4), 40);
        var w = CompressedRtf.Decompress(wrongSize)!;
        Assert.False(w.Complete);
        Assert.Equal(40, w.Rtf.Length);
    }

    [Fact]
    public void Output_is_bounded_and_garbage_never_throws()
    {
        // Every token a 17-byte reference: a small stream that claims a huge output.
        var content = new List<byte>();
        for (int i = 0; i < 20000; i++) { content.Add(0xFF); for (int t = 0; t < 8; t++) { content.Add(0x00); content.Add(0x0F); } }
        var bomb = LzfuCompressor.Wrap([.. content], int.MaxValue, CompressedRtf.Compressed, 0);
        var r = CompressedRtf.Decompress(bomb, maxOutputBytes: 10_000)!;
        Assert.Equal(10_000, r.Rtf.Length);
        Assert.False(r.Complete);

        Assert.Null(CompressedRtf.Decompress([1, 2, 3]));
        Assert.Null(CompressedRtf.Decompress(new byte[16]));
        var rnd = new Random(11);
        for (int i = 0; i < 500; i++)
        {
            var junk = new byte[rnd.Next(16, 300)];
            rnd.NextBytes(junk);
            BinaryPrimitives.WriteUInt32LittleEndian(junk.AsSpan(8), i % 2 == 0 ? CompressedRtf.Compressed : CompressedRtf.Uncompressed);
            var j = CompressedRtf.Decompress(junk, 4096);
            Assert.NotNull(j);
            Assert.True(j.Rtf.Length <= 4096);
        }
    }

    [Fact]
    public void Tnef_rtf_body_is_decompressed()
    {
        var rtf = "{\\rtf1\\ansi\\ansicpg1252\\fromhtml1 {\\*\\htmltag <p>}Buy now\\par}"u8.ToArray();
        var tnef = new TnefWriter()
            .Version()
            .MessageProps((TnefWriter.PtBinary, 0x1009, LzfuCompressor.Compress(rtf)))
            .ToArray();
        var m = TnefReader.List(tnef);
        Assert.NotNull(m.CompressedRtf);
        Assert.NotNull(m.Rtf);
        Assert.Equal(rtf, m.Rtf.Rtf);
        Assert.True(m.Rtf.CrcValid);
        Assert.Empty(m.Notes);

        var bad = TnefReader.List(new TnefWriter().Version()
            .MessageProps((TnefWriter.PtBinary, 0x1009, LzfuCompressor.Compress(rtf, badCrc: true))).ToArray());
        Assert.False(bad.Rtf!.CrcValid);
        Assert.Contains(bad.Notes, n => n.Contains("CRC", StringComparison.Ordinal));
    }
}
