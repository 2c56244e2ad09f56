using System.Net;
using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Checks.Dns;
using Assp.Checks.Tests.Dns;
using Assp.Config;
using Assp.Config.Registry;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>DNSBL and URIBL through the real proxy in front of Postfix and a real nsd.</summary>
public class DnsListTests
{
    [Fact]
    public async Task A_reload_with_new_DNSServers_reaches_the_running_proxy()
    {
        using var nsd = new NsdServer(new Dictionary<string, string>
        {
            ["bl.test"] = NsdServer.Zone("bl.test", "9.113.0.203 IN A 127.0.0.2"),
        });
        using var silent = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var silentEp = (IPEndPoint)silent.Client.LocalEndPoint!;
        var settings = new Dictionary<string, string>
        {
            ["UseLocalDNS"] = "0",
            ["DNSServers"] = $"127.0.0.1:{silentEp.Port}",
            ["DNStimeout"] = "1",
            ["DNSretry"] = "0",
            ["RBLServiceProvider"] = "bl.test=>1",
            ["RBLmaxtime"] = "1",
            ["enhancedOriginIPDetect"] = "1",
        };
        // The engines start on the first DNS server, as DecisionServices builds them from the configuration at start.
        var startDir = Path.Combine(Path.GetTempPath(), "assp-e2e-dns-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(startDir);
        var atStart = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false }
            .Load(new ConfigSource(startDir, Overrides: [.. settings]));
        var dns = DnsListChecks.FromConfig(atStart);
        var pipeline = new DecisionPipeline(new DecisionEngine(NoIpReputation.Instance, NoAddressReputation.Instance), dns);

        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings, pipeline: pipeline);
        const string message = "Received: from spam.example (spam.example [203.0.113.9]) by relay.example.net with ESMTP id 1; Sat, 21 Nov 2026 10:00:00 +0000\r\n" +
                               "From: a@far.example\r\nSubject: offer\r\n\r\nbuy\r\n";

        // The DNS server never answers: nothing is known within RBLmaxtime, the mail goes through.
        await using (var first = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await first.ReadReplyAsync();
            Assert.Equal(250, (await first.SendMailAsync("a@far.example", ["u@example.com"], message)).Code);
        }

        // assp.cfg now names nsd; the reload reaches the resolver with the next session.
        var cfgPath = Path.Combine(proxy.BaseDirectory, "assp.cfg");
        var text = await File.ReadAllTextAsync(cfgPath);
        await File.WriteAllTextAsync(cfgPath, Regex.Replace(text, @"(?m)^DNSServers:=.*$", $"DNSServers:=127.0.0.1:{nsd.Port}"));
        proxy.Config.Reload("test");
        Assert.Equal($"127.0.0.1:{nsd.Port}", proxy.Config.Current["DNSServers"]);

        await using (var second = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await second.ReadReplyAsync();
            var refused = await second.SendMailAsync("a@far.example", ["u@example.com"], message);
            Assert.Equal(554, refused.Code);
            Assert.Contains("DNS Blacklisted by bl.test", refused.Text);
        }
        Assert.Equal([nsd.EndPoint], dns.Resolver.Servers.Select(s => s.EndPoint));
        Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Uribl_adds_its_header_to_a_delivered_mail_and_refuses_with_URIBLError_or_drops_without_it()
    {
        using var nsd = new NsdServer(new Dictionary<string, string>
        {
            ["uribl.test"] = NsdServer.Zone("uribl.test", "spammy.com IN A 127.0.0.2"),
        });
        var dns = new DnsListChecks(new Assp.Dns.DnsResolver(new Assp.Dns.DnsResolverOptions
        {
            Servers = [nsd.EndPoint], Timeout = TimeSpan.FromSeconds(5), Retransmit = TimeSpan.FromSeconds(1),
        }));
        var pipeline = new DecisionPipeline(new DecisionEngine(NoIpReputation.Instance, NoAddressReputation.Instance), dns);
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["URIBLServiceProvider"] = "uribl.test",
            ["URIBLmaxhits"] = "1",
            ["URIBLmaxweight"] = "0",
            ["uriblSpamLovers"] = "lover@example.com",
            ["URIBLError"] = "550 5.7.1 links listed at URIBLNAME",
        }, pipeline: pipeline);
        const string message = "From: a@far.example\r\nSubject: offer\r\n\r\nbuy at http://www.spammy.com/now\r\n";

        // A spam lover gets the mail, marked by AddURIBLHeader (on by default).
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("a@far.example", ["lover@example.com"], message)).Code);
        }
        var delivered = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("X-Assp-Received-URIBL: failed (spammy.com listed in uribl.test)", delivered.Text);

        // Anyone else is refused with URIBLError, URIBLNAME replaced by the list.
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            var refused = await client.SendMailAsync("a@far.example", ["u@example.com"], message);
            Assert.Equal(550, refused.Code);
            Assert.Contains("links listed at uribl.test", refused.Text);
        }

        // With URIBLError emptied by a reload the client hears nothing: the connection is dropped.
        var cfgPath = Path.Combine(proxy.BaseDirectory, "assp.cfg");
        var text = await File.ReadAllTextAsync(cfgPath);
        await File.WriteAllTextAsync(cfgPath, Regex.Replace(text, @"(?m)^URIBLError:=.*$", "URIBLError:="));
        proxy.Config.Reload("test");
        Assert.Equal("", proxy.Config.Current["URIBLError"]);
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@far.example>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<u@example.com>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            await client.SendAsync(TestSmtpClient.DotStuff(message) + ".\r\n");
            Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(20)));
        }
        Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(2)));
    }
}
