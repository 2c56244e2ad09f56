using System.Net;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Regexes;

namespace Assp.Checks.Checks;

/// <summary>
/// What the bomb, script and black checks share: which mail they look at (acceptAllMail, noBombScript, the
/// bombReWL/NP/Local/ISPIP switches or an entry's own N/W/L/I flag) and how a search result turns into a verdict.
/// </summary>
internal static class RegexFilter
{
    /// <summary>
    /// ASSP's gate of the bomb and script checks: whitelisted, noprocessing, local and ISP mail is skipped unless
    /// its switch is on or some entry of the options asks for that class with its own flag.
    /// </summary>
    public static bool Skips(CheckContext c, params string[] options)
    {
        var st = c.State;
        var cfg = c.Config;
        if (st.Transparent || CheckHelpers.AcceptAll(c)) return true;
        if (st.IsWhitelisted && !cfg.GetBool("bombReWL") && !AnyEntryWants(cfg, options, f => f.W)) return true;
        if (st.IsNoProcessing && !cfg.GetBool("bombReNP") && !AnyEntryWants(cfg, options, f => f.N)) return true;
        if (st.RelayOk && !cfg.GetBool("bombReLocal") && !AnyEntryWants(cfg, options, f => f.L)) return true;
        if (st.IsIsp && !cfg.GetBool("bombReISPIP") && !AnyEntryWants(cfg, options, f => f.I)) return true;
        return NoBombScript(c);
    }

    public static bool NoBombScript(CheckContext c) =>
        !string.IsNullOrEmpty(c.Mail.MailFrom) && c.Config.GetAddressList("noBombScript").Contains(c.Mail.MailFrom);

    private static bool AnyEntryWants(ConfigSnapshot cfg, string[] options, Func<NwliFlags, NwliUse> letter) =>
        options.Any(o => cfg.GetWeightedRegex(o).Entries.Any(e => letter(e.Flags) is NwliUse.Scan or NwliUse.Only));

    /// <summary>bombError (or scriptError) with the reason appended when bombErrorReason is on.</summary>
    public static string Reply(ConfigSnapshot cfg, string replyOption, string reason)
    {
        var reply = cfg[replyOption].Trim();
        if (reply.Length == 0) reply = cfg["SpamError"];
        return cfg.GetBool("bombErrorReason") ? $"{reply} (reason: {reason}) " : reply;
    }

    /// <summary>
    /// A search found something. Monitor logs only; score adds the sum; block refuses when the sum reaches the
    /// valence (or, with all weights zero, when the hit count reaches maxHits) and otherwise only scores, as ASSP
    /// does. The IP loses its white-box entry when the sum is positive.
    /// </summary>
    public static Verdict Report(CheckContext c, CheckDefinition check, BombResult found, string reason, string maxHitsOption,
        string replyOption)
    {
        var cfg = c.Config;
        var st = c.State;
        var ip = c.Ip;
        var valenceOption = check.ValenceOption!;
        var (valence, ipValence) = cfg.GetValence(valenceOption);
        if (cfg.GetChoice("BombLog") >= 1) c.Log($"{check.Tag} PB {DecisionEngine.Num(found.Sum)}: for {found.Shown} (count {found.Count})");
        if (found.Sum > 0) c.Engine.IpReputation.DeleteWhite(cfg, ip);
        var mode = DecisionEngine.EffectiveMode(check, cfg, st);
        var score = (found.Sum, IpShare(found.Sum, valence, ipValence));
        int maxHits = Math.Max(1, cfg.GetInt(maxHitsOption, 1));
        bool fails = (found.Count >= maxHits && found.Sum == 0) || found.Sum >= valence;
        if (mode is CheckMode.Block or CheckMode.TestMode && !fails)
        {
            // Set to block, but the sum stays below the valence: scored only.
            c.Log($"[scoring] ({reason})");
            st.Prepend.Clear().Append(check.Tag);
            if (found.Sum != 0) c.Engine.AddPenalty(cfg, st, ip, score.Item1, score.Item2, reason, 0, c.Log, valenceOption);
            st.Reports.Add(new CheckReport(check.Name, "score", found.Sum, reason));
            return Verdict.Pass;
        }
        return c.Engine.Hit(check, cfg, st, ip, reason, c.Log, score, reply: Reply(cfg, replyOption, reason));
    }

