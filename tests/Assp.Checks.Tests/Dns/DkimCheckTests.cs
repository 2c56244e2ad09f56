using System.Security.Cryptography;
using System.Text;
using Assp.Auth.Arc;
using Assp.Auth.Dkim;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Decision;
using Assp.Dns;

namespace Assp.Checks.Tests.Dns;

/// <summary>DoDKIM and DoARC in the pipeline, against DKIM keys served by a real nsd.</summary>
public sealed class DkimCheckTests : IDisposable
{
    private static readonly DkimSigningKey RsaKey = DkimSigningKey.FromRsa(RSA.Create(2048));
    private static readonly DkimSigningKey EdKey = DkimSigningKey.FromEd25519Seed(RandomNumberGenerator.GetBytes(32));
    private static readonly DkimSigningKey ForwarderKey = DkimSigningKey.FromEd25519Seed(RandomNumberGenerator.GetBytes(32));

    private readonly NsdServer _nsd;
    private readonly CheckServices _services;

    public DkimCheckTests()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["signer.test"] = NsdServer.Zone("signer.test", string.Join("\n",
                Txt("rsa._domainkey", RsaKey.KeyRecord),
                Txt("ed._domainkey", EdKey.KeyRecord),
                Txt("testing._domainkey", EdKey.KeyRecord + "; t=y"),
                "_dmarc IN TXT \"v=DMARC1; p=reject\"")),
            ["forwarder.test"] = NsdServer.Zone("forwarder.test", Txt("arc._domainkey", ForwarderKey.KeyRecord)),
            ["nokeys.test"] = NsdServer.Zone("nokeys.test", "@ IN A 192.0.2.1"),
            ["wild.test"] = NsdServer.Zone("wild.test", "* IN TXT \"v=spf1 -all\"\n* IN A 192.0.2.1"),
            ["wildkeys.test"] = NsdServer.Zone("wildkeys.test", "* IN TXT \"v=spf1 -all\"\n" + Txt("sel._domainkey", EdKey.KeyRecord)),
        });
        _services = new CheckServices(Dns: new DnsListChecks(new DnsResolver(new DnsResolverOptions
        {
            Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
        })));
    }

    public void Dispose() => _nsd.Dispose();

    /// <summary>A TXT line with the record cut into character-strings of at most 200 bytes (DNS allows 255 each).</summary>
    private static string Txt(string name, string record) =>
        $"{name} IN TXT " + string.Join(' ', record.Chunk(200).Select(c => "\"" + new string(c) + "\""));

    private const string Plain =
        "From: Alice <alice@signer.test>\r\nTo: bob@local.test\r\nSubject: quarterly numbers\r\nMessage-ID: <1@signer.test>\r\n" +
        "Date: Fri, 11 Jul 2025 21:00:37 +0000\r\n\r\nHello Bob,\r\nthe numbers are attached.\r\n";

    private static string Sign(string message, DkimSigningKey key, string selector) =>
        DkimSigner.Sign(DkimMessage.Parse(Encoding.ASCII.GetBytes(message)), new DkimSigningOptions { Domain = "signer.test", Selector = selector, Key = key })
        + message;

    private async Task<(Verdict Verdict, FakeMailContext Ctx)> Send(string message, string ip = "203.0.113.9", params (string, string)[] cfg) =>
        await Send(_services, message, ip, cfg);

    private Task<(Verdict Verdict, FakeMailContext Ctx)> Send(CheckServices services, string message, string ip = "203.0.113.9", params (string, string)[] cfg) =>
        SendFrom(services, "alice@signer.test", message, ip, cfg);

    private async Task<(Verdict Verdict, FakeMailContext Ctx)> SendFrom(CheckServices services, string sender, string message, string ip = "203.0.113.9",
        params (string, string)[] cfg)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), services.Dns,
            [new ArcCheck(services), new DkimCheck(services)], services);
        var ctx = new FakeMailContext(TestConfig.Create([("myName", "assp.local.test"), .. cfg]), ip);
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, sender, ["bob@local.test"], message);
        return (verdict, ctx);
    }

    private static string? Header(FakeMailContext ctx, string name) =>
        ctx.State.Headers.FirstOrDefault(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));

    [Fact]
    public async Task Valid_signatures_pass_with_the_bonus_and_the_headers()
    {
        foreach (var (key, selector) in new[] { (RsaKey, "rsa"), (EdKey, "ed") })
        {
            var (verdict, ctx) = await Send(Sign(Plain, key, selector), cfg: ("dkimOkValencePB", "-7"));
            Assert.False(verdict.Refuses);
            Assert.Equal(-7, ctx.State.MessageScore);
            Assert.Equal("X-Assp-DKIM: verified-OK", Header(ctx, "X-Assp-DKIM"));
            Assert.Equal("X-Original-Authentication-Results: assp.local.test; dkim=pass", Header(ctx, "X-Original-Authentication-Results"));
            Assert.Equal(["signer.test"], ctx.State.Dkim!.PassingDomains);
            Assert.True(ctx.State.RwlOk);
        }
        var (_, noHeader) = await Send(Sign(Plain, EdKey, "ed"), cfg: ("AddDKIMHeader", "0"));
        Assert.Null(Header(noHeader, "X-Assp-DKIM"));
    }

    [Fact]
    public async Task A_changed_header_fails_scoring_by_default_refusing_in_block_mode_and_only_logging_in_monitor_mode()
    {
        var forged = Sign(Plain, RsaKey, "rsa").Replace("quarterly numbers", "quarterly numbers - urgent");
        var (verdict, ctx) = await Send(forged);
        Assert.False(verdict.Refuses);
        Assert.Equal(15, ctx.State.MessageScore);                 // dkimValencePB
        Assert.Equal("X-Assp-DKIM: failed", Header(ctx, "X-Assp-DKIM"));
        Assert.Contains("dkim=fail", Header(ctx, "X-Original-Authentication-Results"));
        (verdict, _) = await Send(forged, cfg: ("DoDKIM", "1"));
        Assert.Equal("554 5.7.1 DKIM fail .", verdict.Reply);    // SenderInvalidError with REASON
        (verdict, ctx) = await Send(forged, cfg: ("DoDKIM", "2"));
        Assert.False(verdict.Refuses);
        Assert.Equal(0, ctx.State.MessageScore);
        (verdict, ctx) = await Send(forged, cfg: ("DoDKIM", "0"));
        Assert.Null(ctx.State.Dkim);
    }

    [Fact]
    public async Task An_altered_body_passes_as_suspicious_unless_DoStrictDKIM()
    {
        var altered = Sign(Plain, EdKey, "ed") + "-- \r\nAdded by a list\r\n";
        var (_, ctx) = await Send(altered);
        Assert.Equal("X-Assp-DKIM: body altered - header passed - suspicious-OK", Header(ctx, "X-Assp-DKIM"));
        Assert.Equal(0, ctx.State.MessageScore);
        var (verdict, strict) = await Send(altered, cfg: [("DoStrictDKIM", "1"), ("DoDKIM", "1")]);
        Assert.True(verdict.Refuses);
        Assert.Equal("X-Assp-DKIM: failed", Header(strict, "X-Assp-DKIM"));
    }

    [Fact]
    public async Task Testing_keys_missing_signatures_and_exempt_senders_are_not_scored()
    {
        var (_, testing) = await Send(Sign(Plain, EdKey, "testing").Replace("Hello Bob", "Hello Eve"));
        Assert.Equal(0, testing.State.MessageScore);
        Assert.True(testing.State.Dkim!.Signatures[0].Testing);
        var (_, none) = await Send(Plain);
        Assert.Equal("X-Assp-DKIM: no-signature", Header(none, "X-Assp-DKIM"));
        Assert.Equal(DkimStatus.None, none.State.Dkim!.Overall);
        var (_, missingKey) = await Send(Sign(Plain, EdKey, "nokey"));
        Assert.Equal("X-Assp-DKIM: invalid-signature", Header(missingKey, "X-Assp-DKIM"));
        Assert.Equal(0, missingKey.State.MessageScore);

        var forged = Sign(Plain, RsaKey, "rsa").Replace("Hello Bob", "Hello Eve");
        var (_, byIp) = await Send(forged, "198.51.100.7", ("noDKIMIP", "198.51.100.0/24"));
        Assert.Null(byIp.State.Dkim);
        var (_, byAddress) = await Send(forged, cfg: ("noDKIMAddresses", "@signer.test"));
        Assert.Null(byAddress.State.Dkim);
        var (_, byRecipient) = await Send(forged, cfg: ("noDKIMAddresses", "bob@local.test"));
        Assert.Null(byRecipient.State.Dkim);
    }

    [Fact]
    public async Task Signature_identity_can_whitelist_or_noprocess()
    {
        var (_, wl) = await Send(Sign(Plain, EdKey, "ed"), cfg: ("DKIMWLAddresses", "signer.test"));
        Assert.Equal("DKIMWLAddresses 'signer.test'", wl.State.Whitelisted);
        var (_, np) = await Send(Sign(Plain, EdKey, "ed"), cfg: ("DKIMNPAddresses", "other.test|signer.test"));
        Assert.Equal("DKIMNPAddresses 'signer.test'", np.State.NoProcessing);
        var (_, neither) = await Send(Sign(Plain, EdKey, "ed").Replace("Hello Bob", "Hi Bob"), cfg: [("DKIMWLAddresses", "signer.test"), ("DoStrictDKIM", "1")]);
        Assert.Null(neither.State.Whitelisted);
    }

    [Fact]
    public async Task Arc_chain_of_a_trusted_forwarder_vouches_for_a_signature_broken_in_forwarding()
    {
        // The list server received a valid signature, added a footer (breaking it) and sealed what it saw.
        var listed = Sign(Plain, EdKey, "ed").Replace("Subject: quarterly numbers", "Subject: [team] quarterly numbers");
        var msg = DkimMessage.Parse(Encoding.ASCII.GetBytes(listed));
        var set = ArcSigner.Sign(msg, ArcResult.NoChain, new ArcSigningOptions
        {
            Domain = "forwarder.test",
            Selector = "arc",
            Key = ForwarderKey,
            AuthenticationResults = "lists.forwarder.test; dkim=pass header.d=signer.test; spf=pass",
        })!;
        var sealedMessage = string.Concat(set) + listed;

        var (_, untrusted) = await Send(sealedMessage, cfg: ("DoARC", "1"));
        Assert.Equal(ArcChainStatus.Pass, untrusted.State.Arc!.Status);
        Assert.Equal("X-Assp-DKIM: failed", Header(untrusted, "X-Assp-DKIM"));
        Assert.Contains("arc=pass", Header(untrusted, "X-Original-Authentication-Results"));
        Assert.Equal(15, untrusted.State.MessageScore);

        var (_, trusted) = await Send(sealedMessage, cfg: [("DoARC", "1"), ("trustedAuthForwarders", "forwarder\\.test$")]);
        Assert.Equal("X-Assp-DKIM: trusted ARC result of forwarder.test", Header(trusted, "X-Assp-DKIM"));
        Assert.Equal(0, trusted.State.MessageScore);

        var (_, arcOff) = await Send(sealedMessage, cfg: ("trustedAuthForwarders", "forwarder\\.test$"));
        Assert.Null(arcOff.State.Arc);
        Assert.Equal(15, arcOff.State.MessageScore);

        var (_, broken) = await Send(sealedMessage.Replace("Hello Bob", "Hello Eve"), cfg: [("DoARC", "1"), ("trustedAuthForwarders", "forwarder\\.test$")]);
        Assert.Equal(ArcChainStatus.Fail, broken.State.Arc!.Status);
        Assert.Equal(15, broken.State.MessageScore);
    }

    [Fact]
    public async Task Dmarc_failure_is_overridden_only_by_a_trusted_arc_chain_that_recorded_dmarc_pass()
    {
        // A list server changed the subject (breaking the signature, so DMARC fails) and sealed what it saw.
        var listed = Sign(Plain, EdKey, "ed").Replace("Subject: quarterly numbers", "Subject: [team] quarterly numbers");
        string Seal(string results) => string.Concat(ArcSigner.Sign(DkimMessage.Parse(Encoding.ASCII.GetBytes(listed)), ArcResult.NoChain,
            new ArcSigningOptions { Domain = "forwarder.test", Selector = "arc", Key = ForwarderKey, AuthenticationResults = results })!) + listed;
        var vouched = Seal("lists.forwarder.test; dkim=pass header.d=signer.test; dmarc=pass header.from=signer.test");
        var notVouched = Seal("lists.forwarder.test; dkim=pass header.d=signer.test");
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), _services.Dns,
            [new ArcCheck(_services), new DkimCheck(_services), new DmarcCheck(_services)], _services);
        async Task<FakeMailContext> Run(string message, params (string, string)[] cfg)
        {
            var ctx = new FakeMailContext(TestConfig.Create([("myName", "assp.local.test"), ("DoDMARC", "1"), ("DoARC", "1"), .. cfg]), "203.0.113.9");
            await Transaction.RunAsync(pipeline, ctx, "alice@signer.test", ["bob@local.test"], message);
            return ctx;
        }

        var untrusted = await Run(vouched);
        Assert.Contains(untrusted.LogLines, l => l.Contains("DMARC failed for signer.test", StringComparison.Ordinal));
        var trusted = await Run(vouched, ("trustedAuthForwarders", "forwarder\\.test$"));
        Assert.Contains(trusted.LogLines, l => l.Contains("DMARC: fail for signer.test overridden", StringComparison.Ordinal));
        Assert.DoesNotContain(trusted.LogLines, l => l.Contains("DMARC failed", StringComparison.Ordinal));
        var noDmarcResult = await Run(notVouched, ("trustedAuthForwarders", "forwarder\\.test$"));
        Assert.Contains(noDmarcResult.LogLines, l => l.Contains("DMARC failed for signer.test", StringComparison.Ordinal));
    }

    private static string SignDomainKeys(string message) =>
        DomainKeysSigner.Sign(DkimMessage.Parse(Encoding.ASCII.GetBytes(message)),
            new DomainKeysSigningOptions { Domain = "signer.test", Selector = "rsa", Key = RsaKey.Rsa! }) + message;

    [Fact]
    public async Task A_DomainKeys_signature_is_judged_like_DKIM_but_never_counts_for_DMARC()
    {
        // Key served by nsd; the DomainKeys-only mail passes the check as ASSP's Mail::DKIM would pass it.
        var (verdict, ctx) = await Send(SignDomainKeys(Plain), cfg: ("dkimOkValencePB", "-7"));
        Assert.False(verdict.Refuses);
        Assert.Equal(-7, ctx.State.MessageScore);
        Assert.Equal("X-Assp-DKIM: verified-OK", Header(ctx, "X-Assp-DKIM"));
        Assert.Equal("X-Original-Authentication-Results: assp.local.test; dkim=none domainkeys=pass", Header(ctx, "X-Original-Authentication-Results"));
        Assert.Contains(ctx.LogLines, l => l.Contains("DomainKeys signature verified-OK - d=signer.test s=rsa i=alice@signer.test", StringComparison.Ordinal));
        Assert.Empty(ctx.State.Dkim!.PassingDomains);
        Assert.Empty(ctx.State.DkimResults!);

        var forged = SignDomainKeys(Plain).Replace("the numbers are attached", "the numbers are in the link");
        (verdict, ctx) = await Send(forged);
        Assert.Equal(15, ctx.State.MessageScore);                 // dkimValencePB
        Assert.Contains("domainkeys=fail", Header(ctx, "X-Original-Authentication-Results"));
        (verdict, _) = await Send(forged, cfg: ("DoDKIM", "1"));
        Assert.Equal("554 5.7.1 DKIM fail .", verdict.Reply);

        // With a DKIM signature as well, DMARC sees only the DKIM one.
        var (_, both) = await Send(Sign(SignDomainKeys(Plain), EdKey, "ed"));
        Assert.Equal("X-Original-Authentication-Results: assp.local.test; dkim=pass domainkeys=pass", Header(both, "X-Original-Authentication-Results"));
        Assert.Equal(["signer.test"], both.State.Dkim!.PassingDomains);
        Assert.Single(both.State.DkimResults!);
    }

    [Fact]
    public async Task A_domain_that_signed_before_must_sign_again_within_DKIMCacheInterval()
    {
        var clock = new Assp.Checks.Tests.Whitelist.ManualClock();
        using var store = new Assp.Storage.MemoryStore(clock);
        var services = _services with { Store = store, Clock = clock };
        // nokeys.test publishes no keys: only a signed mail it sent (here signed by signer.test) makes it known.
        var (_, unsignedBefore) = await SendFrom(services, "alice@nokeys.test", Plain);
        Assert.Equal(0, unsignedBefore.State.MessageScore);         // not known as a signer yet
        await SendFrom(services, "alice@nokeys.test", Sign(Plain, EdKey, "ed"));
        var (_, mismatch) = await SendFrom(services, "alice@nokeys.test", Plain);
        Assert.Equal(15, mismatch.State.MessageScore);
        var (verdict, _) = await SendFrom(services, "alice@nokeys.test", Plain, cfg: ("DoDKIM", "1"));
        Assert.Equal("554 5.7.1 DKIM domain mismatch - nokeys.test found in DKIMCache, but no DKIM-Signature found in mail header .", verdict.Reply);
        var (_, off) = await SendFrom(services, "alice@nokeys.test", Plain, cfg: ("DKIMCacheInterval", "0"));
        Assert.Equal(0, off.State.MessageScore);
        clock.Advance(TimeSpan.FromDays(8));                          // the default interval is 7 days
        var (_, expired) = await SendFrom(services, "alice@nokeys.test", Plain);
        Assert.Equal(0, expired.State.MessageScore);                  // and DNS shows no keys
    }

    [Fact]
    public async Task An_unsigned_mail_from_a_domain_that_publishes_keys_fails_the_DNS_pre_check()
    {
        var clock = new Assp.Checks.Tests.Whitelist.ManualClock();
        using var store = new Assp.Storage.MemoryStore(clock);
        var services = _services with { Store = store, Clock = clock };
        var (verdict, _) = await SendFrom(services, "alice@signer.test", Plain, cfg: ("DoDKIM", "1"));
        Assert.Equal("554 5.7.1 DKIM domain mismatch - DKIM config found in DNS for signer.test, but no DKIM-Signature found in mail header .", verdict.Reply);
        Assert.True(store.Table("DKIMCache").ContainsKey("signer.test"));
        // A subdomain of a domain with keys; the cached domain is re-probed once its entry is older than the interval.
        Assert.True((await SendFrom(services, "alice@mail.signer.test", Plain, cfg: ("DoDKIM", "1"))).Verdict.Refuses);
        clock.Advance(TimeSpan.FromDays(8));
        Assert.True((await SendFrom(services, "alice@signer.test", Plain, cfg: ("DoDKIM", "1"))).Verdict.Refuses);
        // Wildcards do not fake keys, but keys under a wildcard are still found; DKIMCacheInterval=0 turns the pre-check off.
        Assert.False((await SendFrom(services, "alice@wild.test", Plain, cfg: ("DoDKIM", "1"))).Verdict.Refuses);
        Assert.True((await SendFrom(services, "alice@wildkeys.test", Plain, cfg: ("DoDKIM", "1"))).Verdict.Refuses);
        Assert.False((await SendFrom(services, "alice@signer.test", Plain, "203.0.113.9", ("DoDKIM", "1"), ("DKIMCacheInterval", "0"))).Verdict.Refuses);
        Assert.False((await SendFrom(services, "alice@nokeys.test", Plain, cfg: ("DoDKIM", "1"))).Verdict.Refuses);
    }
}
