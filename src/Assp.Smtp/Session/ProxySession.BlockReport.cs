using Assp.Checks.Decision;
using Assp.Checks.Whitelist;
using Assp.Smtp.BlockReports;

namespace Assp.Smtp.Session;

/// <summary>
/// Requests to EmailBlockReport in the session: taken at RCPT TO from relaying or EmailSenderOK senders (also from
/// EmailSenderNotOK ones, which ASSP lets ask for block reports and resends; EmailSenderIgnore senders are dropped
/// silently), answered by the proxy after DATA and never passed to the MTA. Requests are forwarded unchanged to the
/// BlockRepForwHost peers (a mark header keeps them from going round in circles), so every host answers for its own
/// maillog and stored files.
/// </summary>
public sealed partial class ProxySession
{
    /// <summary>The header that marks a request forwarded by another ASSP host.</summary>
    internal const string ForwardedMark = "X-Assp-BlockReport-Forwarded";

    private bool _blockReportRequest;

    private void ResetBlockReport() => _blockReportRequest = false;

    /// <summary>Handles RCPT TO for EmailBlockReport; true when the recipient was answered here.</summary>
    private async Task<bool> BlockReportRcptAsync(string address, bool local, CancellationToken ct)
    {
        if (_blockReportRequest)
        {
            Queue("250 OK\r\n");
            return true;
        }
        if (_emailCommand is not null || !BlockReportService.IsBlockReportAddress(_cfg, address, local)) return false;
        var sender = WhitelistAddress.StripBatv(_ctx.MailFrom ?? "");
        bool senderOk = _cfg.GetAddressList("EmailSenderOK").Contains(sender);
        if (!_ctx.RelayAllowed && !senderOk)
        {
            // Never a mailbox: strangers get the unknown-user reply and the MTA never sees the address.
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> to: {address} email interface address refused - the sender may not use it");
            var template = _cfg["NoValidRecipient"].Trim() is { Length: > 0 } t ? t : "550 5.1.1 User unknown: EMAILADDRESS";
            await ErrorAsync(template.Replace("EMAILADDRESS", address, StringComparison.Ordinal), ct).ConfigureAwait(false);
            return true;
        }
        if (_cfg.GetAddressList("EmailSenderIgnore").Contains(sender))
        {
            Log($"denied connection to email interface ({address}) because EmailSenderIgnore - moved to NULL-connection");
            _ctx.CheckState.Message.NullConnection = true;
            Queue("250 OK\r\n");
            return true;
        }
        _blockReportRequest = true;
        Log($"email interface: EmailBlockReport request from {sender} to {address}");
        Queue("250 OK\r\n");
        return true;
    }

    /// <summary>Answers the DATA of a block report or resend request; the work and the mails happen in the background.</summary>
    private async Task BlockReportDataAsync(CancellationToken ct)
    {
        var sender = WhitelistAddress.StripBatv(_ctx.MailFrom ?? "");
        var message = await ReceivedMessageAsync(ct).ConfigureAwait(false);
        var cfg = _cfg;
        var log = _log;
        var id = _ctx.MessageId;
        WhitelistEditor? whitelist = _pipeline is DecisionPipeline { Engine.AddressReputation: StoredAddressReputation db }
            ? new WhitelistEditor(db.Whitelist, db.Redlist, db.PersonalBlacklist)
            : null;
        Queue("250 OK\r\n");
        await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
        _ = Task.Run(async () =>
        {
            void Write(string line) => log?.Write("Worker_1", id, line);
            try
            {
                bool forwarding = BlockReportForwarding.Peers(cfg).Count > 0 && !BlockReportForwarding.IsForwarded(message);
                var outcome = BlockReportService.HandleRequest(cfg, sender, message, whitelist, DateTimeOffset.UtcNow, forwarding);
                foreach (var line in outcome.Log) Write("email interface EmailBlockReport: " + line);
                foreach (var line in await BlockReportService.SendAsync(cfg, outcome, CancellationToken.None).ConfigureAwait(false))
                    Write("email interface EmailBlockReport: " + line);
                foreach (var line in await BlockReportForwarding.ForwardAsync(cfg, sender, message, outcome, CancellationToken.None).ConfigureAwait(false))
                    Write("email interface EmailBlockReport: " + line);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
            {
                Write($"email interface EmailBlockReport: request from {sender} failed: {e.Message}");
            }
        });
    }
}
