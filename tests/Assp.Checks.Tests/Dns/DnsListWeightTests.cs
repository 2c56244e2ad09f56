using System.Net;
using Assp.Checks.Dns;
using Assp.Dns;

namespace Assp.Checks.Tests.Dns;

/// <summary>The weight, wildcard and bitmask examples of the ASSP reference (RBLServiceProvider / URIBLServiceProvider), each with its outcome.</summary>
public sealed class DnsListWeightTests
{
    private static DnsListProvider One(params string[] entries) => Assert.Single(DnsListProviders.Parse(entries, 50, 2, 100));

    private static DnsListVerdict Judge(params (DnsListProvider P, string Reply)[] hits) => DnsblCheck.Evaluate(hits, 2, 50, 100, 35);

    [Theory]
    [InlineData("1", 50)]
    [InlineData("2", 25)]
    [InlineData("3", 17)]   // 50/3 + 0.5 = 17.17 → 17
    [InlineData("50", 50)]
    [InlineData("45", 45)]
    [InlineData("0", 0)]
    [InlineData("0.5", 100)]
    public void Small_weights_divide_maxweight(string w, double expected) => Assert.Equal(expected, DnsListProviders.Weight(w, 50, 2, 100));

    [Fact]
    public void Default_list_weights()
    {
        var ps = DnsListProviders.Parse("zen.spamhaus.org=>1|bl.spamcop.net=>1|psbl.surriel.com=>2|ix.dnsbl.manitu.net=>2|l2.apews.org=>3".Split('|'), 50, 2, 100);
        Assert.Equal([50d, 50, 25, 25, 17], ps.Select(p => p.Weights.Match("127.0.0.2")!.Value));
        Assert.Equal(100, One("noweight.test").Weights.Match("127.0.0.2"));
    }

    [Fact]
    public void One_full_weight_listing_fails()
    {
        var v = Judge((One("zen.test=>1"), "127.0.0.2"));
        Assert.Equal((DnsListOutcome.Failed, 50d), (v.Outcome, v.Score));
    }

    [Fact]
    public void Two_hits_below_maxweight_are_only_neutral()
    {
        // maxhits (2) is reached, but with weights the sum decides: 17 + 17 = 34 < 50.
        var v = Judge((One("a.test=>3"), "127.0.0.2"), (One("b.test=>3"), "127.0.0.2"));
        Assert.Equal((DnsListOutcome.Neutral, 34d), (v.Outcome, v.Score));
    }

    [Fact]
    public void Weights_add_up_to_fail()
    {
        var v = Judge((One("a.test=>2"), "127.0.0.2"), (One("b.test=>2"), "127.0.0.4"));
        Assert.Equal((DnsListOutcome.Failed, 50d), (v.Outcome, v.Score));
    }

    [Fact]
    public void Weight_zero_ignores_the_provider()
    {
        var v = Judge((One("a.test=>0"), "127.0.0.2"));
        Assert.Equal(DnsListOutcome.Pass, v.Outcome);
    }

    [Fact]
    public void Query_limit_reply_127_0_0_1_is_dropped_unless_weighted()
    {
        Assert.Equal(DnsListOutcome.Pass, Judge((One("a.test=>1"), "127.0.0.1")).Outcome);
        Assert.Equal(DnsListOutcome.Neutral, Judge((One("a.test=>127.0.0.1=>10"), "127.0.0.1")).Outcome);
    }

    /// <summary>
    /// blackholes.five-ten-sg.com=>127.0.0.2=>3 | 127.0.0.5=>4 | 127.0.?.*=>5 from the reference. ASSP's real order
    /// (longest key first, then descending ASCII) tries "127.0.?.*" before the equally long exact keys because '?'
    /// sorts above digits, so every 127.0.x.y reply gets the wildcard's 10; we keep ASSP's behaviour, not the prose.
    /// </summary>
    [Theory]
    [InlineData("127.0.0.2", 10, DnsListOutcome.Neutral)]
    [InlineData("127.0.0.5", 10, DnsListOutcome.Neutral)]
    [InlineData("127.0.0.9", 10, DnsListOutcome.Neutral)]
    [InlineData("127.0.3.9", 10, DnsListOutcome.Neutral)]
    [InlineData("127.1.0.2", 0, DnsListOutcome.Pass)]
    public void Per_reply_weights_with_wildcards(string reply, double score, DnsListOutcome outcome)
    {
        var p = One("five-ten.test=>127.0.0.2=>3", "five-ten.test=>127.0.0.5=>4", "five-ten.test=>127.0.?.*=>5");
        var v = Judge((p, reply));
        Assert.Equal((outcome, score), (v.Outcome, v.Score));
    }

