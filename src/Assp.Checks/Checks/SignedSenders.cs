using Assp.Checks.Decision;
using Assp.Mime;

namespace Assp.Checks.Checks;

/// <summary>
/// signedSenders: incoming mail whose envelope sender matches the list (end of the address, or a sender=&gt;recipient
/// entry for one of the recipients) must be S/MIME or PGP signed or encrypted. Signed or encrypted mail is then
/// processed as whitelisted; anything else is refused. As the reference says, this holds whatever else is set:
/// whitelisted and noprocessing mail from such a sender is refused too when it is not signed.
/// </summary>
public static class SignedSenders
{
    public const string Tag = "[Unsigned]";

    /// <summary>The refusal, or null: the list does not name the sender, or the mail is signed (and now whitelisted).</summary>
    public static Verdict? Check(IMailContext ctx, MessageState st, MimeMessage? msg)
    {
        var cfg = ctx.Config;
        var list = cfg.GetDomainList("signedSenders");
        var sender = ctx.MailFrom ?? "";
        if (list.Count == 0 || sender.Length == 0 || st.RelayOk) return null;
        if (!list.Matches(sender) && !(list.HasScopedEntries && ctx.Recipients.Any(r => list.Matches(sender, r)))) return null;
        if (msg is not null && IsSignedOrEncrypted(msg))
        {
            st.Whitelisted ??= $"signedSenders '{sender}' - signed or encrypted";
            ctx.Log($"signedSenders: mail from {sender} is signed or encrypted - processed as whitelisted");
            return null;
        }
        var reason = $"signedSenders: mail from {sender} is neither signed nor encrypted";
        st.Prepend.Clear().Append(Tag);
        ctx.Log(reason);
        st.Reports.Add(new CheckReport("signedSenders", "block", 0, reason));
        return Verdict.Block($"554 5.7.1 mail from <{sender}> must be S/MIME or PGP signed or encrypted", reason);
    }

    /// <summary>
    /// S/MIME (multipart/signed, application/pkcs7-mime) or PGP (multipart/signed, multipart/encrypted, an inline
    /// signed or encrypted text) anywhere in the mail's own parts - a list footer around a signed part still counts.
    /// </summary>
    public static bool IsSignedOrEncrypted(MimeMessage msg)
    {
        foreach (var part in msg.Entities)
        {
            if (part.Owner != msg) continue;
            var type = part.ContentType;
            if (type.Is("multipart", "signed") || type.Is("multipart", "encrypted")
                || type.Is("application", "pkcs7-mime") || type.Is("application", "x-pkcs7-mime"))
                return true;
            if (part.IsText && Text(part) is { } text && InlinePgp(text)) return true;
        }
        return false;
    }

    private static string? Text(MimeEntity part)
    {
        try { return part.GetText(); }
        catch (Exception e) when (e is System.Text.DecoderFallbackException or ArgumentException) { return null; }
    }

    private static bool InlinePgp(string text)
    {
        var start = text.AsSpan().TrimStart();
        return start.StartsWith("-----BEGIN PGP SIGNED MESSAGE-----", StringComparison.Ordinal)
            || start.StartsWith("-----BEGIN PGP MESSAGE-----", StringComparison.Ordinal);
    }
}
