using System.Globalization;
using System.Net;
using Assp.Config;

namespace Assp.Checks.Decision;

/// <summary>
/// ASSP's way of combining verdicts: a check's mode (block/monitor/score/testmode) and its switches, spam
/// lovers and haters, test modes, the message score with its tag and block limits, the IP score that feeds
/// the PenaltyBox, and what a spam verdict does to the reply, the headers, the subject and the collection.
/// Stateless apart from the reputation stores: everything about a message lives in <see cref="MessageState"/>.
/// </summary>
public sealed class DecisionEngine(IIpReputation ipReputation, IAddressReputation addressReputation, NotSpamTags? notSpamTags = null,
    Delaying.Greylist? greylist = null)
{
    /// <summary>Greylisting state (delaydb), or null when this engine does not greylist (the analyzer).</summary>
    public Delaying.Greylist? Greylist { get; } = greylist;
    public IIpReputation IpReputation { get; } = ipReputation;
    public IAddressReputation AddressReputation { get; } = addressReputation;
    public NotSpamTags? NotSpamTags { get; } = notSpamTags;

    /// <summary>The mode a check runs in for this message, after ASSP's switches to scoring.</summary>
    public static CheckMode EffectiveMode(CheckDefinition check, ConfigSnapshot cfg, MessageState st)
    {
        var mode = check.ConfiguredMode(cfg);
        if (mode == CheckMode.Disabled) return mode;
        bool scoring = cfg.GetChoice("DoPenaltyMessage") != 0;
        bool lover = st.AllLove(check.LoverList) || (st.SpamLover & 1) != 0;
        if (scoring && ((cfg.GetBool("switchSpamLoverToScoring") && lover) || (cfg.GetBool("switchTestToScoring") && InTestMode(check, cfg))))
            return CheckMode.Score;
        return mode;
    }

    public static bool InTestMode(CheckDefinition check, ConfigSnapshot cfg) =>
        cfg.GetBool("allTestMode") || (check.TestModeOption is { } t && cfg.Registry.Find(t) is not null && cfg.GetBool(t));

    /// <summary>Does the check run at all for this message (mode, local mail and its …Local switch, the …WL and …NP switches)?</summary>
    public static bool Applies(CheckDefinition check, ConfigSnapshot cfg, MessageState st)
    {
        if (st.Transparent) return false;
        if (check.ConfiguredMode(cfg) == CheckMode.Disabled) return false;
        if (st.RelayOk && !check.RunsOnOutgoing && !Switch(cfg, check.LocalSwitch)) return false;
        if (st.IsWhitelisted && !Switch(cfg, check.WhitelistSwitch)) return false;
        if (st.IsNoProcessing && !Switch(cfg, check.NoProcessingSwitch)) return false;
        return true;
    }

    private static bool Switch(ConfigSnapshot cfg, string? option) => option is not null && cfg.Registry.Find(option) is not null && cfg.GetBool(option);

    /// <summary>
    /// ASSP's pbAdd: adds a valence to the message score and (unless only the message counts) the IP score to
    /// the PenaltyBox. <paramref name="status"/>: 0 both, 1 message only, 2 IP only.
    /// </summary>
    public void AddPenalty(ConfigSnapshot cfg, MessageState st, IPAddress? ip, string valenceOption, string reason, int status = 0, Action<string>? log = null)
    {
        var (m, i) = cfg.GetValence(valenceOption);
        AddPenalty(cfg, st, ip, m, i, reason, status, log, valenceOption);
    }

    /// <summary>
    /// Scores an IP in the PenaltyBox for something that happened outside a message (e.g. a connection refused for
    /// maxSMTPipSessions): only the IP part of the valence counts, with pbAdd's filters (noPB, private IPs, WhiteBox).
    /// </summary>
    public void AddConnectionPenalty(ConfigSnapshot cfg, IPAddress ip, string valenceOption, string reason, Action<string>? log = null) =>
        AddPenalty(cfg, new MessageState(), ip, valenceOption, reason, status: 2, log);

    public void AddPenalty(ConfigSnapshot cfg, MessageState st, IPAddress? ip, double messageScore, double ipScore, string reason,
        int status = 0, Action<string>? log = null, string? valenceOption = null)
    {
        if (st.RelayOk && cfg.GetChoice("DoLocalPenaltyMessage") == 0) return;
        if (status == 1 && messageScore == 0) return;
        if (status == 2 && ipScore == 0) return;
        if (status == 0 && Math.Max(messageScore, ipScore) == 0 && Math.Min(messageScore, ipScore) == 0) return;
        var shownReason = st.SpamReason ?? reason;
        if (cfg.GetBool("AddScoringHeader"))
        {
            if (status < 2 && messageScore != 0) st.Headers.Add($"X-Assp-Message-Score: {Num(messageScore)} ({shownReason})");
            if (status != 1 && ipScore != 0) st.Headers.Add($"X-Assp-IP-Score: {Num(ipScore)} ({shownReason})");
        }
        if (messageScore != 0 && status != 2)
        {
            st.MessageScore += messageScore;
            st.Scores.Add(new ScoreEntry(valenceOption ?? reason, messageScore, status == 1 ? 0 : ipScore, shownReason));
            var added = valenceOption is null ? Num(messageScore) : $"{Num(messageScore)} ({valenceOption})";
            // ASSP writes the message score with MessageLog, or with a verbose PenaltyLog.
            if (cfg.GetChoice("MessageLog") >= 1 || cfg.GetChoice("PenaltyLog") >= 2)
                log?.Invoke($"Message-Score: added {added} for {shownReason}, total score for this message is now {Num(st.MessageScore)}");
        }
        if (st.RelayOk || status == 1 || ipScore == 0 || ip is null) return;
        if (cfg.GetChoice("DoPenalty") == 0) return;
        if (st.IsBounce && cfg.GetBool("DoNotPenalizeNull")) return;
        if (st.IsRed && cfg.GetBool("DoNotPenalizeRed")) return;
        if (st.NotSpamTagged) return;
        if (st.IsIsp && st.OriginalIp is null) return;   // an ISP relay is not the spammer
        if (IsPrivate(ip)) return;
        if (st.NoPenaltyBox || cfg.GetIpList("noPB").Contains(ip)) { st.NoPenaltyBox = true; return; }
        if (st.PenaltyWhite || IpReputation.IsWhite(cfg, ip)) return;
        IpReputation.AddBlack(cfg, ip, ipScore, reason);
    }

    /// <summary>
    /// The scores a weighted-regex hit adds: a weight of at most 6 (either sign) multiplies the check's message
    /// valence, a larger one is the message score itself; the IP score keeps the valence's IP/message proportion.
    /// </summary>
    /// <summary>A message score with the IP share of the valence's IP/message proportion (weighted DNS-list results).</summary>
    public static (double Message, double Ip) Proportional(ConfigSnapshot cfg, string valenceOption, double message)
    {
        var (m, i) = cfg.GetValence(valenceOption);
        return (message, m == 0 ? message : Math.Truncate(message * i / m));
    }

    public static (double Message, double Ip) WeightedScore(ConfigSnapshot cfg, string valenceOption, double weight)
    {
        var (m, i) = cfg.GetValence(valenceOption);
        double message = Assp.Config.Regexes.WeightedRegexList.Score(weight, m);
        double ip = m == 0 ? 0 : Math.Truncate(message * i / m);
        return (message, ip);
    }

    /// <summary>
    /// A check found something: monitor only logs, score adds its valence and passes, block (or test mode)
    /// also scores and then decides as ASSP's thisIsSpam does. Returns the verdict for the phase.
    /// </summary>
    public Verdict Hit(CheckDefinition check, ConfigSnapshot cfg, MessageState st, IPAddress? ip, string reason, Action<string>? log = null,
        (double Message, double Ip)? score = null, bool done = false, string? reply = null)
    {
        var mode = EffectiveMode(check, cfg, st);
        st.Prepend.Clear().Append(check.Tag);
        if (mode == CheckMode.Disabled) return Verdict.Pass;
        if (mode == CheckMode.Monitor)
        {
            log?.Invoke($"[monitoring] ({reason})");
            st.Reports.Add(new CheckReport(check.Name, "monitor", 0, reason));
            return Verdict.Pass;
        }
        var (m, i) = score ?? (check.ValenceOption is null ? (0, 0) : cfg.GetValence(check.ValenceOption));
        AddPenalty(cfg, st, ip, m, i, reason, 0, log, check.ValenceOption);
        if (mode == CheckMode.Score)
        {
            log?.Invoke($"[scoring] ({reason})");
            st.Reports.Add(new CheckReport(check.Name, "score", m, reason));
            return Verdict.Pass;
        }
        string? testMode = mode == CheckMode.TestMode || InTestMode(check, cfg) ? "testmode" : null;
        bool loverOk = st.AllLove(check.LoverList);
        // The check's own haters cancel its test mode and lover pass; its test-mode users (checked after) tag only.
        if (st.AllRecipientsIn(check.HaterList)) (testMode, loverOk) = (null, false);
        if (st.AllRecipientsIn(check.TestModeUsers)) (testMode, loverOk) = ("bayesian test mode user", false);
        var collect = check.CollectOption is null ? CollectTarget.Spam : (CollectTarget)cfg.GetChoice(check.CollectOption);
        var verdict = ThisIsSpam(cfg, st, reason, collect, reply ?? ReplyTemplate(cfg, check.ReplyOption), testMode, loverOk, log, done);
        st.Reports.Add(new CheckReport(check.Name, verdict.Refuses ? "block" : "tag", m, reason));
        return verdict;
    }

    private static string ReplyTemplate(ConfigSnapshot cfg, string option)
    {
        var text = cfg.Registry.Find(option) is null ? "" : cfg[option].Trim();
        return text.Length > 0 ? text : cfg["SpamError"];
    }

    /// <summary>
    /// ASSP's thisIsSpam: the message is spam. It passes tagged when a spam lover, a test mode, tagging or the
    /// low score band says so, otherwise it is refused with the reply. Haters override lovers and test modes;
    /// a lover's personal limit overrides the lover.
    /// </summary>
    public Verdict ThisIsSpam(ConfigSnapshot cfg, MessageState st, string reason, CollectTarget collect, string reply,
        string? testMode, bool spamLoverOk, Action<string>? log = null, bool done = true)
    {
        st.SpamReason = reason;
        st.SpamFound = true;
        if (cfg.GetBool("allTestMode")) testMode = "all in testmode";
        if (st.AllHaters) { testMode = null; spamLoverOk = false; }
        if (spamLoverOk && st.SpamMaxScore is { } max && st.MessageScore > max)
        {
            spamLoverOk = false;
            log?.Invoke($"The message score ({Num(st.MessageScore)}) exceeds the SpamLover-Max-Score ({Num(max)}) - SpamLover is ignored");
        }
        MakeHeaders(cfg, st, spamLoverOk, testMode, reason);

        bool allLovers = (st.SpamLover & 1) != 0 && st.SpamLover != 2 && !st.AllHaters
            && (st.SpamLover == 1 || st.SpamLover == 3) && (st.SpamMaxScore is null || st.MessageScore <= st.SpamMaxScore);
        if (spamLoverOk || testMode is not null || st.TagMode || allLovers || st.MessageLow)
        {
            string passText;
            if (spamLoverOk)
            {
                st.Prepend.Append("[sl]");
                passText = $"passing because spamlover for this check, otherwise blocked ({reason})";
                collect = collect switch { CollectTarget.DiscardAndCopy => CollectTarget.Discard, CollectTarget.SpamAndCopy => CollectTarget.Spam, _ => collect };
            }
            else if (testMode is not null)
            {
                st.Prepend.Append("[testmode]");
                passText = $"passing because {testMode}, otherwise blocked ({reason})";
            }
            else if (st.TagMode)
            {
                st.Prepend.Append("[tagmode]");
                passText = $"passing because tagmode, otherwise blocked ({reason})";
            }
            else if (allLovers)
            {
                st.Prepend.Append("[all-sl]");
                passText = "passing because " + (st.SpamLover == 1 ? "all spamlover [address match in 'spamLovers']" : "content matches in 'SpamLoversRe'")
                    + $", otherwise blocked ({reason})";
                collect = collect switch { CollectTarget.DiscardAndCopy => CollectTarget.Discard, CollectTarget.SpamAndCopy => CollectTarget.Spam, _ => collect };
            }
            else
            {
                st.Prepend.Append("[lowlimit]");
                passText = $"passing because messagescore({Num(st.MessageScore)}) low";
            }
            if (!(spamLoverOk && cfg.GetBool("spamTagSL")) && cfg.GetBool("spamTag") && st.Prepend.Length > 0)
                AddSubjectPrefix(st, st.Prepend.ToString());
            var spamSubject = cfg["spamSubject"].Trim();
            if (!(spamLoverOk && cfg.GetBool("spamSubjectSL")) && spamSubject.Length > 0)
                AddSubjectPrefix(st, spamSubject, first: true);
            st.Collect = collect;
            if (done) log?.Invoke($"[spam found] and possibly {passText}");
            return Verdict.Pass;
        }

        st.Collect = CollectionRules(cfg, st, collect);
        if (st.IsBounce && !st.Prepend.ToString().Contains("[isbounce]", StringComparison.Ordinal)) st.Prepend.Append("[isbounce]");
        log?.Invoke($"[spam found] ({reason})");
        var text = ExpandReply(cfg, st, reply.Length > 0 ? reply : cfg["SpamError"], null, null, null);
        if (text.StartsWith("500", StringComparison.Ordinal)) text = "554" + text[3..];
        var refusal = Verdict.Block(text, reason);
        st.Refusal = refusal;
        return refusal;
    }

    /// <summary>
    /// Back250OKISP: a bounce from an ISP relay (ispip) that a backscatter check (BATV, FBMTV, DoBackSctr) refuses in
    /// block mode gets "250 OK" instead, and is discarded (the NULL connection): the ISP then has nothing to bounce on.
    /// </summary>
    public static Verdict OkForIspBounce(ConfigSnapshot cfg, MessageState st, Verdict verdict, Action<string>? log)
    {
        if (verdict.Kind != VerdictKind.Block || !st.IsIsp || !st.IsBounce || !cfg.GetBool("Back250OKISP")) return verdict;
        st.NullConnection = true;
        log?.Invoke($"Back250OKISP: bounce from an ISP refused by a backscatter check ({verdict.Reason}) - 250 OK, the mail is discarded");
        return Verdict.Pass;
    }

    private static void AddSubjectPrefix(MessageState st, string prefix, bool first = false)
    {
        if (st.SubjectPrefix.Contains(prefix, StringComparison.OrdinalIgnoreCase)) return;
        st.SubjectPrefix = first ? (prefix + " " + st.SubjectPrefix).TrimEnd() : (st.SubjectPrefix + " " + prefix).Trim();
    }

    /// <summary>Fills an ASSP reply template: LOCALDOMAIN, LOCALUSER, EMAILADDRESS, IPCONNECTED, SESSIONID, NOTSPAMTAG.</summary>
    public string ExpandReply(ConfigSnapshot cfg, MessageState st, string template, string? recipient, IPAddress? ip, string? sessionId)
    {
        recipient ??= st.FirstRecipient;
        var user = "";
        var domain = "";
        if (recipient is not null)
        {
            int at = recipient.LastIndexOf('@');
            user = at > 0 ? recipient[..at] : recipient;
            domain = at >= 0 ? recipient[(at + 1)..] : "";
        }
        var text = template.Replace("LOCALDOMAIN", domain, StringComparison.Ordinal)
            .Replace("LOCALUSER", user, StringComparison.Ordinal)
            .Replace("EMAILADDRESS", recipient ?? "", StringComparison.Ordinal)
            .Replace("IPCONNECTED", (ip ?? st.ScoredIp)?.ToString() ?? "", StringComparison.Ordinal)
            .Replace("SESSIONID", sessionId ?? st.SessionId ?? "", StringComparison.Ordinal);
        if (text.Contains("NOTSPAMTAG", StringComparison.Ordinal))
            text = text.Replace("NOTSPAMTAG", NotSpamTags?.Issue(cfg) ?? "", StringComparison.Ordinal);
        return text;
    }

    /// <summary>ASSP's makeMyheader: the X-Assp- lines that describe a spam verdict and the score.</summary>
    public static void MakeHeaders(ConfigSnapshot cfg, MessageState st, bool spamLoverOk, string? testMode, string? reason)
    {
        if (cfg.GetBool("AddSubjectHeader") && st.OriginalSubject is { Length: > 0 } subject)
            st.AddHeader("X-Assp-Original-Subject: " + subject);
        if (st.Red is { } red)
        {
            red = red.Replace("\r", "").Replace("\n", " ");
            if (red.Length > 60) red = red[..60] + "...";
            if (!st.Headers.Any(h => h.StartsWith("X-Assp-Redlisted:", StringComparison.OrdinalIgnoreCase))) st.Headers.Add($"X-Assp-Redlisted: Yes ({red})");
        }
        if (st.SpamFound && cfg.GetBool("AddSpamHeader"))
        {
            var line = st.MessageLow ? "X-Assp-Spam: YES (Probably)" : "X-Assp-Spam: YES";
            st.Headers.RemoveAll(h => h.StartsWith("X-Assp-Spam: YES", StringComparison.OrdinalIgnoreCase) && h != line);
            st.AddHeader(line);
        }
        if (st.SpamFound && spamLoverOk) st.AddHeader("X-Assp-Block: NO (Spamlover)");
        if (st.SpamFound && testMode is not null && !st.MessageLow) st.AddHeader($"X-Assp-Block: NO ({testMode})");
        var custom = cfg["AddCustomHeader"].Trim();
        if (st.SpamFound && custom.Length > 0) st.AddHeader(custom.Contains(": ", StringComparison.Ordinal) ? custom : custom.Replace(":", ": ", StringComparison.Ordinal));
        if (st.SpamFound && !string.IsNullOrEmpty(reason) && cfg.GetBool("AddSpamReasonHeader")) st.AddHeader("X-Assp-Spam-Reason: " + reason);
        if (st.SpamFound && cfg.GetBool("AddScoringHeader")) st.SetHeader("X-Assp-Message-Totalscore", Num(st.MessageScore));
        AddLevelHeader(cfg, st);
    }

    /// <summary>X-Assp-Spam-Level: one star per five points (at most 20).</summary>
    public static void AddLevelHeader(ConfigSnapshot cfg, MessageState st)
    {
        if ((!st.RelayOk || !cfg.GetBool("NoExternalSpamProb")) && st.MessageScore > 0 && cfg.GetBool("AddLevelHeader"))
        {
            var score = Math.Min(st.MessageScore, 99);
            st.SetHeader("X-Assp-Spam-Level", new string('*', (int)(score / 5) + 1));
        }
    }

    private static (int Mode, double Low, double Limit) Limits(ConfigSnapshot cfg, MessageState st)
    {
        // Local and outgoing mail has its own limits (LocalPenaltyMessageLow/Limit).
        int mode = cfg.GetChoice(st.RelayOk ? "DoLocalPenaltyMessage" : "DoPenaltyMessage");
        double low = cfg.GetDecimal(st.RelayOk ? "LocalPenaltyMessageLow" : "PenaltyMessageLow");
        double limit = cfg.GetDecimal(st.RelayOk ? "LocalPenaltyMessageLimit" : "PenaltyMessageLimit");
        if (st.SpamMaxScore is { } max)
        {
            if (max != limit) low = max - (limit - low);
            limit = max;
        }
        return (mode, Math.Max(0, low), limit);
    }

    /// <summary>
    /// ASSP's MsgScoreTooHigh: with the score at or over the block limit, Message Scoring Mode decides (block,
    /// monitor or tag). With MsgScoreOnEnd this is only tested once every check has run.
    /// </summary>
    public Verdict? MessageScoreTooHigh(ConfigSnapshot cfg, MessageState st, Action<string>? log = null, bool done = true)
    {
        if (st.MessageScoreDone || st.Transparent) return null;
        if (cfg.GetBool("MsgScoreOnEnd") && !st.AtEnd) return null;
        var (mode, _, limit) = Limits(cfg, st);
        if (limit <= 0) limit = 1;
        if (mode == 0 || st.MessageScore < limit) return null;
        st.MessageLow = false;
        st.MessageScoreDone = true;
        var reason = $"MessageScore {Num(st.MessageScore)}, limit {Num(limit)}";
        st.Prepend.Clear().Append(mode switch { 2 => "[MessageLimit][monitoring]", 4 => "[MessageLimit][tagging]", _ => "[MessageLimit]" });
        if (mode == 2)
        {
            log?.Invoke($"monitoring ({reason})");
            st.Reports.Add(new CheckReport(Checks.MessageScore.Name, "monitor", 0, reason));
            return null;
        }
        if (mode == 4) st.TagMode = true;
        var reply = cfg["PenaltyError"].Trim().Length > 0 ? cfg["PenaltyError"] : cfg["SpamError"];
        var verdict = ThisIsSpam(cfg, st, reason, (CollectTarget)cfg.GetChoice("spamMSLog"), reply,
            InTestMode(Checks.MessageScore, cfg) ? "testmode" : null, st.AllLove("pbSpamLovers"), log, done);
        st.Reports.Add(new CheckReport(Checks.MessageScore.Name, verdict.Refuses ? "block" : "tag", st.MessageScore, reason));
        return verdict.Refuses ? verdict : null;
    }

    /// <summary>ASSP's low band: a score from PenaltyMessageLow up to the limit tags the mail ("YES (Probably)").</summary>
    public Verdict? LowMessageScore(ConfigSnapshot cfg, MessageState st, Action<string>? log = null)
    {
        if (st.IsWhitelisted || st.IsNoProcessing || st.Transparent || st.MessageLow) return null;
        var (mode, low, limit) = Limits(cfg, st);
        if (mode == 0 || low <= 0 || limit <= 0 || st.MessageScore < low || st.MessageScore >= limit) return null;
        st.MessageLow = true;
        var reason = "MessageScore passed low limit";
        st.Prepend.Clear().Append("[MessageLimit]");
        var reply = cfg["PenaltyError"].Trim().Length > 0 ? cfg["PenaltyError"] : cfg["SpamError"];
        var verdict = ThisIsSpam(cfg, st, reason, (CollectTarget)cfg.GetChoice("spamMSLog"), reply,
            InTestMode(Checks.MessageScore, cfg) ? "testmode" : null, st.AllLove("pbSpamLovers"), log);
        st.Reports.Add(new CheckReport(Checks.MessageScore.Name, verdict.Refuses ? "block" : "tag", st.MessageScore, reason));
        return verdict.Refuses ? verdict : null;
    }

    /// <summary>ASSP's PBOK: an IP whose black-box total reached PenaltyLimit is refused (DoPenalty 1) or logged (2).</summary>
    public Verdict? PenaltyBoxCheck(ConfigSnapshot cfg, MessageState st, IPAddress? ip, Action<string>? log = null)
    {
        int mode = cfg.GetChoice("DoPenalty");
        if (mode == 0 || ip is null || st.RelayOk || st.IsWhitelisted || st.IsNoProcessing || st.Transparent) return null;
        if (st.PenaltyWhite || IpReputation.IsWhite(cfg, ip)) return null;
        if (IpReputation.BlackTotal(cfg, ip) is not { } total) return null;
        var reason = $"totalscore for {ip} is {Num(total)}";
        if (total < cfg.GetDecimal("PenaltyLimit")) return null;
        st.Prepend.Clear().Append("[PenaltyBox]");
        if (mode != 1)
        {
            log?.Invoke($"[monitoring] {reason}");
            st.Reports.Add(new CheckReport(Checks.PenaltyBox.Name, "monitor", 0, reason));
            return null;
        }
        st.AddHeader("X-Assp-Penalty: " + reason);
        st.Prepend.Clear().Append("[Penalty]");
        var reply = cfg["PenaltyError"].Trim().Length > 0 ? cfg["PenaltyError"] : cfg["SpamError"];
        var verdict = ThisIsSpam(cfg, st, reason, (CollectTarget)cfg.GetChoice("spamPBLog"), reply,
            InTestMode(Checks.PenaltyBox, cfg) ? "testmode" : null, st.AllLove("pbSpamLovers"), log);
        st.Reports.Add(new CheckReport(Checks.PenaltyBox.Name, verdict.Refuses ? "block" : "tag", 0, reason));
        return verdict.Refuses ? verdict : null;
    }

    /// <summary>
    /// The end of the checks for a message that was not refused: the score limits once more (MsgScoreOnEnd), the
    /// level header, and where the message is collected.
    /// </summary>
    public Verdict Finish(ConfigSnapshot cfg, MessageState st, IPAddress? ip, Action<string>? log = null)
    {
        if (st.Transparent) return Verdict.Pass;
        if (LowMessageScore(cfg, st, log) is { } lowRefusal) return lowRefusal;
        if (PenaltyBoxCheck(cfg, st, ip, log) is { } pbRefusal) return pbRefusal;
        st.AtEnd = true;
        if (MessageScoreTooHigh(cfg, st, log) is { } refusal) return refusal;
        if (!st.SpamFound) MakeHeaders(cfg, st, false, null, null);
        AddLevelHeader(cfg, st);
        if (st.SpamFound)
        {
            st.Collect ??= (CollectTarget)cfg.GetChoice("baysSpamLog");
            log?.Invoke($"spam found and passing ({st.SpamReason})");
        }
        else
        {
            var target = st.RelayOk || st.IsWhitelisted ? cfg.GetChoice("NonSpamLog") : cfg.GetChoice("baysNonSpamLog");
            if (st.IsNoProcessing) target = cfg.GetChoice("noProcessingLog");
            st.Collect = (CollectTarget)target;
        }
        st.Collect = CollectionRules(cfg, st, st.Collect ?? CollectTarget.None);
        return Verdict.Pass;
    }

    /// <summary>ASSP's rules that move or cancel a collection (red mail, bounces, noCollecting, SpamLog off, …).</summary>
    public static CollectTarget CollectionRules(ConfigSnapshot cfg, MessageState st, CollectTarget target)
    {
        bool ham = target is CollectTarget.NotSpam or CollectTarget.OkMail;
        if (cfg.GetBool("NoMaillog") || st.NoCollect || st.Transparent) return CollectTarget.None;
        if (ham && st.IsRed && (cfg.GetBool("DoNotCollectRedRe") || cfg.GetBool("DoNotCollectRedList"))) return CollectTarget.None;
        if (st.IsBounce && cfg.GetBool("DoNotCollectBounces")) return CollectTarget.None;
        if (st.IsNoProcessing && ham && cfg.GetChoice("noProcessingLog") == 0) return CollectTarget.None;
        if (target is CollectTarget.SpamAndCopy or CollectTarget.Spam)
        {
            bool copy = target == CollectTarget.SpamAndCopy;
            if (st.IsNoProcessing || (st.IsRed && cfg.GetBool("DoNotCollectRedRe")) || st.MessageLow || st.BayesLoverNotCollected)
                target = copy ? CollectTarget.DiscardAndCopy : CollectTarget.Discard;
            if (target == CollectTarget.Spam || target == CollectTarget.SpamAndCopy)
                if (cfg.GetChoice("SpamLog") == 0) target = copy ? CollectTarget.DiscardAndCopy : CollectTarget.Discard;
        }
        return target;
    }

    /// <summary>The folder option a collection code writes to (null: none).</summary>
    public static string? CollectFolderOption(CollectTarget target) => target switch
    {
        CollectTarget.Spam or CollectTarget.SpamAndCopy => "spamlog",
        CollectTarget.NotSpam => "notspamlog",
        CollectTarget.OkMail => "incomingOkMail",
        CollectTarget.Quarantine => "viruslog",
        CollectTarget.Discard or CollectTarget.DiscardAndCopy => "discarded",
        _ => null,
    };

    public static bool IsPrivate(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (IPAddress.IsLoopback(ip)) return true;
        var b = ip.GetAddressBytes();
        if (b.Length == 4)
            return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254)
                || (b[0] == 100 && (b[1] & 0xC0) == 64) || b[0] == 0;
        return ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || (b[0] & 0xFE) == 0xFC || ip.Equals(IPAddress.IPv6None);
    }

    public static string Num(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
}
