using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Config.Lists;

namespace Assp.Checks.Checks;

/// <summary>
/// DoNoSpoofing: an external, unauthenticated sender using one of our domains in MAIL FROM (and, with
/// DoNoSpoofing4From, in the From: header; with DoNoSpoofing4ReplyTo, in Reply-To:, Errors-To:, Return-Path: and
/// Disposition-Notification-To:). Scored once with slValencePB; refused with SenderInvalidError.
/// </summary>
public sealed class NoSpoofingCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoNoSpoofing", "[SpoofedSender]", "slValencePB", TestModeOption: "flsTestMode",
        LoverList: "isSpamLovers", CollectOption: "spamISLog", ReplyOption: "SenderInvalidError");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 40;

    /// <summary>The headers DoNoSpoofing4ReplyTo adds to the check.</summary>
    private static readonly string[] ReplyHeaders = ["Reply-To", "Errors-To", "Return-Path", "Disposition-Notification-To"];

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        if (!CheckHelpers.Enabled(c, Check) || st.RelayOk || st.IsWhitelisted || st.IsNoProcessing || st.AddressedToSpamBucket is not null
            || CheckHelpers.AcceptAll(c)) return Verdict.Pass;
        bool scored = false;
        var candidates = new List<(string What, string Address)> { ("mailfrom", c.Mail.MailFrom ?? "") };
        if (cfg.GetBool("DoNoSpoofing4From") && st.Parsed?.From is { Count: > 0 } from) candidates.Add(("from", from[0].Address));
        if (cfg.GetBool("DoNoSpoofing4ReplyTo") && st.Parsed is { } msg)
            foreach (var header in ReplyHeaders)
                foreach (var m in msg.Mailboxes(header)) candidates.Add((header.ToLowerInvariant(), m.Address));
        foreach (var (what, address) in candidates)
        {
            if (!Spoofed(c, address)) continue;
            var reason = $"No Spoofing Allowed '{address}' in '{what}'";
            // ASSP scores a message once however many addresses are spoofed.
            var score = scored ? (0d, 0d) : cfg.GetValence("slValencePB");
            var verdict = c.Engine.Hit(Check, cfg, st, c.Mail.RemoteAddress, reason, c.Log, score, reply: CheckHelpers.SenderInvalid(cfg, reason));
            if (Check.ConfiguredMode(cfg) != CheckMode.Monitor) scored = true;
            if (verdict.Refuses) return verdict;
        }
        return Verdict.Pass;
    }

    internal static bool Spoofed(CheckContext c, string address)
    {
        var cfg = c.Config;
        var ip = c.Mail.RemoteAddress;
        if (address.Length == 0 || IsBounceSender(cfg, address) || !CheckHelpers.IsLocalAddress(cfg, address)) return false;
        var onlyIp = cfg.GetIpList("onlySpoofingCheckIP");
        if (onlyIp.Count > 0 && !onlyIp.Contains(ip)) return false;
        if (cfg.GetIpList("noSpoofingCheckIP").Contains(ip)) return false;
        var onlyDomain = cfg.GetAddressList("onlySpoofingCheckDomain");
        if (onlyDomain.Count > 0 && !onlyDomain.Contains(address)) return false;
        return !cfg.GetAddressList("noSpoofingCheckDomain").Contains(address);
    }

    internal static bool IsBounceSender(Assp.Config.ConfigSnapshot cfg, string address) =>
        cfg.Derived("bounce-senders", x => AddressList.Compile(x.GetListEntries("BounceSenders"), "BounceSenders", [],
            Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout)).Contains(address);
}

