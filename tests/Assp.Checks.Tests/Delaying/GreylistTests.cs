using System.Net;
using Assp.Checks.Decision;
using Assp.Checks.Delaying;
using Assp.Checks.Tests.Decision;
using Assp.Storage;

namespace Assp.Checks.Tests.Delaying;

/// <summary>Greylisting over injected time, as ASSP's reference describes it.</summary>
public class GreylistTests
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
        public void Advance(TimeSpan t) => Now += t;
    }

    private static readonly IPAddress Ip = IPAddress.Parse("203.0.113.9");

    [Fact]
    public void FirstTryRefusedRetryAfterEmbargoAcceptedTupleSafelistedThenExpires()
    {
        var clock = new Clock();
        var greylist = new Greylist(new MemoryStore(clock));
        var cfg = TestConfig.Create();
        Assert.Equal(DelayOutcome.NewTriplet, greylist.Check(cfg, Ip, "a@sender.example", "user@local.test").Outcome);
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(DelayOutcome.Embargoed, greylist.Check(cfg, Ip, "a@sender.example", "user@local.test").Outcome);
        clock.Advance(TimeSpan.FromMinutes(4));
        var accepted = greylist.Check(cfg, Ip, "a@sender.example", "user@local.test");
        Assert.Equal(DelayOutcome.Accepted, accepted.Outcome);
        Assert.Equal(TimeSpan.FromMinutes(6), accepted.Waited);

        // The tuple (IP's /24, sender domain) is safelisted: another sender of that domain and another IP of the /24 pass.
        Assert.Equal(DelayOutcome.Safelisted, greylist.Check(cfg, IPAddress.Parse("203.0.113.77"), "b@sender.example", "other@local.test").Outcome);

        // Unused for longer than DelayExpiryTime (36 days): it expires and the embargo applies again.
        clock.Advance(TimeSpan.FromDays(37));
        Assert.Equal(DelayOutcome.Expired, greylist.Check(cfg, Ip, "a@sender.example", "user@local.test").Outcome);
        Assert.Equal(DelayOutcome.Embargoed, greylist.Check(cfg, Ip, "a@sender.example", "user@local.test").Outcome);
    }

    [Fact]
    public void RetryAfterTheWaitWindowStartsOver()
    {
        var clock = new Clock();
        var greylist = new Greylist(new MemoryStore(clock));
        var cfg = TestConfig.Create();
        greylist.Check(cfg, Ip, "a@sender.example", "user@local.test");
        clock.Advance(TimeSpan.FromHours(29));
        Assert.Equal(DelayOutcome.Late, greylist.Check(cfg, Ip, "a@sender.example", "user@local.test").Outcome);
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(DelayOutcome.Accepted, greylist.Check(cfg, Ip, "a@sender.example", "user@local.test").Outcome);
    }

    [Fact]
    public void KeysFollowTheOptions()
    {
        var clock = new Clock();
        var store = new MemoryStore(clock);
        var greylist = new Greylist(store);
        // Without netblocks and MD5 the keys are readable; VERP numbers are normalised.
        var cfg = TestConfig.Create(("DelayUseNetblocks", "0"), ("DelayMD5", "0"));
        greylist.Check(cfg, Ip, "list+bounce-123@lists.example", "User@Local.test");
        Assert.True(store.Table(StoreTables.DelayDb).ContainsKey("203.0.113.9 list@lists.example user@local.test"));
        greylist.Check(cfg, Ip, "news-4711@lists.example", "user@local.test");
        Assert.True(store.Table(StoreTables.DelayDb).ContainsKey("203.0.113.9 news-#@lists.example user@local.test"));
        // Default: /24 and MD5 hex keys.
        var hashed = new MemoryStore(clock);
        new Greylist(hashed).Check(TestConfig.Create(), Ip, "a@sender.example", "user@local.test");
        var key = Assert.Single(hashed.Table(StoreTables.DelayDb).Scan()).Key;
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("203.0.113.0 a@sender.example user@local.test"u8)), key);
    }

    [Fact]
    public void CleanRemovesOldTripletsAndTuples()
    {
        var clock = new Clock();
        var store = new MemoryStore(clock);
        var greylist = new Greylist(store);
        var cfg = TestConfig.Create();
        greylist.Check(cfg, Ip, "a@sender.example", "user@local.test");
        greylist.Check(cfg, IPAddress.Parse("198.51.100.1"), "c@other.example", "user@local.test");
        clock.Advance(TimeSpan.FromMinutes(10));
        greylist.Check(cfg, IPAddress.Parse("198.51.100.1"), "c@other.example", "user@local.test");   // safelisted now
        clock.Advance(TimeSpan.FromHours(30));
        Assert.Equal((1, 0), greylist.Clean(cfg));
        clock.Advance(TimeSpan.FromDays(40));
        Assert.Equal((0, 1), greylist.Clean(cfg));
    }

    private static DecisionPipeline Pipeline(IStore store) =>
        new(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation(), null, new Greylist(store)));

    [Fact]
    public async Task ThePipelineRefusesWithDelayErrorAndHonoursTheExemptions()
    {
        var clock = new Clock();
        var store = new MemoryStore(clock);
        var pipeline = Pipeline(store);
        var cfg = TestConfig.Create();
        var ctx = new FakeMailContext(cfg);
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["user@local.test"], "Subject: x\n\ny\n");
        Assert.Equal("rcpt", phase);
        Assert.Equal(VerdictKind.TempFail, verdict.Kind);
        Assert.Equal("451 4.7.1 Please try again later", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[Delayed] adding new triplet", StringComparison.Ordinal));

        clock.Advance(TimeSpan.FromMinutes(6));
        ctx = new FakeMailContext(cfg);
        (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["user@local.test"], "Subject: x\n\ny\n");
        Assert.Equal("delivered", phase);
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("X-Assp-Delay: delayed for 6m 0s", StringComparison.Ordinal));

        foreach (var exemption in new[] { ("noDelay", "203.0.113.0/24"), ("noDelayAddresses", "@sender2.example"), ("EnableDelaying", "0"),
                     ("whiteListedIPs", "203.0.113.9"), ("delaySpamLovers", "user@local.test") })
        {
            ctx = new FakeMailContext(TestConfig.Create(exemption));
            (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "z@sender2.example", ["user@local.test"], "Subject: x\n\ny\n");
            Assert.False(verdict.Refuses, $"{exemption} should exempt");
        }
        // Private addresses (the LAN) are never delayed.
        ctx = new FakeMailContext(cfg, "192.168.0.10");
        (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "q@sender3.example", ["user@local.test"], "Subject: x\n\ny\n");
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task SpamFromASafelistedTupleEndsItsSafelisting()
    {
        var clock = new Clock();
        var store = new MemoryStore(clock);
        var pipeline = Pipeline(store);
        var cfg = TestConfig.Create(("blackListedDomains", "sender.example"), ("DoBlackDomain", "3"));
        await Transaction.RunAsync(pipeline, new FakeMailContext(cfg), "a@sender.example", ["user@local.test"], "Subject: x\n\ny\n");
        clock.Advance(TimeSpan.FromMinutes(6));
        var ctx = new FakeMailContext(TestConfig.Create());
        await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["user@local.test"], "Subject: x\n\ny\n");
        Assert.Equal(1, store.Table(StoreTables.DelayDbWhite).Count);
        var spam = new FakeMailContext(TestConfig.Create(("blackListedDomains", "sender.example")));
        var (verdict, _) = await Transaction.RunAsync(pipeline, spam, "a@sender.example", ["user@local.test"], "Subject: x\n\ny\n");
        Assert.True(verdict.Refuses);
        Assert.Equal(0, store.Table(StoreTables.DelayDbWhite).Count);
    }
}
