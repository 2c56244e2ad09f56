namespace Assp.Bayes;

/// <summary>
/// One built generation of both filters' data, held in memory and never changed: the Bayesian word-pair table
/// (spamdb), the HMM chain table (HMMdb), the corpus norm (spam weight / ham weight) and the generation number the
/// rebuild stamped it with. A rebuild makes a new instance and swaps it in (<see cref="SpamDbProvider"/>).
/// </summary>
public sealed class SpamDatabase(ProbabilityTable bayes, ProbabilityTable hmm, double norm, long generation, ProbabilityTable? features = null,
    FeatureRegression.Model? regression = null)
{
    public static readonly SpamDatabase Empty = new(ProbabilityTable.Empty, ProbabilityTable.Empty, 1, 0);

    public ProbabilityTable Bayes { get; } = bayes;
    public ProbabilityTable Hmm { get; } = hmm;
    /// <summary>The feature table of <see cref="EnhancedFilter"/> (BayesAlgorithm 1); empty when not built.</summary>
    public ProbabilityTable Features { get; } = features ?? ProbabilityTable.Empty;
    /// <summary>The regression weights of <see cref="FeatureRegression"/> (BayesAlgorithm 2); empty when not built.</summary>
    public FeatureRegression.Model Regression { get; } = regression ?? FeatureRegression.Model.Empty;
    public double Norm { get; } = norm;
    public long Generation { get; } = generation;
    public bool HasBayes => Bayes.Count > 0;
    public bool HasHmm => Hmm.Count > 0;
    public long MemoryBytes => Bayes.MemoryBytes + Hmm.MemoryBytes + Features.MemoryBytes + Regression.Weights.MemoryBytes;
}

/// <summary>One token that counted for a verdict (for the analyzer): the word pair or HMM sequence and its value.</summary>
public sealed record TokenScore(string Token, double Probability);

/// <summary>A filter's verdict: the combination, how many database values were found, and (when asked) the tokens
/// sorted by significance.</summary>
public sealed record FilterResult(Combined Combined, int Results, IReadOnlyList<TokenScore> Tokens)
{
    public double Probability => Combined.Probability;
    public double Confidence => Combined.Confidence;
}

/// <summary>Who a message is for, for the private entries (ASSP's DoPrivatSpamdb): a local user and/or "@domain".</summary>
public readonly record struct PrivateScope(string? User, string? Domain)
{
    public static readonly PrivateScope None = default;

    /// <summary>The scope of a recipient by DoPrivatSpamdb (1 users, 2 domains, 3 both).</summary>
    public static PrivateScope For(string? recipient, int doPrivatSpamdb)
    {
        if (string.IsNullOrEmpty(recipient) || doPrivatSpamdb == 0) return None;
        var r = recipient.ToLowerInvariant();
        int at = r.IndexOf('@');
        return new PrivateScope((doPrivatSpamdb & 1) != 0 ? r : null, doPrivatSpamdb > 1 && at >= 0 ? r[at..] : null);
    }
}

/// <summary>The classifiers: ASSP's Bayesian check (word pairs) and HMM check (five-word chains) over a database.</summary>
public static class Classifier
{
    /// <summary>How much a private entry outweighs a global one (ASSP's BayesPrivatPrior / BayesDomainPrior).</summary>
    public const int PrivatePrior = 3, DomainPrior = 2;

    public const char HmmSeparator = '\u001c';

    /// <summary>
    /// The Bayesian check: each pair of consecutive words (its first two occurrences) looks up the private user
    /// entry, then the private domain entry, then the global one; private values count several times.
    /// </summary>
    public static FilterResult Bayes(SpamDatabase db, IReadOnlyList<string> words, PrivateScope scope, int maxValues, bool explain = false)
    {
        var values = new List<double>(256);
        var tokens = explain ? new List<TokenScore>() : null;
        var seen = new Dictionary<ulong, int>(Math.Min(words.Count, 4096));
        ulong userSeed = scope.User is { } u ? TokenHash.Append(TokenHash.Append(TokenHash.Seed, u), ' ') : 0;
        ulong domainSeed = scope.Domain is { } d ? TokenHash.Append(TokenHash.Append(TokenHash.Seed, d), ' ') : 0;
        var table = db.Bayes;
        int results = 0;
        for (int i = 1; i < words.Count; i++)
        {
            string prev = words[i - 1], cur = words[i];
            ulong global = PairHash(TokenHash.Seed, prev, cur);
            ref int count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(seen, global, out _);
            if (++count > 2) continue;
            if (scope.User is not null && table.Get(PairHash(userSeed, prev, cur)) is var pu and > 0)
            {
                for (int n = 0; n < PrivatePrior; n++) values.Add(pu);
                tokens?.Add(new TokenScore("private: " + prev + " " + cur, pu));
                results++;
                continue;
            }
            if (scope.Domain is not null && table.Get(PairHash(domainSeed, prev, cur)) is var pd and > 0)
            {
                for (int n = 0; n < DomainPrior; n++) values.Add(pd);
                tokens?.Add(new TokenScore("domain: " + prev + " " + cur, pd));
                results++;
                continue;
            }
            if (table.Get(global) is var p and > 0)
            {
                values.Add(p);
                tokens?.Add(new TokenScore(prev + " " + cur, p));
                results++;
            }
        }
        var combined = BayesMath.Combine(values, maxValues, db.Norm);
        return new FilterResult(combined, results, Sorted(tokens));
    }

