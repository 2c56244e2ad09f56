using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Mime;
using Assp.Smtp.BlockReports;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// Block reports through the real proxy and Postfix: a spam is refused and stored; the user asks for a report by
/// mail and gets it; the scheduled BlockReportFile report arrives with a resend link; mailing that link's request
/// delivers the blocked mail to the user, marked X-Assp-Resend-Blocked.
/// </summary>
public partial class BlockReportTests
{
    private static DecisionPipeline Pipeline(IStore store) => EmailInterfaceTests.Pipeline(store);

    private static Task<TestSmtpClient> AuthenticatedAsync(int port) => EmailInterfaceTests.AuthenticatedAsync(port);

    [GeneratedRegex(@"mailto:(?<to>[^?\s]+)\?subject=(?<subject>[^&\s]+)&body=(?<body>\S+)")]
    private static partial Regex LinkRegex();

    private static string TextPart(CapturedMessage m) =>
        MimeParser.Parse(m.Raw).TextParts.First(p => p.MimeType == "text/plain").GetText() ?? "";

    private static async Task<CapturedMessage> WaitForAsync(PostfixInstance mta, ProxyInstance proxy, Func<CapturedMessage, bool> match)
    {
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < end)
        {
            if (mta.GetCapturedMessages().FirstOrDefault(match) is { } found) return found;
            await Task.Delay(100);
        }
        throw new TimeoutException("the expected mail did not reach Postfix:\n" + proxy.ReadMaillog());
    }

    [Fact]
    public async Task A_blocked_spam_is_reported_on_request_and_on_schedule_and_its_resend_link_delivers_it()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["AUTHrequireTLS"] = "0",
            ["blackListedDomains"] = "spam.example",
            ["DoBlackDomainWL"] = "0",
            ["EmailFrom"] = "spammaster@example.com",
            ["BlockReportFilter"] = "Virus",
            ["BlockReportFile"] = "file:files/blockreportlist.txt",
        }, pipeline: Pipeline(store));
        Directory.CreateDirectory(Path.Combine(proxy.BaseDirectory, "files"));
        await File.WriteAllTextAsync(Path.Combine(proxy.BaseDirectory, "files", "blockreportlist.txt"), "# daily\nme@example.com=>=>1\n");

        // The spam: refused, stored in spam/, the maillog names the file (inclResendLink switches fileLogging on).
        await using (var outside = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.2"))
        {
            await outside.ReadReplyAsync();
            Assert.Equal(554, (await outside.SendMailAsync("bad@spam.example", ["me@example.com"],
                "From: bad@spam.example\r\nTo: me@example.com\r\nSubject: Cheap <pills> today\r\n\r\nbuy now\r\n")).Code);
        }
        await proxy.WaitForLogAsync("-> spam/");
        Assert.Empty(mta.GetCapturedMessages());

        // The user asks for the last three days' report by mail; the request never reaches Postfix.
        await using (var user = await AuthenticatedAsync(proxy.Port))
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", ["asspblock@assp.local"],
                "From: me@example.com\r\nTo: asspblock@assp.local\r\nSubject: 3\r\n\r\n", ehlo: false)).Code);
        var requested = await WaitForAsync(mta, proxy, m => m.Sender == "spammaster@example.com");
        Assert.Equal(["me@example.com"], requested.Recipients);
        var parsed = MimeParser.Parse(requested.Raw);
        Assert.StartsWith("ASSP block report for me@example.com", parsed.Subject);
        Assert.Contains("1 blocked mail in 3 days", parsed.Subject);
        Assert.Contains("Cheap <pills> today", TextPart(requested));
        Assert.Contains("Cheap &lt;pills&gt; today", parsed.TextParts.First(p => p.MimeType == "text/html").GetText());

        // The scheduled report (the BlockReportSchedule job's work, run now).
        var cfg = proxy.Config.Current;
        var jobs = BlockReportService.DueJobs(cfg, atBlockReportSchedule: true, DateTime.Now);
        Assert.Equal(1, await BlockReportService.RunScheduledAsync(cfg, jobs, DateTimeOffset.UtcNow, proxy.Log.Write));
        var scheduled = await WaitForAsync(mta, proxy, m => m.Sender == "spammaster@example.com" && m != requested && MimeParser.Parse(m.Raw).Subject!.Contains("in 1 day"));
        var link = LinkRegex().Match(TextPart(scheduled));
        Assert.True(link.Success, TextPart(scheduled));
        Assert.Equal("asspblock@assp.local", link.Groups["to"].Value);

        // Following the link: the mail it opens is sent by the user; the blocked mail is delivered to the user.
        var subject = Uri.UnescapeDataString(link.Groups["subject"].Value);
        var body = Uri.UnescapeDataString(link.Groups["body"].Value);
        Assert.StartsWith("###spam/", body);
        await using (var user = await AuthenticatedAsync(proxy.Port))
            Assert.Equal(250, (await user.SendMailAsync("me@example.com", [link.Groups["to"].Value],
                $"From: me@example.com\r\nTo: {link.Groups["to"].Value}\r\nSubject: {subject}\r\n\r\n{body}", ehlo: false)).Code);
        var resent = await WaitForAsync(mta, proxy, m => m.Text.Contains("X-Assp-Resend-Blocked: proxy.assp-e2e.test"));
        Assert.Equal("bad@spam.example", resent.Sender);
        Assert.Equal(["me@example.com"], resent.Recipients);
        Assert.Contains("Subject: Cheap <pills> today", resent.Text);
        Assert.Contains("buy now", resent.Text);
        Assert.Contains("resend of spam/", await proxy.WaitForLogAsync("resend of spam/"));
        // DelResendSpam: the user's resend removed the stored spam.
        Assert.Empty(Directory.GetFiles(Path.Combine(proxy.BaseDirectory, "spam")));
        Assert.DoesNotContain(mta.GetCapturedMessages(), m => m.Recipients.Any(r => r.StartsWith("asspblock", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Another_user_cannot_have_the_blocked_mail_resent_and_an_outsider_cannot_ask_for_reports()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["AUTHrequireTLS"] = "0",
            ["blackListedDomains"] = "spam.example",
            ["DoBlackDomainWL"] = "0",
            ["EmailFrom"] = "spammaster@example.com",
        }, pipeline: Pipeline(store));
        await using (var outside = await TestSmtpClient.ConnectAsync(proxy.Port, "127.0.0.2"))
        {
            await outside.ReadReplyAsync();
            Assert.Equal(554, (await outside.SendMailAsync("bad@spam.example", ["me@example.com"],
                "From: bad@spam.example\r\nTo: me@example.com\r\nSubject: private\r\n\r\nfor me only\r\n")).Code);
            Assert.Equal(250, (await outside.CommandAsync("MAIL FROM:<stranger@outside.example>")).Code);
            Assert.Equal(550, (await outside.CommandAsync("RCPT TO:<asspblock@assp.local>")).Code);
        }
        var log = await proxy.WaitForLogAsync("-> spam/");
        var file = Regex.Match(log, @"-> (spam/\S+)").Groups[1].Value;
        await using (var nosy = await AuthenticatedAsync(proxy.Port))
            Assert.Equal(250, (await nosy.SendMailAsync("nosy@example.com", ["asspblock@assp.local"],
                $"From: nosy@example.com\r\nSubject: request ASSP to resend blocked mail from ASSP-host proxy.assp-e2e.test\r\n\r\n###{file}###\r\n", ehlo: false)).Code);
        var notice = await WaitForAsync(mta, proxy, m => m.Sender == "spammaster@example.com");
        Assert.Equal(["nosy@example.com"], notice.Recipients);
        Assert.Contains("denied", notice.Text);
        Assert.DoesNotContain(mta.GetCapturedMessages(), m => m.Text.Contains("for me only"));
        Assert.True(File.Exists(Path.Combine(proxy.BaseDirectory, file)));
    }
}
