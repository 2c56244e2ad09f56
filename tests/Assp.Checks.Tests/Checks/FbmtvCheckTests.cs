using Assp.Auth.Batv;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;

namespace Assp.Checks.Tests.Checks;

/// <summary>FBMTV (DoMSGIDsig): Message-ID tags on outgoing mail, their removal and validation on incoming mail.</summary>
public sealed class FbmtvCheckTests
{
    private static readonly (string, string)[] On = [("localDomains", "local.test"), ("DoMSGIDsig", "1"), ("MSGIDSec", "2=msgid-secret")];

    private static async Task<(Verdict Verdict, FakeMailContext Ctx)> Run(string from, bool outgoing, string message, params (string, string)[] cfg)
    {
        var services = new CheckServices();
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, [new FbmtvCheck(services)], services);
        var ctx = new FakeMailContext(TestConfig.Create(cfg));
        if (outgoing) ctx.Class = ConnectionClass.Relay;
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, from, [outgoing ? "friend@far.example" : "me@local.test"], message);
        return (verdict, ctx);
    }

    private static string TaggedId(string id) => new MessageIdTagger("sig", [new TagSecret(2, "msgid-secret")]).Tag(id)!;

    [Fact]
    public async Task OutgoingMessageIdsAreTagged()
    {
        var (_, ctx) = await Run("me@local.test", true, "From: me@local.test\nMessage-ID: <abc.123@local.test>\nSubject: hi\n\nb\n", On);
        var (find, replace) = Assert.Single(ctx.State.HeaderReplacements);
        Assert.Equal("<abc.123@local.test>", find);
        Assert.Matches("^<sig\\.2[0-9]{3}[0-9a-f]{6}\\.abc\\.123@local\\.test>$", replace);
        Assert.Empty((await Run("me@local.test", true, "From: me@local.test\nMessage-ID: <a@local.test>\nSubject: I am out of office\n\nb\n",
            [.. On, ("noMSGIDsigRe", "out of office")])).Ctx.State.HeaderReplacements);
        Assert.Empty((await Run("me@local.test", true, "From: me@local.test\nMessage-ID: <a@local.test>\n\nb\n",
            [.. On, ("MSGIDsigAddresses", "boss@local.test")])).Ctx.State.HeaderReplacements);
        Assert.Empty((await Run("me@local.test", true, "From: me@local.test\nMessage-ID: <a@local.test>\n\nb\n",
            [.. On, ("DoMSGIDsig", "0")])).Ctx.State.HeaderReplacements);
        Assert.StartsWith("<abc@local.test>", (await Run("me@local.test", true, "From: me@local.test\nMessage-ID: <abc@local.test>\n\nb\n",
            [.. On, ("MSGIDpreTag", "out")])).Ctx.State.HeaderReplacements[0].Find);
        Assert.StartsWith("<out.2", (await Run("me@local.test", true, "From: me@local.test\nMessage-ID: <abc@local.test>\n\nb\n",
            [.. On, ("MSGIDpreTag", "out")])).Ctx.State.HeaderReplacements[0].Replace);
    }

    [Fact]
    public async Task BouncesNeedAValidTag()
    {
        var tagged = TaggedId("abc@local.test");
        var bounce = $"From: MAILER-DAEMON@far.example\nSubject: Undelivered\nContent-Type: text/plain\n\nThe original message:\nMessage-ID: <{tagged}>\nSubject: hi\n";
        var (verdict, ctx) = await Run("", false, bounce, On);
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.HeaderReplacements, r => r.Replace.Length == 0 && tagged.StartsWith(r.Find, StringComparison.Ordinal));

        const string forged = "From: MAILER-DAEMON@far.example\nSubject: Undelivered\n\nMessage-ID: <sig.2123abcdef.abc@local.test>\n";
        (verdict, _) = await Run("", false, forged, On);
        Assert.Equal("554 5.7.8 Bounce address - message was never sent by this domain", verdict.Reply);
        (verdict, ctx) = await Run("", false, forged, [.. On, ("DoMSGIDsig", "3")]);
        Assert.False(verdict.Refuses);
        Assert.Equal(25, ctx.State.MessageScore);
        (verdict, ctx) = await Run("", false, forged, [.. On, ("DoMSGIDsig", "4")]);
        Assert.Equal((false, 0.0), (verdict.Refuses, ctx.State.MessageScore));
        (verdict, _) = await Run("", false, forged, [.. On, ("noBackSctrIP", "203.0.113.0/24")]);
        Assert.False(verdict.Refuses);
        (verdict, _) = await Run("", false, forged, [.. On, ("noBackSctrRe", "Undelivered")]);
        Assert.False(verdict.Refuses);
        (verdict, _) = await Run("someone@far.example", false, forged, On);                          // not a bounce
        Assert.False(verdict.Refuses);
        // Back250OKISP: from an ISP relay the refused bounce gets 250 OK and is discarded.
        (verdict, ctx) = await Run("", false, forged, [.. On, ("ispip", "203.0.113.0/24"), ("Back250OKISP", "1")]);
        Assert.False(verdict.Refuses);
        Assert.True(ctx.State.NullConnection);
        (verdict, ctx) = await Run("", false, forged, [.. On, ("ispip", "203.0.113.0/24")]);
        Assert.Equal("554 5.7.8 Bounce address - message was never sent by this domain", verdict.Reply);
        Assert.False(ctx.State.NullConnection);
    }

    [Fact]
    public async Task AReplyWithOurTagIsProcessedPerMsgIdSigProc()
    {
        var reply = $"From: friend@far.example\nIn-Reply-To: <{TaggedId("abc@local.test")}>\nSubject: Re: hi\n\nb\n";
        var (_, ctx) = await Run("friend@far.example", false, reply, On);
        Assert.Equal("valid MSGID signature", ctx.State.Whitelisted);
        Assert.Null(ctx.State.NoProcessing);
        (_, ctx) = await Run("friend@far.example", false, reply, [.. On, ("MSGIDsigProc", "2")]);
        Assert.Equal(("valid MSGID signature", null), (ctx.State.NoProcessing, ctx.State.Whitelisted));
    }
}