    /// <summary>ASSP's calcValence: the IP score keeps the valence's IP/message proportion, rounded.</summary>
    public static double IpShare(double sum, double valence, double ipValence) =>
        ipValence == 0 ? 0 : valence == 0 ? sum : Math.Floor(sum * ipValence / valence + 0.5);

    public static IPAddress SenderIp(CheckContext c) => c.State.OriginalIp ?? c.Mail.RemoteAddress;
}

/// <summary>
/// DoBombHeaderRe: bombSenderRe on MAIL FROM, the sender's IP and the HELO; bombCharSets and bombHeaderRe on the
/// header; bombSubjectRe on the subject (with maxSubjectLength and undecoded 8-bit subjects). The sums of all
/// searches decide together; the reply is bombError.
/// </summary>
public sealed class BombHeaderCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoBombHeaderRe", "[BombHeader]", "bombValencePB", TestModeOption: "bombTestMode",
        LoverList: "bombSpamLovers", WhitelistSwitch: "bombReWL", NoProcessingSwitch: "bombReNP", CollectOption: "spamBombLog",
        ReplyOption: "bombError", LocalSwitch: "bombReLocal");

    private static readonly string[] Options = ["bombSenderRe", "bombCharSets", "bombHeaderRe", "bombSubjectRe"];

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 200;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        if (!CheckHelpers.Enabled(c, Check) || st.Parsed is not { } msg || RegexFilter.Skips(c, Options)) return Verdict.Pass;
        var texts = BombTexts.For(cfg, msg);
        var searches = new (string Name, BombResult Result)[]
        {
            ("BombSenderMailFrom", BombSearch.Run(cfg, st, "bombSenderRe", c.Mail.MailFrom, log: c.Log)),
            ("BombSenderIP", BombSearch.Run(cfg, st, "bombSenderRe", RegexFilter.SenderIp(c).ToString(), log: c.Log)),
            ("BombSenderHelo", BombSearch.Run(cfg, st, "bombSenderRe", CheckHelpers.Helo(c), log: c.Log)),
            ("BombCharSets", BombSearch.Run(cfg, st, "bombCharSets", texts.HeaderSkipped + texts.HeaderCharsets, log: c.Log)),
            ("BombHeaderRe", BombSearch.Run(cfg, st, "bombHeaderRe", texts.HeaderSkipped, log: c.Log)),
            ("BombSubjectRe", Subject(c, msg)),
        };
        var total = new BombResult();
        string reason = "";
        foreach (var (name, result) in searches)
            if (total.Merge(result)) reason = $"{name} '{total.Shown}'";
        if (total.Count == 0)
        {
            if (cfg.GetChoice("BombLog") >= 2) c.Log("no Bomb found in header");
            return Verdict.Pass;
        }
        return RegexFilter.Report(c, Check, total, reason, "bombHeaderReMaxHits", "bombError");
    }

    /// <summary>The subject search: a subject over maxSubjectLength scores first (and is cut to that length),
    /// an undecoded subject with non-printable bytes scores the valence.</summary>
    private static BombResult Subject(CheckContext c, Assp.Mime.MimeMessage msg)
    {
        var cfg = c.Config;
        var seed = new BombResult();
        var subject = c.State.OriginalSubject ?? msg.Subject ?? "";
        var (valence, _) = cfg.GetValence("bombValencePB");
        var limit = cfg["maxSubjectLength"].Trim();
        if (limit.Length > 0)
        {
            var parts = limit.Split("=>", 2, StringSplitOptions.TrimEntries);
            if (int.TryParse(parts[0], out var maxLength) && maxLength > 0 && subject.Length > maxLength)
            {
                double weight = parts.Length > 1 && double.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var w) && w != 0 ? w : valence;
                seed.AddFixed($"subject length({subject.Length}) > max({maxLength})", weight);
                if (cfg.GetChoice("BombLog") >= 1) c.Log($"info: Subject exceeds {limit} byte - the checked subject is cut to {maxLength} byte");
                subject = subject[..maxLength];
            }
        }
        if (cfg.GetWeightedRegex("bombSubjectRe").Count > 0 && valence != 0 && msg.Headers.Get("Subject") is { } raw
            && HasNonPrintable(raw.RawValue.Span))
            seed.AddFixed("undecoded subject contains non printable characters (RFC2047)", valence);
        return BombSearch.Run(cfg, c.State, "bombSubjectRe", subject, seed, c.Log);
    }

    private static bool HasNonPrintable(ReadOnlySpan<byte> raw)
    {
        foreach (var b in raw)
            if (b is < 0x20 and not ((byte)'\t' or (byte)'\r' or (byte)'\n') || b > 0x7E) return true;
        return false;
    }
}

