using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>The logging options through the real proxy and Postfix.</summary>
public class LoggingOptionTests
{
    [Fact]
    public async Task ReportLog_decides_how_much_of_the_email_interface_is_logged()
    {
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        foreach (var level in new[] { "0", "2" })
        {
            using var store = new MemoryStore();
            await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
            {
                ["AUTHrequireTLS"] = "0",
                ["EmailFrom"] = "spammaster@example.com",
                ["ReportLog"] = level,
                ["subjectLogging"] = "1",
            }, pipeline: EmailInterfaceTests.Pipeline(store));
            await using (var user = await EmailInterfaceTests.AuthenticatedAsync(proxy.Port))
            {
                Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["assphelp@assp.local"],
                    "From: me@example.com\r\nTo: assphelp@assp.local\r\nSubject: help\r\n\r\n", ehlo: false)).Code);
                // An ordinary mail after the request: its [MessageOK] line shows the subject (subjectLogging).
                Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["user@example.com"],
                    "From: me@example.com\r\nTo: user@example.com\r\nSubject: after the help\r\n\r\nhi\r\n", ehlo: false)).Code);
            }
            var ok = await proxy.WaitForLogAsync("[MessageOK]");
            Assert.Contains("[after the help]", ok);
            if (level == "2")
            {
                await proxy.WaitForLogAsync("email interface: reply sent to me@example.com");
                Assert.Contains("email interface: EmailHelp request from me@example.com to assphelp@assp.local", proxy.ReadMaillog());
            }
            else
            {
                // The help reply reaches Postfix all the same; the log says nothing of the interface.
                await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(30));
                Assert.DoesNotContain("email interface", proxy.ReadMaillog());
            }
        }
    }

    [Fact]
    public async Task SysLog_debugIP_and_noLogRe_on_a_real_delivery()
    {
        using var syslog = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)syslog.Client.LocalEndPoint!).Port;
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["sysLog"] = "1",
            ["sysLogIp"] = "127.0.0.1",
            ["sysLogPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SysLogFac"] = "local0",
            ["debugIP"] = "127.0.0.1",
            ["debugNoWriteBody"] = "1",
            ["noLogRe"] = "X-Quiet: yes",
        }, pipeline: EmailInterfaceTests.Pipeline(store));
        await using (var client = await TestSmtpClient.ConnectAsync(proxy.Port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                "From: friend@far.example\r\nTo: me@example.com\r\nSubject: loud\r\n\r\nthe secret body\r\n")).Code);
            Assert.Equal(250, (await client.SendMailAsync("friend@far.example", ["me@example.com"],
                "From: friend@far.example\r\nTo: me@example.com\r\nSubject: quiet\r\nX-Quiet: yes\r\n\r\nhush\r\n", ehlo: false)).Code);
        }
        await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(30));

        // The delivery line reaches syslog as local0.info (16*8+6).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? okPacket = null;
        while (okPacket is null)
        {
            var text = Encoding.UTF8.GetString((await syslog.ReceiveAsync(timeout.Token)).Buffer);
            if (text.Contains("[MessageOK]", StringComparison.Ordinal)) okPacket = text;
        }
        Assert.StartsWith("<134>", okPacket);
        Assert.Contains("[loud]", okPacket);

        // noLogRe: the second mail is not in the maillog, but in the session's debug file.
        var log = await proxy.WaitForLogAsync("[loud]");
        Assert.DoesNotContain("[quiet]", log);
        var debug = Assert.Single(Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "logs", "debug"), "*.dbg"));
        var trace = await File.ReadAllTextAsync(debug);
        Assert.Contains("C: MAIL FROM:<friend@far.example>", trace);
        Assert.Contains("noLogRe matched the header", trace);
        Assert.Contains("[quiet]", trace);
        Assert.DoesNotContain("the secret body", trace);
    }
}
