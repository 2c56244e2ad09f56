using System.Runtime.InteropServices;
using Assp.Bayes;
using Assp.Mime;
using static Assp.Bench.AccuracyCvBenchmark;

namespace Assp.Bench;

/// <summary>The variants `accuracy-cv` compares (experiments; the chosen one lives in Assp.Bayes).</summary>
internal static class CvVariants
{
    internal sealed record EnhancedParams(double Strength = 0.45, double MinDeviation = 0.1, int MaxFeatures = 150, bool LogTails = false);

    public static IEnumerable<(string Name, Scorer Scorer)> All()
    {
        yield return ("assp-bayes", AsspBayes);
        yield return ("assp-hmm", AsspHmm);
        yield return ("enh-production", Production);
        yield return ("enh-regression-production", RegressionProduction);
        yield return ("enh-current", Enhanced(CurrentFeatures, new()));
        foreach (var st in new[] { 0.1, 0.15, 0.2, 0.3 })
            foreach (var m in new[] { 50, 80, 150 })
                yield return ($"enh-s{st}-max{m}", Enhanced(CurrentFeatures, new(Strength: st, MaxFeatures: m)));
        foreach (var st in new[] { 0.2, 0.45 })
            foreach (var m in new[] { 50, 150 })
                yield return ($"enh-s{st}-max{m}-logtails", Enhanced(CurrentFeatures, new(Strength: st, MaxFeatures: m, LogTails: true)));
        yield return ("enh-s0.2+Mime+FromName+Domains", Enhanced((m, w) => RichFeatures(m, w, Extra.Mime | Extra.FromName | Extra.Domains), new(Strength: 0.2)));
        yield return ("enh-s0.2+Cjk", Enhanced((m, w) => RichFeatures(m, w, Extra.Cjk), new(Strength: 0.2)));
        yield return ("enh-s0.2-nopairs", Enhanced(WordsOnly, new(Strength: 0.2)));
        yield return ("combine-bayes-hmm-enh", Combiner);
        // Discriminative: logistic regression by SGD on mode 1's own features (deterministic order).
        foreach (var rate in new[] { 0.05, 0.2, 0.5 })
            yield return ($"lr-e5-r{rate}", Logistic(new(Rate: rate)));
        yield return ("lr-e10-r0.2", Logistic(new(Epochs: 10, Rate: 0.2)));
        yield return ("lr-e5-r0.2-binary", Logistic(new(Rate: 0.2, Normalize: false)));
        yield return ("lr-e5-r0.2-l2", Logistic(new(Rate: 0.2, L2: 1e-4)));
        foreach (var margin in new[] { 1.0, 3.0 })
            yield return ($"lr-toe{margin}-e10-r0.2", Logistic(new(Epochs: 10, Rate: 0.2, Margin: margin)));
        foreach (var mix in new[] { 0.5, 1.0, 2.0 })
            yield return ($"lr-e5-r0.2+enh{mix}", Logistic(new(Rate: 0.2, MixEnhanced: mix)));
        foreach (var (epochs, rate) in new[] { (5, 0.05), (5, 0.5), (10, 0.2), (3, 0.2) })
            yield return ($"lr-e{epochs}-r{rate}-binary", Logistic(new(Epochs: epochs, Rate: rate, Normalize: false)));
        foreach (var margin in new[] { 2.0, 5.0 })
            yield return ($"lr-toe{margin}-e10-r0.2-binary", Logistic(new(Epochs: 10, Rate: 0.2, Normalize: false, Margin: margin)));
        foreach (var mix in new[] { 0.25, 0.5, 1.0, 2.0 })
            yield return ($"lr-e5-r0.2-binary+enh{mix}", Logistic(new(Rate: 0.2, Normalize: false, MixEnhanced: mix)));
        foreach (var k in new[] { 0.1, 0.25, 0.5, 1.0 })
            yield return ($"fisher-logit+lr-binary{k}", Logistic(new(Rate: 0.2, Normalize: false, MixEnhanced: k, MixFisher: 1)));
        yield return ("fisher-tiebreak-lr-binary", Logistic(new(Rate: 0.2, Normalize: false, MixFisher: 2)));
        yield return ("lr-e5-r0.02-binary", Logistic(new(Rate: 0.02, Normalize: false)));
        yield return ("lr-e10-r0.05-binary", Logistic(new(Epochs: 10, Rate: 0.05, Normalize: false)));
        yield return ("fisher-logit+lr-r0.05-binary0.25", Logistic(new(Rate: 0.05, Normalize: false, MixEnhanced: 0.25, MixFisher: 1)));
    }

