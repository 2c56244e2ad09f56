using System.Net;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Checks.Tests.Whitelist;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.Checks;

/// <summary>DoDomainIP: a sender domain arriving from more different IPs (subnets) than maxSMTPdomainIP allows.</summary>
public class DomainIpCheckTests
{
    private const string Message = "From: a@spread.example\nMessage-ID: <1234.5678@spread.example>\nSubject: hello\n\nbody\n";

    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create(null, [("localDomains", "local.test"), ("PenaltyMessageLimit", "500"), ("DoDomainIP", "1"),
            ("maxSMTPdomainIP", "2"), ("ValidateSPF", "0"), .. values]);

    private sealed class Setup
    {
        public readonly ManualClock Clock = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        public readonly FakeIpReputation Box = new();
        public readonly MemoryStore Store = new();
        public readonly DecisionPipeline Pipeline;

        public Setup()
        {
            var services = new CheckServices(Store, null, Clock);
            Pipeline = new DecisionPipeline(new DecisionEngine(Box, new FakeAddressReputation()), null, CheckCatalog.Discover(services), services);
        }

        /// <summary>One connection from <paramref name="ip"/> (put into the black box first) sending one mail.</summary>
        public async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Mail(ConfigSnapshot cfg, string ip, string from = "a@spread.example",
            bool inBox = true)
        {
            if (inBox) Box.Black[IPAddress.Parse(ip).ToString()] = 10;
            var ctx = new FakeMailContext(cfg, ip);
            var (verdict, phase) = await Transaction.RunAsync(Pipeline, ctx, from, ["u@local.test"], Message);
            return (verdict, phase, ctx);
        }
    }

    [Fact]
    public async Task BlocksTheThirdDifferentSubnetAndForgetsAfterTheExpiration()
    {
        var s = new Setup();
        var cfg = Cfg();
        Assert.Equal("delivered", (await s.Mail(cfg, "198.51.100.1")).Phase);
        // The same /24 (DelayUseNetblocks is on by default) is not a new IP.
        Assert.Equal("delivered", (await s.Mail(cfg, "198.51.100.77")).Phase);
        Assert.Equal("delivered", (await s.Mail(cfg, "192.0.2.1")).Phase);
        var (verdict, phase, ctx) = await s.Mail(cfg, "203.0.113.5");
        Assert.Equal("mail", phase);
        Assert.True(verdict.Close);
        Assert.Equal("554 5.7.1 too many different IP's for domain '@spread.example'", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l == "[IPperDomain] '@spread.example' passed limit(2) of ips per domain");
        Assert.Contains(ctx.State.Scores, s => s.Check == "idValencePB" && s.MessageScore == 150);
        Assert.Equal("[IPperDomain]", ctx.State.Prepend.ToString());

        // Another domain from the same IP is not affected.
        Assert.Equal("delivered", (await s.Mail(cfg, "203.0.113.5", "b@other.example")).Phase);

        // The window started with the domain's first change (192.0.2.1); after maxSMTPdomainIPExpiration it starts again.
        s.Clock.Advance(TimeSpan.FromSeconds(7201));
        Assert.Equal("delivered", (await s.Mail(cfg, "203.0.113.6")).Phase);
    }

    [Fact]
    public async Task WithoutNetblocksEveryAddressCounts()
    {
        var s = new Setup();
        var cfg = Cfg(("DelayUseNetblocks", "0"));
        await s.Mail(cfg, "198.51.100.1");
        await s.Mail(cfg, "198.51.100.2");
        Assert.Equal("mail", (await s.Mail(cfg, "198.51.100.3")).Phase);
    }

    [Fact]
    public async Task ModesScoreWithoutBlocking()
    {
        async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Third(params (string, string)[] extra)
        {
            var s = new Setup();
            var cfg = Cfg(extra);
            await s.Mail(cfg, "198.51.100.1");
            await s.Mail(cfg, "192.0.2.1");
            return await s.Mail(cfg, "203.0.113.5");
        }

        var (verdict, _, ctx) = await Third(("DoDomainIP", "2"));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l == "[monitoring] '@spread.example' passed limit(2) of ips per domain");
        Assert.DoesNotContain(ctx.State.Scores, s => s.Check == "idValencePB");

