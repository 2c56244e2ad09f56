using Assp.Auth.Batv;
using Assp.Auth.Dmarc;
using Assp.Auth.Srs;

namespace Assp.Auth.Tests;

internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;
    public override DateTimeOffset GetUtcNow() => Now;
}

public sealed class DmarcRecordTests
{
    [Fact]
    public void ParsesEveryTag()
    {
        var r = DmarcRecord.Parse("v=DMARC1; p=reject; sp=quarantine; pct=30; adkim=s; aspf=r; rua=mailto:agg@rep.example!10m,mailto:b@c.example; ruf=mailto:f@rep.example; fo=1; ri=3600", out var problem);
        Assert.Null(problem);
        Assert.NotNull(r);
        Assert.Equal(DmarcPolicy.Reject, r.Policy);
        Assert.Equal(DmarcPolicy.Quarantine, r.SubdomainPolicy);
        Assert.Equal(30, r.Percent);
        Assert.Equal(DmarcAlignment.Strict, r.DkimAlignment);
        Assert.Equal(DmarcAlignment.Relaxed, r.SpfAlignment);
        Assert.Equal(["agg@rep.example", "b@c.example"], r.AggregateReports.Select(u => u.MailAddress));
        Assert.Equal(10L << 20, r.AggregateReports[0].MaxBytes);
        Assert.Equal("f@rep.example", r.FailureReports[0].MailAddress);
        Assert.Equal("1", r.FailureOptions);
        Assert.Equal(3600, r.ReportInterval);
    }

    [Fact]
    public void DefaultsAndBrokenRecords()
    {
        var r = DmarcRecord.Parse("v=DMARC1;p=none", out _)!;
        Assert.Equal(DmarcPolicy.None, r.SubdomainPolicy);
        Assert.Equal(100, r.Percent);
        Assert.Equal(86400, r.ReportInterval);
        Assert.True(r.AcceptsAfrf);                                             // rf= defaults to afrf
        Assert.False(DmarcRecord.Parse("v=DMARC1; p=none; rf=iodef", out _)!.AcceptsAfrf);
        Assert.True(DmarcRecord.Parse("v=DMARC1; p=none; rf=iodef:afrf", out _)!.AcceptsAfrf);
        Assert.Null(DmarcRecord.Parse("v=spf1 -all", out _));
        Assert.Null(DmarcRecord.Parse("p=reject; v=DMARC1", out _));              // v= must come first
        Assert.Null(DmarcRecord.Parse("v=DMARC1; p=bogus", out var problem));
        Assert.Contains("p=bogus", problem);
        // 6.6.3: an invalid p= with a usable rua= is read as p=none.
        Assert.Equal(DmarcPolicy.None, DmarcRecord.Parse("v=DMARC1; p=bogus; rua=mailto:a@b.example", out _)!.Policy);
    }

    [Theory]
    [InlineData("example.com", "mail.example.com", DmarcAlignment.Relaxed, true)]
    [InlineData("example.com", "mail.example.com", DmarcAlignment.Strict, false)]
    [InlineData("a.example.co.uk", "b.example.co.uk", DmarcAlignment.Relaxed, true)]
    [InlineData("example.co.uk", "other.co.uk", DmarcAlignment.Relaxed, false)]   // co.uk is a public suffix
    [InlineData("Example.COM", "example.com.", DmarcAlignment.Strict, true)]
    public void Alignment(string from, string auth, DmarcAlignment mode, bool aligned) =>
        Assert.Equal(aligned, DmarcEvaluator.Aligned(from, auth, mode));

    private static InMemorySpfDns Zone() => new InMemorySpfDns()
        .Add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; sp=quarantine; pct=100")
        .Add("_dmarc.example.com", "TXT", "some other text")
        .Add("_dmarc.sampled.example", "TXT", "v=DMARC1; p=reject; pct=50")
        .Add("_dmarc.twice.example", "TXT", "v=DMARC1; p=reject")
        .Add("_dmarc.twice.example", "TXT", "v=DMARC1; p=none");

    [Fact]
    public async Task DiscoveryFallsBackToTheOrganisationalDomainAndUsesSp()
    {
        var eval = new DmarcEvaluator(Zone());
        var own = await eval.EvaluateAsync("example.com", "example.com", false, []);
        Assert.Equal(DmarcResult.Fail, own.Result);
        Assert.Equal(DmarcPolicy.Reject, own.AppliedPolicy);
        var sub = await eval.EvaluateAsync("news.example.com", "other.test", true, []);
        Assert.Equal("example.com", sub.PolicyDomain);
        Assert.Equal(DmarcPolicy.Quarantine, sub.AppliedPolicy);     // sp= for subdomains
        var none = await eval.EvaluateAsync("nothing.example", "nothing.example", false, []);
        Assert.Equal(DmarcResult.None, none.Result);
        var twice = await eval.EvaluateAsync("twice.example", null, false, []);
        Assert.Equal(DmarcResult.None, twice.Result);                 // two records: no policy
    }

