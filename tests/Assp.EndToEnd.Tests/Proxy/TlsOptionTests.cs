using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The TLS options through the real proxy in front of a real Postfix: SSL_version, SSL_cipher_list, SSLtimeout,
/// banFailedSSLIP/noBanFailedSSLIP (STARTTLS and the SSL listener) and SSLDEBUG.
/// </summary>
public sealed class TlsOptionTests
{
    private static async Task<TestSmtpClient> ReadyForTlsAsync(ProxyInstance proxy)
    {
        var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        Assert.Contains("STARTTLS", (await client.CommandAsync("EHLO c.example")).Text);
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        return client;
    }

    /// <summary>Starts STARTTLS and then sends clear text, so the proxy's handshake fails.</summary>
    private static async Task FailHandshakeAsync(ProxyInstance proxy)
    {
        await using var client = await ReadyForTlsAsync(proxy);
        await client.SendAsync("this is not a TLS client hello\r\n");
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task SSL_version_limits_the_versions_the_proxy_accepts()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DoTLS"] = "2", ["SSL_version"] = "SSLv23:!TLSv1:!TLSv1_1:!TLSv1_2", ["banFailedSSLIP"] = "0" });
        await using (var old = await ReadyForTlsAsync(proxy))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => old.StartTlsAsync(SslProtocols.Tls12));
        }
        await using var current = await ReadyForTlsAsync(proxy);
        await current.StartTlsAsync();
        Assert.Equal(SslProtocols.Tls13, current.Tls!.SslProtocol);
        Assert.Equal(250, (await current.CommandAsync("EHLO c.example")).Code);
    }

    [Fact]
    public async Task SSL_cipher_list_decides_the_cipher_for_tls12()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoTLS"] = "2",
            ["SSL_version"] = "TLSv1_2",
            ["SSL_cipher_list"] = "ECDHE-RSA-AES128-GCM-SHA256:!AES256",
        });
        await using var client = await ReadyForTlsAsync(proxy);
        await client.StartTlsAsync();
        Assert.Equal(SslProtocols.Tls12, client.Tls!.SslProtocol);
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, client.Tls.NegotiatedCipherSuite);
        var reply = await client.SendMailAsync("a@c.example", ["u@example.com"], "Subject: cipher\r\n\r\nover TLS 1.2\r\n");
        Assert.Equal(250, reply.Code);
    }

    [Fact]
    public async Task SSLtimeout_ends_a_handshake_that_never_comes()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DoTLS"] = "2", ["SSLtimeout"] = "1", ["banFailedSSLIP"] = "0" });
        await using var client = await ReadyForTlsAsync(proxy);
        // The client says nothing after 220: the proxy gives up after SSLtimeout, long before smtpIdleTimeout (180 s).
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(60)));
        await proxy.WaitForLogAsync("TLS handshake failed: no handshake within 00:00:01");
    }

    [Fact]
    public async Task A_private_ip_that_fails_twice_gets_no_more_tls_and_is_refused_at_the_ssl_listener()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DoTLS"] = "2", ["SSLDEBUG"] = "3" }, listeners: ["listenPortSSL"]);
        await FailHandshakeAsync(proxy);
        // Loopback is private: one more try is given.
        Assert.Empty(proxy.Server.SslFailed.Banned());
        await FailHandshakeAsync(proxy);
        await proxy.WaitForLogAsync("added to the SSL-failed cache (banFailedSSLIP)");
        await proxy.WaitForLogAsync("SSL: protocols system default");

        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.DoesNotContain("STARTTLS", (await client.CommandAsync("EHLO c.example")).Text);
            Assert.Equal(502, (await client.CommandAsync("STARTTLS")).Code);
            // Mail still flows in clear text.
            Assert.Equal(250, (await client.SendMailAsync("a@c.example", ["u@example.com"], "Subject: clear\r\n\r\nno tls\r\n", ehlo: false)).Code);
        }
        await using var ssl = await TestSmtpClient.ConnectAsync(proxy.Ports["listenPortSSL"]);
        var refused = await ssl.ReadReplyAsync();
        Assert.Equal(421, refused.Code);
        Assert.Contains("SSL-Service not available for IP 127.0.0.1", refused.Text);
    }

    [Theory]
    [InlineData("banFailedSSLIP", "0")]
    [InlineData("banFailedSSLIP", "2")]
    [InlineData("noBanFailedSSLIP", "127.0.0.0/8")]
    public async Task Disabled_public_only_or_excluded_keeps_a_failing_private_ip_out_of_the_cache(string option, string value)
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DoTLS"] = "2", [option] = value });
        await FailHandshakeAsync(proxy);
        await FailHandshakeAsync(proxy);
        Assert.Empty(proxy.Server.SslFailed.Banned());
        await using var client = await ReadyForTlsAsync(proxy);
        await client.StartTlsAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO c.example")).Code);
    }

    [Fact]
    public async Task The_proxy_uses_the_tls_options_towards_the_mta_as_well()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableTls = true });
        // do TLS: the proxy starts TLS to Postfix too; TLS 1.2 with one cipher is what Postfix must agree to.
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoTLS"] = "2",
            ["SSL_version"] = "TLSv1_2",
            ["SSL_cipher_list"] = "ECDHE-RSA-AES128-GCM-SHA256",
        });
        await using var client = await ReadyForTlsAsync(proxy);
        await client.StartTlsAsync();
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, client.Tls!.NegotiatedCipherSuite);
        var reply = await client.SendMailAsync("a@c.example", ["u@example.com"], "Subject: both legs\r\n\r\nencrypted twice\r\n");
        Assert.Equal(250, reply.Code);
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("ECDHE-RSA-AES128-GCM-SHA256", got.Text);
    }
}
