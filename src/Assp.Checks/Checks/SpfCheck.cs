using System.Net;
using Assp.Auth.Spf;
using Assp.Checks.Decision;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP's SPF validation (ValidateSPF) of the envelope sender after the header: fail refuses (or scores, monitors,
/// tags per mode); the softer results score with their own valences unless their SPF… switch or strictSPFRe makes
/// them failures; blockstrictSPFRe senders are refused on any failure whatever the mode; pass earns spfpValencePB.
/// LAN clients are not checked. Adds Received-SPF (AddSPFHeader).
/// </summary>
public sealed class SpfCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Spf = new("ValidateSPF", "[SPF]", "spfValencePB",
        TestModeOption: "spfTestMode", LoverList: "spfSpamLovers", WhitelistSwitch: "SPFWL", NoProcessingSwitch: "SPFNP",
        CollectOption: "SPFFailLog", ReplyOption: "SPFError", LocalSwitch: "SPFLocal");

    public CheckDefinition Definition => Spf;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 60;

    public async ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var cfg = context.Config;
        var st = context.State;
        var ip = context.Ip;
        if (services.Dns is null || !context.Applies(Spf) || DecisionEngine.IsPrivate(ip)) return Verdict.Pass;
        var sender = context.Mail.MailFrom ?? "";
        if (cfg.GetRegex("noSPFRe").Match(sender) is { } noSpf)
        {
            RegexMatchNote.Record(context.Mail, "noSPFRe", noSpf, "no SPF check");
            return Verdict.Pass;
        }

        var spf = new SpfService(services);
        SpfCheckResult? found;
        try
        {
            found = await spf.EvaluateAsync(cfg, ip, sender, context.Mail.Helo, context.Log, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Verdict.Pass;
        }
        if (found is not { } result) return Verdict.Pass;
        st.SpfResult = result;
        if (cfg.GetChoice("SPFLog") >= 1) context.Log($"SPF: {result.ResultText} ip={ip} mailfrom={sender} helo={context.Mail.Helo}");
        var verdict = Judge(context, result, sender, header: true);
        if (verdict.Refuses || !cfg.GetBool("DoSPFinHeader") || result.Result == SpfResult.TempError) return verdict;

        // DoSPFinHeader: a header From: in blockstrictSPFRe with another domain than the envelope is checked too.
        if (st.Parsed?.From is not { Count: > 0 } from) return verdict;
        var headerFrom = from[0].Address;
        int at = headerFrom.LastIndexOf('@');
        if (at <= 0 || cfg.GetRegex("blockstrictSPFRe").Match(headerFrom) is null) return verdict;
        var envelopeDomain = sender.Contains('@') ? sender[(sender.LastIndexOf('@') + 1)..] : "";
        if (headerFrom[(at + 1)..].Equals(envelopeDomain, StringComparison.OrdinalIgnoreCase)) return verdict;
        if (cfg.GetChoice("SPFLog") >= 1) context.Log($"SPF: do now the check for the header 'from: {headerFrom}' address");
        var headerResult = await spf.EvaluateAsync(cfg, ip, headerFrom, context.Mail.Helo, context.Log, cancellationToken).ConfigureAwait(false);
        return headerResult is null ? verdict : Judge(context, headerResult, headerFrom, header: false);
    }

    private static Verdict Judge(CheckContext context, SpfCheckResult result, string sender, bool header)
    {
        var cfg = context.Config;
        var st = context.State;
        var ip = context.Ip;
        var text = result.ResultText;
        if (header && cfg.GetBool("AddSPFHeader"))
            st.AddHeader($"Received-SPF: {text} ({result.Explanation ?? result.Problem ?? "checked by ASSP for .NET"}) client-ip={ip}; envelope-from=<{sender}>; helo={context.Mail.Helo}; identity={(sender.Length == 0 ? "helo" : "mailfrom")};");

        var strictMatch = cfg.GetRegex("strictSPFRe").Match(sender);
        var blockStrictMatch = cfg.GetRegex("blockstrictSPFRe").Match(sender);
        bool strict = strictMatch is not null;
        bool blockStrict = blockStrictMatch is not null;
        if (header && strictMatch is not null) RegexMatchNote.Record(context.Mail, "strictSPFRe", strictMatch, "strict SPF");
        if (header && blockStrictMatch is not null) RegexMatchNote.Record(context.Mail, "blockstrictSPFRe", blockStrictMatch, "block strict SPF");
        var (failing, valence) = result.Result switch
        {
            SpfResult.Fail => (true, "spfValencePB"),
            SpfResult.SoftFail => (cfg.GetBool("SPFsoftfail") || strict, "spfsValencePB"),
            SpfResult.Neutral => (cfg.GetBool("SPFneutral") || strict, "spfnValencePB"),
            SpfResult.None => (cfg.GetBool("SPFnone"), "spfnonValencePB"),
            SpfResult.TempError => (cfg.GetBool("SPFqueryerror"), "spfeValencePB"),
            SpfResult.PermError => (cfg.GetBool("SPFunknown"), "spfuValencePB"),
            _ => (false, "spfpValencePB"),
        };
        var reason = $"SPF {text}: {sender} from {ip}" + (result.Mechanism is { } m ? $" ({m})" : "");
        if (result.Result == SpfResult.Pass)
        {
            st.SpfPassed = true;
            context.Engine.AddPenalty(cfg, st, ip, "spfpValencePB", reason, 0, context.Log);
            return Verdict.Pass;
        }
        var reply = cfg["SPFError"].Replace("SPFRESULT", text, StringComparison.Ordinal);
        if (failing && blockStrict)
        {
            // blockstrictSPFRe: these senders (banks, payment services) are refused on any SPF failure.
            context.Engine.AddPenalty(cfg, st, ip, "spfValencePB", reason, 0, context.Log);
            st.Prepend.Clear().Append(Spf.Tag);
            return context.Engine.ThisIsSpam(cfg, st, reason, (CollectTarget)cfg.GetChoice("SPFFailLog"), reply,
                DecisionEngine.InTestMode(Spf, cfg) ? "testmode" : null, st.AllLove(Spf.LoverList), context.Log);
        }
        if (failing)
            return context.Engine.Hit(Spf, cfg, st, ip, reason, context.Log, reply: reply);   // a failure scores spfValencePB
        if (Spf.ConfiguredMode(cfg) != CheckMode.Monitor) context.Engine.AddPenalty(cfg, st, ip, valence, reason, 0, context.Log);
        else context.Log($"[monitoring] ({reason})");
        return Verdict.Pass;
    }
}
