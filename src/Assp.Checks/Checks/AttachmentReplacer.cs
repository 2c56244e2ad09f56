using System.Buffers;
using System.Text;
using Assp.Mime;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP_AFCReplBadAttach: writes the message again with some of its MIME parts exchanged for a short text part.
/// Everything outside the replaced parts (headers, boundaries, the other parts) is copied byte for byte.
/// </summary>
public static class AttachmentReplacer
{
    /// <summary>A part can be cut out when it is a part of a multipart (not the whole message) and its bytes are in
    /// the message as received (not inside a transfer-encoded body such as a base64 message/rfc822).</summary>
    public static bool CanReplace(MimeMessage message, MimeEntity part)
    {
        if (part.Parent is null) return false;
        for (var e = part; e is not null; e = e.Parent ?? e.Owner.Container)
            if (e.IsInDecodedContent) return false;
        return part.Source.Equals(message.Source) || part.Owner.Source.Equals(message.Source);
    }

    /// <summary>The message with each listed part replaced by a text/plain part holding its text.</summary>
    public static byte[] Replace(MimeMessage message, IReadOnlyList<(MimeEntity Part, string Text)> replacements) =>
        ReplaceParts(message, replacements.Select(r => (r.Part, (Func<string, string>)(eol => Part(r.Text, eol)))).ToList());

    /// <summary>The message with each listed part replaced by the whole part (header lines, blank line, body) that
    /// its builder writes for the message's line end.</summary>
    public static byte[] ReplaceParts(MimeMessage message, IReadOnlyList<(MimeEntity Part, Func<string, string> Build)> replacements)
    {
        var src = message.Source.Span;
        var output = new ArrayBufferWriter<byte>(src.Length);
        int cursor = 0;
        foreach (var (part, build) in replacements.OrderBy(r => r.Part.HeaderStart))
        {
            if (part.HeaderStart < cursor) continue; // inside a part already replaced
            output.Write(src[cursor..part.HeaderStart]);
            var eol = Eol(src, part.HeaderStart);
            output.Write(Encoding.UTF8.GetBytes(build(eol)));
            // The line end before the next boundary belongs to the boundary; keep the part's own if it took one.
            if (part.BodyEnd > part.BodyStart && src[part.BodyEnd - 1] == (byte)'\n') output.Write(Encoding.ASCII.GetBytes(eol));
            cursor = part.BodyEnd;
        }
        output.Write(src[cursor..]);
        return output.WrittenSpan.ToArray();
    }

    private static string Part(string text, string eol)
    {
        var clean = text.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
        bool ascii = clean.All(ch => ch < 128);
        var body = ascii ? clean : Convert.ToBase64String(Encoding.UTF8.GetBytes(clean), Base64FormattingOptions.InsertLineBreaks).Replace("\r\n", eol, StringComparison.Ordinal);
        return $"Content-Type: text/plain; charset=\"UTF-8\"{eol}Content-Transfer-Encoding: {(ascii ? "7bit" : "base64")}{eol}"
               + $"Content-Disposition: inline{eol}{eol}{body}";
    }

    private static string Eol(ReadOnlySpan<byte> src, int start)
    {
        int lf = src[start..].IndexOf((byte)'\n');
        return lf > 0 && src[start + lf - 1] == (byte)'\r' ? "\r\n" : lf < 0 ? "\r\n" : "\n";
    }
}
