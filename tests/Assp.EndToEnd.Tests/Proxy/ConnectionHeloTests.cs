using System.Net;
using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The connection and HELO checks in the real proxy in front of Postfix, one proxy per mode (block, monitor, score,
/// test mode) with one client IP per check (127.0.0.x), the replies the client sees and the maillog lines.
/// </summary>
public class ConnectionHeloTests
{
    private const string Message = "From: a@sender.example\r\nTo: me@example.com\r\nMessage-ID: <1.2@sender.example>\r\nSubject: hello\r\n\r\nhi\r\n";
    private static readonly IPAddress FrequentIp = IPAddress.Parse("127.0.0.7");

    private static DecisionPipeline Pipeline(IStore store) =>
        LoopbackBlackBox.Pipeline(store, ip => ip.Equals(FrequentIp));

    /// <summary>The settings every proxy shares: the checks on loopback clients, lists naming one client IP each, a high message limit.</summary>
    private static Dictionary<string, string> Settings(params (string, string)[] mode)
    {
        var settings = new Dictionary<string, string>
        {
            ["noHelo"] = "",
            ["invalidHeloRe"] = "ylmf-pc",
            ["invalidFormatHeloRe"] = "bad-helo",
            ["denySMTPConnectionsFrom"] = "127.0.0.6",
            ["maxSMTPipConnects"] = "2",
            ["PenaltyMessageLimit"] = "1000",
            ["PenaltyMessageLow"] = "900",
            ["PenaltyLog"] = "1",
            ["spamSubject"] = "[SPAM]",
            ["spamTag"] = "1",
        };
        foreach (var (k, v) in mode) settings[k] = v;
        return settings;
    }

    private static async Task<(int Code, string Text)> Mail(ProxyInstance proxy, string clientIp, string helo)
    {
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port, clientIp);
        await client.ReadReplyAsync();
        var ehlo = await client.CommandAsync("EHLO " + helo);
        if (ehlo.Code != 250) return ehlo;
        var mail = await client.CommandAsync("MAIL FROM:<a@sender.example>");
        if (mail.Code != 250) return mail;
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<me@example.com>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync(TestSmtpClient.DotStuff(Message) + ".\r\n");
        var reply = await client.ReadReplyAsync();
        await client.CommandAsync("QUIT");
        return reply;
    }

    /// <summary>Connections from the frequency client that stop after MAIL FROM; returns the last MAIL reply.</summary>
    private static async Task<(int Code, string Text)> FrequentConnections(ProxyInstance proxy, int count)
    {
        (int Code, string Text) last = default;
        for (int i = 0; i < count; i++)
        {
            await using var client = await TestSmtpClient.ConnectAsync(proxy.Port, FrequentIp.ToString());
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.CommandAsync("EHLO mx.sender.example")).Code);
            last = await client.CommandAsync("MAIL FROM:<a@sender.example>");
            if (last.Code != 250) break;
            await client.CommandAsync("QUIT");
        }
        return last;
    }

    [Fact]
    public async Task Block_mode_refuses_with_the_replies_ASSP_sends_and_logs_why()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings(("useHeloBlacklist", "1"), ("DoFrequencyIP", "1")),
            pipeline: Pipeline(store));

        // invalidHeloRe: refused at HELO and the connection dropped.
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.2"))
        {
            await client.ReadReplyAsync();
            var helo = await client.CommandAsync("EHLO ylmf-pc");
            Assert.Equal(554, helo.Code);
            Assert.Contains("554 5.7.1 the connection is rejected - bad host identity detected", helo.Text);
            Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(10)));
        }
        await proxy.WaitForLogAsync("[InvalidHELO] invalid HELO 'ylmf-pc' matches invalidHeloRe 'ylmf-pc' - connection rejected");

        // A blacklisted HELO: refused after the header with SpamError.
        var black = await Mail(proxy, "127.0.0.3", "bot.example");
        Assert.Equal(554, black.Code);
        Assert.Contains("Mail appears to be unsolicited", black.Text);
        await proxy.WaitForLogAsync("[spam found] (blacklisted HELO 'bot.example' - weight 5)");

        // A forged HELO (a loopback literal) and an invalid HELO format: refused at MAIL FROM (ForceFakedLocalHelo,
        // ForceValidateHelo) and closed.
        var forged = await Mail(proxy, "127.0.0.4", "[127.0.0.1]");
        Assert.Equal(554, forged.Code);
        Assert.Contains("554 5.7.1 Forged HELO .", forged.Text);
        await proxy.WaitForLogAsync("[ForgedHELO] [spam found] (forged Helo: '[127.0.0.1]')");
        var invalid = await Mail(proxy, "127.0.0.5", "bad-helo.example");
        Assert.Contains("554 5.7.1 Helo invalid .", invalid.Text);
        await proxy.WaitForLogAsync("[InvalidHELO] [spam found] (invalid HELO: 'bad-helo.example')");

        // denySMTPConnectionsFrom: refused after the header with PenaltyError.
        var denied = await Mail(proxy, "127.0.0.6", "mx.sender.example");
        Assert.Equal(554, denied.Code);
        Assert.Contains("Error for IP 127.0.0.6", denied.Text);
        await proxy.WaitForLogAsync("[spam found] (blocked by denySMTPConnectionsFrom '127.0.0.6");

        // The third connection of a black-box IP within maxSMTPipDuration passes maxSMTPipConnects 2.
        var frequent = await FrequentConnections(proxy, 3);
        Assert.Equal(554, frequent.Code);
        Assert.Contains("554 5.7.1 too frequent connections for '127.0.0.7'", frequent.Text);
        await proxy.WaitForLogAsync("[IPfrequency] '127.0.0.7' passed limit(2) of ip connection frequency");

        await Task.Delay(300);
        Assert.Empty(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task Monitor_mode_delivers_and_logs()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings(("useHeloBlacklist", "2"), ("DoFakedLocalHelo", "2"),
            ("DoInvalidFormatHelo", "2"), ("DoDenySMTP", "2"), ("DoFrequencyIP", "2"), ("PenaltyExtremeLog", "1")), pipeline: Pipeline(store));

        Assert.Equal(250, (await Mail(proxy, "127.0.0.3", "bot.example")).Code);
        await proxy.WaitForLogAsync("[monitoring] (blacklisted HELO 'bot.example' - weight 5)");
        Assert.Equal(250, (await Mail(proxy, "127.0.0.4", "[127.0.0.1]")).Code);
        await proxy.WaitForLogAsync("[monitoring] (forged Helo: '[127.0.0.1]')");
        Assert.Equal(250, (await Mail(proxy, "127.0.0.5", "bad-helo.example")).Code);
        await proxy.WaitForLogAsync("[monitoring] (invalid HELO: 'bad-helo.example')");
        Assert.Equal(250, (await Mail(proxy, "127.0.0.6", "mx.sender.example")).Code);
        await proxy.WaitForLogAsync("[monitoring] blocked by denySMTPConnectionsFrom '127.0.0.6");
        Assert.Equal(250, (await FrequentConnections(proxy, 3)).Code);
        await proxy.WaitForLogAsync("[monitoring] '127.0.0.7' passed limit(2) of ip connection frequency");

        var got = await mta.WaitForMessagesAsync(4, TimeSpan.FromSeconds(20));
        Assert.Equal(4, got.Count);
        Assert.DoesNotContain(got, m => m.Text.Contains("X-Assp-Spam: YES"));
    }

    [Fact]
    public async Task Score_mode_adds_the_valences_delivers_and_damps_the_scored_client()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings(("useHeloBlacklist", "3"), ("DoFakedLocalHelo", "3"),
            ("DoInvalidFormatHelo", "3"), ("DoFrequencyIP", "3"), ("DoDamping", "20"), ("maxDampingTime", "1"), ("ConnectionLog", "2")),
            pipeline: Pipeline(store));

        Assert.Equal(250, (await Mail(proxy, "127.0.0.3", "bot.example")).Code);
        await proxy.WaitForLogAsync("Message-Score: added 20 (hlValencePB) for blacklisted HELO 'bot.example' - weight 5");
        await proxy.WaitForLogAsync("[scoring] (blacklisted HELO 'bot.example' - weight 5)");
        // After a scored message the client's next command waits (DoDamping: score 20 / 20 = 1 s).
        await proxy.WaitForLogAsync("info: start damping (1 s)");
        Assert.Equal(250, (await Mail(proxy, "127.0.0.4", "[127.0.0.1]")).Code);
        await proxy.WaitForLogAsync("Message-Score: added 150 (fhValencePB) for forged Helo: '[127.0.0.1]'");
        Assert.Equal(250, (await Mail(proxy, "127.0.0.5", "bad-helo.example")).Code);
        await proxy.WaitForLogAsync("Message-Score: added 10 (ihValencePB) for invalid HELO: 'bad-helo.example'");
        Assert.Equal(250, (await FrequentConnections(proxy, 3)).Code);
        await proxy.WaitForLogAsync("[scoring] '127.0.0.7' passed limit(2) of ip connection frequency");
        await proxy.WaitForLogAsync("Message-Score: added 150 (ifValencePB) for IPfrequency");

        var got = await mta.WaitForMessagesAsync(3, TimeSpan.FromSeconds(20));
        Assert.Contains(got, m => m.Text.Contains("X-Assp-Message-Score: 20 (blacklisted HELO 'bot.example' - weight 5)")
                                  || m.Text.Contains("X-Assp-Message-Totalscore: 20"));
    }

    [Fact]
    public async Task Test_mode_delivers_tagged()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, Settings(("useHeloBlacklist", "1"), ("hlTestMode", "1"),
            ("fhTestMode", "1"), ("ihTestMode", "1"), ("pbTestMode", "1"), ("DoFrequencyIP", "4")), pipeline: Pipeline(store));

        Assert.Equal(250, (await Mail(proxy, "127.0.0.3", "bot.example")).Code);
        Assert.Equal(250, (await Mail(proxy, "127.0.0.4", "[127.0.0.1]")).Code);
        Assert.Equal(250, (await Mail(proxy, "127.0.0.5", "bad-helo.example")).Code);
        Assert.Equal(250, (await Mail(proxy, "127.0.0.6", "mx.sender.example")).Code);
        Assert.Equal(250, (await FrequentConnections(proxy, 3)).Code);
        await proxy.WaitForLogAsync("[testmode] '127.0.0.7' passed limit(2) of ip connection frequency");

        var got = await mta.WaitForMessagesAsync(4, TimeSpan.FromSeconds(20));
        Assert.Contains(got, m => m.Text.Contains("Subject: [SPAM] [BlackHELO][testmode] hello"));
        Assert.Contains(got, m => m.Text.Contains("Subject: [SPAM] [ForgedHELO][testmode] hello"));
        Assert.Contains(got, m => m.Text.Contains("Subject: [SPAM] [InvalidHELO][testmode] hello"));
        Assert.Contains(got, m => m.Text.Contains("Subject: [SPAM] [DenyIP][testmode] hello"));
        Assert.All(got, m => Assert.Contains("X-Assp-Block: NO (testmode)", m.Text));
        var log = proxy.ReadMaillog();
        Assert.Contains("(blacklisted HELO 'bot.example' - weight 5)", log);
    }
}
