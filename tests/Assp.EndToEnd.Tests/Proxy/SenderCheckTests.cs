using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Tests.Dns;
using Assp.Dns;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The sender checks (DoReversed, DoInvalidPTR, DoDomainCheck, DoSameSubject, DoNoFrom, detectMailLoop,
/// HeaderMaxLength, DoLocalSender*, LocalFrequency*, ForceNoValidLocalSender) in the real proxy in front of Postfix, with DNS from a private
/// nsd. The test client connects from 127.0.0.1, which no IP check looks at; it plays an ISP relay (ispip,
/// ispHostnames) and names the real sender IP in a Received line, as mail behind a backup MX does.
/// One proxy per mode, several messages each.
/// </summary>
public sealed class SenderCheckTests : IAsyncLifetime
{
    private const string ValidIp = "203.0.113.9";        // PTR mail.sender.test
    private const string DynamicIp = "203.0.113.10";     // PTR 10-113-0-203.dyn.isp.test
    private const string NoPtrIp = "203.0.113.11";       // no PTR
    private NsdServer _nsd = null!;
    private PostfixInstance _mta = null!;

    public async Task InitializeAsync()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["113.0.203.in-addr.arpa"] = NsdServer.Zone("113.0.203.in-addr.arpa", """
                9 IN PTR mail.sender.test.
                10 IN PTR 10-113-0-203.dyn.isp.test.
                """),
            ["sender.test"] = NsdServer.Zone("sender.test", """
                @ IN MX 10 mail.sender.test.
                mail IN A 203.0.113.9
                """),
            ["nothing.test"] = NsdServer.Zone("nothing.test", "www IN A 203.0.113.31"),
        });
        _mta = await PostfixInstance.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _mta.DisposeAsync();
        _nsd.Dispose();
    }

    private async Task<ProxyInstance> StartProxy(IStore store, Dictionary<string, string> settings, string[]? listeners = null)
    {
        var services = new CheckServices(store, new DnsListChecks(new DnsResolver(new DnsResolverOptions
        {
            Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
        })));
        var pipeline = new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)),
            services.Dns, CheckCatalog.Discover(services), services);
        var values = new Dictionary<string, string>
        {
            ["ispip"] = "127.0.0.1",
            ["ispHostnames"] = @"relay\.isp\.test",
            ["send250OKISP"] = "0",
            // Only the checks under test speak.
            ["ValidateSPF"] = "0", ["ValidateRBL"] = "0", ["ValidateURIBL"] = "0", ["DoMsgID"] = "0",
            ["DoReversed"] = "0", ["DoDomainCheck"] = "0", ["DoNoFrom"] = "0",
            ["PenaltyMessageLimit"] = "500", ["PenaltyMessageLow"] = "400",
        };
        foreach (var (k, v) in settings) values[k] = v;
        return await ProxyInstance.StartAsync(_mta.Port, values, listeners, pipeline: pipeline);
    }

    private static string Message(string ip, string from, string subject, string extraHeaders = "") =>
        $"Received: from client.example ([{ip}]) by relay.isp.test with ESMTP; Sat, 21 Nov 2026 10:00:00 +0000\r\n"
        + $"From: {from}\r\nTo: me@example.com\r\nMessage-ID: <{Guid.NewGuid():N}@sender.test>\r\nSubject: {subject}\r\n{extraHeaders}\r\nhello\r\n";

    private static async Task<(int Code, string Text)> Send(ProxyInstance proxy, string from, string message, int? port = null, string[]? to = null)
    {
        await using var client = await TestSmtpClient.ConnectAsync(port ?? proxy.Port);
        await client.ReadReplyAsync();
        var (code, text) = await client.SendMailAsync(from, to ?? ["me@example.com"], message);
        return (code, text.TrimEnd());
    }

    private async Task<CapturedMessage> Delivered(string subject)
    {
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < end)
        {
            if (_mta.GetCapturedMessages().FirstOrDefault(m => m.Text.Contains(subject, StringComparison.Ordinal)) is { } m) return m;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no message with '{subject}' reached the MTA");
    }

    [Fact]
    public async Task Block_mode_refuses_with_the_ASSP_replies_and_logs_the_reason()
    {
        using var store = new MemoryStore();
        await using var proxy = await StartProxy(store, new()
        {
            ["DoReversed"] = "1", ["DoInvalidPTR"] = "1", ["invalidPTRRe"] = @"\d+-\d+-\d+-\d+",
            ["DoDomainCheck"] = "1", ["DoSameSubject"] = "1", ["subjectFrequencyNumSubj"] = "2",
            ["HeaderMaxLength"] = "2000",
        });

        var reply = await Send(proxy, "a@sender.test", Message(NoPtrIp, "a@sender.test", "ptr missing"));
        Assert.Equal((554, "554 5.7.1 PTR missing ."), reply);
        await proxy.WaitForLogAsync("[spam found] (PTR missing)");

        reply = await Send(proxy, "a@sender.test", Message(DynamicIp, "a@sender.test", "ptr invalid"));
        Assert.Equal("554 5.7.1 PTR invalid '10-113-0-203.dyn.isp.test' .", reply.Text);
        await proxy.WaitForLogAsync("[PTRinvalid] (PTR invalid '10-113-0-203.dyn.isp.test')");

        reply = await Send(proxy, "a@nothing.test", Message(ValidIp, "a@nothing.test", "no mx"));
        Assert.Equal("554 5.7.1 Missing MX and A record .", reply.Text);
        await proxy.WaitForLogAsync("MX and A record missing ( DoDomainCheck ) at least for: nothing.test");

        Assert.Equal(250, (await Send(proxy, "a@sender.test", Message(ValidIp, "a@sender.test", "same subject"))).Code);
        reply = await Send(proxy, "a@sender.test", Message(ValidIp, "a@sender.test", "Same Subject!"));
        Assert.Equal("554 5.7.1 too many mails with same subject", reply.Text);
        await proxy.WaitForLogAsync("[spam found] (passed limit(2) of same subjects in 300 seconds)");

        var loop = string.Concat(Enumerable.Repeat("Received: from x ([198.51.100.1] helo=x) by proxy.assp-e2e.test with ESMTP (ASSP for .NET 1.0); Sat, 21 Nov 2026 10:00:00 +0000\r\n", 4));
        reply = await Send(proxy, "a@sender.test", loop + Message(ValidIp, "a@sender.test", "looping"));
        Assert.Equal("554 5.7.1 possible mailloop - found own received header more than 3 times", reply.Text);
        await proxy.WaitForLogAsync("warning: possible mailloop - found own received header more than 3 times");

        reply = await Send(proxy, "a@sender.test", Message(ValidIp, "a@sender.test", "big header", $"X-Big: {new string('x', 2100)}\r\n"));
        Assert.StartsWith("554 5.7.1 possible mailloop - oversized header (", reply.Text);
        await proxy.WaitForLogAsync("Possible Mailloop: Headerlength (");

        var delivered = await Delivered("Subject: same subject");
        Assert.DoesNotContain("X-Assp-Spam: YES", delivered.Text);
        await Task.Delay(300);
        Assert.Single(_mta.GetCapturedMessages());
    }

    [Fact]
    public async Task Monitor_mode_logs_and_delivers_unscored()
    {
        using var store = new MemoryStore();
        await using var proxy = await StartProxy(store, new()
        {
            ["DoReversed"] = "2", ["DoInvalidPTR"] = "2", ["invalidPTRRe"] = @"\d+-\d+-\d+-\d+",
            ["DoDomainCheck"] = "2", ["DoNoFrom"] = "2", ["DoSameSubject"] = "2", ["subjectFrequencyNumSubj"] = "1",
        });
        Assert.Equal(250, (await Send(proxy, "a@sender.test", Message(NoPtrIp, "a@sender.test", "monitor ptr"))).Code);
        Assert.Equal(250, (await Send(proxy, "a@nothing.test", Message(ValidIp, "Nobody", "monitor domain"))).Code);
        Assert.Equal(250, (await Send(proxy, "a@sender.test", Message(DynamicIp, "a@sender.test", "monitor dyn"))).Code);
        await proxy.WaitForLogAsync("[monitoring] (PTR invalid '10-113-0-203.dyn.isp.test')");
        var log = await proxy.WaitForLogAsync("[monitoring] (no valid address in From: 'Nobody')");
        Assert.Contains("[monitoring] (PTR missing)", log);
        Assert.Contains("[monitoring] MX missing: nothing.test (Mail From:)", log);
        Assert.Contains("[monitoring] (passed limit(1) of same subjects in 300 seconds)", log);
        var msg = await Delivered("Subject: monitor domain");
        Assert.DoesNotContain("X-Assp-Message-Score", msg.Text);
        Assert.DoesNotContain("X-Assp-Spam: YES", msg.Text);
    }

    [Fact]
    public async Task Score_mode_adds_the_valences_and_delivers()
    {
        using var store = new MemoryStore();
        await using var proxy = await StartProxy(store, new()
        {
            ["DoReversed"] = "3", ["DoInvalidPTR"] = "3", ["invalidPTRRe"] = @"\d+-\d+-\d+-\d+",
            ["DoDomainCheck"] = "3", ["DoNoFrom"] = "3", ["DoSameSubject"] = "3", ["subjectFrequencyNumSubj"] = "2",
        });
        Assert.Equal(250, (await Send(proxy, "a@sender.test", Message(NoPtrIp, "a@sender.test", "score ptr"))).Code);
        var msg = await Delivered("Subject: score ptr");
        Assert.Contains("X-Assp-Message-Score: 10 (PTR missing)", msg.Text);

        Assert.Equal(250, (await Send(proxy, "a@sender.test", Message(DynamicIp, "a@sender.test", "score dyn"))).Code);
        msg = await Delivered("Subject: score dyn");
        Assert.Contains("X-Assp-Message-Score: 15 (PTR invalid '10-113-0-203.dyn.isp.test')", msg.Text);

        Assert.Equal(250, (await Send(proxy, "a@nothing.test", Message(ValidIp, "Nobody", "score dyn"))).Code);
        msg = await Delivered("From: Nobody");
        Assert.Contains("X-Assp-Message-Score: 10 (MX missing: nothing.test (Mail From:))", msg.Text);
        Assert.Contains("X-Assp-Message-Score: 15 (A record missing: nothing.test (Mail From:))", msg.Text);
        Assert.Contains("X-Assp-Message-Score: 50 (no valid address in From: 'Nobody')", msg.Text);
        Assert.Contains("X-Assp-Message-Score: 150 (passed limit(2) of same subjects in 300 seconds)", msg.Text);
        var log = proxy.ReadMaillog();
        Assert.Contains("[scoring] (passed limit(2) of same subjects in 300 seconds)", log);
    }

    [Fact]
    public async Task Test_mode_passes_the_spam_tagged()
    {
        using var store = new MemoryStore();
        await using var proxy = await StartProxy(store, new()
        {
            ["DoReversed"] = "1", ["ptrTestMode"] = "1", ["DoDomainCheck"] = "1", ["mxaTestMode"] = "1",
            ["DoInvalidPTR"] = "1", ["invalidPTRRe"] = @"\d+-\d+-\d+-\d+",
            ["DoSameSubject"] = "4", ["subjectFrequencyNumSubj"] = "1", ["spamTag"] = "1",
        });
        Assert.Equal(250, (await Send(proxy, "a@sender.test", Message(NoPtrIp, "a@sender.test", "test ptr"))).Code);
        var msg = await Delivered("test ptr");
        Assert.Contains("X-Assp-Block: NO (testmode)", msg.Text);
        Assert.Contains("X-Assp-Spam-Reason: PTR missing", msg.Text);

        Assert.Equal(250, (await Send(proxy, "a@nothing.test", Message(ValidIp, "a@nothing.test", "test domain"))).Code);
        msg = await Delivered("test domain");
        Assert.Contains("X-Assp-Spam-Reason: missing MX and A record", msg.Text);
        Assert.Contains("[MissingMXA][testmode]", msg.Text);
        await proxy.WaitForLogAsync("spam found and passing (missing MX and A record)");

        Assert.Equal(250, (await Send(proxy, "a@sender.test", Message(DynamicIp, "a@sender.test", "test dyn"))).Code);
        msg = await Delivered("test dyn");
        Assert.Contains("X-Assp-Spam-Reason: PTR invalid '10-113-0-203.dyn.isp.test'", msg.Text);
        Assert.Contains("[PTRinvalid][testmode]", msg.Text);
    }

    [Fact]
    public async Task Local_senders_need_a_local_domain_and_address_and_are_held_back_over_the_frequency_limit()
    {
        using var store = new MemoryStore();
        await using var proxy = await StartProxy(store, new()
        {
            ["DoLocalSenderDomain"] = "1", ["DoLocalSenderAddress"] = "1", ["LocalAddresses_Flat"] = "boss@example.com|clerk@example.com",
            ["LocalFrequencyInt"] = "600", ["LocalFrequencyNumRcpt"] = "3",
            ["ispip"] = "",     // the outside client below is a plain stranger (an ISP relay is not checked)
        }, listeners: ["relayPort"]);
        int relay = proxy.Ports["relayPort"];
        string Out(string from, string subject) => $"From: {from}\r\nTo: x@remote.example\r\nSubject: {subject}\r\n\r\nhi\r\n";

        var reply = await Send(proxy, "boss@elsewhere.example", Out("boss@elsewhere.example", "foreign"), relay, ["x@remote.example"]);
        Assert.Equal("530 Relaying not allowed - sender domain not local", reply.Text);
        reply = await Send(proxy, "intruder@example.com", Out("intruder@example.com", "unknown"), relay, ["x@remote.example"]);
        Assert.Equal("530 Relaying not allowed - local sender address unknown", reply.Text);
        await proxy.WaitForLogAsync("relay attempt blocked for unknown local sender address");

        Assert.Equal(250, (await Send(proxy, "boss@example.com", Out("boss@example.com", "first"), relay, ["a@remote.example", "b@remote.example"])).Code);
        reply = await Send(proxy, "boss@example.com", Out("boss@example.com", "second"), relay, ["c@remote.example"]);
        Assert.Equal(452, reply.Code);
        Assert.StartsWith("452 4.7.1 too many recipients from boss@example.com in 600 seconds - try again after ", reply.Text);
        await proxy.WaitForLogAsync("local sender boss@example.com reached 3 recipients in 600 seconds");
        Assert.Equal(250, (await Send(proxy, "clerk@example.com", Out("clerk@example.com", "clerk"), relay, ["c@remote.example"])).Code);

        // From outside, an unknown sender in our domain is refused at MAIL FROM (ForceNoValidLocalSender, DoNoValidLocalSender 1).
        await using var outside = await TestSmtpClient.ConnectAsync(proxy.Port);
        await outside.ReadReplyAsync();
        await outside.CommandAsync("EHLO client.example");
        var mailFrom = await outside.CommandAsync("MAIL FROM:<intruder@example.com>");
        Assert.Equal("554 5.7.1 Unknown Sender in Local Domain .", mailFrom.Text.TrimEnd());
        await proxy.WaitForLogAsync("[spam found] Unknown Sender in Local Domain");
        Assert.Equal(250, (await outside.CommandAsync("MAIL FROM:<boss@example.com>")).Code);
    }
}
