using Assp.Auth.Batv;
using Assp.Auth.Srs;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Storage;

namespace Assp.Checks.Tests.Checks;

/// <summary>SRS and BATV envelope rewriting and bounce validation as the SMTP engine calls them through the pipeline.</summary>
public sealed class EnvelopeTagTests
{
    private static readonly (string, string)[] Srs = [("localDomains", "local.test"), ("EnableSRS", "1"), ("SRSSecretKey", "t0p-secret"),
        ("SRSAliasDomain", "fwd.local.test")];
    private static readonly (string, string)[] Batv = [("localDomains", "local.test"), ("DoBATV", "1"), ("BATVSec", "3=s3cr3t|4=other")];

    private static DecisionPipeline Pipeline(IStore? store = null)
    {
        var services = new CheckServices(store);
        return new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null,
            [new SrsBounceCheck()], services);
    }

    private static async Task<(FakeMailContext Ctx, string UpstreamFrom)> Mail(DecisionPipeline p, string from, bool outgoing, params (string, string)[] cfg)
    {
        var ctx = new FakeMailContext(TestConfig.Create(cfg));
        if (outgoing) ctx.Class = ConnectionClass.Relay;
        await p.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = from;
        await p.RunAsync(SmtpPhase.MailFrom, ctx, default);
        return (ctx, ((ICheckPipeline)p).RewriteSender(ctx, from));
    }

    [Fact]
    public async Task SrsRewritesForeignSendersOfRelayedMailOnly()
    {
        var p = Pipeline();
        var (_, up) = await Mail(p, "alice@sender.example", outgoing: true, Srs);
        Assert.Matches("^SRS0=.{6}=..=sender.example=alice@fwd.local.test$", up);
        Assert.Equal("bob@local.test", (await Mail(p, "bob@local.test", true, Srs)).UpstreamFrom);              // local sender
        Assert.Equal("alice@sender.example", (await Mail(p, "alice@sender.example", false, Srs)).UpstreamFrom);  // incoming
        Assert.Equal("alice@sender.example", (await Mail(p, "alice@sender.example", true, [.. Srs, ("SRSno", "@sender.example")])).UpstreamFrom);
        Assert.Equal("alice@sender.example", (await Mail(p, "alice@sender.example", true, [.. Srs, ("EnableSRS", "0")])).UpstreamFrom);
        Assert.Equal("", (await Mail(p, "", true, Srs)).UpstreamFrom);
        Assert.Equal(8, (await Mail(p, "alice@sender.example", true, [.. Srs, ("SRSHashLength", "8")])).UpstreamFrom.Split('=')[1].Length);
    }

    [Fact]
    public async Task SrsBouncesAreReversedAndForgeriesRefused()
    {
        var p = (ICheckPipeline)Pipeline();
        var srsAddress = new SrsRewriter("t0p-secret", 2, 6).Forward("alice@sender.example", "fwd.local.test");
        var (ctx, _) = await Mail((DecisionPipeline)p, "", false, Srs);
        var (address, verdict) = p.RewriteRecipient(ctx, srsAddress);
        Assert.False(verdict.Refuses);
        Assert.Equal("alice@sender.example", address);
        Assert.True(ctx.State.BounceTagValid);

        (ctx, _) = await Mail((DecisionPipeline)p, "", false, Srs);
        (_, verdict) = p.RewriteRecipient(ctx, srsAddress.Replace("alice", "mallory", StringComparison.Ordinal));
        Assert.Equal("551 5.7.6 invalid SRS signature: invalid hash", verdict.Reply);
        (ctx, _) = await Mail((DecisionPipeline)p, "", false, [.. Srs, ("noSRS", "203.0.113.0/24")]);
        (_, verdict) = p.RewriteRecipient(ctx, srsAddress.Replace("alice", "mallory", StringComparison.Ordinal));
        Assert.False(verdict.Refuses);
        var expired = new SrsRewriter("t0p-secret", 2, 6, new FixedTime(DateTimeOffset.UtcNow.AddDays(-5))).Forward("a@b.example", "fwd.local.test");
        (ctx, _) = await Mail((DecisionPipeline)p, "", false, Srs);
        Assert.Equal("551 5.7.6 invalid SRS signature: timestamp expired", p.RewriteRecipient(ctx, expired).Verdict.Reply);
        (ctx, _) = await Mail((DecisionPipeline)p, "", false, [.. Srs, ("SRSTimestampMaxAge", "7")]);
        Assert.False(p.RewriteRecipient(ctx, expired).Verdict.Refuses);
    }

    [Fact]
    public async Task SrsValidateBounceRefusesUnsignedBouncesAtData()
    {
        var p = Pipeline();
        var ctx = new FakeMailContext(TestConfig.Create([.. Srs, ("SRSValidateBounce", "1")]));
        var (verdict, phase) = await Transaction.RunAsync(p, ctx, "", ["user@local.test"], "From: MAILER-DAEMON@x.example\nSubject: failure\n\nb\n");
        Assert.Equal(("554 5.7.5 Bounce address not SRS signed", "DataHeader"), (verdict.Reply, phase));
        ctx = new FakeMailContext(TestConfig.Create([.. Srs, ("SRSValidateBounce", "3")]));
        (verdict, _) = await Transaction.RunAsync(p, ctx, "", ["user@local.test"], "From: MAILER-DAEMON@x.example\nSubject: failure\n\nb\n");
        Assert.False(verdict.Refuses);
        Assert.Equal(10, ctx.State.MessageScore);
        ctx = new FakeMailContext(TestConfig.Create([.. Srs, ("SRSValidateBounce", "1")]));
        (verdict, _) = await Transaction.RunAsync(p, ctx, "someone@x.example", ["user@local.test"], "From: someone@x.example\nSubject: hi\n\nb\n");
        Assert.False(verdict.Refuses);                                                                      // not a bounce
    }

    [Fact]
    public async Task BatvTagsOutgoingSendersAndChecksBounces()
    {
        var p = Pipeline();
        var (_, tagged) = await Mail(p, "bob@local.test", true, Batv);
        Assert.Matches("^prvs=3[0-9]{3}[0-9a-f]{6}=bob@local.test$|^prvs=4[0-9]{3}[0-9a-f]{6}=bob@local.test$", tagged);
        Assert.Equal("bob@local.test", (await Mail(p, "bob@local.test", true, [.. Batv, ("noBackSctrAddresses", "bob@local.test")])).UpstreamFrom);
        Assert.Equal("bob@local.test", (await Mail(p, "bob@local.test", true, [.. Batv, ("DoBATV", "0")])).UpstreamFrom);

        var ip = (ICheckPipeline)p;
        var (ctx, _) = await Mail(p, "", false, Batv);
        var (address, verdict) = ip.RewriteRecipient(ctx, tagged);
        Assert.Equal(("bob@local.test", false), (address, verdict.Refuses));     // our tag comes off
        Assert.True(ctx.State.BounceTagValid);

        (ctx, _) = await Mail(p, "", false, Batv);
        (_, verdict) = ip.RewriteRecipient(ctx, "bob@local.test");
        Assert.Equal("554 5.7.10 BATV error - bounce address - message was never sent by this domain - RCPT bob@local.test", verdict.Reply);
        (ctx, _) = await Mail(p, "", false, Batv);
        (_, verdict) = ip.RewriteRecipient(ctx, tagged.Replace("bob@", "eve@", StringComparison.Ordinal));
        Assert.True(verdict.Refuses);
        (ctx, _) = await Mail(p, "", false, [.. Batv, ("DoBATV", "3")]);
        (_, verdict) = ip.RewriteRecipient(ctx, "bob@local.test");
        Assert.False(verdict.Refuses);
        Assert.Equal(25, ctx.State.MessageScore);                                  // batvValencePB
        (ctx, _) = await Mail(p, "", false, [.. Batv, ("DoBATV", "2")]);
        Assert.False(ip.RewriteRecipient(ctx, "bob@local.test").Verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        (ctx, _) = await Mail(p, "", false, [.. Batv, ("noBackSctrIP", "203.0.113.9")]);
        Assert.False(ip.RewriteRecipient(ctx, "bob@local.test").Verdict.Refuses);
        (ctx, _) = await Mail(p, "friend@x.example", false, Batv);                // not a bounce
        Assert.False(ip.RewriteRecipient(ctx, "bob@local.test").Verdict.Refuses);
    }

    [Fact]
    public async Task ForeignTagsAreRemovedAndRemindedForOurBounces()
    {
        var store = new MemoryStore();
        var p = Pipeline(store);
        const string foreign = "prvs=1234abcdef=carol@remote.example";
        (string, string)[] cfg = [("localDomains", "local.test"), ("removeBATVTag", "1"), ("remindBATVTag", "1")];
        Assert.Equal("carol@remote.example", (await Mail(p, foreign, false, cfg)).UpstreamFrom);
        Assert.Equal(foreign, (await Mail(p, foreign, false, [("localDomains", "local.test")])).UpstreamFrom);
        // Our MTA's bounce to carol goes out with her tag again.
        var (ctx, _) = await Mail(p, "", true, cfg);
        Assert.Equal(foreign, ((ICheckPipeline)p).RewriteRecipient(ctx, "carol@remote.example").Address);
        (ctx, _) = await Mail(p, "", true, [("localDomains", "local.test"), ("remindBATVTag", "0")]);
        Assert.Equal("carol@remote.example", ((ICheckPipeline)p).RewriteRecipient(ctx, "carol@remote.example").Address);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
