using System.Globalization;
using Assp.Bayes;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>What the statistical filters found for one message (the words are shared by both filters).</summary>
public sealed class StatisticalState
{
    /// <summary>Keep the top tokens (the analyzer asks for them).</summary>
    public bool Explain { get; set; }
    public List<string>? Words { get; set; }
    /// <summary>The header plus MaxBytes of the body, parsed (what the words were read from).</summary>
    public Assp.Mime.MimeMessage? Limited { get; set; }
    public FilterResult? Bayes { get; set; }
    public FilterResult? Hmm { get; set; }
    /// <summary>BayesAfterHMM found the HMM verdict sure enough: the Bayesian check does not run.</summary>
    public bool SkipBayes { get; set; }
}

/// <summary>
/// The parts both statistical checks share: who is exempt (noBayesian, noBayesian_local, Bayesian_localOnly),
/// the words of the message (header plus MaxBytes of the body, as the rebuild reads the corpus), and ASSP's scoring
/// of a probability: spam at or above baysProbability scores valence × probability (halved below baysConf with
/// baysConfidenceHalfScore), the unsure band between 1 − baysProbability and baysProbability scores half of it on
/// the message only and never blocks, and ham may get the ham bonus (…hamValencePB × (1 − probability)).
/// </summary>
internal static class Statistical
{
    public static StatisticalState State(MessageState st) => st.Statistics;

    /// <summary>ASSP's exemptions beyond the …WL/…NP/…Local switches; noBayesian also keeps the mail out of the corpus.</summary>
    public static bool Exempt(CheckContext c, string label)
    {
        var cfg = c.Config;
        var st = c.State;
        var from = c.Mail.MailFrom ?? "";
        if (st.RelayOk && cfg.GetBool("BayesLocal")
            && ((cfg.GetAddressList("noBayesian_local").Contains(from))
                || (cfg.GetListEntries("Bayesian_localOnly").Count > 0 && !cfg.GetAddressList("Bayesian_localOnly").Contains(from))))
        {
            if (cfg.GetChoice("BayesianLog") >= 2) c.Log($"{label} skipped for local sender");
            return true;
        }
        var noBayesian = cfg.GetAddressList("noBayesian");
        if (noBayesian.Contains(from) || c.Mail.Recipients.Any(noBayesian.Contains))
        {
            if (cfg.GetChoice("BayesianLog") >= 2) c.Log($"{label} skipped on noBayesian");
            st.NoCollect = true;
            return true;
        }
        return false;
    }

    /// <summary>
    /// baysSpamLoversRe: a message whose header or first MaxBytes of body match is a Bayesian spam-lover message (its
    /// Bayesian and HMM spam verdicts pass tagged), as if every recipient were on baysSpamLovers.
    /// </summary>
    public static void BayesLoversRe(CheckContext c)
    {
        var st = c.State;
        if (st.AllLove("baysSpamLovers") || st.Parsed is not { } msg) return;
        var re = c.Config.GetRegex("baysSpamLoversRe");
        if (re.Count == 0) return;
        int maxBytes = c.Config.GetInt("MaxBytes", 4000);
        if (maxBytes <= 0) maxBytes = 10000;
        var raw = msg.Root.RawEntity.Span;
        int headerLength = msg.Root.BodyStart - msg.Root.HeaderStart;
        var text = System.Text.Encoding.Latin1.GetString(raw[..Math.Min(raw.Length, headerLength + maxBytes)]);
        if (re.Match(text) is not { } hit) return;
        st.LoverBits["baysSpamLovers"] = 1;
        RegexMatchNote.Record(c.Mail, "baysSpamLoversRe", hit, "Bayesian spamlover");
    }

