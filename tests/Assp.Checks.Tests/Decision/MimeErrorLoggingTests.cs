using Assp.Checks.Decision;

namespace Assp.Checks.Tests.Decision;

/// <summary>IgnoreMIMEErrors: what the MIME parser had to repair is logged only when the option is off.</summary>
public class MimeErrorLoggingTests
{
    private const string Broken = "From: a@sender.example\nTo: user@local.test\nSubject: hi\nContent-Type: multipart/mixed\n\nno boundary anywhere\n";

    [Theory]
    [InlineData("1", false)]
    [InlineData("", true)]
    public async Task MimeErrorsAreLoggedWhenIgnoreMimeErrorsIsOff(string ignore, bool logged)
    {
        var ctx = new FakeMailContext(TestConfig.Create(("IgnoreMIMEErrors", ignore)));
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null);
        await Transaction.RunAsync(pipeline, ctx, "a@sender.example", ["user@local.test"], Broken);
        Assert.Equal(logged, ctx.LogLines.Any(l => l.StartsWith("MIME error: MissingBoundaryParameter", StringComparison.Ordinal)));
    }
}
