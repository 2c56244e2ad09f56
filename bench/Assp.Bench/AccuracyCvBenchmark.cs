using System.Globalization;
using Assp.Bayes;
using Assp.Mime;

namespace Assp.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/Assp.Bench -- accuracy-cv [DIR] [--folds 5] [--variants a,b]`: model
/// selection without the test split. train.txt is split into folds by position (message i goes to fold i mod k; the
/// list is sorted by subset, so every fold holds the same mix), each fold is classified by filters trained on the
/// other folds, and the out-of-fold results give, per variant: ROC AUC (mean over folds), spam caught and ham
/// flagged at 0.6, and spam caught at a threshold chosen for each fold on the other folds' ham so that at most
/// 0.25 % of it would be flagged (the honest figure for a mode that calibrates its own threshold).
/// test.txt is never read here.
/// </summary>
public static class AccuracyCvBenchmark
{
    internal sealed record Sample(string Subset, bool IsSpam, MimeMessage Message, List<string> Words);

    /// <summary>A filter under test: trained on some samples, it scores others (higher = spammier). Probability is
    /// what is compared with 0.6; Rank orders the messages (AUC, threshold search).</summary>
    internal delegate (double Probability, double Rank)[] Scorer(IReadOnlyList<Sample> train, IReadOnlyList<Sample> test);

    public static int Run(string[] args)
    {
        string root = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : Environment.GetEnvironmentVariable("ASSP_CORPUS") ?? "/tmp/sa-eml";
        int folds = AccuracyBenchmark.IntArg(args, "--folds", 5);
        int vi = Array.IndexOf(args, "--variants");
        var only = vi >= 0 && vi + 1 < args.Length ? args[vi + 1].Split(',').ToHashSet() : null;
        if (!File.Exists(Path.Combine(root, "train.txt")))
        {
            Console.Error.WriteLine($"no corpus at {root} (run shared/corpus/extract.sh first)");
            return 2;
        }
        var samples = Load(root, "train.txt", 4000);
        Console.WriteLine($"train.txt: {samples.Count} messages ({samples.Count(s => s.IsSpam)} spam), {folds} folds; test.txt is not read");
        Console.WriteLine($"{"variant",-34} {"AUC",8} {"caught@.6",10} {"FP@.6",7} {"thr(cv)",8} {"caught@cv",10} {"FP@cv",7} {"thr(pooled)",12}");
        foreach (var (name, scorer) in CvVariants.All())
        {
            if (only is not null && !only.Contains(name)) continue;
            Evaluate(name, scorer, samples, folds);
        }
        return 0;
    }

    internal static void Evaluate(string name, Scorer scorer, List<Sample> samples, int folds)
    {
        var prob = new double[samples.Count];
        var rank = new double[samples.Count];
        var aucs = new List<double>();
        for (int k = 0; k < folds; k++)
        {
            var trainIdx = Enumerable.Range(0, samples.Count).Where(i => i % folds != k).ToList();
            var testIdx = Enumerable.Range(0, samples.Count).Where(i => i % folds == k).ToList();
            var scores = scorer(trainIdx.Select(i => samples[i]).ToList(), testIdx.Select(i => samples[i]).ToList());
            for (int j = 0; j < testIdx.Count; j++) (prob[testIdx[j]], rank[testIdx[j]]) = scores[j];
            aucs.Add(Auc(testIdx.Select(i => (samples[i].IsSpam, rank[i])).ToList()));
        }
        if (Environment.GetEnvironmentVariable("ASSP_CV_DUMP") is { Length: > 0 } dump)
        {
            // Out-of-fold results per message, for looking at the misses (one file per variant).
            Directory.CreateDirectory(dump);
            File.WriteAllLines(Path.Combine(dump, name + ".tsv"), samples.Select((s, i) =>
                string.Join('\t', i % folds, s.Subset, s.IsSpam ? 1 : 0, prob[i].ToString("R", CultureInfo.InvariantCulture),
                    rank[i].ToString("R", CultureInfo.InvariantCulture), s.Words.Count)));
        }
        int spam = samples.Count(s => s.IsSpam), ham = samples.Count - spam;
        int caught = samples.Select((s, i) => s.IsSpam && prob[i] >= 0.6).Count(b => b);
        int fp = samples.Select((s, i) => !s.IsSpam && prob[i] >= 0.6).Count(b => b);
        // Per fold: the threshold from the other folds' ham ranks (≤ 0.25 % flagged), applied to this fold.
        int caughtCv = 0, fpCv = 0;
        var thresholds = new List<double>();
        for (int k = 0; k < folds; k++)
        {
            var otherHam = samples.Select((s, i) => (s, i)).Where(x => !x.s.IsSpam && x.i % folds != k).Select(x => rank[x.i]).ToList();
            double t = ThresholdFor(otherHam, 0.0025);
            thresholds.Add(t);
            for (int i = k; i < samples.Count; i += folds)
            {
                if (rank[i] < t) continue;
                if (samples[i].IsSpam) caughtCv++; else fpCv++;
            }
        }
        // The calibration point a mode would use: the threshold on all out-of-fold ham together (≤ 0.25 % above it).
        double pooled = ThresholdFor(samples.Select((s, i) => (s, i)).Where(x => !x.s.IsSpam).Select(x => rank[x.i]).ToList(), 0.0025);
        Console.WriteLine($"{name,-34} {aucs.Average(),8:0.00000} {Pct(caught, spam),10} {Pct(fp, ham),7} {thresholds.Average(),8:0.00} {Pct(caughtCv, spam),10} {Pct(fpCv, ham),7} {pooled.ToString("R", CultureInfo.InvariantCulture),12}");
    }

    /// <summary>The lowest rank above which at most <paramref name="rate"/> of the ham lies.</summary>
    internal static double ThresholdFor(List<double> hamRanks, double rate)
    {
        var sorted = hamRanks.OrderByDescending(v => v).ToList();
        int allowed = (int)Math.Floor(rate * sorted.Count);
        // Flag ranks strictly above the (allowed+1)-th highest ham: at most `allowed` ham are above it.
        double boundary = sorted[Math.Min(allowed, sorted.Count - 1)];
        return BitIncrement(boundary);
    }

    private static double BitIncrement(double v) => Math.BitIncrement(v);

    private static string Pct(int n, int of) => (100.0 * n / Math.Max(1, of)).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    internal static double Auc(List<(bool IsSpam, double Rank)> items)
    {
        var spam = items.Where(x => x.IsSpam).Select(x => x.Rank).OrderBy(v => v).ToArray();
        var ham = items.Where(x => !x.IsSpam).Select(x => x.Rank).OrderBy(v => v).ToArray();
        double wins = 0;
        int lo = 0, hi = 0;
        foreach (var s in spam)
        {
            while (lo < ham.Length && ham[lo] < s) lo++;
            hi = Math.Max(hi, lo);
            while (hi < ham.Length && ham[hi] <= s) hi++;
            wins += lo + (hi - lo) / 2.0;
        }
        return wins / ((double)spam.Length * ham.Length);
    }

    internal static List<Sample> Load(string root, string list, int maxBytes)
    {
        var paths = File.ReadAllLines(Path.Combine(root, list)).Where(l => l.Length > 0).ToArray();
        var samples = new Sample[paths.Length];
        Parallel.For(0, paths.Length, i =>
        {
            var rel = paths[i];
            var name = Path.GetFileName(rel);
            var raw = File.ReadAllBytes(Path.Combine(root, rel));
            var message = MimeParser.Parse(CorpusText.Limit(raw, maxBytes));
            var words = Tokenizer.Words(CorpusText.FromMessage(message, maxBytes));
            samples[i] = new Sample(name[..name.IndexOf('-')], rel.StartsWith("spam/", StringComparison.Ordinal), message, words);
        });
        return [.. samples];
    }
}
