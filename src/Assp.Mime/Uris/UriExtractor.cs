using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using System.Text;
using Assp.Mime.Html;

namespace Assp.Mime.Uris;

/// <summary>A URI found in a text, with its host normalised the way a URI blocklist wants it.</summary>
public sealed record FoundUri
{
    /// <summary>The text as it stood in the input (for HTML links: the entity-decoded attribute value).</summary>
    public required string Original { get; init; }

    /// <summary>Lower-case scheme ("http", "https", "ftp", "mailto"); "hxxp" is given as "http"; null
    /// when the input had none ("www.example.com", bare domains, "//host").</summary>
    public string? Scheme { get; init; }

    /// <summary>The host: lower case, ASCII (IDN labels in punycode), no trailing dot, no user info,
    /// no port; an IP address in its canonical form.</summary>
    public required string Host { get; init; }

    /// <summary>The host with punycode labels decoded to Unicode (equals <see cref="Host"/> for ASCII
    /// names); null for IP addresses.</summary>
    public string? UnicodeHost { get; init; }

    /// <summary>Registrable domain of <see cref="Host"/> by the Public Suffix List (ASCII form), or null
    /// for IPs and hosts that are themselves public suffixes.</summary>
    public string? RegistrableDomain { get; init; }

    /// <summary>The host is an IP address.</summary>
    public bool IsIp { get; init; }

    /// <summary>The address when <see cref="IsIp"/>.</summary>
    public IPAddress? Ip { get; init; }

    /// <summary>Comma-separated tricks that were undone to get <see cref="Host"/>, or null: dword-ip,
    /// short-ip, octal-ip, hex-ip, percent-encoding, userinfo, backslashes, trailing-dot, mixed-case,
    /// idn, html-entities, defanged, invisible-characters, whitespace.</summary>
    public string? Obfuscation { get; init; }
}

/// <summary>Options for <see cref="UriExtractor.Extract(string, bool, UriExtractorOptions)"/>.</summary>
public sealed class UriExtractorOptions
{
    /// <summary>Find bare domains ("example.com", "example.de/path") in text. Default true.</summary>
    public bool BareDomains { get; init; } = true;

    /// <summary>Stop after this many URIs (hostile input can hold hundreds of thousands). Default 10,000.</summary>
    public int MaxUris { get; init; } = 10_000;

    internal static readonly UriExtractorOptions Default = new();
}

/// <summary>Finds the URIs in plain text or HTML and undoes the host obfuscations spammers use
/// (numeric IPs, %-encoding, user@host, backslashes, punycode, entities, defanging, ...).</summary>
public static class UriExtractor
{
    private static readonly string[] Schemes = ["https", "http", "hxxps", "hxxp", "ftp", "mailto"];

    /// <summary>Generic TLDs accepted for a bare domain without path ("example.com").</summary>
    private static readonly FrozenSet<string> ClassicTlds = FrozenSet.ToFrozenSet(
    [
        "com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "name", "mobi", "asia", "pro", "tel",
        "travel", "jobs", "cat", "aero", "coop", "museum", "top", "xyz", "online", "site", "club", "shop", "store",
        "app", "dev", "icu", "vip", "work", "live", "link", "click", "win", "bid", "loan", "website", "tech",
        "buzz", "cyou", "monster", "cam", "cfd", "sbs", "lol", "email", "space", "life",
        "today", "world", "digital", "cloud", "host", "press", "news", "agency", "services", "company", "ltd",
        "group", "support", "network", "download", "gdn", "kim", "cricket", "accountant", "webcam", "xin",
        "beauty", "makeup", "quest", "boats", "yachts",
    ], StringComparer.Ordinal);

    /// <summary>Country codes that are also common words or file extensions ("this.is", "readme.md"):
    /// a bare domain with one of them needs a path or a third label.</summary>
    private static readonly FrozenSet<string> WordLikeCcTlds = FrozenSet.ToFrozenSet(
    [
        "am", "as", "at", "be", "by", "do", "go", "hi", "id", "in", "is", "it", "me", "my", "no", "of", "on",
        "so", "to", "tv", "us", "md", "py", "sh", "rs", "ps", "mk", "pm", "pl", "cc", "ai", "ms", "cs", "fr",
        "de", "nl", "se", "dk", "ch", "jp", "im", "la", "ma", "mp", "ml", "pe", "re", "st", "tt", "gs",
    ], StringComparer.Ordinal);

