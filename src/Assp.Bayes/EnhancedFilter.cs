using System.Runtime.InteropServices;
using Assp.Mime;

namespace Assp.Bayes;

/// <summary>
/// The statistical filter's alternative algorithm (not ASSP's; chosen by the BayesAlgorithm option), for sites
/// that want fewer false positives than ASSP's word-pair formula gives: every message is a set of features —
/// ASSP's words and word pairs plus words of the informative header fields — each counted once per message.
/// A feature's spam probability is Robinson's smoothed estimate from the share of spam and ham messages that contain
/// it, and a message's probability is Fisher's chi-square combination of its most telling features (as SpamBayes).
/// </summary>
public static class EnhancedFilter
{
    /// <summary>Robinson's strength of the prior (s) and the prior itself (x).</summary>
    public const double Strength = 0.45, Prior = 0.5;
    /// <summary>Features closer to 0.5 than this are ignored when classifying.</summary>
    public const double MinDeviation = 0.1;
    /// <summary>At most this many features (the farthest from 0.5) are combined.</summary>
    public const int MaxFeatures = 150;

    private static readonly HashSet<string> InformativeHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "from", "to", "cc", "reply-to", "return-path", "sender", "received", "message-id", "x-mailer", "user-agent",
        "content-type", "content-transfer-encoding", "mime-version", "x-priority", "x-msmail-priority", "precedence",
        "list-id", "list-unsubscribe", "organization", "errors-to", "x-originating-ip", "importance", "x-mimeole",
    };

    /// <summary>The features of a message: its words and word pairs and its header words (hashed, each once).</summary>
    public static HashSet<ulong> Features(MimeMessage message, IReadOnlyList<string> words)
    {
        var set = new HashSet<ulong>(words.Count * 2 + 64);
        for (int i = 0; i < words.Count; i++)
        {
            set.Add(TokenHash.Finish(TokenHash.Append(TokenHash.Append(TokenHash.Seed, 'w'), words[i])));
            if (i > 0) set.Add(Classifier.PairHash(TokenHash.Seed, words[i - 1], words[i]));
        }
        var headerWords = new List<string>();
        foreach (var h in message.Headers)
        {
            string name = h.Name.ToLowerInvariant();
            set.Add(TokenHash.Of("h:" + name));
            if (!InformativeHeaders.Contains(name)) continue;
            var value = h.UnfoldedValue;
            if (value.Length > 300) value = value[..300];
            headerWords.Clear();
            Tokenizer.Words(value, headerWords);
            ulong seed = TokenHash.Append(TokenHash.Append(TokenHash.Seed, name), ':');
            foreach (var w in headerWords) set.Add(TokenHash.Finish(TokenHash.Append(seed, w)));
        }
        return set;
    }

    /// <summary>Feature counts over the corpus: in how many (weighted) spam and ham messages each feature occurs.</summary>
    public sealed class Trainer
    {
        private struct Counts { public float Spam, Ham; }
        private readonly Dictionary<ulong, Counts> _counts = new(1 << 18);
        public double SpamMessages { get; private set; }
        public double HamMessages { get; private set; }

        public void Add(HashSet<ulong> features, bool isSpam, double factor)
        {
            if (isSpam) SpamMessages += factor; else HamMessages += factor;
            foreach (var f in features)
            {
                ref var c = ref CollectionsMarshal.GetValueRefOrAddDefault(_counts, f, out _);
                if (isSpam) c.Spam += (float)factor; else c.Ham += (float)factor;
            }
        }

        /// <summary>Every feature's smoothed probability; features that say nothing (within 0.1 of 0.5) are left out.</summary>
        public Dictionary<ulong, double> Build()
        {
            var result = new Dictionary<ulong, double>(_counts.Count / 2);
            double ns = Math.Max(SpamMessages, 1), nh = Math.Max(HamMessages, 1);
            foreach (var (key, c) in _counts)
            {
                double spamRatio = c.Spam / ns, hamRatio = c.Ham / nh;
                double p = spamRatio / (spamRatio + hamRatio);
                double n = c.Spam + c.Ham;
                double f = (Strength * Prior + n * p) / (Strength + n);
                if (Math.Abs(f - 0.5) >= MinDeviation) result[key] = f;
            }
            return result;
        }
    }

    /// <summary>Fisher's combination: I = (1 + H − S) / 2 with H and S the chi-square tail probabilities of the
    /// ham and spam evidence. LogOdds carries Σ ln(f/(1−f)) to rank messages beyond the saturation of I.</summary>
    public static Combined Classify(ProbabilityTable table, HashSet<ulong> features)
    {
        var values = new List<double>(256);
        foreach (var f in features)
            if (table.Get(f) is var p and > 0 && Math.Abs(p - 0.5) >= MinDeviation) values.Add(p);
        if (values.Count == 0) return new Combined(0.5, 0, 0);
        if (values.Count > MaxFeatures)
        {
            values.Sort(static (a, b) => Math.Abs(b - 0.5).CompareTo(Math.Abs(a - 0.5)));
            values.RemoveRange(MaxFeatures, values.Count - MaxFeatures);
        }
        double lnSpam = 0, lnHam = 0;
        foreach (var p in values)
        {
            lnSpam += Math.Log(1 - p);
            lnHam += Math.Log(p);
        }
        int n = values.Count;
        double s = 1 - ChiSquareTail(-2 * lnSpam, 2 * n);
        double h = 1 - ChiSquareTail(-2 * lnHam, 2 * n);
        double i = (1 + s - h) / 2;
        return new Combined(i, Math.Abs(s - h), n, lnHam - lnSpam);
    }

    /// <summary>P(χ² ≥ x) for an even number of degrees of freedom (closed form, as SpamBayes' chi2Q).</summary>
    internal static double ChiSquareTail(double x, int degrees)
    {
        double m = x / 2, sum = Math.Exp(-m), term = sum;
        for (int i = 1; i < degrees / 2; i++)
        {
            term *= m / i;
            sum += term;
        }
        return Math.Min(sum, 1);
    }
}
