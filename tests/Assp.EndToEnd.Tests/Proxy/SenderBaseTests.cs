using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Dns;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>SenderBase country blocking through the real proxy in front of Postfix, with a real nsd serving senderbase.org.</summary>
public class SenderBaseTests
{
    [Fact]
    public async Task Mail_relayed_by_an_ISP_from_a_blocked_country_is_refused_and_other_mail_is_delivered()
    {
        using var nsd = new NsdServer(new Dictionary<string, string>
        {
            ["senderbase.org"] = NsdServer.Zone("senderbase.org", """
                14.113.0.203.sa IN TXT "0-0=1.0|1=China Net|53=CN"
                13.113.0.203.sa IN TXT "0-0=1.0|1=German Org|53=DE"
                """),
        });
        var dns = new DnsListChecks(new Assp.Dns.DnsResolver(new Assp.Dns.DnsResolverOptions
        {
            Servers = [nsd.EndPoint], Timeout = TimeSpan.FromSeconds(2), Retransmit = TimeSpan.FromMilliseconds(500),
        }));
        var services = new CheckServices(Dns: dns);
        var pipeline = new DecisionPipeline(new DecisionEngine(NoIpReputation.Instance, NoAddressReputation.Instance), dns,
            [new SenderBaseCheck(services)], services);
        var settings = new Dictionary<string, string>
        {
            ["ispip"] = "127.0.0.1",
            ["ispHostnames"] = @"relay\.example\.net",
            ["DoCountryBlocking"] = "1",
            // ASSP's default answers a refused ISP mail with 250 and drops it; here the refusal is to be seen.
            ["send250OKISP"] = "0",
        };
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings, pipeline: pipeline);

        static string Message(string ip) =>
            $"Received: from far.example (far.example [{ip}]) by relay.example.net with ESMTP id 1; Sat, 21 Nov 2026 10:00:00 +0000\r\n" +
            "From: a@far.example\r\nSubject: hello\r\n\r\nbody\r\n";

        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("a@far.example", ["u@example.com"], Message("203.0.113.14"));
            Assert.True(refused.Code == 554, refused.Code + " " + refused.Text + "\n" + proxy.ReadMaillog());
            Assert.Contains("Blocked IP-Country CN (China Net)", refused.Text);
        }
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("a@far.example", ["u@example.com"], Message("203.0.113.13"))).Code);
        }
        Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
    }
}
