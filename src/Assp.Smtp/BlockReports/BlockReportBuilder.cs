using System.Globalization;
using System.Net;
using System.Text;
using Assp.Config;

namespace Assp.Smtp.BlockReports;

/// <summary>
/// Writes a block report mail: a plain text and/or an HTML part (BlockReportFormat) listing the blocked mails with
/// time, sender, recipient, subject and reason, and for each stored mail a resend link (inclResendLink,
/// BlockResendLink and the per-user BlockResendLink* lists). A link is a mailto: to EmailBlockReport at
/// EmailBlockReportDomain whose body names the stored file between "###", as ASSP's links do, so following it
/// sends a resend request. Everything taken from mail is HTML-encoded in the HTML part. Optional templates in
/// reports/: blockreport_sub.txt (first line: the subject), blockreport_text.txt and blockreport_html.txt (an
/// introduction placed above the list in that part).
/// </summary>
public static class BlockReportBuilder
{
    /// <summary>The subject of resend requests; the host name in it routes requests between ASSP hosts (BlockRepForwHost).</summary>
    public static string ResendSubject(ConfigSnapshot cfg) => "request ASSP to resend blocked mail from ASSP-host " + cfg["myName"].Trim();

    /// <summary>The mailto: link that asks this host to resend a stored file.</summary>
    public static string ResendLink(ConfigSnapshot cfg, string storedFile)
    {
        var to = cfg["EmailBlockReport"].Trim() + cfg["EmailBlockReportDomain"].Trim();
        return "mailto:" + to + "?subject=" + Uri.EscapeDataString(ResendSubject(cfg)) +
            "&body=" + Uri.EscapeDataString("###" + storedFile.Replace('\\', '/') + "###") + "%0D%0A";
    }

    /// <summary>Which resend links the report for this recipient carries: (text, html left, html right).</summary>
    public static (bool Text, bool Left, bool Right) Links(ConfigSnapshot cfg, string reportRecipient)
    {
        int incl = cfg.GetChoice("inclResendLink");
        var only = cfg.GetAddressList("BlockResendLinkOnly");
        if (incl == 0 || (only.Count > 0 && !only.Contains(reportRecipient)) || cfg.GetAddressList("BlockResendLinkNo").Contains(reportRecipient))
            return (false, false, false);
        bool text = (incl & 1) != 0, html = (incl & 2) != 0;
        bool left, right;
        if (cfg.GetAddressList("BlockResendLinkLeft").Contains(reportRecipient)) (left, right) = (true, false);
        else if (cfg.GetAddressList("BlockResendLinkRight").Contains(reportRecipient)) (left, right) = (false, true);
        else (left, right) = cfg.GetChoice("BlockResendLink") switch { 1 => (true, false), 2 => (false, true), _ => (true, true) };
        return (text, html && left, html && right);
    }

    /// <summary>The finished report mail to one recipient about the given addresses' blocked mail.</summary>
    public static EmailReply Build(ConfigSnapshot cfg, string reportRecipient, string about, int days, IReadOnlyList<BlockedMail> mails, DateTimeOffset now)
    {
        var from = cfg["EmailFrom"].Trim();
        var myName = cfg["myName"].Trim() is { Length: > 0 } n ? n : "assp.local";
        var subject = EmailInterfaceReplies.Template(cfg, "blockreport_sub.txt")?.Subject is { Length: > 0 } s
            ? s.Replace("EMAILADDRESS", about, StringComparison.Ordinal)
            : $"ASSP block report for {about} from {myName}: {mails.Count} blocked mail{(mails.Count == 1 ? "" : "s")} in {days} day{(days == 1 ? "" : "s")}";
        var links = Links(cfg, reportRecipient);
        int format = cfg.GetChoice("BlockReportFormat");
        var text = format == 2 ? null : TextPart(cfg, about, days, mails, links.Text, now);
        var html = format == 1 ? null : HtmlPart(cfg, about, days, mails, links.Left, links.Right, myName);

        var sb = new StringBuilder();
        sb.Append("From: ").Append(from).Append("\r\n");
        sb.Append("To: ").Append(reportRecipient).Append("\r\n");
        sb.Append("Subject: ").Append(EncodeHeader(subject)).Append("\r\n");
        sb.Append("Date: ").Append(now.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)).Append("\r\n");
        sb.Append("Message-ID: <").Append(Guid.NewGuid().ToString("N")).Append('@').Append(myName).Append(">\r\n");
        sb.Append("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
        if (text is not null && html is not null)
        {
            var boundary = "=_assp_blockreport_" + Guid.NewGuid().ToString("N");
            sb.Append("Content-Type: multipart/alternative; boundary=\"").Append(boundary).Append("\"\r\n\r\n");
            sb.Append("This is a multi-part message in MIME format.\r\n");
            sb.Append("--").Append(boundary).Append("\r\n").Append(PartHeader("text/plain")).Append(Base64(text));
            sb.Append("--").Append(boundary).Append("\r\n").Append(PartHeader("text/html")).Append(Base64(html));
            sb.Append("--").Append(boundary).Append("--\r\n");
        }
        else
        {
            sb.Append(PartHeader(text is not null ? "text/plain" : "text/html")).Append(Base64(text ?? html!));
        }
        return new EmailReply(from, [reportRecipient], Encoding.ASCII.GetBytes(sb.ToString()));
    }