/// <summary>
/// DoBombRe: testRe (DoTestRe, logged only), bombSuspiciousRe (scored with bombSuspiciousValencePB, never
/// blocks), then bombDataRe on the decoded parts, bombRe on header and body and bombCharSets on every MIME part's
/// charset; each may refuse with bombError.
/// </summary>
public sealed class BombCheck : IMessageCheck
{
    private static CheckDefinition Part(string tag) => new("DoBombRe", tag, "bombValencePB", TestModeOption: "bombTestMode",
        LoverList: "bombSpamLovers", WhitelistSwitch: "bombReWL", NoProcessingSwitch: "bombReNP", CollectOption: "spamBombLog",
        ReplyOption: "bombError", LocalSwitch: "bombReLocal");

    public static readonly CheckDefinition Check = Part("[bombRe]");
    public static readonly CheckDefinition DataCheck = Part("[BombData]");
    public static readonly CheckDefinition CharSetsCheck = Part("[BombCharSets]");

    private static readonly string[] Options = ["bombDataRe", "bombRe", "bombCharSets"];

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 300;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        if (!CheckHelpers.Enabled(c, Check) || st.Transparent || st.Parsed is not { } msg) return Verdict.Pass;
        var texts = BombTexts.For(cfg, msg);
        var full = texts.HeaderSkipped + texts.Body;

        if (cfg.GetBool("DoTestRe"))
        {
            var test = BombSearch.Run(cfg, st, "testRe", full, log: c.Log);
            if (test.Count > 0) c.Log($"testRe: TestRegex found '{test.Shown}' (count {test.Count}, weight sum {DecisionEngine.Num(test.Sum)})");
        }
        if (RegexFilter.NoBombScript(c)) return Verdict.Pass;

        // Suspicious content only scores, for every class of mail the entries' flags allow.
        var suspicious = BombSearch.Run(cfg, st, "bombSuspiciousRe", full, log: c.Log);
        if (suspicious.Count > 0)
        {
            var reason = $"BombSuspicious: '{suspicious.Shown}'";
            var (v, iv) = cfg.GetValence("bombSuspiciousValencePB");
            c.Engine.AddPenalty(cfg, st, c.Ip, suspicious.Sum, RegexFilter.IpShare(suspicious.Sum, v, iv), reason, 0, c.Log, "bombSuspiciousValencePB");
            st.Reports.Add(new CheckReport("bombSuspiciousRe", "score", suspicious.Sum, reason));
        }
        else if (cfg.GetChoice("BombLog") >= 2 && cfg.GetWeightedRegex("bombSuspiciousRe").Count > 0) c.Log("no Bomb found for 'bombSuspiciousRe'");

