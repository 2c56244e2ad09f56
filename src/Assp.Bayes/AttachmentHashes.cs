using System.Security.Cryptography;
using Assp.Mime;

namespace Assp.Bayes;

/// <summary>
/// ASSP_AFCDetectSpamAttachRe: a MIME part whose Content-Type matches is known to spamdb by a key made of the MD5 of
/// the first 512 decoded bytes and the decoded length ("&lt;hex&gt; &lt;length&gt;"), ASSP's own key, so a spamdb
/// written by ASSP and one of ours say the same about the same picture. The rebuild learns these keys from the
/// corpus; the ASSP_AFC check looks them up.
/// </summary>
public static class AttachmentHashes
{
    /// <summary>Bytes of a corpus file read for its attachment keys at most (larger files are skipped, as ASSP skips
    /// files from npSize up).</summary>
    public const long MaxFileBytes = 16L * 1024 * 1024;

    /// <summary>The keys of the message's own leaf parts whose Content-Type header matches.</summary>
    public static List<string> Of(MimeMessage message, Func<string, bool> contentTypeMatches)
    {
        var keys = new List<string>();
        foreach (var (_, key) in Parts(message, contentTypeMatches)) keys.Add(key);
        return keys;
    }

    /// <summary>Each matching leaf part with its key.</summary>
    public static IEnumerable<(MimeEntity Part, string Key)> Parts(MimeMessage message, Func<string, bool> contentTypeMatches)
    {
        foreach (var part in message.Entities)
        {
            if (part.Owner != message || part.IsMultipart) continue;
            var contentType = part.Headers.Get("Content-Type")?.UnfoldedValue;
            if (string.IsNullOrEmpty(contentType) || !contentTypeMatches(contentType)) continue;
            if (Key(part) is { } key) yield return (part, key);
        }
    }

    /// <summary>The part's key; null when it has no content.</summary>
    public static string? Key(MimeEntity part)
    {
        var content = part.GetContentBytes().Span;
        if (content.IsEmpty) return null;
        // MD5 here is a lookup key in ASSP's format, not a security measure.
        return Convert.ToHexStringLower(MD5.HashData(content[..Math.Min(512, content.Length)])) + " " + content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
