using Assp.Checks.Decision;

namespace Assp.Checks.Checks;

/// <summary>
/// SRSValidateBounce: with EnableSRS, a bounce whose recipient carries no SRS signature of ours is spam
/// ("554 5.7.5 Bounce address not SRS signed"), scored with srsValencePB; srsTestMode, srsSpamLovers and SRSFailLog
/// apply. ISP relays and noSRS IPs are not checked, nor whitelisted or noprocessing mail.
/// </summary>
public sealed class SrsBounceCheck : IMessageCheck
{
    public const string Reply = "554 5.7.5 Bounce address not SRS signed";

    public static readonly CheckDefinition Srs = new("SRSValidateBounce", "[SRS]", "srsValencePB",
        TestModeOption: "srsTestMode", LoverList: "srsSpamLovers", CollectOption: "SRSFailLog");

    public CheckDefinition Definition => Srs;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 55;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var cfg = context.Config;
        var st = context.State;
        if (!st.InvalidSrsBounce || !cfg.GetBool("EnableSRS") || !context.Applies(Srs) || st.IsIsp
            || cfg.GetIpList("noSRS").Contains(context.Mail.RemoteAddress))
            return ValueTask.FromResult(Verdict.Pass);
        st.InvalidSrsBounce = false;
        return ValueTask.FromResult(context.Engine.Hit(Srs, cfg, st, context.Ip, "bounce address not SRS signed", context.Log, reply: Reply));
    }
}
