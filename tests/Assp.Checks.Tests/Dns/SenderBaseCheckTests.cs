using System.Net;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Checks.Tests.Whitelist;
using Assp.Config;
using Assp.Dns;
using Assp.Storage;

namespace Assp.Checks.Tests.Dns;

/// <summary>
/// The SenderBase organization and country checks in the pipeline, against a real nsd serving sa.senderbase.org and
/// query.senderbase.org the way Cisco's service answers (TXT parts "N-key=value|…").
/// </summary>
public sealed class SenderBaseCheckTests : IDisposable
{
    private const string SpamOrgIp = "203.0.113.9";      // PH (suspicious, not blocked), "Spam Org Ltd", split over two TXT records given out of order
    private const string GoodOrgIp = "203.0.113.10";     // US, "Good Org Inc", only under query.senderbase.org
    private const string NothingIp = "203.0.113.11";     // neither organization nor country
    private const string FrenchIp = "203.0.113.12";      // FR
    private const string GermanIp = "203.0.113.13";      // DE (NoCountryCodeRe)
    private const string ChinaIp = "203.0.113.14";       // CN (CountryCodeBlockedRe)
    private const string UnknownIp = "203.0.113.15";     // no record at all
    private readonly NsdServer _nsd;

    public SenderBaseCheckTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["senderbase.org"] = NsdServer.Zone("senderbase.org", """
                9.113.0.203.sa IN TXT "1-|22=Y|46=24|47=3.1|53=ph"
                9.113.0.203.sa IN TXT "0-0=1.0|1=Spam Org Ltd|20=mx.spamorg.test|21=spamorg.test"
                10.113.0.203.query IN TXT "0-0=1.0|1=Good Org Inc|20=mail.goodorg.test|21=goodorg.test|53=US"
                11.113.0.203.sa IN TXT "0-0=1.0|47=0.0"
                12.113.0.203.sa IN TXT "0-0=1.0|1=French Org|20=smtp.frorg.test|53=FR"
                13.113.0.203.sa IN TXT "0-0=1.0|1=German Org|53=DE"
                14.113.0.203.sa IN TXT "0-0=1.0|1=China Net|53=CN"
                """),
        });
    }

    public void Dispose() => _nsd.Dispose();

    private CheckServices Services(IStore? store = null, TimeProvider? clock = null) => new(store, new DnsListChecks(new DnsResolver(new DnsResolverOptions
    {
        Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
    })), clock);

    private static ConfigSnapshot Cfg(params (string, string)[] values) => TestConfig.Create([("localDomains", "local.test"), .. values]);

    private static async Task<(Verdict Verdict, FakeMailContext Ctx, FakeIpReputation Pb)> Send(CheckServices services, ConfigSnapshot cfg, string ip,
        string from = "a@sender.test")
    {
        var pb = new FakeIpReputation();
        var pipeline = new DecisionPipeline(new DecisionEngine(pb, new FakeAddressReputation()), services.Dns,
            [new WhiteOrgListCheck(services), new SenderBaseCheck(services)], services);
        var ctx = new FakeMailContext(cfg, ip);
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, from, ["user@local.test"], $"From: {from}\nSubject: s\n\nb\n");
        return (verdict, ctx, pb);
    }

    [Fact]
    public void The_TXT_parts_are_joined_in_the_order_of_their_numbers()
    {
        var info = SenderBaseLookup.Parse(["1-|22=Y|46=24|47=3.1|53=ph", "0-0=1.0|1=Spam Org Ltd|20=mx.spamorg.test|21=spamorg.test", "junk"]);
        Assert.Equal(new SenderBaseInfo("PH", "Spam Org Ltd", "spamorg.test", "3.1", "Y", "24", "mx.spamorg.test"), info);
        Assert.Null(SenderBaseLookup.Parse(["no numbered part"]));
        Assert.Equal("9.113.0.203.sa.senderbase.org", SenderBaseLookup.QueryName(IPAddress.Parse(SpamOrgIp), "sa.senderbase.org"));
    }

    [Fact]
    public async Task Query_senderbase_org_is_asked_when_sa_has_no_record()
    {
        var lookup = new SenderBaseLookup(new DnsResolver(new DnsResolverOptions { Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2) }));
        var (info, failure) = await lookup.LookupAsync(IPAddress.Parse(GoodOrgIp), CancellationToken.None);
        Assert.Null(failure);
        Assert.Equal("Good Org Inc", info!.Organization);
        Assert.Equal("US", info.Country);
        (info, failure) = await lookup.LookupAsync(IPAddress.Parse(UnknownIp), CancellationToken.None);
        Assert.Null(info);
        Assert.NotNull(failure);
    }

    [Fact]
    public async Task A_blocked_country_is_refused_in_block_mode_and_only_logged_in_monitor_mode()
    {
        var (verdict, ctx, pb) = await Send(Services(), Cfg(("DoCountryBlocking", "1")), ChinaIp);
        Assert.Equal("554 5.7.1 Blocked IP-Country CN (China Net) .", verdict.Reply);   // SenderInvalidError
        Assert.Equal(25, ctx.State.MessageScore);                                          // bccValencePB
        Assert.Equal(25, pb.Black[ChinaIp]);
        Assert.StartsWith("[CountryCode]", ctx.State.Prepend.ToString());

        // The default is monitor: logged, not scored, and the country scoring does not follow.
        (verdict, ctx, _) = await Send(Services(), Cfg(), ChinaIp);
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains(ctx.LogLines, l => l == "[monitoring] (Blocked IP-Country CN (China Net))");

        // sbTestMode lets it pass tagged; a weight in CountryCodeBlockedRe scales bccValencePB.
        (verdict, ctx, _) = await Send(Services(), Cfg(("DoCountryBlocking", "1"), ("sbTestMode", "1"), ("CountryCodeBlockedRe", "CN=>0.5|RU")), ChinaIp);
        Assert.False(verdict.Refuses);
        Assert.Equal(12, ctx.State.MessageScore);
        Assert.Contains("X-Assp-Block: NO (testmode)", ctx.State.Headers);

        // "all": every country that is neither home nor suspicious.
        (verdict, _, _) = await Send(Services(), Cfg(("DoCountryBlocking", "1"), ("CountryCodeBlockedRe", "all")), FrenchIp);
        Assert.Equal("554 5.7.1 Blocked IP-Country FR (French Org) .", verdict.Reply);
        (verdict, _, _) = await Send(Services(), Cfg(("DoCountryBlocking", "1"), ("CountryCodeBlockedRe", "all"), ("MyCountryCodeRe", "FR")), FrenchIp);
        Assert.False(verdict.Refuses);
    }

    [Fact]
    public async Task Countries_are_scored_as_foreign_suspicious_or_home_on_the_message_only()
    {
        // Default: DoSenderBase score, ScoreForeignCountries on, FR is not suspicious and there is no home country.
        var (verdict, ctx, pb) = await Send(Services(), Cfg(), FrenchIp);
        Assert.False(verdict.Refuses);
        Assert.Equal(10, ctx.State.MessageScore);                                          // sbfccValencePB
        Assert.Equal(-25, pb.Black[FrenchIp]);                                             // only okValencePB for the delivered mail                                                           // message score only
        Assert.Contains(ctx.LogLines, l => l == "[scoring] SenderBase -- Foreign IP-Country FR (French Org)");

        (_, ctx, _) = await Send(Services(), Cfg(("ScoreForeignCountries", "0")), FrenchIp);
        Assert.Equal(0, ctx.State.MessageScore);

        (_, ctx, _) = await Send(Services(), Cfg(("MyCountryCodeRe", "FR"), ("sbhccValencePB", "10")), FrenchIp);
        Assert.Equal(-10, ctx.State.MessageScore);                                         // a bonus whatever its sign

        // PH is in the default CountryCodeRe (and not in CountryCodeBlockedRe): suspicious.
        (_, ctx, pb) = await Send(Services(), Cfg(), SpamOrgIp);
        Assert.Equal(10, ctx.State.MessageScore);                                          // sbsccValencePB
        Assert.Equal(-25, pb.Black[SpamOrgIp]);
        Assert.Contains(ctx.State.Scores, s => s.Check == "sbsccValencePB");

        // DE is in NoCountryCodeRe: left alone; monitor mode scores nothing.
        (_, ctx, _) = await Send(Services(), Cfg(), GermanIp);
        Assert.Equal(0, ctx.State.MessageScore);
        (_, ctx, _) = await Send(Services(), Cfg(("DoSenderBase", "2")), FrenchIp);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains(ctx.LogLines, l => l == "[monitoring] SenderBase -- Foreign IP-Country FR (French Org)");

        // Country scoring needs DoCountryBlocking on, as in ASSP.
        (_, ctx, _) = await Send(Services(), Cfg(("DoCountryBlocking", "0")), FrenchIp);
        Assert.Equal(0, ctx.State.MessageScore);
    }

    [Fact]
    public async Task A_blacklisted_organization_is_scored_or_refused()
    {
        var (verdict, ctx, _) = await Send(Services(), Cfg(("DoOrgBlocking", "1"), ("blackSenderBase", "Spam Org")), SpamOrgIp);
        Assert.Equal("554 5.7.1 Black Organization 'Spam Org' .", verdict.Reply);
        Assert.Equal(25, ctx.State.MessageScore);                                          // sborgValencePB
        Assert.StartsWith("[Organization]", ctx.State.Prepend.ToString());

        // The domain or host name matches too; a weight scales the score; score mode goes on to the country.
        (verdict, ctx, _) = await Send(Services(), Cfg(("DoOrgBlocking", "3"), ("blackSenderBase", @"spamorg\.test=>0.5")), SpamOrgIp);
        Assert.False(verdict.Refuses);
        Assert.Equal(12 + 10, ctx.State.MessageScore);                                     // half of sborgValencePB, then sbsccValencePB
        Assert.Contains(ctx.LogLines, l => l == "[scoring] (Black Domain 'spamorg.test')");

        // Neither organization nor country: sbnValencePB, even in monitor mode.
        (_, ctx, _) = await Send(Services(), Cfg(), NothingIp);
        Assert.Equal(10, ctx.State.MessageScore);
        Assert.Contains(ctx.State.Scores, s => s.Reason == "No CountryCode/Organization");
    }

    [Fact]
    public async Task A_whitelisted_organization_whitelists_the_mail_and_later_mail_of_its_sender_domain()
    {
        var services = Services();
        var (verdict, ctx, pb) = await Send(services, Cfg(("whiteSenderBase", "Good Org"), ("DoOrgBlocking", "1"), ("blackSenderBase", "Org")), GoodOrgIp);
        Assert.False(verdict.Refuses);
        Assert.Equal("White-Senderbase Organization: Good Org", ctx.State.Whitelisted);
        Assert.Equal(-25, ctx.State.MessageScore);                                         // sworgValencePB, nothing else checked
        Assert.Contains(GoodOrgIp, pb.White);

        // A host-name match gives the bonus but does not whitelist.
        (_, ctx, _) = await Send(Services(), Cfg(("whiteSenderBase", @"mail\.goodorg")), GoodOrgIp);
        Assert.Null(ctx.State.Whitelisted);
        Assert.Equal(-25, ctx.State.MessageScore);

        // score (3): only the bonus; monitor (2): nothing.
        (_, ctx, _) = await Send(Services(), Cfg(("whiteSenderBase", "Good Org"), ("DoOrgWhiting", "3")), GoodOrgIp);
        Assert.Null(ctx.State.Whitelisted);
        Assert.Equal(-25, ctx.State.MessageScore);
        (_, ctx, _) = await Send(Services(), Cfg(("whiteSenderBase", "Good Org"), ("DoOrgWhiting", "2")), GoodOrgIp);
        Assert.Equal(0, ctx.State.MessageScore);
    }

    [Fact]
    public async Task The_white_organization_list_whitelists_a_known_domain_after_SPF_passed()
    {
        var services = Services();
        // SenderBase named goodorg.test for a whitelisted organization: it is on the list now.
        await Send(services, Cfg(("whiteSenderBase", "Good Org")), GoodOrgIp);
        var check = new WhiteOrgListCheck(services);
        var ctx = new FakeMailContext(Cfg(), "198.51.100.7") { MailFrom = "news@goodorg.test" };
        ctx.State.SpfPassed = true;
        await check.RunAsync(new CheckContext(ctx, new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), services), CancellationToken.None);
        Assert.Equal("WhiteOrgList 'goodorg.test - Good Org Inc'", ctx.State.Whitelisted);

        // Without SPF passed, or with DoOrgWhiting not "whiting", nothing happens.
        ctx = new FakeMailContext(Cfg(), "198.51.100.7") { MailFrom = "news@goodorg.test" };
        await check.RunAsync(new CheckContext(ctx, new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), services), CancellationToken.None);
        Assert.Null(ctx.State.Whitelisted);
        ctx = new FakeMailContext(Cfg(("DoOrgWhiting", "3")), "198.51.100.7") { MailFrom = "news@goodorg.test" };
        ctx.State.SpfPassed = true;
        await check.RunAsync(new CheckContext(ctx, new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), services), CancellationToken.None);
        Assert.Null(ctx.State.Whitelisted);
    }

    [Fact]
    public async Task Answers_are_cached_per_network_for_SBCacheExp_days()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var store = new MemoryStore(clock);
        var services = Services(store, clock);
        var (_, ctx, _) = await Send(services, Cfg(("SenderBaseLog", "2")), SpamOrgIp);
        Assert.Contains(ctx.LogLines, l => l == "SenderBase -- used Senderbase -- country:PH orgname:Spam Org Ltd domain:spamorg.test host:mx.spamorg.test");
        // SenderBase gave the range /24: the record is kept for the network, in ASSP's "time!status!data" form.
        Assert.True(store.Table(SenderBaseCache.Table).TryGetValue("203.0.113.0/24", out var record));
        Assert.Equal($"{clock.GetUtcNow().ToUnixTimeSeconds()}!0!PH|Spam Org Ltd|spamorg.test|3.1|Y|24|mx.spamorg.test", record);

        // Another IP of the network is answered from the cache (nsd has nothing for it).
        (_, ctx, _) = await Send(services, Cfg(("SenderBaseLog", "2")), "203.0.113.200");
        Assert.Contains(ctx.LogLines, l => l == "SenderBase(Cache) -- country:PH orgname:Spam Org Ltd domain:spamorg.test host:mx.spamorg.test");
        Assert.Equal(10, ctx.State.MessageScore);

        // After SBCacheExp days the record no longer counts and the daily cleaning removes it.
        clock.Advance(TimeSpan.FromDays(4));
        (_, ctx, _) = await Send(services, Cfg(("SenderBaseLog", "2")), "203.0.113.200");
        Assert.DoesNotContain(ctx.LogLines, l => l.StartsWith("SenderBase(Cache)", StringComparison.Ordinal));
        Assert.Equal(1, SenderBaseCache.Clean(Cfg(), store, clock));
        Assert.False(store.Table(SenderBaseCache.Table).ContainsKey("203.0.113.0/24"));

        // SBCacheExp 0: no cache.
        await Send(services, Cfg(("SBCacheExp", "0")), SpamOrgIp);
        Assert.Equal(0, store.Table(SenderBaseCache.Table).Count);
    }

    [Fact]
    public async Task Behind_an_ISP_relay_the_IP_it_received_the_mail_from_is_looked_up()
    {
        var services = Services();
        var cfg = Cfg(("ispip", "127.0.0.1"), ("ispHostnames", @"relay\.example\.net"), ("DoCountryBlocking", "1"));
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), services.Dns,
            [new SenderBaseCheck(services)], services);
        var ctx = new FakeMailContext(cfg, "127.0.0.1") { Class = ConnectionClass.Isp };
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@far.example", ["user@local.test"],
            $"Received: from far.example (far.example [{ChinaIp}]) by relay.example.net with ESMTP id 1; Sat, 21 Nov 2026 10:00:00 +0000\n" +
            "From: a@far.example\nSubject: s\n\nb\n");
        Assert.True(verdict.Refuses, string.Join("\n", ctx.LogLines));
        Assert.Equal("554 5.7.1 Blocked IP-Country CN (China Net) .", verdict.Reply);
    }

    [Fact]
    public async Task Outgoing_whitelisted_private_and_unknown_IPs_are_not_looked_at()
    {
        var (verdict, ctx, _) = await Send(Services(), Cfg(("DoCountryBlocking", "1"), ("acceptAllMail", ChinaIp)), ChinaIp);
        Assert.False(verdict.Refuses);
        (verdict, _, _) = await Send(Services(), Cfg(("DoCountryBlocking", "1"), ("whiteListedIPs", ChinaIp)), ChinaIp);
        Assert.False(verdict.Refuses);
        (verdict, ctx, _) = await Send(Services(), Cfg(("DoCountryBlocking", "1"), ("CountryCodeBlockedRe", "all")), "10.0.0.5");
        Assert.False(verdict.Refuses);
        (verdict, ctx, _) = await Send(Services(), Cfg(("DoCountryBlocking", "1"), ("SenderBaseLog", "2")), UnknownIp);
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        Assert.Contains(ctx.LogLines, l => l.StartsWith("info: SenderBase: got no results", StringComparison.Ordinal));
    }
}
