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

    // Hash states of the tags, computed once: a tagged feature continues from its tag's state.
    private static readonly ulong WordSeed = TokenHash.Append(TokenHash.Seed, 'w');
    private static readonly ulong HeaderNameSeed = TokenHash.Append(TokenHash.Seed, "h:");
    private static readonly ulong TypeSeed = TokenHash.Append(TokenHash.Seed, "ct:"), CharsetSeed = TokenHash.Append(TokenHash.Seed, "cs:"),
        EncodingSeed = TokenHash.Append(TokenHash.Seed, "cte:"), AttachmentSeed = TokenHash.Append(TokenHash.Seed, "att:"),
        PartsSeed = TokenHash.Append(TokenHash.Seed, "parts:"), FromNameSeed = TokenHash.Append(TokenHash.Seed, "fromname:"),
        FromDomainSeed = TokenHash.Append(TokenHash.Seed, "fromdom:"), FromUserLengthSeed = TokenHash.Append(TokenHash.Seed, "fromuser-len:"),
        ReplyDomainSeed = TokenHash.Append(TokenHash.Seed, "replydom:"), TldSeed = TokenHash.Append(TokenHash.Seed, "tld:"),
        DomainSeed = TokenHash.Append(TokenHash.Seed, "dom:");

    /// <summary>The features of a message (hashed, each once): its words and word pairs, its header words, its MIME
    /// structure, its From name and domains and the domains in its text.</summary>
    /// <remarks>Every key is the FNV hash of a tagged string ("w" + word, "prev cur", "from:" + header word,
    /// "ct:text/html", ...); the strings themselves are never built (this runs on every message).</remarks>
    public static HashSet<ulong> Features(MimeMessage message, IReadOnlyList<string> words)
    {
        var set = new HashSet<ulong>(words.Count * 2 + 64);
        AddWordFeatures(words, set);
        AddHeaderFeatures(message, set);
        AddMimeFeatures(message, set);
        AddSenderFeatures(message, set);
        AddDomainFeatures(words, set);
        return set;
    }

    /// <summary>"w" + every word and every "prev cur" pair: one pass over each word's characters feeds three hash
    /// states (the word alone, to continue the next pair from; the tagged word; the pair ending here).</summary>
    private static void AddWordFeatures(IReadOnlyList<string> words, HashSet<ulong> set)
    {
        const ulong prime = 1099511628211UL;
        ulong previous = 0;
        for (int i = 0; i < words.Count; i++)
        {
            string word = words[i];
            ulong plain = TokenHash.Seed, tagged = WordSeed;
            if (i == 0)
            {
                foreach (char c in word)
                {
                    plain = ((plain ^ (byte)c) * prime ^ (byte)(c >> 8)) * prime;
                    tagged = ((tagged ^ (byte)c) * prime ^ (byte)(c >> 8)) * prime;
                }
            }
            else
            {
                ulong pair = TokenHash.Append(previous, ' ');
                foreach (char c in word)
                {
                    plain = ((plain ^ (byte)c) * prime ^ (byte)(c >> 8)) * prime;
                    tagged = ((tagged ^ (byte)c) * prime ^ (byte)(c >> 8)) * prime;
                    pair = ((pair ^ (byte)c) * prime ^ (byte)(c >> 8)) * prime;
                }
                set.Add(TokenHash.Finish(tagged));
                set.Add(TokenHash.Finish(pair));
                previous = plain;
                continue;
            }
            set.Add(TokenHash.Finish(tagged));
            previous = plain;
        }
    }

    /// <summary>Every header's name ("h:" + lower-cased name) and the words of the informative ones (name + ":" + word;
    /// the first 300 characters of the value).</summary>
    private static void AddHeaderFeatures(MimeMessage message, HashSet<ulong> set)
    {
        foreach (var h in message.Headers)
        {
            string name = h.Name;
            set.Add(TokenHash.Finish(AppendLower(HeaderNameSeed, name)));
            if (!InformativeHeaders.Contains(name)) continue;
            var value = h.UnfoldedValue.AsSpan();
            if (value.Length > 300) value = value[..300];
            Tokenizer.AddWordHashes(value, TokenHash.Append(AppendLower(TokenHash.Seed, name), ':'), set);
        }
    }

    /// <summary>Continues the hash with the text lower-cased as <see cref="string.ToLowerInvariant()"/> would.</summary>
    private static ulong AppendLower(ulong hash, ReadOnlySpan<char> text)
    {
        if (!System.Text.Ascii.IsValid(text)) return TokenHash.Append(hash, text.ToString().ToLowerInvariant());
        foreach (char c in text) hash = TokenHash.Append(hash, c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c);
        return hash;
    }

    private static ulong Tagged(ulong tagSeed, ReadOnlySpan<char> value) => TokenHash.Finish(TokenHash.Append(tagSeed, value));

    private static ulong TaggedLower(ulong tagSeed, ReadOnlySpan<char> value) => TokenHash.Finish(AppendLower(tagSeed, value));

    private static ulong TaggedNumber(ulong tagSeed, int n)
    {
        Span<char> digits = stackalloc char[11];
        n.TryFormat(digits, out int length, default, System.Globalization.CultureInfo.InvariantCulture);
        return Tagged(tagSeed, digits[..length]);
    }

    /// <summary>Rounded log2 of a count, so that sizes fall into a few buckets.</summary>
    private static int Bucket(int n) => n <= 0 ? 0 : (int)Math.Log2(n) + 1;

    /// <summary>Every part's type, charset and transfer encoding, attachment extensions, the number of parts.</summary>
    private static void AddMimeFeatures(MimeMessage message, HashSet<ulong> set)
    {
        int parts = 0;
        foreach (var part in message.Entities)
        {
            parts++;
            set.Add(Tagged(TypeSeed, part.MimeType));
            if (part.ContentType.Charset is { } charset) set.Add(TaggedLower(CharsetSeed, charset));
            set.Add(Tagged(EncodingSeed, part.ContentTransferEncoding.ToString()));
            if (part.FileName is { } file)
            {
                int dot = file.LastIndexOf('.');
                set.Add(dot >= 0 ? TaggedLower(AttachmentSeed, file.AsSpan(dot + 1)) : Tagged(AttachmentSeed, "(none)"));
            }
        }
        set.Add(TaggedNumber(PartsSeed, Bucket(parts)));
    }

    /// <summary>The words of the From display name (or its absence), the From and Reply-To domains, the length of the
    /// From local part.</summary>
    private static void AddSenderFeatures(MimeMessage message, HashSet<ulong> set)
    {
        foreach (var from in message.From)
        {
            if (from.DisplayName is { Length: > 0 } name)
            {
                foreach (var range in name.AsSpan().SplitAny(NameSeparators))
                    if (range.End.Value > range.Start.Value) set.Add(TaggedLower(FromNameSeed, name.AsSpan()[range]));
            }
            else set.Add(Tagged(FromNameSeed, "(none)"));
            var address = from.Address.AsSpan();
            int at = address.IndexOf('@');
            if (at < 0) continue;
            set.Add(TaggedLower(FromDomainSeed, address[(at + 1)..]));
            set.Add(TaggedNumber(FromUserLengthSeed, Bucket(at)));   // lower-casing maps char to char: '@' stays where it is
        }
        foreach (var reply in message.ReplyTo)
        {
            var address = reply.Address.AsSpan();
            int at = address.IndexOf('@');
            if (at >= 0) set.Add(TaggedLower(ReplyDomainSeed, address[(at + 1)..]));
        }
    }

    private static readonly System.Buffers.SearchValues<char> NameSeparators = System.Buffers.SearchValues.Create(" \t\",");

    /// <summary>For every dotted word of the text (link hosts among them): its last label and its last two labels.</summary>
    private static void AddDomainFeatures(IReadOnlyList<string> words, HashSet<ulong> set)
    {
        foreach (var w in words)
        {
            int dot = w.LastIndexOf('.');
            if (dot <= 0 || dot == w.Length - 1) continue;
            set.Add(Tagged(TldSeed, w.AsSpan(dot + 1)));
            int dot2 = w.LastIndexOf('.', dot - 1);
            set.Add(Tagged(DomainSeed, dot2 >= 0 ? w.AsSpan(dot2 + 1) : w));
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
    public static Combined Classify(ProbabilityTable table, HashSet<ulong> features) => Classify(table, features, out _);

    /// <summary>As <see cref="Classify(ProbabilityTable, HashSet{ulong})"/>, also giving the uncalibrated <see cref="Score"/>.</summary>
    public static Combined Classify(ProbabilityTable table, HashSet<ulong> features, out double score)
    {
        score = 0.5;
        // The telling features' probabilities, with their distance from 0.5 negated as sort keys (most telling first).
        var pool = System.Buffers.ArrayPool<double>.Shared;
        double[] values = pool.Rent(features.Count), keys = pool.Rent(features.Count);
        try
        {
            int n = 0;
            foreach (var f in features)
            {
                float p = table.Get(f);
                double deviation = Math.Abs(p - 0.5);
                if (p > 0 && deviation >= MinDeviation)
                {
                    values[n] = p;
                    keys[n++] = -deviation;
                }
            }
            if (n == 0) return new Combined(0.5, 0, 0);
            if (n > MaxFeatures)
            {
                Array.Sort(keys, values, 0, n);
                n = MaxFeatures;
            }
            double lnSpam = 0, lnHam = 0;
            for (int k = 0; k < n; k++)
            {
                lnSpam += Math.Log(1 - values[k]);
                lnHam += Math.Log(values[k]);
            }
            double s = 1 - ChiSquareTail(-2 * lnSpam, 2 * n);
            double h = 1 - ChiSquareTail(-2 * lnHam, 2 * n);
            double i = (1 + s - h) / 2;
            score = Score(i, lnHam - lnSpam);
            return new Combined(Calibrate(score), Math.Abs(s - h), n, lnHam - lnSpam);
        }
        finally
        {
            pool.Return(values);
            pool.Return(keys);
        }
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
