using System.Runtime.InteropServices;

namespace Assp.Bayes;

/// <summary>
/// BayesAlgorithm 2: mode 1 (<see cref="EnhancedFilter"/>) joined with a logistic regression on the same features.
/// The regression gives every feature a weight (each present feature counts 1), learnt by stochastic gradient descent
/// over the corpus in a fixed order, so the same corpus always gives the same weights. A message's score is the
/// log-odds of mode 1's Fisher score plus a quarter of the regression's log-odds; the mix, the rate and the epochs
/// were chosen by 5-fold cross-validation inside the benchmark's training split (bench/README.md).
/// </summary>
public static class FeatureRegression
{
    /// <summary>What the stored weights are: the feature version they were learnt on, then this format's own number.
    /// Weights of another version are not used (the check then falls back to mode 1).</summary>
    public const string Version = EnhancedFilter.FeatureVersion + ".1";
    /// <summary>The learning rate of the first epoch (falling as rate / epoch).</summary>
    public const double Rate = 0.05;
    public const int Epochs = 5;
    /// <summary>Seed of the shuffle that orders the messages in each epoch.</summary>
    public const int Seed = 20261122;
    /// <summary>The regression's share of the combined score.</summary>
    public const double Share = 0.25;
    /// <summary>The combined score given the probability 0.6: in the cross-validation, at most 0.25 % of the pooled
    /// out-of-fold ham scored higher.</summary>
    public const double CalibrationPoint = 0.4260767;

    /// <summary>Collects every message's features (as indexes into one feature list) and label, in the order added.</summary>
    public sealed class Trainer
    {
        private readonly Dictionary<ulong, int> _index = new(1 << 16);
        private readonly List<ulong> _keys = [];
        private readonly List<int[]> _rows = [];
        private readonly List<(bool IsSpam, double Factor)> _labels = [];

        public int Messages => _rows.Count;

        /// <summary>Adds one message; <paramref name="factor"/> (ASSP's corpus weight) scales its gradient steps.</summary>
        public void Add(HashSet<ulong> features, bool isSpam, double factor)
        {
            var row = new int[features.Count];
            int k = 0;
            foreach (var f in features)
            {
                ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_index, f, out bool exists);
                if (!exists)
                {
                    slot = _keys.Count;
                    _keys.Add(f);
                }
                row[k++] = slot;
            }
            _rows.Add(row);
            _labels.Add((isSpam, factor));
        }

        /// <summary>Learns the weights: <see cref="Epochs"/> passes, each over the messages shuffled by a generator
        /// seeded with <see cref="Seed"/>, the rate <see cref="Rate"/> / epoch, no regularisation.</summary>
        public Model Train()
        {
            var w = new double[_keys.Count];
            double bias = 0;
            var order = Enumerable.Range(0, _rows.Count).ToArray();
            var rng = new Random(Seed);
            for (int epoch = 0; epoch < Epochs; epoch++)
            {
                rng.Shuffle(order);
                double rate = Rate / (1 + epoch);
                foreach (int i in order)
                {
                    var row = _rows[i];
                    double z = bias;
                    foreach (int j in row) z += w[j];
                    var (isSpam, factor) = _labels[i];
                    double step = rate * factor * (1 / (1 + Math.Exp(-z)) - (isSpam ? 1 : 0));
                    foreach (int j in row) w[j] -= step;
                    bias -= step;
                }
            }
            var weights = new List<KeyValuePair<ulong, float>>(w.Length);
            for (int j = 0; j < w.Length; j++)
                if (w[j] != 0) weights.Add(new(_keys[j], (float)w[j]));
            return new Model(ProbabilityTable.Build(weights), bias);
        }
    }

    /// <summary>Learnt weights (by feature hash) and the bias; <see cref="Empty"/> when none were learnt.</summary>
    public sealed class Model(ProbabilityTable weights, double bias)
    {
        public static readonly Model Empty = new(ProbabilityTable.Empty, 0);
        public ProbabilityTable Weights { get; } = weights;
        public double Bias { get; } = bias;
        public bool IsEmpty => Weights.Count == 0;

        /// <summary>The regression's log-odds for a message.</summary>
        public double LogOdds(HashSet<ulong> features)
        {
            double z = Bias;
            foreach (var f in features) z += Weights.Get(f);
            return z;
        }
    }

    /// <summary>The combined verdict: Probability from the calibrated score, LogOdds carrying the score itself,
    /// Confidence and Used from mode 1.</summary>
    public static Combined Classify(ProbabilityTable table, Model model, HashSet<ulong> features)
    {
        var fisher = EnhancedFilter.Classify(table, features, out double fisherScore);
        double score = Score(fisherScore, model.LogOdds(features));
        return new Combined(Calibrate(score), fisher.Confidence, fisher.Used, score);
    }

    /// <summary>logit(mode 1's score, kept within 1e-6 of 0 and 1) + <see cref="Share"/> × the regression's log-odds.</summary>
    public static double Score(double fisherScore, double regressionLogOdds)
    {
        double p = Math.Clamp(fisherScore, 1e-6, 1 - 1e-6);
        return Math.Log(p / (1 - p)) + Share * regressionLogOdds;
    }

    /// <summary>A logistic curve through (<see cref="CalibrationPoint"/>, 0.6): higher scores give higher probabilities.</summary>
    public static double Calibrate(double score) => 1 / (1 + Math.Exp(-(score - CalibrationPoint + Math.Log(1.5))));
}
