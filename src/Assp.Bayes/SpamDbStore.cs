using System.Globalization;
using System.Runtime.CompilerServices;
using Assp.Storage;

namespace Assp.Bayes;

/// <summary>
/// The spam database in the storage, so that every node sharing a store (SQLite here, PostgreSQL across nodes) uses
/// the same data. spamdb keeps ASSP's records ("word1 word2" → "0.1234567", private ones prefixed with the user or
/// "@domain", plus ***bayesnorm*** and ***DB-VERSION***), so ASSP's flat-file import/export carries it; HMMdb is keyed
/// by the chain hash in hex (ASSP keeps its HMM data in a private BerkeleyDB that is never exported either).
/// A generation marker written last tells readers a complete new database is there.
/// </summary>
public static class SpamDbStore
{
    public const string GenerationKey = "***generation***";
    public const string NormKey = "***bayesnorm***";
    public const string VersionKey = "***DB-VERSION***";
    /// <summary>The record format this build writes.</summary>
    public const string DbVersion = "net-1";
    /// <summary>The table of <see cref="EnhancedFilter"/> features (not an ASSP database), keyed by hash in hex.</summary>
    public const string FeaturesTable = "spamdb.features";
    /// <summary>The features table's record of <see cref="EnhancedFilter.FeatureVersion"/>.</summary>
    public const string FeatureVersionKey = "***features-version***";
    /// <summary>The table of <see cref="FeatureRegression"/> weights (BayesAlgorithm 2), keyed by feature hash in hex.</summary>
    public const string RegressionTable = "spamdb.regression";
    /// <summary>The regression table's record of <see cref="FeatureRegression.Version"/>, and of its bias.</summary>
    public const string RegressionVersionKey = "***regression-version***", RegressionBiasKey = "***bias***";

    /// <summary>Replaces both tables with the new records and stamps a new generation; returns the generation. With
    /// <paramref name="replaceSpamdb"/> false (ReplaceOldSpamdb off) spamdb is not emptied first: the new records are
    /// written over the old ones, and old records the new corpus does not give stay.</summary>
    public static long Save(IStore store, IReadOnlyDictionary<string, double> bayes, IReadOnlyDictionary<ulong, double> hmm, double norm,
        bool writeHmm, Action<int>? progress = null, IReadOnlyDictionary<ulong, double>? features = null, bool replaceSpamdb = true,
        FeatureRegression.Model? regression = null)
    {
        var spamdb = store.Table(StoreTables.SpamDb);
        long generation = Math.Max(ReadGeneration(store) + 1, store.Clock.GetUtcNow().ToUnixTimeMilliseconds());
        if (replaceSpamdb) spamdb.Clear();
        int n = 0;
        foreach (var (key, p) in bayes)
        {
            spamdb.Set(key, Format(p));
            if (++n % 50_000 == 0) progress?.Invoke(n);
        }
        spamdb.Set(NormKey, norm.ToString("R", CultureInfo.InvariantCulture));
        spamdb.Set(VersionKey, DbVersion);
        var hmmdb = store.Table(AsspDatabases.HmmDb);
        if (writeHmm)
        {
            hmmdb.Clear();
            foreach (var (key, p) in hmm)
            {
                hmmdb.Set(key.ToString("x16", CultureInfo.InvariantCulture), Format(p));
                if (++n % 50_000 == 0) progress?.Invoke(n);
            }
            hmmdb.Set(NormKey, norm.ToString("R", CultureInfo.InvariantCulture));
            hmmdb.Set(VersionKey, DbVersion);
        }
        var featureTable = store.Table(FeaturesTable);
        featureTable.Clear();
        foreach (var (key, p) in features ?? new Dictionary<ulong, double>())
        {
            featureTable.Set(key.ToString("x16", CultureInfo.InvariantCulture), Format(p));
            if (++n % 50_000 == 0) progress?.Invoke(n);
        }
        if (features is not null) featureTable.Set(FeatureVersionKey, EnhancedFilter.FeatureVersion);
        WriteRegression(store, regression, progress, n);
        store.Flush();
        spamdb.Set(GenerationKey, generation.ToString(CultureInfo.InvariantCulture));
        store.Flush();
        return generation;
    }

