using System.Collections.Concurrent;
using System.Text;

namespace Assp.Mime;

/// <summary>
/// Maps the charset names found in mail (with all their aliases and misspellings) to .NET encodings.
/// Unknown charsets yield <c>null</c> from <see cref="GetEncoding"/>; the decoding helpers fall back to Latin-1.
/// </summary>
public static class Charsets
{
    private static readonly ConcurrentDictionary<string, Encoding?> Cache = new(StringComparer.OrdinalIgnoreCase);

    private static readonly Dictionary<string, int> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["utf8"] = 65001, ["utf-8"] = 65001, ["unicode-1-1-utf-8"] = 65001, ["x-unicode20utf8"] = 65001, ["utf_8"] = 65001,
        ["utf-7"] = 65000, ["utf7"] = 65000, ["unicode-1-1-utf-7"] = 65000, ["x-unicode-2-0-utf-7"] = 65000,
        ["latin1"] = 28591, ["latin-1"] = 28591, ["l1"] = 28591, ["cp819"] = 28591, ["ibm819"] = 28591, ["iso-ir-100"] = 28591,
        ["latin2"] = 28592, ["l2"] = 28592, ["latin3"] = 28593, ["latin4"] = 28594, ["cyrillic"] = 28595, ["arabic"] = 28596,
        ["greek"] = 28597, ["hebrew"] = 28598, ["latin5"] = 28599, ["latin9"] = 28605, ["latin-9"] = 28605, ["latin0"] = 28605,
        ["us-ascii"] = 20127, ["ascii"] = 20127, ["ansi_x3.4-1968"] = 20127, ["iso646-us"] = 20127, ["646"] = 20127, ["us"] = 20127, ["iso-ir-6"] = 20127, ["csascii"] = 20127,
        ["x-mac-roman"] = 10000, ["mac"] = 10000, ["macintosh"] = 10000, ["macroman"] = 10000, ["x-mac"] = 10000, ["csmacintosh"] = 10000,
        ["x-mac-cyrillic"] = 10007, ["x-mac-ce"] = 10029, ["x-mac-greek"] = 10006, ["x-mac-turkish"] = 10081,
        ["ks_c_5601-1987"] = 949, ["ks_c_5601"] = 949, ["ksc5601"] = 949, ["ks_c_5601-1989"] = 949, ["korean"] = 949,
        ["euc-kr"] = 949, ["euckr"] = 949, ["x-euc-kr"] = 949, ["cp949"] = 949, ["uhc"] = 949, ["x-windows-949"] = 949,
        ["gb2312"] = 936, ["gbk"] = 936, ["x-gbk"] = 936, ["cp936"] = 936, ["euc-cn"] = 936, ["x-euc-cn"] = 936, ["csgb2312"] = 936,
        ["chinese"] = 936, ["gb_2312-80"] = 936, ["gb2312-80"] = 936, ["hz-gb-2312"] = 52936,
        ["gb18030"] = 54936, ["gb-18030"] = 54936,
        ["big5"] = 950, ["big-5"] = 950, ["cn-big5"] = 950, ["x-x-big5"] = 950, ["csbig5"] = 950, ["big5-hkscs"] = 950, ["cp950"] = 950,
        ["shift_jis"] = 932, ["shift-jis"] = 932, ["sjis"] = 932, ["x-sjis"] = 932, ["ms_kanji"] = 932, ["csshiftjis"] = 932,
        ["cp932"] = 932, ["windows-31j"] = 932, ["x-ms-cp932"] = 932,
        ["euc-jp"] = 51932, ["x-euc-jp"] = 51932, ["eucjp"] = 51932, ["x-euc"] = 51932,
        ["iso-2022-jp"] = 50220, ["csiso2022jp"] = 50220, ["iso-2022-jp-2"] = 50220, ["iso-2022-kr"] = 50225, ["csiso2022kr"] = 50225,
        ["koi8-r"] = 20866, ["koi8r"] = 20866, ["koi8"] = 20866, ["cskoi8r"] = 20866, ["koi8-u"] = 21866, ["koi8u"] = 21866,
        ["tis-620"] = 874, ["tis620"] = 874, ["windows-874"] = 874, ["iso-8859-11"] = 874, ["x-windows-874"] = 874,
        ["iso-8859-8-i"] = 38598, ["iso-8859-6-i"] = 28596, ["iso-8859-8-e"] = 28598, ["visual"] = 28598,
        ["utf-16"] = 1200, ["utf-16le"] = 1200, ["utf16"] = 1200, ["ucs-2"] = 1200, ["unicode"] = 1200, ["utf-16be"] = 1201,
        ["utf-32"] = 12000, ["utf-32le"] = 12000, ["utf-32be"] = 12001,
        ["cp850"] = 850, ["ibm850"] = 850, ["cp437"] = 437, ["ibm437"] = 437, ["cp866"] = 866, ["ibm866"] = 866, ["cp852"] = 852,
    };

    private static readonly HashSet<string> Unknowns = new(StringComparer.OrdinalIgnoreCase)
    {
        "unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined", "charset", "8bit", "none", "",
    };

    static Charsets() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>Call once to make sure the code-page provider is registered (the static constructor does it).</summary>
    public static void EnsureRegistered() { }

    /// <summary>Latin-1: the fallback for unknown charsets and undecodable 8-bit header bytes.</summary>
    public static Encoding Latin1 => Encoding.Latin1;

    /// <summary>Strips quotes, whitespace and an RFC 2231 language suffix ("utf-8*en") from a charset name.</summary>
    public static string Normalize(string name)
    {
        var s = name.Trim().Trim('"', '\'').Trim();
        int star = s.IndexOf('*');
        if (star >= 0) s = s[..star];
        return s;
    }

    /// <summary>The encoding for a charset name, or null when the name is unknown.</summary>
    public static Encoding? GetEncoding(string? name)
    {
        if (name is null) return null;
        if (Cache.TryGetValue(name, out var cached)) return cached;
        var enc = Resolve(Normalize(name));
        if (Cache.Count < 4096) Cache[name] = enc;
        return enc;
    }

    /// <summary>The encoding for a charset name; <paramref name="fallback"/> (Latin-1 by default) when unknown.</summary>
    public static Encoding GetEncodingOrFallback(string? name, Encoding? fallback = null) => GetEncoding(name) ?? fallback ?? Latin1;

    private static Encoding? Resolve(string n)
    {
        if (Unknowns.Contains(n)) return null;
        if (Aliases.TryGetValue(n, out int cp)) return FromCodePage(cp);
        string lower = n.ToLowerInvariant();
        // windows-1252, cp1252, x-cp1252, win-1252, win1252
        foreach (var prefix in new[] { "windows-", "windows", "x-cp", "cp-", "cp", "win-", "win", "ms-", "ibm" })
        {
            if (lower.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(lower.AsSpan(prefix.Length), out int num) && num > 0 && num < 70000)
            {
                var e = FromCodePage(num);
                if (e is not null) return e;
            }
        }
        // iso-8859-x, iso8859-x, iso_8859-x, iso-8859-x:1987, 8859-x
        int idx = lower.IndexOf("8859", StringComparison.Ordinal);
        if (idx >= 0)
        {
            var rest = lower.AsSpan(idx + 4).TrimStart("-_ ");
            int len = 0;
            while (len < rest.Length && char.IsAsciiDigit(rest[len])) len++;
            if (len > 0 && int.TryParse(rest[..len], out int part))
            {
                int code = part switch
                {
                    >= 1 and <= 9 => 28590 + part,
                    11 => 874,
                    13 => 28603,
                    15 => 28605,
                    _ => 0,
                };
                if (code != 0) return FromCodePage(code);
                return null;
            }
        }
        try { return Encoding.GetEncoding(n); }
        catch (ArgumentException) { return null; }
        catch (NotSupportedException) { return null; }
    }

    private static Encoding? FromCodePage(int cp)
    {
        try
        {
            switch (cp)
            {
                case 65001: return new UTF8Encoding(false, false);
                case 65000:
#pragma warning disable SYSLIB0001 // UTF-7 is obsolete, but mail still uses it.
                    return new UTF7Encoding(true);
#pragma warning restore SYSLIB0001
                case 20127: return Encoding.ASCII;
                case 28591: return Encoding.Latin1;
                default: return Encoding.GetEncoding(cp);
            }
        }
        catch (ArgumentException) { return null; }
        catch (NotSupportedException) { return null; }
    }

    /// <summary>True when the charset name denotes US-ASCII (or is absent).</summary>
    public static bool IsAsciiOrMissing(string? name) => name is null || GetEncoding(name) is { CodePage: 20127 };

    /// <summary>
    /// Decodes bytes declared to be in <paramref name="charset"/>. Unknown charsets decode as Latin-1 (with
    /// <paramref name="unknownCharset"/> set); 8-bit data declared as US-ASCII (or undeclared) decodes as UTF-8 when
    /// it is valid UTF-8 and as Windows-1252 otherwise.
    /// </summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? charset, out bool unknownCharset)
    {
        unknownCharset = false;
        if (bytes.IsEmpty) return string.Empty;
        Encoding? enc = charset is null ? null : GetEncoding(charset);
        if (enc is null && charset is not null && !Unknowns.Contains(Normalize(charset))) unknownCharset = true;
        if (enc is null || enc.CodePage == 20127)
        {
            if (System.Text.Ascii.IsValid(bytes)) return Encoding.ASCII.GetString(bytes);
            if (System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
            return (enc is null && charset is not null ? Latin1 : FromCodePage(1252) ?? Latin1).GetString(bytes);
        }
        // As browsers do (WHATWG), read ISO-8859-1 as its superset Windows-1252: mailers mean it.
        if (enc.CodePage == 28591) enc = FromCodePage(1252) ?? enc;
        return enc.GetString(bytes);
    }

    /// <summary>Decodes bytes as in <see cref="Decode(ReadOnlySpan{byte}, string?, out bool)"/>.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? charset) => Decode(bytes, charset, out _);

    /// <summary>Header bytes to a string: UTF-8 when valid (RFC 6532), otherwise the fallback (Latin-1).</summary>
    public static string DecodeHeaderBytes(ReadOnlySpan<byte> bytes, Encoding? fallback = null)
    {
        if (System.Text.Ascii.IsValid(bytes)) return Encoding.ASCII.GetString(bytes);
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        return (fallback ?? Latin1).GetString(bytes);
    }
}
