using System.Runtime.InteropServices;
using Assp.Mime;

namespace Assp.Bayes;

/// <summary>
/// The statistical filter's alternative algorithm (not ASSP's; chosen by the BayesAlgorithm option), for sites
/// that want fewer false positives than ASSP's word-pair formula gives: every message is a set of features —
/// ASSP's words and word pairs, words of the informative header fields, the MIME structure (types, charsets,
/// encodings, attachment extensions), the From display name and domains, and the domains named in the text — each
/// counted once per message. A feature's spam probability is Robinson's smoothed estimate from the share of spam
/// and ham messages that contain it, and a message's score is Fisher's chi-square combination of its most telling
/// features (as SpamBayes), turned into a probability calibrated so that the default baysProbability (0.6) sits
/// where cross-validation on the training corpus flagged at most 0.25 % of ham.
/// </summary>
public static class EnhancedFilter
{
    /// <summary>Robinson's strength of the prior (s) and the prior itself (x). 0.2 was chosen by 5-fold
    /// cross-validation inside the benchmark's training split (bench/README.md; SpamBayes' own default is 0.45).</summary>
    public const double Strength = 0.2, Prior = 0.5;
    /// <summary>What the features are; a stored feature table of another version is not used (rebuild needed).</summary>
    public const string FeatureVersion = "2";
    /// <summary>The score (<see cref="Score"/>) that is given the probability 0.6: in the cross-validation above,
    /// 0.25 % of ham scored higher.</summary>
    public const double CalibrationPoint = 0.5008560;
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

    /// <summary>The features of a message (hashed, each once): its words and word pairs, its header words, its MIME
    /// structure, its From name and domains and the domains in its text.</summary>
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
        AddMimeFeatures(message, set);
        AddSenderFeatures(message, set);
        AddDomainFeatures(words, set);
        return set;
    }

    private static ulong Tagged(string tag, string value) => TokenHash.Finish(TokenHash.Append(TokenHash.Append(TokenHash.Seed, tag), value));

    /// <summary>Rounded log2 of a count, so that sizes fall into a few buckets.</summary>
    private static int Bucket(int n) => n <= 0 ? 0 : (int)Math.Log2(n) + 1;

    /// <summary>Every part's type, charset and transfer encoding, attachment extensions, the number of parts.</summary>
    private static void AddMimeFeatures(MimeMessage message, HashSet<ulong> set)
    {
        int parts = 0;
        foreach (var part in message.Entities)
        {
            parts++;
            set.Add(Tagged("ct:", part.MimeType));
            if (part.ContentType.Charset is { } charset) set.Add(Tagged("cs:", charset.ToLowerInvariant()));
            set.Add(Tagged("cte:", part.ContentTransferEncoding.ToString()));
            if (part.FileName is { } file)
            {
                int dot = file.LastIndexOf('.');
                set.Add(Tagged("att:", dot >= 0 ? file[(dot + 1)..].ToLowerInvariant() : "(none)"));
            }
        }
        set.Add(Tagged("parts:", Bucket(parts).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>The words of the From display name (or its absence), the From and Reply-To domains, the length of the
    /// From local part.</summary>
    private static void AddSenderFeatures(MimeMessage message, HashSet<ulong> set)
    {
        foreach (var from in message.From)
        {
            if (from.DisplayName is { Length: > 0 } name)
                foreach (var w in name.Split(NameSeparators, StringSplitOptions.RemoveEmptyEntries)) set.Add(Tagged("fromname:", w.ToLowerInvariant()));
            else set.Add(Tagged("fromname:", "(none)"));
            var address = from.Address.ToLowerInvariant();
            int at = address.IndexOf('@');
            if (at < 0) continue;
            set.Add(Tagged("fromdom:", address[(at + 1)..]));
            set.Add(Tagged("fromuser-len:", Bucket(at).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        foreach (var reply in message.ReplyTo)
        {
            var address = reply.Address.ToLowerInvariant();
            int at = address.IndexOf('@');
            if (at >= 0) set.Add(Tagged("replydom:", address[(at + 1)..]));
        }
    }

    private static readonly char[] NameSeparators = [' ', '\t', '"', ','];

    /// <summary>For every dotted word of the text (link hosts among them): its last label and its last two labels.</summary>
    private static void AddDomainFeatures(IReadOnlyList<string> words, HashSet<ulong> set)
    {
        foreach (var w in words)
        {
            int dot = w.LastIndexOf('.');
            if (dot <= 0 || dot == w.Length - 1) continue;
            set.Add(Tagged("tld:", w[(dot + 1)..]));
            int dot2 = w.LastIndexOf('.', dot - 1);
            set.Add(Tagged("dom:", dot2 >= 0 ? w[(dot2 + 1)..] : w));
        }
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

    /// <summary>
    /// Fisher's combination I = (1 + S − H) / 2 (S and H from the chi-square tails of the spam and ham evidence),
    /// calibrated (<see cref="Calibrate"/>) into the probability; LogOdds carries Σ ln(f/(1−f)).
    /// </summary>
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
        return new Combined(Calibrate(Score(i, lnHam - lnSpam)), Math.Abs(s - h), n, lnHam - lnSpam);
    }

    /// <summary>
    /// The order of messages: Fisher's I, whose tails both reach 1 for a message with strong evidence on both sides
    /// (I is then exactly 0.5); there, and wherever I ties, the log-odds decide (a tiny share added to I).
    /// </summary>
    public static double Score(double fisher, double logOdds) => fisher + 1e-9 * Math.Clamp(logOdds, -5000, 5000);

    /// <summary>The probability of a score: straight lines through (0, 0), (<see cref="CalibrationPoint"/>, 0.6)
    /// and (1, 1), so the default threshold 0.6 flags what the cross-validation chose.</summary>
    public static double Calibrate(double score)
    {
        const double top = 1 + 5e-6;   // the highest score Score can give
        double p = score <= CalibrationPoint
            ? 0.6 * score / CalibrationPoint
            : 0.6 + 0.4 * (score - CalibrationPoint) / (top - CalibrationPoint);
        return Math.Clamp(p, 0, 1);
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
