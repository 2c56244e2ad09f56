using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Checks;

/// <summary>DoIPinHelo behind an ISP relay: the HELO the original sender gave the ISP, checked against its IP.</summary>
public class IpInOriginalHeloTests
{
    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create(null, [("localDomains", "local.test"), ("PenaltyMessageLimit", "500"), ("ispip", "10.0.0.5"),
            ("ispHostnames", @"mx\.isp\.example"), .. values]);

    private static async Task<FakeMailContext> Relayed(ConfigSnapshot cfg, string received)
    {
        var services = new CheckServices();
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null,
            CheckCatalog.Discover(services), services);
        var ctx = new FakeMailContext(cfg, "10.0.0.5") { Helo = "mx.isp.example" };
        var message = $"Received: {received}\nFrom: a@sender.example\nMessage-ID: <1.2@sender.example>\nSubject: hi\n\nbody\n";
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["u@local.test"], message);
        Assert.False(verdict.Refuses);
        return ctx;
    }

    [Fact]
    public async Task TheOriginalHeloIsCheckedAgainstTheOriginalIp()
    {
        var ctx = await Relayed(Cfg(), "from [203.0.113.50] (helo=198.51.100.7) by mx.isp.example with ESMTP id 1; Thu, 1 Jan 2026 00:00:00 +0000");
        Assert.Contains(ctx.LogLines, l => l == "Originating IP/HELO: 203.0.113.50 / 198.51.100.7");
        Assert.Contains(ctx.State.Scores, s => s.Check == "fiphValencePB" && s.Reason == "Suspicious HELO - contains IP: '198.51.100.7'");
        Assert.Contains(ctx.State.Scores, s => s.Reason == "IP in HELO '198.51.100.7' does not match IP in connection '203.0.113.50'");

        // The original sender named its own IP: only the IP-literal score.
        ctx = await Relayed(Cfg(), "from host-50.example ([203.0.113.50] helo=[203.0.113.50]) by mx.isp.example; Thu, 1 Jan 2026 00:00:00 +0000");
        Assert.Contains(ctx.State.Scores, s => s.Check == "fiphValencePB");
        Assert.DoesNotContain(ctx.State.Scores, s => s.Reason.Contains("does not match"));

        // A plain host name, noHelo for the original IP, or the check off: nothing.
        ctx = await Relayed(Cfg(), "from mail.sender.example ([203.0.113.50]) by mx.isp.example; Thu, 1 Jan 2026 00:00:00 +0000");
        Assert.DoesNotContain(ctx.State.Scores, s => s.Check == "fiphValencePB");
        ctx = await Relayed(Cfg(("noHelo", "203.0.113.50")), "from [203.0.113.50] (helo=198.51.100.7) by mx.isp.example; Thu, 1 Jan 2026 00:00:00 +0000");
        Assert.DoesNotContain(ctx.State.Scores, s => s.Check == "fiphValencePB");
        ctx = await Relayed(Cfg(("DoIPinHelo", "0")), "from [203.0.113.50] (helo=198.51.100.7) by mx.isp.example; Thu, 1 Jan 2026 00:00:00 +0000");
        Assert.DoesNotContain(ctx.State.Scores, s => s.Check == "fiphValencePB");
    }
}
