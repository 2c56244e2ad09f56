using System.Text;
using Assp.Bayes;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.Checks;

/// <summary>
/// DoBayesian and DoHMM through the real pipeline, over a spam database trained from a few messages and saved in a
/// store as the rebuild saves it. baysValencePB is 49, baysProbability 0.6, maxBayesValues 60.
/// </summary>
public class BayesCheckTests
{
    private const string Rcpt = "u@local.test";

    private static string Message(string subject, string body) =>
        $"From: a@sender.example\nTo: {Rcpt}\nMessage-ID: <1.2@sender.example>\nSubject: {subject}\n\n{body}\n";

    private static readonly string SpamBody = string.Join(' ', Enumerable.Repeat(
        "buy cheap replica watches and pills from our online pharmacy with discount prices no prescription needed order today", 3));
    private static readonly string HamBody = string.Join(' ', Enumerable.Repeat(
        "the quarterly project review meeting moves to thursday afternoon please bring the budget figures and your notes", 3));

    private static string Spam(int i) => Message("cheap replica watches " + i, SpamBody + " offer" + i);
    private static string Ham(int i) => Message("project review " + i, HamBody + " regards" + i);

    private static List<string> Words(string message) => Tokenizer.Words(CorpusText.FromRaw(Encoding.UTF8.GetBytes(message), 4000));

    /// <summary>A store with spamdb and HMMdb trained on eight spam and eight ham messages.</summary>
    private static MemoryStore TrainedStore()
    {
        var trainer = new CorpusTrainer(buildHmm: true);
        for (int i = 0; i < 8; i++)
        {
            trainer.Add(Words(Spam(i)), true, 1);
            trainer.Add(Words(Ham(i)), false, 1);
        }
        var store = new MemoryStore();
        SpamDbStore.Save(store, trainer.BuildBayes(), trainer.BuildHmm(), trainer.Norm, writeHmm: true);
        return store;
    }

    private static ConfigSnapshot Cfg(params (string, string)[] values) => TestConfig.Create([("localDomains", "local.test"), .. values]);

