using System.Text;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP_AFC for viruses (DoASSP_AFC enabled, ASSP_AFCSelect 2 or 3): instead of the first ClamAVBytes of the mail,
/// a scanner sees the header and then every MIME part's decoded content, whole. With ASSP_AFCReplViriParts an
/// infected part (for a part of an attached mail: the whole attached mail) is cut out and replaced by
/// ASSP_AFCReplViriPartsText (VIRUS = the virus name, FILENAME = the file's name or MIME-TEXT.eml for a part without
/// one) and the mail is delivered; an infected header leaves only the header and that text. Without it the first
/// infected part refuses the mail as before (AvError, vdValencePB).
/// </summary>
public static class AfcVirusScan
{
    /// <summary>The name ASSP puts for a part that has no file name (a text body, the header).</summary>
    public const string UnnamedPart = "MIME-TEXT.eml";

    /// <summary>The outcome of one scan: infected (with the virus name) or clean; null when the scan could not be
    /// done (the scanner is down) - the rest of the mail then passes unscanned, as it does without the plugin.</summary>
    public sealed record PartResult(bool Infected, string? Virus);

    public static bool On(ConfigSnapshot cfg) => cfg.GetChoice("DoASSP_AFC") == 1 && cfg.GetChoice("ASSP_AFCSelect") is 2 or 3;

    public static async Task<Verdict> RunAsync(CheckContext c, CheckDefinition check, string scanner,
        Func<byte[], string, CancellationToken, Task<PartResult?>> scan, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var st = c.State;
        // A part an earlier check already replaced (ASSP_AFCReplBadAttach) is not scanned again.
        var msg = st.ReplacementMessage is { } changed ? MimeParser.Parse(changed) : st.Parsed;
        if (msg is null) return Verdict.Pass;
        if (VirusScanning.NoScanContent(cfg, msg.Source.ToArray()) is { } skip)
        {
            RegexMatchNote.Record(c.Mail, "NoScanRe", skip, "no virus scan");
            return Verdict.Pass;
        }
        bool replace = cfg.GetBool("ASSP_AFCReplViriParts");
        var text = cfg["ASSP_AFCReplViriPartsText"];

        var header = await scan(msg.Root.RawHeaders.ToArray(), "header", cancellationToken).ConfigureAwait(false);
        if (header is null) return Verdict.Pass;
        if (header.Infected && header.Virus is var headerVirus && !VirusScanning.Suspicious(c, scanner, headerVirus ?? "a virus"))
        {
            var virus = headerVirus ?? "a virus";
            if (!replace) return VirusScanning.Infected(c, check, virus, $"virus detected: '{virus}' in the mail header");
            st.ReplacementMessage = HeaderWithText(msg, Fill(text, virus, UnnamedPart));
            c.Log($"{scanner}: virus '{virus}' in the mail header - the mail body was replaced by a text (ASSP_AFCReplViriParts)");
            return Verdict.Pass;
        }

        var removals = new List<(MimeEntity Part, string Text)>();
        foreach (var part in msg.Entities.Where(e => !e.IsMultipart && e.EmbeddedMessage is null))
        {
            var target = AttachmentCheck.OuterPart(msg, part);
            if (removals.Any(r => r.Part == target)) continue;
            var content = part.GetContentBytes();
            if (content.IsEmpty) continue;
            var name = part.FileName ?? UnnamedPart;
            var result = await scan(content.ToArray(), name, cancellationToken).ConfigureAwait(false);
            if (result is null) break;
            if (!result.Infected) continue;
            var virus = result.Virus ?? "a virus";
            if (VirusScanning.Suspicious(c, scanner, virus)) continue;
            var shown = target == part ? name : target.FileName ?? name;
            if (replace && AttachmentReplacer.CanReplace(msg, target))
            {
                removals.Add((target, Fill(text, virus, shown)));
                c.Log($"{scanner}: virus '{virus}' in '{name}' - the part was replaced by a text (ASSP_AFCReplViriParts)");
                continue;
            }
            return VirusScanning.Infected(c, check, virus, $"virus detected: '{virus}' in '{name}'");
        }
        if (removals.Count > 0) st.ReplacementMessage = AttachmentReplacer.Replace(msg, removals);
        return Verdict.Pass;
    }

    private static string Fill(string text, string virus, string fileName) =>
        text.Replace("VIRUS", virus, StringComparison.Ordinal).Replace("FILENAME", fileName, StringComparison.Ordinal);

    /// <summary>The header without its MIME body fields, then a text/plain body holding <paramref name="text"/>.</summary>
    private static byte[] HeaderWithText(MimeMessage msg, string text)
    {
        var raw = Encoding.Latin1.GetString(msg.Root.RawHeaders.Span);
        var eol = raw.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var kept = new StringBuilder();
        bool skipping = false;
        foreach (var line in raw.Split(eol))
        {
            if (line.Length == 0) continue;
            if (line[0] is ' ' or '\t') { if (!skipping) kept.Append(line).Append(eol); continue; }
            skipping = line.StartsWith("Content-", StringComparison.OrdinalIgnoreCase);
            if (!skipping) kept.Append(line).Append(eol);
        }
        var body = Convert.ToBase64String(Encoding.UTF8.GetBytes(text), Base64FormattingOptions.InsertLineBreaks).Replace("\r\n", eol, StringComparison.Ordinal);
        kept.Append("Content-Type: text/plain; charset=\"UTF-8\"").Append(eol).Append("Content-Transfer-Encoding: base64").Append(eol).Append(eol)
            .Append(body).Append(eol);
        return Encoding.Latin1.GetBytes(kept.ToString());
    }
}
