using System.Text;
using Assp.Bayes;
using Assp.Storage;

namespace Assp.Bayes.Tests;

/// <summary>spamdb.helo from the rebuild, and newReportedInterval's update of the database from newly reported files.</summary>
public sealed class IncrementalAndHeloTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("assp-bayes-inc-").FullName;

    public void Dispose() => Directory.Delete(_base, recursive: true);

    private string Folder(string name)
    {
        var path = Path.Combine(_base, name);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string Mail(string folder, string name, string body, string helo = "mx.sender.example", string ip = "198.51.100.7")
    {
        var path = Path.Combine(folder, name + ".eml");
        File.WriteAllText(path,
            $"Received: from host.example ([{ip}] helo={helo})\r\n\tby assp.local.example with ESMTP; Sun, 22 Nov 2026 02:00:00 +0000\r\n" +
            $"From: someone@sender.example\r\nTo: alice@local.example\r\nSubject: test {name}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n", Encoding.ASCII);
        return path;
    }

    private RebuildOptions Options(bool keep = true) => new()
    {
        Folders =
        [
            new CorpusFolder("correctedspam", Folder("errors/spam"), true, 2),
            new CorpusFolder("correctednotspam", Folder("errors/notspam"), false, 4),
            new CorpusFolder("spamlog", Folder("spam"), true, 1),
            new CorpusFolder("notspamlog", Folder("notspam"), false, 1),
        ],
        KeepWeights = keep,
    };

    private void FillCorpus()
    {
        for (int i = 0; i < 6; i++)
        {
            Mail(Folder("spam"), "s" + i, $"buy cheap pills now online pharmacy no prescription offer {i}", helo: "bulk.spammer.example");
            Mail(Folder("notspam"), "h" + i, $"the project budget meeting is on thursday afternoon notes {i}", helo: "mail.partner.example");
        }
    }

    [Theory]
    [InlineData(5, 0, 1.0)]       // spam only: 5 / 5.1 > 0.98 → blacklisted
    [InlineData(4, 0, null)]      // 4 / 4.1 = 0.976: not enough
    [InlineData(0, 4, 0.2)]       // ham only, more than 3: 0.2 - 0 → known good
    [InlineData(0, 3, null)]      // not more than 3 ham
    [InlineData(1, 30, 0.11)]     // 1 / 11.1 = 0.09 → 0.2 - 0.09
    [InlineData(5, 5, null)]      // mixed: nothing
    public void Helo_weight_follows_the_reference_thresholds(double spam, double ham, double? expected) =>
        Assert.Equal(expected, HeloWeights.Weight(spam, ham));

    [Fact]
    public void SenderHelo_reads_our_Received_header_and_ignores_private_senders()
    {
        var raw = "Received: from x ([203.0.113.9] helo=Mail.Example.COM)\r\n\tby me\r\nSubject: s\r\n\r\nbody\r\n"u8.ToArray();
        Assert.Equal("mail.example.com", HeloWeights.SenderHelo(Assp.Mime.MimeParser.Parse(raw)));
        var local = "Received: from x ([192.168.1.9] helo=pc.lan)\r\n\tby me\r\nSubject: s\r\n\r\nbody\r\n"u8.ToArray();
        Assert.Null(HeloWeights.SenderHelo(Assp.Mime.MimeParser.Parse(local)));
        Assert.Null(HeloWeights.SenderHelo(Assp.Mime.MimeParser.Parse("Subject: s\r\n\r\nbody\r\n"u8.ToArray())));
    }

    [Fact]
    public void Rebuild_writes_spamdb_helo_and_ReplaceOldSpamdb_decides_whether_old_records_stay()
    {
        FillCorpus();
        using var store = new MemoryStore();
        var helo = store.Table(StoreTables.SpamDbHelo);
        helo.Set("stale.example", "1");
        var summary = CorpusRebuild.Run(Options(), store);
        Assert.Equal(2, summary.HeloRecords);
        Assert.True(helo.TryGetValue("bulk.spammer.example", out var bad));
        Assert.Equal("1", bad);
        Assert.True(helo.TryGetValue("mail.partner.example", out var good));
        Assert.Equal("0.2", good);
        Assert.False(helo.ContainsKey("stale.example"));    // replaced

        helo.Set("stale.example", "1");
        CorpusRebuild.Run(Options() with { ReplaceOldSpamdb = false }, store);
        Assert.True(helo.ContainsKey("stale.example"));     // added to

        helo.Clear();
        CorpusRebuild.Run(Options() with { TestMode = true }, store);
        Assert.Equal(0, helo.Count);                         // RebuildTestMode writes nothing
    }

    [Fact]
    public void ReplaceOldSpamdb_off_writes_the_new_pairs_over_spamdb_and_keeps_the_old_ones()
    {
        FillCorpus();
        using var store = new MemoryStore();
        var spamdb = store.Table(StoreTables.SpamDb);
        spamdb.Set("stale pair", "0.9900000");
        var replaced = CorpusRebuild.Run(Options(), store);
        Assert.False(spamdb.ContainsKey("stale pair"));                     // replaced (the default)
        Assert.Equal(0, SpamDbProvider.For(store).Current.Bayes.Get(TokenHash.Of("stale pair")));

        spamdb.Set("stale pair", "0.9900000");
        var added = CorpusRebuild.Run(Options() with { ReplaceOldSpamdb = false }, store);
        Assert.True(spamdb.ContainsKey("stale pair"));                      // added to
        Assert.Equal(replaced.BayesRecords + 1, added.BayesRecords);        // "now in list" counts the old record too
        var db = SpamDbProvider.For(store).Current;
        Assert.Equal(0.99f, db.Bayes.Get(TokenHash.Of("stale pair")), 5);   // and the filter in use knows it
        Assert.Equal(added.Generation, db.Generation);
        Assert.True(db.Bayes.Count >= replaced.BayesRecords + 1);
    }

    [Fact]
    public void Newly_reported_files_update_the_database_like_a_full_rebuild_without_reading_the_corpus_again()
    {
        FillCorpus();
        using var store = new MemoryStore();
        var summary = CorpusRebuild.Run(Options(), store);
        Assert.NotNull(summary.Weights);
        var db = SpamDbProvider.For(store).Current;
        Assert.Equal(0, db.Bayes.Get(Classifier.PairHash(TokenHash.Seed, "quarterly", "invoice")));

        // A user reports a spam the filter did not know; the corpus files are not read again (one is deleted to show it).
        var reported = Mail(Folder("errors/spam"), "r1", "quarterly invoice attached open the quarterly invoice now", helo: "bulk.spammer.example");
        File.Delete(Path.Combine(Folder("notspam"), "h0.eml"));
        int added = CorpusRebuild.AddReported(summary.Weights!, [(reported, true, 2.0)], Options(), store);
        Assert.Equal(1, added);

        var updated = SpamDbProvider.For(store).Current;
        Assert.True(updated.Generation > db.Generation);
        Assert.True(updated.Bayes.Get(Classifier.PairHash(TokenHash.Seed, "quarterly", "invoice")) > 0.9);
        // untouched records stay as they were: h0's words are still known although the file is gone
        Assert.True(store.Table(StoreTables.SpamDb).ContainsKey("budget meeting"));

        // The result equals a full rebuild over the same files (h0 restored), record for record in spamdb.
        Mail(Folder("notspam"), "h0", "the project budget meeting is on thursday afternoon notes 0", helo: "mail.partner.example");
        using var full = new MemoryStore();
        CorpusRebuild.Run(Options(keep: false), full);
        var a = store.Table(StoreTables.SpamDb).Scan().Where(kv => !kv.Key.StartsWith("***", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value.Value);
        var b = full.Table(StoreTables.SpamDb).Scan().Where(kv => !kv.Key.StartsWith("***", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value.Value);
        Assert.Equal(b.OrderBy(kv => kv.Key), a.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void Newly_reported_files_also_relearn_the_BayesAlgorithm_2_regression_over_every_message()
    {
        FillCorpus();
        var options = Options() with { BuildRegression = true };
        using var store = new MemoryStore();
        var summary = CorpusRebuild.Run(options, store);
        var before = SpamDbProvider.For(store).Current.Regression;
        Assert.False(before.IsEmpty);
        // The order the rebuild read the corpus in, before the report arrives.
        var corpus = options.Folders.SelectMany(f => CorpusRebuild.ListFiles(f.Path, options.MaxFiles).Select(file => (file, f.IsSpam, f.Weight))).ToList();

        var reported = Mail(Folder("errors/spam"), "r1", "quarterly invoice attached open the quarterly invoice now", helo: "bulk.spammer.example");
        Assert.Equal(1, CorpusRebuild.AddReported(summary.Weights!, [(reported, true, 2.0)], options, store));

        // What the store now holds is the regression learnt over the rebuild's messages and then the reported one.
        var expectedTrainer = new FeatureRegression.Trainer();
        var featureOptions = options with { BuildFeatures = true };
        foreach (var (file, isSpam, weight) in corpus.Append((reported, true, 2.0)))
            expectedTrainer.Add(CorpusRebuild.Tokenize(file, featureOptions).Features!, isSpam, weight);
        var expected = expectedTrainer.Train();
        var stored = SpamDbStore.LoadRegression(store.Table(SpamDbStore.RegressionTable));
        Assert.Equal(expected.Bias, stored.Bias, 12);
        Assert.Equal(expected.Weights.Entries().OrderBy(e => e.Key), stored.Weights.Entries().OrderBy(e => e.Key));
        Assert.NotEqual(before.Bias, stored.Bias);

        // And the filter in use has it: the reported message now leans further towards spam.
        var reportedFeatures = CorpusRebuild.Tokenize(reported, featureOptions).Features!;
        var now = SpamDbProvider.For(store).Current.Regression;
        Assert.True(now.LogOdds(reportedFeatures) > before.LogOdds(reportedFeatures));
    }

    private static string WithPicture(string folder, string name, string body, byte[] picture)
    {
        var path = Path.Combine(folder, name + ".eml");
        File.WriteAllText(path,
            "Received: from host.example ([198.51.100.7] helo=mx.sender.example)\r\n\tby assp.local.example with ESMTP; Sun, 22 Nov 2026 02:00:00 +0000\r\n"
            + $"From: someone@sender.example\r\nTo: alice@local.example\r\nSubject: test {name}\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n"
            + "--B\r\nContent-Type: image/png; name=\"p.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + Convert.ToBase64String(picture, Base64FormattingOptions.InsertLineBreaks) + "\r\n--B--\r\n", Encoding.ASCII);
        return path;
    }

    [Fact]
    public void ASSP_AFCDetectSpamAttachRe_makes_the_rebuild_learn_the_pictures_of_the_corpus_by_ASSPs_key()
    {
        // Larger than the words' MaxBytes: the key needs the whole picture.
        var spamPicture = Enumerable.Range(0, 9000).Select(i => (byte)(i * 13 + 1)).ToArray();
        var hamPicture = Enumerable.Range(0, 9000).Select(i => (byte)(i * 17 + 5)).ToArray();
        for (int i = 0; i < 4; i++)
        {
            WithPicture(Folder("spam"), "s" + i, $"hot offer number {i}", spamPicture);
            WithPicture(Folder("notspam"), "h" + i, $"holiday photos from the team {i}", hamPicture);
        }
        static string Key(byte[] b) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(b.AsSpan(0, 512))) + " " + b.Length;
        var options = Options() with { SpamAttachmentType = t => t.StartsWith("image/", StringComparison.OrdinalIgnoreCase), DoPrivatSpamdb = 1,
            IsLocalAddress = a => a.EndsWith("@local.example", StringComparison.Ordinal) };
        using var store = new MemoryStore();
        CorpusRebuild.Run(options, store);
        var spamdb = store.Table(StoreTables.SpamDb);
        Assert.True(spamdb.TryGetValue(Key(spamPicture), out var spamP));
        Assert.True(double.Parse(spamP, System.Globalization.CultureInfo.InvariantCulture) > 0.9);
        Assert.True(spamdb.TryGetValue(Key(hamPicture), out var hamP));
        Assert.True(double.Parse(hamP, System.Globalization.CultureInfo.InvariantCulture) < 0.1);
        Assert.True(spamdb.ContainsKey("alice@local.example " + Key(spamPicture)));    // the private copy
        Assert.True(SpamDbProvider.For(store).Current.Bayes.Get(TokenHash.Of(Key(spamPicture))) > 0.9);

        using var without = new MemoryStore();
        CorpusRebuild.Run(Options(), without);
        Assert.False(without.Table(StoreTables.SpamDb).ContainsKey(Key(spamPicture)));
    }

    /// <summary>Each read moves the clock on by a step: every corpus file seems to take at least that long.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }

    [Fact]
    public void RebuildFileTimeLimit_names_slow_files_and_moves_those_over_the_second_limit_after_using_them()
    {
        FillCorpus();
        var slowFolder = Path.Combine(_base, "rebuild_error");
        using (var store = new MemoryStore())
        {
            var logged = CorpusRebuild.Run(Options() with { SlowFileLog = TimeSpan.FromSeconds(1), SlowFileFolder = slowFolder,
                Clock = new SteppingClock(TimeSpan.FromSeconds(2)) }, store);
            Assert.Equal(12, logged.SlowFiles.Count);
            Assert.All(logged.SlowFiles, f => Assert.Null(f.MovedTo));
            Assert.False(Directory.Exists(slowFolder));
        }
        using (var store = new MemoryStore())
        {
            // No limit set: however slow, nothing is said.
            Assert.Empty(CorpusRebuild.Run(Options() with { Clock = new SteppingClock(TimeSpan.FromSeconds(60)) }, store).SlowFiles);
        }
        using (var store = new MemoryStore())
        {
            var moved = CorpusRebuild.Run(Options() with { SlowFileLog = TimeSpan.FromSeconds(1), SlowFileMove = TimeSpan.FromSeconds(5),
                SlowFileFolder = slowFolder, Clock = new SteppingClock(TimeSpan.FromSeconds(6)) }, store);
            // This rebuild still learnt from them; the next one will not read them again.
            Assert.Equal(6, moved.Folders.Single(f => f.Option == "spamlog").Files);
            Assert.True(store.Table(StoreTables.SpamDb).ContainsKey("online pharmacy"));
            Assert.All(moved.SlowFiles, f => Assert.Equal(
                Path.Combine(slowFolder, Path.GetRelativePath(_base, Path.GetDirectoryName(f.File)!), Path.GetFileName(f.File)), f.MovedTo));
            Assert.Equal(6, Directory.GetFiles(Path.Combine(slowFolder, "spam")).Length);
            Assert.Equal(6, Directory.GetFiles(Path.Combine(slowFolder, "notspam")).Length);
            Assert.Empty(Directory.GetFiles(Folder("spam")));
        }
    }

    [Fact]
    public void doMove2Num_renames_the_corpus_files_to_free_numbers_and_leaves_numbered_ones()
    {
        var folder = Folder("spam");
        Mail(folder, "1", "first numbered");
        Mail(folder, "3", "third numbered");
        Mail(folder, "zz-offer", "offer");
        Mail(folder, "aa-deal", "deal");
        File.WriteAllText(Path.Combine(folder, ".hidden"), "x");
        Assert.Equal(2, CorpusRebuild.MoveToNumbers(folder, ".eml", 14000));
        Assert.Equal(["1.eml", "2.eml", "3.eml", "4.eml"],
            Directory.GetFiles(folder).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Order(StringComparer.Ordinal));
        Assert.Contains("deal", File.ReadAllText(Path.Combine(folder, "2.eml")));    // in name order
        Assert.Contains("offer", File.ReadAllText(Path.Combine(folder, "4.eml")));

        // A number at or above MaxFiles is renamed too, to the next free one below it.
        Mail(folder, "7", "seventh");
        Assert.Equal(1, CorpusRebuild.MoveToNumbers(folder, ".eml", 6));
        Assert.Equal(5, Directory.GetFiles(folder, "*.eml").Length);
        Assert.True(File.Exists(Path.Combine(folder, "5.eml")));

        // Through the rebuild, and never in RebuildTestMode.
        Mail(folder, "named", "named again");
        using var store = new MemoryStore();
        Assert.Equal(0, CorpusRebuild.Run(Options() with { MoveToNumbers = true, TestMode = true }, store).RenamedToNumbers);
        Assert.Equal(1, CorpusRebuild.Run(Options() with { MoveToNumbers = true }, store).RenamedToNumbers);
        Assert.False(File.Exists(Path.Combine(folder, "named.eml")));
    }

    [Fact]
    public void NewFiles_lists_only_files_written_after_the_last_run()
    {
        var folder = Folder("errors/notspam");
        var old = Mail(folder, "old", "x y z");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));
        var fresh = Mail(folder, "new", "x y z");
        Assert.Equal([fresh], CorpusMaintenance.NewFiles(folder, DateTimeOffset.UtcNow.AddHours(-1)));
        Assert.Empty(CorpusMaintenance.NewFiles(Path.Combine(_base, "missing"), DateTimeOffset.UtcNow));
    }
}