    /// <summary>
    /// Writes only the changed records (newReportedInterval's update): a probability is set, null removes the record;
    /// the norm is updated and a new generation stamped. The features and regression tables, when given, are replaced whole.
    /// </summary>
    public static long ApplyChanges(IStore store, IReadOnlyDictionary<string, double?> bayes, IReadOnlyDictionary<ulong, double?> hmm, double norm,
        IReadOnlyDictionary<ulong, double>? features = null, FeatureRegression.Model? regression = null)
    {
        var spamdb = store.Table(StoreTables.SpamDb);
        long generation = Math.Max(ReadGeneration(store) + 1, store.Clock.GetUtcNow().ToUnixTimeMilliseconds());
        foreach (var (key, p) in bayes)
            if (p is { } v) spamdb.Set(key, Format(v)); else spamdb.Remove(key);
        spamdb.Set(NormKey, norm.ToString("R", CultureInfo.InvariantCulture));
        var hmmdb = store.Table(AsspDatabases.HmmDb);
        foreach (var (key, p) in hmm)
        {
            var k = key.ToString("x16", CultureInfo.InvariantCulture);
            if (p is { } v) hmmdb.Set(k, Format(v)); else hmmdb.Remove(k);
        }
        if (hmm.Count > 0) hmmdb.Set(NormKey, norm.ToString("R", CultureInfo.InvariantCulture));
        if (features is not null)
        {
            var featureTable = store.Table(FeaturesTable);
            featureTable.Clear();
            foreach (var (key, p) in features) featureTable.Set(key.ToString("x16", CultureInfo.InvariantCulture), Format(p));
            featureTable.Set(FeatureVersionKey, EnhancedFilter.FeatureVersion);
        }
        if (regression is not null) WriteRegression(store, regression, null, 0);
        store.Flush();
        spamdb.Set(GenerationKey, generation.ToString(CultureInfo.InvariantCulture));
        store.Flush();
        return generation;
    }

    /// <summary>Replaces the regression table with <paramref name="regression"/>'s weights, bias and version; returns the
    /// running record count for progress.</summary>
    private static int WriteRegression(IStore store, FeatureRegression.Model? regression, Action<int>? progress, int n)
    {
        var regressionTable = store.Table(RegressionTable);
        regressionTable.Clear();
        if (regression is null) return n;
        foreach (var (key, weight) in regression.Weights.Entries())
        {
            regressionTable.Set(key.ToString("x16", CultureInfo.InvariantCulture), weight.ToString("R", CultureInfo.InvariantCulture));
            if (++n % 50_000 == 0) progress?.Invoke(n);
        }
        regressionTable.Set(RegressionBiasKey, regression.Bias.ToString("R", CultureInfo.InvariantCulture));
        regressionTable.Set(RegressionVersionKey, FeatureRegression.Version);
        return n;
    }

    private static string Format(double p) => p.ToString("0.0######", CultureInfo.InvariantCulture);

    /// <summary>The word-pair records in spamdb (its *** records not counted).</summary>
    public static int BayesRecordCount(IStore store)
    {
        int n = 0;
        foreach (var (key, _) in store.Table(StoreTables.SpamDb).Scan())
            if (!key.StartsWith("***", StringComparison.Ordinal)) n++;
        return n;
    }

    public static long ReadGeneration(IStore store) =>
        store.Table(StoreTables.SpamDb).TryGetValue(GenerationKey, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var g) ? g : 0;

    /// <summary>Loads both tables into memory. Records that are not probabilities are skipped.</summary>
    public static SpamDatabase Load(IStore store)
    {
        long generation = ReadGeneration(store);
        var spamdb = store.Table(StoreTables.SpamDb);
        double norm = 1;
        var bayes = new List<KeyValuePair<ulong, float>>((int)Math.Min(spamdb.Count, int.MaxValue / 2));
        foreach (var (key, rec) in spamdb.Scan())
        {
            if (key.StartsWith("***", StringComparison.Ordinal))
            {
                if (key == NormKey && double.TryParse(rec.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var nv) && nv > 0) norm = nv;
                continue;
            }
            if (TryProbability(rec.Value, out var p)) bayes.Add(new(TokenHash.Of(key), p));
        }
        return new SpamDatabase(ProbabilityTable.Build(bayes), LoadHashed(store.Table(AsspDatabases.HmmDb)), norm, generation,
            LoadFeatures(store.Table(FeaturesTable)), LoadRegression(store.Table(RegressionTable)));
    }

    /// <summary>The regression weights, when they were learnt by this build's regression on its features; otherwise
    /// empty (the check then uses mode 1 until the next rebuild).</summary>
    public static FeatureRegression.Model LoadRegression(IStoreTable table)
    {
        if (!table.TryGetValue(RegressionVersionKey, out var version) || version != FeatureRegression.Version
            || !table.TryGetValue(RegressionBiasKey, out var biasText)
            || !double.TryParse(biasText, NumberStyles.Float, CultureInfo.InvariantCulture, out var bias) || !double.IsFinite(bias))
            return FeatureRegression.Model.Empty;
        var list = new List<KeyValuePair<ulong, float>>((int)Math.Min(table.Count, int.MaxValue / 2));
        foreach (var (key, rec) in table.Scan())
        {
            if (key.Length == 16 && ulong.TryParse(key, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h)
                && float.TryParse(rec.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) && float.IsFinite(w))
                list.Add(new(h, w));
        }
        return list.Count == 0 ? FeatureRegression.Model.Empty : new FeatureRegression.Model(ProbabilityTable.Build(list), bias);
    }

    /// <summary>The feature table, when it was built with this build's features; otherwise empty (the Bayesian check then
    /// uses ASSP's formula until the next rebuild), since other features' probabilities would not fit.</summary>
    private static ProbabilityTable LoadFeatures(IStoreTable table) =>
        table.TryGetValue(FeatureVersionKey, out var version) && version == EnhancedFilter.FeatureVersion ? LoadHashed(table) : ProbabilityTable.Empty;

