using System.Text;
using Assp.Bayes;
using Assp.Checks.Decision;
using Assp.Web.Pages;

namespace Assp.Web.Tests;

/// <summary>The Mail Analyzer's Bayesian/HMM section: probability, confidence and the top tokens, encoded.</summary>
public class AnalyzerStatisticsTests
{
    [Fact]
    public void Top_tokens_are_listed_with_their_probabilities_and_mail_text_is_encoded()
    {
        var sb = new StringBuilder();
        AnalyzerPage.Statistics(sb, [
            new StatisticalVerdict("Bayesian", 0.99871, 0.85, 42, [new TokenScore("cheap pills", 0.9912345), new TokenScore("<script>x</script>", 0.98)]),
            new StatisticalVerdict("HMM", 0.5, 0.1, 0, []),
        ]);
        var html = sb.ToString();
        Assert.Contains("<h2>Bayesian</h2><p class=\"stat\">probability 0.99871, confidence 0.85000, 42 database values</p>", html);
        Assert.Contains("<td>cheap pills</td><td>0.9912345</td>", html);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;", html);
        Assert.Contains("<h2>HMM</h2>", html);
        Assert.Single(html.Split("<table").Skip(1));   // no token table for a filter without tokens
    }
}
