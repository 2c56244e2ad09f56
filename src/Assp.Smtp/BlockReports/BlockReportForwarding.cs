using System.Text;
using Assp.Config;

namespace Assp.Smtp.BlockReports;

/// <summary>
/// BlockRepForwHost: block report and resend requests go on, unchanged and with the same envelope, to the other ASSP
/// hosts (ip:relayPort, "SSL:" for TLS, '|' separated), so each answers from its own maillog and stored files.
/// Report requests go to every peer; resend requests only when a named file is not here and the link names another
/// host. A forwarded request carries a mark header and is never forwarded again (ASSP's star layout). A peer that
/// cannot be reached is logged and the requester told (reports/blockreportforwarderror.txt when present).
/// </summary>
public static class BlockReportForwarding
{
    public static async Task<IReadOnlyList<string>> ForwardAsync(ConfigSnapshot cfg, string sender, byte[] message, BlockReportOutcome outcome, CancellationToken ct)
    {
        var log = new List<string>();
        var peers = Peers(cfg);
        if (peers.Count == 0 || IsForwarded(message)) return log;
        var text = Encoding.Latin1.GetString(message);
        bool resend = BlockReportService.ResendLines(text).Count > 0;
        if (resend && !outcome.Log.Any(l => l.Contains("the request goes to BlockRepForwHost", StringComparison.Ordinal))) return log;
        var to = cfg["EmailBlockReport"].Trim() + cfg["EmailBlockReportDomain"].Trim();
        var marked = Encoding.Latin1.GetBytes($"{Session.ProxySession.ForwardedMark}: {cfg["myName"].Trim()}\r\n").Concat(message).ToArray();
        foreach (var peer in peers)
        {
            var failure = await ReportMailer.SendAsync(cfg, sender, [to], marked, ct, peer).ConfigureAwait(false);
            if (failure is null)
            {
                log.Add($"request from {sender} forwarded to {peer}");
                continue;
            }
            log.Add($"request from {sender} could not be forwarded to {peer}: {failure}");
            var (subject, _, body) = EmailInterfaceReplies.Template(cfg, "blockreportforwarderror.txt")
                ?? ("ASSP block report request: another host could not be reached",
                    [], "Your request could not be passed on to every ASSP host of this site; the answer of one host may be missing. Please try again later.");
            var notice = new StringBuilder()
                .Append("From: ").Append(cfg["EmailFrom"].Trim()).Append("\r\nTo: ").Append(sender).Append("\r\nSubject: ").Append(subject)
                .Append("\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n").Append(body).Append("\r\n");
            var sent = await EmailInterfaceReplies.SendAsync(cfg, new EmailReply(cfg["EmailFrom"].Trim(), [sender], Encoding.UTF8.GetBytes(notice.ToString())), ct).ConfigureAwait(false);
            if (sent is not null) log.Add($"forward failure notice to {sender} could not be sent: {sent}");
        }
        return log;
    }

    public static IReadOnlyList<string> Peers(ConfigSnapshot cfg) =>
        cfg["BlockRepForwHost"].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Does the message's header carry the forwarded mark?</summary>
    public static bool IsForwarded(byte[] message)
    {
        var text = Encoding.Latin1.GetString(message, 0, Math.Min(message.Length, 64 * 1024));
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end >= 0) text = text[..end];
        return ("\r\n" + text).Contains("\r\n" + Session.ProxySession.ForwardedMark + ":", StringComparison.OrdinalIgnoreCase);
    }
}
