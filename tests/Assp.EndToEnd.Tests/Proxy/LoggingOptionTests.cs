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
}
