using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Checks;

/// <summary>The IP blocking, HELO and sender checks through the real pipeline with every catalogued check.</summary>
public class ConnectionHeloSenderCheckTests
{
    private const string Rcpt = "u@local.test";
    private const string GoodMessage = "From: a@sender.example\nMessage-ID: <1234.5678@sender.example>\nSubject: hello\n\nbody\n";

    private static ConfigSnapshot Cfg(params (string, string)[] values) => Cfg(null, values);

    // ForceNoValidLocalSender (on by default) would refuse the block-mode sender cases already at MAIL FROM; these
    // tests look at the checks after the header (the forced ones: HeaderAndLocalSenderCheckTests).
    private static ConfigSnapshot Cfg(Dictionary<string, string>? files, params (string, string)[] values) =>
        TestConfig.Create(files, [("localDomains", "local.test"), ("ForceNoValidLocalSender", "0"), .. values]);

    private static async Task<(Verdict Verdict, string Phase, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string from = "a@sender.example",
        string message = GoodMessage, string helo = "mx.sender.example")
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg) { Helo = helo };
        var (verdict, phase) = await Transaction.RunAsync(pipeline, ctx, from, [Rcpt], message);
        return (verdict, phase, ctx);
    }

    private static bool Reported(FakeMailContext ctx, string check, string outcome) => ctx.State.Reports.Any(r => r.Check == check && r.Outcome == outcome);

    [Fact]
    public void TheChecksAreCatalogued()
    {
        var names = CheckCatalog.Discover(CheckServices.None).Select(c => c.Definition.Name).ToList();
        foreach (var n in new[] { "DoDenySMTP", "DoDenySMTPstrict", "DoFakedLocalHelo", "DoInvalidFormatHelo", "DoIPinHelo", "DoNoSpoofing",
                     "DoNoValidLocalSender", "DoMsgID", "MaxEqualXHeader" })
            Assert.Contains(n, names);
    }

    [Fact]
    public async Task DefaultsPassAnOrdinaryMessage()
    {
        var (verdict, phase, ctx) = await Run(Cfg());
        Assert.False(verdict.Refuses);
        Assert.Equal("delivered", phase);
        Assert.Empty(ctx.State.Reports);
    }

    // ---- IP blocking ----

    [Fact]
    public async Task DenyListBlocksAfterTheHeaderWithPenaltyError()
    {
        var (verdict, phase, ctx) = await Run(Cfg(("denySMTPConnectionsFrom", "203.0.113.0/24")));
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.1 Error for IP 203.0.113.9, send your mail to postmaster@local.test to ensure delivery", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("[spam found] (blocked by denySMTPConnectionsFrom '203.0.113.0/24')"));
        Assert.True(Reported(ctx, "DoDenySMTP", "block"));
    }

    [Fact]
    public async Task DenyListMonitorAndTestMode()
    {
        var (verdict, _, ctx) = await Run(Cfg(("denySMTPConnectionsFrom", "203.0.113.9"), ("DoDenySMTP", "2")));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("[monitoring] blocked by denySMTPConnectionsFrom"));
        Assert.True(Reported(ctx, "DoDenySMTP", "monitor"));

        (verdict, _, ctx) = await Run(Cfg(("denySMTPConnectionsFrom", "203.0.113.9"), ("pbTestMode", "1")));
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);
    }

    [Theory]
    [InlineData("noDelay")]
    [InlineData("noPB")]
    [InlineData("whiteListedIPs")]
    [InlineData("noProcessingIPs")]
    [InlineData("acceptAllMail")]
    [InlineData("noBlockingIPs")]
    public async Task DenyListExemptions(string exemption)
    {
        var (verdict, _, ctx) = await Run(Cfg(("denySMTPConnectionsFrom", "203.0.113.9"), (exemption, "203.0.113.9")));
        Assert.False(verdict.Refuses);
        Assert.False(Reported(ctx, "DoDenySMTP", "block"));
    }

    [Fact]
    public async Task StrictListIgnoresWhitelistingButNotNoBlockingIPs()
    {
        var (verdict, phase, ctx) = await Run(Cfg(("denySMTPConnectionsFromAlways", "203.0.113.9"), ("whiteListedIPs", "203.0.113.9")));
        Assert.Equal("DataHeader", phase);
        Assert.StartsWith("554 5.7.1 Error for IP 203.0.113.9", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l == "blocked by denySMTPConnectionsFromAlways strict: 203.0.113.9/32" || l.StartsWith("blocked by denySMTPConnectionsFromAlways strict: 203.0.113.9"));

        (verdict, _, _) = await Run(Cfg(("denySMTPConnectionsFromAlways", "203.0.113.9"), ("noBlockingIPs", "203.0.113.9")));
        Assert.False(verdict.Refuses);

        (verdict, _, ctx) = await Run(Cfg(("denySMTPConnectionsFromAlways", "203.0.113.9"), ("DoDenySMTPstrict", "2"), ("DoDenySMTP", "0")));
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("[monitoring] blocked by denySMTPConnectionsFromAlways strict"));
    }

    [Fact]
    public async Task StrictEarlyRefusesAtConnect()
    {
        var (verdict, phase, ctx) = await Run(Cfg(("denySMTPConnectionsFromAlways", "203.0.113.9"), ("denySMTPstrictEarly", "1")));
        Assert.Equal("connect", phase);
        Assert.Equal("554 <ASSP.nospam> Service denied, closing transmission channel", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("203.0.113.9 denied by denySMTPConnectionsFromAlways strict"));
    }

    [Fact]
    public async Task DropListCountsOnlyWhenDoDropListIsOn()
    {
        var files = new Dictionary<string, string> { ["files/droplist.txt"] = "; Spamhaus DROP\n203.0.113.0/24 ; SBL0001\n" };
        var (verdict, _, _) = await Run(Cfg(files));
        Assert.False(verdict.Refuses);

        (verdict, var phase, var ctx) = await Run(Cfg(files, ("DoDropList", "1")));
        Assert.Equal("DataHeader", phase);
        Assert.Contains(ctx.LogLines, l => l.Contains("blocked by droplist '203.0.113.0/24'"));

        (verdict, phase, _) = await Run(Cfg(files, ("DoDropList", "2"), ("denySMTPstrictEarly", "1")));
        Assert.Equal("connect", phase);
    }

    // ---- HELO ----

    [Theory]
    [InlineData("local.test")]
    [InlineData("localhost")]
    [InlineData("ASSP.nospam")]
    [InlineData("[127.0.0.1]")]
    public async Task ForgedHeloBlocksWithSenderInvalidError(string helo)
    {
        var (verdict, phase, ctx) = await Run(Cfg(("ForceFakedLocalHelo", "0")), helo: helo);
        Assert.Equal("DataHeader", phase);
        Assert.Equal($"554 5.7.1 forged Helo: '{helo}' .", verdict.Reply);
        Assert.True(Reported(ctx, "DoFakedLocalHelo", "block"));
    }

    [Fact]
    public async Task ForgedHeloModes()
    {
        var (verdict, _, ctx) = await Run(Cfg(("DoFakedLocalHelo", "2")), helo: "local.test");
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("[monitoring] (forged Helo: 'local.test')"));

        (_, _, ctx) = await Run(Cfg(("DoFakedLocalHelo", "3")), helo: "local.test");
        Assert.Contains(ctx.State.Scores, s => s.Check == "fhValencePB" && s.MessageScore == 150);

        // fhValencePB (150) alone passes the message limit, so the limit is raised to see the test mode itself.
        (verdict, _, ctx) = await Run(Cfg(("fhTestMode", "1"), ("PenaltyMessageLimit", "500")), helo: "local.test");
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);

        // DoFakedWL skips whitelisted mail; without it whitelisted mail is checked too.
        (verdict, _, _) = await Run(Cfg(("whiteListedIPs", "203.0.113.9"), ("ForceFakedLocalHelo", "0")), helo: "local.test");
        Assert.True(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(("whiteListedIPs", "203.0.113.9"), ("DoFakedWL", "1")), helo: "local.test");
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(("noHelo", "203.0.113.9")), helo: "local.test");
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task InvalidFormatHeloModes()
    {
        (string, string) re = ("invalidFormatHeloRe", "bad-helo");
        var (verdict, phase, ctx) = await Run(Cfg(re, ("ForceValidateHelo", "0")), helo: "bad-helo.example");
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.1 Invalid HELO Format .", verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("[spam found] (invalid HELO: 'bad-helo.example')"));

        (verdict, _, ctx) = await Run(Cfg(re, ("DoInvalidFormatHelo", "2")), helo: "bad-helo.example");
        Assert.False(verdict.Refuses);
        Assert.True(Reported(ctx, "DoInvalidFormatHelo", "monitor"));

        (verdict, _, ctx) = await Run(Cfg(re, ("DoInvalidFormatHelo", "3")), helo: "bad-helo.example");
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "ihValencePB" && s.MessageScore == 10);

        (verdict, _, ctx) = await Run(Cfg(re, ("ihTestMode", "1")), helo: "bad-helo.example");
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);

        // A weight under 1 in block mode only scores.
        (verdict, _, ctx) = await Run(Cfg(("invalidFormatHeloRe", "bad-helo=>0.5")), helo: "bad-helo.example");
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "ihValencePB" && s.MessageScore == 5);

        // DoHeloWL off: whitelisted mail is not checked.
        (verdict, _, _) = await Run(Cfg(re, ("DoHeloWL", "0"), ("whiteListedIPs", "203.0.113.9")), helo: "bad-helo.example");
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task IpInHeloScoresTheLiteralAndTheMismatch()
    {
        var (verdict, _, ctx) = await Run(Cfg(("PenaltyMessageLimit", "500")), helo: "[198.51.100.7]");
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "fiphValencePB" && s.MessageScore == 39);
        Assert.Contains(ctx.State.Scores, s => s.Reason.StartsWith("IP in HELO '[198.51.100.7]' does not match") && s.MessageScore == 60);

        (_, _, ctx) = await Run(Cfg(("PenaltyMessageLimit", "500")), helo: "9-113-0-203.dyn.example");
        Assert.Contains(ctx.State.Scores, s => s.Check == "fiphValencePB");
        Assert.DoesNotContain(ctx.State.Scores, s => s.Reason.Contains("does not match"));

        (_, _, ctx) = await Run(Cfg(("DoIPinHelo", "2")), helo: "[198.51.100.7]");
        Assert.Empty(ctx.State.Scores);
        Assert.Contains(ctx.LogLines, l => l.Contains("[monitoring] (Suspicious HELO - contains IP: '[198.51.100.7]')"));

        (_, _, ctx) = await Run(Cfg(), helo: "203.0.113.9");
        Assert.Empty(ctx.State.Scores);
    }

    [Fact]
    public void IpInHeloReadsRotatedAndReversedQuads()
    {
        var v = IpInHeloVariants("host-9-113-0-203.example");
        Assert.Contains("203.0.113.9", v);
        Assert.Contains("9.113.0.203", v);
        Assert.Empty(IpInHeloVariants("mx1.example.com"));
    }

    private static HashSet<string> IpInHeloVariants(string helo) =>
        (HashSet<string>)typeof(Assp.Checks.Checks.IpInHeloCheck).GetMethod("Variants", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .Invoke(null, [helo])!;

    // ---- sender ----

    [Fact]
    public async Task NoSpoofingModes()
    {
        var (verdict, phase, ctx) = await Run(Cfg(("DoNoSpoofing", "1")), from: "boss@local.test");
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.1 No Spoofing Allowed 'boss@local.test' in 'mailfrom' .", verdict.Reply);

        (verdict, _, ctx) = await Run(Cfg(), from: "boss@local.test");   // ASSP's default: score
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "slValencePB" && s.MessageScore == 20);

        (verdict, _, ctx) = await Run(Cfg(("DoNoSpoofing", "2")), from: "boss@local.test");
        Assert.False(verdict.Refuses);
        Assert.True(Reported(ctx, "DoNoSpoofing", "monitor"));

        (verdict, _, ctx) = await Run(Cfg(("DoNoSpoofing", "1"), ("flsTestMode", "1")), from: "boss@local.test");
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);

        (verdict, _, _) = await Run(Cfg(("DoNoSpoofing", "1"), ("noSpoofingCheckIP", "203.0.113.0/24")), from: "boss@local.test");
        Assert.False(verdict.Refuses);

        (verdict, _, _) = await Run(Cfg(("DoNoSpoofing", "1"), ("DoNoSpoofing4From", "1")),
            message: "From: boss@local.test\nMessage-ID: <1.2@sender.example>\n\nx\n");
        Assert.Equal("554 5.7.1 No Spoofing Allowed 'boss@local.test' in 'from' .", verdict.Reply);
    }

    [Fact]
    public async Task LocalSenderNeedsAnAddressFromLocalAddressesFlat()
    {
        // The recipient must be a valid local address too: LocalAddresses_Flat also validates recipients.
        (string, string)[] baseCfg = [("LocalAddresses_Flat", "good@local.test|" + Rcpt), ("DoNoSpoofing", "0")];
        var (verdict, phase, ctx) = await Run(Cfg(baseCfg), from: "bad@local.test");
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.1 Unknown Local Sender .", verdict.Reply);

        (verdict, _, _) = await Run(Cfg(baseCfg), from: "good@local.test");
        Assert.False(verdict.Refuses);

        (verdict, _, ctx) = await Run(Cfg([.. baseCfg, ("DoNoValidLocalSender", "4")]), from: "bad@local.test");
        Assert.False(verdict.Refuses);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);

        (verdict, _, ctx) = await Run(Cfg([.. baseCfg, ("DoNoValidLocalSender", "3")]), from: "bad@local.test");
        Assert.False(verdict.Refuses);
        Assert.Contains(ctx.State.Scores, s => s.Check == "flValencePB");

        (verdict, _, ctx) = await Run(Cfg([.. baseCfg, ("DoNoValidLocalSender", "2")]), from: "bad@local.test");
        Assert.True(Reported(ctx, "DoNoValidLocalSender", "monitor"));
    }

    [Fact]
    public async Task MsgIdScoresMissingInvalidAndSuspiciousIds()
    {
        var (_, _, ctx) = await Run(Cfg(), message: "From: a@sender.example\n\nx\n");
        Assert.Contains(ctx.State.Scores, s => s.Check == "midmValencePB" && s.Reason == "Message-ID missing");

        (_, _, ctx) = await Run(Cfg(), message: "From: a@sender.example\nMessage-ID: <no-at-sign>\n\nx\n");
        Assert.Contains(ctx.State.Scores, s => s.Reason == "Message-ID not valid: 'no-at-sign'");

        (_, _, ctx) = await Run(Cfg(("invalidMsgIDRe", @"\@localhost$=>2")), message: "From: a@sender.example\nMessage-ID: <x@localhost>\n\nx\n");
        Assert.Contains(ctx.State.Scores, s => s.Reason == "Message-ID invalid: 'x@localhost'" && s.MessageScore == 20);

        (_, _, ctx) = await Run(Cfg(), message: "From: a@sender.example\nMessage-ID: <a.1@bad_domain>\n\nx\n");
        Assert.Contains(ctx.State.Scores, s => s.Reason.StartsWith("Message-ID suspicious") || s.Reason.StartsWith("Message-ID not valid"));

        (_, _, ctx) = await Run(Cfg(("DoMsgID", "2")), message: "From: a@sender.example\n\nx\n");
        Assert.Empty(ctx.State.Scores);
        Assert.True(Reported(ctx, "DoMsgID", "monitor"));

        (_, _, ctx) = await Run(Cfg(("noMsgID", "203.0.113.9")), message: "From: a@sender.example\n\nx\n");
        Assert.Empty(ctx.State.Scores);
    }

    [Fact]
    public async Task MaxEqualXHeaderEndsTheMessage()
    {
        var message = "From: a@sender.example\nMessage-ID: <1.2@sender.example>\nX-Foo: 1\nX-Foo: 2\nX-Foo: 3\n\nx\n";
        var (verdict, phase, ctx) = await Run(Cfg(("MaxEqualXHeader", "X-Foo=>2")), message: message);
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.7 too many equal X-headers (X-Foo:)", verdict.Reply);
        Assert.Contains("too many equal X-header lines (MaxEqualXHeader) - (X-Foo: 2)", ctx.LogLines);

        (verdict, _, _) = await Run(Cfg(("MaxEqualXHeader", "X-Foo=>0|*=>20")), message: message);
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Run(Cfg(("MaxEqualXHeader", "X-F*=>2"), ("whiteListedIPs", "203.0.113.9")), message: message);
        Assert.False(verdict.Refuses);
    }
}
