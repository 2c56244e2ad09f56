using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace Assp.Mime.Attachments;

/// <summary>
/// Finds the active content of a PDF as ASSP_AFC judges it: JavaScript, launch actions, actions run on opening,
/// embedded files, links that fetch executables or open local files, and certificate signatures. The objects are
/// read from the file and from its Flate-compressed streams (object streams hide them there); name obfuscation
/// with #xx escapes (/J#61vaScript) is undone first. Work is bounded: the first <see cref="MaxScan"/> bytes, each
/// stream inflated to at most <see cref="MaxInflated"/> bytes.
/// </summary>
public static partial class PdfScanner
{
    public const int MaxScan = 4 * 1024 * 1024;
    public const int MaxInflated = 1024 * 1024;
    private const int MaxTotalInflated = 8 * 1024 * 1024;
    private const int MaxStreams = 2000;

    [GeneratedRegex(@"(?<=/[A-Za-z0-9#]*)#([0-9A-Fa-f]{2})", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex NameEscape();

    [GeneratedRegex(@"/URI\s*\(([^)]{0,2000})\)", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex UriAction();

    [GeneratedRegex(@"^(?:file:|\\\\)|\.(?:exe|scr|bat|cmd|com|pif|js|jse|vbs|vbe|wsf|wsh|hta|ps1|jar|msi|lnk|dll|cpl|reg)(?:$|[?#&""'\s])",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, 1000)]
    private static partial Regex BadTarget();

    /// <summary>The findings, each one of: JavaScript, Launch, OpenAction, AA, EmbeddedFile, ExeURI, Signed.</summary>
    public static IReadOnlyList<string> Findings(ReadOnlySpan<byte> pdf)
    {
        var raw = pdf[..Math.Min(pdf.Length, MaxScan)];
        var texts = new List<string> { Encoding.Latin1.GetString(raw) };
        texts.AddRange(InflatedStreams(raw));
        var found = new List<string>();
        bool signed = false;
        foreach (var t0 in texts)
        {
            string t;
            try { t = t0.Contains('#', StringComparison.Ordinal) ? NameEscape().Replace(t0, m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString()) : t0; }
            catch (RegexMatchTimeoutException) { t = t0; }
            if (Has(t, "/JavaScript") || HasName(t, "/JS")) Add(found, "JavaScript");
            if (Has(t, "/Launch")) Add(found, "Launch");
            if (Has(t, "/OpenAction")) Add(found, "OpenAction");
            if (HasName(t, "/AA")) Add(found, "AA");
            if (Has(t, "/EmbeddedFile")) Add(found, "EmbeddedFile");
            if (HasName(t, "/Sig") && Has(t, "/ByteRange") || HasName(t, "/Cert")) signed = true;
            try
            {
                foreach (Match m in UriAction().Matches(t))
                    if (BadTarget().IsMatch(m.Groups[1].Value.Trim())) { Add(found, "ExeURI"); break; }
            }
            catch (RegexMatchTimeoutException) { Add(found, "ExeURI"); }
        }
        if (signed) Add(found, "Signed");
        return found;
    }

    private static void Add(List<string> list, string item) { if (!list.Contains(item)) list.Add(item); }

    private static bool Has(string text, string token) => text.Contains(token, StringComparison.Ordinal);

    /// <summary>A name token that is not the start of a longer name (/JS, not /JSON).</summary>
    private static bool HasName(string text, string name)
    {
        for (int i = text.IndexOf(name, StringComparison.Ordinal); i >= 0; i = text.IndexOf(name, i + 1, StringComparison.Ordinal))
        {
            int end = i + name.Length;
            if (end >= text.Length || !char.IsAsciiLetterOrDigit(text[end])) return true;
        }
        return false;
    }

    /// <summary>The Flate streams of the file, inflated within the limits; broken streams are skipped.</summary>
    private static IEnumerable<string> InflatedStreams(ReadOnlySpan<byte> pdf)
    {
        var result = new List<string>();
        long total = 0;
        int pos = 0, streams = 0;
        // One buffer for every stream: a PDF of many small streams must not cost a megabyte each.
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(MaxInflated);
        try
        {
            while (total < MaxTotalInflated && streams++ < MaxStreams)
            {
                int s = pdf[pos..].IndexOf("stream"u8);
                if (s < 0) break;
                s += pos;
                int start = s + 6;
                // "endstream" also contains "stream": skip it.
                if (s >= 3 && pdf.Slice(s - 3, 3).SequenceEqual("end"u8)) { pos = start; continue; }
                if (start < pdf.Length && pdf[start] == '\r') start++;
                if (start < pdf.Length && pdf[start] == '\n') start++;
                int e = pdf[start..].IndexOf("endstream"u8);
                if (e < 0) break;
                var data = pdf.Slice(start, e);
                pos = start + e + 9;
                // Only streams whose dictionary (just before) names FlateDecode.
                var dict = pdf[Math.Max(0, s - 512)..s];
                if (dict.IndexOf("FlateDecode"u8) < 0 && dict.IndexOf("/Fl"u8) < 0) continue;
                var text = Inflate(data, buffer);
                if (text is null) continue;
                total += text.Length;
                result.Add(text);
            }
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        return result;
    }

    private static string? Inflate(ReadOnlySpan<byte> data, byte[] buf)
    {
        try
        {
            using var input = new MemoryStream(data.ToArray(), writable: false);
            using var z = new ZLibStream(input, CompressionMode.Decompress);
            int n = 0;
            while (n < MaxInflated)
            {
                int r = z.Read(buf, n, MaxInflated - n);
                if (r <= 0) break;
                n += r;
            }
            return n == 0 ? null : Encoding.Latin1.GetString(buf, 0, n);
        }
        catch (InvalidDataException) { return null; }
    }
}