        (verdict, _, ctx) = await Third(("DoDomainIP", "3"));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[scoring] '@spread.example' passed limit(2)"));
        Assert.Contains(ctx.State.Scores, s => s.Check == "idValencePB" && s.MessageScore == 150);

        (verdict, _, ctx) = await Third(("DoDomainIP", "4"));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[testmode] '@spread.example' passed limit(2)"));
        Assert.Contains(ctx.State.Scores, s => s.Check == "idValencePB");

        (verdict, _, _) = await Third(("allTestMode", "1"));
        Assert.False(verdict.Refuses);

        // maxSMTPdomainIP 0 means no limit.
        (verdict, _, _) = await Third(("maxSMTPdomainIP", "0"));
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task ExemptionsAreNeverCounted()
    {
        async Task<Verdict> Third(bool inBox, params (string, string)[] extra)
        {
            var s = new Setup();
            var cfg = Cfg(extra);
            await s.Mail(cfg, "198.51.100.1", inBox: inBox);
            await s.Mail(cfg, "192.0.2.1", inBox: inBox);
            return (await s.Mail(cfg, "203.0.113.5", inBox: inBox)).Verdict;
        }

        Assert.True((await Third(true)).Refuses);
        // Only clients already in the PenaltyBox's black box are counted.
        Assert.False((await Third(false)).Refuses);
        foreach (var list in new[] { "noPB", "noDelay", "noBlockingIPs", "whiteListedIPs", "noProcessingIPs", "acceptAllMail" })
            Assert.False((await Third(true, (list, "198.51.100.0/24|192.0.2.0/24|203.0.113.0/24"))).Refuses, list);
        // maxSMTPdomainIPWL matches from the start of the domain, with * wildcards.
        Assert.False((await Third(true, ("maxSMTPdomainIPWL", "spread.example"))).Refuses);
        Assert.False((await Third(true, ("maxSMTPdomainIPWL", "gmail.com|spr*.example"))).Refuses);
        Assert.True((await Third(true, ("maxSMTPdomainIPWL", "read.example"))).Refuses);
    }

    [Fact]
    public async Task WithSpfOnTheCountWaitsForTheSpfResult()
    {
        // No DNS here: SPF gives no result, so the header look counts and refuses there.
        var s = new Setup();
        var cfg = Cfg(("ValidateSPF", "3"));
        await s.Mail(cfg, "198.51.100.1");
        await s.Mail(cfg, "192.0.2.1");
        var (verdict, phase, _) = await s.Mail(cfg, "203.0.113.5");
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.1 too many different IP's for domain '@spread.example'", verdict.Reply);

        // A cached SPF pass for the IP and domain exempts it at MAIL FROM already.
        s = new Setup();
        s.Store.Table(SpfService.CacheTable).Set("203.0.113.5 spread.example", $"{s.Clock.GetUtcNow().ToUnixTimeSeconds()} pass mx");
        await s.Mail(cfg, "198.51.100.1");
        await s.Mail(cfg, "192.0.2.1");
        Assert.Equal("delivered", (await s.Mail(cfg, "203.0.113.5")).Phase);

        // A cached SPF fail lets MAIL FROM decide.
        s = new Setup();
        s.Store.Table(SpfService.CacheTable).Set("203.0.113.5 spread.example", $"{s.Clock.GetUtcNow().ToUnixTimeSeconds()} fail mx");
        await s.Mail(cfg, "198.51.100.1");
        await s.Mail(cfg, "192.0.2.1");
        Assert.Equal("mail", (await s.Mail(cfg, "203.0.113.5")).Phase);
    }

    [Fact]
    public async Task Send250OkLetsTheHeaderLookPass()
    {
        var s = new Setup();
        var cfg = Cfg(("ValidateSPF", "3"), ("send250OK", "1"));
        await s.Mail(cfg, "198.51.100.1");
        await s.Mail(cfg, "192.0.2.1");
        var (verdict, _, ctx) = await s.Mail(cfg, "203.0.113.5");
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "idValencePB");
    }
}
