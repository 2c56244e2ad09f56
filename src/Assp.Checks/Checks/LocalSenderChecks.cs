using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// DoLocalSenderDomain: outgoing/local mail (relaying allowed) must use a sender in one of our domains, else
/// ASSP's "530 Relaying not allowed - sender domain not local". Bounces, redlisted mail and acceptAllMail IPs are
/// exempt. Runs after the header, as in ASSP.
/// </summary>
public sealed class LocalSenderDomainCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoLocalSenderDomain", "[RelayAttempt]", null, RunsOnOutgoing: true);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 55;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        if (!c.Config.GetBool(Check.Name) || !LocalSenderRules.Applies(c)) return Verdict.Pass;
        if (CheckHelpers.IsLocalAddress(c.Config, c.Mail.MailFrom)) return Verdict.Pass;
        return LocalSenderRules.Refuse(c, Check, "530 Relaying not allowed - sender domain not local",
            "relay attempt blocked for unknown local sender domain");
    }
}

/// <summary>
/// DoLocalSenderAddress: outgoing/local mail must use a known local sender address (LocalAddresses_Flat; with that
/// list empty, any address of a local domain), else ASSP's "530 Relaying not allowed - local sender address unknown".
/// Bounces, redlisted mail and acceptAllMail IPs are exempt.
/// </summary>
public sealed class LocalSenderAddressCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoLocalSenderAddress", "[RelayAttempt]", null, RunsOnOutgoing: true);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 56;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        if (!c.Config.GetBool(Check.Name) || !LocalSenderRules.Applies(c)) return Verdict.Pass;
        var from = c.Mail.MailFrom ?? "";
        var flat = c.Config.GetAddressList("LocalAddresses_Flat");
        bool known = CheckHelpers.IsLocalAddress(c.Config, from) && (flat.Count == 0 || flat.Contains(from));
        if (known) return Verdict.Pass;
        return LocalSenderRules.Refuse(c, Check, "530 Relaying not allowed - local sender address unknown",
            "relay attempt blocked for unknown local sender address");
    }
}

internal static class LocalSenderRules
{
    /// <summary>Only mail that may relay; not bounces, redlisted mail or acceptAllMail clients.</summary>
    public static bool Applies(CheckContext c) =>
        c.State.RelayOk && !c.State.IsBounce && !c.State.IsRed && !c.State.Transparent && !CheckHelpers.AcceptAll(c);

    public static Verdict Refuse(CheckContext c, CheckDefinition check, string reply, string reason)
    {
        c.State.Prepend.Clear().Append(check.Tag);
        c.Log(reason);
        c.State.Reports.Add(new CheckReport(check.Name, "block", 0, reason));
        return Verdict.Block(reply, reason);
    }
}

