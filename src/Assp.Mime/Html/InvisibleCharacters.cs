namespace Assp.Mime.Html;

/// <summary>Characters a reader does not see: zero-width spaces and joiners, the soft hyphen, bidi
/// controls, variation selectors, invisible operators and fillers. Spammers put them inside words so
/// that "via\u200Bgra" does not match "viagra"; a reader sees one word.</summary>
public static class InvisibleCharacters
{
    /// <summary>True for a character that renders as nothing (and is not ordinary whitespace).</summary>
    public static bool IsInvisible(char c) => c switch
    {
        '\u00AD' or '\u034F' or '\u061C' or '\u115F' or '\u1160' or '\u17B4' or '\u17B5' => true,
        >= '\u180B' and <= '\u180E' => true,
        >= '\u200B' and <= '\u200F' => true,
        >= '\u202A' and <= '\u202E' => true,
        >= '\u2060' and <= '\u2064' => true,
        >= '\u2066' and <= '\u206F' => true,
        '\u3164' or '\uFEFF' or '\uFFA0' => true,
        >= '\uFE00' and <= '\uFE0F' => true,
        _ => false,
    };

    /// <summary>True when the code point at <paramref name="index"/> is invisible; handles the
    /// supplementary-plane tag characters (U+E0000..U+E007F) and musical formatting controls
    /// (U+1D173..U+1D17A), which take two UTF-16 units. <paramref name="length"/> is 1 or 2.</summary>
    public static bool IsInvisibleAt(ReadOnlySpan<char> s, int index, out int length)
    {
        char c = s[index];
        length = 1;
        if (IsInvisible(c)) return true;
        if (char.IsHighSurrogate(c) && index + 1 < s.Length && char.IsLowSurrogate(s[index + 1]))
        {
            int cp = char.ConvertToUtf32(c, s[index + 1]);
            if ((cp >= 0xE0000 && cp <= 0xE007F) || (cp >= 0x1D173 && cp <= 0x1D17A) || (cp >= 0xE0100 && cp <= 0xE01EF))
            {
                length = 2;
                return true;
            }
        }
        return false;
    }

    /// <summary>Removes all invisible characters; returns the input itself when there is none.</summary>
    public static string Remove(string s)
    {
        int i = 0;
        while (i < s.Length && !IsInvisibleAt(s, i, out _)) i++;
        if (i == s.Length) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        sb.Append(s, 0, i);
        while (i < s.Length)
        {
            if (IsInvisibleAt(s, i, out int len)) { i += len; continue; }
            sb.Append(s[i]);
            i++;
        }
        return sb.ToString();
    }
}