    [Fact]
    public async Task SpfOrDkimAlignmentPasses()
    {
        var eval = new DmarcEvaluator(Zone());
        var spf = await eval.EvaluateAsync("news.example.com", "bounce.example.com", true, []);
        Assert.Equal(DmarcResult.Pass, spf.Result);
        Assert.True(spf.SpfAligned);
        var dkim = await eval.EvaluateAsync("example.com", "elsewhere.test", true, [new DkimDomainResult("other.test", true), new DkimDomainResult("example.com", true)]);
        Assert.True(dkim.DkimAligned);
        var failedSig = await eval.EvaluateAsync("example.com", "elsewhere.test", true, [new DkimDomainResult("example.com", false)]);
        Assert.Equal(DmarcResult.Fail, failedSig.Result);
    }

    [Fact]
    public async Task PctSamplingSoftensThePolicy()
    {
        var inSample = await new DmarcEvaluator(Zone(), _ => 10).EvaluateAsync("sampled.example", null, false, []);
        Assert.Equal(DmarcPolicy.Reject, inSample.AppliedPolicy);
        var outOfSample = await new DmarcEvaluator(Zone(), _ => 70).EvaluateAsync("sampled.example", null, false, []);
        Assert.Equal(DmarcPolicy.Quarantine, outOfSample.AppliedPolicy);
        Assert.True(outOfSample.SampledOut);
    }
}

public sealed class SrsTests
{
    private static readonly DateTimeOffset Day0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ForwardAndReverseRoundTrip()
    {
        var srs = new SrsRewriter("s3cret", 2, 6, new FixedClock(Day0));
        var rewritten = srs.Forward("Alice@Sender.example", "fwd.example");
        Assert.Matches("^SRS0=[A-Za-z0-9+/]{6}=[A-Z2-7]{2}=Sender.example=Alice@fwd.example$", rewritten);
        Assert.Equal("Alice@Sender.example", srs.Reverse(rewritten));
        // A relay that smashed the case of the local part still gets the bounce through.
        Assert.Equal("alice@sender.example", srs.Reverse(rewritten.ToLowerInvariant()), ignoreCase: true);
    }

    [Fact]
    public void SecondHopMakesSrs1ThatReversesToTheSrs0Address()
    {
        var first = new SrsRewriter("first", 2, 6, new FixedClock(Day0));
        var second = new SrsRewriter("second", 2, 6, new FixedClock(Day0));
        var srs0 = first.Forward("bob@origin.example", "hop1.example");
        var srs1 = second.Forward(srs0, "hop2.example");
        Assert.StartsWith("SRS1=", srs1);
        Assert.Contains("=hop1.example==", srs1);
        Assert.Equal(srs0, second.Reverse(srs1));
        Assert.Throws<SrsException>(() => second.Reverse(srs0));       // not our hash
    }

    [Fact]
    public void ForgedOrExpiredAddressesAreRefused()
    {
        var clock = new FixedClock(Day0);
        var srs = new SrsRewriter("s3cret", 2, 6, clock);
        var good = srs.Forward("carol@sender.example", "fwd.example");
        var forged = good.Replace("carol", "mallory", StringComparison.Ordinal);
        Assert.Equal("invalid hash", Assert.Throws<SrsException>(() => srs.Reverse(forged)).Message);
        clock.Now = Day0.AddDays(2);
        Assert.Equal("carol@sender.example", srs.Reverse(good));
        clock.Now = Day0.AddDays(3);                                     // SRSTimestampMaxAge 2
        Assert.Equal("timestamp expired", Assert.Throws<SrsException>(() => srs.Reverse(good)).Message);
        Assert.Equal(8, new SrsRewriter("s3cret", 2, 8, clock).Forward("a@b.example", "c.example").Split('=')[1].Length);
    }
}

public sealed class BatvTests
{
    private static readonly DateTimeOffset Day0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void SecretsParseAsGenerationKeyPairs()
    {
        var s = TagSecret.ParseList(["0=alpha", "x=bad", "1=", "2=has space", "3=beta", "4=key4"]);
        Assert.Equal([new TagSecret(0, "alpha"), new TagSecret(3, "beta")], s);
    }

    [Fact]
    public void TagsValidateForSevenDays()
    {
        var clock = new FixedClock(Day0);
        var batv = new BatvTagger([new TagSecret(5, "k5")], clock);
        var tagged = batv.Tag("user@local.example")!;
        long day = (Day0.ToUnixTimeSeconds() / 86400 + 7) % 1000;
        Assert.Matches($"^prvs=5{day:000}[0-9a-f]{{6}}=user@local.example$", tagged);
        Assert.Equal(BatvStatus.Valid, batv.Validate(tagged, out var original));
        Assert.Equal("user@local.example", original);
        clock.Now = Day0.AddDays(7);
        Assert.Equal(BatvStatus.Valid, batv.Validate(tagged, out _));
        clock.Now = Day0.AddDays(8);
        Assert.Equal(BatvStatus.Expired, batv.Validate(tagged, out _));
        clock.Now = Day0;
        Assert.Equal(BatvStatus.Garbled, batv.Validate(tagged.Replace("user@", "other@", StringComparison.Ordinal), out _));
        Assert.Equal(BatvStatus.UnknownGeneration, new BatvTagger([new TagSecret(1, "k1")], clock).Validate(tagged, out _));
        Assert.Equal(BatvStatus.NotTagged, batv.Validate("user@local.example", out _));
        Assert.Equal("user@local.example", BatvTagger.RemoveTag(tagged));
    }
}
