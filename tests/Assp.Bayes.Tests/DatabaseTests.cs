using System.Text;
using Assp.Bayes;
using Assp.Storage;

namespace Assp.Bayes.Tests;

public class DatabaseTests
{
    private static List<string> W(string text) => Tokenizer.Words(text);

    private static readonly string[] SpamTexts =
    [
        "buy cheap pills now from our online pharmacy with no prescription needed today",
        "cheap pills online pharmacy best prices buy now limited offer no prescription",
        "limited offer buy cheap pills now online pharmacy discount no prescription",
        "online pharmacy cheap pills buy now and save big no prescription required",
    ];

    private static readonly string[] HamTexts =
    [
        "the meeting about the project budget is moved to thursday afternoon in room four",
        "please review the project budget before the meeting on thursday afternoon thanks",
        "notes from the project meeting budget review thursday afternoon action items attached",
        "reminder the project budget meeting is thursday afternoon bring the review notes",
    ];

    private static SpamDatabase Train(bool hmm = true, PrivateScope scope = default)
    {
        var trainer = new CorpusTrainer(hmm);
        foreach (var s in SpamTexts) trainer.Add(W(s), true, 1, scope);
        foreach (var h in HamTexts) trainer.Add(W(h), false, 1, scope);
        return SpamDbStore.InMemory(trainer.BuildBayes(), trainer.BuildHmm(), trainer.Norm, 1);
    }

    [Fact]
    public void Bayes_separates_a_tiny_corpus()
    {
        var db = Train();
        var spam = Classifier.Bayes(db, W("buy cheap pills now online pharmacy no prescription"), default, 60, explain: true);
        var ham = Classifier.Bayes(db, W("project budget meeting thursday afternoon review"), default, 60);
        Assert.True(spam.Probability > 0.9, spam.Probability.ToString());
        Assert.True(ham.Probability < 0.1, ham.Probability.ToString());
        Assert.Contains(spam.Tokens, t => t.Token == "cheap pills" && t.Probability > 0.9);
    }

    [Fact]
    public void Hmm_separates_a_tiny_corpus_by_five_word_chains()
    {
        var db = Train();
        Assert.True(db.HasHmm);
        var spam = Classifier.Hmm(db, W("cheap pills online pharmacy best prices buy now"), default, 60, explain: true);
        var ham = Classifier.Hmm(db, W("please review the project budget before the meeting"), default, 60);
        Assert.True(spam.Results > 0 && spam.Probability > 0.9, $"{spam.Results} {spam.Probability}");
        Assert.True(ham.Results > 0 && ham.Probability < 0.1, $"{ham.Results} {ham.Probability}");
        Assert.Equal(5, spam.Tokens[0].Token.Split(' ').Length);
        // word order matters for the HMM: the same words shuffled find no chain
        Assert.Equal(0, Classifier.Hmm(db, W("now buy prices best pharmacy online pills cheap"), default, 60).Results);
    }

    [Fact]
    public void Without_DoHMM_no_HMM_database_is_built()
    {
        var trainer = new CorpusTrainer(buildHmm: false);
        trainer.Add(W(SpamTexts[0]), true, 1);
        Assert.Empty(trainer.BuildHmm());
    }

    [Fact]
    public void Corrected_folders_weigh_more_and_set_the_norm()
    {
        var trainer = new CorpusTrainer(false);
        trainer.Add(W("aa bb cc"), true, 2);     // errors/spam counts double
        trainer.Add(W("dd ee ff gg"), false, 4); // errors/notspam counts four times
        Assert.Equal(4, trainer.SpamWeight);      // 2 pairs x 2
        Assert.Equal(12, trainer.HamWeight);      // 3 pairs x 4
        Assert.Equal(4 / 12.0, trainer.Norm, 10);
        // "dd ee" seen with weight 4 in ham only: squared, (1 + 0) / (16 + 2)
        Assert.Equal(1 / 18.0, trainer.BuildBayes()["dd ee"], 6);
    }

    [Fact]
    public void Private_entries_come_first_and_count_more()
    {
        var trainer = new CorpusTrainer(false);
        var bob = new PrivateScope("bob@local.example", "@local.example");
        // globally "weekly newsletter" is spam, but bob reported it as ham
        for (int i = 0; i < 5; i++) trainer.Add(W("weekly newsletter"), true, 1);
        for (int i = 0; i < 5; i++) trainer.Add(W("weekly newsletter"), false, 1, new PrivateScope("bob@local.example", null));
        var bayes = trainer.BuildBayes();
        Assert.True(bayes.ContainsKey("bob@local.example weekly newsletter"));
        var db = SpamDbStore.InMemory(bayes, new Dictionary<ulong, double>(), trainer.Norm, 1);
        var forBob = Classifier.Bayes(db, W("weekly newsletter"), bob, 60, explain: true);
        var forOthers = Classifier.Bayes(db, W("weekly newsletter"), PrivateScope.None, 60);
        Assert.StartsWith("private: ", forBob.Tokens[0].Token);
        Assert.True(forBob.Probability < 0.5);
        Assert.True(forOthers.Probability == 0.5 || forOthers.Probability > 0.5);
        Assert.Equal(new PrivateScope("bob@x.example", "@x.example"), PrivateScope.For("Bob@X.example", 3));
        Assert.Equal(new PrivateScope(null, "@x.example"), PrivateScope.For("bob@x.example", 2));
        Assert.Equal(PrivateScope.None, PrivateScope.For("bob@x.example", 0));
    }

