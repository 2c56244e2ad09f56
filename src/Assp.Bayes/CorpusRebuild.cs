using System.Diagnostics;
using System.Text.RegularExpressions;
using Assp.Storage;

namespace Assp.Bayes;

/// <summary>A corpus folder and how its files count: spam or ham, with ASSP's weight (corrected folders count more).</summary>
public sealed record CorpusFolder(string Option, string Path, bool IsSpam, double Weight);

/// <summary>What the rebuild needs from the configuration (ASSP's option names in the comments).</summary>
public sealed record RebuildOptions
{
    /// <summary>correctedspam (×2), correctednotspam (×4), spamlog, notspamlog — in ASSP's order.</summary>
    public required IReadOnlyList<CorpusFolder> Folders { get; init; }
    /// <summary>MaxBytes: the bytes of each message body that are read.</summary>
    public int MaxBytes { get; init; } = 4000;
    /// <summary>MaxFiles: at most this many (newest) files of a folder are used.</summary>
    public int MaxFiles { get; init; } = 14000;
    /// <summary>DoHMM is on: build the HMM database too.</summary>
    public bool BuildHmm { get; init; } = true;
    /// <summary>BayesAlgorithm 1: also build the <see cref="EnhancedFilter"/> feature table.</summary>
    public bool BuildFeatures { get; init; }
    /// <summary>BayesAlgorithm 2: also learn the <see cref="FeatureRegression"/> weights on those features (implies
    /// <see cref="BuildFeatures"/>). Every message's features are kept (as indexes) until the weights are learnt.</summary>
    public bool BuildRegression { get; init; }
    /// <summary>DoPrivatSpamdb: 0 none, 1 users, 2 domains, 3 both.</summary>
    public int DoPrivatSpamdb { get; init; }
    /// <summary>Is this address a local user (private entries are only made for local recipients)?</summary>
    public Func<string, bool>? IsLocalAddress { get; init; }
    /// <summary>Is this domain local?</summary>
    public Func<string, bool>? IsLocalDomain { get; init; }
    /// <summary>The compiled disclaimers (files/disclaimer.txt), removed from the text before training.</summary>
    public Regex? Disclaimer { get; init; }
    /// <summary>RebuildTestMode: build and report, but do not write the database.</summary>
    public bool TestMode { get; init; }
    /// <summary>The extension of corpus files (maillogExt); files with other extensions are also read.</summary>
    public string Extension { get; init; } = ".eml";
    /// <summary>ReplaceOldSpamdb: the new spamdb and spamdb.helo records replace the old ones; off, they are written
    /// over them and old records the new corpus does not give stay (HMMdb is always replaced, as in ASSP).</summary>
    public bool ReplaceOldSpamdb { get; init; } = true;
    /// <summary>Keep the corpus weights after the rebuild (for newReportedInterval's incremental updates).</summary>
    public bool KeepWeights { get; init; }
    /// <summary>ASSP_AFCDetectSpamAttachRe (with DoASSP_AFC on): which Content-Type headers mark a part whose key is
    /// learnt; null: none.</summary>
    public Func<string, bool>? SpamAttachmentType { get; init; }
    /// <summary>RebuildFileTimeLimit: a corpus file that takes longer than this to read is named in the report (zero: never).</summary>
    public TimeSpan SlowFileLog { get; init; }
    /// <summary>RebuildFileTimeLimit's second value: such a file is moved to <see cref="SlowFileFolder"/> after this
    /// rebuild has used it, so later rebuilds do not pay for it again (zero: never).</summary>
    public TimeSpan SlowFileMove { get; init; }
    /// <summary>Where slow files go (ASSP's rebuild_error); null: they stay.</summary>
    public string? SlowFileFolder { get; init; }
    /// <summary>doMove2Num: rename the corpus files to numbers (1.eml, 2.eml, …) before the rebuild, as ASSP does
    /// (not in RebuildTestMode). Not recommended: the maillog and block reports then no longer find the files.</summary>
    public bool MoveToNumbers { get; init; }
    /// <summary>The clock that times each file (tests pass their own).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>A corpus file that took longer than RebuildFileTimeLimit allows; MovedTo is set when it was moved.</summary>
public sealed record SlowCorpusFile(string File, TimeSpan Took, string? MovedTo);

/// <summary>
/// The raw weights of a full rebuild (word pairs, HMM chains, HELOs, features), kept so newly reported files can be
/// added without reading the whole corpus again (ASSP's processing of new corrected files).
/// </summary>
public sealed record CorpusWeights(CorpusTrainer Trainer, HeloWeights Helos, EnhancedFilter.Trainer? Features, FeatureRegression.Trainer? Regression = null);

/// <summary>Progress of a running rebuild: files done of the total, and what is happening.</summary>
public readonly record struct RebuildProgress(int Done, int Total, string Stage);

/// <summary>The result of a rebuild, as the CLI summary table and rebuildrun.txt show it.</summary>
public sealed record RebuildSummary(
    IReadOnlyList<(string Option, string Path, int Files)> Folders,
    double SpamWeight, double HamWeight, double Norm, int BayesRecords, int HmmRecords, long Generation,
    TimeSpan Elapsed, long DatabaseBytes, int UnreadableFiles, bool Written)
{
    /// <summary>Records written to spamdb.helo (known bad and known good HELOs).</summary>
    public int HeloRecords { get; init; }
    /// <summary>doMove2Num: how many files were renamed to numbers.</summary>
    public int RenamedToNumbers { get; init; }
    /// <summary>RebuildFileTimeLimit: the files that took too long.</summary>
    public IReadOnlyList<SlowCorpusFile> SlowFiles { get; init; } = [];
    /// <summary>The corpus weights of this rebuild, when <see cref="RebuildOptions.KeepWeights"/> asked for them.</summary>
    public CorpusWeights? Weights { get; init; }
    /// <summary>ASSP's wording for the corpus norm.</summary>
    public string NormDescription => Norm switch
    {
        < 0.6 => "warning: extremely ham heavy",
        < 0.9 => "ok - slightly ham heavy",
        < 1.1 => "very good - balanced",
        < 1.4 => "ok - slightly spam heavy",
        _ => "warning: extremely spam heavy",
    };
}

/// <summary>
/// ASSP's rebuildspamdb: reads the corpus folders, trains the word-pair and HMM weights, turns them into
/// probabilities, writes spamdb and HMMdb to the store with a new generation, and swaps the new database into this
/// process's <see cref="SpamDbProvider"/> at once. Files are tokenized in parallel and added in folder order.
/// </summary>
public static partial class CorpusRebuild
{
    public static RebuildSummary Run(RebuildOptions options, IStore? store, IProgress<RebuildProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var trainer = new CorpusTrainer(options.BuildHmm);
        var helos = new HeloWeights();
        if (options.BuildRegression) options = options with { BuildFeatures = true };
        var featureTrainer = options.BuildFeatures ? new EnhancedFilter.Trainer() : null;
        int renamed = options.MoveToNumbers && !options.TestMode ? options.Folders.Sum(f => MoveToNumbers(f.Path, options.Extension, options.MaxFiles)) : 0;
        var regressionTrainer = options.BuildRegression ? new FeatureRegression.Trainer() : null;
        var folderFiles = options.Folders.Select(f => (Folder: f, Files: ListFiles(f.Path, options.MaxFiles))).ToList();
        int total = folderFiles.Sum(f => f.Files.Count), done = 0, unreadable = 0;
        var slow = new List<(string File, string Folder, TimeSpan Took)>();
        var counts = new List<(string, string, int)>();
        progress?.Report(new RebuildProgress(0, total, "reading the corpus"));
        foreach (var (folder, files) in folderFiles)
        {
            var tokenized = new (List<string>? Words, PrivateScope Scope, HashSet<ulong>? Features, string? Helo, List<string>? Attachments)[files.Count];
            var took = new TimeSpan[files.Count];
            Parallel.For(0, files.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
                i =>
                {
                    long started = options.Clock.GetTimestamp();
                    // One file whose text trips a regex time limit (hostile content, or a starved machine) is skipped
                    // like an unreadable one; it must not end the whole rebuild.
                    try { tokenized[i] = Tokenize(files[i], options); }
                    catch (RegexMatchTimeoutException) { tokenized[i] = (null, default, null, null, null); }
                    took[i] = options.Clock.GetElapsedTime(started);
                });
            for (int i = 0; i < files.Count; i++)
                if (options.SlowFileLog > TimeSpan.Zero && took[i] > options.SlowFileLog || options.SlowFileMove > TimeSpan.Zero && took[i] > options.SlowFileMove)
                    slow.Add((files[i], folder.Path, took[i]));
            int used = 0;
            foreach (var (words, scope, messageFeatures, helo, attachments) in tokenized)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (words is null) unreadable++;
                else
                {
                    if (attachments is { Count: > 0 }) trainer.AddAttachments(attachments, folder.IsSpam, folder.Weight, scope);
                    trainer.Add(words, folder.IsSpam, folder.Weight, scope);
                    if (helo is not null) helos.Add(helo, folder.IsSpam, folder.Weight);
                    if (messageFeatures is not null)
                    {
                        featureTrainer?.Add(messageFeatures, folder.IsSpam, folder.Weight);
                        regressionTrainer?.Add(messageFeatures, folder.IsSpam, folder.Weight);
                    }
                    used++;
                }
                if (++done % 100 == 0) progress?.Report(new RebuildProgress(done, total, "reading " + folder.Option));
            }
            counts.Add((folder.Option, folder.Path, used));
        }
        progress?.Report(new RebuildProgress(done, total, "computing probabilities"));
        var bayes = trainer.BuildBayes();
        var hmm = options.BuildHmm ? trainer.BuildHmm() : [];
        var features = featureTrainer?.Build();
        if (regressionTrainer is not null) progress?.Report(new RebuildProgress(done, total, "learning the regression weights"));
        var regression = regressionTrainer?.Train();
        long generation = 0;
        int heloRecords = 0, bayesRecords = bayes.Count;
        bool written = false;
        SpamDatabase db;
        if (store is not null && !options.TestMode)
        {
            progress?.Report(new RebuildProgress(done, total, "writing spamdb and HMMdb"));
            generation = SpamDbStore.Save(store, bayes, hmm, trainer.Norm, options.BuildHmm, features: features, replaceSpamdb: options.ReplaceOldSpamdb,
                regression: regression);
            // Added to the old records, spamdb holds more than this corpus gave: what the filter uses is read back.
            db = options.ReplaceOldSpamdb ? SpamDbStore.InMemory(bayes, hmm, trainer.Norm, generation, features, regression) : SpamDbStore.Load(store);
            bayesRecords = options.ReplaceOldSpamdb ? bayes.Count : SpamDbStore.BayesRecordCount(store);
            SpamDbProvider.For(store).Publish(db);
            heloRecords = helos.Save(store, options.ReplaceOldSpamdb);
            written = true;
        }
        else db = SpamDbStore.InMemory(bayes, hmm, trainer.Norm, generation, features, regression);
        var slowFiles = MoveSlowFiles(slow, options);
        progress?.Report(new RebuildProgress(total, total, "done"));
        return new RebuildSummary(counts, trainer.SpamWeight, trainer.HamWeight, trainer.Norm, bayesRecords, hmm.Count, generation,
            clock.Elapsed, db.MemoryBytes, unreadable, written)
        {
            HeloRecords = heloRecords,
            SlowFiles = slowFiles,
            RenamedToNumbers = renamed,
            Weights = options.KeepWeights ? new CorpusWeights(trainer, helos, featureTrainer, regressionTrainer) : null,
        };
    }

