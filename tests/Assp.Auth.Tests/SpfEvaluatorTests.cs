using System.Net;
using Assp.Auth.Spf;
using Assp.Dns;

namespace Assp.Auth.Tests;

public sealed class SpfEvaluatorTests
{
    private static Task<SpfCheckResult> Check(InMemorySpfDns zone, string ip, string mailFrom, string helo = "mail.example.org") =>
        new SpfEvaluator(zone, new SpfOptions { DefaultExplanation = "DEFAULT", ReceiverName = "mx.receiver.example" })
            .CheckMailFromAsync(IPAddress.Parse(ip), mailFrom, helo);

    // The examples of RFC 7208 7.4 (sender strong-bad@email.example.com), checked through exists: so the expansion is what gets queried.
    [Theory]
    [InlineData("%{s}", "strong-bad@email.example.com")]
    [InlineData("%{o}", "email.example.com")]
    [InlineData("%{d4}", "email.example.com")]
    [InlineData("%{d2}", "example.com")]
    [InlineData("%{d1}.x", "com.x")]
    [InlineData("%{dr}", "com.example.email")]
    [InlineData("%{d2r}.x", "example.email.x")]
    [InlineData("%{l-}.x", "strong.bad.x")]
    [InlineData("%{lr-}.x", "bad.strong.x")]
    [InlineData("%{l1r-}.x", "strong.x")]
    [InlineData("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com")]
    [InlineData("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com")]
    [InlineData("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net")]
    [InlineData("%{L}%_%%x.example", "strong-bad %x.example")]
    public async Task MacroExamplesOfTheRfc(string spec, string expanded)
    {
        var zone = new InMemorySpfDns()
            .Add("email.example.com", "TXT", $"v=spf1 exists:{spec} -all")
            .Add(expanded, "A", "127.0.0.2");
        var r = await Check(zone, "192.0.2.3", "strong-bad@email.example.com");
        Assert.Equal(SpfResult.Pass, r.Result);
    }

    [Fact]
    public async Task Ip6NibblesAreLowerCase()
    {
        var zone = new InMemorySpfDns()
            .Add("email.example.com", "TXT", "v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all")
            .Add("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", "A", "127.0.0.2");
        var r = await Check(zone, "2001:db8::cb01", "strong-bad@email.example.com");
        Assert.Equal(SpfResult.Pass, r.Result);
    }

    [Fact]
    public async Task UpperCaseMacroIsUrlEscapedWithUpperHex()
    {
        var zone = new InMemorySpfDns()
            .Add("example.com", "TXT", "v=spf1 -all exp=why.example.com")
            .Add("why.example.com", "TXT", "see %{L} from %{c} via %{r}");
        var r = await Check(zone, "192.0.2.3", "a b/c@example.com");
        Assert.Equal(SpfResult.Fail, r.Result);
        Assert.Equal("see a%20b%2Fc from 192.0.2.3 via mx.receiver.example", r.Explanation);
    }

    [Fact]
    public async Task ElevenLookupTermsArePermError()
    {
        var zone = new InMemorySpfDns()
            .Add("example.com", "TXT", "v=spf1 " + string.Join(' ', Enumerable.Range(0, 11).Select(i => $"a:h{i}.example.com")) + " -all");
        for (int i = 0; i < 11; i++) zone.Add($"h{i}.example.com", "A", "198.51.100.1");
        var r = await Check(zone, "192.0.2.3", "x@example.com");
        Assert.Equal(SpfResult.PermError, r.Result);

        // Ten are allowed.
        zone.Add("ten.example.com", "TXT", "v=spf1 " + string.Join(' ', Enumerable.Range(0, 10).Select(i => $"a:h{i}.example.com")) + " -all");
        Assert.Equal(SpfResult.Fail, (await Check(zone, "192.0.2.3", "x@ten.example.com")).Result);
    }

    [Fact]
    public async Task ThirdVoidLookupIsPermError()
    {
        var zone = new InMemorySpfDns().Add("example.com", "TXT", "v=spf1 a:n1.example.com a:n2.example.com ?all");
        Assert.Equal(SpfResult.Neutral, (await Check(zone, "192.0.2.3", "x@example.com")).Result);
        zone.Add("three.example.com", "TXT", "v=spf1 a:n1.example.com a:n2.example.com mx:n3.example.com ?all");
        Assert.Equal(SpfResult.PermError, (await Check(zone, "192.0.2.3", "x@three.example.com")).Result);
    }

