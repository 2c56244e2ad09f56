using Assp.Checks.Decision;
using Assp.Checks.Whitelist;
using Assp.Smtp.Collection;

namespace Assp.Smtp.Session;

/// <summary>
/// The Copy Spam &amp; Ham section in the session: once a message is decided, a copy of spam (sendAllSpam,
/// ccSpamInDomain) or of delivered ham (sendHamInbound/sendHamOutbound) is queued for <see cref="MailCopier"/>.
/// The rules are in <see cref="MailCopies"/>.
/// </summary>
public sealed partial class ProxySession
{
    /// <summary>A refused (or tagged) spam: copied when the collection code and the copy filters say so.</summary>
    private void QueueSpamCopy()
    {
        try
        {
            var st = _ctx.CheckState.Message;
            if (_ctx.Message is null || st.Collect is not { } collect || _ctx.RecipientList.Count == 0) return;
            // sendAllCollect: mail to a collect address goes there (instead of to sendAllSpam).
            var sendAllCollect = _cfg["sendAllCollect"].Trim();
            bool toCollect = st.AddressedToSpamBucket is not null && st.Prepend.ToString().Contains("[Collect]", StringComparison.Ordinal)
                && sendAllCollect.Contains('@');
            if (!toCollect && _cfg["sendAllSpam"].Trim().Length == 0 && MailCopies.PerDomainAddresses(_cfg).Count == 0) return;
            var message = MessageBytes();
            var asspHeaders = AsspHeaders();
            bool never = MailCopies.NeverCopy(_cfg, MailCopies.HeaderOf(message), asspHeaders,
                st.Scores.Select(s => s.Reason).Append(st.SpamReason ?? ""));
            var sender = WhitelistAddress.StripBatv(_ctx.MailFrom ?? "");
            var facts = new CopyFacts(collect, _ctx.RecipientList, sender, st.MessageScore, st.NoCollect, st.IsBounce,
                st.Red is not null, st.NoProcessing is not null, st.MessageLow, never);
            var to = ReplaceCopyRecipients(toCollect ? MailCopies.SplitAddresses(sendAllCollect).ToList() : MailCopies.SpamCopyTargets(_cfg, facts), sender);
            if (to.Count == 0) return;
            var copy = MailCopies.BuildSpamCopy(_cfg, message, ReceivedHeader(), asspHeaders, st.Prepend.ToString(), _ctx.RecipientList[0]);
            _server.Copier.Enqueue(_cfg, spam: true, sender, to, copy, _ctx.MessageId, HaveToScan());
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            Log($"error: the spam copy could not be made - {ex.Message}");
        }
    }

    /// <summary>A delivered message that is not spam: copied to sendHamInbound/sendHamOutbound per the ham filters.</summary>
    private void QueueHamCopy()
    {
        try
        {
            var st = _ctx.CheckState.Message;
            if (_ctx.Message is null || st.SpamFound || _ctx.RecipientList.Count == 0) return;
            var sender = WhitelistAddress.StripBatv(_ctx.MailFrom ?? "");
            var to = ReplaceCopyRecipients(MailCopies.HamCopyTargets(_cfg, _ctx.RelayAllowed, _ctx.RecipientList, sender), sender);
            if (to.Count == 0) return;
            var copy = MailCopies.BuildHamCopy(_cfg, MessageBytes(), ReceivedHeader(), AsspHeaders(), StripOwnHeaders);
            _server.Copier.Enqueue(_cfg, spam: false, sender, to, copy, _ctx.MessageId, HaveToScan());
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            Log($"error: the ham copy could not be made - {ex.Message}");
        }
    }

    /// <summary>Whether this mail is one the virus scanners look at (for ScanCC).</summary>
    private bool HaveToScan() => Assp.Checks.Checks.VirusScanning.HaveToScan(_cfg, _ctx.CheckState.Message, _ctx.MailFrom, _ctx.RecipientList,
        _ctx.RemoteAddress, _ctx.Helo);

    private List<string> ReplaceCopyRecipients(IReadOnlyList<string> targets, string sender) =>
        MailCopies.ReplaceRecipients(_cfg, targets, sender, Log);

    /// <summary>The received message as one array (a copy is sent after the session has moved on).</summary>
    private byte[] MessageBytes()
    {
        if (_ctx.Message!.TryGetMemory(out var memory)) return memory.ToArray();
        using var stream = _ctx.Message.OpenRead();
        using var copy = new MemoryStream((int)Math.Min(_ctx.Message.Length, int.MaxValue));
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
