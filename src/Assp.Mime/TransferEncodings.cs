namespace Assp.Mime;

/// <summary>The Content-Transfer-Encoding values a body can carry.</summary>
public enum ContentEncoding
{
    /// <summary>No header (treated as 7bit).</summary>
    Default,
    SevenBit,
    EightBit,
    Binary,
    Base64,
    QuotedPrintable,
    UUEncode,
    /// <summary>An unrecognised value (treated as binary).</summary>
    Unknown,
}

/// <summary>Tolerant transfer decoders: they never throw and report how much garbage they skipped.</summary>
public static class TransferEncodings
{
    private static readonly sbyte[] B64 = BuildB64();

    private static sbyte[] BuildB64()
    {
        var t = new sbyte[256];
        Array.Fill(t, (sbyte)-1);
        const string a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < a.Length; i++) t[a[i]] = (sbyte)i;
        // URL-safe alphabet, seen in broken mailers.
        t['-'] = 62; t['_'] = 63;
        return t;
    }

    /// <summary>Parses a Content-Transfer-Encoding value.</summary>
    public static ContentEncoding Parse(string? value)
    {
        if (value is null) return ContentEncoding.Default;
        var v = value.Trim().Trim('"').Trim();
        int sc = v.IndexOfAny([';', ' ', '(']);
        if (sc >= 0) v = v[..sc];
        if (v.Length == 0) return ContentEncoding.Default;
        return v.ToLowerInvariant() switch
        {
            "7bit" or "7-bit" or "7 bit" => ContentEncoding.SevenBit,
            "8bit" or "8-bit" or "8 bit" => ContentEncoding.EightBit,
            "binary" => ContentEncoding.Binary,
            "base64" or "base-64" or "x-base64" => ContentEncoding.Base64,
            "quoted-printable" or "quoted_printable" or "quotedprintable" or "x-quoted-printable" => ContentEncoding.QuotedPrintable,
            "x-uuencode" or "uuencode" or "x-uue" or "uue" => ContentEncoding.UUEncode,
            _ => ContentEncoding.Unknown,
        };
    }

    /// <summary>Decodes base64, skipping any byte outside the alphabet and tolerating missing padding.</summary>
    public static byte[] DecodeBase64(ReadOnlySpan<byte> src, out int invalidBytes)
    {
        var dst = new byte[src.Length / 4 * 3 + 3];
        int n = DecodeBase64(src, dst, out invalidBytes);
        if (n != dst.Length) Array.Resize(ref dst, n);
        return dst;
    }

    /// <summary>Decodes base64 into <paramref name="dst"/> (at least src.Length/4*3+3 bytes); returns the length.</summary>
    public static int DecodeBase64(ReadOnlySpan<byte> src, Span<byte> dst, out int invalidBytes)
    {
        int bits = 0, acc = 0, o = 0;
        invalidBytes = 0;
        for (int i = 0; i < src.Length; i++)
        {
            byte b = src[i];
            int v = B64[b];
            if (v < 0)
            {
                if (b != (byte)'=' && b != (byte)'\r' && b != (byte)'\n' && b != (byte)' ' && b != (byte)'\t') invalidBytes++;
                else if (b == (byte)'=') { bits = 0; acc = 0; } // padding ends a quantum
                continue;
            }
            acc = (acc << 6) | v;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                dst[o++] = (byte)(acc >> bits);
                acc &= (1 << bits) - 1;
            }
        }
        return o;
    }

    /// <summary>Decodes quoted-printable: soft breaks removed, bad escapes kept literally (counted).</summary>
    public static byte[] DecodeQuotedPrintable(ReadOnlySpan<byte> src, out int badEscapes)
    {
        var dst = new byte[src.Length];
        int o = 0;
        badEscapes = 0;
        int i = 0;
        while (i < src.Length)
        {
            int eq = src[i..].IndexOf((byte)'=');
            if (eq < 0) { src[i..].CopyTo(dst.AsSpan(o)); o += src.Length - i; break; }
            src.Slice(i, eq).CopyTo(dst.AsSpan(o));
            o += eq;
            i += eq + 1; // past '='
            if (i + 1 < src.Length && HexVal(src[i]) >= 0 && HexVal(src[i + 1]) >= 0)
            {
                dst[o++] = (byte)(HexVal(src[i]) << 4 | HexVal(src[i + 1]));
                i += 2;
                continue;
            }
            // Soft line break, allowing transport padding (spaces/tabs) before the line end.
            int j = i;
            while (j < src.Length && (src[j] == (byte)' ' || src[j] == (byte)'\t')) j++;
            if (j >= src.Length) { i = j; continue; } // '=' at the very end: soft break
            if (src[j] == (byte)'\r') { i = j + 1 < src.Length && src[j + 1] == (byte)'\n' ? j + 2 : j + 1; continue; }
            if (src[j] == (byte)'\n') { i = j + 1; continue; }
            badEscapes++;
            dst[o++] = (byte)'=';
        }
        if (o != dst.Length) Array.Resize(ref dst, o);
        return dst;
    }

    private static int HexVal(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        _ => -1,
    };

    /// <summary>Decodes one uuencoded line (length character then 4-character groups) into <paramref name="output"/>.</summary>
    public static void DecodeUuLine(ReadOnlySpan<byte> line, List<byte> output)
    {
        if (line.IsEmpty) return;
        int len = (line[0] - 32) & 63;
        int produced = 0;
        int i = 1;
        while (produced < len && i < line.Length)
        {
            int c0 = UuVal(line, i), c1 = UuVal(line, i + 1), c2 = UuVal(line, i + 2), c3 = UuVal(line, i + 3);
            i += 4;
            byte b0 = (byte)(c0 << 2 | c1 >> 4), b1 = (byte)(c1 << 4 | c2 >> 2), b2 = (byte)(c2 << 6 | c3);
            output.Add(b0); produced++;
            if (produced < len) { output.Add(b1); produced++; }
            if (produced < len) { output.Add(b2); produced++; }
        }
    }

    private static int UuVal(ReadOnlySpan<byte> s, int i) => i < s.Length ? (s[i] - 32) & 63 : 0;
}
