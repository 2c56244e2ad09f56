using Assp.Bayes;

namespace Assp.Bayes.Tests;

public class BayesMathTests
{
    [Theory]
    [InlineData(3, 4, 0.6666667)]     // (1 + 3) / (4 + 2)
    [InlineData(4, 4, 0.9444444)]     // only spam: squared, (1 + 16) / (16 + 2)
    [InlineData(0, 5, 0.0370370)]     // only ham: (1 + 0) / (25 + 2)
    [InlineData(2, 8, 0.3)]           // (1 + 2) / (8 + 2)
    public void Token_probability_is_ASSPs_formula(double spam, double total, double expected) =>
        Assert.Equal(expected, BayesMath.TokenProbability(spam, total)!.Value, 7);

    [Theory]
    [InlineData(2, 3)]   // weight 3 or less: too rare
    [InlineData(5, 10)]  // 0.5: says nothing
    [InlineData(9, 16)]  // 10/18 = 0.556, within 0.09 of 0.5
    public void Uninformative_pairs_are_not_stored(double spam, double total) => Assert.Null(BayesMath.TokenProbability(spam, total));

    [Fact]
    public void Hmm_probability_weighs_chain_against_its_sequence()
    {
        // h = 1/8, s = 3/8: (1 - 0.125 + 0.375) / 2
        Assert.Equal(0.625, BayesMath.HmmProbability(3, 1, 8)!.Value, 7);
        // a ham-only chain: (1 - 4/5) / 2
        Assert.Equal(0.1, BayesMath.HmmProbability(0, 4, 5)!.Value, 7);
        Assert.Null(BayesMath.HmmProbability(1, 1, 4));
    }

    [Fact]
    public void Combination_and_confidence_match_a_hand_computed_example()
    {
        var c = BayesMath.Combine([0.2, 0.9, 0.8], 60, norm: 1);
        // 0.144 / (0.144 + 0.016)
        Assert.Equal(0.9, c.Probability, 10);
        Assert.Equal(3, c.Used);
        // |0.144 - 0.016| * 0.01^0 * 1 * (3/60)^2
        Assert.Equal(0.128 * 0.0025, c.Confidence, 12);
    }

    [Fact]
    public void Only_the_most_significant_values_count()
    {
        var values = new List<double> { 0.99, 0.98, 0.4, 0.45, 0.55 };
        var c = BayesMath.Combine(values, 2, 1);
        Assert.Equal(2, c.Used);
        Assert.Equal(0.99 * 0.98 / (0.99 * 0.98 + 0.01 * 0.02), c.Probability, 10);
    }

    [Fact]
    public void Extremes_lower_the_confidence_unless_they_agree_with_the_verdict()
    {
        // a spam extreme in a spam verdict is ignored for the confidence: 0.9^4 vs 0.1^4, (5/60)^2
        var agree = BayesMath.Combine([0.999, 0.9, 0.9, 0.9, 0.9], 60, 1);
        Assert.Equal((0.6561 - 0.0001) * (5 / 60.0) * (5 / 60.0), agree.Confidence, 12);
        // one ham extreme too many in a spam verdict costs a factor 0.01
        var disagree = BayesMath.Combine([0.001, 0.002, 0.999, 0.9, 0.9, 0.9, 0.9], 60, 1);
        Assert.True(disagree.Probability > 0.5);
        Assert.Equal(0.01 * (0.6561 - 0.0001) * (7 / 60.0) * (7 / 60.0), disagree.Confidence, 12);
    }

    [Fact]
    public void Many_values_do_not_underflow()
    {
        var c = BayesMath.Combine([.. Enumerable.Repeat(0.0000001, 60)], 60, 1);
        Assert.Equal(0, c.Probability, 10);
        var s = BayesMath.Combine([.. Enumerable.Repeat(0.9999999, 60)], 60, 1);
        Assert.Equal(1, s.Probability, 10);
        Assert.True(s.LogOdds > 900);
    }

    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(1.1, 1 / 1.1)]                          // c = 0.1, exponent 1
    [InlineData(1.5, 1 / (1.5 * 1.5 * 1.5 * 1.5))]      // c = 0.5, exponent 5 capped at 4
    public void Corpus_confidence_follows_the_norm(double norm, double expected) =>
        Assert.Equal(expected, BayesMath.CorpusConfidence(norm), 9);

    [Fact]
    public void Chi_square_tail_matches_known_values()
    {
        Assert.Equal(Math.Exp(-1), EnhancedFilter.ChiSquareTail(2, 2), 12);
        Assert.Equal(Math.Exp(-2) * 3, EnhancedFilter.ChiSquareTail(4, 4), 12);
    }
}