    [Fact]
    public void The_database_round_trips_through_the_store()
    {
        var trainer = new CorpusTrainer(true);
        foreach (var s in SpamTexts) trainer.Add(W(s), true, 1);
        foreach (var h in HamTexts) trainer.Add(W(h), false, 1);
        var bayes = trainer.BuildBayes();
        var hmm = trainer.BuildHmm();
        using var store = new MemoryStore();
        long generation = SpamDbStore.Save(store, bayes, hmm, trainer.Norm, writeHmm: true);
        Assert.True(generation > 0);
        Assert.Equal(generation, SpamDbStore.ReadGeneration(store));
        // ASSP's record format in spamdb
        Assert.True(store.Table(StoreTables.SpamDb).TryGetValue("cheap pills", out var stored));
        Assert.Equal(bayes["cheap pills"], double.Parse(stored, System.Globalization.CultureInfo.InvariantCulture), 7);
        Assert.True(store.Table(StoreTables.SpamDb).ContainsKey(SpamDbStore.NormKey));

        var loaded = SpamDbStore.Load(store);
        Assert.Equal(bayes.Count, loaded.Bayes.Count);
        Assert.Equal(hmm.Count, loaded.Hmm.Count);
        Assert.Equal(trainer.Norm, loaded.Norm, 10);
        Assert.Equal(generation, loaded.Generation);
        foreach (var (pair, p) in bayes) Assert.Equal(p, loaded.Bayes.Get(TokenHash.Of(pair)), 6);
        foreach (var (chain, p) in hmm) Assert.Equal(p, loaded.Hmm.Get(chain), 6);

        // a second save is a newer generation that replaces the records
        long next = SpamDbStore.Save(store, new Dictionary<string, double> { ["aa bb"] = 0.9 }, new Dictionary<ulong, double>(), 1, writeHmm: true);
        Assert.True(next > generation);
        Assert.Equal(1, SpamDbStore.Load(store).Bayes.Count);
    }

    [Fact]
    public void A_million_tokens_fit_in_well_under_100_MB()
    {
        var table = ProbabilityTable.Build(Enumerable.Range(1, 1_000_000).Select(i => new KeyValuePair<ulong, float>(TokenHash.Of("w" + i), 0.9f)), 1_000_000);
        Assert.Equal(1_000_000, table.Count);
        Assert.True(table.MemoryBytes <= 100L * 1024 * 1024, $"{table.MemoryBytes} bytes");
        Assert.Equal(0.9f, table.Get(TokenHash.Of("w777")));
        Assert.Equal(0f, table.Get(TokenHash.Of("unknown")));
    }

    [Fact]
    public async Task A_swap_while_classifying_gives_each_message_one_whole_database()
    {
        // two databases that say opposite things about every pair of the message
        var words = W("alpha beta gamma delta epsilon zeta eta theta iota kappa");
        Dictionary<string, double> Pairs(double p) => Enumerable.Range(1, words.Count - 1).ToDictionary(i => words[i - 1] + " " + words[i], _ => p);
        var spammy = SpamDbStore.InMemory(Pairs(0.99), new Dictionary<ulong, double>(), 1, 1);
        var hammy = SpamDbStore.InMemory(Pairs(0.01), new Dictionary<ulong, double>(), 1, 2);
        using var store = new MemoryStore();
        var provider = new SpamDbProvider(store);
        provider.Publish(spammy);
        int mixed = 0, done = 0;
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var p = Classifier.Bayes(provider.Current, words, default, 60).Probability;
                if (p is > 0.001 and < 0.999) Interlocked.Increment(ref mixed);
                Interlocked.Increment(ref done);
            }
        })).ToArray();
        for (int i = 0; i < 2000; i++) provider.Publish(i % 2 == 0 ? hammy : spammy);
        while (Volatile.Read(ref done) < 1000) Thread.Yield();
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.Equal(0, mixed);
    }

    [Fact]
    public void The_provider_loads_a_newer_generation_written_by_another_node()
    {
        using var store = new MemoryStore();
        var node = new SpamDbProvider(store);
        Assert.False(node.Current.HasBayes);
        SpamDbStore.Save(store, new Dictionary<string, double> { ["aa bb"] = 0.9 }, new Dictionary<ulong, double>(), 1, writeHmm: true);
        Assert.True(node.Refresh());
        Assert.True(node.Current.HasBayes);
        Assert.False(node.Refresh());
    }

    [Fact]
    public void Disclaimers_compile_to_one_whitespace_tolerant_regex()
    {
        var re = CorpusRebuild.CompileDisclaimers("# company disclaimer\nThis e-mail is confidential.\n.\nSent from my phone\n");
        Assert.NotNull(re);
        Assert.Matches(re!, "x This  e-mail\nis confidential. y");
        Assert.Matches(re!, "Sent from my phone");
        Assert.Null(CorpusRebuild.CompileDisclaimers("# only a comment\n"));
    }
}
