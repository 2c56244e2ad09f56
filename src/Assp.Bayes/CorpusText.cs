using System.Text;
using System.Text.RegularExpressions;
using Assp.Mime;
using Assp.Mime.Html;

namespace Assp.Bayes;

/// <summary>
/// The text both filters read, built the way ASSP's clean() builds it: a "helo:" line (the HELO the sending host
/// gave in the first Received header that records one), the recipient and sender addresses marked "rcpt"/"sender",
/// the subject with every word marked "ssub", then the decoded text of the body parts. HTML becomes its visible
/// text; links are marked "href", scripts "jscripttag", bold text "boldifytext", linked images "linkedimage".
/// Only the header and the first <c>maxBodyBytes</c> of the body count (ASSP's MaxBytes).
/// </summary>
public static partial class CorpusText
{
    /// <summary>Parses (the start of) a raw message and builds its text.</summary>
    public static string FromRaw(ReadOnlyMemory<byte> raw, int maxBodyBytes)
    {
        var limited = Limit(raw, maxBodyBytes);
        return FromMessage(MimeParser.Parse(limited), maxBodyBytes);
    }

    /// <summary>The header plus at most <paramref name="maxBodyBytes"/> of the body (0 or less: everything).</summary>
    public static ReadOnlyMemory<byte> Limit(ReadOnlyMemory<byte> raw, int maxBodyBytes)
    {
        if (maxBodyBytes <= 0) return raw;
        var span = raw.Span;
        int crlf = span.IndexOf("\n\r\n"u8);
        int lf = span.IndexOf("\n\n"u8);
        int headerEnd = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 3 : lf >= 0 ? lf + 2 : span.Length;
        long limit = (long)headerEnd + maxBodyBytes;
        return limit >= raw.Length ? raw : raw[..(int)limit];
    }

    public static string FromMessage(MimeMessage message, int maxBodyBytes = 0) => FromMessage(message, maxBodyBytes, null, out _);

    /// <summary>
    /// As <see cref="FromMessage(MimeMessage, int)"/>, but asks <paramref name="timeUp"/> after the header and after each
    /// text part (BayesMaxProcessTime); when it says yes the text stops there and <paramref name="timedOut"/> is set.
    /// </summary>
    public static string FromMessage(MimeMessage message, int maxBodyBytes, Func<bool>? timeUp, out bool timedOut)
    {
        timedOut = false;
        var sb = new StringBuilder(4096);
        AppendHeader(sb, message);
        int budget = maxBodyBytes > 0 ? maxBodyBytes * 2 : int.MaxValue;
        foreach (var part in message.TextParts)
        {
            if (timeUp is not null && timeUp())
            {
                timedOut = true;
                return sb.ToString();
            }
            if (sb.Length > budget) break;
            string? text;
            try { text = part.GetText(); }
            catch (Exception e) when (e is DecoderFallbackException or ArgumentException) { continue; }
            if (string.IsNullOrEmpty(text)) continue;
            sb.Append('\n');
            try
            {
                if (part.ContentType.MediaSubtype == "html") AppendHtml(sb, text);
                else AppendPlain(sb, text);
            }
            catch (RegexMatchTimeoutException) { sb.Append(text); }   // no marks for this part, but its words still count
        }
        foreach (var att in message.Attachments)
            if (att.FileName is { Length: > 0 } name) sb.Append("\nattachment ").Append(name);
        return sb.ToString();
    }

    private static void AppendHeader(StringBuilder sb, MimeMessage message)
    {
        string helo = "";
        foreach (var h in message.Headers.GetAll("Received"))
        {
            var m = HeloRe().Match(h.UnfoldedValue);
            if (m.Success) { helo = m.Groups[1].Value; break; }
        }
        if (helo.Length > 25) helo = helo[..25];
        sb.Append("helo: ").Append(helo).Append('\n');
        string? subject = null;
        foreach (var h in message.Headers)
        {
            var name = h.Name;
            if (name.StartsWith("X-Assp", StringComparison.OrdinalIgnoreCase) || name.Equals("DKIM-Signature", StringComparison.OrdinalIgnoreCase)
                || name.Equals("DomainKey-Signature", StringComparison.OrdinalIgnoreCase)) continue;
            string? mark = name.ToLowerInvariant() switch
            {
                "to" or "cc" or "bcc" => "rcpt",
                "from" or "returnreceipt" or "return-receipt-to" or "disposition-notification-to" or "return-path" or "reply-to"
                    or "sender" or "errors-to" => "sender",
                _ when name.StartsWith("List-", StringComparison.OrdinalIgnoreCase) => "sender",
                _ => null,
            };
            if (mark is not null)
                foreach (Match a in AddressRe().Matches(h.UnfoldedValue)) sb.Append(' ').Append(mark).Append(' ').Append(a.Value);
            else if (subject is null && name.Equals("Subject", StringComparison.OrdinalIgnoreCase)) subject = h.Value;
        }
        if (subject is not null) sb.Append('\n').Append(MarkSubject(subject));
        sb.Append('\n');
    }

