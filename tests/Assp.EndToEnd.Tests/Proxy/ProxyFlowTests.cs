using System.Diagnostics;
using System.Text;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>Mail through the real proxy into a real Postfix.</summary>
public class ProxyFlowTests
{
    private const string Message = "From: sender@client.example\r\nTo: user@example.com\r\nSubject: e2e\r\nX-Assp-Spam-Prob: forged\r\n\r\nline one\r\n.starts with a dot\r\n..two dots\r\nlast line\r\n";

    [Fact]
    public async Task A_message_reaches_postfix_with_envelope_body_and_proxy_headers()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        var final = await client.SendMailAsync("sender@client.example", ["user@example.com", "other@example.org"], Message);
        Assert.Equal(250, final.Code);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);

        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal("sender@client.example", got.Sender);
        Assert.Equal(["other@example.org", "user@example.com"], got.Recipients.Order());
        var text = got.Text.Replace("\r\n", "\n");
        Assert.Contains("by proxy.assp-e2e.test with ESMTP (ASSP for .NET", text);
        Assert.Contains("X-Assp-ID: proxy.assp-e2e.test m1-", text);
        Assert.Contains("X-Assp-Intended-For: user@example.com", text);
        Assert.Contains("X-Assp-Envelope-From: sender@client.example", text);
        Assert.DoesNotContain("forged", text);   // the sender's own X-Assp header was removed
        Assert.Contains("\nline one\n.starts with a dot\n..two dots\nlast line\n", text);
        var log = await proxy.WaitForLogAsync("[MessageOK]");
        Assert.Contains("<sender@client.example> to: user@example.com message ok", log);
    }

    [Fact]
    public async Task Pipelined_commands_get_their_replies_in_order()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.Contains("PIPELINING", ehlo.Text);
        Assert.DoesNotContain("CHUNKING", ehlo.Text);
        await client.SendAsync("MAIL FROM:<a@client.example>\r\nRCPT TO:<user@example.com>\r\nRCPT TO:<nobody@elsewhere.example>\r\nRCPT TO:<user2@example.com>\r\nDATA\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(530, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(354, (await client.ReadReplyAsync()).Code);
        await client.SendAsync("Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(221, (await client.ReadReplyAsync()).Code);
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(["user2@example.com", "user@example.com"], got.Recipients.Order());
    }

    [Fact]
    public async Task Replies_from_postfix_reach_the_client_unchanged()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { RejectRecipientsRegex = "^reject", MessageSizeLimit = 20000 });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        await client.CommandAsync("MAIL FROM:<a@client.example>");
        var refused = await client.CommandAsync("RCPT TO:<reject-me@example.com>");
        Assert.Equal(550, refused.Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<ok@example.com>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 70) + "\r\n", 1000)) + ".\r\n");
        var tooBig = await client.ReadReplyAsync();
        Assert.Equal(552, tooBig.Code);
        Assert.Empty(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task An_unreachable_mta_gets_a_421_and_never_a_250()
    {
        int deadPort = ProxyInstance.FreePort();
        await using var proxy = await ProxyInstance.StartAsync(deadPort);
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        var greeting = await client.ReadReplyAsync();
        Assert.Equal(421, greeting.Code);
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_client_that_vanishes_mid_data_delivers_nothing_and_the_proxy_stays_up()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            await client.CommandAsync("EHLO c.example");
            await client.CommandAsync("MAIL FROM:<a@c.example>");
            await client.CommandAsync("RCPT TO:<user@example.com>");
            await client.CommandAsync("DATA");
            await client.SendAsync("Subject: half\r\n\r\nonly half of it");
        }
        await proxy.WaitForLogAsync("client disconnected during DATA");
        await using var second = await TestSmtpClient.ConnectAsync(proxy.Port);
        await second.ReadReplyAsync();
        Assert.Equal(250, (await second.SendMailAsync("a@c.example", ["user@example.com"], "Subject: whole\r\n\r\nfine\r\n")).Code);
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: whole", got.Text);
        await Task.Delay(500);
        Assert.Single(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task Smtp_source_load_passes_through_completely()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        var psi = new ProcessStartInfo("/usr/sbin/smtp-source",
            $"-s 5 -m 40 -c -f load@client.example -t user@example.com -S \"load test\" 127.0.0.1:{proxy.Port}")
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        Assert.True(p.WaitForExit(60_000), "smtp-source did not finish");
        Assert.Equal(0, p.ExitCode);
        var got = await mta.WaitForMessagesAsync(40, TimeSpan.FromSeconds(60));
        Assert.Equal(40, got.Count);
    }
}
