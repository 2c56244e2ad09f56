using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;

namespace Assp.Checks.Tests.Checks;

/// <summary>removeDispositionNotification takes read-receipt requests out of incoming, not whitelisted mail.</summary>
public class DispositionNotificationTests
{
    private const string Mail = "From: a@sender.example\nTo: u@local.test\nSubject: hi\nDisposition-Notification-To: a@sender.example\n"
                                + "Return-Receipt-To: a@sender.example\nX-Other: kept\n\nbody\n";

    private static async Task<FakeMailContext> Run(Assp.Config.ConfigSnapshot cfg, Action<FakeMailContext>? setup = null)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg);
        setup?.Invoke(ctx);
        var (_, phase) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["u@local.test"], Mail);
        Assert.Equal("delivered", phase);
        return ctx;
    }

    [Fact]
    public async Task TheNamedHeadersAreRemovedFromIncomingMail()
    {
        var ctx = await Run(TestConfig.Create([("localDomains", "local.test"), ("removeDispositionNotification", "Disposition-Notification-To|ReturnReceipt")]));
        var text = Encoding.UTF8.GetString(ctx.State.ReplacementMessage!);
        Assert.DoesNotContain("Disposition-Notification-To", text);
        Assert.Contains("Return-Receipt-To: a@sender.example", text);
        Assert.Contains("X-Other: kept", text);
        Assert.EndsWith("\r\n\r\nbody\r\n", text);
    }

    [Fact]
    public async Task WhitelistedOutgoingOrUnsetLeavesTheMailAlone()
    {
        Assert.Null((await Run(TestConfig.Create([("localDomains", "local.test")]))).State.ReplacementMessage);
        var set = ("removeDispositionNotification", "Disposition-Notification-To");
        Assert.Null((await Run(TestConfig.Create([("localDomains", "local.test"), ("whiteListedDomains", "sender.example"), set]))).State.ReplacementMessage);
        Assert.Null((await Run(TestConfig.Create([("localDomains", "local.test"), set]), c => c.IsAuthenticated = true)).State.ReplacementMessage);
    }
}
