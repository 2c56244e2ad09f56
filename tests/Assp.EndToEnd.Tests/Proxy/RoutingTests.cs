using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>Where the proxy connects from and to: smtpLocalIPAddress and INBOUND with smtpDestinationRT.</summary>
public class RoutingTests
{
    [Fact]
    public async Task SmtpLocalIPAddress_sets_the_source_address_postfix_sees()
    {
        await using var mta = await PostfixInstance.StartAsync();
        var settings = new Dictionary<string, string> { ["smtpLocalIPAddress"] = "file:files/localip.txt" };
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings);
        File.WriteAllText(Path.Combine(proxy.BaseDirectory, "files", "localip.txt"), "# route by target\n127.0.0.* => 127.0.0.7 # loopback\n* => 127.0.0.8\n");
        proxy.Config.Reload("test");
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        Assert.Equal(250, (await client.SendMailAsync("a@c.example", ["u@example.com"], "Subject: src\r\n\r\nx\r\n")).Code);
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("[127.0.0.7]", got.Text);
    }

    [Fact]
    public async Task Inbound_destinations_follow_the_routing_table()
    {
        await using var mta = await PostfixInstance.StartAsync();
        int unused = ProxyInstance.FreePort();
        await using var proxy = await ProxyInstance.StartAsync(0, new Dictionary<string, string>
        {
            ["smtpDestination"] = $"INBOUND:{unused}",
            ["smtpDestinationRT"] = $"127.0.0.1=>127.0.0.1:{mta.Port}",
        });
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.SendMailAsync("a@c.example", ["u@example.com"], "Subject: routed\r\n\r\nx\r\n")).Code);
        Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task DisableSMTPNetworking_turns_new_connections_away_at_run_time()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        await using var running = await TestSmtpClient.ConnectAsync(proxy.Port);
        await running.ReadReplyAsync();
        Assert.Empty(proxy.Config.SetValues([new("DisableSMTPNetworking", "1")]));
        await using var late = await TestSmtpClient.ConnectAsync(proxy.Port);
        Assert.Equal(421, (await late.ReadReplyAsync()).Code);
        // The session that was already running goes on with its snapshot.
        Assert.Equal(250, (await running.SendMailAsync("a@c.example", ["u@example.com"], "Subject: still\r\n\r\nx\r\n")).Code);
    }

    [Theory]
    [InlineData("1", false)]
    [InlineData("2", true)]
    public async Task ReplyLogging_all_also_logs_positive_replies(string mode, bool positiveLogged)
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["replyLogging"] = mode });
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO c.example");
        Assert.Equal(503, (await client.CommandAsync("DATA")).Code);
        await client.CommandAsync("QUIT");
        var log = await proxy.WaitForLogAsync("[SMTP Reply] 503");
        Assert.Equal(positiveLogged, log.Contains("[SMTP Reply] 250"));
    }
}
