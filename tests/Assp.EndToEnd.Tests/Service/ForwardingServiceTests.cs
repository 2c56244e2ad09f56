using Assp.Config.Files;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.EndToEnd.Tests.Proxy;

namespace Assp.EndToEnd.Tests.Service;

/// <summary>
/// ProxyConf in the built `assp`: a transparent TCP forward to a private Postfix. The mail passes uninspected (no
/// Received line of ours); a reload that narrows the allow list turns new clients away while the SMTP listener
/// keeps working.
/// </summary>
public sealed class ForwardingServiceTests : IDisposable
{
    // A limit, not a pace: a passing run never waits for it, and a machine loaded far beyond its cores needs it.
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("assp-forward-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task ProxyConf_forwards_to_postfix_uninspected_and_follows_a_reload()
    {
        await using var mta = await PostfixInstance.StartAsync();
        var baseDir = Path.Combine(_dir, "base");
        var (exit, output) = await Repo.RunAssp(Quick, "init", "--base", baseDir);
        Assert.True(exit == 0, output);
        int smtpPort = Ports.FreeUnprivileged(), forwardPort = Ports.FreeUnprivileged();
        while (forwardPort == smtpPort) forwardPort = Ports.FreeUnprivileged();
        var cfgPath = Path.Combine(baseDir, "assp.cfg");
        var cfg = AsspConfigFile.Load(cfgPath);
        cfg.Set("listenPort", $"127.0.0.1:{smtpPort}");
        cfg.Set("smtpDestination", $"127.0.0.1:{mta.Port}");
        cfg.Set("localDomains", "example.com");
        cfg.Set("ProxyConf", "file:files/proxy_conf.txt");
        cfg.Set("ReloadOptionFiles", "3600");
        // Own web ports: another instance of the suite may hold the defaults (55555, 55553).
        cfg.Set("webAdminPort", $"127.0.0.1:{Ports.FreeUnprivileged()}");
        cfg.Set("webStatPort", $"127.0.0.1:{Ports.FreeUnprivileged()}");
        cfg.Save(cfgPath);
        var confFile = Path.Combine(baseDir, "files", "proxy_conf.txt");
        await File.WriteAllTextAsync(confFile, $"# submission straight to the MTA\n127.0.0.1:{forwardPort}=>127.0.0.1:{mta.Port}<=127.0.0.0/8\n");

        using var service = AsspService.Start(baseDir);
        await service.WaitForLogAsync("ready;", Quick);
        Assert.Contains($"forwarding TCP 127.0.0.1:{forwardPort} => 127.0.0.1:{mta.Port}", service.ReadMaillog());

        await using (var client = await TestSmtpClient.ConnectAsync(forwardPort))
        {
            var greeting = await client.ReadReplyAsync();
            Assert.Equal(220, greeting.Code);
            Assert.DoesNotContain("ASSP", greeting.Text);
            Assert.Equal(250, (await client.SendMailAsync("a@c.example", ["u@example.com"], "Subject: forwarded\r\n\r\nraw\r\n")).Code);
            await client.CommandAsync("QUIT");
        }
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: forwarded", got.Text);
        Assert.DoesNotContain("ASSP for .NET", got.Text);
        await service.WaitForLogAsync("disconnected from 127.0.0.1:" + mta.Port, Quick);

        // Only 10.0.0.0/8 may use it now: loopback clients are closed at once; the SMTP listener is unaffected.
        await File.WriteAllTextAsync(confFile, $"127.0.0.1:{forwardPort}=>127.0.0.1:{mta.Port}<=10.0.0.0/8\n");
        service.Signal("HUP");
        await service.WaitForLogAsync($"stopped forwarding 127.0.0.1:{forwardPort}", Quick);
        // The new rule is bound once its "forwarding" line is there a second time.
        string opened = $"forwarding TCP 127.0.0.1:{forwardPort} => 127.0.0.1:{mta.Port}";
        for (int i = 0; i < 200 && service.ReadMaillog().Split(opened).Length < 3; i++) await Task.Delay(50);
        var afterReload = service.ReadMaillog();
        Assert.Equal(3, afterReload.Split(opened).Length);
        Assert.DoesNotContain("error: ProxyConf", afterReload);
        await using (var refused = await TestSmtpClient.ConnectAsync(forwardPort))
        {
            Assert.True(await refused.IsClosedAsync(TimeSpan.FromSeconds(10)));
        }
        await service.WaitForLogAsync("not in the allowed clients of ProxyConf", Quick);
        await using (var client = await TestSmtpClient.ConnectAsync(smtpPort))
        {
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
            Assert.Equal(250, (await client.SendMailAsync("a@c.example", ["u@example.com"], "Subject: inspected\r\n\r\nx\r\n")).Code);
        }
        var both = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Contains(both, m => m.Text.Contains("Subject: inspected", StringComparison.Ordinal) && m.Text.Contains("ASSP for .NET", StringComparison.Ordinal));

        service.Signal("TERM");
        Assert.True(await service.WaitForExitAsync(TimeSpan.FromSeconds(45)), service.Output);
    }
}
