using System.Diagnostics;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>SMTP AUTH passes through the proxy to Postfix (Cyrus SASL); a good login gives relay rights.</summary>
public class AuthTests
{
    private static async Task<(int Exit, string Output)> Swaks(string args)
    {
        var psi = new ProcessStartInfo("swaks", args + " --timeout 20") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, output);
    }

    [Fact]
    public async Task An_authenticated_client_may_relay_and_a_bad_password_is_refused()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["AUTHrequireTLS"] = "0" });
        var ok = await Swaks($"--server 127.0.0.1:{proxy.Port} --auth PLAIN --auth-user {PostfixInstance.AuthUser} --auth-password {PostfixInstance.AuthPassword} " +
            "--from me@example.com --to friend@remote.example --h-Subject authed");
        Assert.True(ok.Exit == 0, ok.Output);
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(["friend@remote.example"], got.Recipients);
        Assert.Contains("with ESMTPA", got.Text);

        var bad = await Swaks($"--server 127.0.0.1:{proxy.Port} --auth PLAIN --auth-user {PostfixInstance.AuthUser} --auth-password wrong " +
            "--from me@example.com --to friend@remote.example");
        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("535", bad.Output);
        await proxy.WaitForLogAsync("authentication failed");
    }

    [Fact]
    public async Task AUTHrequireTLS_exempts_private_addresses_like_loopback()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        // ASSP exempts loopback, RFC 1918 and RFC 4193 clients from AUTHrequireTLS; the address rule itself is
        // unit-tested in Assp.Smtp.Tests (a test client here can only come from loopback).
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["AUTHrequireTLS"] = "4" });
        var ok = await Swaks($"--server 127.0.0.1:{proxy.Port} --auth LOGIN --auth-user {PostfixInstance.AuthUser} --auth-password {PostfixInstance.AuthPassword} " +
            "--from me@example.com --to friend@remote.example");
        Assert.True(ok.Exit == 0, ok.Output);
    }

    [Fact]
    public async Task DisableExtAUTH_hides_auth_from_external_clients()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["DisableExtAUTH"] = "1" });
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.2");
        await client.ReadReplyAsync();
        Assert.DoesNotContain("AUTH", (await client.CommandAsync("EHLO c.example")).Text);
        Assert.Equal("502 AUTH not supported", (await client.CommandAsync("AUTH PLAIN AHRlc3R1c2VyAHRlc3RwYXNz")).Text.Trim());
    }

    [Fact]
    public async Task Repeated_failures_block_the_network_under_MaxAUTHErrors()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["MaxAUTHErrors"] = "2", ["AUTHrequireTLS"] = "0" });
        for (int i = 0; i < 3; i++)
        {
            await using var client = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.9");
            await client.ReadReplyAsync();
            await client.CommandAsync("EHLO c.example");
            Assert.Equal(535, (await client.CommandAsync("AUTH PLAIN AHRlc3R1c2VyAHdyb25n")).Code);
        }
        await using var blocked = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.10");
        var reply = await blocked.ReadReplyAsync();
        Assert.Equal(521, reply.Code);
        Assert.Contains("too many previous AUTH errors", reply.Text);
    }
}
