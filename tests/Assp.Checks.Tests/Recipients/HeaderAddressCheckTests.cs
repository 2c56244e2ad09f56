using Assp.Checks.Decision;
using Assp.Checks.Recipients;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.Recipients;

/// <summary>DoHeaderAddrCheck through the real pipeline with every catalogued check.</summary>
public class HeaderAddressCheckTests
{
    private static ConfigSnapshot Cfg(params (string, string)[] values) => RecipientValidationTests.Cfg(
        [("LocalAddresses_Flat", "alice@local.test"), ("DoHeaderAddrCheck", "1"), .. values]);

    private static string Message(string headers) =>
        "From: Sender <a@sender.example>\r\n" + headers + "Subject: hello\r\nDate: Sat, 01 Mar 2025 12:00:00 +0000\r\n"
        + "Message-ID: <1@sender.example>\r\n\r\nbody\r\n";

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx, FakeIpReputation Ip)> Run(ConfigSnapshot cfg, string headers)
    {
        var services = new CheckServices(new MemoryStore());
        var ip = new FakeIpReputation();
        var pipeline = new DecisionPipeline(new DecisionEngine(ip, new FakeAddressReputation()), null, CheckCatalog.Discover(services), services);
        var ctx = new FakeMailContext(cfg);
        var (v, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["alice@local.test"], Message(headers));
        return (v, phase, ctx, ip);
    }

    [Fact]
    public void TheCheckIsCatalogued() =>
        Assert.Contains(CheckCatalog.Discover(CheckServices.None), c => c is HeaderAddressCheck);

    [Fact]
    public async Task AnInvalidLocalToOrCcAddressIsScoredWithIrValencePB()
    {
        var (v, phase, ctx, ip) = await Run(Cfg(), "To: alice@local.test, Bob <bob@local.test>\r\nCc: someone@foreign.example\r\n");
        Assert.Equal("delivered", phase);
        Assert.False(v.Refuses);
        // irValencePB, once: alice is valid, the foreign CC: is fine.
        var score = Assert.Single(ctx.State.Scores, e => e.Check == "irValencePB");
        Assert.Equal((10, 10), (score.MessageScore, score.IpScore));
        Assert.Contains("TO: - local but not valid recipient address 'bob@local.test' detected in mail header", ctx.LogLines);
    }

    [Fact]
    public async Task OffMeansNothingIsLookedAt()
    {
        var (_, phase, ctx, _) = await Run(Cfg(("DoHeaderAddrCheck", "0")), "To: bob@local.test\r\nBcc: x@foreign.example\r\n");
        Assert.Equal("delivered", phase);
        Assert.DoesNotContain(ctx.State.Scores, e => e.Check is "irValencePB" or "rlValencePB");
    }

    [Fact]
    public async Task WhitelistedMailIsNotScoredForInvalidLocalAddresses()
    {
        var (_, phase, ctx, _) = await Run(Cfg(("whiteListedIPs", "203.0.113.9")), "To: bob@local.test\r\n");
        Assert.Equal("delivered", phase);
        Assert.DoesNotContain(ctx.State.Scores, e => e.Check is "irValencePB" or "rlValencePB");
    }

    [Fact]
    public async Task ASpamTrapInTheHeaderBlocksAndClosesTheConnection()
    {
        // PenaltyTrapPolite (default "550 5.1.1 User unknown: EMAILADDRESS") is the reply.
        var (v, phase, ctx, ip) = await Run(Cfg(("spamtrapaddresses", "trap@local.test")), "To: alice@local.test\r\nCc: trap@local.test\r\n");
        Assert.Equal("DataHeader", phase);
        Assert.Equal(VerdictKind.Block, v.Kind);
        Assert.True(v.Close);
        Assert.Equal("550 5.1.1 User unknown: trap@local.test", v.Reply);
        Assert.Equal(50, ip.Black["203.0.113.9"]);   // stValencePB
        Assert.Contains("[spam found] penalty trap address: trap@local.test", ctx.LogLines);

        var own = await Run(Cfg(("spamtrapaddresses", "trap@local.test"), ("PenaltyTrapPolite", "554 no such user EMAILADDRESS")), "To: trap@local.test\r\n");
        Assert.Equal("554 no such user trap@local.test", own.Verdict.Reply);

        var exempt = await Run(Cfg(("spamtrapaddresses", "trap@local.test"), ("noPenaltyMakeTraps", "trap@local.test")), "To: trap@local.test\r\n");
        Assert.Equal("delivered", exempt.Phase);
    }

    [Fact]
    public async Task AForeignBccIsARelayAttemptUnlessRemoveForeignBccIsOn()
    {
        var (v, phase, ctx, ip) = await Run(Cfg(), "To: alice@local.test\r\nBcc: victim@foreign.example\r\n");
        Assert.Equal("DataHeader", phase);
        Assert.True(v.Close);
        Assert.Equal("421 closing transmission - BCC: recipient (victim@foreign.example) is not local", v.Reply);
        Assert.Equal(10, ip.Black["203.0.113.9"]);   // rlValencePB
        Assert.Contains("[spam found] relay attempt blocked for non local BCC: recipient - victim@foreign.example", ctx.LogLines);

        var removed = await Run(Cfg(("removeForeignBCC", "1")), "To: alice@local.test\r\nBcc: victim@foreign.example\r\n");
        Assert.Equal("delivered", removed.Phase);
        Assert.Contains("BCC", removed.Ctx.State.DroppedHeaderFields);

        // The BCC: lines go even when DoHeaderAddrCheck is off; a message without them loses nothing.
        removed = await Run(Cfg(("removeForeignBCC", "1"), ("DoHeaderAddrCheck", "0")), "To: alice@local.test\r\nBcc: victim@foreign.example\r\n");
        Assert.Contains("BCC", removed.Ctx.State.DroppedHeaderFields);
        removed = await Run(Cfg(("removeForeignBCC", "1")), "To: alice@local.test\r\n");
        Assert.Empty(removed.Ctx.State.DroppedHeaderFields);
        removed = await Run(Cfg(), "To: alice@local.test\r\nBcc: alice@local.test\r\n");
        Assert.Empty(removed.Ctx.State.DroppedHeaderFields);
    }
}
