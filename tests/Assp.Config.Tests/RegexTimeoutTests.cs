using System.Diagnostics;
using Assp.Config.Lists;
using Assp.Config.Regexes;

namespace Assp.Config.Tests;

public class RegexTimeoutTests
{
    // (a+)+$ against "aaaa…b" backtracks exponentially: without a timeout it would run for ages.
    private const string Catastrophic = "(a+)+$";
    private static readonly string Hostile = new string('a', 40) + "b";

    [Fact]
    public void A_catastrophic_regex_list_gives_up_at_its_timeout()
    {
        var list = RegexList.Compile([new ListEntry(Catastrophic, null, 0)], "test", [], TimeSpan.FromMilliseconds(100), ignoreCase: true);
        var clock = Stopwatch.StartNew();
        Assert.Null(list.Match(Hostile));
        clock.Stop();
        Assert.Equal(1, list.Timeouts);
        // Generous bound: the point is "seconds, not hours".
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Assert.Equal("aaa", list.Match("aaa"));
    }

    [Fact]
    public void A_catastrophic_weighted_regex_returns_what_it_found()
    {
        var list = WeightedRegexList.Compile([new ListEntry(Catastrophic + "=>3", null, 0)], "test", [], TimeSpan.FromMilliseconds(100), ignoreCase: true);
        var clock = Stopwatch.StartNew();
        Assert.Empty(list.Matches(Hostile));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Wildcard_address_lists_have_timeouts_too()
    {
        var entries = Enumerable.Range(0, 30).Select(i => new ListEntry("*a*a*a*a*a*a*a*a*a*a*@x" + i, null, 0));
        var list = AddressList.Compile(entries, "test", [], TimeSpan.FromMilliseconds(100));
        var clock = Stopwatch.StartNew();
        Assert.False(list.Contains(new string('a', 60) + "@y"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Configured_regexes_run_case_insensitively_like_assp()
    {
        var list = RegexList.Compile([new ListEntry("viagra", null, 0)], "test", [], ConfigRegex.DefaultMatchTimeout, ignoreCase: true);
        Assert.True(list.IsMatch("Buy VIAGRA now"));
    }
}

public class RegexBackreferenceTests
{
    [Fact]
    public void Entries_with_backreferences_keep_their_own_group_numbers()
    {
        var list = RegexList.Compile([new ListEntry("(a)b", null, 0), new ListEntry("(x)\\1", null, 0)], "t", [],
            ConfigRegex.DefaultMatchTimeout, true);
        Assert.Equal("xx", list.Match("--xx--"));
        Assert.Null(list.Match("xa"));
        var weighted = WeightedRegexList.Compile([new ListEntry("(a)b=>2", null, 0), new ListEntry("(x)\\1=>3", null, 0)], "t", [],
            ConfigRegex.DefaultMatchTimeout, true);
        Assert.Equal([3.0], weighted.Matches("-- xx --").Select(h => h.Weight));
        Assert.Empty(weighted.Matches("xa"));
    }
}
