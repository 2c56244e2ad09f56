using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Recipients;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.Recipients;

/// <summary>Recipient validation at RCPT TO through the real pipeline with every catalogued check.</summary>
public class RecipientValidationTests
{
    internal static ConfigSnapshot Cfg(params (string, string)[] values) => TestConfig.Create([("localDomains", "local.test|other.test"), .. values]);

    internal sealed class Session
    {
        public required DecisionPipeline Pipeline { get; init; }
        public required FakeMailContext Ctx { get; init; }
        public required MemoryStore Store { get; init; }

        public async Task<Verdict> Rcpt(string rcpt)
        {
            Ctx.RecipientList.Add(rcpt);
            var v = await Pipeline.RunAsync(SmtpPhase.RcptTo, Ctx, default);
            if (v.Refuses) Ctx.RecipientList.RemoveAt(Ctx.RecipientList.Count - 1);
            return v;
        }
    }

    internal static async Task<Session> Start(ConfigSnapshot cfg, MemoryStore? store = null, string from = "a@sender.example", IIpReputation? ip = null,
        IAddressReputation? addresses = null)
    {
        store ??= new MemoryStore();
        var services = new CheckServices(store);
        var pipeline = new DecisionPipeline(new DecisionEngine(ip ?? new FakeIpReputation(), addresses ?? new FakeAddressReputation()), null, CheckCatalog.Discover(services), services);
        var ctx = new FakeMailContext(cfg);
        await pipeline.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = from;
        await pipeline.RunAsync(SmtpPhase.MailFrom, ctx, default);
        return new Session { Pipeline = pipeline, Ctx = ctx, Store = store };
    }

    [Fact]
    public void TheChecksAreCatalogued()
    {
        var names = CheckCatalog.Discover(CheckServices.None).Select(c => c.Definition.Name).ToList();
        Assert.Contains("LocalAddresses_Flat", names);
        Assert.Contains("DoMaxDupRcpt", names);
    }

    [Fact]
    public async Task UnknownLocalUserGetsNoValidRecipientAndScores()
    {
        var s = await Start(Cfg(("LocalAddresses_Flat", "alice@local.test")));
        var v = await s.Rcpt("bob@local.test");
        Assert.Equal(VerdictKind.Block, v.Kind);
        Assert.Equal("550 5.1.1 User unknown: bob@local.test", v.Reply);
        Assert.Contains("[InvalidAddress] invalid address rejected: bob@local.test", s.Ctx.LogLines);
        Assert.Equal(10, s.Ctx.State.MessageScore);   // irValencePB
        Assert.Equal("[InvalidAddress]", s.Ctx.State.Prepend.ToString());

        Assert.False((await s.Rcpt("alice@local.test")).Refuses);
        Assert.False((await s.Rcpt("ALICE@local.test")).Refuses);
    }

    [Fact]
    public async Task ConfiguredReplyAndNoValidationWithoutLists()
    {
        var s = await Start(Cfg(("LocalAddresses_Flat", "alice@local.test"), ("NoValidRecipient", "550 5.1.1 <EMAILADDRESS> is not here")));
        Assert.Equal("550 5.1.1 <bob@local.test> is not here", (await s.Rcpt("bob@local.test")).Reply);

        // Nothing validates local addresses: every local recipient is accepted (the MTA decides).
        s = await Start(Cfg());
        Assert.False((await s.Rcpt("anyone@local.test")).Refuses);
    }

    [Theory]
    [InlineData("alice+news@local.test", "+", false)]
    [InlineData("alice-news@local.test", "-", false)]
    [InlineData("alice+news@local.test", "", true)]
    public async Task Subaddressing(string rcpt, string sepChar, bool refused)
    {
        var s = await Start(Cfg(("LocalAddresses_Flat", "alice@local.test"), ("SepChar", sepChar)));
        Assert.Equal(refused, (await s.Rcpt(rcpt)).Refuses);
    }

    [Fact]
    public async Task DomainUserAndWildcardEntries()
    {
        var s = await Start(Cfg(("LocalAddresses_Flat", "@other.test|postmaster|sales*@local.test")));
        Assert.False((await s.Rcpt("whoever@other.test")).Refuses);
        Assert.False((await s.Rcpt("postmaster@local.test")).Refuses);
        Assert.False((await s.Rcpt("sales-eu@local.test")).Refuses);
        Assert.True((await s.Rcpt("bob@local.test")).Refuses);

        // LocalAddresses_Flat_Domains: an entry without '@' is a whole domain.
        s = await Start(Cfg(("LocalAddresses_Flat", "local.test"), ("LocalAddresses_Flat_Domains", "1")));
        Assert.False((await s.Rcpt("bob@local.test")).Refuses);
        Assert.True((await s.Rcpt("bob@other.test")).Refuses);
    }