    private static async Task<(Verdict Verdict, FakeMailContext Ctx)> Run(IStore store, ConfigSnapshot cfg, string message, string from = "a@sender.example")
    {
        var services = new CheckServices(store);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(services));
        var ctx = new FakeMailContext(cfg) { Helo = "mx.sender.example" };
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, from, [Rcpt], message);
        return (verdict, ctx);
    }

    private static double Score(FakeMailContext ctx, string valence) => ctx.State.Scores.Where(s => s.Check == valence).Sum(s => s.MessageScore);

    [Fact]
    public void Both_checks_are_catalogued_in_ASSPs_order()
    {
        var checks = CheckCatalog.Discover(CheckServices.None).Select(c => c.Definition.Name).ToList();
        Assert.True(checks.IndexOf("DoHMM") < checks.IndexOf("DoBayesian"));
    }

    [Fact]
    public async Task Bayesian_block_refuses_spam_with_valence_times_probability_and_adds_the_header()
    {
        using var store = TrainedStore();
        var (verdict, ctx) = await Run(store, Cfg(("DoBayesian", "1"), ("AddSpamProbHeader", "1"), ("AddConfidenceHeader", "1")), Spam(42));
        Assert.True(verdict.Refuses);
        var result = ctx.State.Statistics.Bayes!;
        Assert.True(result.Probability > 0.99);
        Assert.Equal(Math.Floor(49 * result.Probability + 0.5), Score(ctx, "baysValencePB"));
        var probHeader = Assert.Single(ctx.State.Headers, h => h.StartsWith("X-Assp-Spam-Prob: ", StringComparison.Ordinal));
        Assert.True(double.Parse(probHeader["X-Assp-Spam-Prob: ".Length..], System.Globalization.CultureInfo.InvariantCulture) > 0.99);
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("X-Assp-Bayes-Confidence: ", StringComparison.Ordinal));
        Assert.Contains(ctx.LogLines, l => l.Contains("Bayesian Check") && l.Contains("=> spam"));
        Assert.Contains(ctx.State.Reports, r => r.Check == "DoBayesian" && r.Outcome == "block");
    }

    [Fact]
    public async Task Ham_passes_and_gets_the_ham_bonus()
    {
        using var store = TrainedStore();
        var (verdict, ctx) = await Run(store, Cfg(("DoBayesian", "1"), ("bayshamValencePB", "-10")), Ham(42));
        Assert.False(verdict.Refuses);
        Assert.True(ctx.State.Statistics.Bayes!.Probability < 0.01);
        Assert.True(Score(ctx, "bayshamValencePB") is <= -9 and >= -10);
    }

    [Fact]
    public async Task Score_and_monitor_modes_never_refuse()
    {
        using var store = TrainedStore();
        var (verdict, ctx) = await Run(store, Cfg(("DoBayesian", "3")), Spam(7));
        Assert.False(verdict.Refuses);
        Assert.True(Score(ctx, "baysValencePB") >= 48);

        (verdict, ctx) = await Run(store, Cfg(("DoBayesian", "2")), Spam(7));
        Assert.False(verdict.Refuses);
        Assert.Equal(0, Score(ctx, "baysValencePB"));
        Assert.Contains(ctx.LogLines, l => l.Contains("[monitoring]"));
    }

    [Fact]
    public async Task The_unsure_band_scores_half_on_the_message_only()
    {
        using var store = new MemoryStore();
        // one pair at 0.55: between 1 - 0.6 and 0.6
        var words = Words(Message("zz", "qqq"));
        var pairs = Enumerable.Range(1, words.Count - 1).Select(i => words[i - 1] + " " + words[i]).Distinct().ToList();
        SpamDbStore.Save(store, pairs.Take(1).ToDictionary(p => p, _ => 0.55), new Dictionary<ulong, double>(), 1, writeHmm: false);
        var (verdict, ctx) = await Run(store, Cfg(("DoBayesian", "1")), Message("zz", "qqq"));
        Assert.False(verdict.Refuses);
        Assert.Equal(Math.Floor(49 / 2.0 * 0.55 + 0.5), Score(ctx, "baysValencePB"));
        Assert.Equal(0, ctx.State.Scores.Where(s => s.Check == "baysValencePB").Sum(s => s.IpScore));
        Assert.Contains(ctx.LogLines, l => l.Contains("'unsure' state"));
    }

    [Fact]
    public async Task Low_confidence_spam_is_passed_as_in_test_mode()
    {
        using var store = TrainedStore();
        var (verdict, ctx) = await Run(store, Cfg(("DoBayesian", "1"), ("baysConf", "0.9999")), Spam(3));
        Assert.False(verdict.Refuses);
        Assert.True(Score(ctx, "baysValencePB") > 0);
        Assert.Contains(ctx.LogLines, l => l.Contains("doubtful.spam"));
    }

    [Fact]
    public async Task NoBayesian_addresses_skip_the_check_and_the_corpus()
    {
        using var store = TrainedStore();
        var (verdict, ctx) = await Run(store, Cfg(("DoBayesian", "1"), ("noBayesian", Rcpt)), Spam(1));
        Assert.False(verdict.Refuses);
        Assert.Null(ctx.State.Statistics.Bayes);
        Assert.True(ctx.State.NoCollect);
    }

    [Fact]
    public async Task An_empty_database_says_so_and_passes()
    {
        using var store = new MemoryStore();
        var (verdict, ctx) = await Run(store, Cfg(("DoBayesian", "1"), ("DoHMM", "1")), Spam(1));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("spamdb is empty"));
        Assert.Contains(ctx.LogLines, l => l.Contains("hmmdb is empty"));
    }

    [Fact]
    public async Task Hmm_blocks_spam_and_BayesAfterHMM_then_skips_the_Bayesian_check()
    {
        using var store = TrainedStore();
        var cfg = Cfg(("DoHMM", "1"), ("DoBayesian", "1"), ("BayesAfterHMM", "0.4-0.6"), ("AddSpamProbHeader", "1"));
        var (verdict, ctx) = await Run(store, cfg, Spam(9));
        Assert.True(verdict.Refuses);
        var hmm = ctx.State.Statistics.Hmm!;
        Assert.True(hmm.Results >= 21, hmm.Results.ToString());
        Assert.Equal(Math.Floor(49 * hmm.Probability + 0.5), Score(ctx, "HMMValencePB"));
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("X-Assp-HMM-Spam-Prob: ", StringComparison.Ordinal));
        Assert.Contains(ctx.State.Reports, r => r.Check == "DoHMM" && r.Outcome == "block");

        // the HMM verdict is outside 0.4-0.6, so with the HMM only scoring the Bayesian check does not run
        (verdict, ctx) = await Run(store, Cfg(("DoHMM", "3"), ("DoBayesian", "1"), ("BayesAfterHMM", "0.4-0.6")), Spam(9));
        Assert.False(verdict.Refuses);
        Assert.True(ctx.State.Statistics.SkipBayes);
        Assert.Null(ctx.State.Statistics.Bayes);
    }

    [Fact]
    public async Task Hmm_with_few_results_only_monitors()
    {
        using var store = TrainedStore();
        // a short message shares only a few chains with the corpus
        var (verdict, ctx) = await Run(store, Cfg(("DoHMM", "1")), Message("hi", "buy cheap replica watches and pills"));
        Assert.False(verdict.Refuses);
        Assert.Equal(0, Score(ctx, "HMMValencePB"));
        Assert.Contains(ctx.LogLines, l => l.Contains("HMM-Check has given less than"));
    }

    [Fact]
    public async Task The_analyzer_shows_the_top_tokens()
    {
        using var store = TrainedStore();
        var services = new CheckServices(store);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(services));
        var result = await MessageAnalyzer.AnalyzeAsync(pipeline, Cfg(("DoBayesian", "3"), ("DoHMM", "3")), Encoding.UTF8.GetBytes(Spam(5)), "spam.eml",
            new AnalyzeEnvelope(System.Net.IPAddress.Parse("192.0.2.1"), "mx.sender.example", "a@sender.example", [Rcpt]));
        var bayes = Assert.Single(result.Statistics, s => s.Filter == "Bayesian");
        Assert.True(bayes.Probability > 0.99);
        Assert.NotEmpty(bayes.TopTokens);
        Assert.True(bayes.TopTokens.Count <= MessageAnalyzer.TopTokens);
        Assert.Contains(bayes.TopTokens, t => t.Token == "replica watches");
        Assert.Contains(result.Statistics, s => s.Filter == "HMM");
    }

    /// <summary>The trained store plus mode 1's feature table and (optionally) the regression weights of BayesAlgorithm 2.</summary>
    private static MemoryStore StoreWithFeatures(bool regression)
    {
        var words = new CorpusTrainer(buildHmm: true);
        var features = new EnhancedFilter.Trainer();
        var weights = new FeatureRegression.Trainer();
        for (int i = 0; i < 8; i++)
        {
            foreach (var (text, isSpam) in new[] { (Spam(i), true), (Ham(i), false) })
            {
                var m = Assp.Mime.MimeParser.Parse(Encoding.UTF8.GetBytes(text));
                var w = Tokenizer.Words(CorpusText.FromMessage(m));
                var set = EnhancedFilter.Features(m, w);
                words.Add(w, isSpam, 1);
                features.Add(set, isSpam, 1);
                weights.Add(set, isSpam, 1);
            }
        }
        var store = new MemoryStore();
        SpamDbStore.Save(store, words.BuildBayes(), words.BuildHmm(), words.Norm, writeHmm: true, features: features.Build(),
            regression: regression ? weights.Train() : null);
        return store;
    }

    [Fact]
    public async Task BayesAlgorithm_2_combines_the_features_with_the_regression()
    {
        using var store = StoreWithFeatures(regression: true);
        var cfg = Cfg(("DoBayesian", "1"), ("BayesAlgorithm", "2"), ("BayesianLog", "2"));
        var (verdict, ctx) = await Run(store, cfg, Spam(42));
        Assert.True(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("Bayesian check uses BayesAlgorithm 2"));
        var (hamVerdict, hamCtx) = await Run(store, cfg, Ham(42));
        Assert.False(hamVerdict.Refuses);
        Assert.True(hamCtx.State.Statistics.Bayes!.Probability < 0.6);
    }

    [Fact]
    public async Task BayesAlgorithm_2_without_weights_works_as_1_and_says_so_once()
    {
        using var store = StoreWithFeatures(regression: false);
        var services = new CheckServices(store);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(services));
        var cfg = Cfg(("DoBayesian", "1"), ("BayesAlgorithm", "2"), ("BayesianLog", "2"));
        var logs = new List<string>();
        foreach (var message in new[] { Spam(40), Spam(41) })
        {
            var ctx = new FakeMailContext(cfg) { Helo = "mx.sender.example" };
            var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", [Rcpt], message);
            Assert.True(verdict.Refuses);
            Assert.Contains(ctx.LogLines, l => l.Contains("Bayesian check uses BayesAlgorithm 1"));
            logs.AddRange(ctx.LogLines);
        }
        Assert.Single(logs, l => l.Contains("BayesAlgorithm 2 has no regression weights"));
    }

    /// <summary>A clock that moves on by a fixed step each time it is read: the text clean-up seems to take that long.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }

    private static async Task<(Verdict Verdict, FakeMailContext Ctx)> RunWithClock(IStore store, ConfigSnapshot cfg, string message, TimeProvider clock)
    {
        var services = new CheckServices(store, Clock: clock);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(services));
        var ctx = new FakeMailContext(cfg) { Helo = "mx.sender.example" };
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", [Rcpt], message);
        return (verdict, ctx);
    }

    [Theory]
    [InlineData("15", 20, true)]
    [InlineData("15", 1, false)]
    [InlineData("60", 20, true)]   // ASSP takes at most 15 seconds
    [InlineData("10", 12, true)]
    public async Task BayesMaxProcessTime_skips_the_statistical_checks_when_the_clean_up_takes_longer(string maxSeconds, int secondsPerRead, bool timesOut)
    {
        using var store = TrainedStore();
        var cfg = Cfg(("DoBayesian", "1"), ("DoHMM", "1"), ("BayesMaxProcessTime", maxSeconds));
        var (verdict, ctx) = await RunWithClock(store, cfg, Spam(3), new SteppingClock(TimeSpan.FromSeconds(secondsPerRead)));
        Assert.True(verdict.Refuses != timesOut, string.Join("\n", ctx.LogLines));
        Assert.Equal(timesOut, ctx.LogLines.Any(l => l.Contains("Bayesian-Process-Timeout", StringComparison.Ordinal)));
        if (timesOut) Assert.Null(ctx.State.Statistics.Bayes is { Results: > 0 } ? ctx.State.Statistics.Bayes : null);
    }
}
