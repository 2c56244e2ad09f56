using System.Globalization;
using System.Net;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP's HELO database (spamdb.helo, filled by the spam database rebuild): key the lower-cased HELO, value its
/// weight. A weight of 1 or more marks a blacklisted HELO, one below 1 a known good HELO.
/// </summary>
public static class HeloDatabase
{
    public static double? Weight(IStore? store, string helo)
    {
        if (store is null || helo.Length == 0) return null;
        if (!store.Table(StoreTables.SpamDbHelo).TryGetValue(helo.ToLowerInvariant(), out var text)) return null;
        return double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var weight) ? weight : null;
    }

    /// <summary>What a weight means, for the maillog, the analyzer and the CLI.</summary>
    public static string Describe(double weight) => weight >= 1
        ? $"blacklisted (weight {DecisionEngine.Num(weight)})"
        : $"good (weight {DecisionEngine.Num(weight)})";
}

/// <summary>The exemptions every HELO list check shares (ASSP's skipCheck 'ro','co','nohelo','ispcip' and heloBlacklistIgnore).</summary>
internal static class HeloExemptions
{
    public static bool Skip(CheckContext c, string helo) =>
        helo.Length == 0 || c.State.RelayOk || CheckHelpers.IspWithoutOrigin(c.State) || c.Config.GetIpList("noHelo").Contains(c.Ip)
        || CheckHelpers.HeloIgnored(c.Config, helo);
}

/// <summary>
/// invalidHeloRe: a HELO matching it is answered "554 5.7.1 the connection is rejected - bad host identity detected"
/// and the connection dropped at once; the IP earns hlValencePB (the reference's "hValencePB" does not exist). It
/// ignores every other setting, as the reference says.
/// </summary>
public sealed class ImmediateInvalidHeloCheck : IMessageCheck
{
    public const string Reply = "554 5.7.1 the connection is rejected - bad host identity detected";
    public static readonly CheckDefinition Check = new("invalidHeloRe", "[InvalidHELO]", "hlValencePB");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.Helo;
    public int Order => 5;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var helo = CheckHelpers.Helo(context);
        if (helo.Length == 0 || context.Config.GetRegex("invalidHeloRe").Match(helo) is not { } match) return ValueTask.FromResult(Verdict.Pass);
        var reason = $"invalid HELO '{helo}' matches invalidHeloRe '{match}'";
        context.State.Prepend.Clear().Append(Check.Tag);
        context.Engine.AddPenalty(context.Config, context.State, context.Mail.RemoteAddress, "hlValencePB", reason, 0, context.Log);
        context.State.Reports.Add(new CheckReport(Check.Name, "block", context.Config.GetValence("hlValencePB").Message, reason));
        context.Log($"[InvalidHELO] {reason} - connection rejected");
        return ValueTask.FromResult(Verdict.BlockAndClose(Reply, reason));
    }
}

/// <summary>
/// useHeloBlacklist: a HELO the HELO database lists with a weight of 1 or more scores hlValencePB times a factor
/// of weight/4 (1 to 3); in block mode the message is then refused with SpamError. Whitelisted and noprocessing
/// mail is checked only with DoHeloWL/DoHeloNP.
/// </summary>
public sealed class BlackHeloCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("useHeloBlacklist", "[BlackHELO]", "hlValencePB", TestModeOption: "hlTestMode",
        LoverList: "hlSpamLovers", WhitelistSwitch: "DoHeloWL", NoProcessingSwitch: "DoHeloNP", CollectOption: "spamHeloLog",
        HaterList: "hlSpamHaters");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 85;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private Verdict Run(CheckContext c)
    {
        var helo = CheckHelpers.Helo(c).ToLowerInvariant();
        if (!c.Applies(Check) || HeloExemptions.Skip(c, helo)) return Verdict.Pass;
        if (HeloDatabase.Weight(services.Store, helo) is not { } weight || weight < 1) return Verdict.Pass;
        if (c.State.RwlOk && c.State.OriginalIp is null) return Verdict.Pass;

        int factor = Math.Clamp((int)(weight / 4), 1, 3);
        var (m, i) = c.Config.GetValence("hlValencePB");
        var reason = $"blacklisted HELO '{helo}' - weight {DecisionEngine.Num(weight)}";
        c.Engine.IpReputation.DeleteWhite(c.Config, c.Ip);
        return c.Engine.Hit(Check, c.Config, c.State, c.Ip, reason, c.Log, (m * factor, i * factor));
    }
}

/// <summary>
/// useHeloGoodlist: a HELO the HELO database knows as good (weight below 1) earns a bonus of -10 × weight ×
/// hlValencePB (1 bonus, 3 both) and/or makes the mail whitelisted and the IP white-boxed (2 whitelisted, 3 both).
/// </summary>
public sealed class GoodHeloCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("useHeloGoodlist", "[GoodHELO]", "hlValencePB");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 65;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        Run(context);
        return ValueTask.FromResult(Verdict.Pass);
    }

    private void Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        int use = cfg.GetChoice("useHeloGoodlist");
        var helo = CheckHelpers.Helo(c).ToLowerInvariant();
        if (use == 0 || st.Transparent || HeloExemptions.Skip(c, helo)) return;
        if (st.IsWhitelisted && !cfg.GetBool("DoHeloWL")) return;
        if (st.IsNoProcessing && !cfg.GetBool("DoHeloNP")) return;
        if (HeloDatabase.Weight(services.Store, helo) is not { } weight || weight >= 1) return;

        double value = weight * -10;
        string whitelisted = "";
        if (use is 2 or 3)
        {
            c.Engine.IpReputation.AddWhite(cfg, c.Mail.RemoteAddress, "KnownGoodHelo");
            st.Whitelisted ??= $"known good HELO '{helo}'";
            whitelisted = "[whitelisted] ";
        }
        var reason = $"found known good HELO '{helo}' - weight is {DecisionEngine.Num(value)}";
        if (cfg.GetChoice("ValidateSenderLog") != 0) c.Log($"{whitelisted}info: {reason}");
        if (use is 1 or 3)
        {
            var (m, i) = cfg.GetValence("hlValencePB");
            c.Engine.AddPenalty(cfg, st, c.Ip, Math.Truncate(value * m), Math.Truncate(value * i), "KnownGoodHelo", 0, c.Log, "hlValencePB");
        }
        st.Reports.Add(new CheckReport(Check.Name, use == 2 ? "whitelist" : "bonus", Math.Truncate(value * cfg.GetValence("hlValencePB").Message), reason));
    }
}