    /// <summary>The words of the message, read once for both checks.</summary>
    public static List<string> Words(CheckContext c, TimeProvider time)
    {
        var stats = c.State.Statistics;
        if (stats.Words is { } cached) return cached;
        int maxBytes = c.Config.GetInt("MaxBytes", 4000);
        byte[] raw;
        using (var stream = c.Mail.OpenMessage())
        {
            if (stream is null) return stats.Words = [];
            raw = ReadStart(stream, maxBytes);
        }
        var budget = MaxProcessTime(c.Config);
        long started = time.GetTimestamp();
        stats.Limited = Assp.Mime.MimeParser.Parse(CorpusText.Limit(raw, maxBytes));
        try
        {
            var text = CorpusText.FromMessage(stats.Limited, maxBytes, () => time.GetElapsedTime(started) > budget, out bool timedOut);
            if (!timedOut) return stats.Words = Tokenizer.Words(text);
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
        }
        // As in ASSP, a mail whose text takes longer than that to clean up is not judged on part of it.
        c.Log($"info: Bayesian-Process-Timeout ({budget.TotalSeconds:0.#} s, BayesMaxProcessTime) is reached - the statistical checks are skipped for this mail");
        stats.Limited = null;
        return stats.Words = [];
    }

    /// <summary>BayesMaxProcessTime in seconds; ASSP takes at most 15, and so do we (0 or less, or unreadable: 15).</summary>
    public static TimeSpan MaxProcessTime(ConfigSnapshot cfg)
    {
        double seconds = cfg.GetDecimal("BayesMaxProcessTime", 15);
        return TimeSpan.FromSeconds(seconds is > 0 and <= 15 ? seconds : 15);
    }