    private static ProbabilityTable LoadHashed(IStoreTable table)
    {
        var list = new List<KeyValuePair<ulong, float>>((int)Math.Min(table.Count, int.MaxValue / 2));
        foreach (var (key, rec) in table.Scan())
        {
            if (key.Length == 16 && ulong.TryParse(key, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h)
                && TryProbability(rec.Value, out var p))
                list.Add(new(h, p));
        }
        return ProbabilityTable.Build(list);
    }

    private static bool TryProbability(string value, out float p)
    {
        p = 0;
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !(d > 0 && d < 1)) return false;
        p = (float)d;
        return true;
    }

    /// <summary>Builds the in-memory database straight from freshly built records (the rebuild's own process).</summary>
    public static SpamDatabase InMemory(IReadOnlyDictionary<string, double> bayes, IReadOnlyDictionary<ulong, double> hmm, double norm, long generation,
        IReadOnlyDictionary<ulong, double>? features = null, FeatureRegression.Model? regression = null) =>
        new(ProbabilityTable.Build(bayes.Select(kv => new KeyValuePair<ulong, float>(TokenHash.Of(kv.Key), (float)kv.Value)), bayes.Count),
            Hashed(hmm), norm, generation, features is null ? null : Hashed(features), regression);

    private static ProbabilityTable Hashed(IReadOnlyDictionary<ulong, double> records) =>
        ProbabilityTable.Build(records.Select(kv => new KeyValuePair<ulong, float>(kv.Key, (float)kv.Value)), records.Count);
}

/// <summary>
/// The database a running proxy classifies with. Readers take <see cref="Current"/> (one reference read, no lock);
/// a rebuild in this process hands the new database to <see cref="Publish"/>, and a rebuild on another node is
/// noticed by its generation marker (looked at no more often than <see cref="CheckInterval"/>) and loaded in the
/// background, then swapped in whole. A message never sees half of one database and half of another.
/// </summary>
public sealed class SpamDbProvider
{
    private static readonly ConditionalWeakTable<IStore, SpamDbProvider> ByStore = new();

    private readonly IStore _store;
    private SpamDatabase _current = SpamDatabase.Empty;
    private long _nextCheck;
    private int _loading;
    private bool _loaded;

    public SpamDbProvider(IStore store) => _store = store;

    /// <summary>The provider shared by everything using this store.</summary>
    public static SpamDbProvider For(IStore store) => ByStore.GetValue(store, s => new SpamDbProvider(s));

    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    public SpamDatabase Current
    {
        get
        {
            if (!_loaded) { lock (this) if (!_loaded) { Reload(); _loaded = true; } }
            else MaybeRefreshInBackground();
            return Volatile.Read(ref _current);
        }
    }

    /// <summary>Swaps in a database built by this process.</summary>
    public void Publish(SpamDatabase db)
    {
        Volatile.Write(ref _current, db);
        _loaded = true;
        // What this process just built is current: no need to look at the store's marker before the next interval
        // (looking at once could load a store another writer has not finished yet over it).
        Volatile.Write(ref _nextCheck, _store.Clock.GetTimestamp() + (long)(CheckInterval.TotalSeconds * _store.Clock.TimestampFrequency));
    }

    /// <summary>Loads the stored database now when its generation is newer than the one in use; true when swapped.</summary>
    public bool Refresh()
    {
        if (SpamDbStore.ReadGeneration(_store) <= Volatile.Read(ref _current).Generation && _loaded) return false;
        Reload();
        _loaded = true;
        return true;
    }

    /// <summary>Loads the stored database and swaps it in unless a newer one was published meanwhile.</summary>
    private void Reload()
    {
        var loaded = SpamDbStore.Load(_store);
        while (true)
        {
            var current = Volatile.Read(ref _current);
            if (loaded.Generation <= current.Generation && !ReferenceEquals(current, SpamDatabase.Empty)) return;
            if (ReferenceEquals(Interlocked.CompareExchange(ref _current, loaded, current), current)) return;
        }
    }

    private void MaybeRefreshInBackground()
    {
        long now = _store.Clock.GetTimestamp();
        if (now < Volatile.Read(ref _nextCheck)) return;
        Volatile.Write(ref _nextCheck, now + (long)(CheckInterval.TotalSeconds * _store.Clock.TimestampFrequency));
        // Only a newer generation replaces the one in use (generations only grow), never an older stored one.
        if (SpamDbStore.ReadGeneration(_store) <= Volatile.Read(ref _current).Generation) return;
        if (Interlocked.Exchange(ref _loading, 1) == 1) return;
        _ = Task.Run(() =>
        {
            try { Reload(); }
            catch (Exception e) when (e is InvalidOperationException or IOException) { /* keep the database in use; the next check retries */ }
            finally { Volatile.Write(ref _loading, 0); }
        });
    }
}
