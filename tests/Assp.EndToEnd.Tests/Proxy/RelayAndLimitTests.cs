using System.Diagnostics;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>Never an open relay, on any listener, whatever the address form; and the session limits.</summary>
public class RelayAndLimitTests
{
    public static TheoryData<string, string> OpenRelayAttempts => new()
    {
        { "listenPort", "victim@elsewhere.example" },
        { "listenPort", "victim%elsewhere.example@example.com" },
        { "listenPort", "elsewhere.example!victim@example.com" },
        { "listenPort", "\"victim@elsewhere.example\"@example.com" },
        { "listenPort", "@example.com:victim@elsewhere.example" },
        { "listenPort", "@example.com,@example.org:victim@elsewhere.example" },
        { "listenPort", "victim@[192.0.2.1]" },
        { "listenPort", "victim" },
        { "listenPort", "victim@example.com.elsewhere.example" },
        { "listenPort2", "victim@elsewhere.example" },
        { "listenPort2", "victim%elsewhere.example@example.com" },
        { "listenPortSSL", "victim@elsewhere.example" },
        { "listenPortSSL", "\"victim%x\"@example.com" },
    };

    [Theory]
    [MemberData(nameof(OpenRelayAttempts))]
    public async Task Relaying_for_strangers_is_refused(string listener, string recipient)
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, listeners: ["listenPort2", "listenPortSSL"]);
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Ports[listener], fromAddress: "127.0.0.2");
        if (listener == "listenPortSSL") await client.StartTlsAsync();
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        await client.CommandAsync("EHLO stranger.example");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<spammer@stranger.example>")).Code);
        var reply = await client.CommandAsync($"RCPT TO:<{recipient}>");
        Assert.True(reply.Code >= 500, $"{recipient} on {listener}: {reply.Text}");
        Assert.Equal(503 / 100, (await client.CommandAsync("DATA")).Code / 100);
        await Task.Delay(300);
        Assert.Empty(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task RelayPort_and_acceptAllMail_may_relay_and_their_mail_counts_as_outgoing()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["acceptAllMail"] = "127.0.0.3" },
            listeners: ["relayPort"]);
        await using (var relay = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"], fromAddress: "127.0.0.2"))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("staff@example.com", ["friend@remote.example"], "Subject: out\r\n\r\nhi\r\n")).Code);
        }
        await using (var lan = await TestSmtpClient.ConnectAsync(proxy.Port, fromAddress: "127.0.0.3"))
        {
            await lan.ReadReplyAsync();
            Assert.Equal(250, (await lan.SendMailAsync("staff@example.com", ["friend2@remote.example"], "Subject: out2\r\n\r\nhi\r\n")).Code);
        }
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(2, got.Count);
        // Outgoing mail does not get the incoming-only X-Assp-Intended-For header (AddIntendedForHeader 2).
        Assert.All(got, m => Assert.DoesNotContain("X-Assp-Intended-For", m.Text));
    }

    [Fact]
    public async Task RelayPort_refuses_addresses_outside_allowRelayCon()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["allowRelayCon"] = "127.0.0.5" },
            listeners: ["relayPort"]);
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Ports["relayPort"], fromAddress: "127.0.0.2");
        Assert.Equal(554, (await client.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Max_errors_drops_the_client()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["MaxErrors"] = "3" });
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO c.example");
        for (int i = 0; i < 3; i++) Assert.Equal(503, (await client.CommandAsync("RCPT TO:<x@example.com>")).Code);
        await client.SendAsync("RCPT TO:<x@example.com>\r\n");
        var last = await client.ReadReplyAsync();
        var closing = await client.ReadReplyAsync();
        Assert.Equal(421, closing.Code);
        Assert.Contains("closing transmission", closing.Text);
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(503, last.Code);
    }

    [Fact]
    public async Task Idle_clients_are_timed_out()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["smtpIdleTimeout"] = "1" });
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("451 Connection timeout, try later", reply.Text.Trim());
    }

    [Fact]
    public async Task At_maxSMTPSessions_new_clients_wait_instead_of_being_refused()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["maxSMTPSessions"] = "4" });
        var clients = new List<TestSmtpClient>();
        for (int i = 0; i < 4; i++)
        {
            var c = await TestSmtpClient.ConnectAsync(proxy.Port);
            Assert.Equal(220, (await c.ReadReplyAsync()).Code);
            clients.Add(c);
        }
        await using var waiting = await TestSmtpClient.ConnectAsync(proxy.Port);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.ReadReplyAsync(TimeSpan.FromSeconds(1)));
        // ASSP resumes below three quarters of the limit: two of the four must go.
        for (int i = 0; i < 2; i++)
        {
            await clients[i].CommandAsync("QUIT");
            await clients[i].DisposeAsync();
        }
        Assert.Equal(220, (await waiting.ReadReplyAsync(TimeSpan.FromSeconds(10))).Code);
        foreach (var c in clients.Skip(2)) await c.DisposeAsync();
    }

    [Fact]
    public async Task Per_ip_session_limit_refuses_the_extra_connection()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["maxSMTPipSessions"] = "2" });
        await using var a = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.4");
        await using var b = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.4");
        Assert.Equal(220, (await a.ReadReplyAsync()).Code);
        Assert.Equal(220, (await b.ReadReplyAsync()).Code);
        await using var c = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.4");
        Assert.Equal(421, (await c.ReadReplyAsync()).Code);
        await using var other = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.6");
        Assert.Equal(220, (await other.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Size_limits_use_maxSizeError_with_the_limit_filled_in()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["maxSizeExternal"] = "5000" });
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        var ehlo = await client.CommandAsync("EHLO c.example");
        Assert.Contains("SIZE 5000", ehlo.Text);
        var declared = await client.CommandAsync("MAIL FROM:<a@c.example> SIZE=90000");
        Assert.Equal("552 message exceeds 5000 byte (size)", declared.Text.Trim());
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@c.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<u@example.com>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('y', 98) + "\r\n", 100)) + ".\r\n");
        Assert.Equal(552, (await client.ReadReplyAsync()).Code);
        // The session goes on and a small message still passes.
        Assert.Equal(250, (await client.SendMailAsync("a@c.example", ["u@example.com"], "Subject: small\r\n\r\nok\r\n", ehlo: false)).Code);
        Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Hostile_input_gets_replies_and_the_proxy_stays_up()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["MaxErrors"] = "0" });
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(500, (await client.CommandAsync(new string('A', 100_000))).Code);
            await client.SendRawAsync([0xFF, 0xFE, 0x00, 0x01, 0x80, (byte)'\r', (byte)'\n']);
            Assert.Equal(500, (await client.ReadReplyAsync()).Code);
            Assert.Equal("502 BDAT not supported", (await client.CommandAsync("BDAT 10 LAST")).Text.Trim());
            Assert.Equal(502, (await client.CommandAsync("XCLIENT ADDR=1.2.3.4")).Code);
            await client.CommandAsync("EHLO c.example");
            await client.CommandAsync("MAIL FROM:<a@c.example>");
            int accepted = 0, tooMany = 0;
            var batch = new System.Text.StringBuilder();
            for (int i = 0; i < 1100; i++) batch.Append($"RCPT TO:<u{i}@example.com>\r\n");
            await client.SendAsync(batch.ToString());
            for (int i = 0; i < 1100; i++)
            {
                var r = await client.ReadReplyAsync();
                if (r.Code == 250) accepted++;
                else if (r.Code == 452) tooMany++;
            }
            Assert.Equal(1000, accepted);
            Assert.Equal(100, tooMany);
        }
        await using var after = await TestSmtpClient.ConnectAsync(proxy.Port);
        Assert.Equal(220, (await after.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Starttls_works_with_swaks_and_the_mail_arrives()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DoTLS"] = "2" });
        var psi = new ProcessStartInfo("swaks",
            $"--server 127.0.0.1:{proxy.Port} --tls --from tls@client.example --to user@example.com --h-Subject tls-test --timeout 20")
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        p.WaitForExit(30_000);
        Assert.True(p.ExitCode == 0, output);
        Assert.Contains("TLS started", output);
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("with ESMTPS", got.Text);
    }

    [Fact]
    public async Task Drop_tls_mode_offers_no_starttls()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableTls = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DoTLS"] = "0" });
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        Assert.DoesNotContain("STARTTLS", (await client.CommandAsync("EHLO c.example")).Text);
        Assert.Equal(502, (await client.CommandAsync("STARTTLS")).Code);
    }

    [Fact]
    public async Task Graceful_stop_lets_a_running_transfer_finish_and_turns_idle_sessions_away()
    {
        await using var mta = await PostfixInstance.StartAsync();
        var proxy = await ProxyInstance.StartAsync(mta.Port, stopGrace: TimeSpan.FromSeconds(20));
        await using var busy = await TestSmtpClient.ConnectAsync(proxy.Port);
        await using var idle = await TestSmtpClient.ConnectAsync(proxy.Port);
        await busy.ReadReplyAsync();
        await idle.ReadReplyAsync();
        await busy.CommandAsync("EHLO c.example");
        await busy.CommandAsync("MAIL FROM:<a@c.example>");
        await busy.CommandAsync("RCPT TO:<u@example.com>");
        await busy.CommandAsync("DATA");
        await busy.SendAsync("Subject: during stop\r\n\r\nfirst half\r\n");
        var stopping = proxy.DisposeAsync().AsTask();
        Assert.Equal(421, (await idle.ReadReplyAsync()).Code);
        await busy.SendAsync("second half\r\n.\r\n");
        Assert.Equal(250, (await busy.ReadReplyAsync()).Code);
        await stopping;
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("second half", got.Text);
    }
}
