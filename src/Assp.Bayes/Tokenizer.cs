using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Assp.Bayes;

/// <summary>
/// Splits the filter text (<see cref="CorpusText"/>) into the words both filters use, by ASSP's rules: runs of at
/// least two word characters, lower-cased; a mail address becomes the first 24 hex digits of its MD5 (addresses are
/// long and unique); a link becomes its host, repeated to fill a HMM sequence, followed by the pieces of its path;
/// colours, hex strings, numbers, dates and times become the placeholders "randcolor", "randword", "randnumber",
/// "randwildnum"; leading and trailing punctuation is dropped and quotes become "quote". Words are cut to 37 chars.
/// </summary>
public static partial class Tokenizer
{
    /// <summary>Words per HMM sequence (ASSP's HMMSequenceLength); a HMM key is this many words plus the next one.</summary>
    public const int HmmSequenceLength = 4;
    /// <summary>Words of one message the rebuild feeds into the HMM (ASSP's HMMDBWords).</summary>
    public const int HmmDbWords = 600;
    public const int MaxWordLength = 37;

    /// <summary>Appends the words of <paramref name="text"/> to <paramref name="words"/>.</summary>
    public static void Words(string text, List<string> words)
    {
        var span = text.AsSpan();
        int i = 0;
        var pieces = new List<string>(8);
        while (i < span.Length)
        {
            while (i < span.Length && !IsWordChar(span[i])) i++;
            int start = i;
            while (i < span.Length && IsWordChar(span[i])) i++;
            if (i - start < 2) continue;
            if (IsUnchangedByCleaning(span[start..i])) { words.Add(LowerAscii(span[start..i])); continue; }
            pieces.Clear();
            CleanWord(span[start..i], pieces);
            foreach (var p in pieces)
                if (p.Length > 0) words.Add(p.Length > MaxWordLength ? p[..MaxWordLength] : p);
        }
    }

    public static List<string> Words(string text)
    {
        var list = new List<string>(Math.Min(text.Length / 5 + 4, 1 << 16));
        Words(text, list);
        return list;
    }

