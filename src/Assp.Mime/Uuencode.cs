using System.Text;

namespace Assp.Mime;

/// <summary>A uuencoded block ("begin 644 name" ... "end") found inside a text body.</summary>
public sealed record UuencodedItem(string? FileName, int Mode, byte[] Content, int Offset)
{
    /// <summary>Decoded size in bytes.</summary>
    public int DecodedSize => Content.Length;

    /// <summary>What uuencoded data is declared as: nothing, so application/octet-stream.</summary>
    public string MimeType => "application/octet-stream";
}

/// <summary>Finds and decodes uuencoded blocks.</summary>
public static class Uuencode
{
    /// <summary>Finds all "begin mode name" ... "end" blocks (an unterminated block ends with the data).</summary>
    public static IReadOnlyList<UuencodedItem> Find(ReadOnlySpan<byte> text, int maxItems = 100)
    {
        List<UuencodedItem>? items = null;
        int pos = 0;
        while (pos < text.Length && (items?.Count ?? 0) < maxItems)
        {
            int idx = text[pos..].IndexOf("begin "u8);
            if (idx < 0) break;
            int b = pos + idx;
            pos = b + 6;
            if (b > 0 && text[b - 1] != (byte)'\n' && text[b - 1] != (byte)'\r') continue;
            int lineEnd = LineEnd(text, b, out int next);
            var header = text[(b + 6)..lineEnd];
            int m = 0;
            while (m < header.Length && header[m] >= (byte)'0' && header[m] <= (byte)'7') m++;
            if (m < 3 || m > 4 || m >= header.Length || header[m] != (byte)' ') continue;
            int mode = 0;
            for (int k = 0; k < m; k++) mode = mode * 8 + (header[k] - '0');
            var nameBytes = header[(m + 1)..].Trim(" \t"u8);
            string? name = FileNames.Sanitize(Charsets.DecodeHeaderBytes(nameBytes));
            var output = new List<byte>();
            int p = next;
            while (p < text.Length)
            {
                int le = LineEnd(text, p, out int nx);
                var line = text[p..le];
                p = nx;
                if (line.TrimEnd(" \t"u8).SequenceEqual("end"u8)) break;
                if (line.IsEmpty) continue;
                if (line[0] == (byte)'`' && line.Length == 1) continue; // zero-length line
                TransferEncodings.DecodeUuLine(line, output);
            }
            (items ??= []).Add(new UuencodedItem(name, mode, output.ToArray(), b));
            pos = p;
        }
        return items ?? (IReadOnlyList<UuencodedItem>)[];
    }

    private static int LineEnd(ReadOnlySpan<byte> s, int pos, out int next)
    {
        int i = s[pos..].IndexOfAny((byte)'\r', (byte)'\n');
        if (i < 0) { next = s.Length; return s.Length; }
        int e = pos + i;
        next = s[e] == (byte)'\r' && e + 1 < s.Length && s[e + 1] == (byte)'\n' ? e + 2 : e + 1;
        return e;
    }

    /// <summary>Encodes bytes as a uuencoded block (for tests and tools).</summary>
    public static string Encode(ReadOnlySpan<byte> data, string name, int mode = 420)
    {
        var sb = new StringBuilder();
        sb.Append("begin ").Append(Convert.ToString(mode, 8)).Append(' ').Append(name).Append('\n');
        for (int i = 0; i < data.Length; i += 45)
        {
            var chunk = data.Slice(i, Math.Min(45, data.Length - i));
            sb.Append((char)(32 + chunk.Length));
            for (int j = 0; j < chunk.Length; j += 3)
            {
                int b0 = chunk[j], b1 = j + 1 < chunk.Length ? chunk[j + 1] : 0, b2 = j + 2 < chunk.Length ? chunk[j + 2] : 0;
                sb.Append(C(b0 >> 2)).Append(C((b0 << 4 | b1 >> 4) & 63)).Append(C((b1 << 2 | b2 >> 6) & 63)).Append(C(b2 & 63));
            }
            sb.Append('\n');
        }
        sb.Append("`\nend\n");
        return sb.ToString();
        static char C(int v) => v == 0 ? '`' : (char)(32 + v);
    }
}