    private static (double, double)[] AsspBayes(IReadOnlyList<Sample> train, IReadOnlyList<Sample> test)
    {
        var db = TrainAssp(train, hmm: false);
        return test.Select(s => Classifier.Bayes(db, s.Words, PrivateScope.None, 60).Combined).Select(c => (c.Probability, c.Used == 0 ? 0 : c.LogOdds)).ToArray();
    }

    private static (double, double)[] AsspHmm(IReadOnlyList<Sample> train, IReadOnlyList<Sample> test)
    {
        var db = TrainAssp(train, hmm: true);
        return test.Select(s => Classifier.Hmm(db, s.Words, PrivateScope.None, 60).Combined).Select(c => (c.Probability, c.Used == 0 ? 0 : c.LogOdds)).ToArray();
    }

    internal static SpamDatabase TrainAssp(IReadOnlyList<Sample> train, bool hmm)
    {
        var trainer = new CorpusTrainer(buildHmm: hmm);
        foreach (var s in train) trainer.Add(s.Words, s.IsSpam, 1);
        return SpamDbStore.InMemory(trainer.BuildBayes(), hmm ? trainer.BuildHmm() : new Dictionary<ulong, double>(), trainer.Norm, 1);
    }

    /// <summary>BayesAlgorithm 2 exactly as Assp.Bayes implements it (the rank is its uncalibrated score).</summary>
    private static (double, double)[] RegressionProduction(IReadOnlyList<Sample> train, IReadOnlyList<Sample> test)
    {
        var sets = new HashSet<ulong>[train.Count];
        Parallel.For(0, train.Count, i => sets[i] = EnhancedFilter.Features(train[i].Message, train[i].Words));
        var trainer = new EnhancedFilter.Trainer();
        var regression = new FeatureRegression.Trainer();
        for (int i = 0; i < train.Count; i++)
        {
            trainer.Add(sets[i], train[i].IsSpam, 1);
            regression.Add(sets[i], train[i].IsSpam, 1);
        }
        var table = ProbabilityTable.Build(trainer.Build().Select(kv => new KeyValuePair<ulong, float>(kv.Key, (float)kv.Value)).ToList());
        var model = regression.Train();
        return test.Select(s => FeatureRegression.Classify(table, model, EnhancedFilter.Features(s.Message, s.Words))).Select(c => (c.Probability, c.LogOdds)).ToArray();
    }

    /// <summary>BayesAlgorithm 1 exactly as Assp.Bayes implements it now.</summary>
    private static (double, double)[] Production(IReadOnlyList<Sample> train, IReadOnlyList<Sample> test)
    {
        var trainer = new EnhancedFilter.Trainer();
        foreach (var s in train) trainer.Add(EnhancedFilter.Features(s.Message, s.Words), s.IsSpam, 1);
        var table = ProbabilityTable.Build(trainer.Build().Select(kv => new KeyValuePair<ulong, float>(kv.Key, (float)kv.Value)).ToList());
        return test.Select(s => EnhancedFilter.Classify(table, EnhancedFilter.Features(s.Message, s.Words))).Select(c => (c.Probability, Rank(c.Probability, c.LogOdds))).ToArray();
    }

    /// <summary>Fisher's I orders the messages; where it saturates (0 or 1) the log-odds break the ties.</summary>
    internal static double Rank(double i, double logOdds) => i + 1e-9 * Math.Clamp(logOdds, -5000, 5000);