    private static string TextPart(ConfigSnapshot cfg, string about, int days, IReadOnlyList<BlockedMail> mails, bool links, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        if (EmailInterfaceReplies.Template(cfg, "blockreport_text.txt") is { } t && t.Text.Length > 0) sb.Append(t.Text.TrimEnd()).Append("\r\n\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Mail to {about} blocked by the spam filter on {cfg["myName"].Trim()} in the last {days} day(s), until {now:yyyy-MM-dd HH:mm} UTC:\r\n\r\n");
        if (mails.Count == 0) sb.Append("Nothing was blocked.\r\n");
        foreach (var m in mails)
        {
            sb.Append(Time(m)).Append("  from: ").Append(m.Sender is { Length: > 0 } f ? f : "<>").Append("  to: ").Append(string.Join(", ", m.Recipients)).Append("\r\n");
            if (m.Subject is { Length: > 0 } subject) sb.Append("    subject: ").Append(OneLine(subject)).Append("\r\n");
            sb.Append("    reason: ").Append(OneLine(m.Reason)).Append("\r\n");
            if (links && ResendAllowed(cfg, m)) sb.Append("    resend: ").Append(ResendLink(cfg, m.StoredFile!)).Append("\r\n");
            sb.Append("\r\n");
        }
        if (links && mails.Any(m => ResendAllowed(cfg, m)))
            sb.Append("To get a blocked mail delivered, open its resend link (or send a mail to ")
              .Append(cfg["EmailBlockReport"].Trim()).Append(cfg["EmailBlockReportDomain"].Trim())
              .Append(" with the ###file### line in the text).\r\n");
        return sb.ToString();
    }

    private static string HtmlPart(ConfigSnapshot cfg, string about, int days, IReadOnlyList<BlockedMail> mails, bool left, bool right, string myName)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><title>").Append(E("ASSP block report for " + about)).Append("</title>\r\n");
        sb.Append("<style>body{font-family:sans-serif;font-size:10pt}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#eee}.reason{color:#900}</style>\r\n");
        sb.Append("</head><body>\r\n");
        if (EmailInterfaceReplies.Template(cfg, "blockreport_html.txt") is { } t && t.Text.Length > 0) sb.Append(t.Text).Append("\r\n");
        sb.Append("<h2>").Append(E($"Blocked mail for {about}")).Append("</h2>\r\n<p>")
          .Append(E($"Mail blocked by the spam filter on {myName} in the last {days} day(s): {mails.Count}.")).Append("</p>\r\n");
        if (mails.Count > 0)
        {
            sb.Append("<table>\r\n<tr>");
            if (left) sb.Append("<th></th>");
            sb.Append("<th>time</th><th>from</th><th>to</th><th>subject</th><th>reason</th>");
            if (right) sb.Append("<th></th>");
            sb.Append("</tr>\r\n");
            foreach (var m in mails)
            {
                var link = ResendAllowed(cfg, m)
                    ? "<a href=\"" + E(ResendLink(cfg, m.StoredFile!)) + "\" title=\"" + E("ask " + myName + " to resend this mail") + "\">resend</a>"
                    : "";
                sb.Append("<tr>");
                if (left) sb.Append("<td>").Append(link).Append("</td>");
                sb.Append("<td>").Append(E(Time(m))).Append("</td><td>").Append(E(m.Sender is { Length: > 0 } f ? f : "<>"))
                  .Append("</td><td>").Append(E(string.Join(", ", m.Recipients))).Append("</td><td>").Append(E(OneLine(m.Subject ?? "")))
                  .Append("</td><td class=\"reason\">").Append(E(OneLine(m.Reason))).Append("</td>");
                if (right) sb.Append("<td>").Append(link).Append("</td>");
                sb.Append("</tr>\r\n");
            }
            sb.Append("</table>\r\n");
        }
        sb.Append("</body></html>\r\n");
        return sb.ToString();
    }

    /// <summary>Links are offered for stored files except those in viruslog (ASSP never offers a virus for resending).</summary>
    private static bool ResendAllowed(ConfigSnapshot cfg, BlockedMail m)
    {
        if (m.StoredFile is null) return false;
        var virus = cfg["viruslog"].Trim().Trim('/');
        return virus.Length == 0 || !m.StoredFile.Replace('\\', '/').StartsWith(virus + "/", StringComparison.OrdinalIgnoreCase);
    }

    private static string Time(BlockedMail m) => m.Time?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "";

    private static string OneLine(string s) => s.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("\t", " ", StringComparison.Ordinal);

    private static string PartHeader(string type) => $"Content-Type: {type}; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";

    private static string Base64(string text)
    {
        var b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        var sb = new StringBuilder();
        for (int i = 0; i < b64.Length; i += 76) sb.Append(b64, i, Math.Min(76, b64.Length - i)).Append("\r\n");
        return sb.ToString();
    }

    private static string EncodeHeader(string value) =>
        Ascii.IsValid(value) ? value : "=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) + "?=";
}
