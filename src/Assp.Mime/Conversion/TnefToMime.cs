using System.Text;
using Assp.Mime.Attachments;

namespace Assp.Mime.Conversion;

/// <summary>One MIME part made from the content of a TNEF stream.</summary>
/// <param name="ContentType">The media type, e.g. application/pdf.</param>
/// <param name="FileName">The attachment's file name; null for the message text.</param>
/// <param name="Charset">The charset of a text part; null for files.</param>
/// <param name="Content">The bytes (already in <paramref name="Charset"/> for text).</param>
public sealed record TnefMimePart(string ContentType, string? FileName, string? Charset, byte[] Content)
{
    /// <summary>The part as MIME text: header fields, the empty line, and the encoded body (no final line break).</summary>
    public string Render(string eol)
    {
        var sb = new StringBuilder();
        if (FileName is null)
        {
            sb.Append("Content-Type: ").Append(ContentType).Append("; charset=\"").Append(Charset ?? "UTF-8").Append('"').Append(eol);
            sb.Append("Content-Transfer-Encoding: quoted-printable").Append(eol);
            sb.Append("Content-Disposition: inline").Append(eol).Append(eol);
            sb.Append(QuotedPrintable.Encode(Content, eol));
            return sb.ToString();
        }
        sb.Append("Content-Type: ").Append(ContentType).Append(";").Append(eol).Append("\tname=").Append(NameParameter(FileName)).Append(eol);
        sb.Append("Content-Transfer-Encoding: base64").Append(eol);
        sb.Append("Content-Disposition: attachment;").Append(eol).Append('\t').Append(FileNameParameter(FileName)).Append(eol).Append(eol);
        sb.Append(MessageConverter.Base64Lines(Content, eol));
        return sb.ToString();
    }

    /// <summary>The maillog line for this part.</summary>
    public string Describe() => FileName is null
        ? $"added message part from TNEF to MIME ({ContentType}, {Charset})"
        : $"added attachment part {FileName} from TNEF to MIME ({ContentType}, {Content.Length} bytes)";

    private static bool Plain(string s) => s.All(c => c >= ' ' && c < 127);

    /// <summary>name= for old readers: quoted ASCII, or an RFC 2047 word.</summary>
    private static string NameParameter(string name) =>
        Plain(name) ? "\"" + Escape(name) + "\"" : "\"" + EncodedWords.EncodeIfNeeded(name) + "\"";

    /// <summary>filename=: quoted ASCII, or RFC 2231 (filename*=UTF-8''…) for other characters.</summary>
    private static string FileNameParameter(string name)
    {
        if (Plain(name)) return "filename=\"" + Escape(name) + "\"";
        var sb = new StringBuilder("filename*=UTF-8''");
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'.' or (byte)'-' or (byte)'_' or (byte)'~') sb.Append((char)b);
            else sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}

/// <summary>
/// The MIME parts ASSP makes of a TNEF stream: the plain message text (when the stream has a message class and a
/// body) as a text/plain part, then every attached file with its name, a type from its extension (or its
/// PR_ATTACH_MIME_TAG) and its bytes unchanged. Embedded messages and attachments without data are not extracted.
/// </summary>
public static class TnefToMime
{
    /// <summary>The parts for <paramref name="tnef"/>; the message text goes into the charset that <paramref name="charsets"/>
    /// maps the TNEF code page to (else the code page's own charset).</summary>
    public static IReadOnlyList<TnefMimePart> Parts(TnefMessage tnef, CharsetMap? charsets = null)
    {
        ArgumentNullException.ThrowIfNull(tnef);
        var parts = new List<TnefMimePart>();
        if (!tnef.IsTnef) return parts;
        if (tnef.MessageClass is not null && tnef.Body is { } body && body.Trim('\0', ' ', '\r', '\n', '\t').Length > 0)
        {
            var source = CodePageEncoding(tnef.CodePage);
            var target = charsets?.TargetFor(source);
            var encoding = target?.Encoding ?? CharsetMap.Strict(source);
            var name = target?.Name ?? (source.CodePage == 65001 ? "UTF-8" : source.WebName);
            parts.Add(new TnefMimePart("text/plain", null, name, encoding.GetBytes(body.TrimEnd('\0'))));
        }
        int n = 0;
        foreach (var a in tnef.Attachments)
        {
            n++;
            if (a.EmbeddedMessage is not null || a.AttachMethod == 5 || !a.HasData || a.Data is not { Length: > 0 } data) continue;
            var name = FileNames.Sanitize(a.FileName) ?? $"attachment{n}.dat";
            var type = a.MimeType is { } tag && tag.Contains('/') && tag.All(c => c > ' ' && c < 127 && c != ';' && c != '"') ? tag.ToLowerInvariant()
                : MimeTypes.ForFileName(name);
            parts.Add(new TnefMimePart(type, name, null, data));
        }
        return parts;
    }

    /// <summary>The encoding of a TNEF code page (attOemCodepage); Windows-1252 when there is none or it is unknown.</summary>
    private static Encoding CodePageEncoding(int? codePage)
    {
        Assp.Mime.Charsets.EnsureRegistered();
        if (codePage is { } cp and > 0)
        {
            if (cp == 65001) return new UTF8Encoding(false, false);
            try { return Encoding.GetEncoding(cp); }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException) { }
        }
        return Encoding.GetEncoding(1252);
    }
}
