using Assp.Auth.Dmarc;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Dns;
using Assp.Storage;

namespace Assp.Checks.Tests.Dns;

/// <summary>Stands in for the DKIM verifier: hands DMARC a fixed list of (d=, passed) results.</summary>
internal sealed class FixedDkimResults(IReadOnlyList<DkimDomainResult> results) : IMessageCheck
{
    public CheckDefinition Definition => DmarcCheck.ViaDkim;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 0;
    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        context.State.DkimResults = results;
        return ValueTask.FromResult(Verdict.Pass);
    }
}

/// <summary>SPFoverride/SPFfallback/SPFlocalRecord, SPFCacheInterval, the HELO identity, DoSPFinHeader and DMARC, against a real nsd.</summary>
public sealed class SpfExtrasAndDmarcTests : IDisposable
{
    private readonly NsdServer _nsd;
    private readonly DnsListChecks _dns;

    public SpfExtrasAndDmarcTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["fail.test"] = NsdServer.Zone("fail.test", "@ IN TXT \"v=spf1 -all\""),
            ["pass.test"] = NsdServer.Zone("pass.test", "@ IN TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\nmail IN TXT \"v=spf1 ip4:203.0.113.0/24 -all\""),
            ["nospf.test"] = NsdServer.Zone("nospf.test", "@ IN A 192.0.2.1"),
            ["helo.test"] = NsdServer.Zone("helo.test", "@ IN TXT \"v=spf1 -all\""),
            ["reject.test"] = NsdServer.Zone("reject.test", """
                @ IN TXT "v=spf1 -all"
                _dmarc IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:agg@reports.test,mailto:other@elsewhere.test"
                """),
            ["quarantine.test"] = NsdServer.Zone("quarantine.test", "_dmarc IN TXT \"v=DMARC1; p=quarantine\""),
            ["nopolicy.test"] = NsdServer.Zone("nopolicy.test", "_dmarc IN TXT \"v=DMARC1; p=none; rua=mailto:agg@reports.test\""),
            ["ruf.test"] = NsdServer.Zone("ruf.test", """
                @ IN TXT "v=spf1 -all"
                _dmarc IN TXT "v=DMARC1; p=reject; fo=1; ruf=mailto:forensic@ruf.test,mailto:ext@reports.test,mailto:no@noagree.test"
                """),
            ["rufsmall.test"] = NsdServer.Zone("rufsmall.test", """
                @ IN TXT "v=spf1 -all"
                _dmarc IN TXT "v=DMARC1; p=reject; ruf=mailto:tiny@rufsmall.test!1k"
                """),
            ["rufiodef.test"] = NsdServer.Zone("rufiodef.test", """
                @ IN TXT "v=spf1 -all"
                _dmarc IN TXT "v=DMARC1; p=reject; rf=iodef; ruf=mailto:f@rufiodef.test"
                """),
            ["many.test"] = NsdServer.Zone("many.test",
                "@ IN TXT \"v=spf1 " + string.Concat(Enumerable.Range(1, 11).Select(i => $"include:i{i}.many.test ")) + "-all\"\n"
                + string.Concat(Enumerable.Range(1, 10).Select(i => $"i{i} IN TXT \"v=spf1 -all\"\n"))
                + "i11 IN TXT \"v=spf1 ip4:203.0.113.0/24 -all\""),
            ["reports.test"] = NsdServer.Zone("reports.test", "ruf.test._report._dmarc IN TXT \"v=DMARC1\""),
            ["noagree.test"] = NsdServer.Zone("noagree.test", "@ IN A 192.0.2.2"),
        });
        _dns = new DnsListChecks(new DnsResolver(new DnsResolverOptions
        {
            Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
        }));
    }

    public void Dispose() => _nsd.Dispose();

    private async Task<(Verdict Verdict, FakeMailContext Ctx)> Send(string from, string headerFrom, IStore? store, IReadOnlyList<DkimDomainResult>? dkim,
        params (string, string)[] cfg)
    {
        var services = new CheckServices(store, _dns);
        List<IMessageCheck> checks = [new SpfCheck(services), new DmarcCheck(services)];
        if (dkim is not null) checks.Add(new FixedDkimResults(dkim));
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), _dns,
            [.. checks.OrderBy(c => c.Order)], services);
        var ctx = new FakeMailContext(TestConfig.Create(cfg)) { Helo = "helo.test" };
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, from, ["user@local.test"], $"From: {headerFrom}\nMessage-ID: <1@x>\nSubject: s\n\nb\n");
        return (verdict, ctx);
    }

    /// <summary>A DMARC-checked message in block mode (DoDKIM and ValidateSPF at 1).</summary>
    internal Task<(Verdict Verdict, FakeMailContext Ctx)> SendFor(string from, string headerFrom, IStore store, IReadOnlyList<DkimDomainResult> dkim,
        params (string, string)[] cfg) =>
        Send(from, headerFrom, store, dkim, [("ValidateSPF", "1"), ("DoDKIM", "1"), ("DoDMARC", "1"), .. cfg]);

    private Task<(Verdict Verdict, FakeMailContext Ctx)> Spf(string from, params (string, string)[] cfg) => Send(from, from, null, null, cfg);

    [Fact]
    public async Task SpfOverrideReplacesThePublishedRecord()
    {
        Assert.Equal(10, (await Spf("a@fail.test")).Ctx.State.MessageScore);
        Assert.Equal(-10, (await Spf("a@fail.test", ("SPFoverride", "fail.test=>v=spf1 ip4:203.0.113.9 -all"))).Ctx.State.MessageScore);
        // A bare domain takes SPFlocalRecord; "*." covers subdomains.
        Assert.Equal(-10, (await Spf("a@fail.test", ("SPFoverride", "fail.test"), ("SPFlocalRecord", "v=spf1 ip4:203.0.113.0/24 -all"))).Ctx.State.MessageScore);
        Assert.Equal(-10, (await Spf("a@sub.fail.test", ("SPFoverride", "*.fail.test=>v=spf1 +all"))).Ctx.State.MessageScore);
        Assert.Equal(10, (await Spf("a@fail.test", ("SPFoverride", "*.fail.test=>v=spf1 +all"))).Ctx.State.MessageScore);
    }

    [Fact]
    public async Task SpfFallbackOnlyStandsInWhereNoRecordIsPublished()
    {
        Assert.Equal(0, (await Spf("a@nospf.test")).Ctx.State.MessageScore);                      // none scores spfnonValencePB 0
        var (verdict, ctx) = await Spf("a@nospf.test", ("SPFfallback", "nospf.test=>v=spf1 -all|fail.test=>v=spf1 +all"), ("ValidateSPF", "1"));
        Assert.Equal("554 5.7.1 failed SPF: fail", verdict.Reply);
        Assert.Equal(10, (await Spf("a@fail.test", ("SPFfallback", "fail.test=>v=spf1 +all"))).Ctx.State.MessageScore);
        Assert.Equal(10, (await Spf("a@nospf.test", ("SPFfallback", "nospf.test"), ("SPFlocalRecord", "v=spf1 a/24 mx/24 -all"))).Ctx.State.MessageScore);
    }

    [Fact]
    public async Task SpfCacheIntervalKeepsResultsInPbdbSpf()
    {
        var store = new MemoryStore();
        await Send("a@fail.test", "a@fail.test", store, null);
        Assert.True(store.Table(SpfService.CacheTable).TryGetValue("203.0.113.9 fail.test", out var value));
        Assert.Matches("^[0-9]+ fail helo.test$", value);
        // A cached pass wins over the published -all while it is younger than SPFCacheInterval days.
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        store.Table(SpfService.CacheTable).Set("203.0.113.9 fail.test", $"{now} pass helo.test");
        Assert.Equal(-10, (await Send("a@fail.test", "a@fail.test", store, null)).Ctx.State.MessageScore);
        Assert.Equal(10, (await Send("a@fail.test", "a@fail.test", store, null, ("SPFCacheInterval", "0"))).Ctx.State.MessageScore);
        store.Table(SpfService.CacheTable).Set("203.0.113.9 fail.test", $"{now - 8 * 86400} pass helo.test");
        Assert.Equal(10, (await Send("a@fail.test", "a@fail.test", store, null)).Ctx.State.MessageScore);
        store.Table(SpfService.CacheTable).Set("203.0.113.9 fail.test", $"{now - 8 * 86400} pass helo.test");
        Assert.Equal(1, SpfService.CleanCache(TestConfig.Create(), store, TimeProvider.System));
    }

    [Fact]
    public async Task EnableSpfBackgroundRechecksALookupLimitPermerrorIntoTheCache()
    {
        var store = new MemoryStore();
        var (_, ctx) = await Send("a@many.test", "a@many.test", store, null);
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("Received-SPF: permerror", StringComparison.Ordinal));
        // The background check (11 includes, the last one matching) replaces the cached permerror with the real pass.
        var table = store.Table(SpfService.CacheTable);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string? value = null;
        while (DateTime.UtcNow < deadline && !(table.TryGetValue("203.0.113.9 many.test", out value) && value.Contains(" pass", StringComparison.Ordinal)))
            await Task.Delay(50);
        Assert.Matches("^[0-9]+ pass helo.test$", value);
        Assert.Equal(-10, (await Send("a@many.test", "a@many.test", store, null)).Ctx.State.MessageScore);   // judged by the cached pass

        // Switched off (or without the cache) nothing runs in the background.
        var services = new CheckServices(store, _dns);
        Assert.Null(new SpfService(services).StartBackground(TestConfig.Create(("enableSPFbackground", "0")), System.Net.IPAddress.Parse("203.0.113.9"), "a@many.test", "h", null));
        Assert.Null(new SpfService(services).StartBackground(TestConfig.Create(("SPFCacheInterval", "0")), System.Net.IPAddress.Parse("203.0.113.9"), "a@many.test", "h", null));
        var other = new MemoryStore();
        await Send("a@many.test", "a@many.test", other, null, ("enableSPFbackground", "0"));
        Assert.True(other.Table(SpfService.CacheTable).TryGetValue("203.0.113.9 many.test", out var kept));
        Assert.Contains(" permerror", kept);
    }

    [Fact]
    public async Task NullSenderIsCheckedWithTheHeloIdentity()
    {
        var (verdict, ctx) = await Spf("", ("ValidateSPF", "1"));
        Assert.Equal("554 5.7.1 failed SPF: fail", verdict.Reply);
        Assert.Contains(ctx.State.Headers, h => h.StartsWith("Received-SPF: fail", StringComparison.Ordinal) && h.Contains("identity=helo", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DoSPFinHeaderChecksAStrictHeaderFromToo()
    {
        var (verdict, _) = await Send("a@pass.test", "boss@fail.test", null, null, ("blockstrictSPFRe", "@fail\\.test"));
        Assert.False(verdict.Refuses);
        (verdict, _) = await Send("a@pass.test", "boss@fail.test", null, null, ("blockstrictSPFRe", "@fail\\.test"), ("DoSPFinHeader", "1"));
        Assert.Equal("554 5.7.1 failed SPF: fail", verdict.Reply);
        (verdict, _) = await Send("a@pass.test", "boss@fail.test", null, null, ("DoSPFinHeader", "1"));   // not in blockstrictSPFRe
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task DmarcRejectRefusesInBlockModeAndScoresOtherwise()
    {
        (string, string)[] block = [("ValidateSPF", "1"), ("DoDKIM", "1")];
        var (verdict, ctx) = await Send("a@pass.test", "x@reject.test", null, [], block);
        Assert.Equal("554 5.7.1 DMARC policy of reject.test rejects this message", verdict.Reply);
        Assert.Equal(DmarcResult.Fail, ctx.State.Dmarc!.Result);
        // The less aggressive of ValidateSPF and DoDKIM decides: DoDKIM score makes DMARC score.
        (verdict, ctx) = await Send("a@pass.test", "x@reject.test", null, [], ("ValidateSPF", "1"), ("DoDKIM", "3"));
        Assert.False(verdict.Refuses);
        Assert.Equal(-10 + 10, ctx.State.MessageScore);                                   // spfpValencePB + dmarcValencePB
        (verdict, _) = await Send("a@pass.test", "x@reject.test", null, [], [.. block, ("DoDMARC", "0")]);
        Assert.False(verdict.Refuses);
        (verdict, _) = await Send("a@pass.test", "x@reject.test", null, [], [.. block, ("noDMARCDomain", "@reject.test")]);
        Assert.False(verdict.Refuses);
        (verdict, _) = await Send("a@pass.test", "x@reject.test", null, [], [.. block, ("spfTestMode", "1")]);
        Assert.False(verdict.Refuses);                                                    // test mode tags instead
    }

    [Fact]
    public async Task DmarcAlignmentQuarantineAndUnknownDkim()
    {
        (string, string)[] block = [("ValidateSPF", "1"), ("DoDKIM", "1")];
        var (verdict, ctx) = await Send("a@pass.test", "x@reject.test", null, [new DkimDomainResult("mail.reject.test", true)], block);
        Assert.False(verdict.Refuses);
        Assert.Equal(DmarcResult.Pass, ctx.State.Dmarc!.Result);
        (verdict, ctx) = await Send("a@mail.pass.test", "x@pass.test", null, [], block);   // relaxed SPF alignment, no record: none
        Assert.Equal(DmarcResult.None, ctx.State.Dmarc!.Result);
        (verdict, ctx) = await Send("a@pass.test", "x@news.reject.test", null, [], block);   // sp=quarantine for subdomains
        Assert.False(verdict.Refuses);
        Assert.Equal(DmarcPolicy.Quarantine, ctx.State.Dmarc!.AppliedPolicy);
        Assert.Equal(-10 + 10, ctx.State.MessageScore);
        (verdict, ctx) = await Send("a@pass.test", "x@quarantine.test", null, [], block);
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        // Without a DKIM verdict a failing SPF alignment is not judged.
        (verdict, ctx) = await Send("a@pass.test", "x@reject.test", null, null, block);
        Assert.False(verdict.Refuses);
        Assert.Null(ctx.State.Dmarc);
    }

    [Fact]
    public async Task DmarcResultsAreKeptForAggregateReports()
    {
        var store = new MemoryStore();
        await Send("a@pass.test", "x@reject.test", store, [new DkimDomainResult("other.test", true)], ("DMARCReportFrom", "dmarc-reports"));
        await Send("a@pass.test", "x@nopolicy.test", store, [], ("DMARCReportFrom", "dmarc-reports"));
        var pending = DmarcReports.Pending(store);
        Assert.Equal(["nopolicy.test", "reject.test"], pending.Keys.Order());
        var row = pending["reject.test"].Single().Row;
        Assert.Equal(("203.0.113.9", "reject.test", "reject", "fail", "fail", "pass.test", "pass"),
            (row.SourceIp, row.HeaderFrom, row.Disposition, row.DkimAligned, row.SpfAligned, row.SpfDomain, row.SpfResult));
        Assert.Equal([("other.test", "pass")], row.Dkim);
        Assert.Equal("agg@reports.test,other@elsewhere.test", row.ReportTo);

        var none = new MemoryStore();
        await Send("a@pass.test", "x@reject.test", none, [], ("DMARCReportFrom", ""));
        await Send("a@pass.test", "x@nopolicy.test", none, [], ("DMARCReportFrom", "r"), ("noDMARCReportDomain", "@reports.test"));
        Assert.Empty(DmarcReports.Pending(none));
        await Send("a@pass.test", "x@reject.test", none, [], ("DMARCReportFrom", "r"), ("noDMARCReportDomain", "@reports.test"));
        Assert.Equal("other@elsewhere.test", DmarcReports.Pending(none)["reject.test"].Single().Row.ReportTo);
    }
}

/// <summary>DMARC failure reports (ruf=, fo=, rf=): queued by the check, AFRF format, destinations, limits.</summary>
public sealed class DmarcFailureReportTests : IDisposable
{
    private readonly SpfExtrasAndDmarcTests _dmarc = new();

    public void Dispose() => _dmarc.Dispose();

    [Theory]
    [InlineData("0", false, false, true)]
    [InlineData("0", true, false, false)]     // one aligned pass is enough for fo=0
    [InlineData("1", true, false, true)]      // fo=1: any mechanism without an aligned pass
    [InlineData("1", true, true, false)]
    [InlineData("d", true, true, true)]       // a failed signature, aligned or not
    [InlineData("s", true, true, false)]      // SPF passed
    [InlineData("0:s", true, true, false)]
    [InlineData("x", false, false, false)]
    public void FailureOptionsPickTheMessages(string fo, bool spfAligned, bool dkimAligned, bool expected) =>
        Assert.Equal(expected, DmarcFailureReports.Wanted(fo, spfAligned, dkimAligned, Assp.Auth.Spf.SpfResult.Pass,
            [new DkimDomainResult("x.test", true), new DkimDomainResult("y.test", false)]));

    [Fact]
    public void SpfFailureOptionNeedsAnSpfFail()
    {
        Assert.True(DmarcFailureReports.Wanted("s", true, true, Assp.Auth.Spf.SpfResult.Fail, []));
        Assert.False(DmarcFailureReports.Wanted("s", false, false, Assp.Auth.Spf.SpfResult.SoftFail, []));
        Assert.False(DmarcFailureReports.Wanted("d", false, false, null, [new DkimDomainResult("x.test", true)]));
    }

    [Fact]
    public async Task FailingMailIsReportedToAgreeingRufAddressesOnceAnHour()
    {
        var store = new MemoryStore();
        var (verdict, ctx) = await _dmarc.SendFor("a@pass.test", "x@ruf.test", store, [], ("DMARCReportFrom", "dmarc-reports"));
        Assert.True(verdict.Refuses);
        var queued = Assert.Single(DmarcFailureReports.Pending(store));
        // ext@reports.test agreed by DNS; noagree.test did not.
        Assert.Equal(["forensic@ruf.test", "ext@reports.test"], queued.To);
        Assert.Equal("dmarc-reports@local.test", queued.From);
        Assert.Contains(ctx.LogLines, l => l.Contains("noagree.test publishes no ruf.test._report._dmarc", StringComparison.Ordinal));

        var mime = Assp.Mime.MimeParser.Parse(queued.Message);
        Assert.Equal("multipart/report", mime.Root.ContentType.MimeType);
        Assert.Equal("feedback-report", mime.Root.ContentType.Parameters["report-type"]);
        Assert.Equal(["text/plain", "message/feedback-report", "text/rfc822-headers"], mime.Root.Children.Select(c => c.ContentType.MimeType));
        var feedback = System.Text.Encoding.ASCII.GetString(mime.Root.Children[1].RawBody.Span);
        Assert.Contains("Feedback-Type: auth-failure\r\n", feedback);
        Assert.Contains("Auth-Failure: dmarc\r\n", feedback);
        Assert.Contains("Version: 1\r\n", feedback);
        Assert.Contains("Source-IP: 203.0.113.9\r\n", feedback);
        Assert.Contains("Reported-Domain: ruf.test\r\n", feedback);
        Assert.Contains("Original-Mail-From: <a@pass.test>\r\n", feedback);
        Assert.Contains("Delivery-Result: reject\r\n", feedback);
        Assert.Contains("Identity-Alignment: none\r\n", feedback);
        Assert.Contains("dmarc=fail header.from=ruf.test", feedback);
        var headers = System.Text.Encoding.ASCII.GetString(mime.Root.Children[2].RawBody.Span);
        Assert.Contains("From: x@ruf.test", headers);
        Assert.DoesNotContain("\r\n\r\nb", headers);                           // no body

        // The same domain and IP within the hour: no second report.
        (_, ctx) = await _dmarc.SendFor("a@pass.test", "x@ruf.test", store, [], ("DMARCReportFrom", "dmarc-reports"));
        Assert.Single(DmarcFailureReports.Pending(store));
        Assert.Contains(ctx.LogLines, l => l.Contains("less than an hour ago", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoReportWithoutDmarcReportFromExcludedSizeOrFormat()
    {
        var store = new MemoryStore();
        await _dmarc.SendFor("a@pass.test", "x@ruf.test", store, [], ("DMARCReportFrom", ""));
        Assert.Empty(DmarcFailureReports.Pending(store));
        await _dmarc.SendFor("a@pass.test", "x@ruf.test", store, [], ("DMARCReportFrom", "r@me.test"), ("noDMARCReportDomain", "@ruf.test|@reports.test"));
        Assert.Empty(DmarcFailureReports.Pending(store));
        // fo=0 (the default) reports a DMARC failure; the report is over the 1k limit of the only address.
        var (_, ctx) = await _dmarc.SendFor("a@pass.test", "x@rufsmall.test", store, [], ("DMARCReportFrom", "r@me.test"));
        Assert.Empty(DmarcFailureReports.Pending(store));
        Assert.Contains(ctx.LogLines, l => l.Contains("larger than every ruf= size limit", StringComparison.Ordinal));
        // rf=iodef only: AFRF is the only format we write.
        await _dmarc.SendFor("a@pass.test", "x@rufiodef.test", store, [], ("DMARCReportFrom", "r@me.test"));
        Assert.Empty(DmarcFailureReports.Pending(store));
    }

    [Fact]
    public async Task QueuedReportsAreSentAndRemoved()
    {
        var store = new MemoryStore();
        await _dmarc.SendFor("a@pass.test", "x@ruf.test", store, [], ("DMARCReportFrom", "r@me.test"));
        var calls = new List<(string From, IReadOnlyList<string> To)>();
        Task<string?> Fails(string f, IReadOnlyList<string> t, byte[] m, CancellationToken ct) => Task.FromResult<string?>("relay down");
        Assert.Equal(0, await DmarcFailureReports.SendPendingAsync(store, TimeProvider.System, Fails, _ => { }, default));
        Assert.Single(DmarcFailureReports.Pending(store));                          // kept for the next run
        Task<string?> Works(string f, IReadOnlyList<string> t, byte[] m, CancellationToken ct) { calls.Add((f, t)); return Task.FromResult<string?>(null); }
        Assert.Equal(1, await DmarcFailureReports.SendPendingAsync(store, TimeProvider.System, Works, _ => { }, default));
        Assert.Equal("r@me.test", calls.Single().From);
        Assert.Empty(DmarcFailureReports.Pending(store));
    }
}

/// <summary>The aggregate report job: XML of RFC 7489 Appendix C, gzip attachment, due rows, exclusions.</summary>
public sealed class DmarcAggregateReportTests
{
    private static DmarcReportRow Row(string ip, string disposition, long time, string reportTo = "agg@reports.test") =>
        new("reject.test", time, ip, "reject.test", "local.test", disposition, "fail", "fail", "pass.test", "pass",
            [("other.test", "pass")], false, "reject", "quarantine", 100, "r", "s", reportTo);

    private static (MemoryStore Store, long Now) Filled(params DmarcReportRow[] rows)
    {
        var store = new MemoryStore();
        int i = 0;
        foreach (var r in rows) store.Table(DmarcReports.Table).Set($"{r.PolicyDomain} {r.Time} s{i++}", r.Encode());
        return (store, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    [Fact]
    public void TheXmlFollowsTheSchema()
    {
        long t = 1_700_000_000;
        var report = new DmarcAggregateReport("proxy.test", "dmarc@local.test", "reject.test",
            [Row("192.0.2.1", "reject", t), Row("192.0.2.1", "reject", t + 5), Row("192.0.2.2", "none", t + 9)],
            DateTimeOffset.FromUnixTimeSeconds(t), DateTimeOffset.FromUnixTimeSeconds(t + 86400));
        var xml = System.Xml.Linq.XDocument.Parse(report.ToXml().ToString());
        var feedback = xml.Root!;
        Assert.Equal("feedback", feedback.Name.LocalName);
        Assert.Equal(["report_metadata", "policy_published", "record", "record"], feedback.Elements().Select(e => e.Name.LocalName));
        var meta = feedback.Element("report_metadata")!;
        Assert.Equal(["org_name", "email", "report_id", "date_range"], meta.Elements().Select(e => e.Name.LocalName));
        Assert.Equal(t.ToString(System.Globalization.CultureInfo.InvariantCulture), meta.Element("date_range")!.Element("begin")!.Value);
        var policy = feedback.Element("policy_published")!;
        Assert.Equal(("reject.test", "r", "s", "reject", "quarantine", "100"),
            (policy.Element("domain")!.Value, policy.Element("adkim")!.Value, policy.Element("aspf")!.Value, policy.Element("p")!.Value,
             policy.Element("sp")!.Value, policy.Element("pct")!.Value));
        var first = feedback.Elements("record").First();
        Assert.Equal(["row", "identifiers", "auth_results"], first.Elements().Select(e => e.Name.LocalName));
        var row = first.Element("row")!;
        Assert.Equal(("192.0.2.1", "2"), (row.Element("source_ip")!.Value, row.Element("count")!.Value));
        Assert.Equal(["disposition", "dkim", "spf"], row.Element("policy_evaluated")!.Elements().Select(e => e.Name.LocalName));
        Assert.Equal(["envelope_to", "header_from"], first.Element("identifiers")!.Elements().Select(e => e.Name.LocalName));
        Assert.Equal(["dkim", "spf"], first.Element("auth_results")!.Elements().Select(e => e.Name.LocalName));
        Assert.Equal("proxy.test!reject.test!1700000000!1700086400.xml.gz", report.FileName);
        // The attachment is the same XML, gzip-compressed.
        using var gz = new System.IO.Compression.GZipStream(new MemoryStream(report.Compressed()), System.IO.Compression.CompressionMode.Decompress);
        Assert.Equal("feedback", System.Xml.Linq.XDocument.Load(gz).Root!.Name.LocalName);
    }

    [Fact]
    public async Task DueReportsAreSentOnceAndExclusionsHonoured()
    {
        var (store, now) = Filled(Row("192.0.2.1", "reject", DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 90000));
        var sent = new List<(string From, IReadOnlyList<string> To, byte[] Message)>();
        Task<string?> Send(string from, IReadOnlyList<string> to, byte[] message, CancellationToken ct)
        {
            sent.Add((from, to, message));
            return Task.FromResult<string?>(null);
        }
        var cfg = TestConfig.Create(("DMARCReportFrom", "dmarc-reports"), ("myName", "proxy.test"));
        Assert.Equal(1, await DmarcReports.SendDueAsync(cfg, store, TimeProvider.System, Send, _ => { }, false, default));
        var (from, to, message) = Assert.Single(sent);
        Assert.Equal("dmarc-reports@local.test", from);
        Assert.Equal(["agg@reports.test"], to);
        var text = System.Text.Encoding.ASCII.GetString(message);
        Assert.Contains("Subject: Report Domain: reject.test Submitter: proxy.test Report-ID: <reject.test.", text);
        Assert.Contains("Content-Type: application/gzip; name=\"proxy.test!reject.test!", text);
        Assert.Empty(DmarcReports.Pending(store));                                  // sent rows are gone

        (store, _) = Filled(Row("192.0.2.1", "reject", now - 60));
        Assert.Equal(0, await DmarcReports.SendDueAsync(cfg, store, TimeProvider.System, Send, _ => { }, false, default));   // not a day old yet
        Assert.Equal(1, await DmarcReports.SendDueAsync(cfg, store, TimeProvider.System, Send, _ => { }, true, default));
        (store, _) = Filled(Row("192.0.2.1", "reject", now - 90000));
        var excluded = TestConfig.Create(("DMARCReportFrom", "dmarc-reports"), ("noDMARCReportDomain", "@reports.test"));
        Assert.Equal(0, await DmarcReports.SendDueAsync(excluded, store, TimeProvider.System, Send, _ => { }, false, default));
        Assert.Empty(DmarcReports.Pending(store));
        (store, _) = Filled(Row("192.0.2.1", "reject", now - 90000));
        Assert.Equal(0, await DmarcReports.SendDueAsync(TestConfig.Create(("DMARCReportFrom", "")), store, TimeProvider.System, Send, _ => { }, false, default));
        (store, _) = Filled(Row("192.0.2.1", "reject", now - 90000));
        Assert.Equal(0, await DmarcReports.SendDueAsync(cfg, store, TimeProvider.System, (_, _, _, _) => Task.FromResult<string?>("down"), _ => { }, false, default));
        Assert.NotEmpty(DmarcReports.Pending(store));                               // kept for the next try
        // ri=3600: an hour-old row is due; the interval survives the store round trip.
        (store, _) = Filled(Row("192.0.2.1", "reject", now - 4000) with { ReportInterval = 3600 });
        Assert.Equal(3600, DmarcReports.Pending(store)["reject.test"].Single().Row.ReportInterval);
        Assert.Equal(1, await DmarcReports.SendDueAsync(cfg, store, TimeProvider.System, Send, _ => { }, false, default));
    }
}

/// <summary>SPFLocal: local and outgoing mail is SPF-checked only when it is on.</summary>
public sealed class SpfLocalTests : IDisposable
{
    private readonly NsdServer _nsd = new(new Dictionary<string, string>
    {
        ["fail.test"] = NsdServer.Zone("fail.test", "@ IN TXT \"v=spf1 -all\""),
    });

    public void Dispose() => _nsd.Dispose();

    [Fact]
    public async Task OutgoingMailIsCheckedOnlyWithSpfLocal()
    {
        var dns = new DnsListChecks(new DnsResolver(new DnsResolverOptions
        {
            Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
        }));
        var services = new CheckServices(null, dns);
        async Task<FakeMailContext> Send(params (string, string)[] cfg)
        {
            var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), dns, [new SpfCheck(services)], services);
            var ctx = new FakeMailContext(TestConfig.Create(cfg)) { Class = ConnectionClass.Relay };
            await Transaction.RunAsync(pipeline, ctx, "me@fail.test", ["friend@far.example"], "From: me@fail.test\nSubject: s\n\nb\n");
            return ctx;
        }
        Assert.DoesNotContain((await Send()).State.Headers, h => h.StartsWith("Received-SPF", StringComparison.Ordinal));
        var local = await Send(("SPFLocal", "1"));
        Assert.Contains(local.State.Headers, h => h.StartsWith("Received-SPF: fail", StringComparison.Ordinal));
    }
}