    /// <summary>
    /// The HMM check: every window of <see cref="Tokenizer.HmmSequenceLength"/> + 1 words (its first two
    /// occurrences) looks up the private user, private domain and global chain.
    /// </summary>
    public static FilterResult Hmm(SpamDatabase db, IReadOnlyList<string> words, PrivateScope scope, int maxValues, bool explain = false)
    {
        const int window = Tokenizer.HmmSequenceLength + 1;
        var values = new List<double>(256);
        var tokens = explain ? new List<TokenScore>() : null;
        var seen = new Dictionary<ulong, int>(Math.Min(words.Count, 4096));
        var table = db.Hmm;
        ulong userSeed = scope.User is { } u ? TokenHash.Append(TokenHash.Append(TokenHash.Seed, u), HmmSeparator) : 0;
        ulong domainSeed = scope.Domain is { } d ? TokenHash.Append(TokenHash.Append(TokenHash.Seed, d), HmmSeparator) : 0;
        int results = 0;
        for (int end = window; end <= words.Count; end++)
        {
            ulong global = ChainHash(TokenHash.Seed, words, end - window, window);
            ref int count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(seen, global, out _);
            if (++count > 2) continue;
            if (scope.User is not null && table.Get(ChainHash(userSeed, words, end - window, window)) is var pu and > 0)
            {
                for (int n = 0; n < PrivatePrior; n++) { values.Add(pu); results++; }
                tokens?.Add(new TokenScore("private: " + Join(words, end - window, window), pu));
                continue;
            }
            if (scope.Domain is not null && table.Get(ChainHash(domainSeed, words, end - window, window)) is var pd and > 0)
            {
                for (int n = 0; n < DomainPrior; n++) { values.Add(pd); results++; }
                tokens?.Add(new TokenScore("domain: " + Join(words, end - window, window), pd));
                continue;
            }
            if (table.Get(global) is var p and > 0)
            {
                values.Add(p);
                results++;
                tokens?.Add(new TokenScore(Join(words, end - window, window), p));
            }
        }
        var combined = BayesMath.Combine(values, maxValues, db.Norm);
        return new FilterResult(combined, results, Sorted(tokens));
    }

    private static IReadOnlyList<TokenScore> Sorted(List<TokenScore>? tokens)
    {
        if (tokens is null) return [];
        tokens.Sort(static (a, b) => Math.Abs(b.Probability - 0.5).CompareTo(Math.Abs(a.Probability - 0.5)));
        return tokens;
    }

    private static string Join(IReadOnlyList<string> words, int start, int count)
    {
        var parts = new string[count];
        for (int i = 0; i < count; i++) parts[i] = words[start + i];
        return string.Join(' ', parts);
    }

    /// <summary>The hash of "prev cur" continued from <paramref name="seed"/> (a private prefix or the plain seed).</summary>
    public static ulong PairHash(ulong seed, string prev, string cur) =>
        TokenHash.Finish(TokenHash.Append(TokenHash.Append(TokenHash.Append(seed, prev), ' '), cur));

    /// <summary>The hash of words joined by the HMM separator, continued from <paramref name="seed"/>.</summary>
    public static ulong ChainHash(ulong seed, IReadOnlyList<string> words, int start, int count)
    {
        ulong h = seed;
        for (int i = 0; i < count; i++)
        {
            if (i > 0) h = TokenHash.Append(h, HmmSeparator);
            h = TokenHash.Append(h, words[start + i]);
        }
        return TokenHash.Finish(h);
    }
}