/// <summary>
/// LocalFrequencyInt / LocalFrequencyNumRcpt: a local sender (relaying allowed) that reaches LocalFrequencyNumRcpt
/// envelope recipients within LocalFrequencyInt seconds is refused for now (a hijacked account sending spam) until
/// the oldest counted mail leaves the window. Mail to or from EmailAdmins (and EmailFrom) always passes; scope by
/// LocalFrequencyOnly, NoLocalFrequency and NoLocalFrequencyIP; noprocessing mail is not counted. Either value 0
/// turns it off and forgets the counts.
/// </summary>
public sealed class LocalFrequencyCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("LocalFrequencyInt", "[LocalFrequency]", null, RunsOnOutgoing: true);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 57;

    private readonly FrequencyCache _cache = new();

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        long interval = cfg.GetLong("LocalFrequencyInt");
        int limit = cfg.GetInt("LocalFrequencyNumRcpt");
        if (interval <= 0 || limit <= 0)
        {
            _cache.Clear();
            return Verdict.Pass;
        }
        var from = c.Mail.MailFrom ?? "";
        if (!st.RelayOk || st.Transparent || st.IsNoProcessing || from.Length == 0 || Exempt(cfg, from, c)) return Verdict.Pass;

        long now = services.Time.GetUtcNow().ToUnixTimeSeconds();
        var (total, oldest) = _cache.Add(from.ToLowerInvariant(), now, c.Mail.Recipients.Count, interval);
        if (total < limit) return Verdict.Pass;
        var until = DateTimeOffset.FromUnixTimeSeconds(oldest + interval).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
        var reason = $"local sender {from} reached {total} recipients in {interval} seconds (LocalFrequencyNumRcpt {limit}) - blocked until {until}";
        st.Prepend.Clear().Append(Check.Tag);
        c.Log(reason);
        st.Reports.Add(new CheckReport(Check.Name, "block", 0, reason));
        return Verdict.TempFail($"452 4.7.1 too many recipients from {from} in {interval} seconds - try again after {until}", reason);
    }

    private static bool Exempt(ConfigSnapshot cfg, string from, CheckContext c)
    {
        var admins = cfg.GetAddressList("EmailAdmins");
        var emailFrom = cfg["EmailFrom"].Trim();
        if (admins.Contains(from) || from.Equals(emailFrom, StringComparison.OrdinalIgnoreCase)) return true;
        foreach (var r in c.Mail.Recipients)
            if (admins.Contains(r) || r.Equals(emailFrom, StringComparison.OrdinalIgnoreCase)) return true;
        var only = cfg.GetAddressList("LocalFrequencyOnly");
        if (only.Count > 0 && !only.Contains(from)) return true;
        return cfg.GetAddressList("NoLocalFrequency").Contains(from) || cfg.GetIpList("NoLocalFrequencyIP").Contains(c.Mail.RemoteAddress);
    }
}

/// <summary>
/// ForceNoValidLocalSender: the local sender checks in block mode decide already at MAIL FROM, before greylisting,
/// collection, test modes and spam lovers: an unknown sender in a local domain (DoNoValidLocalSender 1) is refused
/// with SenderInvalidError "Unknown Sender in Local Domain", a spoofed local sender (DoNoSpoofing 1) with "Spoofing
/// Sender in Local Domain". Off with allTestMode; other modes are left to the checks after the header.
/// </summary>
public sealed class ForceLocalSenderCheck(CheckServices services) : IMessageCheck
{
    private readonly Recipients.LocalAddressValidator _validator = Recipients.LocalAddressValidator.For(services);

    public static readonly CheckDefinition Check = new("ForceNoValidLocalSender", "[InvalidLocalSender]", null);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.MailFrom;
    public int Order => 50;

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var st = c.State;
        if (!cfg.GetBool(Check.Name) || cfg.GetBool("allTestMode") || st.RelayOk || st.Transparent) return Verdict.Pass;
        if (LocalSenderCheck.Check.ConfiguredMode(cfg) == CheckMode.Block
            && await LocalSenderCheck.IsUnknownLocalSenderAsync(c, _validator, cancellationToken).ConfigureAwait(false))
            return Refuse(c, "Unknown Sender in Local Domain");
        var from = c.Mail.MailFrom ?? "";
        // As in ASSP, flsTestMode does not soften the forced refusal.
        if (NoSpoofingCheck.Check.ConfiguredMode(cfg) == CheckMode.Block
            && !st.IsNoProcessing && st.AddressedToSpamBucket is null && !CheckHelpers.AcceptAll(c) && NoSpoofingCheck.Spoofed(c, from))
            return Refuse(c, "Spoofing Sender in Local Domain");
        return Verdict.Pass;
    }

    private static Verdict Refuse(CheckContext c, string reason)
    {
        c.State.Prepend.Clear().Append(Check.Tag);
        c.Log($"[spam found] {reason}");
        c.State.Reports.Add(new CheckReport(Check.Name, "block", 0, reason));
        return Verdict.Block(CheckHelpers.SenderInvalid(c.Config, reason), reason);
    }
}