/// <summary>
/// DoValidFormatHelo: a HELO that does not match validFormatHeloRe (an RFC 1123 host name by default) is not
/// valid; it scores ihValencePB and in block mode the message is refused with SenderInvalidError.
/// </summary>
public sealed class ValidFormatHeloCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoValidFormatHelo", "[ValidHELO]", "ihValencePB", TestModeOption: "ihTestMode",
        LoverList: "hiSpamLovers", WhitelistSwitch: "DoHeloWL", NoProcessingSwitch: "DoHeloNP", CollectOption: "invalidHeloLog",
        ReplyOption: "SenderInvalidError");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 78;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    /// <summary>The HELO fails validFormatHeloRe (false when the list is empty or the check is exempt).</summary>
    internal static bool Fails(CheckContext c, string helo)
    {
        if (HeloExemptions.Skip(c, helo) || (c.State.RwlOk && c.State.OriginalIp is null) || CheckHelpers.AcceptAll(c)) return false;
        var valid = c.Config.GetRegex("validFormatHeloRe");
        return valid.Count > 0 && valid.Match(helo) is null;
    }

    private static Verdict Run(CheckContext c)
    {
        var helo = CheckHelpers.Helo(c);
        if (!c.Applies(Check) || !Fails(c, helo)) return Verdict.Pass;
        var reason = $"not valid HELO: '{helo}'";
        c.Engine.IpReputation.DeleteWhite(c.Config, c.Ip);
        return c.Engine.Hit(Check, c.Config, c.State, c.Ip, reason, c.Log, reply: CheckHelpers.SenderInvalid(c.Config, "Invalid HELO Format"));
    }
}

/// <summary>
/// ForceFakedLocalHelo and ForceValidateHelo: the forged-HELO and HELO-format checks run at MAIL FROM, before
/// delaying, and a HELO they would block is refused there and the connection closed (collecting, spam lovers and
/// the private whitelist do not count). Only in block mode and outside the check's test mode, as in ASSP; in the
/// other modes the checks run after the header as usual.
/// </summary>
public sealed class ForcedHeloCheck : IMessageCheck
{
    public CheckDefinition Definition => ForgedHeloCheck.Check;
    public SmtpPhase Phase => SmtpPhase.MailFrom;
    public int Order => 8;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        var helo = CheckHelpers.Helo(c);
        if (st.Transparent || st.RelayOk || helo.Length == 0) return Verdict.Pass;

        if (cfg.GetBool("ForceFakedLocalHelo") && ForgedHeloCheck.Check.ConfiguredMode(cfg) == CheckMode.Block
            && !DecisionEngine.InTestMode(ForgedHeloCheck.Check, cfg) && ForgedHeloCheck.Forged(c, helo))
            return Refuse(c, ForgedHeloCheck.Check, $"forged Helo: '{helo}'", "Forged HELO");

        if (!cfg.GetBool("ForceValidateHelo") || DecisionEngine.InTestMode(InvalidFormatHeloCheck.Check, cfg)) return Verdict.Pass;
        if (st.IsWhitelisted && !cfg.GetBool("DoHeloWL")) return Verdict.Pass;
        if (st.IsNoProcessing && !cfg.GetBool("DoHeloNP")) return Verdict.Pass;
        if (InvalidFormatHeloCheck.Check.ConfiguredMode(cfg) == CheckMode.Block && !HeloExemptions.Skip(c, helo) && !CheckHelpers.AcceptAll(c)
            && !(st.RwlOk && st.OriginalIp is null))
        {
            var (sum, _) = CheckHelpers.WeightedSum(cfg, "invalidFormatHeloRe", "ihValencePB", helo);
            if (sum > 0 && sum >= cfg.GetValence("ihValencePB").Message) return Refuse(c, InvalidFormatHeloCheck.Check, $"invalid HELO: '{helo}'", "Helo invalid");
        }
        if (ValidFormatHeloCheck.Check.ConfiguredMode(cfg) == CheckMode.Block && ValidFormatHeloCheck.Fails(c, helo))
            return Refuse(c, ValidFormatHeloCheck.Check with { Tag = "[InvalidHELO]" }, $"not valid HELO: '{helo}'", "Helo invalid");
        return Verdict.Pass;
    }

    private static Verdict Refuse(CheckContext c, CheckDefinition check, string reason, string replyReason)
    {
        c.State.Prepend.Clear().Append(check.Tag);
        c.Engine.IpReputation.DeleteWhite(c.Config, c.Ip);
        c.Engine.AddPenalty(c.Config, c.State, c.Ip, check.ValenceOption!, reason, 0, c.Log);
        c.Log($"{check.Tag} [spam found] ({reason})");
        c.State.Reports.Add(new CheckReport(check.Name, "block", c.Config.GetValence(check.ValenceOption!).Message, reason));
        return Verdict.BlockAndClose(CheckHelpers.SenderInvalid(c.Config, replyReason), reason);
    }
}
