using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Assp.Bayes;

namespace Assp.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/Assp.Bench -- bayes-speed [DIR] [--rounds N]`: the one-thread classify
/// speed over the test split, split into its stages (MIME parse, ASSP's text, words, Bayes + HMM), in CPU time of
/// this thread, plus a fingerprint of every message's words and verdicts, so a faster build can be shown to give
/// the same results as the one before it.
/// </summary>
public static class BayesSpeedBenchmark
{
    public static int Run(string[] args)
    {
        string root = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : Environment.GetEnvironmentVariable("ASSP_CORPUS") ?? "/tmp/sa-eml";
        int i = Array.IndexOf(args, "--rounds");
        int rounds = i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var r) ? r : 3;
        if (!File.Exists(Path.Combine(root, "test.txt")))
        {
            Console.Error.WriteLine($"no corpus at {root} (run shared/corpus/extract.sh first)");
            return 2;
        }
        var db = BayesBenchData.Train(root);
        var raws = File.ReadAllLines(Path.Combine(root, "test.txt")).Where(l => l.Length > 0).Select(l => File.ReadAllBytes(Path.Combine(root, l))).ToList();

        // The fingerprint: every word of every message and both verdicts, in order.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var m in raws)
        {
            var messageWords = Tokenizer.Words(CorpusText.FromRaw(m, BayesBenchData.MaxBytes));
            foreach (var w in messageWords) { hash.AppendData(Encoding.UTF8.GetBytes(w)); hash.AppendData([0]); }
            hash.AppendData(BitConverter.GetBytes(Classifier.Bayes(db, messageWords, PrivateScope.None, 60).Probability));
            hash.AppendData(BitConverter.GetBytes(Classifier.Hmm(db, messageWords, PrivateScope.None, 60).Probability));
        }
        Console.WriteLine($"{raws.Count} test messages; results fingerprint {Convert.ToHexStringLower(hash.GetHashAndReset())[..16]}");

        // Stages, each timed alone over all messages (best of the rounds, CPU time of the process, one thread).
        double parse = Best(rounds, () => { foreach (var m in raws) Assp.Mime.MimeParser.Parse(CorpusText.Limit(m, BayesBenchData.MaxBytes)); });
        var messages = raws.Select(m => Assp.Mime.MimeParser.Parse(CorpusText.Limit(m, BayesBenchData.MaxBytes))).ToList();
        double text = Best(rounds, () => { foreach (var m in messages) CorpusText.FromMessage(m, BayesBenchData.MaxBytes); });
        // FromMessage caches nothing on the message, but decoded parts may be; re-parse for an honest figure below.
        var texts = raws.Select(m => CorpusText.FromRaw(m, BayesBenchData.MaxBytes)).ToList();
        double words = Best(rounds, () => { foreach (var t in texts) Tokenizer.Words(t); });
        var lists = texts.Select(Tokenizer.Words).ToList();
        double filters = Best(rounds, () =>
        {
            foreach (var w in lists) { Classifier.Bayes(db, w, PrivateScope.None, 60); Classifier.Hmm(db, w, PrivateScope.None, 60); }
        });
        double all = Best(rounds, () => { foreach (var m in raws) BayesBenchData.Classify(db, m); });
        // BayesAlgorithm 1: its features of the parsed message and words, and its classification.
        var trainer = new EnhancedFilter.Trainer();
        var regressionTrainer = new FeatureRegression.Trainer();
        foreach (var rel in File.ReadAllLines(Path.Combine(root, "train.txt")).Where(l => l.Length > 0))
        {
            var m = Assp.Mime.MimeParser.Parse(CorpusText.Limit(File.ReadAllBytes(Path.Combine(root, rel)), BayesBenchData.MaxBytes));
            var set = EnhancedFilter.Features(m, Tokenizer.Words(CorpusText.FromMessage(m, BayesBenchData.MaxBytes)));
            trainer.Add(set, rel.StartsWith("spam/", StringComparison.Ordinal), 1);
            regressionTrainer.Add(set, rel.StartsWith("spam/", StringComparison.Ordinal), 1);
        }
        var regression = regressionTrainer.Train();
        var features = ProbabilityTable.Build(trainer.Build().Select(kv => new KeyValuePair<ulong, float>(kv.Key, (float)kv.Value)).ToList());
        // Mode 1's fingerprint: its verdict at 0.6 and its probability to six places (the order in which a set of
        // features is summed may change the last bits of a double, which no admin can see).
        foreach (var (m, w) in messages.Zip(lists))
        {
            double p = EnhancedFilter.Classify(features, EnhancedFilter.Features(m, w)).Probability;
            hash.AppendData(Encoding.ASCII.GetBytes(p.ToString("0.000000 ", System.Globalization.CultureInfo.InvariantCulture) + (p >= 0.6 ? "spam\n" : "ham\n")));
        }
        Console.WriteLine($"mode 1 fingerprint {Convert.ToHexStringLower(hash.GetHashAndReset())[..16]}");
        double hmm = Best(rounds, () => { foreach (var w in lists) Classifier.Hmm(db, w, PrivateScope.None, 60); });
        double featureOnly = Best(rounds, () => { for (int n = 0; n < messages.Count; n++) EnhancedFilter.Features(messages[n], lists[n]); });
        var sets = messages.Zip(lists).Select(x => EnhancedFilter.Features(x.First, x.Second)).ToList();
        double fisher = Best(rounds, () => { foreach (var set in sets) EnhancedFilter.Classify(features, set); });
        double enhanced = Best(rounds, () =>
        {
            for (int n = 0; n < messages.Count; n++) EnhancedFilter.Classify(features, EnhancedFilter.Features(messages[n], lists[n]));
        });
        // What the proxy does with BayesAlgorithm 1: parse, text, words, mode 1 in place of the word-pair formula, HMM.
        double allMode1 = Best(rounds, () =>
        {
            foreach (var raw in raws)
            {
                var m = Assp.Mime.MimeParser.Parse(CorpusText.Limit(raw, BayesBenchData.MaxBytes));
                var w = Tokenizer.Words(CorpusText.FromMessage(m, BayesBenchData.MaxBytes));
                EnhancedFilter.Classify(features, EnhancedFilter.Features(m, w));
                Classifier.Hmm(db, w, PrivateScope.None, 60);
            }
        });
        // BayesAlgorithm 2: mode 1 plus the regression's weights over the same features.
        double mode2 = Best(rounds, () =>
        {
            for (int n = 0; n < messages.Count; n++) FeatureRegression.Classify(features, regression, EnhancedFilter.Features(messages[n], lists[n]));
        });
        double allMode2 = Best(rounds, () =>
        {
            foreach (var raw in raws)
            {
                var m = Assp.Mime.MimeParser.Parse(CorpusText.Limit(raw, BayesBenchData.MaxBytes));
                var w = Tokenizer.Words(CorpusText.FromMessage(m, BayesBenchData.MaxBytes));
                FeatureRegression.Classify(features, regression, EnhancedFilter.Features(m, w));
                Classifier.Hmm(db, w, PrivateScope.None, 60);
            }
        });
        void Row(string what, double seconds) =>
            Console.WriteLine($"{what,-32} {seconds * 1e6 / raws.Count,8:0.0} µs/msg  {raws.Count / seconds,8:N0} msg/CPU-s");
        Row("MIME parse", parse);
        Row("text (FromMessage)", text);
        Row("words (Tokenizer)", words);
        Row("Bayes + HMM", filters);
        Row("HMM", hmm);
        Row("all (classify)", all);
        Row("mode 1: features", featureOnly);
        Row("mode 1: Fisher", fisher);
        Row("mode 1: features + Fisher", enhanced);
        Row("all with mode 1 (+ HMM)", allMode1);
        Row("mode 2: features + Fisher + LR", mode2);
        Row("all with mode 2 (+ HMM)", allMode2);
        return 0;
    }

    private static double Best(int rounds, Action run)
    {
        run();   // warm up
        double best = double.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            run();
            best = Math.Min(best, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
        }
        return best;
    }
}
