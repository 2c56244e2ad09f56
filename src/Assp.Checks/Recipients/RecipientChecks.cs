using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Config;

namespace Assp.Checks.Recipients;

/// <summary>
/// Local recipient validation at RCPT TO (incoming mail only): NullAddresses (recipient or sender) turn the
/// transaction into a NULL connection; sendAllPostmaster/sendAllAbuse take every local postmaster/abuse;
/// RejectTheseLocalAddresses are refused; LocalAddressesNP spares noprocessing recipients; spamaddresses and trap
/// addresses count as existing; the rest goes through <see cref="LocalAddressValidator"/>. An unknown address is
/// redirected to the domain's CatchAll, dropped for ISPs (CatchallallISP2NULL) or redirected to CatchAllAll —
/// otherwise refused with NoValidRecipient. Every unknown address scores irValencePB and counts towards becoming
/// a trap (DoPenaltyMakeTraps); when the lookup failed temporarily the reply is a 450 and nothing is counted.
/// Valid recipients in InternalAddresses (InternalAndWhiteAddresses) still need a local (or whitelisted) sender.
/// </summary>
public sealed class RecipientValidationCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("LocalAddresses_Flat", "[InvalidAddress]", "irValencePB", ReplyOption: "NoValidRecipient");

    private readonly LocalAddressValidator _validator = LocalAddressValidator.For(services);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.RcptTo;
    public int Order => 10;

    /// <summary>
    /// LDAPLog and VRFYLog: what the directory or the MTA said about a recipient (standard), with its details
    /// (verbose and up). Answers from the address cache or the flat lists are not lookups and say nothing here.
    /// </summary>
    internal static void LogLookup(CheckContext c, string rcpt, AddressValidation result)
    {
        bool failed = result.Detail.StartsWith("lookup failed", StringComparison.Ordinal);
        var outcome = result.Status switch
        {
            AddressStatus.Valid when failed => "could not be checked - accepted",
            AddressStatus.Valid => "found",
            AddressStatus.Invalid => "not found",
            _ => "could not be checked",
        };
        foreach (var (source, option) in new[] { ("LDAP", "LDAPLog"), ("VRFY", "VRFYLog") })
        {
            if (!result.Source.Contains(source, StringComparison.Ordinal)) continue;
            int level = c.Config.GetChoice(option);
            if (level <= 0) continue;
            var detail = level >= 2 && result.Detail.Length > 0 ? " - " + result.Detail : "";
            c.Log($"{source}: {rcpt} {outcome}{detail}");
        }
    }

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken ct)
    {
        var cfg = c.Config;
        var st = c.State;
        if (st.RelayOk || st.Transparent || c.Mail.Recipients.Count == 0) return Verdict.Pass;
        var rcpt = c.Mail.Recipients[^1];
        var from = c.Mail.MailFrom ?? "";
        var nulls = cfg.GetAddressList("NullAddresses");
        if (nulls.Contains(rcpt) || (from.Length > 0 && nulls.Contains(from)))
        {
            st.NullConnection = true;
            c.Log("connection moved to NULL-connection");
            return Verdict.Pass;
        }
        int at = rcpt.LastIndexOf('@');
        if (at < 0 || !await _validator.IsLocalDomainAsync(cfg, rcpt[(at + 1)..], ct).ConfigureAwait(false)) return Verdict.Pass;
        int logLevel = cfg.GetChoice("ValidateUserLog");
        // sendAllPostmaster/sendAllAbuse: every local postmaster@/abuse@ goes to one address (…NP: unchecked).
        var localPart = rcpt[..at];
        foreach (var (user, option, noProcessing) in new[] { ("abuse", "sendAllAbuse", "sendAllAbuseNP"), ("postmaster", "sendAllPostmaster", "sendAllPostmasterNP") })
        {
            if (!localPart.Equals(user, StringComparison.OrdinalIgnoreCase) || cfg[option].Trim() is not { Length: > 0 } target || !target.Contains('@')) continue;
            if (!target.Equals(rcpt, StringComparison.OrdinalIgnoreCase)) st.RecipientRewrite = target;
            if (cfg.GetBool(noProcessing)) st.NoProcessing ??= noProcessing;
            if (logLevel >= 2) c.Log($"recipient {rcpt} goes to {option} {target}");
            return Verdict.Pass;
        }
        if (cfg.GetAddressList("RejectTheseLocalAddresses").Contains(rcpt))
        {
            // Disabled accounts: refused like unknown users, without scoring.
            st.Prepend.Clear().Append("[BounceAddress]");
            if (logLevel >= 1) c.Log($"[BounceAddress] rejected by bounce address list: {rcpt}");
            return Verdict.Block(NoValidRecipient(cfg, rcpt), $"{rcpt} in RejectTheseLocalAddresses");
        }
        if (cfg.GetBool("LocalAddressesNP") && st.LastRecipientNoProcessing) return Internal(c, rcpt, from);
        if (cfg.GetAddressList("spamaddresses").Contains(rcpt))
        {
            st.AddressedToSpamBucket ??= rcpt;
            return Internal(c, rcpt, from);
        }
        if (cfg.GetAddressList("spamtrapaddresses").Contains(rcpt) && !cfg.GetAddressList("noPenaltyMakeTraps").Contains(rcpt)) return Verdict.Pass;

        var result = await _validator.ValidateAsync(cfg, rcpt, ct).ConfigureAwait(false);
        LogLookup(c, rcpt, result);
        var box = c.Engine.IpReputation as IpPenaltyBox;
        if (result.Status == AddressStatus.Valid)
        {
            if (logLevel >= 3) c.Log($"{rcpt} validated by {result.Source}");
            else if (logLevel >= 2) c.Log($"recipient accepted: {rcpt}");
            box?.Remove(PenaltyBoxTable.Trap, rcpt);
            return Internal(c, rcpt, from);
        }

        var reply = NoValidRecipient(cfg, rcpt);
        if (result.Status == AddressStatus.TempFail)
        {
            // The directory or the MTA could not answer: the client is asked to come back, and nothing is held against it.
            st.Prepend.Clear().Append("[InvalidAddress]");
            if (logLevel >= 1) c.Log($"[InvalidAddress] invalid address rejected: {rcpt} - temporary failure ({result.Source}: {result.Detail})");
            return Verdict.TempFail(TemporaryReply(reply), $"recipient {rcpt} could not be validated ({result.Source})");
        }

        var ip = c.Ip;
        var reason = $"invalid address {rcpt}";
        if (logLevel >= 3) c.Log($"{rcpt} not validated by {result.Source}: {result.Detail}");
        if (CatchAllFor(cfg, rcpt[(at + 1)..]) is { } catchAll) return Redirect(c, rcpt, catchAll, reason, box);
        if (cfg.GetBool("CatchallallISP2NULL") && st.IsIsp)
        {
            if (logLevel >= 2) c.Log($"invalid address {rcpt} from ISP moved to NULL-connection");
            box?.RecordInvalidRecipient(cfg, rcpt, c.Mail.RemoteAddress);
            st.NullConnection = true;
            return Verdict.Pass;
        }
        if (cfg["CatchAllAll"].Trim() is { Length: > 0 } all && all.Contains('@')) return Redirect(c, rcpt, all, reason, box);

        st.Prepend.Clear().Append("[InvalidAddress]");
        if (logLevel >= 1) c.Log($"[InvalidAddress] invalid address rejected: {rcpt}");
        box?.RecordInvalidRecipient(cfg, rcpt, c.Mail.RemoteAddress);
        c.Engine.AddPenalty(cfg, st, ip, "irValencePB", "InvalidAddress", 0, c.Log);
        st.Reports.Add(new CheckReport(Check.Name, "block", cfg.GetValence("irValencePB").Message, reason));
        return Verdict.Block(reply, reason);
    }

    private static string NoValidRecipient(ConfigSnapshot cfg, string rcpt)
    {
        var template = cfg["NoValidRecipient"].Trim();
        if (template.Length == 0) template = "550 5.1.1 User unknown: EMAILADDRESS";
        return template.Replace("EMAILADDRESS", rcpt, StringComparison.Ordinal);
    }

    /// <summary>
    /// InternalAddresses take mail only from our own domains, InternalAndWhiteAddresses also from whitelisted
    /// senders: anyone else is refused with NoRelaying, scored with iaValencePB and the connection is closed. As ASSP
    /// does for spam, the IP leaves the WhiteBox and (DelayExpireOnSpam) its greylisting safelist entry is dropped.
    /// </summary>
    private static Verdict Internal(CheckContext c, string rcpt, string from)
    {
        var cfg = c.Config;
        bool internalOnly = cfg.GetAddressList("InternalAddresses").Contains(rcpt);
        bool internalOrWhite = !internalOnly && cfg.Registry.Find("InternalAndWhiteAddresses") is not null
            && cfg.GetAddressList("InternalAndWhiteAddresses").Contains(rcpt);
        if (!internalOnly && !internalOrWhite) return Verdict.Pass;
        if (Assp.Checks.Checks.CheckHelpers.IsLocalAddress(cfg, from)) return Verdict.Pass;
        if (internalOrWhite && from.Length > 0 && c.Engine.AddressReputation.IsWhitelisted(cfg, from, rcpt)) return Verdict.Pass;
        var st = c.State;
        st.Prepend.Clear().Append("[InternalAddress]");
        c.Log($"[InternalAddress] invalid remote sender for internal address: {rcpt}");
        c.Engine.AddPenalty(cfg, st, c.Ip, "iaValencePB", $"internaladdress:{rcpt}", 0, c.Log);
        st.Reports.Add(new CheckReport("InternalAddresses", "block", cfg.GetValence("iaValencePB").Message, $"internal address {rcpt}"));
        SpamSeen.Forget(c);
        return Verdict.BlockAndClose(cfg["NoRelaying"], $"invalid remote sender for internal address {rcpt}");
    }

    private static Verdict Redirect(CheckContext c, string rcpt, string target, string reason, IpPenaltyBox? box)
    {
        var cfg = c.Config;
        var st = c.State;
        if (cfg.GetChoice("ValidateUserLog") >= 2) c.Log($"invalid address {rcpt} replaced with {target}");
        box?.RecordInvalidRecipient(cfg, rcpt, c.Mail.RemoteAddress);
        c.Engine.AddPenalty(cfg, st, c.Ip, "irValencePB", "InvalidAddress", 0, c.Log);
        st.Reports.Add(new CheckReport(Check.Name, "catchall", cfg.GetValence("irValencePB").Message, reason));
        st.RecipientRewrite = target;
        if (cfg.GetAddressList("NullAddresses").Contains(target))
        {
            st.NullConnection = true;
            c.Log("connection moved to NULL-connection");
        }
        return Verdict.Pass;
    }

    /// <summary>CatchAll lists one catch-all address per domain ("catchall@domain1.com|catchall@domain2.com").</summary>
    private static string? CatchAllFor(ConfigSnapshot cfg, string domain)
    {
        foreach (var e in cfg.GetListEntries("CatchAll"))
        {
            var text = e.Text.Trim();
            int at = text.LastIndexOf('@');
            if (at > 0 && text[(at + 1)..].Equals(domain, StringComparison.OrdinalIgnoreCase)) return text;
        }
        return null;
    }

    /// <summary>ASSP turns the 5xx unknown-user reply into "450 …" while lookups fail.</summary>
    internal static string TemporaryReply(string reply)
    {
        var text = reply.TrimStart();
        if (text.Length >= 3 && char.IsDigit(text[0]) && char.IsDigit(text[1]) && char.IsDigit(text[2]))
        {
            text = text[3..].TrimStart(' ', '-');
            // The enhanced code (5.1.1) goes as well.
            int space = text.IndexOf(' ');
            if (space > 0 && text[..space].Count(ch => ch == '.') == 2 && text[..space].All(ch => char.IsDigit(ch) || ch == '.')) text = text[(space + 1)..];
        }
        return "450 " + text;
    }
}

