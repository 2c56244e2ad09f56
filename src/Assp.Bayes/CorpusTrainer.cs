using System.Runtime.InteropServices;

namespace Assp.Bayes;

/// <summary>
/// Collects the corpus weights the rebuild turns into probabilities. Each message adds its factor (1 for
/// spam/notspam, 2 for errors/spam, 4 for errors/notspam) to the spam weight (spam only) and the total weight of
/// every word pair it contains, and to the weight of every HMM chain of its first <see cref="Tokenizer.HmmDbWords"/>
/// words; private copies are added for the reporting user and domain. The spam and ham weights of the whole corpus
/// give the corpus norm.
/// </summary>
public sealed class CorpusTrainer(bool buildHmm = true)
{
    private struct PairWeights { public double Spam, Total; }
    private struct ChainWeights { public ulong Sequence; public double Spam, Ham; }

    private readonly Dictionary<string, PairWeights> _pairs = new(1 << 16, StringComparer.Ordinal);
    private readonly Dictionary<ulong, ChainWeights> _chains = new(buildHmm ? 1 << 16 : 0);
    private readonly Dictionary<ulong, double> _sequences = new(buildHmm ? 1 << 16 : 0);

    // Keys changed since TrackChanges() (newReportedInterval updates only these records).
    private HashSet<string>? _touchedPairs;
    private HashSet<ulong>? _touchedChains;

    public bool BuildsHmm { get; } = buildHmm;
    /// <summary>Sum of factors over the spam word pairs (ASSP's SpamWordCount).</summary>
    public double SpamWeight { get; private set; }
    /// <summary>Sum of factors over the ham word pairs (ASSP's HamWordCount).</summary>
    public double HamWeight { get; private set; }
    public int SpamMessages { get; private set; }
    public int HamMessages { get; private set; }
    public int DistinctPairs => _pairs.Count;

    /// <summary>The corpus norm: spam weight / ham weight (100 without ham, as ASSP).</summary>
    public double Norm => HamWeight > 0 ? SpamWeight / HamWeight : 100;

    public void Add(IReadOnlyList<string> words, bool isSpam, double factor, PrivateScope scope = default)
    {
        if (isSpam) SpamMessages++; else HamMessages++;
        for (int i = 1; i < words.Count; i++)
        {
            if (isSpam) SpamWeight += factor; else HamWeight += factor;
            string pair = string.Concat(words[i - 1], " ", words[i]);
            AddPair(pair, isSpam, factor);
            if (scope.User is { } u) AddPair(string.Concat(u, " ", pair), isSpam, factor);
            if (scope.Domain is { } d) AddPair(string.Concat(d, " ", pair), isSpam, factor);
        }
        if (!BuildsHmm || words.Count <= Tokenizer.HmmSequenceLength) return;
        int count = Math.Min(words.Count, Tokenizer.HmmDbWords);
        AddChains(words, count, isSpam, factor, TokenHash.Seed);
        if (scope.User is { } user) AddChains(words, count, isSpam, factor, Seed(user));
        if (scope.Domain is { } domain) AddChains(words, count, isSpam, factor, Seed(domain));
    }

    /// <summary>
    /// ASSP_AFCDetectSpamAttachRe: the keys of a message's matching attachments (<see cref="AttachmentHashes"/>). As
    /// in ASSP each counts twice the message's factor in spamdb (once for the private copies) and once towards the
    /// corpus norm.
    /// </summary>
    public void AddAttachments(IReadOnlyCollection<string> keys, bool isSpam, double factor, PrivateScope scope = default)
    {
        foreach (var key in keys.Distinct(StringComparer.Ordinal))
        {
            if (isSpam) SpamWeight += factor; else HamWeight += factor;
            AddPair(key, isSpam, factor * 2);
            if (scope.User is { } u) AddPair(string.Concat(u, " ", key), isSpam, factor);
            if (scope.Domain is { } d) AddPair(string.Concat(d, " ", key), isSpam, factor);
        }
    }

    private static ulong Seed(string prefix) => TokenHash.Append(TokenHash.Append(TokenHash.Seed, prefix), Classifier.HmmSeparator);

    private void AddPair(string pair, bool isSpam, double factor)
    {
        ref var w = ref CollectionsMarshal.GetValueRefOrAddDefault(_pairs, pair, out _);
        if (isSpam) w.Spam += factor;
        w.Total += factor;
        _touchedPairs?.Add(pair);
    }

    private void AddChains(IReadOnlyList<string> words, int count, bool isSpam, double factor, ulong seed)
    {
        const int window = Tokenizer.HmmSequenceLength + 1;
        for (int end = window; end <= count; end++)
        {
            int start = end - window;
            ulong sequence = Classifier.ChainHash(seed, words, start, Tokenizer.HmmSequenceLength);
            ulong chain = Classifier.ChainHash(seed, words, start, window);
            ref var c = ref CollectionsMarshal.GetValueRefOrAddDefault(_chains, chain, out _);
            c.Sequence = sequence;
            if (isSpam) c.Spam += factor; else c.Ham += factor;
            ref double total = ref CollectionsMarshal.GetValueRefOrAddDefault(_sequences, sequence, out _);
            total += factor;
            _touchedChains?.Add(chain);
        }
    }

    /// <summary>From now on, remembers which pairs and chains the added messages change.</summary>
    public void TrackChanges()
    {
        _touchedPairs = new HashSet<string>(StringComparer.Ordinal);
        _touchedChains = [];
    }

    /// <summary>
    /// The records the messages added since <see cref="TrackChanges"/> changed, with their new probability (null:
    /// the record says nothing now and is removed), as ASSP's update from newly reported files computes them;
    /// tracking starts over.
    /// </summary>
    public (Dictionary<string, double?> Bayes, Dictionary<ulong, double?> Hmm) TakeChanges()
    {
        var bayes = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var pair in _touchedPairs ?? [])
            if (_pairs.TryGetValue(pair, out var w)) bayes[pair] = BayesMath.TokenProbability(w.Spam, w.Total);
        var hmm = new Dictionary<ulong, double?>();
        foreach (var chain in _touchedChains ?? [])
            if (_chains.TryGetValue(chain, out var c)) hmm[chain] = BayesMath.HmmProbability(c.Spam, c.Ham, _sequences.GetValueOrDefault(c.Sequence));
        TrackChanges();
        return (bayes, hmm);
    }

    /// <summary>The spamdb records: every word pair whose probability says something.</summary>
    public Dictionary<string, double> BuildBayes()
    {
        var result = new Dictionary<string, double>(_pairs.Count / 4, StringComparer.Ordinal);
        foreach (var (pair, w) in _pairs)
            if (BayesMath.TokenProbability(w.Spam, w.Total) is { } p) result[pair] = p;
        return result;
    }

    /// <summary>The HMMdb records, keyed by chain hash.</summary>
    public Dictionary<ulong, double> BuildHmm()
    {
        var result = new Dictionary<ulong, double>(_chains.Count / 4);
        foreach (var (chain, w) in _chains)
            if (BayesMath.HmmProbability(w.Spam, w.Ham, _sequences.GetValueOrDefault(w.Sequence)) is { } p) result[chain] = p;
        return result;
    }
}
