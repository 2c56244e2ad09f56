using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// DoTLS "TLS to Proxy" and TLStoProxyListenPorts: the client's STARTTLS goes on to the real Postfix and the session
/// becomes a tunnel the proxy cannot read — the client gets Postfix's certificate and Postfix's own EHLO (with
/// extensions the proxy would have removed), and the mail arrives without the proxy's marks.
/// </summary>
public sealed class TransparentTlsTests
{
    private const string Message = "From: a@client.example\r\nTo: user@example.com\r\nSubject: through the tunnel\r\n\r\nencrypted end to end\r\n";

    private static async Task TunnelAsync(PostfixInstance mta, ProxyInstance proxy, int port)
    {
        await using var client = await TestSmtpClient.ConnectAsync(port);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.Contains("STARTTLS", ehlo.Text);
        Assert.DoesNotContain("ETRN", ehlo.Text);   // the proxy filters Postfix's extensions while it reads the session
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.StartTlsAsync();
        // Postfix's certificate, not the proxy's (which would name proxy.assp-e2e.test).
        Assert.Contains("CN=" + PostfixInstance.HostName, client.Tls!.RemoteCertificate!.Subject);
        var inside = await client.CommandAsync("EHLO client.example");
        Assert.Equal(250, inside.Code);
        Assert.Contains("ETRN", inside.Text);       // Postfix itself answers now
        var final = await client.SendMailAsync("a@client.example", ["user@example.com"], Message, ehlo: false);
        Assert.Equal(250, final.Code);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);

        var delivered = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(60)));
        Assert.Contains("encrypted end to end", delivered.Text);
        Assert.DoesNotContain("X-Assp", delivered.Text);   // no check saw it
        await proxy.WaitForLogAsync("STARTTLS: the session goes on as an encrypted tunnel to the MTA");
    }

    [Fact]
    public async Task TLS_to_Proxy_tunnels_STARTTLS_to_postfix()
    {
        // Only when both sides can: a Postfix without TLS means no STARTTLS for the client either.
        await using (var plainMta = await PostfixInstance.StartAsync())
        await using (var toPlain = await ProxyInstance.StartAsync(plainMta.Port, new Dictionary<string, string> { ["DoTLS"] = "1" }))
        {
            await using var client = await TestSmtpClient.ConnectAsync(toPlain.Port);
            await client.ReadReplyAsync();
            Assert.DoesNotContain("STARTTLS", (await client.CommandAsync("EHLO client.example")).Text);
            Assert.Equal(502, (await client.CommandAsync("STARTTLS")).Code);
        }
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableTls = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DoTLS"] = "1" });
        await TunnelAsync(mta, proxy, proxy.Port);
    }

    [Fact]
    public async Task TLStoProxyListenPorts_tunnels_on_its_ports_even_when_DoTLS_drops_TLS()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableTls = true });
        // Without the option, DoTLS 0 offers no STARTTLS at all.
        await using (var plain = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DoTLS"] = "0" }))
        {
            await using var client = await TestSmtpClient.ConnectAsync(plain.Port);
            await client.ReadReplyAsync();
            Assert.DoesNotContain("STARTTLS", (await client.CommandAsync("EHLO client.example")).Text);
        }
        // The listener spec as the port option has it.
        int port = ProxyInstance.FreePort();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoTLS"] = "0",
            ["listenPort"] = $"127.0.0.1:{port}",
            ["TLStoProxyListenPorts"] = $"127.0.0.1:{port}",
        });
        await TunnelAsync(mta, proxy, port);
    }
}
