using System.Net;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>The IP deny lists (denySMTPConnectionsFrom, denySMTPConnectionsFromAlways, droplist) and their options.</summary>
internal static class DenyLists
{
    public static readonly CheckDefinition Deny = new("DoDenySMTP", "[DenyIP]", null, TestModeOption: "pbTestMode",
        LoverList: "pbSpamLovers", WhitelistSwitch: "ExtremeWL", NoProcessingSwitch: "ExtremeNP", CollectOption: "spamPBLog", ReplyOption: "PenaltyError");

    public static readonly CheckDefinition Strict = new("DoDenySMTPstrict", "[DenyStrict]", null, TestModeOption: "pbTestMode",
        LoverList: "pbSpamLovers", CollectOption: "spamPBLog", ReplyOption: "PenaltyError");

    /// <summary>The strict list entry for the IP: denySMTPConnectionsFromAlways, then droplist when DoDropList adds to it (2, 3).</summary>
    public static (string List, string Entry)? StrictMatch(ConfigSnapshot cfg, IPAddress ip)
    {
        if (cfg.GetIpList("denySMTPConnectionsFromAlways").Match(ip) is { } a) return ("denySMTPConnectionsFromAlways", a.Network.ToString());
        if (cfg.GetChoice("DoDropList") is 2 or 3 && cfg.GetIpList("droplist").Match(ip) is { } d) return ("droplist", d.Network.ToString());
        return null;
    }

    /// <summary>Any deny list: the strict one, denySMTPConnectionsFrom, then droplist when DoDropList is on at all.</summary>
    public static (string List, string Entry)? AnyMatch(ConfigSnapshot cfg, IPAddress ip, string? rcpt)
    {
        if (cfg.GetIpList("denySMTPConnectionsFromAlways").Match(ip) is { } a) return ("denySMTPConnectionsFromAlways", a.Network.ToString());
        if (cfg.GetIpList("denySMTPConnectionsFrom").Match(ip, rcpt) is { } f) return ("denySMTPConnectionsFrom", f.Network.ToString());
        if (cfg.GetChoice("DoDropList") != 0 && cfg.GetIpList("droplist").Match(ip) is { } d) return ("droplist", d.Network.ToString());
        return null;
    }

    public static bool LogDenials(ConfigSnapshot cfg) => cfg.GetChoice("denySMTPLog") != 0 || cfg.GetChoice("ConnectionLog") >= 2;
}

/// <summary>
/// denySMTPstrictEarly: an IP on the strict deny list (or the droplist with DoDropList 2/3) is turned away at
/// connect with ASSP's "Service denied" reply; noPB and noBlockingIPs are the only exemptions.
/// </summary>
public sealed class DenySmtpStrictEarlyCheck : IMessageCheck
{
    public CheckDefinition Definition => DenyLists.Strict;
    public SmtpPhase Phase => SmtpPhase.Connect;
    public int Order => 10;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var cfg = context.Config;
        var ip = context.Mail.RemoteAddress;
        var mode = DenyLists.Strict.ConfiguredMode(cfg);
        if (!cfg.GetBool("denySMTPstrictEarly") || mode == CheckMode.Disabled) return ValueTask.FromResult(Verdict.Pass);
        if (DenyLists.StrictMatch(cfg, ip) is not { } hit || cfg.GetIpList("noPB").Contains(ip) || cfg.GetIpList("noBlockingIPs").Contains(ip))
            return ValueTask.FromResult(Verdict.Pass);
        var text = $"{ip} denied by {hit.List} strict: {hit.Entry}";
        if (mode == CheckMode.Monitor)
        {
            if (DenyLists.LogDenials(cfg)) context.Log("[monitoring] " + text);
            return ValueTask.FromResult(Verdict.Pass);
        }
        if (DenyLists.LogDenials(cfg)) context.Log(text);
        return ValueTask.FromResult(Verdict.Block($"554 <{cfg["myName"]}> Service denied, closing transmission channel", text));
    }
}

/// <summary>
/// ASSP's IP blocking after the header (PBExtremeOK): first the strict list (DoDenySMTPstrict, no exemptions but
/// noPB and noBlockingIPs), then every deny list (DoDenySMTP) with its exemptions: outgoing mail, acceptAllMail,
/// ispip without an original IP, noDelay, noPB, the white box, whitelisted and noprocessing mail (unless
/// ExtremeWL/ExtremeNP). A refusal uses PenaltyError and the PenaltyBox's test mode, lovers and collection.
/// </summary>
public sealed class DenySmtpCheck : IMessageCheck
{
    public CheckDefinition Definition => DenyLists.Deny;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 70;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        var ip = c.Ip;
        if (st.Transparent || cfg.GetIpList("noBlockingIPs").Contains(ip, st.FirstRecipient)) return Verdict.Pass;
        // The origin IP behind an ISP is named in the reason; the client IP is not.
        var who = ip.Equals(c.Mail.RemoteAddress) ? "" : $"(OIP: {ip}) ";

        var strictMode = DenyLists.Strict.ConfiguredMode(cfg);
        if (!cfg.GetBool("denySMTPstrictEarly") && strictMode != CheckMode.Disabled && DenyLists.StrictMatch(cfg, ip) is { } strict
            && !cfg.GetIpList("noPB").Contains(ip))
        {
            var text = $"{who}blocked by {strict.List} strict: {strict.Entry}";
            if (strictMode == CheckMode.Monitor)
            {
                if (DenyLists.LogDenials(cfg)) c.Log("[monitoring] " + text);
            }
            else
            {
                if (DenyLists.LogDenials(cfg)) c.Log(text);
                var verdict = c.Engine.Hit(DenyLists.Strict, cfg, st, ip, $"{who}blocked by {strict.List} strict '{strict.Entry}'", c.Log, done: true);
                if (verdict.Refuses) return verdict;
            }
        }

        if (!c.Applies(DenyLists.Deny) || st.PenaltyWhite || c.Engine.IpReputation.IsWhite(cfg, ip) || CheckHelpers.AcceptAll(c)) return Verdict.Pass;
        if (st.OriginalIp is null && (st.IsIsp || cfg.GetIpList("noDelay").Contains(ip) || st.NoPenaltyBox || cfg.GetIpList("noPB").Contains(ip)))
            return Verdict.Pass;
        if (DenyLists.AnyMatch(cfg, ip, st.FirstRecipient) is not { } hit) return Verdict.Pass;
        var reason = $"{who}blocked by {hit.List} '{hit.Entry}'";
        if (DenyLists.Deny.ConfiguredMode(cfg) == CheckMode.Monitor)
        {
            st.Prepend.Clear().Append(DenyLists.Deny.Tag);
            if (cfg.GetChoice("PenaltyExtremeLog") != 0) c.Log("[monitoring] " + reason);
            st.Reports.Add(new CheckReport(DenyLists.Deny.Name, "monitor", 0, reason));
            return Verdict.Pass;
        }
        return c.Engine.Hit(DenyLists.Deny, cfg, st, ip, reason, c.Log, done: true);
    }
}