    [Theory]
    [InlineData("v=spf1 ip4:192.0.2.0/24 -all", SpfResult.Pass)]
    [InlineData("v=spf1 ip4:192.0.3.0/24 -all", SpfResult.Fail)]
    [InlineData("v=spf1 ip4:192.0.3.0/24 ~all", SpfResult.SoftFail)]
    [InlineData("v=spf1 ip4:192.0.3.0/24", SpfResult.Neutral)]
    [InlineData("v=spf1 ip4:192.0.2.0/024 -all", SpfResult.PermError)]
    [InlineData("v=spf1 -all foo=%x", SpfResult.PermError)]
    [InlineData("v=spf1 a:example -all", SpfResult.PermError)]
    [InlineData("v=spf1 +all redirect=a.example.com redirect=b.example.com", SpfResult.PermError)]
    [InlineData("v=spf1 a/24//64 -all", SpfResult.Pass)]
    public async Task Records(string record, SpfResult expected)
    {
        var zone = new InMemorySpfDns().Add("example.com", "TXT", record).Add("example.com", "A", "192.0.2.77");
        Assert.Equal(expected, (await Check(zone, "192.0.2.3", "x@example.com")).Result);
    }

    [Fact]
    public async Task NoRecordAndTwoRecords()
    {
        var zone = new InMemorySpfDns()
            .Add("none.example.com", "TXT", "some other text")
            .Add("two.example.com", "TXT", "v=spf1 -all").Add("two.example.com", "TXT", "v=spf1 +all");
        Assert.Equal(SpfResult.None, (await Check(zone, "192.0.2.3", "x@none.example.com")).Result);
        Assert.Equal(SpfResult.None, (await Check(zone, "192.0.2.3", "x@nowhere.example.com")).Result);
        Assert.Equal(SpfResult.PermError, (await Check(zone, "192.0.2.3", "x@two.example.com")).Result);
    }

    [Fact]
    public async Task HeloIdentity()
    {
        var zone = new InMemorySpfDns().Add("mail.example.com", "TXT", "v=spf1 a -all").Add("mail.example.com", "A", "192.0.2.3");
        var evaluator = new SpfEvaluator(zone);
        Assert.Equal(SpfResult.Pass, (await evaluator.CheckHeloAsync(IPAddress.Parse("192.0.2.3"), "mail.example.com")).Result);
        Assert.Equal(SpfResult.Fail, (await evaluator.CheckHeloAsync(IPAddress.Parse("192.0.2.4"), "mail.example.com")).Result);
    }

    /// <summary>The adapter over our resolver: answers come from its cache here, and a miss with no server is a temperror.</summary>
    [Fact]
    public async Task AdapterOverDnsResolver()
    {
        var resolver = new DnsResolver(new DnsResolverOptions { Timeout = TimeSpan.FromMilliseconds(200) });
        var ttl = TimeSpan.FromMinutes(5);
        resolver.Cache.Set("example.com", DnsRecordType.TXT, new DnsResponse
        {
            Name = "example.com", Type = DnsRecordType.TXT, Status = DnsStatus.Success, Ttl = ttl,
            Records = [new TxtRecord("example.com", 300, ["v=spf1 mx ", "-all"])],
        }, ttl);
        resolver.Cache.Set("example.com", DnsRecordType.MX, new DnsResponse
        {
            Name = "example.com", Type = DnsRecordType.MX, Status = DnsStatus.Success, Ttl = ttl,
            Records = [new MxRecord("example.com", 300, 10, "mx.example.com")],
        }, ttl);
        resolver.Cache.Set("mx.example.com", DnsRecordType.A, new DnsResponse
        {
            Name = "mx.example.com", Type = DnsRecordType.A, Status = DnsStatus.Success, Ttl = ttl,
            Records = [new ARecord("mx.example.com", 300, IPAddress.Parse("192.0.2.3"))],
        }, ttl);
        var evaluator = new SpfEvaluator(new DnsResolverSpfDns(resolver));
        Assert.Equal(SpfResult.Pass, (await evaluator.CheckMailFromAsync(IPAddress.Parse("192.0.2.3"), "a@example.com", "h.example.com")).Result);
        var fail = await evaluator.CheckMailFromAsync(IPAddress.Parse("192.0.2.4"), "a@example.com", "h.example.com");
        Assert.Equal(SpfResult.Fail, fail.Result);
        Assert.Equal("-all", fail.Mechanism);
        Assert.Equal(SpfResult.TempError, (await evaluator.CheckMailFromAsync(IPAddress.Parse("192.0.2.3"), "a@other.example.com", "h.example.com")).Result);
    }
}
