using Assp.Auth.Dmarc;
using Assp.Auth.Spf;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP's DMARC check (DoDMARC; needs ValidateSPF and DoDKIM): the policy of the header From: domain (RFC 7489)
/// applied with the SPF and DKIM results and identifier alignment. The mode is the less aggressive of ValidateSPF and
/// DoDKIM (monitor &lt; score &lt; test mode &lt; block); p=reject refuses in block mode, p=quarantine scores
/// dmarcValencePB, p=none only logs. noDMARCDomain skips senders. Results with a rua= address are recorded for the
/// aggregate reports (DMARCReportFrom set, recipients not in noDMARCReportDomain); evaluations that match the
/// domain's fo= options are reported to its ruf= addresses (<see cref="DmarcFailureReports"/>).
/// </summary>
public sealed class DmarcCheck(CheckServices services) : IMessageCheck
{
    public const string Reply = "554 5.7.1 DMARC policy of DOMAIN rejects this message";

    /// <summary>DMARC through ValidateSPF's mode, test mode, lovers and collection.</summary>
    public static readonly CheckDefinition ViaSpf = new("ValidateSPF", "[DMARC]", "dmarcValencePB",
        TestModeOption: "spfTestMode", LoverList: "spfSpamLovers", WhitelistSwitch: "SPFWL", NoProcessingSwitch: "SPFNP",
        CollectOption: "SPFFailLog", ReplyOption: "SPFError", LocalSwitch: "SPFLocal");

    /// <summary>DMARC through DoDKIM's mode, test mode and collection.</summary>
    public static readonly CheckDefinition ViaDkim = new("DoDKIM", "[DMARC]", "dmarcValencePB",
        TestModeOption: "dkimTestMode", CollectOption: "DKIMLog", WhitelistSwitch: "SPFWL", NoProcessingSwitch: "SPFNP",
        LocalSwitch: "SPFLocal");

    public CheckDefinition Definition => ViaSpf;
    // After the whole message is in: it needs the SPF result and the DKIM signatures (DKIM runs at order 10).
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 20;

    /// <summary>The less aggressive of the two checks' modes decides; null when either is off.</summary>
    public static CheckDefinition? Governing(ConfigSnapshot cfg)
    {
        var spf = ViaSpf.ConfiguredMode(cfg);
        var dkim = ViaDkim.ConfiguredMode(cfg);
        if (!cfg.GetBool("DoDMARC") || spf == CheckMode.Disabled || dkim == CheckMode.Disabled) return null;
        static int Rank(CheckMode m) => m switch { CheckMode.Monitor => 0, CheckMode.Score => 1, CheckMode.TestMode => 2, _ => 3 };
        int spfRank = Rank(spf) + (DecisionEngine.InTestMode(ViaSpf, cfg) && spf == CheckMode.Block ? -1 : 0);
        int dkimRank = Rank(dkim) + (DecisionEngine.InTestMode(ViaDkim, cfg) && dkim == CheckMode.Block ? -1 : 0);
        return dkimRank < spfRank ? ViaDkim : ViaSpf;
    }

    public async ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var cfg = context.Config;
        var st = context.State;
        if (services.Dns is not { } dns || Governing(cfg) is not { } check || !context.Applies(check) || DecisionEngine.IsPrivate(context.Ip))
            return Verdict.Pass;
        if (st.Parsed?.From is not { Count: > 0 } from) return Verdict.Pass;
        var fromAddress = from[0].Address;
        int at = fromAddress.LastIndexOf('@');
        if (at <= 0 || at == fromAddress.Length - 1) return Verdict.Pass;
        var fromDomain = fromAddress[(at + 1)..].TrimEnd('.').ToLowerInvariant();
        if (cfg.GetAddressList("noDMARCDomain").Contains(fromAddress)) return Verdict.Pass;

