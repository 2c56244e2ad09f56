using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Tests.Dns;
using Assp.Dns;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// A forged message refused by DMARC in the real proxy (DNS from a private nsd) gives a failure report to the domain's
/// ruf= address; the report job sends it through relayHost to a private Postfix, where it arrives in AFRF format.
/// </summary>
public sealed class DmarcFailureReportTests : IAsyncLifetime
{
    private NsdServer _nsd = null!;
    private PostfixInstance _mta = null!;

    public async Task InitializeAsync()
    {
        _nsd = new NsdServer(new Dictionary<string, string>
        {
            ["bank.test"] = NsdServer.Zone("bank.test", """
                @ IN TXT "v=spf1 -all"
                _dmarc IN TXT "v=DMARC1; p=reject; fo=1; ruf=mailto:forensic@bank.test"
                """),
            ["forger.test"] = NsdServer.Zone("forger.test", """
                @ IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
                @ IN MX 10 mail.forger.test.
                mail IN A 203.0.113.9
                """),
        });
        _mta = await PostfixInstance.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _mta.DisposeAsync();
        _nsd.Dispose();
    }

    [Fact]
    public async Task A_DMARC_refusal_sends_an_auth_failure_report_to_ruf_through_relayHost()
    {
        using var store = new MemoryStore();
        var services = new CheckServices(store, new DnsListChecks(new DnsResolver(new DnsResolverOptions
        {
            Servers = [_nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
        })));
        var pipeline = new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)),
            services.Dns, CheckCatalog.Discover(services), services);
        var values = new Dictionary<string, string>
        {
            ["ispip"] = "127.0.0.1", ["ispHostnames"] = @"relay\.isp\.test", ["send250OKISP"] = "0",
            ["ValidateSPF"] = "1", ["DoDKIM"] = "1", ["DoDMARC"] = "1",
            ["ValidateRBL"] = "0", ["ValidateURIBL"] = "0", ["DoMsgID"] = "0", ["DoReversed"] = "0", ["DoDomainCheck"] = "0", ["DoNoFrom"] = "0",
            ["PenaltyMessageLimit"] = "500", ["PenaltyMessageLow"] = "400",
            ["DMARCReportFrom"] = "dmarc-reports",
            ["relayHost"] = $"127.0.0.1:{_mta.Port}",
        };
        await using var proxy = await ProxyInstance.StartAsync(_mta.Port, values, pipeline: pipeline);

        var message = "Received: from client.example ([203.0.113.9]) by relay.isp.test with ESMTP; Sat, 21 Nov 2026 10:00:00 +0000\r\n"
            + "From: Bank <service@bank.test>\r\nTo: me@example.com\r\nMessage-ID: <forged-1@forger.test>\r\nSubject: verify your account\r\n\r\nsecret body\r\n";
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var (code, text) = await client.SendMailAsync("a@forger.test", ["me@example.com"], message);
            Assert.Equal(554, code);
            Assert.Contains("DMARC policy of bank.test rejects this message", text);
        }

        var log = new List<string>();
        int sent = await DmarcFailureReports.SendPendingAsync(store, TimeProvider.System,
            (from, to, msg, ct) => Assp.Smtp.ReportMailer.SendAsync(proxy.Config.Current, from, to, msg, ct), log.Add, default);
        Assert.True(sent == 1, string.Join("\n", log));

        var mail = Assert.Single(await _mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal("dmarc-reports@example.com", mail.Sender);
        Assert.Equal(["forensic@bank.test"], mail.Recipients);
        var text2 = mail.Text.Replace("\r\n", "\n", StringComparison.Ordinal);   // the capture has LF lines
        Assert.Contains("Content-Type: multipart/report; report-type=feedback-report;", text2);
        Assert.Contains("Feedback-Type: auth-failure\n", text2);
        Assert.Contains("Auth-Failure: dmarc\n", text2);
        Assert.Contains("Source-IP: 203.0.113.9\n", text2);
        Assert.Contains("Reported-Domain: bank.test\n", text2);
        Assert.Contains("Delivery-Result: reject\n", text2);
        Assert.Contains("Message-ID: <forged-1@forger.test>", text2);
        Assert.DoesNotContain("secret body", text2);
        Assert.Empty(DmarcFailureReports.Pending(store));
    }
}