    /// <summary>
    /// newReportedInterval's update: adds newly reported files (corrected folders, their weights) to the weights of
    /// the last full rebuild without reading the corpus again, and writes only the spamdb and HMMdb records they
    /// change, as ASSP does; spamdb.helo is written again from the updated HELO counts. The new database is loaded
    /// from the store and swapped in. Returns the number of files added.
    /// </summary>
    public static int AddReported(CorpusWeights weights, IReadOnlyList<(string File, bool IsSpam, double Weight)> files, RebuildOptions options,
        IStore store, CancellationToken cancellationToken = default)
    {
        var tokenized = new (List<string>? Words, PrivateScope Scope, HashSet<ulong>? Features, string? Helo, List<string>? Attachments)[files.Count];
        var featureOptions = options with { BuildFeatures = weights.Features is not null };
        Parallel.For(0, files.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => tokenized[i] = Tokenize(files[i].File, featureOptions));
        int added = 0;
        lock (weights)
        {
            weights.Trainer.TrackChanges();
            for (int i = 0; i < files.Count; i++)
            {
                var (words, scope, features, helo, attachments) = tokenized[i];
                if (words is null) continue;
                if (attachments is { Count: > 0 }) weights.Trainer.AddAttachments(attachments, files[i].IsSpam, files[i].Weight, scope);
                weights.Trainer.Add(words, files[i].IsSpam, files[i].Weight, scope);
                if (features is not null)
                {
                    weights.Features?.Add(features, files[i].IsSpam, files[i].Weight);
                    weights.Regression?.Add(features, files[i].IsSpam, files[i].Weight);
                }
                if (helo is not null) weights.Helos.Add(helo, files[i].IsSpam, files[i].Weight);
                added++;
            }
            if (added == 0 || options.TestMode) return added;
            var (bayes, hmm) = weights.Trainer.TakeChanges();
            // BayesAlgorithm 2: the regression is learnt again over every message, the reported ones included (it
            // takes about a second for a few thousand messages, and the weights equal what a rebuild in this order gives).
            SpamDbStore.ApplyChanges(store, bayes, options.BuildHmm ? hmm : new Dictionary<ulong, double?>(), weights.Trainer.Norm, weights.Features?.Build(),
                weights.Regression?.Train());
            weights.Helos.Save(store, options.ReplaceOldSpamdb);
        }
        SpamDbProvider.For(store).Publish(SpamDbStore.Load(store));
        return added;
    }

