using System.Text;
using Assp.Mime.Attachments;

namespace Assp.Mime.Tests.Attachments;

/// <summary>
/// The LZMA decoder against raw LZMA1 streams made by liblzma (Python's lzma module, FORMAT_RAW, FILTER_LZMA1,
/// dictionary 1 MiB) for several lc/lp/pb settings and presets: TestData/lzma/{input}-{lc}{lp}{pb}-p{preset}.lzma.
/// The inputs are rebuilt here exactly as the generator built them.
/// </summary>
public class LzmaDecoderTests
{
    private static byte[] Text() =>
        Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 1500).Select(i => $"line {i}: value {i * i % 9973} lorem ipsum dolor\n")));

    private static byte[] Random(int n, long seed = 12345)
    {
        var b = new byte[n];
        long x = seed;
        for (int i = 0; i < n; i++)
        {
            x = (x * 1103515245 + 12345) & 0x7fffffff;
            b[i] = (byte)(x >> 16);
        }
        return b;
    }

    private static byte[] Runs() =>
        [.. Enumerable.Repeat((byte)'a', 50000), .. "bbb"u8, .. Enumerable.Repeat((byte)'a', 1000), .. Enumerable.Repeat("ab"u8.ToArray(), 500).SelectMany(x => x)];

    private static byte[] Mixed()
    {
        var t = Text();
        return [.. t[..5000], .. Random(3000, 7), .. t[..5000], .. Random(3000, 7)];
    }

    private static byte[] Input(string name) => name switch
    {
        "text" => Text(),
        "random" => Random(6000),
        "runs" => Runs(),
        "mixed" => Mixed(),
        _ => throw new ArgumentException(name),
    };

    private static byte[] Props(int lc, int lp, int pb) => [(byte)((pb * 5 + lp) * 9 + lc), 0, 0, 0x10, 0];

    public static TheoryData<string> Vectors()
    {
        var d = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "lzma"), "*.lzma").Order())
            d.Add(Path.GetFileName(f));
        return d;
    }

    private static (byte[] Expected, byte[] Props, byte[] Packed) Load(string file)
    {
        var parts = Path.GetFileNameWithoutExtension(file).Split('-');
        var p = parts[1];
        return (Input(parts[0]), Props(p[0] - '0', p[1] - '0', p[2] - '0'),
            File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "lzma", file)));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decodes_liblzma_streams(string file)
    {
        var (expected, props, packed) = Load(file);
        Assert.True(LzmaDecoder.TryDecode(props, packed, expected.Length, out var output));
        Assert.Equal(expected, output);
    }

    [Fact]
    public void There_are_vectors()
    {
        Assert.True(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "lzma"), "*.lzma").Length >= 20);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Truncated_or_wrong_props_fail_without_throwing(string file)
    {
        var (expected, props, packed) = Load(file);
        if (packed.Length > 40) Assert.False(LzmaDecoder.TryDecode(props, packed[..(packed.Length / 2)], expected.Length, out _));
        // A prefix of the output decodes from the same stream.
        Assert.True(LzmaDecoder.TryDecode(props, packed, expected.Length / 3, out var part));
        Assert.Equal(expected[..(expected.Length / 3)], part);
        // Other settings decode to something or fail, but never throw (a different lc can even decode ASCII
        // correctly, as the extra context bit is always 0 there).
        for (int b = 0; b < 45; b += 7) LzmaDecoder.TryDecode([(byte)b, 0, 0, 0x10, 0], packed, expected.Length, out _);
    }

    [Fact]
    public void Garbage_never_throws()
    {
        var rnd = new System.Random(9);
        var (expected, props, packed) = Load("mixed-302-p6.lzma");
        for (int i = 0; i < 300; i++)
        {
            var junk = (byte[])packed.Clone();
            for (int k = 0; k < 4; k++) junk[rnd.Next(1, junk.Length)] = (byte)rnd.Next(256);
            if (LzmaDecoder.TryDecode(props, junk, expected.Length, out var o)) Assert.Equal(expected.Length, o.Length);
            var noise = new byte[rnd.Next(0, 200)];
            rnd.NextBytes(noise);
            if (noise.Length > 0) noise[0] = 0;
            LzmaDecoder.TryDecode(props, noise, 5000, out _);
        }
        Assert.False(LzmaDecoder.TryDecode([0x5D], packed, 10, out _));       // short props
        Assert.False(LzmaDecoder.TryDecode([225, 0, 0, 1, 0], packed, 10, out _)); // props byte out of range
        Assert.False(LzmaDecoder.TryDecode(props, [1, 0, 0, 0, 0, 0], 10, out _)); // first byte must be 0
        Assert.True(LzmaDecoder.TryDecode(props, packed, 0, out var empty));
        Assert.Empty(empty);
    }
}