    /// <summary>Finds the URIs in <paramref name="text"/> (plain text, or HTML when
    /// <paramref name="isHtml"/>: then the links of the markup, its visible text and its hidden text).
    /// Each distinct original text is returned once, in order of appearance.</summary>
    public static IReadOnlyList<FoundUri> Extract(string text, bool isHtml) => Extract(text, isHtml, UriExtractorOptions.Default);

    /// <inheritdoc cref="Extract(string, bool)"/>
    public static IReadOnlyList<FoundUri> Extract(string text, bool isHtml, UriExtractorOptions options)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        var sink = new Sink(options.MaxUris);
        if (!isHtml)
        {
            ScanText(text, options.BareDomains, null, sink);
            return sink.Result;
        }

        var html = HtmlText.ToText(text);
        foreach (var link in html.LinkDetails)
        {
            if (sink.Full) break;
            string? trick = link.HadEntities ? "html-entities" : null;
            if (LooksAbsolute(link.Url)) sink.Add(link.Url, link.Url, trick);
            else ScanText(link.Url, bareDomains: false, trick, sink);
        }
        ScanText(html.Text, options.BareDomains, null, sink);
        ScanText(html.HiddenText, options.BareDomains, null, sink);
        return sink.Result;
    }

    /// <summary>Parses one URI or link value ("http://...", "www...", "//host", "mailto:...", a bare
    /// host) and undoes host obfuscations; null when there is no usable host.</summary>
    public static FoundUri? ParseUri(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return Parse(uri.Trim(), uri.Trim(), null);
    }

    // ---- text scanning -----------------------------------------------------------------------

    private sealed class Sink(int max)
    {
        private readonly HashSet<string> _seenOriginals = new(StringComparer.Ordinal);
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        public readonly List<FoundUri> Result = [];
        public bool Full => Result.Count >= max;

        /// <summary>Parses a candidate unless the same text was met before (repeats are common, and
        /// hostile input repeats one URL a hundred thousand times).</summary>
        public void Add(string original, string candidate, string? tricks)
        {
            if (Full || !_seenOriginals.Add(original)) return;
            var uri = Parse(original, candidate, tricks);
            if (uri is not null && _seen.Add(uri.Original + "\n" + uri.Host)) Result.Add(uri);
        }
    }

    private static bool LooksAbsolute(string v)
    {
        string t = v.TrimStart();
        if (t.StartsWith("//", StringComparison.Ordinal) || t.StartsWith(@"\\", StringComparison.Ordinal)) return true;
        if (t.StartsWith("www.", StringComparison.OrdinalIgnoreCase)) return true;
        return MatchScheme(RemoveTabsAndNewlines(t), 0, out _);
    }

    private static string RemoveTabsAndNewlines(string s) =>
        s.AsSpan().IndexOfAny('\t', '\r', '\n') < 0 ? s : s.Replace("\t", "", StringComparison.Ordinal)
            .Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal);

    private static void ScanText(string text, bool bareDomains, string? trick, Sink sink)
    {
        // Invisible characters go first; map[] leads back to the original positions.
        string s = text;
        int[]? map = null;
        if (HasInvisible(text))
        {
            var sb = new StringBuilder(text.Length);
            var positions = new List<int>(text.Length);
            for (int k = 0; k < text.Length;)
            {
                if (InvisibleCharacters.IsInvisibleAt(text, k, out int len)) { k += len; continue; }
                sb.Append(text[k]);
                positions.Add(k);
                k++;
            }
            s = sb.ToString();
            map = [.. positions];
        }

        int n = s.Length, i = 0;
        while (i < n && !sink.Full)
        {
            char c = s[i];
            if (!char.IsLetterOrDigit(c)) { i++; continue; }
            char prev = i > 0 ? s[i - 1] : ' ';
            if (char.IsLetterOrDigit(prev) || prev is '-' or '_') { i++; continue; }

            int end;
            if (MatchScheme(s, i, out int afterScheme)) end = ScanUrlEnd(s, afterScheme);
            else if (string.Compare(s, i, "www.", 0, 4, StringComparison.OrdinalIgnoreCase) == 0) end = ScanUrlEnd(s, i);
            else if (bareDomains) end = TryBareDomain(s, i, prev);
            else end = -1;

            if (end <= i)
            {
                i = SkipHostRun(s, i);
                continue;
            }

            string candidate = s[i..end];
            string original = candidate;
            string? tricks = trick;
            if (map is not null)
            {
                int os = map[i], oe = map[end - 1] + 1;
                original = text[os..oe];
                if (original.Length != candidate.Length) tricks = Join(tricks, "invisible-characters");
            }
            sink.Add(original, candidate, tricks);
            i = end;
        }
    }

    private static bool HasInvisible(string text)
    {
        for (int k = 0; k < text.Length; k++) if (InvisibleCharacters.IsInvisibleAt(text, k, out _)) return true;
        return false;
    }

    private static int SkipHostRun(string s, int i)
    {
        int j = i + 1;
        while (j < s.Length && IsHostChar(s[j])) j++;
        return j;
    }

    private static bool IsHostChar(char c) =>
        char.IsLetterOrDigit(c) || c is '-' or '.' or '_' || (c >= 0x80 && CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark);

    /// <summary>"http:", "https:", "hxxp:", "ftp:" followed by a slash or backslash, or "mailto:".</summary>
    private static bool MatchScheme(string s, int i, out int after)
    {
        foreach (var scheme in Schemes)
        {
            int e = i + scheme.Length;
            if (e >= s.Length || s[e] != ':' || string.Compare(s, i, scheme, 0, scheme.Length, StringComparison.OrdinalIgnoreCase) != 0)
                continue;
            if (scheme == "mailto") { after = e + 1; return e + 1 < s.Length && s[e + 1] != ' '; }
            if (e + 1 < s.Length && s[e + 1] is '/' or '\\') { after = e + 1; return true; }
        }
        after = i;
        return false;
    }

    private static bool IsTerminator(char c) =>
        char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or '"' or '\'' or '`' or '{' or '}' or '|' or '^'
            or '\u201C' or '\u201D' or '\u2018' or '\u2019' or '\u00AB' or '\u00BB' or '\u3001' or '\u3002' or '\uFF0C';

    private static int ScanUrlEnd(string s, int from)
    {
        int j = from;
        while (j < s.Length && !IsTerminator(s[j])) j++;
        // Trailing punctuation belongs to the sentence, a closing bracket only if unbalanced.
        while (j > from)
        {
            char last = s[j - 1];
            if (last is '.' or ',' or ';' or ':' or '!' or '?' or '*' or '\'' or '"') { j--; continue; }
            if (last is ')' or ']')
            {
                char open = last == ')' ? '(' : '[';
                int opens = 0, closes = 0;
                for (int k = from; k < j; k++) { if (s[k] == open) opens++; else if (s[k] == last) closes++; }
                if (closes > opens) { j--; continue; }
            }
            break;
        }
        return j;
    }

    private static int TryBareDomain(string s, int i, char prev)
    {
        if (prev is '@' or '.' or '/' or '\\' or '=' or '%' or '&' or '?' or '#' or '+' or '$' or '~') return -1;
        int j = i;
        while (j < s.Length && IsHostChar(s[j])) j++;
        int runEnd = j;
        if (runEnd < s.Length && s[runEnd] == '@') return -1; // local part of an address
        int hostEnd = runEnd;
        while (hostEnd > i && s[hostEnd - 1] is '.' or '-' or '_') hostEnd--;
        if (hostEnd <= i) return -1;
        string host = s[i..hostEnd];
        var labels = host.Split('.');
        if (labels.Length < 2) return -1;
        foreach (var label in labels)
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return -1;
        string tld = labels[^1];
        if (tld.Length < 2 || tld.All(char.IsAsciiDigit)) return -1;
        string tldLower = tld.ToLowerInvariant();
        if (!PublicSuffixList.IsKnownTld(tldLower)) return -1;

        bool hasPath = hostEnd == runEnd && runEnd < s.Length
            && (s[runEnd] == '/' || (s[runEnd] == ':' && runEnd + 1 < s.Length && char.IsAsciiDigit(s[runEnd + 1])));
        if (hasPath) return ScanUrlEnd(s, runEnd);

        // Without a path be strict: the TLD is written in lower case, and it is a classic generic TLD
        // or a country code that is not a common word or file extension (or there is a third label).
        if (tld != tldLower) return -1;
        bool plausible = ClassicTlds.Contains(tldLower)
            || (tldLower.Length == 2 && (!WordLikeCcTlds.Contains(tldLower) || labels.Length >= 3))
            || (!Punycode.IsAscii(tldLower) || tldLower.StartsWith("xn--", StringComparison.Ordinal))
            || (labels.Length >= 3 && labels[0].Equals("www", StringComparison.OrdinalIgnoreCase));
        return plausible ? hostEnd : -1;
    }

    // ---- parsing one candidate ---------------------------------------------------------------

    private static string? Join(string? a, string b) =>
        a is null ? b : a.Split(',').Contains(b) ? a : a + "," + b;

    private static FoundUri? Parse(string original, string candidate, string? tricks)
    {
        string s = candidate.Trim();
        if (s.AsSpan().IndexOfAny('\t', '\r', '\n') >= 0) { s = RemoveTabsAndNewlines(s); tricks = Join(tricks, "whitespace"); }
        if (s.Contains('\\')) { s = s.Replace('\\', '/'); tricks = Join(tricks, "backslashes"); }

        string? scheme = null;
        int p = 0;
        int colon = s.IndexOf(':');
        if (colon > 0 && IsSchemeName(s.AsSpan(0, colon)))
        {
            string sch = s[..colon].ToLowerInvariant();
            if (sch.StartsWith("hxx", StringComparison.Ordinal)) { sch = "htt" + sch[3..]; tricks = Join(tricks, "defanged"); }
            switch (sch)
            {
                case "mailto":
                {
                    string addr = s[(colon + 1)..];
                    int q = addr.IndexOfAny(['?', '#']);
                    if (q >= 0) addr = addr[..q];
                    int comma = addr.IndexOf(',');
                    if (comma >= 0) addr = addr[..comma];
                    if (addr.Contains('%')) addr = PercentDecode(addr, ref tricks);
                    int at = addr.LastIndexOf('@');
                    if (at < 0) return null;
                    return BuildHost(original, "mailto", addr[(at + 1)..], tricks);
                }
                case "http":
                case "https":
                case "ftp":
                case "ftps":
                    scheme = sch;
                    p = colon + 1;
                    while (p < s.Length && s[p] == '/') p++;
                    break;
                default:
                    // "www.example.com:8080/x" has no scheme; anything else ("javascript:", "cid:") is no web link
                    if (!s.StartsWith("www.", StringComparison.OrdinalIgnoreCase)) return null;
                    break;
            }
        }
        else if (s.StartsWith("//", StringComparison.Ordinal))
        {
            p = 2;
            while (p < s.Length && s[p] == '/') p++;
        }

        int end = s.IndexOfAny(['/', '?', '#'], p);
        string authority = end < 0 ? s[p..] : s[p..end];
        int atSign = authority.LastIndexOf('@');
        if (atSign >= 0)
        {
            authority = authority[(atSign + 1)..];
            tricks = Join(tricks, "userinfo");
        }
        if (authority.Contains('%')) authority = PercentDecode(authority, ref tricks);
        if (authority.Contains('@'))
        {
            // "%40" decoded to a second user@host split
            authority = authority[(authority.LastIndexOf('@') + 1)..];
            tricks = Join(tricks, "userinfo");
        }
        return BuildHost(original, scheme, authority, tricks);
    }

    private static bool IsSchemeName(ReadOnlySpan<char> name)
    {
        if (name.Length == 0 || !char.IsAsciiLetter(name[0])) return false;
        foreach (char c in name) if (!char.IsAsciiLetterOrDigit(c) && c is not '+' and not '-' and not '.') return false;
        return true;
    }

    private static string PercentDecode(string s, ref string? tricks)
    {
        var bytes = new List<byte>(s.Length);
        bool changed = false;
        for (int k = 0; k < s.Length; k++)
        {
            if (s[k] == '%' && k + 2 < s.Length && char.IsAsciiHexDigit(s[k + 1]) && char.IsAsciiHexDigit(s[k + 2]))
            {
                bytes.Add(byte.Parse(s.AsSpan(k + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                k += 2;
                changed = true;
            }
            else bytes.AddRange(Encoding.UTF8.GetBytes(s[k].ToString()));
        }
        if (!changed) return s;
        tricks = Join(tricks, "percent-encoding");
        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static FoundUri? BuildHost(string original, string? scheme, string authority, string? tricks)
    {
        string host = authority.Trim();
        // Port, or an IPv6 literal.
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            if (close < 0 || !IPAddress.TryParse(host[1..close], out var v6)) return null;
            return new FoundUri { Original = original, Scheme = scheme, Host = v6.ToString(), IsIp = true, Ip = v6, Obfuscation = tricks };
        }
        int portColon = host.LastIndexOf(':');
        if (portColon >= 0)
        {
            if (!host.AsSpan(portColon + 1).ContainsAnyExcept("0123456789")) host = host[..portColon];
            else return null;
        }

        foreach (var pattern in (string[])["[.]", "(.)", "[dot]", "(dot)", "{.}"])
        {
            if (host.Contains(pattern, StringComparison.OrdinalIgnoreCase))
            {
                host = host.Replace(pattern, ".", StringComparison.OrdinalIgnoreCase);
                tricks = Join(tricks, "defanged");
            }
        }
        host = host.Replace('\u3002', '.').Replace('\uFF0E', '.').Replace('\uFF61', '.');
        if (host.EndsWith('.'))
        {
            host = host.TrimEnd('.');
            tricks = Join(tricks, "trailing-dot");
        }
        if (host.Length == 0 || host.StartsWith('.') || host.Contains("..", StringComparison.Ordinal)) return null;
        bool mixedCase = host.Any(char.IsAsciiLetterUpper);
        host = host.ToLowerInvariant();

        if (TryParseIPv4(host, out var ip, out string? ipTrick))
        {
            if (ipTrick is not null) tricks = Join(tricks, ipTrick);
            return new FoundUri { Original = original, Scheme = scheme, Host = ip.ToString(), IsIp = true, Ip = ip, Obfuscation = tricks };
        }
        if (mixedCase) tricks = Join(tricks, "mixed-case");

        foreach (char c in host)
        {
            if (c < 0x80 ? !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') : char.IsWhiteSpace(c) || char.IsControl(c) || char.IsPunctuation(c) && c != '\u30FB')
                return null;
        }

        string ascii = host, unicode = host;
        if (!Punycode.IsAscii(host))
        {
            ascii = Punycode.ToAscii(host);
            unicode = Punycode.ToUnicode(ascii);
            tricks = Join(tricks, "idn");
        }
        else if (host.Contains("xn--", StringComparison.Ordinal))
        {
            unicode = Punycode.ToUnicode(host);
            if (unicode != host) tricks = Join(tricks, "idn");
        }
        if (ascii.Length > 253) return null;

        return new FoundUri
        {
            Original = original,
            Scheme = scheme,
            Host = ascii,
            UnicodeHost = unicode,
            RegistrableDomain = PublicSuffixList.GetRegistrableDomain(ascii),
            Obfuscation = tricks,
        };
    }

    /// <summary>IPv4 the way inet_aton and browsers read it: 1 to 4 parts, each decimal, octal (leading
    /// 0) or hex (0x); the last part fills the remaining bytes ("3232235777", "192.168.257").</summary>
    internal static bool TryParseIPv4(string host, out IPAddress ip, out string? trick)
    {
        ip = IPAddress.None;
        trick = null;
        if (host.Length == 0 || host.Length > 64) return false;
        var parts = host.Split('.');
        if (parts.Length > 4) return false;
        // Only a numeric last label makes an IPv4 address ("1.2.3.com" is a name).
        string lastPart = parts[^1];
        if (lastPart.Length == 0 || !(lastPart.All(char.IsAsciiDigit)
            || (lastPart.Length > 2 && lastPart[0] == '0' && (lastPart[1] | 0x20) == 'x' && lastPart.AsSpan(2).ContainsAnyExcept("0123456789abcdefABCDEF") == false)))
            return false;

        Span<ulong> values = stackalloc ulong[4];
        bool hex = false, octal = false;
        for (int k = 0; k < parts.Length; k++)
        {
            string part = parts[k];
            if (part.Length == 0) return false;
            ulong v;
            if (part.Length >= 2 && part[0] == '0' && (part[1] | 0x20) == 'x')
            {
                var digits = part.AsSpan(2);
                if (digits.Length == 0) v = 0;
                else if (digits.TrimStart('0').Length > 8 || !ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v)) return false;
                hex = true;
            }
            else if (part.Length >= 2 && part[0] == '0')
            {
                v = 0;
                foreach (char c in part)
                {
                    if (c is < '0' or > '7') return false;
                    v = v * 8 + (ulong)(c - '0');
                    if (v > uint.MaxValue) return false;
                }
                octal = true;
            }
            else
            {
                if (!part.All(char.IsAsciiDigit) || part.Length > 10 || !ulong.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out v)) return false;
            }
            values[k] = v;
        }
        int count = parts.Length;
        for (int k = 0; k < count - 1; k++) if (values[k] > 255) return false;
        ulong last = values[count - 1];
        if (last >= 1UL << (8 * (5 - count))) return false;
        ulong addr = last;
        for (int k = 0; k < count - 1; k++) addr |= values[k] << (8 * (3 - k));

        var bytes = new byte[] { (byte)(addr >> 24), (byte)(addr >> 16), (byte)(addr >> 8), (byte)addr };
        ip = new IPAddress(bytes);
        var list = new List<string>();
        if (count == 1) list.Add("dword-ip");
        else if (count < 4) list.Add("short-ip");
        if (octal) list.Add("octal-ip");
        if (hex) list.Add("hex-ip");
        trick = list.Count == 0 ? null : string.Join(',', list);
        return true;
    }
}