/// <summary>
/// DoMaxDupRcpt (block, monitor, score) with MaxDupRcpt: RCPT TO commands beyond the number of distinct recipients
/// (one address three times, or two twice, both make 2). Scored with mdrValencePB once the count passes the limit;
/// not for outgoing, whitelisted, noprocessing or spam-lover mail.
/// </summary>
public sealed class DuplicateRecipientCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoMaxDupRcpt", "[MaxDupRcpt]", "mdrValencePB", LoverList: "spamLovers");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.RcptTo;
    public int Order => 5;

    public ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken ct)
    {
        var st = c.State;
        if (c.Mail.Recipients.Count == 0) return ValueTask.FromResult(Verdict.Pass);
        st.RcptCommands++;
        st.DistinctRecipients.Add(c.Mail.Recipients[^1]);
        int max = c.Config.GetInt("MaxDupRcpt");
        int duplicates = st.RcptCommands - st.DistinctRecipients.Count;
        if (max <= 0 || duplicates != max + 1 || !c.Applies(Check) || st.AllLove("spamLovers")) return ValueTask.FromResult(Verdict.Pass);
        var verdict = c.Engine.Hit(Check, c.Config, st, c.Ip, $"too many duplicate recipients ({duplicates} > MaxDupRcpt {max})", c.Log);
        return ValueTask.FromResult(verdict.Refuses ? verdict : Verdict.Pass);
    }
}
