using Assp.Config.Lists;
using Assp.Config.Regexes;

namespace Assp.Config.Tests;

public class WeightedRegexTests
{
    [Theory]
    [InlineData("Phishing\\.=>1.45", "Phishing\\.", 1.45, "")]
    [InlineData("~Heuristics|Email~=>50", "Heuristics|Email", 50, "")]
    [InlineData("~Heuristics|Email~=>50:>N-W-L-I", "Heuristics|Email", 50, "N-W-L-I")]
    [InlineData("~Heuristics|Email~=>3.2:>N-W+I", "Heuristics|Email", 3.2, "N-W+I")]
    [InlineData("spam=>-2", "spam", -2, "")]
    [InlineData("plain", "plain", 1, "")]
    [InlineData("a=>b", "a=>b", 1, "")]
    [InlineData("~x|y~", "x|y", 1, "")]
    public void Entries_parse_into_pattern_weight_and_flags(string text, string pattern, double weight, string flags)
    {
        Assert.True(WeightedRegexList.TryParseEntry(text, out var p, out var w, out _, out var f, out var error), error);
        Assert.Equal(pattern, p);
        Assert.Equal(weight, w, 6);
        Assert.Equal(flags, f.ToString());
    }

    [Theory]
    [InlineData("~abc=>3")]
    [InlineData("abc=>3:>Q")]
    [InlineData("~~=>3")]
    public void Malformed_entries_are_refused(string text) =>
        Assert.False(WeightedRegexList.TryParseEntry(text, out _, out _, out _, out _, out _));

    [Theory]
    [InlineData(2, 10, 20)]
    [InlineData(6, 10, 60)]
    [InlineData(-1, 10, -10)]
    [InlineData(7, 10, 7)]
    [InlineData(50, 10, 50)]
    public void Small_weights_multiply_the_valence_large_ones_are_the_score(double weight, double valence, double score) =>
        Assert.Equal(score, WeightedRegexList.Score(weight, valence));

    [Fact]
    public void Inline_values_split_on_pipes_outside_tildes_groups_and_classes()
    {
        Assert.Equal(["Phishing\\.=>1.45", "~Heuristics|Email~=>50", "Spam=>1.1"],
            ConfigLoader.SplitWeighted("Phishing\\.=>1.45|~Heuristics|Email~=>50|Spam=>1.1"));
        Assert.Equal(["charset=(?:BIG5|GB2312|UNKNOWN)"], ConfigLoader.SplitWeighted("charset=(?:BIG5|GB2312|UNKNOWN)"));
        Assert.Equal(["[|]x=>2", "a\\|b"], ConfigLoader.SplitWeighted("[|]x=>2|a\\|b"));
    }

    [Fact]
    public void Only_and_never_flags_select_mail_classes()
    {
        var list = WeightedRegexList.Compile(
        [
            new ListEntry("!!!I-!!!", null, 0),
            new ListEntry("alpha=>2:>W+", null, 0),
            new ListEntry("beta=>3:>L-", null, 0),
            new ListEntry("gamma=>4", null, 0),
        ], "test", [], ConfigRegex.DefaultMatchTimeout, ignoreCase: true);
        var whitelisted = new MailClasses(false, true, false, false);
        var local = new MailClasses(false, false, true, false);
        var isp = new MailClasses(false, false, false, true);
        Assert.Equal([2.0, 3.0, 4.0], list.Matches("alpha beta gamma", whitelisted, _ => true).Select(h => h.Weight));
        Assert.Equal([2.0], list.Matches("alpha beta gamma", whitelisted, _ => false).Select(h => h.Weight));
        Assert.Equal([4.0], list.Matches("alpha beta gamma", local, _ => true).Select(h => h.Weight));
        Assert.Empty(list.Matches("alpha beta gamma", isp, _ => true));
        // The option's own default decides letters the entry leaves open.
        Assert.Empty(list.Matches("gamma", whitelisted, letter => letter != 'W'));
    }

    [Fact]
    public void Max_hits_stops_the_scan()
    {
        var list = WeightedRegexList.Compile([new ListEntry("x=>1", null, 0)], "t", [], ConfigRegex.DefaultMatchTimeout, true);
        Assert.Equal(3, list.Matches("x x x x x", default, _ => true, maxHits: 3).Count);
    }
}