    /// <summary>
    /// doMove2Num for one folder: every file not already named "&lt;n&gt;&lt;ext&gt;" with n below MaxFiles gets the next
    /// free number; with no number left below MaxFiles a random one is taken and that file is replaced, as in ASSP.
    /// Returns how many files were renamed.
    /// </summary>
    public static int MoveToNumbers(string folder, string extension, int maxFiles)
    {
        if (!Directory.Exists(folder)) return 0;
        int limit = maxFiles > 1 ? maxFiles : int.MaxValue;
        bool IsNumbered(string name, out int n)
        {
            n = 0;
            return name.EndsWith(extension, StringComparison.OrdinalIgnoreCase)
                && int.TryParse(name.AsSpan(0, name.Length - extension.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n)
                && n > 0 && n < limit;
        }
        var taken = new HashSet<int>();
        var toRename = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith('.')) continue;
            if (IsNumbered(name, out int n)) taken.Add(n);
            else toRename.Add(file);
        }
        int next = 1, renamed = 0;
        foreach (var file in toRename)
        {
            while (taken.Contains(next)) next++;
            int number = next < limit ? next : Random.Shared.Next(1, limit);
            try
            {
                File.Move(file, Path.Combine(folder, number.ToString(System.Globalization.CultureInfo.InvariantCulture) + extension), overwrite: true);
                taken.Add(number);
                renamed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file in use keeps its name; the rebuild reads it as it is.
            }
        }
        return renamed;
    }

    /// <summary>RebuildFileTimeLimit: files over the second limit go to the slow-file folder (not in RebuildTestMode).</summary>
    private static List<SlowCorpusFile> MoveSlowFiles(List<(string File, string Folder, TimeSpan Took)> slow, RebuildOptions options)
    {
        var result = new List<SlowCorpusFile>(slow.Count);
        foreach (var (file, corpusFolder, took) in slow)
        {
            string? movedTo = null;
            if (options.SlowFileMove > TimeSpan.Zero && took > options.SlowFileMove && options.SlowFileFolder is { } slowFolder && !options.TestMode)
            {
                try
                {
                    // As ASSP: rebuild_error/<corpus folder>/<file>, where a block report's resend still looks.
                    var relative = Path.GetRelativePath(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(slowFolder)) ?? slowFolder, corpusFolder);
                    if (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
                        relative = Path.GetFileName(Path.TrimEndingDirectorySeparator(corpusFolder));
                    var folder = Path.Combine(slowFolder, relative);
                    Directory.CreateDirectory(folder);
                    var target = Path.Combine(folder, Path.GetFileName(file));
                    File.Move(file, target, overwrite: true);
                    movedTo = target;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The file stays where it is; the report still names it.
                }
            }
            result.Add(new SlowCorpusFile(file, took, movedTo));
        }
        return result;
    }

    /// <summary>The newest <paramref name="maxFiles"/> files of a folder (none when it does not exist).</summary>
    public static IReadOnlyList<string> ListFiles(string path, int maxFiles)
    {
        if (!Directory.Exists(path)) return [];
        var files = new DirectoryInfo(path).EnumerateFiles("*", SearchOption.TopDirectoryOnly)
            .Where(f => !f.Name.StartsWith('.'))
            .OrderByDescending(f => f.LastWriteTimeUtc).ThenBy(f => f.Name, StringComparer.Ordinal);
        return [.. (maxFiles > 0 ? files.Take(maxFiles) : files).Select(f => f.FullName)];
    }

    /// <summary>Reads one corpus file and returns its words and private scope; null words when it cannot be read.</summary>
    internal static (List<string>? Words, PrivateScope Scope, HashSet<ulong>? Features, string? Helo, List<string>? Attachments) Tokenize(string file, RebuildOptions options)
    {
        byte[] raw;
        try { raw = ReadStart(file, options.MaxBytes); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return (null, default, null, null, null); }
        var message = Assp.Mime.MimeParser.Parse(CorpusText.Limit(raw, options.MaxBytes));
        var scope = options.DoPrivatSpamdb == 0 ? default : ReportedScope(message, options);
        var text = CorpusText.FromMessage(message, options.MaxBytes);
        if (options.Disclaimer is { } disclaimer)
        {
            try { text = disclaimer.Replace(text, " "); }
            catch (RegexMatchTimeoutException) { /* a disclaimer regex too slow for this file: train on the text as it is */ }
        }
        var words = Tokenizer.Words(text);
        return (words, scope, options.BuildFeatures ? EnhancedFilter.Features(message, words) : null, HeloWeights.SenderHelo(message),
            options.SpamAttachmentType is { } type ? AttachmentKeys(file, raw, type) : null);
    }

    /// <summary>The attachment keys of a corpus file, from the whole file (the words come from its start only).</summary>
    private static List<string>? AttachmentKeys(string file, byte[] start, Func<string, bool> type)
    {
        try
        {
            var length = new FileInfo(file).Length;
            if (length > AttachmentHashes.MaxFileBytes) return null;
            var whole = length == start.Length ? start : File.ReadAllBytes(file);
            return AttachmentHashes.Of(Assp.Mime.MimeParser.Parse(whole), type);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or RegexMatchTimeoutException)
        {
            return null;
        }
    }

    /// <summary>The header plus MaxBytes of the body, without reading a huge file whole.</summary>
    private static byte[] ReadStart(string file, int maxBytes)
    {
        using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        long cap = maxBytes <= 0 ? fs.Length : Math.Min(fs.Length, 256 * 1024 + (long)maxBytes);
        var buffer = new byte[cap];
        int read = 0;
        while (read < buffer.Length)
        {
            int n = fs.Read(buffer, read, buffer.Length - read);
            if (n == 0) break;
            read += n;
        }
        return read == buffer.Length ? buffer : buffer[..read];
    }

    /// <summary>The user the message was reported for (X-Assp-Intended-For, else the first To address) when local.</summary>
    private static PrivateScope ReportedScope(Assp.Mime.MimeMessage message, RebuildOptions options)
    {
        string? address = null;
        if (message.Headers["X-Assp-Intended-For"] is { } intended && AddressRe().Match(intended) is { Success: true } m) address = m.Value;
        address ??= message.To.FirstOrDefault()?.Address;
        if (string.IsNullOrEmpty(address)) return default;
        address = address.ToLowerInvariant();
        int at = address.IndexOf('@');
        string? user = (options.DoPrivatSpamdb & 1) != 0 && options.IsLocalAddress?.Invoke(address) == true ? address : null;
        string? domain = options.DoPrivatSpamdb > 1 && at > 0 && options.IsLocalDomain?.Invoke(address[(at + 1)..]) == true ? address[at..] : null;
        return new PrivateScope(user, domain);
    }

    /// <summary>
    /// Compiles files/disclaimer.txt: disclaimers separated by a line holding a single ".", "#" lines are comments.
    /// Each disclaimer matches with any run of white space between its words. Null when there is none.
    /// </summary>
    public static Regex? CompileDisclaimers(string? fileText)
    {
        if (string.IsNullOrWhiteSpace(fileText)) return null;
        var parts = new List<string>();
        var current = new List<string>();
        foreach (var raw in fileText.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#')) continue;
            if (line.Trim() == ".") { Flush(); continue; }
            current.Add(line);
        }
        Flush();
        return parts.Count == 0 ? null : new Regex(string.Join("|", parts), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

        void Flush()
        {
            var words = string.Join(" ", current).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 0) parts.Add(string.Join(@"\s+", words.Select(Regex.Escape)));
            current.Clear();
        }
    }

    [GeneratedRegex(@"[^\s<>""',;]+@[^\s<>""',;]+", RegexOptions.None, 1000)]
    private static partial Regex AddressRe();
}
