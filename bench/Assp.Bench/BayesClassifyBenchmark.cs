using System.Diagnostics;
using Assp.Bayes;
using BenchmarkDotNet.Attributes;

namespace Assp.Bench;

/// <summary>
/// Classification speed on one core: tokenize (parse, ASSP's text, words) + Bayesian + HMM for every message of the
/// corpus's test split, over a database trained on the train split. `dotnet run -c Release -- --filter *BayesClassify*`.
/// One operation classifies all test messages; messages/s = messages / mean time.
/// </summary>
[MemoryDiagnoser]
public class BayesClassifyBenchmark
{
    private byte[][] _messages = [];
    private SpamDatabase _db = SpamDatabase.Empty;

    [GlobalSetup]
    public void Setup()
    {
        string root = Environment.GetEnvironmentVariable("ASSP_CORPUS") ?? "/tmp/sa-eml";
        _messages = [.. File.ReadAllLines(Path.Combine(root, "test.txt")).Where(l => l.Length > 0).Select(l => File.ReadAllBytes(Path.Combine(root, l)))];
        _db = BayesBenchData.Train(root);
    }

    [Benchmark]
    public double ClassifyTestSplit()
    {
        double sum = 0;
        foreach (var m in _messages) sum += BayesBenchData.Classify(_db, m);
        return sum;
    }

    public int Messages => _messages.Length;
}

internal static class BayesBenchData
{
    public const int MaxBytes = 4000;

    public static SpamDatabase Train(string root)
    {
        var trainer = new CorpusTrainer(buildHmm: true);
        foreach (var rel in File.ReadAllLines(Path.Combine(root, "train.txt")).Where(l => l.Length > 0))
            trainer.Add(Tokenizer.Words(CorpusText.FromRaw(File.ReadAllBytes(Path.Combine(root, rel)), MaxBytes)), rel.StartsWith("spam/", StringComparison.Ordinal), 1);
        return SpamDbStore.InMemory(trainer.BuildBayes(), trainer.BuildHmm(), trainer.Norm, 1);
    }

    /// <summary>What the proxy does per message: ASSP's text of header + MaxBytes, the words, both filters.</summary>
    public static double Classify(SpamDatabase db, byte[] message)
    {
        var words = Tokenizer.Words(CorpusText.FromRaw(message, MaxBytes));
        return Classifier.Bayes(db, words, PrivateScope.None, 60).Probability + Classifier.Hmm(db, words, PrivateScope.None, 60).Probability;
    }

    /// <summary>A quick single-thread figure (the BenchmarkDotNet class gives the careful one).</summary>
    /// <returns>Messages per wall-clock second and per second of this thread's CPU time (the machine may be shared).</returns>
    public static (double Wall, double Cpu) MessagesPerSecond(SpamDatabase db, IReadOnlyList<byte[]> messages, int rounds = 3)
    {
        foreach (var m in messages.Take(200)) Classify(db, m);   // warm up
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (int r = 0; r < rounds; r++)
            foreach (var m in messages) Classify(db, m);
        double wall = clock.Elapsed.TotalSeconds;
        double used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        return (rounds * messages.Count / wall, rounds * messages.Count / used);
    }
}
