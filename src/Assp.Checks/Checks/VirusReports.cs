using System.Globalization;
using System.Text;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// Virus report mails. EmailVirusReportsTo: '|'-separated addresses, each optionally "IN:" (incoming mail only) or
/// "OUT:" (outgoing/local only); USER and DOMAIN in an address become the parts of the sender (outgoing) or of each
/// recipient (incoming). The report names the Message-ID, remote IP, subject, sender, recipients and the virus;
/// EmailVirusReportsHeader adds the message's full header. EmailVirusReportsToRCPT sends the intended recipients a
/// copy (1 always, 2 only when the mail was not already spam before the virus check), with the text of
/// reports/virusreport.txt when that file exists (first line the subject). Mails go from EmailFrom through the relay;
/// sending never holds up the SMTP session.
/// </summary>
internal static class VirusReports
{
    private const string DefaultSubject = "virus detected by ASSP";

    public static void Send(CheckContext c, string virus, bool spamBefore)
    {
        var cfg = c.Config;
        var admins = cfg["EmailVirusReportsTo"].Trim();
        int toRcpt = cfg.GetChoice("EmailVirusReportsToRCPT");
        bool toRecipients = toRcpt == 1 || (toRcpt == 2 && !spamBefore);
        if (admins.Length == 0 && !toRecipients) return;
        if (c.Services.Mailer is not { } mailer)
        {
            c.Log("warning: virus report not sent - this instance has no mail relay for reports");
            return;
        }
        bool outgoing = c.State.RelayOk || c.Mail.IsOutgoing;
        var details = Details(c, virus);
        var from = cfg["EmailFrom"].Trim();
        if (admins.Length > 0)
        {
            var to = AdminAddresses(admins, outgoing, c.Mail.MailFrom, c.Mail.Recipients);
            if (to.Count > 0) _ = SendAsync(c, mailer, cfg, from, to, Compose(cfg, from, to, $"{DefaultSubject}: {virus}", "", details), "EmailVirusReportsTo");
        }
        if (toRecipients && c.Mail.Recipients.Count > 0)
        {
            var (subject, text) = Template(cfg);
            var report = Compose(cfg, from, c.Mail.Recipients, subject, text, Details(c, virus, withHeader: false));
            _ = SendAsync(c, mailer, cfg, from, [.. c.Mail.Recipients], report, "EmailVirusReportsToRCPT");
        }
    }

    /// <summary>The report addresses for this mail's direction with USER and DOMAIN filled in (once each).</summary>
    public static IReadOnlyList<string> AdminAddresses(string option, bool outgoing, string? sender, IReadOnlyList<string> recipients)
    {
        var result = new List<string>();
        foreach (var raw in option.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var entry = raw;
            if (entry.StartsWith("IN:", StringComparison.OrdinalIgnoreCase)) { if (outgoing) continue; entry = entry[3..].Trim(); }
            else if (entry.StartsWith("OUT:", StringComparison.OrdinalIgnoreCase)) { if (!outgoing) continue; entry = entry[4..].Trim(); }
            var owners = outgoing ? [sender ?? ""] : recipients;
            bool templated = entry.Contains("USER", StringComparison.Ordinal) || entry.Contains("DOMAIN", StringComparison.Ordinal);
            foreach (var owner in templated ? owners : [""])
            {
                var a = owner.Trim('<', '>');
                int at = a.LastIndexOf('@');
                var address = templated
                    ? entry.Replace("USER", at > 0 ? a[..at] : a, StringComparison.Ordinal).Replace("DOMAIN", at >= 0 ? a[(at + 1)..] : "", StringComparison.Ordinal)
                    : entry;
                if (address.Contains('@') && !address.StartsWith('@') && !address.EndsWith('@') && !result.Contains(address, StringComparer.OrdinalIgnoreCase))
                    result.Add(address);
            }
        }
        return result;
    }

    private static string Details(CheckContext c, string virus, bool withHeader = true)
    {
        var msg = c.State.Parsed;
        var sb = new StringBuilder();
        sb.Append("Message-ID: ").Append(OneLine(msg?.MessageId ?? "")).Append("\r\n");
        sb.Append("Remote IP: ").Append(c.Mail.RemoteAddress).Append("\r\n");
        sb.Append("Subject: ").Append(OneLine(c.State.OriginalSubject ?? msg?.Subject ?? "")).Append("\r\n");
        sb.Append("Sender: ").Append(OneLine(c.Mail.MailFrom ?? "")).Append("\r\n");
        sb.Append("Recipient: ").Append(OneLine(string.Join(", ", c.Mail.Recipients))).Append("\r\n");
        sb.Append("Virus: ").Append(OneLine(virus)).Append("\r\n");
        if (withHeader && c.Config.GetBool("EmailVirusReportsHeader") && msg is not null)
        {
            sb.Append("\r\nFull header:\r\n\r\n");
            sb.Append(Encoding.Latin1.GetString(msg.Root.RawHeaders.Span).Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal));
        }
        return sb.ToString();
    }

    private static (string Subject, string Text) Template(ConfigSnapshot cfg)
    {
        var path = Path.Combine(cfg.BaseDirectory, "reports", "virusreport.txt");
        try
        {
            if (File.Exists(path))
            {
                var lines = File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
                var subject = lines[0].Trim();
                return (subject.Length > 0 ? subject : DefaultSubject, string.Join("\r\n", lines.Skip(1)).Trim('\r', '\n') + "\r\n\r\n");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return (DefaultSubject, "A message to you was refused because it carries a virus.\r\n\r\n");
    }

    private static byte[] Compose(ConfigSnapshot cfg, string from, IReadOnlyList<string> to, string subject, string text, string details)
    {
        var myName = cfg["myName"].Trim();
        var sb = new StringBuilder();
        sb.Append("From: ").Append(from).Append("\r\n");
        sb.Append("To: ").Append(string.Join(", ", to)).Append("\r\n");
        sb.Append("Subject: ").Append(Encode(OneLine(subject))).Append("\r\n");
        sb.Append("Date: ").Append(DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)).Append("\r\n");
        sb.Append("Message-ID: <").Append(Guid.NewGuid().ToString("N")).Append('@').Append(myName.Length > 0 ? myName : "assp.local").Append(">\r\n");
        sb.Append("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        sb.Append(text).Append(details);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static async Task SendAsync(CheckContext c, ReportSender mailer, ConfigSnapshot cfg, string from, IReadOnlyList<string> to, byte[] message, string option)
    {
        try
        {
            var failure = await mailer(cfg, from, to, message, CancellationToken.None).ConfigureAwait(false);
            c.Log(failure is null ? $"virus report ({option}) sent to {string.Join(", ", to)}" : $"warning: virus report ({option}) to {string.Join(", ", to)} failed - {failure}");
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            c.Log($"warning: virus report ({option}) to {string.Join(", ", to)} failed - {ex.Message}");
        }
    }

    private static string OneLine(string s) => s.Replace('\r', ' ').Replace('\n', ' ');

    private static string Encode(string s) => s.All(ch => ch is >= ' ' and < (char)127) ? s : "=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes(s)) + "?=";
}
