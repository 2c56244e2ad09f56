using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Dns;
using Assp.Mime.Uris;

namespace Assp.Checks.Tests.Dns;

/// <summary>URIBL's scope rules, the sender's domain, "dot" words and URIBLIPRe, against a real nsd.</summary>
public sealed class UriblPipelineTests : IDisposable
{
    private readonly NsdServer _nsd;
    private readonly DnsListChecks _dns;

    public UriblPipelineTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["uribl.test"] = NsdServer.Zone("uribl.test", "spammy.com IN A 127.0.0.2\nbadsender.net IN A 127.0.0.2"),
            // Link hosts for URIBLIPRe: one resolves into the bad network, one does not.
            ["hosts.test"] = NsdServer.Zone("hosts.test", "bad IN A 198.51.100.66\ngood IN A 203.0.113.67"),
        });
        _dns = new DnsListChecks(new DnsResolver(new DnsResolverOptions { Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500) }));
    }

    public void Dispose() => _nsd.Dispose();

    private DecisionPipeline Pipeline() => new(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), _dns);

    private static Assp.Config.ConfigSnapshot Cfg(params (string, string)[] extra) =>
        TestConfig.Create([("URIBLServiceProvider", "uribl.test"), ("URIBLmaxhits", "1"), ("URIBLmaxweight", "0"), .. extra]);

    private const string SpammyLink = "From: a@sender.example\nSubject: deal\n\nbuy at http://www.spammy.com/now\n";

    private async Task<(Verdict Verdict, FakeMailContext Ctx)> Run(Assp.Config.ConfigSnapshot cfg, string message, string from = "a@sender.example")
    {
        var ctx = new FakeMailContext(cfg, "198.51.100.5");
        var (verdict, _) = await Transaction.RunAsync(Pipeline(), ctx, from, ["user@local.test"], message);
        return (verdict, ctx);
    }

    [Fact]
    public async Task A_listed_link_fails_but_not_for_noURIBL_senders()
    {
        Assert.StartsWith("554 5.7.1 Blacklisted by uribl.test", (await Run(Cfg(), SpammyLink)).Verdict.Reply);
        var (verdict, ctx) = await Run(Cfg(("noURIBL", "@sender.example")), SpammyLink);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("noURIBL sender", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("URIBLwhitelist", "spammy.com")]
    [InlineData("URIBLwhitelist", "ammy.com")]            // the end of the name, as ASSP's domain lists match
    [InlineData("whiteListedDomains", "spammy.com")]
    [InlineData("noProcessingDomains", "spammy.com")]
    [InlineData("localDomains", "spammy.com")]
    [InlineData("myNameAlso", "www.spammy.com")]
    public async Task Whitelisted_local_and_own_domains_are_not_looked_up(string option, string value)
    {
        var (verdict, ctx) = await Run(Cfg((option, value)), SpammyLink);
        Assert.False(verdict.Refuses);
        Assert.DoesNotContain(ctx.State.Headers, h => h.StartsWith("X-Assp-Received-URIBL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_senders_domain_is_looked_up_too()
    {
        var (verdict, _) = await Run(Cfg(), "Subject: hi\n\nno links here\n", from: "news@mail.badsender.net");
        Assert.StartsWith("554 5.7.1 Blacklisted by uribl.test", verdict.Reply);
    }

    [Fact]
    public async Task Dot_words_count_only_with_URIBLcheckDOTinURI()
    {
        const string message = "Subject: deal\n\nvisit spammy d o t com today, or www.spammy!dot_com\n";
        Assert.False((await Run(Cfg(), message)).Verdict.Refuses);
        var (verdict, ctx) = await Run(Cfg(("URIBLcheckDOTinURI", "1")), message);
        Assert.StartsWith("554 5.7.1 Blacklisted by uribl.test", verdict.Reply);
        Assert.True(ctx.State.UriFindings.ObfuscatedUri);
    }

    [Fact]
    public void Dot_word_hosts()
    {
        // "the dot is" reads as the.is: the language trap the reference warns about, why the option is off by default.
        Assert.Equal(["example.com", "example.net", "www.shop.org", "the.is"],
            UriblCheck.FindDotWordHosts("exampledotcom and example!d o-t_net, www.shop DOT org; the dot is a dot. dotty").Select(u => u.Host));
        Assert.All(UriblCheck.FindDotWordHosts("exampledotcom"), u => Assert.Equal("dot-word", u.Obfuscation));
    }

    [Fact]
    public async Task A_bad_uri_ip_blocks_even_in_test_mode_and_for_spam_lovers()
    {
        var cfg = Cfg(("URIBLIPRe", "198.51.100.0/24"), ("uriblTestMode", "1"), ("uriblSpamLovers", "user@local.test"));
        // Written as an IP (in hex: also an obfuscated IP).
        var (verdict, ctx) = await Run(cfg, "Subject: x\n\nhttp://0xC6.51.100.9/login\n");
        Assert.StartsWith("554 5.7.1 Blacklisted by 198.51.100.9", verdict.Reply);
        Assert.True(ctx.State.UriFindings.ObfuscatedIp);
        Assert.Equal(25, ctx.State.MessageScore);
        // A host that resolves into the network.
        (verdict, _) = await Run(cfg, "Subject: x\n\nhttp://bad.hosts.test/login\n");
        Assert.StartsWith("554 5.7.1 Blacklisted by 198.51.100.66", verdict.Reply);
        // Hosts elsewhere pass; so does a bad IP when URIBL is off.
        Assert.False((await Run(cfg, "Subject: x\n\nhttp://good.hosts.test/\n")).Verdict.Refuses);
        Assert.False((await Run(Cfg(("URIBLIPRe", "198.51.100.0/24"), ("ValidateURIBL", "0")), "Subject: x\n\nhttp://198.51.100.9/\n")).Verdict.Refuses);
    }

    [Fact]
    public async Task Too_many_uris_and_domains_are_flagged()
    {
        var (_, ctx) = await Run(Cfg(("URIBLmaxuris", "2"), ("URIBLmaxdomains", "1")),
            "Subject: x\n\nhttp://a.example.com/ http://b.example.org/ http://c.example.net/\n");
        Assert.Equal(new UriFindings(false, false, true, true), ctx.State.UriFindings);
    }

    [Fact]
    public void Case_entities_and_userinfo_are_not_obfuscation()
    {
        Assert.False(UriblCheck.IsObfuscated(UriExtractor.ParseUri("http://WWW.Example.COM/")!));
        Assert.True(UriblCheck.IsObfuscated(UriExtractor.ParseUri("http://%77ww.example.com/")!));
        Assert.True(UriblCheck.IsObfuscated(UriExtractor.ParseUri("http://3232235777/")!));
    }
}
