using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Dns;

namespace Assp.Checks.Tests.Dns;

/// <summary>ValidateSPF in the pipeline, against SPF records served by a real nsd.</summary>
public sealed class SpfCheckTests : IDisposable
{
    private readonly NsdServer _nsd;
    private readonly CheckServices _services;

    public SpfCheckTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["fail.test"] = NsdServer.Zone("fail.test", "@ IN TXT \"v=spf1 -all\""),
            ["pass.test"] = NsdServer.Zone("pass.test", "@ IN TXT \"v=spf1 ip4:203.0.113.0/24 -all\""),
            ["soft.test"] = NsdServer.Zone("soft.test", "@ IN TXT \"v=spf1 ~all\""),
        });
        _services = new CheckServices(Dns: new DnsListChecks(new DnsResolver(new DnsResolverOptions
        {
            Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
        })));
    }

    public void Dispose() => _nsd.Dispose();

    private async Task<(Verdict Verdict, FakeMailContext Ctx)> Send(string from, params (string, string)[] cfg)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), _services.Dns,
            [new SpfCheck(_services)], _services);
        var ctx = new FakeMailContext(TestConfig.Create(cfg));
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, from, ["user@local.test"], $"From: {from}\nMessage-ID: <1@x>\nSubject: s\n\nb\n");
        return (verdict, ctx);
    }

    [Fact]
    public async Task FailScoresByDefaultAndBlocksInBlockMode()
    {
        var (verdict, ctx) = await Send("a@fail.test");
        Assert.False(verdict.Refuses);                  // ValidateSPF 3 (score) is the default
        Assert.Equal(10, ctx.State.MessageScore);
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("Received-SPF: fail", StringComparison.Ordinal));
        (verdict, _) = await Send("a@fail.test", ("ValidateSPF", "1"));
        Assert.Equal("554 5.7.1 failed SPF: fail", verdict.Reply);
    }

    [Fact]
    public async Task PassEarnsTheBonusSoftfailScoresUnlessStrict()
    {
        var (_, pass) = await Send("a@pass.test");
        Assert.Equal(-10, pass.State.MessageScore);
        var (verdict, soft) = await Send("a@soft.test", ("ValidateSPF", "1"));
        Assert.False(verdict.Refuses);
        Assert.Equal(5, soft.State.MessageScore);
        (verdict, _) = await Send("a@soft.test", ("ValidateSPF", "1"), ("SPFsoftfail", "1"));
        Assert.Equal("554 5.7.1 failed SPF: softfail", verdict.Reply);
        (verdict, _) = await Send("a@soft.test", ("ValidateSPF", "3"), ("blockstrictSPFRe", "@soft\\.test"), ("strictSPFRe", "@soft\\.test"));
        Assert.True(verdict.Refuses);                   // blockstrictSPFRe refuses whatever the mode
    }
}