    /// <summary>ASSP's fixsub: long runs of spaces become "lotsaspaces", every word gets an "ssub" mark, and a subject
    /// longer than a HMM sequence is also kept as written.</summary>
    internal static string MarkSubject(string subject)
    {
        var s = ManySpacesRe().Replace(subject, " lotsaspaces ");
        int words = 0;
        var marked = new StringBuilder(s.Length * 2);
        foreach (var w in s.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            marked.Append("ssub ").Append(w).Append(' ');
            words++;
        }
        return (words > Tokenizer.HmmSequenceLength ? s + " " : "") + marked.ToString();
    }

    private static void AppendPlain(StringBuilder sb, string text)
    {
        // Links and addresses get their "href" mark; many blank lines are a feature of their own.
        text = BlankLinesRe().Replace(text, "\nblines blines\n");
        // LinkRe needs "://" or "@": most texts without them skip its (linear but slow) engine; the result is the same.
        if (text.Contains("://", StringComparison.Ordinal) || text.Contains('@')) text = LinkRe().Replace(text, " href $0 ");
        text = StandaloneNumberRe().Replace(text, " 1234 ");
        sb.Append(text);
    }

    private static void AppendHtml(StringBuilder sb, string html)
    {
        HtmlTextResult result;
        try { result = HtmlText.ToText(html); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or RegexMatchTimeoutException) { AppendPlain(sb, html); return; }
        if (result.Title is { Length: > 0 } title) sb.Append(MarkSubject(title)).Append('\n');
        if (ScriptRe().IsMatch(html)) sb.Append(" jscripttag ");
        if (BoldRe().IsMatch(html)) sb.Append(" boldifytext ");
        if (LinkedImageRe().IsMatch(html)) sb.Append(" linkedimage ");
        AppendPlain(sb, result.Text);
        foreach (var link in result.Links)
            if (link.Length > 0 && !link.StartsWith("cid:", StringComparison.OrdinalIgnoreCase)) sb.Append(" href ").Append(link).Append(' ');
    }

    [GeneratedRegex(@"helo\s*=\s*([^)\s]+)", RegexOptions.IgnoreCase, 1000)]
    private static partial Regex HeloRe();
    [GeneratedRegex(@"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+", RegexOptions.NonBacktracking, 1000)]
    private static partial Regex AddressRe();
    [GeneratedRegex(" {3,}", RegexOptions.None, 1000)]
    private static partial Regex ManySpacesRe();
    [GeneratedRegex(@"\n(?:[ \t]*\r?\n){4,}", RegexOptions.None, 1000)]
    private static partial Regex BlankLinesRe();
    // Linear-time engine: a long run without spaces (base64, hex) must not make this quadratic.
    [GeneratedRegex(@"(?:(?:ht|f)tps?://\S+|[^\s@]+@[^\s@]+\.\w{2,5}\b)", RegexOptions.IgnoreCase | RegexOptions.NonBacktracking, 1000)]
    private static partial Regex LinkRe();
    [GeneratedRegex(@"(?<= )\d{2,}(?= )", RegexOptions.None, 1000)]
    private static partial Regex StandaloneNumberRe();
    [GeneratedRegex(@"<\s*(?:no)?script\b", RegexOptions.IgnoreCase, 1000)]
    private static partial Regex ScriptRe();
    [GeneratedRegex(@"<\s*(?:[biu]|strong)\s*>", RegexOptions.IgnoreCase, 1000)]
    private static partial Regex BoldRe();
    [GeneratedRegex(@"<\s*a[^>]*>[^<]*<\s*img", RegexOptions.IgnoreCase, 1000)]
    private static partial Regex LinkedImageRe();
}
