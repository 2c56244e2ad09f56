using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Assp.Mime.Attachments;

namespace Assp.Mime.Conversion;

/// <summary>What <see cref="MessageConverter"/> is to do.</summary>
public sealed record ConversionOptions
{
    /// <summary>Charset rules for text parts and for the encoded words of the top-level header (empty: none).</summary>
    public CharsetMap Charsets { get; init; } = CharsetMap.Empty;

    /// <summary>Turn application/ms-tnef parts (winmail.dat) into ordinary MIME parts.</summary>
    public bool ConvertTnef { get; init; }

    /// <summary>Keep the TNEF part after a successful conversion (keepInTNEF / keepOutTNEF).</summary>
    public bool KeepTnef { get; init; } = true;

    /// <summary>Limits for reading TNEF.</summary>
    public TnefReadOptions TnefLimits { get; init; } = TnefReadOptions.Default;
}

/// <summary>The outcome of a conversion: the new message (null when nothing changed) and what was done.</summary>
/// <param name="Message">The converted message, or null when nothing was converted.</param>
/// <param name="Log">One line per action, for the maillog.</param>
/// <param name="Debug">Details of the TNEF reading (what TNEFDEBUG shows).</param>
public sealed record ConversionResult(byte[]? Message, IReadOnlyList<string> Log, IReadOnlyList<string> Debug)
{
    /// <summary>True when a TNEF part was turned into MIME parts.</summary>
    public bool TnefConverted { get; init; }
}

/// <summary>
/// Rewrites a message before it is forwarded, as ASSP's inChrSetConv/outChrSetConv and doInFixTNEF/doOutFixTNEF do:
/// text parts whose charset has a rule are decoded and written again in the target charset (Content-Type's charset
/// changed; quoted-printable when the result is 8-bit and the part was not base64 or quoted-printable already), the
/// top-level header's encoded words in such a charset are re-encoded, and TNEF parts (application/ms-tnef with a
/// Content-Disposition and a Content-Transfer-Encoding; never application/octet-stream) get their message text and
/// attached files added as MIME parts right after them. Everything else is copied byte for byte.
/// </summary>
public static class MessageConverter
{
    private static readonly Regex s_charsetParam = new(@"(charset\s*=\s*)(""[^""]*""|'[^']*'|[^\s;""]+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    private static readonly Regex s_encodedWord = new(@"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=",
        RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    /// <summary>Converts <paramref name="message"/>; never throws on malformed content (such parts stay as they are).</summary>
    public static ConversionResult Convert(MimeMessage message, ConversionOptions options)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(options);
        var log = new List<string>();
        var debug = new List<string>();
        var src = message.Source;
        var root = message.Root;
        var splices = new List<(int Start, int End, byte[] Bytes)>();
        bool tnefDone = false;

        var eolRoot = Eol(src.Span, root.HeaderStart);
        bool rootRewritten = false;
        int partNo = 0;
        foreach (var entity in Editable(message))
        {
            partNo++;
            if (!options.Charsets.IsEmpty && entity.IsText && entity.ContentTransferEncoding != ContentEncoding.UUEncode
                && options.Charsets.TargetFor(entity.Charset) is { } target
                && ConvertText(entity, target, options.Charsets, ReferenceEquals(entity, root), log, partNo) is { } converted)
            {
                splices.Add((entity.HeaderStart, entity.BodyEnd, converted));
                if (ReferenceEquals(entity, root)) rootRewritten = true;
                continue;
            }
            if (options.ConvertTnef && IsConvertibleTnef(entity) && entity.Parent is { } parent
                && ConvertTnef(entity, parent, options, log, debug) is { } parts)
            {
                splices.Add((entity.HeaderStart, entity.BodyEnd, parts));
                tnefDone = true;
            }
        }

        // The top-level header: encoded words in a charset with a rule (unless the whole root was written already).
        if (!rootRewritten && !options.Charsets.IsEmpty)
        {
            foreach (var h in root.Headers)
            {
                if (HeaderLine(h, options.Charsets, log) is { } line) splices.Add((h.Offset, h.Offset + h.RawLine.Length, line));
            }
        }
        if (splices.Count == 0) return new ConversionResult(null, log, debug);
        if (!rootRewritten && !root.Headers.Contains("MIME-Version"))
            splices.Add((root.HeaderEnd, root.HeaderEnd, Encoding.ASCII.GetBytes("MIME-Version: 1.0" + eolRoot)));

        var output = new ArrayBufferWriter<byte>(src.Length + 1024);
        int cursor = 0;
        foreach (var (start, end, bytes) in splices.OrderBy(s => s.Start).ThenBy(s => s.End))
        {
            if (start < cursor) continue;   // inside a part already rewritten
            output.Write(src.Span[cursor..start]);
            output.Write(bytes);
            cursor = end;
        }
        output.Write(src.Span[cursor..]);
        return new ConversionResult(output.WrittenSpan.ToArray(), log, debug) { TnefConverted = tnefDone };
    }

