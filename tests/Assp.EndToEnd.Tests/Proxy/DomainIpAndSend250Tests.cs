using System.Net;
using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// DoDomainIP (one sender domain from too many client IPs), send250OK (250 OK instead of a check's 5xx, the mail
/// dropped) and DoIPinHelo behind an ISP relay, through the real proxy in front of Postfix.
/// </summary>
public class DomainIpAndSend250Tests
{
    private const string Message = "From: a@spread.example\r\nTo: me@example.com\r\nMessage-ID: <1.2@spread.example>\r\nSubject: hello\r\n\r\nhi\r\n";

    private static DecisionPipeline Pipeline(IStore store) =>
        LoopbackBlackBox.Pipeline(store, ip => ip.ToString().StartsWith("127.0.1.", StringComparison.Ordinal));

    private static Dictionary<string, string> Settings(params (string, string)[] mode)
    {
        var settings = new Dictionary<string, string>
        {
            ["noHelo"] = "",
            ["maxSMTPdomainIP"] = "2",
            ["DelayUseNetblocks"] = "0",
            ["ValidateSPF"] = "0",
            ["PenaltyMessageLimit"] = "1000",
            ["PenaltyMessageLow"] = "900",
            ["PenaltyLog"] = "1",
        };
        foreach (var (k, v) in mode) settings[k] = v;
        return settings;
    }

    /// <summary>One mail from <paramref name="clientIp"/>; returns the first refusal (or the final reply) and the open client.</summary>
    private static async Task<((int Code, string Text) Reply, TestSmtpClient Client)> Mail(ProxyInstance proxy, string clientIp,
        string helo = "mx.spread.example", string message = Message)
    {
        var client = await TestSmtpClient.ConnectAsync(proxy.Port, clientIp);
        await client.ReadReplyAsync();
        var ehlo = await client.CommandAsync("EHLO " + helo);
        if (ehlo.Code != 250) return (ehlo, client);
        var mail = await client.CommandAsync("MAIL FROM:<a@spread.example>");
        if (mail.Code != 250) return (mail, client);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<me@example.com>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync(TestSmtpClient.DotStuff(message) + ".\r\n");
        return (await client.ReadReplyAsync(), client);
    }

    private static async Task<(int Code, string Text)> MailAndQuit(ProxyInstance proxy, string clientIp)
    {
        var (reply, client) = await Mail(proxy, clientIp);
        await using (client)
        {
            if (reply.Code == 250) await client.CommandAsync("QUIT");
            return reply;
        }
    }

    [Fact]
    public async Task DomainIp_block_refuses_the_third_client_ip_of_a_domain()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings(("DoDomainIP", "1")), pipeline: Pipeline(store));

        Assert.Equal(250, (await MailAndQuit(proxy, "127.0.1.1")).Code);
        Assert.Equal(250, (await MailAndQuit(proxy, "127.0.1.2")).Code);
        var (reply, client) = await Mail(proxy, "127.0.1.3");
        await using (client)
        {
            Assert.Equal(554, reply.Code);
            Assert.Contains("554 5.7.1 too many different IP's for domain '@spread.example'", reply.Text);
            Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(10)));
        }
        await proxy.WaitForLogAsync("[IPperDomain] '@spread.example' passed limit(2) of ips per domain");
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(2, got.Count);
    }

    [Fact]
    public async Task DomainIp_score_monitor_and_testmode_deliver()
    {
        foreach (var (mode, tag, scored) in new[] { ("2", "[monitoring]", false), ("3", "[scoring]", true), ("4", "[testmode]", true) })
        {
            using var store = new MemoryStore();
            await using var mta = await PostfixInstance.StartAsync();
            await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings(("DoDomainIP", mode)), pipeline: Pipeline(store));
            await MailAndQuit(proxy, "127.0.1.1");
            await MailAndQuit(proxy, "127.0.1.2");
            Assert.Equal(250, (await MailAndQuit(proxy, "127.0.1.3")).Code);
            await proxy.WaitForLogAsync($"{tag} '@spread.example' passed limit(2) of ips per domain");
            if (scored) await proxy.WaitForLogAsync("Message-Score: added 150 (idValencePB) for LimitingIPDomain");
            Assert.Equal(3, (await mta.WaitForMessagesAsync(3, TimeSpan.FromSeconds(20))).Count);
        }
    }

    [Fact]
    public async Task Send250OK_answers_ok_and_drops_the_refused_mail()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port,
            Settings(("DoDomainIP", "1"), ("send250OK", "1"), ("useHeloBlacklist", "1")), pipeline: Pipeline(store));

        // A refusal at MAIL FROM: 250 OK, then the connection is closed.
        await MailAndQuit(proxy, "127.0.1.1");
        await MailAndQuit(proxy, "127.0.1.2");
        await using (var third = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.1.3"))
        {
            await third.ReadReplyAsync();
            Assert.Equal(250, (await third.CommandAsync("EHLO mx.spread.example")).Code);
            var ok = await third.CommandAsync("MAIL FROM:<a@spread.example>");
            Assert.Equal("250 OK", ok.Text.Trim());
            Assert.Equal(421, (await third.ReadReplyAsync()).Code);
            Assert.True(await third.IsClosedAsync(TimeSpan.FromSeconds(10)));
        }
        await proxy.WaitForLogAsync("[SMTP Reply] 250 OK (instead of: 554 5.7.1 too many different IP's for domain '@spread.example')");

        // A refusal after the header (blacklisted HELO): 250 OK after the data, QUIT is answered 221, nothing delivered.
        var (reply, client) = await Mail(proxy, "127.0.0.9", helo: "bot.example");
        await using (client)
        {
            Assert.Equal("250 OK", reply.Text.Trim());
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        }
        await proxy.WaitForLogAsync("[spam found] (blacklisted HELO 'bot.example' - weight 5)");
        await proxy.WaitForLogAsync("- the mail is discarded");

        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        await Task.Delay(300);
        Assert.Equal(2, mta.GetCapturedMessages().Count);
    }

    [Fact]
    public async Task IpInHelo_of_the_original_sender_behind_an_isp_relay_is_scored()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port,
            Settings(("DoIPinHelo", "3"), ("ispip", "127.0.0.10"), ("ispHostnames", @"mx\.isp\.example")), pipeline: Pipeline(store));

        var relayed = "Received: from [203.0.113.50] (helo=198.51.100.7) by mx.isp.example with ESMTP id 1; Thu, 1 Jan 2026 00:00:00 +0000\r\n" + Message;
        var (reply, client) = await Mail(proxy, "127.0.0.10", helo: "mx.isp.example", message: relayed);
        await using (client)
        {
            Assert.Equal(250, reply.Code);
            await client.CommandAsync("QUIT");
        }
        await proxy.WaitForLogAsync("Originating IP/HELO: 203.0.113.50 / 198.51.100.7");
        await proxy.WaitForLogAsync("[scoring] (Suspicious HELO - contains IP: '198.51.100.7')");
        await proxy.WaitForLogAsync("[scoring] (IP in HELO '198.51.100.7' does not match IP in connection '203.0.113.50')");
        var got = await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        Assert.Single(got);
    }
}