    [Fact]
    public async Task CatchAllThenCatchAllAll()
    {
        var s = await Start(Cfg(("LocalAddresses_Flat", "alice@local.test"), ("CatchAll", "catcher@local.test"), ("CatchAllAll", "all@local.test"),
            ("ValidateUserLog", "2")));
        Assert.False((await s.Rcpt("bob@local.test")).Refuses);
        Assert.Equal("catcher@local.test", s.Ctx.State.RecipientRewrite);
        Assert.Contains("invalid address bob@local.test replaced with catcher@local.test", s.Ctx.LogLines);
        s.Ctx.State.RecipientRewrite = null;
        Assert.False((await s.Rcpt("bob@other.test")).Refuses);
        Assert.Equal("all@local.test", s.Ctx.State.RecipientRewrite);
        Assert.Equal(20, s.Ctx.State.MessageScore);
    }

    [Fact]
    public async Task NullAddressesAndIspToNull()
    {
        var s = await Start(Cfg(("NullAddresses", "@trash.local.test|nobody")));
        Assert.False((await s.Rcpt("nobody@local.test")).Refuses);
        Assert.True(s.Ctx.State.NullConnection);
        Assert.Contains("connection moved to NULL-connection", s.Ctx.LogLines);

        s = await Start(Cfg(("NullAddresses", "spammer@sender.example")), from: "spammer@sender.example");
        Assert.False((await s.Rcpt("x@local.test")).Refuses);
        Assert.True(s.Ctx.State.NullConnection);

        s = await Start(Cfg(("LocalAddresses_Flat", "alice@local.test"), ("CatchallallISP2NULL", "1"), ("ispip", "203.0.113.9")));
        Assert.False((await s.Rcpt("bob@local.test")).Refuses);
        Assert.True(s.Ctx.State.NullConnection);
    }

    [Fact]
    public async Task InvalidRecipientsBecomeTraps()
    {
        var store = new MemoryStore();
        var box = new IpPenaltyBox(store);
        var cfg = Cfg(("LocalAddresses_Flat", "alice@local.test"), ("PenaltyMakeTraps", "2"), ("DoPenaltyMakeTraps", "1"));
        var s = await Start(cfg, store, ip: box);
        Assert.Equal("550 5.1.1 User unknown: bob@local.test", (await s.Rcpt("bob@local.test")).Reply);
        Assert.Equal(1, box.FindTrap(cfg, "bob@local.test").Count);
        await s.Rcpt("bob@local.test");
        Assert.True(box.FindTrap(cfg, "bob@local.test").ActsAsTrap);
        // Now a trap: refused by the trap check with PenaltyTrapPolite and stValencePB.
        var v = await s.Rcpt("bob@local.test");
        Assert.Contains(s.Ctx.LogLines, l => l.Contains("penalty trap address: bob@local.test"));
        Assert.Equal("550 5.1.1 User unknown: bob@local.test", v.Reply);
    }

    [Fact]
    public void TemporaryReplyDropsTheCodes()
    {
        Assert.Equal("450 User unknown: a@b", RecipientValidationCheck.TemporaryReply("550 5.1.1 User unknown: a@b"));
        Assert.Equal("450 no such user", RecipientValidationCheck.TemporaryReply("550 no such user"));
    }

    [Fact]
    public async Task LdapDownFollowsLdapFail()
    {
        // A port where nothing listens: the lookup fails.
        var down = new[] { ("DoLDAP", "1"), ("LDAPHost", "127.0.0.1:1"), ("LDAPRoot", SlapdServer.Suffix), ("LDAPFilter", "(mail=EMAILADDRESS)"), ("LDAPtimeout", "2") };
        var s = await Start(Cfg(down));
        Assert.False((await s.Rcpt("bob@local.test")).Refuses);

        s = await Start(Cfg([.. down, ("LDAPFail", "1")]));
        var v = await s.Rcpt("bob@local.test");
        Assert.Equal(VerdictKind.TempFail, v.Kind);
        Assert.Equal("450 User unknown: bob@local.test", v.Reply);
        Assert.Equal(0, s.Ctx.State.MessageScore);
    }

