using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.Recipients;

/// <summary>
/// DoHeaderAddrCheck: the addresses in the BCC:, CC: and TO: header lines of incoming mail are checked like
/// recipients. Each address first goes through the ReplaceRecpt rules; a valid local address is fine. A spam trap
/// (spamtrapaddresses unless in noPenaltyMakeTraps, or a PenaltyBox trap) scores stValencePB and ends the
/// connection; a local address that does not validate scores irValencePB; a BCC: address outside our domains is a
/// relay attempt that scores rlValencePB and ends the connection. Whitelisted and noprocessing mail skips the trap
/// and invalid-address steps (acceptAllMail, RWL and noBlockingIPs skip the invalid-address scoring too). With
/// removeForeignBCC on, every BCC: line of incoming mail is taken out of the message as forwarded and not looked at.
/// </summary>
public sealed class HeaderAddressCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoHeaderAddrCheck", "[InvalidAddress]", "irValencePB");

    private readonly LocalAddressValidator _validator = LocalAddressValidator.For(services);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 5;

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken ct)
    {
        var cfg = c.Config;
        var st = c.State;
        if (st.RelayOk || st.Transparent || st.Parsed is not { } msg) return Verdict.Pass;
        // removeForeignBCC: incoming mail loses its BCC: lines before they are looked at (whether or not they are checked).
        bool removeBcc = cfg.GetBool("removeForeignBCC");
        if (removeBcc && msg.Headers.GetAll("BCC").Any())
        {
            st.DroppedHeaderFields.Add("BCC");
            if (cfg.GetChoice("ValidateUserLog") >= 2) c.Log("info: found and removed unexpected BCC: recipient addresses in incoming mail");
        }
        if (!cfg.GetBool(Check.Name)) return Verdict.Pass;
        if (cfg["localDomains"].Trim().Length == 0) return Verdict.Pass;
        var domains = LocalDomains.For(cfg);
        var rules = RecipientRules.For(cfg);
        var from = c.Mail.MailFrom ?? "";
        int logLevel = cfg.GetChoice("ValidateUserLog");
        foreach (var field in new[] { "BCC", "CC", "TO" })
        {
            if (field == "BCC" && removeBcc) continue;
            var addresses = msg.Headers.GetAll(field)
                .SelectMany(h => AddressParser.ParseList(h.UnfoldedValue)).SelectMany(a => a.Mailboxes)
                .Select(m => m.Address.Trim()).Where(a => a.LastIndexOf('@') > 0).ToList();
            if (addresses.Count == 0) continue;
            if (logLevel >= 2) c.Log($"info: checking for unexpected {field}: recipient addresses in incoming mail");
            foreach (var original in addresses)
            {
                var addr = original;
                if (rules.Count > 0 && rules.Apply(addr, from) is { Length: > 0 } replaced && !replaced.Equals(addr, StringComparison.OrdinalIgnoreCase))
                {
                    if (logLevel >= 1) c.Log($"{field}: - recipient {addr} replaced with {replaced}");
                    addr = replaced;
                }
                bool local = domains.IsLocal(addr[(addr.LastIndexOf('@') + 1)..]);
                // A lookup that failed temporarily is not held against the mail.
                if (local && (await _validator.ValidateAsync(cfg, addr, ct).ConfigureAwait(false)).Status != AddressStatus.Invalid) continue;

                if (!st.IsWhitelisted && !st.IsNoProcessing && IsTrap(c, addr)) return Trap(c, addr, field);

                if (local)
                {
                    if (Assp.Checks.Checks.CheckHelpers.AcceptAll(c) || st.IsWhitelisted || st.RwlOk || st.IsNoProcessing || cfg.GetIpList("noBlockingIPs").Contains(c.Ip)) continue;
                    if (logLevel >= 1) c.Log($"{field}: - local but not valid recipient address '{addr}' detected in mail header");
                    c.Engine.AddPenalty(cfg, st, c.Ip, "irValencePB", "InvalidAddress", 0, c.Log);
                    st.Reports.Add(new CheckReport(Check.Name, "score", cfg.GetValence("irValencePB").Message, $"invalid local {field}: address {addr}"));
                    continue;
                }
                if (field != "BCC") continue;   // TO: and CC: may name foreign people
                return RelayAttempt(c, addr, field);
            }
        }
        return Verdict.Pass;
    }

    private static bool IsTrap(CheckContext c, string addr) =>
        (c.Engine.IpReputation is IpPenaltyBox box && box.FindTrap(c.Config, addr).ActsAsTrap)
        || (c.Config.GetAddressList("spamtrapaddresses").Contains(addr) && !c.Config.GetAddressList("noPenaltyMakeTraps").Contains(addr));

    private static Verdict Trap(CheckContext c, string addr, string field)
    {
        var cfg = c.Config;
        var st = c.State;
        st.Prepend.Clear().Append("[Trap]");
        st.Whitelisted = null;
        var reason = $"penalty trap address: {addr} in {field}:";
        c.Log($"[spam found] penalty trap address: {addr}");
        c.Engine.AddPenalty(cfg, st, c.Ip, "stValencePB", "penaltytrap", 0, c.Log);
        st.Reports.Add(new CheckReport("spamtrapaddresses", "block", cfg.GetValence("stValencePB").Message, reason));
        SpamSeen.Forget(c);
        var polite = cfg["PenaltyTrapPolite"].Trim();
        var reply = polite.Length > 0 ? polite.Replace("EMAILADDRESS", addr, StringComparison.Ordinal) : $"421 closing transmission - 5.1.1 User unknown: {addr}";
        return Verdict.BlockAndClose(reply, reason);
    }

    private static Verdict RelayAttempt(CheckContext c, string addr, string field)
    {
        var cfg = c.Config;
        var st = c.State;
        c.Engine.AddPenalty(cfg, st, c.Ip, "rlValencePB", "RelayAttempt", 0, c.Log);
        st.Prepend.Clear().Append("[RelayAttempt]");
        var reason = $"relay attempt blocked for non local {field}: recipient - {addr}";
        if (cfg.GetChoice("ValidateUserLog") >= 1) c.Log("Notice: you may set 'removeForeignBCC' to prevent this relay attempt blocking");
        c.Log($"[spam found] {reason}");
        st.Reports.Add(new CheckReport(Check.Name, "block", cfg.GetValence("rlValencePB").Message, reason));
        SpamSeen.Forget(c);
        return Verdict.BlockAndClose($"421 closing transmission - {field}: recipient ({addr}) is not local", reason);
    }
}

/// <summary>What ASSP does to a client caught sending spam outside the scoring: ASSP's delayWhiteExpire.</summary>
internal static class SpamSeen
{
    /// <summary>The IP leaves the WhiteBox and, with DelayExpireOnSpam, its greylisting safelist entry goes.</summary>
    public static void Forget(CheckContext c)
    {
        var cfg = c.Config;
        c.Engine.IpReputation.DeleteWhite(cfg, c.Ip);
        if (c.Engine.Greylist is { } greylist && cfg.GetBool("EnableDelaying") && cfg.GetBool("DelayExpireOnSpam") && c.Mail.MailFrom is { Length: > 0 } from)
            greylist.ExpireTuple(cfg, c.Ip, from);
    }
}