    private static byte[] ReadStart(Stream stream, int maxBytes)
    {
        int cap = maxBytes <= 0 ? int.MaxValue : 256 * 1024 + maxBytes;
        using var ms = new MemoryStream();
        var buffer = new byte[16384];
        int n;
        while (ms.Length < cap && (n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, cap - ms.Length))) > 0) ms.Write(buffer, 0, n);
        return ms.ToArray();
    }

    /// <summary>The first recipient's private scope for incoming mail (ASSP uses private entries only for mail to local users).</summary>
    public static PrivateScope Scope(CheckContext c) =>
        c.State.RelayOk ? PrivateScope.None : PrivateScope.For(c.Mail.Recipients.FirstOrDefault(), c.Config.GetChoice("DoPrivatSpamdb"));

    public static double Threshold(ConfigSnapshot cfg)
    {
        var p = cfg.GetDecimal("baysProbability", 0.6);
        return p is > 0 and < 1 ? p : 0.6;
    }

    public static int MaxValues(ConfigSnapshot cfg) => Math.Max(30, cfg.GetInt("maxBayesValues", 60));

    public static string P(double v) => v.ToString("0.00000", CultureInfo.InvariantCulture);

    /// <summary>
    /// Scores and decides a filter's result in the check's mode. <paramref name="skipBonus"/>: the HMM had too few
    /// results for a ham bonus.
    /// </summary>
    public static Verdict Apply(CheckContext c, CheckDefinition check, CheckMode mode, string label, FilterResult result,
        string valence, string localValence, string hamValence, bool skipBonus)
    {
        var cfg = c.Config;
        var st = c.State;
        double prob = result.Probability, conf = result.Confidence;
        double threshold = Threshold(cfg);
        double baysConf = cfg.GetDecimal("baysConf", 0);
        bool lowConfidence = baysConf > 0 && conf < baysConf;
        string tlit = mode switch { CheckMode.Monitor => "[monitoring]", CheckMode.Score => "[scoring]", CheckMode.TestMode => "[testmode]", _ => "" };
        if (cfg.GetChoice("BayesianLog") >= 1 || mode >= CheckMode.Monitor)
        {
            string verdictText = prob < threshold ? "ham" : "spam";
            c.Log(baysConf > 0
                ? $"{label} {tlit} - Prob: {P(prob)} / Confidence: {P(conf)} => {(lowConfidence ? "doubtful" : "confident")}.{verdictText}"
                : $"{label} {tlit} - Prob: {P(prob)} => {verdictText}");
        }
        if (mode == CheckMode.Monitor)
        {
            st.Reports.Add(new CheckReport(check.Name, "monitor", 0, $"{label} Probability: {P(prob)}"));
            return Verdict.Pass;
        }
        var (vm, vi) = cfg.GetValence(st.RelayOk ? localValence : valence);
        bool half = lowConfidence && cfg.GetBool("baysConfidenceHalfScore");
        string reason = $"{label} Probability: {P(prob)}";
        if (prob >= threshold)
        {
            var score = (Scale(vm, prob, half), Scale(vi, prob, half));
            if (mode == CheckMode.Score)
            {
                c.Engine.AddPenalty(cfg, st, c.Ip, score.Item1, score.Item2, reason, 0, c.Log, valence);
                c.Log($"[scoring] ({reason})");
                st.Reports.Add(new CheckReport(check.Name, "score", score.Item1, reason));
                return Verdict.Pass;
            }
            if (mode == CheckMode.Block && lowConfidence)
            {
                // A spam verdict below baysConf is passed as in test mode: scored, never refused.
                c.Engine.AddPenalty(cfg, st, c.Ip, score.Item1, score.Item2, reason, 0, c.Log, valence);
                c.Log($"[testmode] {label}: confidence {P(conf)} is below baysConf {P(baysConf)} - passing, otherwise blocked ({reason})");
                st.Reports.Add(new CheckReport(check.Name, "score", score.Item1, reason + " (low confidence)"));
                return Verdict.Pass;
            }
            return c.Engine.Hit(check, cfg, st, c.Ip, reason, c.Log, score: score, done: false);
        }
        if (prob >= 1 - threshold)
        {
            double m = Scale(vm / 2, prob, half);
            if (m > 0)
            {
                c.Log($"{label} {tlit} - Prob: {P(prob)} shows an 'unsure' state - doing only message scoring - calculating half scores");
                c.Engine.AddPenalty(cfg, st, c.Ip, m, 0, reason, 1, c.Log, valence);
                st.Reports.Add(new CheckReport(check.Name, "unsure", m, reason));
            }
            return Verdict.Pass;
        }
        if (skipBonus || (baysConf > 0 && conf < baysConf)) return Verdict.Pass;
        var (hm, _) = cfg.GetValence(hamValence);
        double bonus = -Math.Abs(Math.Truncate(hm * (1 - prob)));
        if (bonus < 0)
        {
            c.Log($"{label} {tlit} - Prob: {P(prob)} shows a confident 'HAM' state - Bonus");
            c.Engine.AddPenalty(cfg, st, c.Ip, bonus, 0, label + "-HAM", 1, c.Log, hamValence);
            st.Reports.Add(new CheckReport(check.Name, "ham", bonus, reason));
        }
        return Verdict.Pass;
    }

    /// <summary>valence × probability, rounded (halved for a doubtful verdict).</summary>
    private static double Scale(double valence, double prob, bool half) => Math.Floor(valence * prob / (half ? 2 : 1) + 0.5);

    public static void Headers(CheckContext c, string probHeader, string confHeader, FilterResult result)
    {
        if (c.Config.GetBool("AddSpamProbHeader")) c.State.Headers.Add($"{probHeader}: {P(result.Probability)}");
        if (c.Config.GetBool("AddConfidenceHeader")) c.State.Headers.Add($"{confHeader}: {P(result.Confidence)}");
    }
}

