using System.Text.RegularExpressions;
using Assp.Config.Files;
using Assp.Config.Registry;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.EndToEnd.Tests.Proxy;
using Assp.EndToEnd.Tests.Service;
using Microsoft.Playwright;

namespace Assp.EndToEnd.Tests.Web;

/// <summary>
/// The web admin of a real `assp run` in front of a private Postfix, driven by Debian's chromium through
/// Playwright (headless, no browser download): first login, an option change the proxy uses, a list file edit,
/// the analyzer, whitelisting from the lists page; screenshots of every page at desktop and phone size.
/// </summary>
public sealed partial class WebAdminBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";
    private const string NewPassword = "browser-test-password-1";

    public static string ScreenshotFolder { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    [GeneratedRegex(@"one-time password (\S+)")]
    private static partial Regex InitialPassword();

    [Fact]
    public async Task An_admin_logs_in_changes_an_option_edits_a_list_file_analyzes_spam_and_whitelists_a_sender()
    {
        Assert.True(File.Exists(Chromium), "chromium is missing: run scripts/install-test-deps.sh");
        await using var mta = await PostfixInstance.StartAsync();
        int smtpPort = ProxyInstance.FreePort(), webPort = ProxyInstance.FreePort();
        var baseDir = Path.Combine(Path.GetTempPath(), "assp-web-e2e-" + Guid.NewGuid().ToString("N"));
        BaseFolder.Initialize(baseDir, OptionRegistry.Default, new Dictionary<string, string>
        {
            ["smtpDestination"] = $"127.0.0.1:{mta.Port}",
            ["listenPort"] = $"127.0.0.1:{smtpPort}",
            ["webAdminPort"] = $"127.0.0.1:{webPort}",
            ["webStatPort"] = "",
            ["localDomains"] = "example.com",
            ["myName"] = "proxy.assp-e2e.test",
            ["maxSMTPipSessions"] = "0",
            ["DoDamping"] = "0",
            ["DoMsgID"] = "0",
            ["DoBlackDomainWL"] = "0",
            ["blackListedDomains"] = "file:files/blackdomains.txt",
        });
        File.WriteAllText(Path.Combine(baseDir, "files", "blackdomains.txt"), "evil.example\n");
        using var assp = AsspService.Start(baseDir);
        try
        {
            var log = await assp.WaitForLogAsync("ready;", TimeSpan.FromSeconds(60));
            var password = InitialPassword().Match(log).Groups[1].Value;
            Assert.NotEmpty(password);
            var url = $"http://127.0.0.1:{webPort}";

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
            var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
            // A limit, not a pace: password hashing and page loads share 2 cores with the other test assemblies.
            context.SetDefaultTimeout(90_000);
            var page = await context.NewPageAsync();
            page.Dialog += (_, dialog) => dialog.AcceptAsync();

            // First login: the one-time password works once and asks for a new password at once.
            await page.GotoAsync(url + "/config");
            Assert.EndsWith("/login", page.Url);
            await page.FillAsync("#user", "admin");
            await page.FillAsync("#password", password);
            await page.ClickAsync("button[type=submit]");
            await page.WaitForURLAsync("**/account/password");
            await page.FillAsync("#current", password);
            await page.FillAsync("#password", NewPassword);
            await page.FillAsync("#confirm", NewPassword);
            await page.ClickAsync("button[type=submit]");
            await page.WaitForURLAsync(u => u.EndsWith("/?changed=1"));
            Assert.Contains("Your password was changed", await page.ContentAsync());

            // An option change through the page, used by the running proxy in the next SMTP session.
            await page.GotoAsync(url + "/config");
            await page.FillAsync("#optfilter", "^SpamError$");
            var row = page.Locator("div.opt[data-name=SpamError]");
            await Screenshot(page, "config-filtered-1280x800");
            // The quick filter hides every other option of the section.
            Assert.True(await row.IsVisibleAsync());
            Assert.False(await page.Locator("div.opt[data-name=redRe]").IsVisibleAsync());
            await row.Locator("input").FillAsync("554 5.7.1 Not wanted here, says the web admin test");
            await page.Locator("details.section:has(div.opt[data-name=SpamError]) button[type=submit]").ClickAsync();
            await page.WaitForURLAsync("**/config?applied=*");
            Assert.Contains("Applied: SpamError", await page.ContentAsync());
            var refused = await SendAsync(smtpPort, "spam@evil.example");
            Assert.Equal(554, refused.Code);
            Assert.Contains("Not wanted here, says the web admin test", refused.Text);

            // A list file: a line the parser rejects is refused and nothing is saved; a good text is saved and used.
            await page.GotoAsync(url + "/config/file?option=blackListedDomains");
            await page.FillAsync("#filetext", "evil.example\nnot valid.example\n");
            await page.ClickAsync("button[type=submit]");
            Assert.Contains("Not saved", await page.ContentAsync());
            Assert.Equal("evil.example\n", File.ReadAllText(Path.Combine(baseDir, "files", "blackdomains.txt")));
            Assert.Equal(250, (await SendAsync(smtpPort, "someone@worse.example")).Code);
            await page.FillAsync("#filetext", "evil.example\nworse.example\n");
            await page.ClickAsync("button[type=submit]");
            Assert.Contains("Saved and loaded.", await page.ContentAsync());
            Assert.Equal(554, (await SendAsync(smtpPort, "someone@worse.example")).Code);

            // The analyzer on a pasted spam.
            await page.GotoAsync(url + "/analyzer");
            await page.FillAsync("#message", "From: <winner@evil.example>\r\nTo: me@example.com\r\nSubject: <b>You won</b>\r\n\r\nclaim now\r\n");
            await page.FillAsync("#ip", "192.0.2.77");
            await page.ClickAsync("form[action='/analyzer'] button[type=submit]");
            var verdict = await page.Locator("#verdict").InnerTextAsync();
            Assert.StartsWith("BLOCK", verdict);
            Assert.Contains("DoBlackDomain", await page.Locator("#result").InnerTextAsync());
            await Screenshot(page, "analyzer-result");

            // Whitelisting a sender on the lists page lets its mail through (DoBlackDomainWL is off).
            await page.GotoAsync(url + "/lists");
            await page.FillAsync("form[action='/lists/whitelist/add'] input[name=key]", "friend@worse.example");
            await page.ClickAsync("form[action='/lists/whitelist/add'] button[type=submit]");
            Assert.Contains("friend@worse.example whitelisted", await page.ContentAsync());
            Assert.Equal(250, (await SendAsync(smtpPort, "friend@worse.example")).Code);
            await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(30));

            // Screenshots of every page, desktop and phone.
            foreach (var (w, h) in new[] { (1280, 800), (390, 844) })
            {
                await page.SetViewportSizeAsync(w, h);
                foreach (var path in new[] { "/", "/config", "/config/file?option=blackListedDomains", "/lists", "/penaltybox", "/analyzer", "/users", "/system", "/account/password" })
                {
                    var response = await page.GotoAsync(url + path);
                    Assert.Equal(200, response!.Status);
                    // No page may be wider than the screen (a broken narrow layout scrolls sideways).
                    var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
                    Assert.True(overflow <= 1, $"{path} at {w}x{h} is {overflow}px wider than the screen");
                    await Screenshot(page, $"{(path == "/" ? "overview" : path.Trim('/').Replace('/', '-').Split('?')[0])}-{w}x{h}");
                }
            }
            // Logging out ends the session; the login page is the last one.
            await page.ClickAsync("form.logout button");
            await page.WaitForURLAsync("**/login");
            foreach (var (w, h) in new[] { (1280, 800), (390, 844) })
            {
                await page.SetViewportSizeAsync(w, h);
                await Screenshot(page, $"login-{w}x{h}");
            }
            await page.GotoAsync(url + "/config");
            Assert.EndsWith("/login", page.Url);
        }
        finally
        {
            assp.Dispose();
            try { Directory.Delete(baseDir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_held_session_shows_on_the_connections_page_a_refused_mail_is_whitelisted_from_the_maillog_and_counted_in_the_stats()
    {
        Assert.True(File.Exists(Chromium), "chromium is missing: run scripts/install-test-deps.sh");
        await using var mta = await PostfixInstance.StartAsync();
        int smtpPort = ProxyInstance.FreePort(), webPort = ProxyInstance.FreePort();
        var baseDir = Path.Combine(Path.GetTempPath(), "assp-web-live-e2e-" + Guid.NewGuid().ToString("N"));
        BaseFolder.Initialize(baseDir, OptionRegistry.Default, new Dictionary<string, string>
        {
            ["smtpDestination"] = $"127.0.0.1:{mta.Port}",
            ["listenPort"] = $"127.0.0.1:{smtpPort}",
            ["webAdminPort"] = $"127.0.0.1:{webPort}",
            ["webStatPort"] = "",
            ["localDomains"] = "example.com",
            ["myName"] = "proxy.assp-e2e.test",
            ["maxSMTPipSessions"] = "0",
            ["DoDamping"] = "0",
            ["DoMsgID"] = "0",
            ["DoBlackDomainWL"] = "0",
            ["blackListedDomains"] = "evil.example",
        });
        using var assp = AsspService.Start(baseDir);
        try
        {
            var log = await assp.WaitForLogAsync("ready;", TimeSpan.FromSeconds(60));
            var password = InitialPassword().Match(log).Groups[1].Value;
            var url = $"http://127.0.0.1:{webPort}";
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
            var second = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
            second.SetDefaultTimeout(90_000);
            var page = await second.NewPageAsync();
            page.Dialog += (_, dialog) => dialog.AcceptAsync();
            await page.GotoAsync(url + "/login");
            await page.FillAsync("#user", "admin");
            await page.FillAsync("#password", password);
            await page.ClickAsync("button[type=submit]");
            await page.WaitForURLAsync("**/account/password");
            await page.FillAsync("#current", password);
            await page.FillAsync("#password", NewPassword);
            await page.FillAsync("#confirm", NewPassword);
            await page.ClickAsync("button[type=submit]");
            await page.WaitForURLAsync(u => u.EndsWith("/?changed=1"));

            // A session held in DATA appears on the open connections page without a reload.
            await page.GotoAsync(url + "/connections");
            Assert.Contains("No open SMTP connections", await page.Locator("#connrows").InnerTextAsync());
            await using (var held = await TestSmtpClient.ConnectAsync(smtpPort))
            {
                await held.ReadReplyAsync();
                await held.CommandAsync("EHLO held.client.example");
                await held.CommandAsync("MAIL FROM:<holder@example.org>");
                await held.CommandAsync("RCPT TO:<me@example.com>");
                Assert.Equal(354, (await held.CommandAsync("DATA")).Code);
                await held.SendAsync("From: holder@example.org\r\nTo: me@example.com\r\nSubject: slow\r\n\r\n" + new string('x', 2000) + "\r\n");
                var row = page.Locator("#connrows tr", new() { HasText = "holder@example.org" });
                await row.WaitForAsync(new() { Timeout = 30_000 });
                var text = await row.InnerTextAsync();
                Assert.Contains("held.client.example", text);
                Assert.Contains("Data", text);
                await Screenshot(page, "connections-live-1280x800");
                await held.SendAsync(".\r\n");
                Assert.Equal(250, (await held.ReadReplyAsync()).Code);
                await held.CommandAsync("QUIT");
            }
            await page.Locator("#connrows tr", new() { HasText = "holder@example.org" }).WaitForAsync(new() { State = WaitForSelectorState.Detached, Timeout = 30_000 });

            // A refused mail is found in the maillog; its sender is whitelisted from the line, and the next mail passes.
            Assert.Equal(554, (await SendAsync(smtpPort, "spam@evil.example")).Code);
            await page.GotoAsync(url + "/maillog?q=" + Uri.EscapeDataString("spam@evil.example"));
            var line = page.Locator("#logrows tr", new() { HasText = "spam@evil.example" }).First;
            await line.WaitForAsync(new() { Timeout = 30_000 });
            await Screenshot(page, "maillog-search-1280x800");
            await line.Locator("details.act summary", new() { HasText = "spam@evil.example" }).First.ClickAsync();
            await line.Locator("details.act[open] button[value=whitelist]").ClickAsync();
            await page.WaitForURLAsync("**/maillog?q=*done=*");
            Assert.Contains("spam@evil.example whitelisted", await page.ContentAsync());
            Assert.Equal(250, (await SendAsync(smtpPort, "spam@evil.example")).Code);
            await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(30));

            // The live tail shows the next line while the page is open.
            await page.GotoAsync(url + "/maillog");
            Assert.Equal(250, (await SendAsync(smtpPort, "tail-check@example.org")).Code);
            await page.Locator("#logrows tr.fresh", new() { HasText = "tail-check@example.org" }).First.WaitForAsync(new() { Timeout = 30_000 });

            // The statistics count these messages.
            await page.GotoAsync(url + "/stats");
            var messages = long.Parse((await page.Locator("#totals tr[data-counter=messages] td").Nth(2).InnerTextAsync()).Replace(",", ""));
            var blocked = long.Parse((await page.Locator("#totals tr[data-counter=messages_blocked] td").Nth(2).InnerTextAsync()).Replace(",", ""));
            Assert.True(messages >= 3, $"{messages} messages counted");
            Assert.True(blocked >= 1, $"{blocked} blocked counted");

            foreach (var (w, h) in new[] { (1280, 800), (390, 844) })
            {
                await page.SetViewportSizeAsync(w, h);
                foreach (var path in new[] { "/connections", "/maillog", "/stats", "/health" })
                {
                    var response = await page.GotoAsync(url + path);
                    Assert.Equal(200, response!.Status);
                    var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
                    Assert.True(overflow <= 1, $"{path} at {w}x{h} is {overflow}px wider than the screen");
                    await Screenshot(page, $"{path.Trim('/')}-{w}x{h}");
                }
            }
        }
        finally
        {
            assp.Dispose();
            try { Directory.Delete(baseDir, true); } catch (IOException) { }
        }
    }

    private static async Task Screenshot(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotFolder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotFolder, name + ".png"), FullPage = false });
    }

    private static async Task<(int Code, string Text)> SendAsync(int port, string from)
    {
        await using var client = await TestSmtpClient.ConnectAsync(port);
        await client.ReadReplyAsync();
        return await client.SendMailAsync(from, ["me@example.com"], $"From: {from}\r\nTo: me@example.com\r\nSubject: hello\r\nMessage-ID: <{Guid.NewGuid():N}@x.example>\r\n\r\nhi\r\n");
    }
}