    [Theory]
    [InlineData("0", null)]
    [InlineData("1", "LDAP: bob@local.test could not be checked - accepted")]
    [InlineData("2", "LDAP: bob@local.test could not be checked - accepted - lookup failed: ")]
    public async Task LdapLogSaysWhatTheDirectoryAnswered(string level, string? expected)
    {
        var down = new[] { ("DoLDAP", "1"), ("LDAPHost", "127.0.0.1:1"), ("LDAPRoot", SlapdServer.Suffix), ("LDAPFilter", "(mail=EMAILADDRESS)"), ("LDAPtimeout", "2"), ("LDAPLog", level) };
        var s = await Start(Cfg(down));
        Assert.False((await s.Rcpt("bob@local.test")).Refuses);
        var lines = s.Ctx.LogLines.Where(l => l.StartsWith("LDAP:", StringComparison.Ordinal)).ToList();
        if (expected is null) Assert.Empty(lines);
        else Assert.StartsWith(expected, Assert.Single(lines));
        if (level == "1") Assert.DoesNotContain("lookup failed", lines[0]);
    }

    [Theory]
    [InlineData(CheckMode.Block)]
    [InlineData(CheckMode.Monitor)]
    [InlineData(CheckMode.Score)]
    public async Task DuplicateRecipients(CheckMode mode)
    {
        var s = await Start(Cfg(("DoMaxDupRcpt", ((int)mode).ToString()), ("MaxDupRcpt", "1")));
        Assert.False((await s.Rcpt("a@local.test")).Refuses);
        Assert.False((await s.Rcpt("a@local.test")).Refuses);   // one duplicate: allowed
        var v = await s.Rcpt("a@local.test");                   // two: over the limit
        Assert.Equal(mode == CheckMode.Block, v.Refuses);
        Assert.Equal(mode == CheckMode.Monitor ? 0 : 10, s.Ctx.State.MessageScore);
        Assert.Contains(s.Ctx.State.Reports, r => r.Check == "DoMaxDupRcpt" && r.Outcome == (mode switch
        {
            CheckMode.Block => "block", CheckMode.Monitor => "monitor", _ => "score",
        }));
    }

    [Fact]
    public async Task DuplicateRecipientsTestMode()
    {
        var s = await Start(Cfg(("DoMaxDupRcpt", "1"), ("MaxDupRcpt", "1"), ("allTestMode", "1")));
        for (int i = 0; i < 3; i++) Assert.False((await s.Rcpt("a@local.test")).Refuses);
        Assert.Contains("X-Assp-Block: NO (all in testmode)", s.Ctx.State.Headers);
    }

    [Fact]
    public async Task RejectTheseLocalAddressesRefusesWithoutScoring()
    {
        var s = await Start(Cfg(("RejectTheseLocalAddresses", "left@local.test")));
        var v = await s.Rcpt("left@local.test");
        Assert.Equal("550 5.1.1 User unknown: left@local.test", v.Reply);
        Assert.Contains("[BounceAddress] rejected by bounce address list: left@local.test", s.Ctx.LogLines);
        Assert.Equal(0, s.Ctx.State.MessageScore);
    }

    [Fact]
    public async Task InternalAddressesTakeMailOnlyFromLocalOrWhitelistedSenders()
    {
        var cfg = Cfg(("InternalAddresses", "staff@local.test"), ("InternalAndWhiteAddresses", "team@local.test"));
        var addresses = new FakeAddressReputation();
        var ipRep = new FakeIpReputation();
        var s = await Start(cfg, addresses: addresses, ip: ipRep);
        ipRep.White.Add(s.Ctx.RemoteAddress.ToString());
        var v = await s.Rcpt("staff@local.test");
        Assert.Equal("530 Relaying not allowed", v.Reply);
        Assert.True(v.Close);   // ASSP ends the connection after the refusal
        Assert.Empty(ipRep.White);   // and the IP leaves the WhiteBox
        Assert.Equal(25, s.Ctx.State.MessageScore);   // iaValencePB
        Assert.Contains("[InternalAddress] invalid remote sender for internal address: staff@local.test", s.Ctx.LogLines);
        Assert.True((await s.Rcpt("team@local.test")).Refuses);

        addresses.Whitelist.Add("a@sender.example");
        s = await Start(cfg, addresses: addresses);
        Assert.True((await s.Rcpt("staff@local.test")).Refuses);
        Assert.False((await s.Rcpt("team@local.test")).Refuses);

        s = await Start(cfg, from: "boss@local.test");
        Assert.False((await s.Rcpt("staff@local.test")).Refuses);
    }

