using Assp.Checks.Decision;
using Assp.Checks.Recipients;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.Recipients;

/// <summary>One private slapd for the LDAP tests of this class.</summary>
public sealed class SlapdFixture : IDisposable
{
    public SlapdServer Server { get; } = new([("alice", "alice@local.test"), ("carol", "carol@other.test"), ("star", "st*r@local.test")]);
    public void Dispose() => Server.Dispose();
}

/// <summary>DoLDAP against a real slapd: found, not found, the ldaplistdb cache, failover, and a directory that is down.</summary>
public class LdapValidationTests(SlapdFixture fixture) : IClassFixture<SlapdFixture>
{
    private (string, string)[] Ldap(string? host = null) =>
    [
        ("DoLDAP", "1"), ("LDAPHost", host ?? fixture.Server.Host), ("LDAPRoot", SlapdServer.Suffix), ("LDAPFilter", "(&(objectClass=inetOrgPerson)(mail=EMAILADDRESS))"),
        ("LDAPLogin", SlapdServer.AdminDn), ("LDAPPassword", SlapdServer.AdminPassword), ("LDAPtimeout", "3"),
    ];

    private static ConfigSnapshot Cfg(params (string, string)[] values) => RecipientValidationTests.Cfg(values);

    [Fact]
    public async Task KnownUserIsAcceptedAndCachedUnknownIsRefused()
    {
        var store = new MemoryStore();
        var s = await RecipientValidationTests.Start(Cfg(Ldap()), store);
        Assert.False((await s.Rcpt("alice@local.test")).Refuses);
        Assert.True(store.Table(StoreTables.LdapList).TryGetValue("alice@local.test", out var value));
        Assert.Matches(@"^\d+ 1$", value);

        var v = await s.Rcpt("bob@local.test");
        Assert.Equal("550 5.1.1 User unknown: bob@local.test", v.Reply);
        Assert.False(store.Table(StoreTables.LdapList).ContainsKey("bob@local.test"));

        // A filter value with LDAP specials is escaped: "st*r" matches only itself, not as a wildcard.
        Assert.False((await s.Rcpt("st*r@local.test")).Refuses);
        Assert.True((await s.Rcpt("stXr@local.test")).Refuses);
    }

    [Fact]
    public async Task NoCacheWhenLdaplistdbIsEmpty()
    {
        var store = new MemoryStore();
        var s = await RecipientValidationTests.Start(Cfg([.. Ldap(), ("ldaplistdb", "")]), store);
        Assert.False((await s.Rcpt("alice@local.test")).Refuses);
        Assert.Equal(0, store.Table(StoreTables.LdapList).Count);
    }

    [Fact]
    public async Task FailoverToTheSecondHostAndAnonymousBind()
    {
        var s = await RecipientValidationTests.Start(Cfg([.. Ldap("127.0.0.1:1|" + fixture.Server.Host), ("LDAPLogin", ""), ("LDAPPassword", "")]));
        Assert.False((await s.Rcpt("carol@other.test")).Refuses);
        Assert.True((await s.Rcpt("dave@other.test")).Refuses);
    }

    [Fact]
    public async Task DomainPlaceholderInTheRoot()
    {
        // A root built from DOMAIN that does not exist means nobody is there.
        var s = await RecipientValidationTests.Start(Cfg([.. Ldap(), ("LDAPRoot", "ou=DOMAIN," + SlapdServer.Suffix)]));
        Assert.True((await s.Rcpt("alice@local.test")).Refuses);
    }

