using Assp.Checks.Decision;

namespace Assp.Checks.Tests.Decision;

/// <summary>Check classes plug into the pipeline at their phase, in order, with the engine's modes.</summary>
public class MessageCheckTests
{
    private sealed class SubjectWordCheck(SmtpPhase phase, int order, List<string> calls) : IMessageCheck
    {
        public CheckDefinition Definition { get; } = new("DoBlackDomain", "[Word]", "blValencePB", TestModeOption: "blTestMode");
        public SmtpPhase Phase => phase;
        public int Order => order;
        public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
        {
            calls.Add($"{phase}:{order}");
            if (phase == SmtpPhase.DataHeader && context.Applies(Definition) && context.State.OriginalSubject?.Contains("viagra", StringComparison.OrdinalIgnoreCase) == true)
                return ValueTask.FromResult(context.Engine.Hit(Definition, context.Config, context.State, context.Ip, "bad word in subject", context.Log));
            return ValueTask.FromResult(Verdict.Pass);
        }
    }

    [Fact]
    public async Task ChecksRunAtTheirPhaseInOrderAndCanRefuse()
    {
        var calls = new List<string>();
        IMessageCheck[] checks = [new SubjectWordCheck(SmtpPhase.DataHeader, 2, calls), new SubjectWordCheck(SmtpPhase.DataHeader, 1, calls),
            new SubjectWordCheck(SmtpPhase.Connect, 1, calls), new SubjectWordCheck(SmtpPhase.RcptTo, 1, calls)];
        var ordered = checks.OrderBy(c => c.Phase).ThenBy(c => c.Order).ToList();
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, ordered);
        var ctx = new FakeMailContext(TestConfig.Create());
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, "a@b.example", ["u@local.test"], "Subject: cheap VIAGRA\n\nx\n");
        Assert.Equal("DataHeader", phase);
        Assert.StartsWith("554 5.7.1 Mail appears to be unsolicited", verdict.Reply);
        Assert.Equal(["Connect:1", "RcptTo:1", "DataHeader:1"], calls);   // the refusal stops the phase

        calls.Clear();
        ctx = new FakeMailContext(TestConfig.Create(("blTestMode", "1")));
        (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@b.example", ["u@local.test"], "Subject: cheap VIAGRA\n\nx\n");
        Assert.False(verdict.Refuses);
        Assert.Equal(2, ctx.State.Reports.Count(r => r.Check == "DoBlackDomain" && r.Outcome == "tag"));
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);
        Assert.Equal(["Connect:1", "RcptTo:1", "DataHeader:1", "DataHeader:2"], calls);
    }

    [Fact]
    public void TheCatalogFindsPublicCheckClasses()
    {
        // Every check class of the assembly comes with its definition; names are unique per phase and order.
        var checks = CheckCatalog.Discover(CheckServices.None);
        Assert.All(checks, c => Assert.False(string.IsNullOrEmpty(c.Definition.Name)));
        Assert.Equal(checks.Count, checks.Select(c => (c.Phase, c.Order, c.Definition.Name)).Distinct().Count());
    }
}
