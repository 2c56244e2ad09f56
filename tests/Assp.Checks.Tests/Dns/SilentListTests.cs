using System.Net;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Dns;
using Assp.Mime.Uris;

namespace Assp.Checks.Tests.Dns;

/// <summary>
/// One list of each kind stays silent while the others answer: every engine asks all lists at once, stops waiting
/// at its own maximum time (far below the resolver's two-minute lookup limit) and decides on the answers it has.
/// The test time-outs are guards only: without the per-check limit the silent list would hold a check for two minutes.
/// </summary>
public sealed class SilentListTests : IDisposable
{
    private readonly NsdServer _nsd;
    private readonly SilentZoneForwarder _forwarder;
    private readonly DnsResolver _resolver;

    public SilentListTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["bl.test"] = NsdServer.Zone("bl.test", "9.113.0.203 IN A 127.0.0.2"),
            ["list.dnswl.org.test"] = NsdServer.Zone("list.dnswl.org.test", "9.113.0.203 IN A 127.0.5.3"),
            ["uribl.test"] = NsdServer.Zone("uribl.test", "spammy.com IN A 127.0.0.2"),
        });
        _forwarder = new SilentZoneForwarder(_nsd.EndPoint, "silent.test");
        _resolver = new DnsResolver(new DnsResolverOptions
        {
            Servers = [_forwarder.EndPoint], Timeout = TimeSpan.FromMinutes(2), Retransmit = TimeSpan.FromMinutes(1), Retries = 0,
        });
    }

    public void Dispose()
    {
        _forwarder.Dispose();
        _nsd.Dispose();
    }

    private static readonly IPAddress Listed = IPAddress.Parse("203.0.113.9");

    [Fact(Timeout = 30_000)]
    public async Task Dnsbl_decides_on_the_answering_list_when_another_is_silent()
    {
        var s = DnsblSettings.For(TestConfig.Create(("RBLServiceProvider", "bl.test=>2|silent.test=>2"), ("RBLmaxhits", "2"), ("RBLmaxtime", "1")));
        var v = await new DnsblCheck(_resolver).CheckAsync(Listed, s);
        Assert.True(v.TimedOut);
        Assert.Equal((DnsListOutcome.Neutral, 25d, "bl.test<-127.0.0.2"), (v.Outcome, v.Score, v.ListedText));
        Assert.True(_forwarder.Dropped >= 1);
    }

    [Fact(Timeout = 30_000)]
    public async Task Rwl_decides_on_the_answering_list_when_another_is_silent()
    {
        var s = RwlSettings.For(TestConfig.Create(("RWLServiceProvider", "silent.test|list.dnswl.org.test"), ("RWLminhits", "2"), ("RWLmaxtime", "1"),
            ("RWLwhitelisting", "1")));
        var v = await new RwlCheck(_resolver).CheckAsync(Listed, s);
        Assert.Equal(RwlStatus.Listed, v.Status); // one hit of the two RWLminhits asks for
        Assert.Single(v.ListedBy);
    }

    [Fact(Timeout = 30_000)]
    public async Task Uribl_decides_on_the_answering_list_when_another_is_silent()
    {
        var s = UriblSettings.For(TestConfig.Create(("URIBLServiceProvider", "uribl.test|silent.test"), ("URIBLmaxhits", "2"), ("URIBLmaxweight", "0"),
            ("URIBLmaxtime", "1")));
        var v = await new UriblCheck(_resolver).CheckAsync(UriExtractor.Extract("http://spammy.com/ http://other.com/", false), s);
        Assert.Equal((DnsListOutcome.Neutral, "spammy.com"), (v.Outcome, v.ListedDomain));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_whole_transaction_with_silent_lists_ends_on_the_per_check_limits()
    {
        var cfg = TestConfig.Create(("ValidateRWL", "1"), ("RWLServiceProvider", "silent.test"), ("RWLmaxtime", "1"),
            ("RBLServiceProvider", "bl.test=>1|silent.test=>1"), ("RBLmaxtime", "1"),
            ("URIBLServiceProvider", "uribl.test|silent.test"), ("URIBLmaxtime", "1"), ("URIBLmaxhits", "1"), ("URIBLmaxweight", "0"));
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), new DnsListChecks(_resolver));
        var ctx = new FakeMailContext(cfg, "198.51.100.5");
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["user@local.test"],
            "Subject: deal\n\nhttp://www.spammy.com/\n");
        Assert.Equal("DataBody", phase);
        Assert.StartsWith("554 5.7.1 Blacklisted by uribl.test", verdict.Reply);
        Assert.False(ctx.State.RwlOk);
    }
}
