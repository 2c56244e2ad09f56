using System.Text;
using Assp.Bayes;
using Assp.Storage;

namespace Assp.Bayes.Tests;

public sealed class RebuildTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("assp-bayes-").FullName;

    public void Dispose() => Directory.Delete(_base, recursive: true);

    private string Folder(string name)
    {
        var path = Path.Combine(_base, name);
        Directory.CreateDirectory(path);
        return path;
    }

    private static void Mail(string folder, string name, string subject, string body, string to = "alice@local.example") =>
        File.WriteAllText(Path.Combine(folder, name + ".eml"),
            $"From: someone@sender.example\r\nTo: {to}\r\nSubject: {subject}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n", Encoding.ASCII);

    private RebuildOptions Options(bool features = false) => new()
    {
        Folders =
        [
            new CorpusFolder("correctedspam", Folder("errors/spam"), true, 2),
            new CorpusFolder("correctednotspam", Folder("errors/notspam"), false, 4),
            new CorpusFolder("spamlog", Folder("spam"), true, 1),
            new CorpusFolder("notspamlog", Folder("notspam"), false, 1),
        ],
        BuildFeatures = features,
        DoPrivatSpamdb = 3,
        IsLocalAddress = a => a.EndsWith("@local.example", StringComparison.Ordinal),
        IsLocalDomain = d => d == "local.example",
        Disclaimer = CorpusRebuild.CompileDisclaimers("Confidential notice from our lawyers"),
    };

    private void FillCorpus()
    {
        for (int i = 0; i < 6; i++)
        {
            Mail(Folder("spam"), "s" + i, "cheap pills now", $"buy cheap pills now online pharmacy no prescription offer {i}");
            Mail(Folder("notspam"), "h" + i, "project budget", $"the project budget meeting is on thursday afternoon notes {i} Confidential notice from our lawyers");
        }
        Mail(Folder("errors/notspam"), "fp", "weekly newsletter", "weekly newsletter from the club with the schedule");
    }

    [Fact]
    public void Rebuild_reads_the_folders_writes_the_store_and_swaps_the_database_in()
    {
        FillCorpus();
        using var store = new MemoryStore();
        var seen = new List<RebuildProgress>();
        var summary = CorpusRebuild.Run(Options(features: true), store, new SyncProgress(seen.Add));
        Assert.Equal([0, 1, 6, 6], summary.Folders.Select(f => f.Files));
        Assert.True(summary.Written);
        Assert.True(summary.BayesRecords > 0 && summary.HmmRecords > 0);
        Assert.Equal(summary.Generation, SpamDbStore.ReadGeneration(store));
        Assert.Equal("done", seen[^1].Stage);

        var db = SpamDbProvider.For(store).Current;
        Assert.Equal(summary.Generation, db.Generation);
        Assert.True(db.Features.Count > 0);
        var spam = Classifier.Bayes(db, Tokenizer.Words("buy cheap pills now online pharmacy"), default, 60);
        Assert.True(spam.Probability > 0.9);
        // the disclaimer was removed before training: its words are not in spamdb
        Assert.False(store.Table(StoreTables.SpamDb).ContainsKey("confidential notice"));
        // private entries for the local recipient and domain
        Assert.True(store.Table(StoreTables.SpamDb).ContainsKey("alice@local.example cheap pills"));
        Assert.True(store.Table(StoreTables.SpamDb).ContainsKey("@local.example cheap pills"));
    }

    [Fact]
    public void Test_mode_builds_but_does_not_write()
    {
        FillCorpus();
        using var store = new MemoryStore();
        var summary = CorpusRebuild.Run(Options() with { TestMode = true }, store);
        Assert.False(summary.Written);
        Assert.Equal(0, store.Table(StoreTables.SpamDb).Count);
    }

    [Fact]
    public void MaxFiles_keeps_the_newest_files()
    {
        var spam = Folder("spam");
        for (int i = 0; i < 5; i++)
        {
            Mail(spam, "m" + i, "s", "body");
            File.SetLastWriteTimeUtc(Path.Combine(spam, $"m{i}.eml"), DateTime.UtcNow.AddDays(-i));
        }
        var files = CorpusRebuild.ListFiles(spam, 2);
        Assert.Equal(["m0.eml", "m1.eml"], files.Select(Path.GetFileName));
        Assert.Empty(CorpusRebuild.ListFiles(Path.Combine(_base, "missing"), 10));
    }

    [Fact]
    public void AutoCorrect_deletes_the_oldest_ham_when_the_corpus_is_ham_heavy()
    {
        var ham = Folder("notspam");
        for (int i = 0; i < 10; i++)
        {
            Mail(ham, "h" + i, "s", "b");
            File.SetLastWriteTimeUtc(Path.Combine(ham, $"h{i}.eml"), DateTime.UtcNow.AddDays(-30 - i));
        }
        var rule = AutoCorrectRule.Parse("0.6-1.4-7-14")!;
        Assert.Null(CorpusMaintenance.AutoCorrect(rule, 1.0, Folder("spam"), ham, DateTimeOffset.UtcNow));
        var result = CorpusMaintenance.AutoCorrect(rule, 0.3, Folder("spam"), ham, DateTimeOffset.UtcNow);
        // 40% of 10 would be 4, but 7 files must stay
        Assert.Equal(3, result!.Value.Deleted);
        Assert.False(File.Exists(Path.Combine(ham, "h9.eml")));
        Assert.True(File.Exists(Path.Combine(ham, "h0.eml")));
        Assert.Null(AutoCorrectRule.Parse(""));
        Assert.Null(AutoCorrectRule.Parse("1.4-0.6-7-14"));
    }

    private sealed class SyncProgress(Action<RebuildProgress> report) : IProgress<RebuildProgress>
    {
        public void Report(RebuildProgress value) => report(value);
    }
}
