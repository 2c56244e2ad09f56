using System.Buffers.Binary;
using System.Text;

namespace Assp.Mime.Attachments;

/// <summary>The outcome of <see cref="CompressedRtf.Decompress"/>.</summary>
public sealed class CompressedRtfResult
{
    /// <summary>The RTF bytes (as far as they could be recovered).</summary>
    public required byte[] Rtf { get; init; }

    /// <summary>True for "LZFu" (compressed) content, false for "MELA" (stored as is).</summary>
    public bool WasCompressed { get; init; }

    /// <summary>The CRC of the compressed content matched the header (always true for stored content).</summary>
    public bool CrcValid { get; init; }

    /// <summary>The output has the size the header declares and the stream ended properly.</summary>
    public bool Complete { get; init; }

    /// <summary>What was wrong, or null.</summary>
    public string? Problem { get; init; }

    /// <summary>The RTF as text (RTF is 7-bit; other bytes are read as Latin-1).</summary>
    public string Text => Encoding.Latin1.GetString(Rtf);
}

/// <summary>
/// Decompresses PR_RTF_COMPRESSED data ([MS-OXRTFCP]): a 16-byte header (compressed size, raw size, "LZFu" or
/// "MELA", CRC) and, for LZFu, LZ77 runs against a 4 KiB ring dictionary primed with a fixed RTF preamble. Each run
/// has a control byte whose bits (low bit first) say whether each of up to eight tokens is a literal byte or a
/// 2-byte big-endian reference (12-bit dictionary offset, 4-bit length - 2); a reference to the current write
/// position ends the data. Never throws on damaged input; output is bounded.
/// </summary>
public static class CompressedRtf
{
    /// <summary>"LZFu", little-endian.</summary>
    public const uint Compressed = 0x75465A4C;

    /// <summary>"MELA", little-endian.</summary>
    public const uint Uncompressed = 0x414C454D;

    private const int DictSize = 4096;

    /// <summary>The preamble the dictionary starts with (207 bytes; the write position starts after it).</summary>
    private static readonly byte[] Preamble = Encoding.ASCII.GetBytes(
        "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor " +
        "MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx");

    /// <summary>The format's CRC: the usual CRC-32 table, but starting from 0 and without the final inversion.</summary>
    public static uint Crc(ReadOnlySpan<byte> data) => Crc32.Update(0, data);

    /// <summary>Decompresses <paramref name="data"/>; null when it does not start with a compressed-RTF header.
    /// At most <paramref name="maxOutputBytes"/> bytes are produced.</summary>
    public static CompressedRtfResult? Decompress(ReadOnlySpan<byte> data, int maxOutputBytes = 16 * 1024 * 1024)
    {
        if (data.Length < 16) return null;
        uint compSize = BinaryPrimitives.ReadUInt32LittleEndian(data);
        uint rawSize = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(data[12..]);
        if (type is not (Compressed or Uncompressed)) return null;

        // COMPSIZE counts the content plus the 12 header bytes after it; trust the data we actually have.
        long declaredContent = (long)compSize - 12;
        var content = data[16..];
        string? problem = null;
        if (declaredContent < 0) problem = $"compressed size {compSize} is smaller than the header";
        else if (declaredContent < content.Length) content = content[..(int)declaredContent];
        else if (declaredContent > content.Length) problem = $"truncated: {content.Length} of {declaredContent} content bytes present";

        int limit = (int)Math.Min(rawSize, (uint)Math.Max(0, maxOutputBytes));
        if (type == Uncompressed)
        {
            var raw = content[..Math.Min(content.Length, limit)].ToArray();
            if (raw.Length < rawSize) problem ??= rawSize > (uint)maxOutputBytes ? $"raw size {rawSize} above the limit" : "stored content shorter than its raw size";
            return new CompressedRtfResult { Rtf = raw, WasCompressed = false, CrcValid = true, Complete = raw.Length == rawSize, Problem = problem };
        }

        bool crcValid = Crc(content) == crc;
        if (!crcValid) problem ??= $"CRC mismatch (header 0x{crc:X8}, content 0x{Crc(content):X8})";
        var output = Inflate(content, limit, out bool ended);
        bool complete = ended && output.Length == rawSize;
        if (!ended && problem is null)
            problem = output.Length >= limit && rawSize > (uint)maxOutputBytes ? $"raw size {rawSize} above the limit" : "no end marker";
        else if (ended && output.Length != rawSize) problem ??= $"decompressed {output.Length} bytes, header says {rawSize}";
        return new CompressedRtfResult { Rtf = output, WasCompressed = true, CrcValid = crcValid, Complete = complete, Problem = problem };
    }

    /// <summary>Runs the LZ77 tokens until the end marker, the end of input, or <paramref name="limit"/> bytes.</summary>
    private static byte[] Inflate(ReadOnlySpan<byte> input, int limit, out bool ended)
    {
        var dict = new byte[DictSize];
        Preamble.CopyTo(dict, 0);
        int write = Preamble.Length;
        var output = new List<byte>(Math.Min(limit, 1 << 20));
        int p = 0;
        ended = false;
        while (p < input.Length)
        {
            int control = input[p++];
            for (int bit = 0; bit < 8; bit++)
            {
                if ((control & (1 << bit)) == 0)
                {
                    if (p >= input.Length) return output.ToArray();
                    if (output.Count >= limit) return output.ToArray();
                    byte lit = input[p++];
                    output.Add(lit);
                    dict[write] = lit;
                    write = (write + 1) % DictSize;
                    continue;
                }
                if (p + 2 > input.Length) return output.ToArray();
                int word = (input[p] << 8) | input[p + 1];
                p += 2;
                int offset = word >> 4;
                int length = (word & 0xF) + 2;
                if (offset == write)
                {
                    ended = true;
                    return output.ToArray();
                }
                // Byte by byte, so a reference may overlap what it is writing (runs of one pattern).
                for (int k = 0; k < length; k++)
                {
                    if (output.Count >= limit) return output.ToArray();
                    byte b = dict[(offset + k) % DictSize];
                    output.Add(b);
                    dict[write] = b;
                    write = (write + 1) % DictSize;
                }
            }
        }
        return output.ToArray();
    }
}
