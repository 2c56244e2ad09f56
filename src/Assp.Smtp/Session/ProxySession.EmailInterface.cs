using Assp.Checks;
using Assp.Checks.EmailInterface;
using Assp.Checks.Whitelist;

namespace Assp.Smtp.Session;

/// <summary>
/// The email interface in the session: a command address (asspspam@, asspwhite@ …) is answered at RCPT TO by the
/// proxy itself, never sent to the MTA, and the DATA that follows is the request. Senders who may not use the
/// interface get NoValidRecipient, as for any unknown local address; nothing changes.
/// </summary>
public sealed partial class ProxySession
{
    private EmailCommand? _emailCommand;
    private string _emailAddress = "";
    private readonly List<string> _emailOthers = [];

    private void ResetEmailInterface()
    {
        _emailCommand = null;
        _emailAddress = "";
        _emailOthers.Clear();
    }

    /// <summary>Handles RCPT TO for the interface; true when the recipient was answered here.</summary>
    private async Task<bool> EmailInterfaceRcptAsync(string address, bool local, CancellationToken ct)
    {
        if (_emailCommand is not null)
        {
            // Further recipients of a request belong to it (list requests act on them too); none reaches the MTA.
            _emailOthers.Add(address);
            Queue("250 OK\r\n");
            return true;
        }
        if (_pipeline.EmailInterface is null) return false;
        if (EmailCommands.Recognize(_cfg, address, local) is not { } command) return false;
        var sender = WhitelistAddress.StripBatv(_ctx.MailFrom ?? "");
        switch (EmailCommands.Authorize(_cfg, command, sender, _ctx.RelayAllowed))
        {
            case EmailAccess.NotForInterface:
                // A command address is never a mailbox: strangers get the unknown-user reply and the MTA never sees it.
                Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> to: {address} email interface address refused - the sender may not use it");
                var template = _cfg["NoValidRecipient"].Trim() is { Length: > 0 } t ? t : "550 5.1.1 User unknown: EMAILADDRESS";
                await ErrorAsync(template.Replace("EMAILADDRESS", address, StringComparison.Ordinal), ct).ConfigureAwait(false);
                return true;
            case EmailAccess.Ignored:
                Log($"denied connection to email interface ({address}) because EmailSenderIgnore - moved to NULL-connection");
                _ctx.CheckState.Message.NullConnection = true;
                Queue("250 OK\r\n");
                return true;
            case EmailAccess.Denied:
                Log($"denied connection to email interface ({address}) because EmailSenderNotOK - moved to NULL-connection");
                _ctx.CheckState.Message.NullConnection = true;
                SendReplies([EmailInterfaceReplies.Denied(_cfg, sender)]);
                Queue("250 OK\r\n");
                return true;
        }
        _emailCommand = command;
        _emailAddress = address;
        // Recipients accepted before the command address are part of the request as well.
        _emailOthers.AddRange(_ctx.RecipientList);
        if (ReportLog >= 1) Log($"email interface: {EmailCommands.OptionOf(command)} request from {sender} to {address}");
        Queue("250 OK\r\n");
        return true;
    }