    /// <summary>multi.surbl.org=>127.0.0.2=>2 | 127.0.0.4=>3 | 127.0.0.*=>5: exact keys before the wildcard.</summary>
    [Theory]
    [InlineData("127.0.0.2", 25)]
    [InlineData("127.0.0.4", 17)]
    [InlineData("127.0.0.64", 10)]
    public void Exact_keys_win_over_star(string reply, double weight)
    {
        var p = One("multi.test=>127.0.0.2=>2", "multi.test=>127.0.0.4=>3", "multi.test=>127.0.0.*=>5");
        Assert.Equal(weight, p.Weights.Match(reply));
    }

    [Fact]
    public void Reverse_ascii_order_puts_question_mark_before_digits()
    {
        // As in ASSP: equal-length keys are tried in descending ASCII order, and '?' (63) sorts above digits,
        // so "127.0.0.?" is tried before "127.0.0.2" and wins for 127.0.0.2.
        var p = One("q.test=>127.0.0.2=>10", "q.test=>127.0.0.?=>20");
        Assert.Equal(20, p.Weights.Match("127.0.0.2"));
    }

    /// <summary>The bitmask example: sp.com=>127.0.0.M2=>25 | 127.0.0.M4=>41 | 127.0.M1.5=>56 | 127.0.M64.*=>11 | 127.0.0.2=>22 | 127.0.*.*=>1.</summary>
    [Theory]
    [InlineData("127.0.0.6", 66, DnsListOutcome.Failed)]   // 25 + 41
    [InlineData("127.0.0.2", 22, DnsListOutcome.Neutral)]  // the exact entry replaces the mask sum
    [InlineData("127.0.0.4", 41, DnsListOutcome.Neutral)]
    [InlineData("127.0.3.5", 56, DnsListOutcome.Failed)]   // M1 in the third octet
    [InlineData("127.0.64.9", 11, DnsListOutcome.Neutral)]
    [InlineData("127.0.8.8", 50, DnsListOutcome.Failed)]   // only the wildcard; its "=>1" is a divisor: 50/1
    public void Bitmask_codes(string reply, double score, DnsListOutcome outcome)
    {
        var p = One("sp.test=>127.0.0.M2=>25", "sp.test=>127.0.0.M4=>41", "sp.test=>127.0.M1.5=>56", "sp.test=>127.0.M64.*=>11",
            "sp.test=>127.0.0.2=>22", "sp.test=>127.0.*.*=>1");
        var v = Judge((p, reply));
        Assert.Equal((outcome, score), (v.Outcome, v.Score));
    }

    [Fact]
    public void Invalid_bitmask_is_reported()
    {
        var problems = new List<string>();
        var ps = DnsListProviders.Parse(["sp.test=>127.0.0.M3=>25"], 50, 2, 100, problems);
        Assert.Single(problems);
        Assert.Equal(0, ps[0].Weights.Count);
    }

    [Fact]
    public void Hits_without_weights_count_against_maxhits()
    {
        // All weights 0 except a '*' reply key: nothing summed → pure hit counting is never reached here;
        // ASSP gives every unweighted provider rblValencePB, so two plain providers fail.
        var v = Judge((One("a.test"), "127.0.0.2"), (One("b.test"), "127.0.0.2"));
        Assert.Equal((DnsListOutcome.Failed, 200d), (v.Outcome, v.Score));
    }

    [Fact]
    public void Data_placeholder_places_the_label()
    {
        var p = One("key123.$DATA$.dq.test=>1");
        Assert.Equal("dq.test", p.Zone);
        Assert.Equal("key123.4.3.2.1.dq.test", p.QueryName(DnsListProviders.IpLabel(IPAddress.Parse("1.2.3.4"))));
    }

    [Theory]
    [InlineData("127.0.5.3", true, RwlStatus.Whitelisted, 3)]
    [InlineData("127.0.5.3", false, RwlStatus.Trusted, 3)]
    [InlineData("127.0.5.0", true, RwlStatus.Listed, 0)]
    [InlineData("127.0.5.1", true, RwlStatus.Trusted, 1)]
    public void Rwl_trust_from_dnswl_replies(string reply, bool whitelisting, RwlStatus status, int trust)
    {
        var v = RwlCheck.Evaluate([("list.dnswl.org.test", reply)], 1, whitelisting);
        Assert.Equal((status, trust), (v.Status, v.Trust));
    }

    [Fact]
    public void Rwl_minhits_not_reached()
    {
        Assert.Equal(RwlStatus.Listed, RwlCheck.Evaluate([("wl.test", "127.0.0.2")], 2, true).Status);
        Assert.Equal(RwlStatus.NotListed, RwlCheck.Evaluate([], 1, true).Status);
    }

