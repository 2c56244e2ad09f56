using System.Collections.Frozen;
using System.Text;

namespace Assp.Mime.Html;

/// <summary>Decoding of HTML character references (named, decimal and hexadecimal), following the
/// HTML5 tokenizer's rules closely enough for mail: legacy names without semicolon, numeric references
/// without semicolon, windows-1252 remapping of C1 code points and U+FFFD for invalid ones.</summary>
internal static partial class HtmlEntities
{
    private static readonly FrozenDictionary<string, string> Named =
        NamedTable.ToFrozenDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> NamedBySpan =
        Named.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> LegacyBySpan =
        LegacyTable.ToFrozenSet(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Longest name in the table (without the semicolon).</summary>
    private const int MaxNameLength = 32;

    /// <summary>Longest name that may appear without semicolon.</summary>
    private const int MaxLegacyLength = 6;

    /// <summary>HTML5 "numeric character reference end state" table for 0x80..0x9F.</summary>
    private static readonly char[] Windows1252 =
    [
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
        '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
        '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
    ];

    /// <summary>Number of named entities known (for tests and diagnostics).</summary>
    internal static int Count => Named.Count;

    /// <summary>Looks up a named entity (name without '&amp;' and ';').</summary>
    internal static string? Lookup(string name) => Named.TryGetValue(name, out var v) ? v : null;

    /// <summary>Decodes every character reference in <paramref name="s"/>.</summary>
    internal static string Decode(string s, bool inAttribute)
    {
        int amp = s.IndexOf('&');
        if (amp < 0) return s;
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, amp);
        int i = amp;
        while (i < s.Length)
        {
            char c = s[i];
            if (c == '&')
            {
                int used = TryDecode(s, i, inAttribute, sb);
                if (used > 0) { i += used; continue; }
            }
            sb.Append(c);
            i++;
        }
        return sb.ToString();
    }

    /// <summary>Tries to decode the character reference at <paramref name="start"/> (which holds '&amp;').
    /// Appends the replacement to <paramref name="sb"/> and returns the number of characters consumed,
    /// or returns 0 (appending nothing) when there is no reference there.</summary>
    internal static int TryDecode(ReadOnlySpan<char> s, int start, bool inAttribute, StringBuilder sb)
    {
        int i = start + 1;
        if (i >= s.Length) return 0;
        if (s[i] == '#') return TryDecodeNumeric(s, start, sb);

        int nameEnd = i;
        while (nameEnd < s.Length && nameEnd - i <= MaxNameLength && char.IsAsciiLetterOrDigit(s[nameEnd])) nameEnd++;
        int nameLen = nameEnd - i;
        if (nameLen == 0) return 0;

        if (nameLen <= MaxNameLength && nameEnd < s.Length && s[nameEnd] == ';'
            && NamedBySpan.TryGetValue(s.Slice(i, nameLen), out var full))
        {
            sb.Append(full);
            return nameLen + 2;
        }

        // Legacy references without semicolon: the longest known prefix wins ("&notit;" is "¬it;").
        for (int len = Math.Min(nameLen, MaxLegacyLength); len >= 2; len--)
        {
            var name = s.Slice(i, len);
            if (!LegacyBySpan.Contains(name)) continue;
            int after = i + len;
            if (inAttribute && after < s.Length && (s[after] == '=' || char.IsAsciiLetterOrDigit(s[after])))
                return 0; // "?a=1&copy=2" in an attribute stays as written
            NamedBySpan.TryGetValue(name, out var value);
            sb.Append(value);
            return len + 1;
        }
        return 0;
    }

    private static int TryDecodeNumeric(ReadOnlySpan<char> s, int start, StringBuilder sb)
    {
        int i = start + 2;
        bool hex = i < s.Length && (s[i] == 'x' || s[i] == 'X');
        if (hex) i++;
        int digitsStart = i;
        long value = 0;
        while (i < s.Length)
        {
            char c = s[i];
            int d = hex ? HexValue(c) : (char.IsAsciiDigit(c) ? c - '0' : -1);
            if (d < 0) break;
            if (value <= 0x10FFFF) value = value * (hex ? 16 : 10) + d;
            i++;
        }
        if (i == digitsStart) return 0;
        if (i < s.Length && s[i] == ';') i++;
        AppendCodePoint(sb, value);
        return i - start;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static void AppendCodePoint(StringBuilder sb, long cp)
    {
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { sb.Append('\uFFFD'); return; }
        if (cp >= 0x80 && cp <= 0x9F) { sb.Append(Windows1252[cp - 0x80]); return; }
        if (cp < 0x10000) { sb.Append((char)cp); return; }
        sb.Append(char.ConvertFromUtf32((int)cp));
    }
}