    internal static Scorer Enhanced(Func<MimeMessage, List<string>, HashSet<ulong>> features, EnhancedParams p) => (train, test) =>
    {
        var trainFeatures = new HashSet<ulong>[train.Count];
        Parallel.For(0, train.Count, i => trainFeatures[i] = features(train[i].Message, train[i].Words));
        var counts = new Dictionary<ulong, (float Spam, float Ham)>(1 << 18);
        double ns = 0, nh = 0;
        for (int i = 0; i < train.Count; i++)
        {
            if (train[i].IsSpam) ns++; else nh++;
            foreach (var f in trainFeatures[i])
            {
                ref var c = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, f, out _);
                if (train[i].IsSpam) c.Spam++; else c.Ham++;
            }
        }
        var probs = new Dictionary<ulong, double>(counts.Count);
        foreach (var (key, c) in counts)
        {
            double sr = c.Spam / ns, hr = c.Ham / nh, q = sr / (sr + hr), n = c.Spam + c.Ham;
            double f = (p.Strength * 0.5 + n * q) / (p.Strength + n);
            if (Math.Abs(f - 0.5) >= p.MinDeviation) probs[key] = f;
        }
        var result = new (double, double)[test.Count];
        Parallel.For(0, test.Count, i => result[i] = Fisher(probs, features(test[i].Message, test[i].Words), p));
        return result;
    };

    internal static (double Probability, double Rank) Fisher(Dictionary<ulong, double> probs, HashSet<ulong> features, EnhancedParams p)
    {
        var values = new List<double>(256);
        foreach (var f in features)
            if (probs.TryGetValue(f, out var v) && Math.Abs(v - 0.5) >= p.MinDeviation) values.Add(v);
        if (values.Count == 0) return (0.5, 0);
        if (values.Count > p.MaxFeatures)
        {
            values.Sort(static (a, b) => Math.Abs(b - 0.5).CompareTo(Math.Abs(a - 0.5)));
            values.RemoveRange(p.MaxFeatures, values.Count - p.MaxFeatures);
        }
        double lnS = 0, lnH = 0;
        foreach (var v in values) { lnS += Math.Log(1 - v); lnH += Math.Log(v); }
        int n = values.Count;
        double s = 1 - EnhancedFilter.ChiSquareTail(-2 * lnS, 2 * n), h = 1 - EnhancedFilter.ChiSquareTail(-2 * lnH, 2 * n);
        if (p.LogTails)
        {
            // ln of both tail probabilities, which do not saturate: their difference orders every message.
            double d = LnChiSquareTail(-2 * lnH, 2 * n) - LnChiSquareTail(-2 * lnS, 2 * n);
            return (1 / (1 + Math.Exp(-d)), d);
        }
        return ((1 + s - h) / 2, Rank((1 + s - h) / 2, lnH - lnS));
    }

    /// <summary>Logistic regression over the three filters' evidence; its weights are fitted on out-of-fold scores
    /// of an inner cross-validation inside the training part only.</summary>
    private static (double, double)[] Combiner(IReadOnlyList<Sample> train, IReadOnlyList<Sample> test)
    {
        const int inner = 5;
        var x = new double[train.Count][];
        for (int k = 0; k < inner; k++)
        {
            var tr = train.Where((_, i) => i % inner != k).ToList();
            var te = train.Where((_, i) => i % inner == k).ToList();
            var ev = Evidence(tr, te);
            int j = 0;
            for (int i = k; i < train.Count; i += inner) x[i] = ev[j++];
        }
        var w = FitLogistic(x, train.Select(s => s.IsSpam).ToArray());
        return Evidence(train, test).Select(e =>
        {
            double z = w[^1];
            for (int i = 0; i < e.Length; i++) z += w[i] * e[i];
            double p = 1 / (1 + Math.Exp(-z));
            return (p, z);
        }).ToArray();
    }

    private static double Squash(double logOdds) => Math.Sign(logOdds) * Math.Log(1 + Math.Abs(logOdds));
    private static double Logit(double p) { p = Math.Clamp(p, 1e-9, 1 - 1e-9); return Math.Log(p / (1 - p)); }

    private static double[][] Evidence(IReadOnlyList<Sample> train, IReadOnlyList<Sample> test)
    {
        var db = TrainAssp(train, hmm: true);
        var enh = Enhanced(CurrentFeatures, new())(train, test);
        var result = new double[test.Count][];
        Parallel.For(0, test.Count, i =>
        {
            var b = Classifier.Bayes(db, test[i].Words, PrivateScope.None, 60).Combined;
            var h = Classifier.Hmm(db, test[i].Words, PrivateScope.None, 60).Combined;
            double enhLogOdds = (enh[i].Item2 - enh[i].Item1) * 1e9;
            result[i] = [Squash(b.Used == 0 ? 0 : b.LogOdds), Squash(h.Used == 0 ? 0 : h.LogOdds), Logit(enh[i].Item1), Squash(enhLogOdds)];
        });
        return result;
    }

    /// <summary>Plain logistic regression by gradient descent with a little L2 (4 inputs, a few thousand rows).</summary>
    private static double[] FitLogistic(double[][] x, bool[] y)
    {
        int d = x[0].Length;
        var mean = new double[d];
        var sd = new double[d];
        for (int j = 0; j < d; j++)
        {
            mean[j] = x.Average(r => r[j]);
            sd[j] = Math.Sqrt(x.Average(r => (r[j] - mean[j]) * (r[j] - mean[j]))) + 1e-9;
        }
        var w = new double[d + 1];
        for (int iter = 0; iter < 3000; iter++)
        {
            var g = new double[d + 1];
            for (int i = 0; i < x.Length; i++)
            {
                double z = w[d];
                for (int j = 0; j < d; j++) z += w[j] * (x[i][j] - mean[j]) / sd[j];
                double err = 1 / (1 + Math.Exp(-z)) - (y[i] ? 1 : 0);
                for (int j = 0; j < d; j++) g[j] += err * (x[i][j] - mean[j]) / sd[j];
                g[d] += err;
            }
            for (int j = 0; j <= d; j++) w[j] -= 0.5 * (g[j] / x.Length + (j < d ? 1e-3 * w[j] : 0));
        }
        // Back to the raw scale.
        var raw = new double[d + 1];
        raw[d] = w[d];
        for (int j = 0; j < d; j++) { raw[j] = w[j] / sd[j]; raw[d] -= w[j] * mean[j] / sd[j]; }
        return raw;
    }

    /// <param name="Margin">Training on errors: a message already scored beyond this margin on its own side is skipped.</param>
    /// <param name="MixEnhanced">Weight of mode 1's log-odds (divided by 10) added to the regression's log-odds.</param>
    /// <param name="MixFisher">Mode 1's Fisher I joined with the regression: 0 not; 1 logit(I) + MixEnhanced × z (I clamped
    /// to 1e-6..1-1e-6); 2 I first, the regression's z breaking ties (in place of mode 1's own log-odds).</param>
    internal sealed record LrParams(int Epochs = 5, double Rate = 0.2, double L2 = 0, bool Normalize = true,
        double Margin = double.PositiveInfinity, double MixEnhanced = 0, int MixFisher = 0);

    /// <summary>Logistic regression on the production features (each present feature is 1, or 1/√n with Normalize),
    /// trained by SGD over the training part in a shuffled but fixed order, the learning rate falling by epoch.</summary>
    internal static Scorer Logistic(LrParams p) => (train, test) =>
    {
        var trainSets = new HashSet<ulong>[train.Count];
        Parallel.For(0, train.Count, i => trainSets[i] = EnhancedFilter.Features(train[i].Message, train[i].Words));
        var index = new Dictionary<ulong, int>(1 << 18);
        var rows = new int[train.Count][];
        for (int i = 0; i < train.Count; i++)
        {
            var row = new int[trainSets[i].Count];
            int k = 0;
            foreach (var f in trainSets[i])
            {
                ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(index, f, out bool exists);
                if (!exists) slot = index.Count - 1;
                row[k++] = slot;
            }
            rows[i] = row;
        }
        var w = new double[index.Count];
        double bias = 0;
        var order = Enumerable.Range(0, train.Count).ToArray();
        var rng = new Random(20261122);
        for (int epoch = 0; epoch < p.Epochs; epoch++)
        {
            rng.Shuffle(order);
            double rate = p.Rate / (1 + epoch);
            foreach (int i in order)
            {
                var row = rows[i];
                double x = p.Normalize ? 1 / Math.Sqrt(Math.Max(1, row.Length)) : 1;
                double z = bias;
                foreach (int j in row) z += w[j];
                z = bias + (z - bias) * x;
                double y = train[i].IsSpam ? 1 : 0;
                if (train[i].IsSpam ? z > p.Margin : z < -p.Margin) continue;
                double g = 1 / (1 + Math.Exp(-z)) - y;
                foreach (int j in row) w[j] -= rate * (g * x + p.L2 * w[j]);
                bias -= rate * g;
            }
        }
        (ProbabilityTable Table, bool Built) enhanced = (ProbabilityTable.Empty, false);
        if (p.MixEnhanced > 0 || p.MixFisher > 0)
        {
            var trainer = new EnhancedFilter.Trainer();
            for (int i = 0; i < train.Count; i++) trainer.Add(trainSets[i], train[i].IsSpam, 1);
            enhanced = (ProbabilityTable.Build(trainer.Build().Select(kv => new KeyValuePair<ulong, float>(kv.Key, (float)kv.Value)).ToList()), true);
        }
        var result = new (double, double)[test.Count];
        Parallel.For(0, test.Count, i =>
        {
            var set = EnhancedFilter.Features(test[i].Message, test[i].Words);
            double sum = 0;
            int n = 0;
            foreach (var f in set)
                if (index.TryGetValue(f, out int j)) { sum += w[j]; n++; }
            double z = bias + sum * (p.Normalize ? 1 / Math.Sqrt(Math.Max(1, set.Count)) : 1);
            if (enhanced.Built && p.MixFisher > 0)
            {
                var c = EnhancedFilter.Classify(enhanced.Table, set);
                double fisher = Uncalibrate(c.Probability);
                double rank = p.MixFisher == 1
                    ? Math.Log(Math.Clamp(fisher, 1e-6, 1 - 1e-6) / (1 - Math.Clamp(fisher, 1e-6, 1 - 1e-6))) + p.MixEnhanced * z
                    : EnhancedFilter.Score(Math.Round(fisher, 6), z * 10);
                result[i] = (p.MixFisher == 1 ? 1 / (1 + Math.Exp(-rank)) : EnhancedFilter.Calibrate(rank), rank);
                return;
            }
            if (enhanced.Built) z += p.MixEnhanced * Math.Clamp(EnhancedFilter.Classify(enhanced.Table, set).LogOdds, -500, 500) / 10;
            result[i] = (1 / (1 + Math.Exp(-z)), z);
        });
        return result;
    };

    /// <summary>Mode 1's score (Fisher's I plus its tiny log-odds share) back from its calibrated probability.</summary>
    private static double Uncalibrate(double p) => p <= 0.6
        ? p * EnhancedFilter.CalibrationPoint / 0.6
        : EnhancedFilter.CalibrationPoint + (p - 0.6) * (1 + 5e-6 - EnhancedFilter.CalibrationPoint) / 0.4;

    /// <summary>ln P(χ² ≥ x) for even degrees, summed in log space.</summary>
    internal static double LnChiSquareTail(double x, int degrees)
    {
        double m = x / 2, lnTerm = -m, max = lnTerm;
        var terms = new double[degrees / 2];
        terms[0] = lnTerm;
        for (int i = 1; i < degrees / 2; i++) { lnTerm += Math.Log(m / i); terms[i] = lnTerm; if (lnTerm > max) max = lnTerm; }
        double sum = 0;
        foreach (var t in terms) sum += Math.Exp(t - max);
        return Math.Min(0, max + Math.Log(sum));
    }

    /// <summary>The features mode 1 had before (words, pairs, header words), for the log.</summary>
    internal static HashSet<ulong> PreviousFeatures(MimeMessage m, List<string> w)
    {
        var set = new HashSet<ulong>(w.Count * 2 + 64);
        for (int i = 0; i < w.Count; i++)
        {
            set.Add(TokenHash.Finish(TokenHash.Append(TokenHash.Append(TokenHash.Seed, 'w'), w[i])));
            if (i > 0) set.Add(Classifier.PairHash(TokenHash.Seed, w[i - 1], w[i]));
        }
        var headerWords = new List<string>();
        foreach (var h in m.Headers)
        {
            string name = h.Name.ToLowerInvariant();
            set.Add(TokenHash.Of("h:" + name));
            if (!PreviousHeaders.Contains(name)) continue;
            var value = h.UnfoldedValue;
            if (value.Length > 300) value = value[..300];
            headerWords.Clear();
            Tokenizer.Words(value, headerWords);
            ulong seed = TokenHash.Append(TokenHash.Append(TokenHash.Seed, name), ':');
            foreach (var x in headerWords) set.Add(TokenHash.Finish(TokenHash.Append(seed, x)));
        }
        return set;
    }

    private static readonly HashSet<string> PreviousHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "from", "to", "cc", "reply-to", "return-path", "sender", "received", "message-id", "x-mailer", "user-agent",
        "content-type", "content-transfer-encoding", "mime-version", "x-priority", "x-msmail-priority", "precedence",
        "list-id", "list-unsubscribe", "organization", "errors-to", "x-originating-ip", "importance", "x-mimeole",
    };

    internal static HashSet<ulong> WordsOnly(MimeMessage m, List<string> w)
    {
        var set = PreviousFeatures(m, []);
        foreach (var x in w) set.Add(TokenHash.Finish(TokenHash.Append(TokenHash.Append(TokenHash.Seed, 'w'), x)));
        return set;
    }

    internal static HashSet<ulong> CurrentFeatures(MimeMessage m, List<string> w) => PreviousFeatures(m, w);

    [Flags]
    internal enum Extra
    {
        None = 0,
        Mime = 1,         // content types, charsets, transfer encodings, attachment extensions of every part
        Subject = 2,      // subject words (own prefix, case kept), subject shape (capitals, !, length)
        FromName = 4,     // From display-name words, From/Reply-To domains
        Domains = 8,      // registrable-looking suffixes of host words in the text
        HeaderCase = 16,  // header names as written (case kept) and their order pairs
        Shape = 32,       // message shape: header count, text size, number of parts, words, bucketed
        Unicase = 64,     // words in capitals kept as their own feature
        Cjk = 128,        // pairs of letters in scripts written without spaces (CJK, Thai), which make no words
        All = Mime | Subject | FromName | Domains | HeaderCase | Shape | Unicase,
    }

    private static ulong H(string prefix, string value) => TokenHash.Finish(TokenHash.Append(TokenHash.Append(TokenHash.Seed, prefix), value));

    private static int Bucket(int n) => n <= 0 ? 0 : (int)Math.Log2(n) + 1;

    internal static HashSet<ulong> RichFeatures(MimeMessage m, List<string> words, Extra extra)
    {
        var set = PreviousFeatures(m, words);
        if ((extra & Extra.Mime) != 0)
        {
            int parts = 0;
            foreach (var e in m.Entities)
            {
                parts++;
                set.Add(H("ct:", e.MimeType));
                if (e.ContentType.Charset is { } cs) set.Add(H("cs:", cs.ToLowerInvariant()));
                set.Add(H("cte:", e.ContentTransferEncoding.ToString()));
                if (e.FileName is { } fn)
                {
                    int dot = fn.LastIndexOf('.');
                    set.Add(H("att:", dot >= 0 ? fn[(dot + 1)..].ToLowerInvariant() : "(none)"));
                }
            }
            set.Add(H("parts:", Bucket(parts).ToString()));
        }
        if ((extra & Extra.Subject) != 0)
        {
            var subject = m.Subject ?? "";
            int caps = 0, letters = 0, bangs = 0;
            foreach (char c in subject)
            {
                if (char.IsLetter(c)) { letters++; if (char.IsUpper(c)) caps++; }
                if (c == '!' || c == '$') bangs++;
            }
            set.Add(H("subj-len:", Bucket(subject.Length).ToString()));
            set.Add(H("subj-caps:", letters == 0 ? "none" : (caps * 4 / letters).ToString()));
            set.Add(H("subj-bang:", Math.Min(bangs, 3).ToString()));
            foreach (var w in subject.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)) set.Add(H("subj:", w.Length > 30 ? w[..30] : w));
        }
        if ((extra & Extra.FromName) != 0)
        {
            foreach (var a in m.From)
            {
                if (a.DisplayName is { Length: > 0 } name)
                    foreach (var w in name.Split([' ', '\t', '"', ','], StringSplitOptions.RemoveEmptyEntries)) set.Add(H("fromname:", w.ToLowerInvariant()));
                else set.Add(H("fromname:", "(none)"));
                var addr = a.Address.ToLowerInvariant();
                int at = addr.IndexOf('@');
                if (at >= 0) { set.Add(H("fromdom:", addr[(at + 1)..])); set.Add(H("fromuser-len:", Bucket(at).ToString())); }
            }
            foreach (var a in m.ReplyTo)
            {
                var addr = a.Address.ToLowerInvariant();
                int at = addr.IndexOf('@');
                if (at >= 0) set.Add(H("replydom:", addr[(at + 1)..]));
            }
        }
        if ((extra & Extra.Domains) != 0)
        {
            foreach (var w in words)
            {
                int dot = w.LastIndexOf('.');
                if (dot <= 0 || dot == w.Length - 1) continue;
                set.Add(H("tld:", w[(dot + 1)..]));
                int dot2 = w.LastIndexOf('.', dot - 1);
                set.Add(H("dom:", dot2 >= 0 ? w[(dot2 + 1)..] : w));
            }
        }
        if ((extra & Extra.HeaderCase) != 0)
        {
            string? prev = null;
            foreach (var h in m.Headers)
            {
                set.Add(H("hn:", h.Name));
                if (prev is not null) set.Add(H("hn2:", prev + ">" + h.Name.ToLowerInvariant()));
                prev = h.Name.ToLowerInvariant();
            }
        }
        if ((extra & Extra.Shape) != 0)
        {
            set.Add(H("hdrs:", Bucket(m.Headers.Count).ToString()));
            set.Add(H("words:", Bucket(words.Count).ToString()));
            set.Add(H("size:", Bucket(m.Source.Length / 256).ToString()));
        }
        if ((extra & Extra.Cjk) != 0)
        {
            foreach (var w in words)
                for (int i = 1; i < w.Length; i++)
                    if (w[i] >= 0x2e80 && w[i - 1] >= 0x2e80) set.Add(H("cjk:", w.Substring(i - 1, 2)));
        }
        if ((extra & Extra.Unicase) != 0)
        {
            foreach (var p in m.TextParts)
            {
                string? text;
                try { text = p.GetText(); } catch (Exception e) when (e is System.Text.DecoderFallbackException or ArgumentException) { continue; }
                if (text is null) continue;
                if (text.Length > 8000) text = text[..8000];
                int i = 0;
                while (i < text.Length)
                {
                    while (i < text.Length && !char.IsLetter(text[i])) i++;
                    int start = i;
                    bool allCaps = true;
                    while (i < text.Length && char.IsLetter(text[i])) { if (!char.IsUpper(text[i])) allCaps = false; i++; }
                    if (allCaps && i - start >= 3) set.Add(H("CAPS:", text[start..Math.Min(i, start + 30)]));
                }
            }
        }
        return set;
    }
}