    // http:BL (dnsbl.httpbl.org): weight/2 × type × (1 + (threat − days)/100).
    [Theory]
    [InlineData("127.5.50.2", DnsListOutcome.Failed, 72)]    // harvester: 25 × 2 × 1.45 = 72.5 → 72
    [InlineData("127.10.20.1", DnsListOutcome.Neutral, 27)]  // suspicious: 25 × 1 × 1.10 = 27.5 → 27
    [InlineData("127.3.0.4", DnsListOutcome.Failed, 100)]    // comment spammer, threat 0: 25 × 4 × 1 = 100
    [InlineData("127.0.5.0", DnsListOutcome.Pass, 0)]        // Google, the only listing: passes
    public void Httpbl_replies_scale_the_weight(string reply, DnsListOutcome outcome, double score)
    {
        var v = Judge((One("key.$DATA$.dnsbl.httpbl.org=>1"), reply));
        Assert.Equal(outcome, v.Outcome);
        Assert.Equal(score, v.Score);
        Assert.Equal("Google", HttpBl.TryRead("dnsbl.httpbl.org", "127.0.5.0", out var h) ? h.SearchEngine : null);
    }

    [Fact]
    public void Httpbl_search_engine_with_another_listing_does_not_pass()
    {
        var v = Judge((One("dnsbl.httpbl.org=>1"), "127.0.5.0"), (One("zen.test=>2"), "127.0.0.2"));
        // Two hits reach RBLmaxhits, but a weight was summed (25 from zen.test): weights decide, so neutral.
        Assert.Equal((DnsListOutcome.Neutral, 25d), (v.Outcome, v.Score));
    }

    // The reference's example: list.dnswl.org:15=>0,2=>+1,5=>-2 (plus a range and the * fallback).
    [Theory]
    [InlineData("127.0.15.3", RwlStatus.Listed, 0)]      // 15=>0: category 15 never trusted
    [InlineData("127.0.2.2", RwlStatus.Whitelisted, 3)]  // 2=>+1
    [InlineData("127.0.5.3", RwlStatus.Trusted, 1)]      // 5=>-2
    [InlineData("127.0.7.3", RwlStatus.Trusted, 2)]      // 6-9=>-1 (the single category 5 rule does not apply)
    [InlineData("127.0.11.1", RwlStatus.Trusted, 2)]     // *=>+1
    [InlineData("127.0.2.3", RwlStatus.Whitelisted, 3)]  // +1 stays within 0..3
    public void Rwl_category_overrides_change_the_reported_trust(string reply, RwlStatus status, int trust)
    {
        var s = RwlSettings.For(TestConfig.Create(("RWLServiceProvider", "list.dnswl.org:15=>0,2=>+1,5=>-2,6-9=>-1,*=>+1")));
        Assert.Empty(s.Problems);
        Assert.Equal(["list.dnswl.org"], s.Providers.Select(p => p.Zone));
        var v = RwlCheck.Evaluate([("list.dnswl.org", reply)], 1, true, s.Overrides);
        Assert.Equal((status, trust), (v.Status, v.Trust));
    }

    [Fact]
    public void Rwl_dnsrws_name_and_bad_override_parts()
    {
        Assert.Equal(3, RwlCheck.Evaluate([("list.dnsrws.org.local", "127.0.4.3")], 1, true).Trust);
        var s = RwlSettings.For(TestConfig.Create(("RWLServiceProvider", "list.dnswl.org:15=>zero,x=>1,2=>+1")));
        Assert.Equal(2, s.Problems.Count);
        Assert.All(s.Problems, p => Assert.StartsWith("RWLServiceProvider entry 'list.dnswl.org:15=>zero,x=>1,2=>+1'", p));
        Assert.Equal(3, RwlCheck.Evaluate([("list.dnswl.org", "127.0.2.2")], 1, true, s.Overrides).Trust);
        // Without overrides a plain zone's 127.0.x.y reply is not read as category/trust.
        Assert.Equal(2, RwlCheck.Evaluate([("wl.test", "127.0.15.0")], 1, true).Trust);
    }

    [Theory]
    [InlineData("www.spam.example.co.uk", "example.co.uk")]
    [InlineData("a.b.example.com", "example.com")]
    [InlineData("x.y.gov.zz.uk", "y.gov.zz.uk")]
    [InlineData("localhost", null)]
    public void Uribl_base_domain(string host, string? expected)
    {
        var cctlds = new HashSet<string> { "co.uk", "gov.zz.uk" };
        Assert.Equal(expected, UriblCheck.BaseDomain(host, cctlds));
    }
}