        if (RegexFilter.Skips(c, Options)) return Verdict.Pass;
        foreach (var (check, option, text, label, maxHits) in new[]
        {
            (DataCheck, "bombDataRe", texts.Data, "BombData", "bombDataReMaxHits"),
            (Check, "bombRe", full, "bombRe", "bombReMaxHits"),
            (CharSetsCheck, "bombCharSets", texts.HeaderSkipped + texts.AllCharsets, "BombCharSets", "bombReMaxHits"),
        })
        {
            var found = BombSearch.Run(cfg, st, option, text, log: c.Log);
            if (found.Count == 0)
            {
                if (cfg.GetChoice("BombLog") >= 2 && cfg.GetWeightedRegex(option).Count > 0) c.Log($"no Bomb found for '{option}'");
                continue;
            }
            var verdict = RegexFilter.Report(c, check, found, $"{label}: '{found.Shown}'", maxHits, "bombError");
            if (verdict.Refuses) return verdict;
        }
        return Verdict.Pass;
    }
}

/// <summary>DoScriptRe: scriptRe on header and body (HTML as written); scored with scriptValencePB, refused with scriptError.</summary>
public sealed class ScriptCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoScriptRe", "[BombScript]", "scriptValencePB", TestModeOption: "scriptTestMode",
        LoverList: "bombSpamLovers", WhitelistSwitch: "bombReWL", NoProcessingSwitch: "bombReNP", CollectOption: "scriptLog",
        ReplyOption: "scriptError", LocalSwitch: "bombReLocal");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 310;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        if (!CheckHelpers.Enabled(c, Check) || st.Parsed is not { } msg || RegexFilter.Skips(c, "scriptRe")) return Verdict.Pass;
        var texts = BombTexts.For(cfg, msg);
        var found = BombSearch.Run(cfg, st, "scriptRe", texts.Header + texts.Body, log: c.Log);
        if (found.Count == 0)
        {
            if (cfg.GetChoice("BombLog") >= 2 && cfg.GetWeightedRegex("scriptRe").Count > 0) c.Log("no Script-Bomb found");
            return Verdict.Pass;
        }
        return RegexFilter.Report(c, Check, found, $"BombScript '{found.Shown}'", "scriptReMaxHits", "scriptError");
    }
}

/// <summary>
/// DoBlackRe: blackRe on header and body of every incoming mail (whitelisting and noprocessing do not exempt it;
/// only acceptAllMail, noBombScript and local mail without bombReLocal do); scored with blackValencePB.
/// </summary>
public sealed class BlackReCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoBlackRe", "[BombBlack]", "blackValencePB", TestModeOption: "bombTestMode",
        LoverList: "bombSpamLovers", CollectOption: "spamBombLog", ReplyOption: "bombError", LocalSwitch: "bombReLocal");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 320;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        if (!CheckHelpers.Enabled(c, Check) || st.Parsed is not { } msg || CheckHelpers.AcceptAll(c)) return Verdict.Pass;
        if (st.RelayOk && !cfg.GetBool("bombReLocal")) return Verdict.Pass;
        if (RegexFilter.NoBombScript(c)) return Verdict.Pass;
        var texts = BombTexts.For(cfg, msg);
        // No opt-out: whitelisting and noprocessing do not hide entries from this search.
        var found = BombSearch.Run(cfg, st, "blackRe", texts.HeaderSkipped + texts.Body, log: c.Log,
            classes: new MailClasses(false, false, st.RelayOk, st.IsIsp));
        if (found.Count == 0)
        {
            if (cfg.GetChoice("BombLog") >= 2 && cfg.GetWeightedRegex("blackRe").Count > 0) c.Log("no Bomb found for 'bombBlack'");
            return Verdict.Pass;
        }
        return RegexFilter.Report(c, Check, found, $"BombBlack '{found.Shown}'", "blackReMaxHits", "bombError");
    }
}