    [Fact]
    public async Task AnInternalAddressRefusalEndsTheGreylistSafelistingOfTheSender()
    {
        var cfg = Cfg(("InternalAddresses", "staff@local.test"), ("EnableDelaying", "1"), ("DelayExpireOnSpam", "1"));
        var clock = new Assp.Checks.Tests.PenaltyBox.ManualClock(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var store = new MemoryStore(clock);
        var greylist = new Assp.Checks.Delaying.Greylist(store);
        var services = new CheckServices(store);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation(), null, greylist), null,
            CheckCatalog.Discover(services), services);
        var ctx = new FakeMailContext(cfg);
        greylist.Check(cfg, ctx.RemoteAddress, "a@sender.example", "user@local.test");
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(Assp.Checks.Delaying.DelayOutcome.Accepted, greylist.Check(cfg, ctx.RemoteAddress, "a@sender.example", "user@local.test").Outcome);

        await pipeline.RunAsync(SmtpPhase.Connect, ctx, default);
        ctx.MailFrom = "a@sender.example";
        await pipeline.RunAsync(SmtpPhase.MailFrom, ctx, default);
        ctx.RecipientList.Add("staff@local.test");
        var v = await pipeline.RunAsync(SmtpPhase.RcptTo, ctx, default);
        Assert.True(v.Close);
        Assert.False(greylist.ExpireTuple(cfg, ctx.RemoteAddress, "a@sender.example"));   // already gone
    }

    [Fact]
    public async Task PostmasterAndAbuseCatchAlls()
    {
        var s = await Start(Cfg(("LocalAddresses_Flat", "alice@local.test"), ("sendAllPostmaster", "admin@local.test"), ("sendAllPostmasterNP", "1"),
            ("sendAllAbuse", "abuse-desk@other.test")));
        Assert.False((await s.Rcpt("postmaster@other.test")).Refuses);
        Assert.Equal("admin@local.test", s.Ctx.State.RecipientRewrite);
        Assert.Equal("sendAllPostmasterNP", s.Ctx.State.NoProcessing);
        s.Ctx.State.RecipientRewrite = null;
        Assert.False((await s.Rcpt("abuse@local.test")).Refuses);
        Assert.Equal("abuse-desk@other.test", s.Ctx.State.RecipientRewrite);
    }

    [Theory]
    [InlineData("1", "sendAllAbuseNP")]
    [InlineData("0", null)]
    public async Task AbuseCatchAllSkipsTheChecksWithItsNpSwitch(string np, string? noProcessing)
    {
        var s = await Start(Cfg(("LocalAddresses_Flat", "alice@local.test"), ("sendAllAbuse", "abuse-desk@other.test"), ("sendAllAbuseNP", np)));
        Assert.False((await s.Rcpt("abuse@local.test")).Refuses);
        Assert.Equal("abuse-desk@other.test", s.Ctx.State.RecipientRewrite);
        Assert.Equal(noProcessing, s.Ctx.State.NoProcessing);
    }

    [Fact]
    public void VrfyRoutesFromLocalDomainsAndLocalAddressesFlat()
    {
        var cfg = Cfg(("localDomains", "a.test=>SSL:mx.a.test|*.b.test=>10.0.0.1:2525,10.0.0.2|c.test"),
            ("LocalAddresses_Flat", "@a.test=>ignored.test:25|@c.test=>mx.c.test|ALL=>[::1]:26|bob@d.test"), ("VRFYforceRCPTTO", "10.0.0.2"));
        var lists = LocalAddressLists.For(cfg);
        Assert.Equal([new VrfyHost("mx.a.test", 465, true)], lists.VrfyHostsFor("a.test"));     // localDomains wins
        Assert.Equal([new VrfyHost("10.0.0.1", 2525, false), new VrfyHost("10.0.0.2", 25, false)], lists.VrfyHostsFor("x.b.test"));
        Assert.Equal([new VrfyHost("mx.c.test", 25, false)], lists.VrfyHostsFor("c.test"));
        Assert.Equal([new VrfyHost("::1", 26, false)], lists.VrfyHostsFor("e.test"));          // ALL=>
        Assert.True(lists.ForcesRcptTo(new VrfyHost("10.0.0.2", 25, false)));
        Assert.False(lists.ForcesRcptTo(new VrfyHost("10.0.0.1", 2525, false)));
        Assert.Equal(1, lists.Flat.Count);                                                      // only bob@d.test is a flat entry
        Assert.Null(VrfyHost.Parse("host:notaport"));
    }
}
