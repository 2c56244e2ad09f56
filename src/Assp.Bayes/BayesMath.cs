namespace Assp.Bayes;

/// <summary>The combined verdict over a message's token probabilities.</summary>
/// <param name="Probability">Πp / (Πp + Π(1−p)) over the most significant values.</param>
/// <param name="Confidence">ASSP's confidence figure (0..1).</param>
/// <param name="Used">How many values went into the result.</param>
/// <param name="LogOdds">ln(Πp / Π(1−p)): the same order as the probability, without its saturation at 0 and 1.</param>
public readonly record struct Combined(double Probability, double Confidence, int Used, double LogOdds = 0);

/// <summary>ASSP's formulas for token probabilities, their combination and the confidence.</summary>
public static class BayesMath
{
    /// <summary>
    /// A word pair's spam probability from its corpus weights (spam weight s of total weight t), as the rebuild
    /// computes it: only pairs seen with a weight above 3 count; a pair seen only in spam or only in ham has both
    /// weights squared; p = (1 + s) / (t + 2), kept to 7 decimals within (0, 1). Pairs too close to 0.5 (within
    /// 0.09) say nothing and are not stored (null).
    /// </summary>
    public static double? TokenProbability(double spam, double total)
    {
        if (total <= 3) return null;
        double s = spam, t = total;
        if (spam == total || spam == 0) { s *= s; t *= t; }
        return Store((1 + s) / (t + 2));
    }

    /// <summary>
    /// A HMM chain's spam probability: with h and s the ham and spam weights of the chain (sequence + next word)
    /// divided by the weight of the sequence in both corpora, (1 − h + s) / 2. Near 0.5 (within 0.09): null.
    /// </summary>
    public static double? HmmProbability(double spamChain, double hamChain, double sequenceTotal)
    {
        if (sequenceTotal <= 0) return null;
        double h = hamChain / sequenceTotal, s = spamChain / sequenceTotal;
        return Store((1 - h + s) / 2);
    }

    private static double? Store(double v)
    {
        v = Math.Round(v, 7);
        if (v >= 1) v = 0.9999999;
        if (v <= 0) v = 0.0000001;
        return Math.Abs(v - 0.5) > 0.09 ? v : null;
    }

    /// <summary>ASSP's corpus confidence: 1 / ((|1−norm| + 1) ^ int(|1−norm|·10)), the exponent at most 4.</summary>
    public static double CorpusConfidence(double norm)
    {
        double c = Math.Abs(1 - norm);
        int exp = Math.Min(4, (int)(c * 10.0001));
        return 1 / Math.Pow(c + 1, exp);
    }

    /// <summary>
    /// Combines the values: the <paramref name="maxValues"/> farthest from 0.5 give
    /// Πp / (Πp + Π(1−p)) (computed with logarithms so long products cannot underflow), and the confidence
    /// 0.01^|extremes| · |Πp − Π(1−p)| (over the non-extreme values) · corpus confidence · (used/max)².
    /// Extremes are values below 0.01 or above 0.99; ham extremes are ignored for a spam verdict and spam extremes
    /// for a ham verdict. The list is sorted in place.
    /// </summary>
    public static Combined Combine(List<double> values, int maxValues, double norm)
    {
        values.Sort(static (a, b) => Math.Abs(b - 0.5).CompareTo(Math.Abs(a - 0.5)));
        double logSpam = 0, logHam = 0, p1c = 1, p2c = 1;
        int extremes = 0, used = 0;
        foreach (var p in values)
        {
            if (used >= maxValues) break;
            if (p <= 0) continue;
            logSpam += Math.Log(p);
            logHam += Math.Log(1 - p);
            used++;
            if (p < 0.01) { extremes++; continue; }
            if (1 - p < 0.01) { extremes--; continue; }
            p1c *= p;
            p2c *= 1 - p;
        }
        if (used == 0) return new Combined(0.5, 0, 0);
        double prob = 1 / (1 + Math.Exp(logHam - logSpam));
        if ((extremes < 0 && prob > 0.5) || (extremes > 0 && prob <= 0.5)) extremes = 0;
        double extremeFactor = Math.Pow(0.01, Math.Abs(extremes));
        if (p1c == 1 && p2c == 1) p1c = 0;
        double ratio = (double)used / maxValues;
        double conf = Math.Abs(p1c - p2c) * extremeFactor * CorpusConfidence(norm) * ratio * ratio;
        return new Combined(prob, Math.Min(conf, 1), used, logSpam - logHam);
    }
}