    /// <summary>
    /// Adds to <paramref name="hashes"/> the hash of every word <see cref="Words(string, List{string})"/> would give for
    /// <paramref name="text"/>, continued from <paramref name="seed"/>. A word of ASCII letters that no cleaning rule
    /// changes is hashed straight from the text, lower-cased on the way; only the others become strings.
    /// </summary>
    public static void AddWordHashes(ReadOnlySpan<char> text, ulong seed, HashSet<ulong> hashes)
    {
        List<string>? pieces = null;
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !IsWordChar(text[i])) i++;
            int start = i;
            while (i < text.Length && IsWordChar(text[i])) i++;
            if (i - start < 2) continue;
            var raw = text[start..i];
            if (TryHashPlain(raw, seed, out ulong hash)) { hashes.Add(hash); continue; }
            pieces ??= new List<string>(8);
            pieces.Clear();
            CleanWord(raw, pieces);
            foreach (var p in pieces)
                if (p.Length > 0) hashes.Add(TokenHash.Finish(TokenHash.Append(seed, p.AsSpan(0, Math.Min(p.Length, MaxWordLength)))));
        }
    }

    /// <summary>
    /// True for a raw word that CleanWord returns lower-cased and otherwise unchanged. Such a word is made of ASCII
    /// letters, digits, dots and hyphens, starts with a letter (so it is no number or time) and ends with a letter or
    /// digit (nothing to trim), and has no six hex characters, no two of digit and dot and no two hyphens in a row
    /// (the rules that would replace them): most words of text and of host names.
    /// </summary>
    internal static bool IsUnchangedByCleaning(ReadOnlySpan<char> raw)
    {
        if (raw.Length == 0 || !char.IsAsciiLetter(raw[0]) || !char.IsAsciiLetterOrDigit(raw[^1])) return false;
        int hexRun = 0;
        char previous = ' ';
        foreach (char original in raw)
        {
            char c = original;
            if (c is >= 'A' and <= 'Z') c = (char)(c | 0x20);
            else if (!(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-')) return false;
            if (c is (>= '0' and <= '9') or (>= 'a' and <= 'f')) { if (++hexRun >= 6) return false; }
            else hexRun = 0;
            if (c is (>= '0' and <= '9') or '.' && previous is (>= '0' and <= '9') or '.') return false;
            if (c == '-' && previous == '-') return false;
            previous = c;
        }
        return true;
    }

    /// <summary>The hash of the word CleanWord makes of <paramref name="raw"/> when it only lower-cases it.</summary>
    private static bool TryHashPlain(ReadOnlySpan<char> raw, ulong seed, out ulong hash)
    {
        hash = seed;
        if (!IsUnchangedByCleaning(raw)) return false;
        foreach (char c in raw[..Math.Min(raw.Length, MaxWordLength)]) hash = TokenHash.Append(hash, c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c);
        hash = TokenHash.Finish(hash);
        return true;
    }

    /// <summary>The word lower-cased (ASCII) and cut to <see cref="MaxWordLength"/>.</summary>
    private static string LowerAscii(ReadOnlySpan<char> raw)
    {
        Span<char> buffer = stackalloc char[MaxWordLength];
        int n = Math.Min(raw.Length, MaxWordLength);
        for (int k = 0; k < n; k++) buffer[k] = raw[k] is >= 'A' and <= 'Z' ? (char)(raw[k] | 0x20) : raw[k];
        return new string(buffer[..n]);
    }

    /// <summary>The characters a word is made of (ASSP's BayesCont, extended to every Unicode letter and digit).</summary>
    internal static bool IsWordChar(char c)
    {
        if (c < 128) return AsciiWord[c];
        var cat = char.GetUnicodeCategory(c);
        return cat is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.OtherNumber
            or UnicodeCategory.CurrencySymbol;
    }

    private static readonly bool[] AsciiWord = BuildAscii();

    private static bool[] BuildAscii()
    {
        var t = new bool[128];
        for (char c = 'a'; c <= 'z'; c++) t[c] = true;
        for (char c = 'A'; c <= 'Z'; c++) t[c] = true;
        for (char c = '0'; c <= '9'; c++) t[c] = true;
        foreach (char c in "-$'.!@_:/?&=#%~+*") t[c] = true;
        return t;
    }

    /// <summary>ASSP's BayesWordClean: one raw run of word characters to zero or more words.</summary>
    internal static void CleanWord(ReadOnlySpan<char> raw, List<string> output)
    {
        // One string per word: lower-cased while it is copied (most words need no change at all).
        string word = raw.ContainsAnyInRange('A', 'Z') || !System.Text.Ascii.IsValid(raw) ? raw.ToString().ToLowerInvariant() : raw.ToString();
        int at = word.IndexOf('@');
        if (at > 0 && EmailRe().IsMatch(word))
        {
            output.Add(Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(word)))[..24]);
            return;
        }
        if (word.Contains("://", StringComparison.Ordinal) && UrlRe().Match(word) is { Success: true } url && url.Groups[1].Length > 1)
        {
            string host = CharClean(url.Groups[1].Value);
            output.Add(host);
            for (int n = 2; n <= HmmSequenceLength; n++) output.Add(host);
            foreach (var piece in url.Groups[2].Value.Split(PathSeparators, StringSplitOptions.RemoveEmptyEntries))
            {
                if (piece.Length < 2) continue;
                output.Add(CharClean(piece));
                if (output.Count == HmmSequenceLength + 1) break;
            }
            return;
        }
        output.Add(CharClean(word));
    }

    private static readonly char[] PathSeparators = ['/', '#', '?', '=', '&'];

    /// <summary>ASSP's BayesCharClean: placeholders for colours, hex strings and numbers; trims punctuation.</summary>
    internal static string CharClean(string w)
    {
        if (IsPlain(w)) return w;
        // Each rule runs only when the word has what it looks for: most words have none, and a regex call costs more
        // than the test (the results are the same either way).
        if (w.Contains('#'))
        {
            w = ColorRe().Replace(w, "randcolor");
            w = DecNumRe().Replace(w, "randdecnum");
        }
        if (HasHexRun(w)) w = ReplaceHexRuns(w);
        if (HasNumberRun(w)) w = ReplaceNumberRuns(w);
        w = w.TrimEnd(Punctuation).TrimStart(Punctuation);
        if (w.Contains("!!!", StringComparison.Ordinal)) w = BangsRe().Replace(w, "!!");
        if (w.Contains("**", StringComparison.Ordinal)) w = StarsRe().Replace(w, "**");
        if (w.Contains("--", StringComparison.Ordinal)) w = DashesRe().Replace(w, "-");
        if (w.Contains("__", StringComparison.Ordinal)) w = UnderscoresRe().Replace(w, "_");
        if (IsWildNum(w)) w = "randwildnum";
        if (w.Contains('\'') || w.Contains('"')) w = w.Replace("'", "quote").Replace("\"", "quote");
        return w;
    }

    private static readonly System.Buffers.SearchValues<char> WildNumChars = System.Buffers.SearchValues.Create(":.-+();<>,!\"'/%");

    /// <summary>
    /// ASSP's wild-number rule: the whole word is digits and number punctuation (dates, times, prices), optionally
    /// followed by "am" or "pm". A plain loop rather than a regex: it cannot time out on a long word, and is faster.
    /// </summary>
    internal static bool IsWildNum(string w)
    {
        int end = w.Length;
        if (end > 2 && w[end - 1] == 'm' && w[end - 2] is 'a' or 'p') end -= 2;
        if (end == 0) return false;
        for (int i = 0; i < end; i++)
            if (!char.IsDigit(w[i]) && !WildNumChars.Contains(w[i])) return false;
        return true;
    }

    /// <summary>Six hex characters in a row: the shortest match of HexRe.</summary>
    private static bool HasHexRun(string w)
    {
        int run = 0;
        foreach (char c in w)
        {
            if (c is (>= '0' and <= '9') or (>= 'a' and <= 'f')) { if (++run >= 6) return true; }
            else run = 0;
        }
        return false;
    }

    /// <summary>Two of digit, comma or dot in a row: the shortest match of NumberRe (\d is any Unicode digit there).</summary>
    private static bool HasNumberRun(string w)
    {
        for (int i = 1; i < w.Length; i++)
            if (IsNumberChar(w[i]) && IsNumberChar(w[i - 1])) return true;
        return false;
    }

    private static bool IsHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f');

    private static bool IsNumberChar(char c) => c is ',' or '.' || char.IsDigit(c);

    /// <summary>HexRe.Replace(w, "randword") as a loop: in every run of at least six hex characters, the longest
    /// even-length start becomes "randword" (an odd last character stays).</summary>
    internal static string ReplaceHexRuns(string w)
    {
        var result = new System.Text.StringBuilder(w.Length + 8);
        int i = 0;
        while (i < w.Length)
        {
            if (!IsHex(w[i])) { result.Append(w[i++]); continue; }
            int end = i;
            while (end < w.Length && IsHex(w[end])) end++;
            int run = end - i;
            if (run >= 6) result.Append("randword").Append(w, i + (run & ~1), run & 1);
            else result.Append(w, i, run);
            i = end;
        }
        return result.ToString();
    }

    /// <summary>NumberRe.Replace(w, "randnumber") as a loop: every run of two or more digits, commas and dots.</summary>
    internal static string ReplaceNumberRuns(string w)
    {
        var result = new System.Text.StringBuilder(w.Length + 16);
        int i = 0;
        while (i < w.Length)
        {
            if (!IsNumberChar(w[i])) { result.Append(w[i++]); continue; }
            int end = i;
            while (end < w.Length && IsNumberChar(w[end])) end++;
            if (end - i >= 2) result.Append("randnumber");
            else result.Append(w[i]);
            i = end;
        }
        return result.ToString();
    }

    private static readonly char[] Punctuation = "_[]~@%$&{}<>#(),.'\";:=!?*+/\\-".ToCharArray();

    /// <summary>True when no cleaning rule can change the word: letters only and no run of six hex letters.</summary>
    private static bool IsPlain(string w)
    {
        int hexRun = 0;
        foreach (char c in w)
        {
            if (c is >= 'a' and <= 'f') { if (++hexRun >= 6) return false; continue; }
            hexRun = 0;
            if (c < 128 ? c is < 'a' or > 'z' : !char.IsLetter(c)) return false;
        }
        return true;
    }

    [GeneratedRegex(@"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$", RegexOptions.NonBacktracking, 1000)]
    private static partial Regex EmailRe();
    [GeneratedRegex(@"^.*?(?:ht|f)tps?://([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)([?&/].*)?$", RegexOptions.NonBacktracking, 1000)]
    private static partial Regex UrlRe();
    [GeneratedRegex("#(?:[a-f0-9]{2})+", RegexOptions.None, 1000)]
    private static partial Regex ColorRe();
    [GeneratedRegex(@"^#\d+", RegexOptions.None, 1000)]
    private static partial Regex DecNumRe();
    // ASSP's patterns for ReplaceHexRuns and ReplaceNumberRuns, kept for the test that compares both.
    [GeneratedRegex("(?:[a-f0-9]{2}){3,}", RegexOptions.NonBacktracking, 1000)]
    internal static partial Regex HexRe();
    [GeneratedRegex(@"[\d,.]{2,}", RegexOptions.NonBacktracking, 1000)]
    internal static partial Regex NumberRe();
    [GeneratedRegex("!!!+", RegexOptions.None, 1000)]
    private static partial Regex BangsRe();
    [GeneratedRegex(@"\*\*+", RegexOptions.None, 1000)]
    private static partial Regex StarsRe();
    [GeneratedRegex("--+", RegexOptions.None, 1000)]
    private static partial Regex DashesRe();
    [GeneratedRegex("__+", RegexOptions.None, 1000)]
    private static partial Regex UnderscoresRe();
    // ASSP's pattern for IsWildNum, kept for the test that compares both.
    [GeneratedRegex(@"^[\d:.\-+();<>,!""'/%]+(?:[ap]m)?$", RegexOptions.None, 1000)]
    internal static partial Regex WildNumRe();
}