    /// <summary>Carries out the request with the received message and answers the DATA; nothing goes to the MTA.</summary>
    private async Task EmailInterfaceDataAsync(CancellationToken ct)
    {
        var command = _emailCommand!.Value;
        var sender = WhitelistAddress.StripBatv(_ctx.MailFrom ?? "");
        var others = _emailOthers.ToList();
        var message = await ReceivedMessageAsync(ct).ConfigureAwait(false);
        var cfg = _cfg;
        var locals = LocalDomains.For(cfg);
        bool IsLocal(string a) => a.LastIndexOf('@') is var at and >= 0 && locals.IsLocal(a[(at + 1)..]);
        try
        {
            if (command is EmailCommand.Spam or EmailCommand.Ham && await ForwardReportAsync(cfg, sender, message, ct).ConfigureAwait(false))
            {
                Queue("250 OK\r\n");
                await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
                return;
            }
            var outcome = command == EmailCommand.Analyze
                ? await AnalyzeAsync(cfg, message, ct).ConfigureAwait(false)
                : _pipeline.EmailInterface!.Process(cfg, new EmailRequest(command, sender, others, message), IsLocal);
            if (ReportLog >= 1) foreach (var line in outcome.Lines) Log($"email interface {EmailCommands.OptionOf(command)}: {line}");
            if (outcome.ChangedLists.Count > 0 && _server.ReloadConfig is { } reload)
            {
                try
                {
                    reload($"email interface changed {string.Join(", ", outcome.ChangedLists)}");
                }
                catch (Assp.Config.ConfigException e)
                {
                    Log($"email interface: the configuration could not be reloaded after the list change: {e.Message}");
                }
            }
            Queue("250 OK\r\n");
            var replies = EmailInterfaceReplies.For(cfg, outcome, sender).ToList();
            // DoAdditionalAnalyze: spam and ham reports also get the analysis, to the sender and/or EmailAnalyzeTo.
            if (command is EmailCommand.Spam or EmailCommand.Ham && cfg.GetChoice("DoAdditionalAnalyze") is var extra and > 0)
                replies.AddRange(EmailInterfaceReplies.For(cfg, await AnalyzeAsync(cfg, message, ct).ConfigureAwait(false), sender, extra));
            SendReplies(replies);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"email interface {EmailCommands.OptionOf(command)} request from {sender} failed: {e.Message}");
            Queue("451 4.3.0 the request could not be carried out, please try again later\r\n");
        }
        await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The analyzer's findings for the mails of the request, through the read-only analysis pipeline.</summary>
    private async Task<EmailOutcome> AnalyzeAsync(Assp.Config.ConfigSnapshot cfg, byte[] message, CancellationToken ct)
    {
        if (_server.AnalysisPipeline is not { } factory)
            return new EmailOutcome(EmailCommand.Analyze, ["the analyzer is not available on this server"], []);
        return await EmailAnalysis.AnalyzeAsync(factory(cfg), cfg, message, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// EmailForwardReportedTo: spam and ham reports go, as received, to the central ASSP host(s) (| for failover)
    /// and nothing is done here. True when a host took it; when all fail, the report is handled locally.
    /// </summary>
    private async Task<bool> ForwardReportAsync(Assp.Config.ConfigSnapshot cfg, string sender, byte[] message, CancellationToken ct)
    {
        var hosts = cfg["EmailForwardReportedTo"].Trim();
        if (hosts.Length == 0) return false;
        var failures = new List<string>();
        foreach (var host in hosts.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var failure = await ReportMailer.SendAsync(cfg, sender, [_emailAddress], message, ct, host).ConfigureAwait(false);
            if (failure is null)
            {
                Log($"email interface: report from {sender} to {_emailAddress} forwarded to {host} (EmailForwardReportedTo)");
                return true;
            }
            failures.Add(failure);
        }
        Log($"email interface: forwarding the report to {hosts} failed ({string.Join("; ", failures)}) - processing it here");
        return false;
    }

    /// <summary>The replies go out in the background; the client does not wait for the relay.</summary>
    /// <summary>ReportLog: 0 only failures of the email interface, 1 its requests and what they did, 2 and up also every reply sent.</summary>
    private int ReportLog => _cfg.GetChoice("ReportLog");

    private void SendReplies(IReadOnlyList<EmailReply> replies)
    {
        if (replies.Count == 0) return;
        var cfg = _cfg;
        var log = _log;
        var id = _ctx.MessageId;
        bool verbose = ReportLog >= 2;
        _ = Task.Run(async () =>
        {
            foreach (var reply in replies)
            {
                var failure = await EmailInterfaceReplies.SendAsync(cfg, reply, CancellationToken.None).ConfigureAwait(false);
                // ReportLog verbose names every reply sent; a reply that could not be sent is always logged.
                if (failure is not null) log?.Write("Worker_1", id, $"email interface: reply to {string.Join(", ", reply.To)} could not be sent: {failure}");
                else if (verbose) log?.Write("Worker_1", id, $"email interface: reply sent to {string.Join(", ", reply.To)}");
            }
        });
    }

    /// <summary>The received message as one array, for the requests the proxy answers itself.</summary>
    private async Task<byte[]> ReceivedMessageAsync(CancellationToken ct)
    {
        await using var stream = _ctx.OpenMessage() ?? Stream.Null;
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, ct).ConfigureAwait(false);
        return copy.ToArray();
    }
}