/// <summary>
/// DoNoValidLocalSender: mail from outside with one of our domains in MAIL FROM must come from an existing local
/// address, as the recipient validation knows them (ldaplistdb, LocalAddresses_Flat, LDAP, VRFY). Mode 4 is its
/// test mode. A lookup that fails temporarily does not count against the sender.
/// </summary>
public sealed class LocalSenderCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoNoValidLocalSender", "[UnknownLocalSender]", "flValencePB",
        LoverList: "isSpamLovers", CollectOption: "spamISLog", ReplyOption: "SenderInvalidError");

    private readonly Recipients.LocalAddressValidator _validator = Recipients.LocalAddressValidator.For(services);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 50;

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var st = c.State;
        var from = c.Mail.MailFrom ?? "";
        if (!CheckHelpers.Enabled(c, Check) || !await IsUnknownLocalSenderAsync(c, _validator, cancellationToken).ConfigureAwait(false))
            return Verdict.Pass;

        c.Engine.IpReputation.DeleteWhite(cfg, c.Mail.RemoteAddress);
        return c.Engine.Hit(Check, cfg, st, c.Mail.RemoteAddress, $"Unknown Local Sender '{from}'", c.Log,
            reply: CheckHelpers.SenderInvalid(cfg, "Unknown Local Sender"));
    }

    /// <summary>
    /// External mail whose envelope sender is in a local domain but not a known local address (LocalAddresses_Flat,
    /// the ldaplistdb cache, LDAP or VRFY, as the recipient validation asks them).
    /// </summary>
    internal static async ValueTask<bool> IsUnknownLocalSenderAsync(CheckContext c, Recipients.LocalAddressValidator validator, CancellationToken ct)
    {
        var st = c.State;
        var cfg = c.Config;
        var from = c.Mail.MailFrom ?? "";
        if (!Recipients.LocalAddressValidator.Configured(cfg)) return false;
        if (st.RelayOk || st.IsNoProcessing || st.IsIsp || st.AddressedToSpamBucket is not null || CheckHelpers.AcceptAll(c)) return false;
        if (!CheckHelpers.IsLocalAddress(cfg, from)) return false;
        var result = await validator.ValidateAsync(cfg, from, ct).ConfigureAwait(false);
        return result.Status == Recipients.AddressStatus.Invalid;
    }
}

/// <summary>
/// DoMsgID (monitor or score): a missing Message-ID scores midmValencePB, one matching invalidMsgIDRe (weighted) or
/// not matching validMsgIDRe midiValencePB, one that repeats the sender's user part with a bad domain midsValencePB.
/// </summary>
public sealed class MsgIdCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoMsgID", "[MsgID]", "midmValencePB");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 60;

    private static readonly Regex DomainRe = new(@"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z]{2,63}$|^\[[0-9.]+\]$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        var ip = c.Ip;
        if (!CheckHelpers.Enabled(c, Check) || st.Parsed is not { } msg) return Verdict.Pass;
        if (st.IsBounce || st.RwlOk || st.AddressedToSpamBucket is not null || st.RelayOk || st.IsWhitelisted || st.IsNoProcessing
            || CheckHelpers.IspWithoutOrigin(st) || CheckHelpers.AcceptAll(c)) return Verdict.Pass;
        if (cfg.GetIpList("noDelay").Contains(ip) || DecisionEngine.IsPrivate(c.Mail.RemoteAddress) || cfg.GetIpList("noMsgID").Contains(ip)) return Verdict.Pass;

        var id = (msg.Headers.Get("Message-ID")?.UnfoldedValue ?? "").Trim().TrimStart('<').TrimEnd('>').Trim();
        if (id.Length == 0) return Hit(c, "Message-ID missing", cfg.GetValence("midmValencePB"));

        var (sum, matched) = CheckHelpers.WeightedSum(cfg, "invalidMsgIDRe", "midiValencePB", id);
        if (matched.Length > 0 || sum != 0)
            return Hit(c, $"Message-ID invalid: '{id}'", DecisionEngine.Proportional(cfg, "midiValencePB", sum));
        var valid = cfg.GetRegex("validMsgIDRe");
        if (valid.Count > 0 && !valid.IsMatch(id)) return Hit(c, $"Message-ID not valid: '{id}'", cfg.GetValence("midiValencePB"));

        var user = (c.Mail.MailFrom ?? "") is var from && from.LastIndexOf('@') is var at and > 0 ? from[..at] : "";
        var domain = id.LastIndexOf('@') is var a and >= 0 ? id[(a + 1)..] : "";
        if (id.Contains(user, StringComparison.OrdinalIgnoreCase) && !DomainRe.IsMatch(domain))
            return Hit(c, $"Message-ID suspicious: '{id}'", cfg.GetValence("midsValencePB"));
        return Verdict.Pass;
    }

    private static Verdict Hit(CheckContext c, string reason, (double, double) score) =>
        c.Engine.Hit(Check, c.Config, c.State, c.Ip, reason, c.Log, score) is { Refuses: true } v ? v : Verdict.Pass;
}
