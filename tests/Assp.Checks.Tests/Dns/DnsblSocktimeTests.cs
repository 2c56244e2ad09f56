using System.Net;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Dns;

namespace Assp.Checks.Tests.Dns;

/// <summary>RBLsocktime against a real nsd reached through a relay that answers the DNSBL late.</summary>
public sealed class DnsblSocktimeTests : IDisposable
{
    private readonly NsdServer _nsd = new(new Dictionary<string, string>
    {
        ["slow.test"] = NsdServer.Zone("slow.test", "9.113.0.203 IN A 127.0.0.2"),
    });
    private readonly SilentZoneForwarder _relay;

    public DnsblSocktimeTests() => _relay = new SilentZoneForwarder(_nsd.EndPoint, "slow.test", TimeSpan.FromSeconds(4));

    public void Dispose()
    {
        _relay.Dispose();
        _nsd.Dispose();
    }

    [Fact]
    public async Task RBLsocktime_is_the_wait_for_an_answer_after_which_RBLmaxtime_is_looked_at()
    {
        // The listing comes 4 s late and RBLmaxtime is 2 s. Waiting 1 s at a time, the lookup sees the time is up at the
        // 2 s mark and gives up; one 10 s wait (begun before the time was up) still takes the late answer, as in ASSP.
        var cfg = (string socktime) => DnsblSettings.For(TestConfig.Create(("RBLServiceProvider", "slow.test"), ("RBLmaxhits", "1"),
            ("RBLmaxweight", "0"), ("RBLmaxtime", "2"), ("RBLsocktime", socktime)));
        Assert.Equal(TimeSpan.FromSeconds(3), cfg("3").ReadTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), cfg("0").ReadTimeout);
        var resolver = new DnsResolver(new DnsResolverOptions
        {
            Servers = [_relay.EndPoint], Timeout = TimeSpan.FromSeconds(20), Retransmit = TimeSpan.FromSeconds(10), Retries = 0,
        });
        var ip = IPAddress.Parse("203.0.113.9");
        var quick = await new DnsblCheck(resolver).CheckAsync(ip, cfg("1"));
        Assert.True(quick.TimedOut);
        Assert.Empty(quick.ListedBy);
        var patient = await new DnsblCheck(resolver).CheckAsync(ip, cfg("10"));
        Assert.Equal("slow.test<-127.0.0.2", patient.ListedText);
    }
}