    /// <summary>True for a part ASSP converts: application/ms-tnef (or the registered vnd.ms-tnef) with a
    /// Content-Disposition of attachment or inline and a Content-Transfer-Encoding; not an octet-stream winmail.dat.</summary>
    public static bool IsConvertibleTnef(MimeEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        if (entity.IsMultipart || entity.MimeType is not ("application/ms-tnef" or "application/vnd.ms-tnef")) return false;
        var disposition = entity.Headers.Get("Content-Disposition")?.UnfoldedValue;
        if (disposition is null || !(disposition.Contains("attachment", StringComparison.OrdinalIgnoreCase)
            || disposition.Contains("inline", StringComparison.OrdinalIgnoreCase))) return false;
        return entity.Headers.Contains("Content-Transfer-Encoding");
    }

    /// <summary>The entities whose bytes are in the message as received (not inside a transfer-encoded body).</summary>
    private static IEnumerable<MimeEntity> Editable(MimeMessage message)
    {
        foreach (var e in message.Entities)
        {
            if (e.IsInDecodedContent || !e.Source.Equals(message.Source)) continue;
            yield return e;
        }
    }

    // ---------------------------------------------------------------- text parts

    private static byte[]? ConvertText(MimeEntity entity, CharsetMap.Target target, CharsetMap map, bool isRoot, List<string> log, int partNo)
    {
        var source = global::Assp.Mime.Charsets.GetEncoding(entity.Charset)!;
        var text = CharsetMap.Reader(source).GetString(entity.GetContentBytes().Span);
        var bytes = target.Encoding.GetBytes(text);
        var src = entity.Source.Span;
        var eol = Eol(src, entity.HeaderStart);
        bool eightBit = !Ascii.IsValid(bytes);
        var cte = entity.ContentTransferEncoding;
        ContentEncoding write = cte switch
        {
            ContentEncoding.Base64 => ContentEncoding.Base64,
            ContentEncoding.QuotedPrintable => ContentEncoding.QuotedPrintable,
            _ => eightBit ? ContentEncoding.QuotedPrintable : cte,
        };
        var sb = new StringBuilder();
        bool cteWritten = false;
        foreach (var h in entity.Headers)
        {
            var line = isRoot ? HeaderLine(h, map, log) is { } l ? Encoding.Latin1.GetString(l) : Raw(h) : Raw(h);
            if (h.Name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                line = s_charsetParam.Replace(line, m => m.Groups[1].Value + Quote(target.Name, m.Groups[2].Value.StartsWith('"')), 1);
            }
            else if (h.Name.Equals("Content-Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                if (cteWritten) continue;
                cteWritten = true;
                if (write != cte) line = "Content-Transfer-Encoding: " + Name(write) + eol;
            }
            sb.Append(line);
        }
        if (!cteWritten && write != cte) sb.Append("Content-Transfer-Encoding: ").Append(Name(write)).Append(eol);
        if (isRoot && !entity.Headers.Contains("MIME-Version")) sb.Append("MIME-Version: 1.0").Append(eol);

        var output = new ArrayBufferWriter<byte>(bytes.Length + 512);
        output.Write(Encoding.Latin1.GetBytes(sb.ToString()));
        output.Write(src[entity.HeaderEnd..entity.BodyStart]);   // the empty line
        bool endsWithEol = entity.BodyEnd > entity.BodyStart && src[entity.BodyEnd - 1] == (byte)'\n';
        switch (write)
        {
            case ContentEncoding.Base64:
                output.Write(Encoding.ASCII.GetBytes(Base64Lines(bytes, eol)));
                if (endsWithEol) output.Write(Encoding.ASCII.GetBytes(eol));
                break;
            case ContentEncoding.QuotedPrintable:
                output.Write(Encoding.ASCII.GetBytes(QuotedPrintable.Encode(bytes, eol)));
                break;
            default:
                output.Write(bytes);
                break;
        }
        log.Add($"character set conversion: from {source.WebName.ToUpperInvariant()} to {target.Name} in MIME part {partNo}");
        return output.WrittenSpan.ToArray();
    }

    private static string Raw(Header h) => Encoding.Latin1.GetString(h.RawLine.Span);

    /// <summary>The charset as a parameter value, quoted when the original was or when it has to be.</summary>
    private static string Quote(string charset, bool wasQuoted) =>
        wasQuoted || charset.Any(c => c is ' ' or ';' or '(' or ')' or ',' or '/' or ':' or '=' or '?' or '@' or '[' or ']' or '<' or '>')
            ? "\"" + charset.Replace("\"", "", StringComparison.Ordinal).Replace("\\", "", StringComparison.Ordinal) + "\"" : charset;

    private static string Name(ContentEncoding e) => e switch
    {
        ContentEncoding.Base64 => "base64",
        ContentEncoding.QuotedPrintable => "quoted-printable",
        ContentEncoding.EightBit => "8bit",
        ContentEncoding.Binary => "binary",
        _ => "7bit",
    };

    /// <summary>A header line with its encoded words in a ruled charset written again in the target; null when none.</summary>
    private static byte[]? HeaderLine(Header h, CharsetMap map, List<string> log)
    {
        var raw = h.RawLine.Span;
        if (raw.IndexOf("=?"u8) < 0) return null;
        var line = Encoding.Latin1.GetString(raw);
        bool changed = false;
        string result;
        try
        {
            result = s_encodedWord.Replace(line, m =>
            {
                if (map.TargetFor(m.Groups[1].Value) is not { } target || global::Assp.Mime.Charsets.GetEncoding(m.Groups[1].Value) is not { } source)
                    return m.Value;
                char enc = char.ToUpperInvariant(m.Groups[2].Value[0]);
                var payload = enc == 'B' ? Base64Word(m.Groups[3].Value) : QWord(m.Groups[3].Value);
                var text = CharsetMap.Reader(source).GetString(payload);
                var bytes = target.Encoding.GetBytes(text);
                changed = true;
                log.Add($"info: done header conversion from {source.WebName.ToUpperInvariant()} to {target.Name}");
                return enc == 'B'
                    ? $"=?{target.Name}?B?{System.Convert.ToBase64String(bytes)}?="
                    : $"=?{target.Name}?Q?{QEncode(bytes)}?=";
            });
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
        return changed ? Encoding.Latin1.GetBytes(result) : null;
    }

    private static byte[] Base64Word(string payload) => TransferEncodings.DecodeBase64(Encoding.ASCII.GetBytes(payload), out _);

    private static byte[] QWord(string payload)
    {
        var output = new List<byte>(payload.Length);
        for (int i = 0; i < payload.Length; i++)
        {
            char c = payload[i];
            if (c == '_') output.Add((byte)' ');
            else if (c == '=' && i + 2 < payload.Length && char.IsAsciiHexDigit(payload[i + 1]) && char.IsAsciiHexDigit(payload[i + 2]))
            {
                output.Add(System.Convert.ToByte(payload.Substring(i + 1, 2), 16));
                i += 2;
            }
            else output.Add((byte)c);
        }
        return [.. output];
    }

    private static string QEncode(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes)
        {
            if (b == ' ') sb.Append('_');
            else if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'!' or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'/') sb.Append((char)b);
            else sb.Append('=').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    // ---------------------------------------------------------------- TNEF

    private static byte[]? ConvertTnef(MimeEntity entity, MimeEntity parent, ConversionOptions options, List<string> log, List<string> debug)
    {
        var boundary = parent.SplitBoundary ?? parent.ContentType.Boundary;
        if (!parent.IsMultipart || parent.HasDecodedParts || string.IsNullOrEmpty(boundary)) return null;
        log.Add("info: doing ms-tnef conversion");
        var tnef = TnefReader.List(entity.GetContentBytes().Span, options.TnefLimits);
        foreach (var note in tnef.Notes) debug.Add("TNEF: " + note);
        if (!tnef.IsTnef)
        {
            log.Add("info: ms-tnef conversion failed - the part holds no TNEF data");
            return null;
        }
        debug.Add($"TNEF: message class {tnef.MessageClass ?? "(none)"}, code page {tnef.CodePage?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}, "
            + $"{tnef.Attachments.Count} attachment(s){(tnef.ChecksumErrors > 0 ? $", {tnef.ChecksumErrors} checksum error(s)" : "")}");
        var parts = TnefToMime.Parts(tnef, options.Charsets);
        if (parts.Count == 0)
        {
            log.Add("info: no convertable ms-tnef parts found in tnef-attachment");
            return null;
        }
        var src = entity.Source.Span;
        var eol = Eol(src, entity.HeaderStart);
        var output = new ArrayBufferWriter<byte>(entity.BodyEnd - entity.HeaderStart + 1024);
        bool first = true;
        if (options.KeepTnef)
        {
            output.Write(src[entity.HeaderStart..entity.BodyEnd]);
            first = false;
        }
        foreach (var part in parts)
        {
            if (!first) output.Write(Encoding.ASCII.GetBytes(eol + "--" + boundary + eol));
            first = false;
            output.Write(Encoding.UTF8.GetBytes(part.Render(eol)));
            log.Add(part.Describe());
        }
        log.Add("info: successful finished TNEF conversion" + (options.KeepTnef ? "" : " - the TNEF part was removed"));
        return output.WrittenSpan.ToArray();
    }

    // ---------------------------------------------------------------- helpers

    internal static string Base64Lines(ReadOnlySpan<byte> bytes, string eol) =>
        System.Convert.ToBase64String(bytes, Base64FormattingOptions.InsertLineBreaks).Replace("\r\n", eol, StringComparison.Ordinal);

    private static string Eol(ReadOnlySpan<byte> src, int start)
    {
        int lf = src[start..].IndexOf((byte)'\n');
        return lf > 0 && src[start + lf - 1] == (byte)'\r' ? "\r\n" : lf < 0 ? "\r\n" : "\n";
    }
}