/// <summary>
/// DoHMM: the Hidden Markov Model check (chains of five words against HMMdb). With fewer than maxBayesValues/12 + 1
/// results it only monitors, with fewer than maxBayesValues/3 + 1 a block becomes scoring (and no ham bonus is
/// given). With BayesAfterHMM it decides whether the Bayesian check still runs.
/// </summary>
public sealed class HmmCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoHMM", "[HMM]", "HMMValencePB", TestModeOption: "baysTestMode",
        LoverList: "baysSpamLovers", WhitelistSwitch: "BayesWL", NoProcessingSwitch: "BayesNP", CollectOption: "baysSpamLog",
        LocalSwitch: "BayesLocal", HaterList: "baysSpamHaters", TestModeUsers: "baysTestModeUserAddresses");

    private readonly CheckServices _services;

    public HmmCheck(CheckServices services) => _services = services;

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 400;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        if (_services.Store is not { } store || !c.Applies(Check)) return Verdict.Pass;
        var db = SpamDbProvider.For(store).Current;
        if (!db.HasHmm)
        {
            if (cfg.GetChoice("BayesianLog") >= 1) c.Log("HMM is not available - hmmdb is empty");
            return Verdict.Pass;
        }
        if (Statistical.Exempt(c, "HMM-Check")) return Verdict.Pass;
        Statistical.BayesLoversRe(c);
        var stats = c.State.Statistics;
        var words = Statistical.Words(c, _services.Time);
        int maxValues = Statistical.MaxValues(cfg);
        var result = Classifier.Hmm(db, words, Statistical.Scope(c), maxValues, stats.Explain);
        stats.Hmm = result;
        if (result.Results == 0)
        {
            if (cfg.GetChoice("BayesianLog") >= 2) c.Log("HMM-Check has given no results");
            return Verdict.Pass;
        }
        Statistical.Headers(c, "X-Assp-HMM-Spam-Prob", "X-Assp-HMM-Confidence", result);
        var mode = DecisionEngine.EffectiveMode(Check, cfg, c.State);
        bool skipBonus = false;
        if (result.Results < maxValues / 12 + 1)
        {
            c.Log($"HMM-Check has given less than {maxValues / 12 + 1} results - using monitoring mode only");
            mode = CheckMode.Monitor;
            skipBonus = true;
        }
        else if (result.Results < maxValues / 3 + 1 && mode == CheckMode.Block)
        {
            c.Log($"HMM-Check has given less than {maxValues / 3 + 1} results - using scoring mode only");
            mode = CheckMode.Score;
            skipBonus = true;
        }
        if (mode != CheckMode.Monitor) DecideBayesAfterHmm(c, result);
        return Statistical.Apply(c, Check, mode, "HMM Check", result, "HMMValencePB", "HMMlocalValencePB", "HMMhamValencePB", skipBonus);
    }

    /// <summary>BayesAfterHMM "low-high": a HMM verdict outside the range (and confident enough) makes the Bayesian check skip.</summary>
    private static void DecideBayesAfterHmm(CheckContext c, FilterResult result)
    {
        var cfg = c.Config;
        var range = cfg["BayesAfterHMM"].Trim();
        if (range.Length == 0 || cfg.GetChoice("DoBayesian") == 0) return;
        double threshold = Statistical.Threshold(cfg);
        var parts = range.Split(['-', ' ', ',', '|'], 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var low)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var high) || low <= 0 || high <= 0)
        {
            (low, high) = (1 - threshold, threshold);
            c.Log($"ERROR: invalid value for 'BayesAfterHMM' found ('{range}') - using '{Statistical.P(low)}-{Statistical.P(high)}'");
        }
        if (low > high) (low, high) = (high, low);
        if (result.Probability > low && result.Probability < high)
        {
            if (cfg.GetChoice("BayesianLog") >= 2) c.Log($"Bayesian check will run ( BayesAfterHMM {range} ) - HMM Probability: {Statistical.P(result.Probability)}");
            return;
        }
        double baysConf = cfg.GetDecimal("baysConf", 0);
        if (baysConf > 0 && result.Confidence < baysConf)
        {
            if (cfg.GetChoice("BayesianLog") >= 2) c.Log($"Bayesian check will run ( BayesAfterHMM {range} - but low confidence )");
            return;
        }
        c.State.Statistics.SkipBayes = true;
        if (cfg.GetChoice("BayesianLog") >= 2) c.Log($"Bayesian check will be skipped ( BayesAfterHMM {range} ) - HMM Probability: {Statistical.P(result.Probability)}");
    }
}