        var sender = context.Mail.MailFrom ?? "";
        var spf = st.SpfResult ?? await new SpfService(services).EvaluateAsync(cfg, context.Ip, sender, context.Mail.Helo, context.Log, cancellationToken)
            .ConfigureAwait(false);
        string? spfDomain = spf?.Domain;
        bool spfPassed = spf?.Result == SpfResult.Pass;
        var evaluator = new DmarcEvaluator(new DnsResolverSpfDns(dns.Resolver));
        var outcome = await evaluator.EvaluateAsync(fromDomain, spfDomain, spfPassed, st.DkimResults ?? [], cancellationToken).ConfigureAwait(false);
        if (outcome.Result == DmarcResult.Fail && st.DkimResults is null)
        {
            // Without a DKIM verdict an aligned signature may exist: judge nothing rather than wrongly.
            context.Log($"DMARC: not judged for {fromDomain} - SPF not aligned and no DKIM result");
            return Verdict.Pass;
        }
        st.Dmarc = outcome;
        if (outcome.Record is not null) DmarcReports.Record(cfg, services, context.Mail, outcome, spf, st.DkimResults ?? []);
        if (outcome.Result is DmarcResult.None or DmarcResult.TempError)
        {
            if (outcome.Problem is not null) context.Log($"DMARC: {fromDomain}: {outcome.Problem}");
            return Verdict.Pass;
        }
        var (verdict, delivery) = Judge(context, check, outcome, fromDomain);
        await DmarcFailureReports.QueueAsync(context, services, outcome, spf, delivery, cancellationToken).ConfigureAwait(false);
        return verdict;
    }

    /// <summary>The verdict for a passing or failing evaluation, and the RFC 6591 Delivery-Result it amounts to.</summary>
    private static (Verdict Verdict, string Delivery) Judge(CheckContext context, CheckDefinition check, DmarcOutcome outcome, string fromDomain)
    {
        var cfg = context.Config;
        var st = context.State;
        if (outcome.Result == DmarcResult.Pass)
        {
            context.Log($"DMARC: pass for {fromDomain} (policy {outcome.PolicyDomain}: spf aligned={outcome.SpfAligned}, dkim aligned={outcome.DkimAligned})");
            return (Verdict.Pass, "delivered");
        }
        // RFC 8617 local policy: a valid ARC chain sealed by a trustedAuthForwarders host that recorded dmarc=pass
        // vouches for mail that failed only because that forwarder changed it.
        if (ArcCheck.IsTrusted(context, st.Arc) && ArcCheck.RecordedResult(st.Arc!, "dmarc") == "pass")
        {
            context.Log($"DMARC: fail for {fromDomain} overridden - the ARC chain sealed by {st.Arc!.SealDomain} (trustedAuthForwarders) recorded dmarc=pass");
            return (Verdict.Pass, "delivered");
        }
        var reason = $"DMARC failed for {fromDomain}: policy p={outcome.PublishedPolicy.ToString().ToLowerInvariant()} of {outcome.PolicyDomain}"
            + (outcome.SampledOut ? $" (pct={outcome.Record!.Percent}: applied {outcome.AppliedPolicy.ToString().ToLowerInvariant()})" : "");
        switch (outcome.AppliedPolicy)
        {
            case DmarcPolicy.None:
                context.Log($"[monitoring] ({reason})");
                return (Verdict.Pass, "delivered");
            case DmarcPolicy.Quarantine:
                // Quarantine asks for suspicion, not refusal: the mail scores dmarcValencePB.
                if (check.ConfiguredMode(cfg) == CheckMode.Monitor)
                {
                    context.Log($"[monitoring] ({reason})");
                    return (Verdict.Pass, "delivered");
                }
                context.Engine.AddPenalty(cfg, st, context.Ip, "dmarcValencePB", reason, 0, context.Log);
                return (Verdict.Pass, "spam");
            default:
                var verdict = context.Engine.Hit(check, cfg, st, context.Ip, reason, context.Log,
                    reply: Reply.Replace("DOMAIN", outcome.PolicyDomain ?? fromDomain, StringComparison.Ordinal));
                return (verdict, verdict.Refuses ? "reject" : check.ConfiguredMode(cfg) == CheckMode.Monitor ? "delivered" : "spam");
        }
    }
}
