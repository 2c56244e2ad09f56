using System.Text;

namespace Assp.Mime;

/// <summary>
/// RFC 2047 encoded words ("=?charset?B|Q?text?="), decoded tolerantly: words glued to text or to each other,
/// encoded words inside quoted strings, unencoded spaces inside Q text, broken base64, unknown charsets (Latin-1),
/// RFC 2231 language suffixes, and multibyte characters split across adjacent words of the same charset.
/// </summary>
public static class EncodedWords
{
    /// <summary>Decodes all encoded words in an (unfolded) header value.</summary>
    public static string Decode(string text)
    {
        if (text.IndexOf("=?", StringComparison.Ordinal) < 0) return text;
        var sb = new StringBuilder(text.Length);
        var pending = new List<byte>();
        string? pendingCharset = null;
        bool lastWasEncoded = false;
        int i = 0;
        while (i < text.Length)
        {
            int idx = text.IndexOf("=?", i, StringComparison.Ordinal);
            if (idx < 0) break;
            if (TryParseWord(text, idx, out var charset, out var encoding, out int textStart, out int textEnd, out int end))
            {
                var between = text.AsSpan(i, idx - i);
                bool onlyWs = between.IsWhiteSpace();
                if (!(lastWasEncoded && onlyWs))
                {
                    Flush(sb, pending, ref pendingCharset);
                    sb.Append(between);
                }
                else if (!string.Equals(pendingCharset, charset, StringComparison.OrdinalIgnoreCase))
                {
                    Flush(sb, pending, ref pendingCharset);
                }
                pendingCharset = charset;
                var payload = text.AsSpan(textStart, textEnd - textStart);
                if (encoding is 'B' or 'b') DecodeB(payload, pending);
                else DecodeQ(payload, pending);
                lastWasEncoded = true;
                i = end;
            }
            else
            {
                Flush(sb, pending, ref pendingCharset);
                sb.Append(text, i, idx + 2 - i);
                i = idx + 2;
                lastWasEncoded = false;
            }
        }
        Flush(sb, pending, ref pendingCharset);
        if (i < text.Length) sb.Append(text, i, text.Length - i);
        return sb.ToString();
    }

    private static void Flush(StringBuilder sb, List<byte> pending, ref string? charset)
    {
        if (pending.Count > 0 || charset is not null)
        {
            sb.Append(Charsets.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending), charset ?? "us-ascii"));
            pending.Clear();
        }
        charset = null;
    }

    private static bool TryParseWord(string s, int start, out string charset, out char encoding, out int textStart, out int textEnd, out int end)
    {
        charset = ""; encoding = '\0'; textStart = textEnd = end = 0;
        int p = start + 2;
        int q = s.IndexOf('?', p);
        if (q <= p || q - p > 80) return false;
        for (int k = p; k < q; k++)
            if (s[k] <= ' ' || s[k] == '=' || s[k] > '~') return false;
        if (q + 2 >= s.Length || s[q + 2] != '?') return false;
        encoding = s[q + 1];
        if (encoding is not ('B' or 'b' or 'Q' or 'q')) return false;
        textStart = q + 3;
        int close = s.IndexOf("?=", textStart, StringComparison.Ordinal);
        if (close < 0) return false;
        textEnd = close;
        end = close + 2;
        charset = s[p..q];
        return true;
    }

    private static void DecodeB(ReadOnlySpan<char> payload, List<byte> output)
    {
        Span<byte> tmp = payload.Length <= 512 ? stackalloc byte[payload.Length] : new byte[payload.Length];
        int n = 0;
        foreach (char c in payload) if (c < 128) tmp[n++] = (byte)c;
        Span<byte> dst = n <= 512 ? stackalloc byte[n / 4 * 3 + 3] : new byte[n / 4 * 3 + 3];
        int len = TransferEncodings.DecodeBase64(tmp[..n], dst, out _);
        foreach (var b in dst[..len]) output.Add(b);
    }

    private static void DecodeQ(ReadOnlySpan<char> payload, List<byte> output)
    {
        for (int i = 0; i < payload.Length; i++)
        {
            char c = payload[i];
            if (c == '_') output.Add((byte)' ');
            else if (c == '=' && i + 2 < payload.Length && IsHex(payload[i + 1]) && IsHex(payload[i + 2]))
            {
                output.Add((byte)(Hex(payload[i + 1]) << 4 | Hex(payload[i + 2])));
                i += 2;
            }
            else if (c < 256) output.Add((byte)c);
            else foreach (var b in Encoding.UTF8.GetBytes(c.ToString())) output.Add(b);
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);
    private static int Hex(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>
    /// Encodes a value for a header when it is not plain printable ASCII, as UTF-8 B encoded words of at most 75
    /// characters, split on character boundaries.
    /// </summary>
    public static string EncodeIfNeeded(string value)
    {
        bool plain = true;
        foreach (char c in value) if (c > '~' || (c < ' ' && c != '\t')) { plain = false; break; }
        if (plain) return value;
        var sb = new StringBuilder();
        int i = 0;
        while (i < value.Length)
        {
            int take = 0, bytes = 0;
            while (i + take < value.Length)
            {
                int step = char.IsHighSurrogate(value[i + take]) && i + take + 1 < value.Length ? 2 : 1;
                int b = Encoding.UTF8.GetByteCount(value.AsSpan(i + take, step));
                if (bytes + b > 45) break;
                bytes += b; take += step;
            }
            if (take == 0) take = 1;
            if (sb.Length > 0) sb.Append(' ');
            sb.Append("=?utf-8?B?").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(value.Substring(i, take)))).Append("?=");
            i += take;
        }
        return sb.ToString();
    }
}