/// <summary>DoBayesian: the Bayesian check (word pairs against spamdb, private entries first).</summary>
public sealed class BayesianCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoBayesian", "[Bayesian]", "baysValencePB", TestModeOption: "baysTestMode",
        LoverList: "baysSpamLovers", WhitelistSwitch: "BayesWL", NoProcessingSwitch: "BayesNP", CollectOption: "baysSpamLog",
        LocalSwitch: "BayesLocal", HaterList: "baysSpamHaters", TestModeUsers: "baysTestModeUserAddresses");

    private readonly CheckServices _services;
    // The database generation for which the missing regression weights were last logged (logged once per database).
    private long _regressionMissingLogged = -1;

    public BayesianCheck(CheckServices services) => _services = services;

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 410;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        if (_services.Store is not { } store || !c.Applies(Check)) return Verdict.Pass;
        var stats = c.State.Statistics;
        if (stats.SkipBayes) return Verdict.Pass;
        var db = SpamDbProvider.For(store).Current;
        if (!db.HasBayes)
        {
            if (cfg.GetChoice("BayesianLog") >= 1) c.Log("Bayesian is not available - spamdb is empty");
            return Verdict.Pass;
        }
        if (Statistical.Exempt(c, "Bayesian Check")) return Verdict.Pass;
        Statistical.BayesLoversRe(c);
        var words = Statistical.Words(c, _services.Time);
        int algorithm = cfg.GetChoice("BayesAlgorithm");
        bool enhanced = algorithm >= 1;
        if (enhanced && db.Features.Count == 0 && cfg.GetChoice("BayesianLog") >= 2)
            c.Log($"BayesAlgorithm {algorithm} has no feature table yet (a rebuild makes it) - ASSP's formula is used");
        bool regression = algorithm == 2 && !db.Regression.IsEmpty;
        if (algorithm == 2 && db.Regression.IsEmpty && db.Features.Count > 0 && Interlocked.Exchange(ref _regressionMissingLogged, db.Generation) != db.Generation)
            c.Log("BayesAlgorithm 2 has no regression weights of this version yet (a rebuild makes them) - BayesAlgorithm 1 is used");
        var result = enhanced && db.Features.Count > 0 && stats.Limited is { } limited
            ? Enhanced(db, limited, words, regression)
            : Classifier.Bayes(db, words, Statistical.Scope(c), Statistical.MaxValues(cfg), stats.Explain);
        if (enhanced && db.Features.Count > 0 && stats.Limited is not null && cfg.GetChoice("BayesianLog") >= 2)
            c.Log($"Bayesian check uses BayesAlgorithm {(regression ? 2 : 1)} - {result.Results} features combined");
        stats.Bayes = result;
        if (result.Results == 0) return Verdict.Pass;
        Statistical.Headers(c, "X-Assp-Spam-Prob", "X-Assp-Bayes-Confidence", result);
        if (stats.Hmm is { } hmm && (hmm.Probability >= Statistical.Threshold(cfg)) != (result.Probability >= Statistical.Threshold(cfg))
            && cfg.GetChoice("BayesianLog") >= 2)
            c.Log($"info: got different spam result for Bayesian and HMM : {Statistical.P(result.Probability)} - {Statistical.P(hmm.Probability)}");
        var mode = DecisionEngine.EffectiveMode(Check, cfg, c.State);
        return Statistical.Apply(c, Check, mode, "Bayesian Check", result, "baysValencePB", "bayslocalValencePB", "bayshamValencePB", skipBonus: false);
    }

    private static FilterResult Enhanced(SpamDatabase db, Assp.Mime.MimeMessage message, List<string> words, bool regression)
    {
        var features = EnhancedFilter.Features(message, words);
        var combined = regression ? FeatureRegression.Classify(db.Features, db.Regression, features) : EnhancedFilter.Classify(db.Features, features);
        return new FilterResult(combined, combined.Used, []);
    }
}