    [Fact]
    public async Task DoNoValidLocalSenderAsksTheDirectoryToo()
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new Assp.Checks.Tests.Decision.FakeIpReputation(), new Assp.Checks.Tests.Decision.FakeAddressReputation()),
            null, CheckCatalog.Discover(new CheckServices(new MemoryStore())));
        const string msg = "From: x@local.test\nMessage-ID: <1.2@local.test>\nSubject: s\n\nb\n";
        var cfg = Cfg([.. Ldap(), ("DoNoSpoofing", "0")]);
        var ctx = new Assp.Checks.Tests.Decision.FakeMailContext(cfg);
        // ForceNoValidLocalSender (on by default) asks the directory already at MAIL FROM ...
        var (verdict, phase) = await Assp.Checks.Tests.Decision.Transaction.RunAsync(pipeline, ctx, "mallory@local.test", ["alice@local.test"], msg);
        Assert.Equal("mail", phase);
        Assert.Equal("554 5.7.1 Unknown Sender in Local Domain .", verdict.Reply);

        // ... and without forcing, DoNoValidLocalSender does after the header.
        ctx = new Assp.Checks.Tests.Decision.FakeMailContext(Cfg([.. Ldap(), ("DoNoSpoofing", "0"), ("ForceNoValidLocalSender", "0")]));
        (verdict, phase) = await Assp.Checks.Tests.Decision.Transaction.RunAsync(pipeline, ctx, "mallory@local.test", ["alice@local.test"], msg);
        Assert.Equal("DataHeader", phase);
        Assert.Equal("554 5.7.1 Unknown Local Sender .", verdict.Reply);

        ctx = new Assp.Checks.Tests.Decision.FakeMailContext(cfg);
        (verdict, _) = await Assp.Checks.Tests.Decision.Transaction.RunAsync(pipeline, ctx, "alice@local.test", ["alice@local.test"], msg);
        Assert.False(verdict.Refuses);
    }

    private (string, string)[] DomainLdap() =>
        [.. Ldap(), ("localDomains", "local.test"), ("ldLDAP", "1"), ("ldLDAPFilter", "(&(objectClass=inetOrgPerson)(mail=*@DOMAIN))")];

    [Fact]
    public async Task LdLdapMakesDirectoryDomainsLocalAndCachesThem()
    {
        var store = new MemoryStore();
        var clock = new Assp.Checks.Tests.PenaltyBox.ManualClock(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var lookup = new LdapDomainLookup(new LdapListCache(store.Table(StoreTables.LdapList), clock), clock);
        var cfg = Cfg(DomainLdap());
        Assert.True(await lookup.IsLocalAsync(cfg, "local.test", default));          // localDomains, no lookup
        Assert.False(store.Table(StoreTables.LdapList).ContainsKey("@local.test"));
        Assert.True(await lookup.IsLocalAsync(cfg, "Other.Test", default));          // only the directory knows it
        Assert.True(store.Table(StoreTables.LdapList).ContainsKey("@other.test"));
        Assert.False(await lookup.IsLocalAsync(cfg, "nowhere.test", default));

        // ldLDAP off: the cached domain still counts (ASSP asks the cache first), an uncached one does not.
        var off = Cfg([.. DomainLdap(), ("ldLDAP", "0")]);
        Assert.True(await lookup.IsLocalAsync(off, "other.test", default));
        Assert.False(await new LdapDomainLookup(null, clock).IsLocalAsync(off, "other.test", default));

        // ldLDAPRoot replaces LDAPRoot; DOMAIN in it builds a container that does not exist here.
        var fresh = new LdapDomainLookup(null, clock);
        Assert.False(await fresh.IsLocalAsync(Cfg([.. DomainLdap(), ("ldLDAPRoot", "ou=DOMAIN," + SlapdServer.Suffix)]), "other.test", default));
        Assert.True(await new LdapDomainLookup(null, clock).IsLocalAsync(Cfg([.. DomainLdap(), ("LDAPRoot", "ou=none"), ("ldLDAPRoot", SlapdServer.Suffix)]), "other.test", default));
    }

    [Fact]
    public async Task LdLdapDeniedDomainIsRememberedForFiveMinutes()
    {
        var clock = new Assp.Checks.Tests.PenaltyBox.ManualClock(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var lookup = new LdapDomainLookup(null, clock);
        // The first answer (not found) is remembered: a filter that would now find it is not asked.
        Assert.False(await lookup.IsLocalAsync(Cfg([.. DomainLdap(), ("ldLDAPFilter", "(mail=*@nobody.test)")]), "other.test", default));
        Assert.False(await lookup.IsLocalAsync(Cfg(DomainLdap()), "other.test", default));
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.True(await lookup.IsLocalAsync(Cfg(DomainLdap()), "other.test", default));
    }

    [Fact]
    public async Task LdLdapWithDirectoryDownNeverMakesADomainLocal()
    {
        // Never an open relay: with LDAP down an unknown domain is not local, whatever LDAPFail says.
        var clock = TimeProvider.System;
        Assert.False(await new LdapDomainLookup(null, clock).IsLocalAsync(Cfg([.. DomainLdap(), ("LDAPHost", "127.0.0.1:1")]), "other.test", default));
        Assert.False(await new LdapDomainLookup(null, clock).IsLocalAsync(Cfg([.. DomainLdap(), ("LDAPHost", "127.0.0.1:1"), ("LDAPFail", "1")]), "other.test", default));
    }

    [Fact]
    public async Task RecipientsOfAnLdLdapDomainAreRelayedAndValidated()
    {
        var s = await RecipientValidationTests.Start(Cfg(DomainLdap()));
        Assert.True(await s.Pipeline.IsLocalDomainAsync(s.Ctx.Config, "other.test", default));
        Assert.False(await s.Pipeline.IsLocalDomainAsync(s.Ctx.Config, "nowhere.test", default));
        Assert.False((await s.Rcpt("carol@other.test")).Refuses);
        Assert.Equal("550 5.1.1 User unknown: dave@other.test", (await s.Rcpt("dave@other.test")).Reply);
    }

    [Fact]
    public async Task CrossCheckKeepsDirectoryDomainsAndDropsVanishedOnes()
    {
        var store = new MemoryStore();
        var cache = new LdapListCache(store.Table(StoreTables.LdapList), TimeProvider.System);
        var validator = new LocalAddressValidator(cache);
        cache.Add("@other.test");
        cache.Add("@vanished.test");
        cache.Add("carol@other.test");
        var (_, removed, kept) = await validator.CrossCheckAsync(Cfg(DomainLdap()), default);
        Assert.Equal((1, 2), (removed, kept));
        Assert.False(cache.Table.ContainsKey("@vanished.test"));
        Assert.True(cache.Table.ContainsKey("carol@other.test"));
    }

    [Fact]
    public async Task WrongPasswordIsAFailedLookup()
    {
        var s = await RecipientValidationTests.Start(Cfg([.. Ldap(), ("LDAPPassword", "wrong"), ("LDAPFail", "1")]));
        Assert.Equal(VerdictKind.TempFail, (await s.Rcpt("alice@local.test")).Kind);
    }
}

/// <summary>The cache outlives the directory: with slapd stopped, a cached address is still accepted (no lookup).</summary>
public class LdapCacheWithDirectoryDownTests
{
    [Fact]
    public async Task CachedAddressNeedsNoLookupAndDownDirectoryFollowsLdapFail()
    {
        using var slapd = new SlapdServer([("alice", "alice@local.test")]);
        (string, string)[] ldap =
        [
            ("DoLDAP", "1"), ("LDAPHost", slapd.Host), ("LDAPRoot", SlapdServer.Suffix), ("LDAPFilter", "(mail=EMAILADDRESS)"), ("LDAPtimeout", "2"),
            ("LDAPFail", "1"),
        ];
        var store = new MemoryStore();
        var cfg = RecipientValidationTests.Cfg(ldap);
        var s = await RecipientValidationTests.Start(cfg, store);
        Assert.False((await s.Rcpt("alice@local.test")).Refuses);

        slapd.Stop();
        s = await RecipientValidationTests.Start(cfg, store);
        Assert.False((await s.Rcpt("alice@local.test")).Refuses);               // from ldaplistdb
        var v = await s.Rcpt("bob@local.test");                                  // needs LDAP, which is down
        Assert.Equal(VerdictKind.TempFail, v.Kind);
        Assert.Equal("450 User unknown: bob@local.test", v.Reply);

        // LDAPFail off: while the directory is down, unknown addresses pass to the MTA.
        s = await RecipientValidationTests.Start(RecipientValidationTests.Cfg([.. ldap, ("LDAPFail", "0")]), store);
        Assert.False((await s.Rcpt("bob@local.test")).Refuses);
    }

    [Fact]
    public async Task CrossCheckRemovesWhatTheDirectoryNoLongerKnowsAndExpiredEntries()
    {
        using var slapd = new SlapdServer([("alice", "alice@local.test")]);
        var cfg = RecipientValidationTests.Cfg(("DoLDAP", "1"), ("LDAPHost", slapd.Host), ("LDAPRoot", SlapdServer.Suffix), ("LDAPFilter", "(mail=EMAILADDRESS)"),
            ("MaxLDAPlistDays", "30"));
        var clock = new Assp.Checks.Tests.PenaltyBox.ManualClock(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var store = new MemoryStore(clock);
        var cache = new LdapListCache(store.Table(StoreTables.LdapList), clock);
        var validator = new LocalAddressValidator(cache);
        cache.Add("alice@local.test");
        cache.Add("gone@local.test");              // the directory no longer has it
        cache.Add("x@not-local-anymore.test");     // its domain is no longer local
        clock.Advance(TimeSpan.FromDays(10));
        cache.Add("fresh@local.test");
        var (expired, removed, kept) = await validator.CrossCheckAsync(cfg, default);
        Assert.Equal((0, 3, 1), (expired, removed, kept));
        Assert.True(cache.Table.ContainsKey("alice@local.test"));

        clock.Advance(TimeSpan.FromDays(31));
        (expired, _, _) = await validator.CrossCheckAsync(cfg, default);
        Assert.Equal(1, expired);
        Assert.Equal(0, cache.Table.Count);
    }
}
