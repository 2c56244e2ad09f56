using System.Text;
using Assp.Mime;
using Assp.Storage;

namespace Assp.Bayes.Tests;

public sealed class FeatureRegressionTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("assp-regression-").FullName;

    public void Dispose() => Directory.Delete(_base, recursive: true);

    private static string Text(string from, string subject, string contentType, string body) =>
        $"From: {from}\r\nTo: bob@example.org\r\nSubject: {subject}\r\nContent-Type: {contentType}\r\n\r\n{body}\r\n";

    private static HashSet<ulong> Features(string text)
    {
        var m = MimeParser.Parse(Encoding.ASCII.GetBytes(text));
        return EnhancedFilter.Features(m, Tokenizer.Words(CorpusText.FromMessage(m)));
    }

    private static string Spam(int i) => Text($"\"Best Pharmacy\" <sales{i}@pills.example.biz>", "cheap pills", "text/html",
        $"<b>buy cheap pills now</b> http://pills.example.biz/order?id={i} no prescription offer {i % 3}");

    private static string Ham(int i) => Text("\"Ann Lee\" <ann@work.example.org>", "budget", "text/plain",
        $"the project budget meeting is on thursday, notes {i} attached {i % 4}");

    private static FeatureRegression.Trainer Corpus()
    {
        var trainer = new FeatureRegression.Trainer();
        for (int i = 0; i < 20; i++)
        {
            trainer.Add(Features(Spam(i)), true, 1);
            trainer.Add(Features(Ham(i)), false, 1);
        }
        return trainer;
    }

    private static SortedDictionary<ulong, float> Weights(FeatureRegression.Model model) =>
        new(model.Weights.Entries().ToDictionary(kv => kv.Key, kv => kv.Value));

    [Fact]
    public void Training_the_same_corpus_twice_gives_exactly_the_same_weights()
    {
        var a = Corpus().Train();
        var b = Corpus().Train();
        Assert.True(a.Weights.Count > 10);
        Assert.Equal(Weights(a), Weights(b));
        Assert.Equal(a.Bias, b.Bias);
    }

    [Fact]
    public void Learnt_weights_point_to_spam_and_ham_and_the_combination_flags_spam_only()
    {
        var model = Corpus().Train();
        Assert.True(model.Weights.Get(TokenHash.Of("ct:text/html")) > 0);
        Assert.True(model.Weights.Get(TokenHash.Of("ct:text/plain")) < 0);

        var fisher = new EnhancedFilter.Trainer();
        for (int i = 0; i < 20; i++)
        {
            fisher.Add(Features(Spam(i)), true, 1);
            fisher.Add(Features(Ham(i)), false, 1);
        }
        var table = ProbabilityTable.Build(fisher.Build().Select(kv => new KeyValuePair<ulong, float>(kv.Key, (float)kv.Value)).ToList());
        var spam = FeatureRegression.Classify(table, model, Features(Spam(99)));
        var ham = FeatureRegression.Classify(table, model, Features(Ham(99)));
        Assert.True(spam.Probability >= 0.6, $"spam {spam.Probability}");
        Assert.True(ham.Probability < 0.6, $"ham {ham.Probability}");
        Assert.True(spam.Used > 0);
    }

    [Fact]
    public void Calibration_puts_the_chosen_point_at_the_default_threshold()
    {
        Assert.Equal(0.6, FeatureRegression.Calibrate(FeatureRegression.CalibrationPoint), 12);
        Assert.True(FeatureRegression.Calibrate(FeatureRegression.CalibrationPoint - 0.01) < 0.6);
        Assert.True(FeatureRegression.Calibrate(FeatureRegression.CalibrationPoint + 0.01) > 0.6);
        // logit of the Fisher score plus a quarter of the regression's log-odds
        Assert.Equal(Math.Log(0.9 / 0.1) + 0.25 * 2, FeatureRegression.Score(0.9, 2), 12);
        Assert.Equal(Math.Log(1e-6 / (1 - 1e-6)), FeatureRegression.Score(0, 0), 9);
    }

    [Fact]
    public void Weights_are_stored_and_read_back_and_an_other_version_is_not_used()
    {
        var model = Corpus().Train();
        using var store = new MemoryStore();
        var features = new Dictionary<ulong, double> { [TokenHash.Of("ct:text/html")] = 0.9 };
        SpamDbStore.Save(store, new Dictionary<string, double> { ["cheap pills"] = 0.95 }, new Dictionary<ulong, double>(), 1, false,
            features: features, regression: model);
        var table = store.Table(SpamDbStore.RegressionTable);
        Assert.Equal(FeatureRegression.Version, table.TryGetValue(SpamDbStore.RegressionVersionKey, out var v) ? v : null);

        var loaded = SpamDbStore.Load(store).Regression;
        Assert.Equal(Weights(model), Weights(loaded));
        Assert.Equal(model.Bias, loaded.Bias);

        // Weights of an older regression or feature set: not used (the check works as BayesAlgorithm 1).
        table.Set(SpamDbStore.RegressionVersionKey, "1.1");
        Assert.True(SpamDbStore.Load(store).Regression.IsEmpty);
        table.Remove(SpamDbStore.RegressionVersionKey);
        Assert.True(SpamDbStore.Load(store).Regression.IsEmpty);
        Assert.Equal(1, SpamDbStore.Load(store).Features.Count);

        // A rebuild without the regression (BayesAlgorithm 1) leaves no weights behind.
        SpamDbStore.Save(store, new Dictionary<string, double> { ["cheap pills"] = 0.95 }, new Dictionary<ulong, double>(), 1, false, features: features);
        Assert.Equal(0, store.Table(SpamDbStore.RegressionTable).Count);
        Assert.True(SpamDbStore.Load(store).Regression.IsEmpty);
    }

    [Fact]
    public void The_rebuild_learns_the_weights_only_for_BayesAlgorithm_2_and_does_so_reproducibly()
    {
        string spam = Path.Combine(_base, "spam"), ham = Path.Combine(_base, "notspam");
        Directory.CreateDirectory(spam);
        Directory.CreateDirectory(ham);
        for (int i = 0; i < 12; i++)
        {
            File.WriteAllText(Path.Combine(spam, $"s{i:00}.eml"), Spam(i), Encoding.ASCII);
            File.WriteAllText(Path.Combine(ham, $"h{i:00}.eml"), Ham(i), Encoding.ASCII);
        }
        RebuildOptions Options(bool regression) => new()
        {
            Folders = [new CorpusFolder("spamlog", spam, true, 1), new CorpusFolder("notspamlog", ham, false, 1)],
            BuildRegression = regression,
        };

        using var first = new MemoryStore();
        CorpusRebuild.Run(Options(regression: true), first);
        var db = SpamDbProvider.For(first).Current;
        Assert.True(db.Features.Count > 0);
        Assert.False(db.Regression.IsEmpty);
        Assert.Equal(Weights(db.Regression), Weights(SpamDbStore.Load(first).Regression));

        using var second = new MemoryStore();
        CorpusRebuild.Run(Options(regression: true), second);
        Assert.Equal(Weights(SpamDbStore.Load(first).Regression), Weights(SpamDbStore.Load(second).Regression));

        using var plain = new MemoryStore();
        CorpusRebuild.Run(Options(regression: false) with { BuildFeatures = true }, plain);
        Assert.True(SpamDbStore.Load(plain).Regression.IsEmpty);
    }
}
