using System.Diagnostics;
using System.Globalization;
using Assp.Bayes;

namespace Assp.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/Assp.Bench -- accuracy [corpus folder]`: trains the Bayesian and HMM
/// filters on the SpamAssassin corpus's train split ($ASSP_CORPUS, default /tmp/sa-eml, made by
/// shared/corpus/extract.sh), classifies the test split and prints ROC AUC and, at the default threshold
/// (baysProbability 0.6) and at 0.9 and 0.99, the spam caught and the ham falsely flagged, overall and per subset.
/// The test split is only ever classified, never learned from or tuned on.
/// </summary>
public static class AccuracyBenchmark
{
    private sealed record Sample(string Subset, bool IsSpam, List<string> Words, HashSet<ulong> Features);

    public static int Run(string[] args)
    {
        string root = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : null ?? Environment.GetEnvironmentVariable("ASSP_CORPUS") ?? "/tmp/sa-eml";
        int maxBytes = IntArg(args, "--maxbytes", 4000);
        if (!File.Exists(Path.Combine(root, "train.txt")))
        {
            Console.Error.WriteLine($"no corpus at {root} (run shared/corpus/extract.sh first)");
            return 2;
        }
        var clock = Stopwatch.StartNew();
        var train = Load(root, "train.txt", maxBytes);
        var test = Load(root, "test.txt", maxBytes);
        Console.WriteLine($"corpus {root}: {train.Count} train, {test.Count} test messages, MaxBytes {maxBytes}; tokenized in {clock.Elapsed.TotalSeconds:0.0} s");

        clock.Restart();
        var trainer = new CorpusTrainer(buildHmm: true);
        foreach (var s in train) trainer.Add(s.Words, s.IsSpam, 1);
        var db = SpamDbStore.InMemory(trainer.BuildBayes(), trainer.BuildHmm(), trainer.Norm, 1);
        Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds:0.0} s: norm {trainer.Norm:0.000}, {db.Bayes.Count:N0} Bayes pairs, {db.Hmm.Count:N0} HMM chains, {db.MemoryBytes / 1048576.0:0.0} MB");

        const int maxValues = 60;
        var bayes = test.Select(s => Classifier.Bayes(db, s.Words, PrivateScope.None, maxValues).Combined).ToList();
        var hmm = test.Select(s => Classifier.Hmm(db, s.Words, PrivateScope.None, maxValues).Combined).ToList();
        Report("Bayesian (ASSP, DoBayesian)", test, bayes);
        Report("HMM (ASSP, DoHMM)", test, hmm);

        clock.Restart();
        var enhanced = new EnhancedFilter.Trainer();
        foreach (var s in train) enhanced.Add(s.Features, s.IsSpam, 1);
        var table = ProbabilityTable.Build(enhanced.Build().Select(kv => new KeyValuePair<ulong, float>(kv.Key, (float)kv.Value)).ToList());
        Console.WriteLine();
        Console.WriteLine($"enhanced filter trained in {clock.Elapsed.TotalSeconds:0.0} s: {table.Count:N0} features, {table.MemoryBytes / 1048576.0:0.0} MB");
        // Its calibrated probability orders messages better than the log-odds (Fisher's I first).
        Report("Enhanced (BayesAlgorithm 1: features + Robinson/Fisher, calibrated)", test, test.Select(s => EnhancedFilter.Classify(table, s.Features)).ToList(),
            c => c.Probability);

        clock.Restart();
        var regression = new FeatureRegression.Trainer();
        foreach (var s in train) regression.Add(s.Features, s.IsSpam, 1);
        var model = regression.Train();
        Console.WriteLine();
        Console.WriteLine($"regression trained in {clock.Elapsed.TotalSeconds:0.0} s: {model.Weights.Count:N0} weights, bias {model.Bias:0.000}");
        Report("Enhanced + regression (BayesAlgorithm 2, calibrated)", test, test.Select(s => FeatureRegression.Classify(table, model, s.Features)).ToList(),
            c => c.LogOdds);

        // Speed: one thread classifying the test split (parse + text + words + Bayes + HMM per message).
        var raws = File.ReadAllLines(Path.Combine(root, "test.txt")).Where(l => l.Length > 0).Select(l => File.ReadAllBytes(Path.Combine(root, l))).ToList();
        Console.WriteLine();
        var (wall, cpu) = BayesBenchData.MessagesPerSecond(db, raws);
        Console.WriteLine($"classify speed (one thread, tokenize + Bayes + HMM): {wall:N0} messages/s wall clock, {cpu:N0} per CPU second");

        // The rebuild as `assp rebuild` runs it: the train split as spam/ and notspam/ folders, into a SQLite store.
        var work = Directory.CreateTempSubdirectory("assp-rebuild-bench-");
        try
        {
            string spamDir = Path.Combine(work.FullName, "spam"), hamDir = Path.Combine(work.FullName, "notspam");
            Directory.CreateDirectory(spamDir);
            Directory.CreateDirectory(hamDir);
            foreach (var rel in File.ReadAllLines(Path.Combine(root, "train.txt")).Where(l => l.Length > 0))
                File.CreateSymbolicLink(Path.Combine(rel.StartsWith("spam/", StringComparison.Ordinal) ? spamDir : hamDir, Path.GetFileName(rel)), Path.Combine(root, rel));
            using var store = Assp.Storage.SqliteStore.OpenInBase(work.FullName);
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var summary = CorpusRebuild.Run(new RebuildOptions
            {
                Folders = [new CorpusFolder("spamlog", spamDir, true, 1), new CorpusFolder("notspamlog", hamDir, false, 1)],
                MaxBytes = maxBytes,
            }, store);
            double rebuildCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            var reload = Stopwatch.StartNew();
            var loaded = SpamDbStore.Load(store);
            Console.WriteLine($"rebuild of {summary.Folders.Sum(f => f.Files)} files into SQLite: {summary.Elapsed.TotalSeconds:0.0} s wall, {rebuildCpu:0.0} s CPU " +
                $"({summary.BayesRecords:N0} pairs, {summary.HmmRecords:N0} HMM chains); loading it back: {reload.Elapsed.TotalSeconds:0.0} s, " +
                $"{loaded.MemoryBytes / 1048576.0:0.0} MB in memory");
        }
        finally { work.Delete(recursive: true); }
        return 0;
    }

    internal static int IntArg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }

    private static List<Sample> Load(string root, string list, int maxBytes)
    {
        var paths = File.ReadAllLines(Path.Combine(root, list)).Where(l => l.Length > 0).ToArray();
        var samples = new Sample[paths.Length];
        Parallel.For(0, paths.Length, i =>
        {
            var rel = paths[i];
            var name = Path.GetFileName(rel);
            var raw = File.ReadAllBytes(Path.Combine(root, rel));
            var message = Assp.Mime.MimeParser.Parse(CorpusText.Limit(raw, maxBytes));
            var words = Tokenizer.Words(CorpusText.FromMessage(message, maxBytes));
            samples[i] = new Sample(name[..name.IndexOf('-')], rel.StartsWith("spam/", StringComparison.Ordinal), words,
                EnhancedFilter.Features(message, words));
        });
        return [.. samples];
    }

    private static void Report(string title, List<Sample> test, List<Combined> results, Func<Combined, double>? score = null)
    {
        Console.WriteLine();
        Console.WriteLine($"== {title}: ROC AUC {Auc(test, results, score ?? Score):0.00000}");
        Console.WriteLine($"{"subset",-12} {"n",5} {"@0.6",10} {"@0.9",10} {"@0.99",10}   (spam: caught %, ham: false positives %)");
        foreach (var group in test.Select((s, i) => (s, i)).GroupBy(x => x.s.Subset).OrderBy(g => g.Key).Append(null))
        {
            var items = group is null ? test.Select((s, i) => (s, i)).ToList() : group.ToList();
            string name = group?.Key ?? "all spam/ham";
            if (group is null)
            {
                Line("ALL spam", items.Where(x => x.s.IsSpam).ToList(), results);
                Line("ALL ham", items.Where(x => !x.s.IsSpam).ToList(), results);
            }
            else Line(name, items, results);
        }
    }

    private static void Line(string name, List<(Sample s, int i)> items, List<Combined> results)
    {
        string Cell(double t) => (100.0 * items.Count(x => results[x.i].Probability >= t) / Math.Max(1, items.Count)).ToString("0.00", CultureInfo.InvariantCulture) + "%";
        Console.WriteLine($"{name,-12} {items.Count,5} {Cell(0.6),10} {Cell(0.9),10} {Cell(0.99),10}");
    }

    /// <summary>Mann–Whitney ROC AUC over the log-odds (ties count half).</summary>
    private static double Auc(List<Sample> test, List<Combined> results, Func<Combined, double> score)
    {
        var spam = test.Select((s, i) => (s, i)).Where(x => x.s.IsSpam).Select(x => score(results[x.i])).OrderBy(v => v).ToArray();
        var ham = test.Select((s, i) => (s, i)).Where(x => !x.s.IsSpam).Select(x => score(results[x.i])).OrderBy(v => v).ToArray();
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

    private static double Score(Combined c) => c.Used == 0 ? 0 : c.LogOdds;
}
