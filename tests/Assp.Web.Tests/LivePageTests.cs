using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using Assp.Checks.Statistics;
using Assp.Config.Logging;
using Assp.Smtp.Monitoring;

namespace Assp.Web.Tests;

/// <summary>The live pages (connections, maillog, statistics, health) and the client certificate of webSSLRequireClientCert.</summary>
public sealed partial class LivePageTests
{
    [GeneratedRegex("name=\"_csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    private const string Hostile = "<script>alert(1)</script>";

    /// <summary>A stand-in for the proxy's session list: set the sessions, see what was closed.</summary>
    private sealed class FakeProxy
    {
        private readonly Lock _lock = new();
        private List<LiveSessionSnapshot> _sessions = [];
        private long _version = 1;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public List<string> Closed { get; } = [];
        public MailStatistics Statistics { get; } = new();

        public void Set(params LiveSessionSnapshot[] sessions)
        {
            TaskCompletionSource done;
            lock (_lock)
            {
                _sessions = [.. sessions];
                _version++;
                done = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            done.TrySetResult();
        }

        public LiveServices Services(HealthMonitor? health = null) => new()
        {
            Sessions = () => { lock (_lock) return new LiveSessionsView(_version, DateTimeOffset.Now, [.. _sessions]); },
            WaitForSessionChange = async (known, ct) =>
            {
                while (true)
                {
                    Task wait;
                    lock (_lock)
                    {
                        if (_version != known) return _version;
                        wait = _changed.Task;
                    }
                    await wait.WaitAsync(ct);
                }
            },
            CloseSession = (id, reason) =>
            {
                lock (_lock)
                {
                    if (_sessions.All(s => s.Id != id)) return false;
                    Closed.Add(id + " " + reason);
                }
                Set();
                return true;
            },
            Statistics = Statistics,
            Health = health,
        };
    }

    private static LiveSessionSnapshot Session(string id, string helo) => new(id, "192.0.2.7", 40000, "listenPort 127.0.0.1:25", DateTimeOffset.Now.AddSeconds(-75),
        helo, "alice@example.org", ["bob@example.com"], SessionPhase.Data, 7.5, ["ok"], null, 1, 12345);

    private static async Task<string> TokenAsync(HttpClient c, string page) => CsrfField().Match(await c.GetStringAsync(page)).Groups[1].Value;

    [Fact]
    public async Task Connections_page_lists_sessions_encoded_updates_by_long_poll_and_closes_one_with_the_token()
    {
        var proxy = new FakeProxy();
        proxy.Set(Session("00000A", Hostile));
        await using var web = await WebAdminInstance.StartAsync(live: proxy.Services());
        var (c, token) = await web.AdminClientAsync();

        var html = await c.GetStringAsync("connections");
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.DoesNotContain(Hostile, html);
        Assert.Contains("alice@example.org", html);
        Assert.Contains("12,345", html);
        // Begun 75 s before the page was made (more on a loaded machine): shown in minutes and seconds.
        Assert.Matches("<td>[1-9]\\d*m \\d{1,2}s</td>", html);
        var version = long.Parse(Regex.Match(html, "data-version=\"(\\d+)\"").Groups[1].Value);

        // The rows request waits for a change, then answers with the new rows.
        var waiting = c.GetFromJsonAsync<JsonElement>($"connections/rows?since={version}");
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        proxy.Set(Session("00000A", "a.example"), Session("00000B", "b.example"));
        var rows = await waiting.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(2, rows.GetProperty("count").GetInt32());
        Assert.Contains("b.example", rows.GetProperty("html").GetString());
        Assert.True(rows.GetProperty("version").GetInt64() > version);
        var api = await c.GetFromJsonAsync<JsonElement>("api/sessions");
        Assert.Equal("00000B", api.GetProperty("sessions")[1].GetProperty("id").GetString());
        Assert.Equal(12345, api.GetProperty("sessions")[1].GetProperty("bytes").GetInt64());

        // Close: refused without the token, done with it, reported when the session is gone.
        var forged = await c.PostAsync("connections/00000B/close", new FormUrlEncodedContent(new Dictionary<string, string>()));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Empty(proxy.Closed);
        var closed = await c.PostAsync("connections/00000B/close", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = await TokenAsync(c, "connections") }));
        Assert.Equal(HttpStatusCode.Redirect, closed.StatusCode);
        Assert.StartsWith("00000B closed by web admin (admin)", Assert.Single(proxy.Closed));
        var gone = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/sessions/00000B/close", token);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task A_viewer_watches_the_live_pages_but_cannot_close_read_stored_mail_or_reset()
    {
        var proxy = new FakeProxy();
        proxy.Set(Session("00000C", "c.example"));
        await using var web = await WebAdminInstance.StartAsync(live: proxy.Services());
        var (admin, token) = await web.AdminClientAsync();
        await WebAdminInstance.SendAsync(admin, HttpMethod.Post, "api/users", token, new { name = "vic", password = "vics-first-pw", role = "viewer" });
        using var viewer = web.NewClient();
        var (_, vt, _) = await WebAdminInstance.LoginAsync(viewer, "vic", "vics-first-pw");
        await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/account/password", vt, new { current = "vics-first-pw", password = "vics-own-password" });
        var page = await viewer.GetStringAsync("connections");
        Assert.Contains("c.example", page);
        Assert.DoesNotContain("/close", page);
        Assert.Equal(HttpStatusCode.Forbidden, (await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/sessions/00000C/close", vt)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/stats/reset", vt)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/maillog/action", vt, new { action = "whitelist", value = "a@b.example" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("maillog/file?path=x")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("stats")).StatusCode);
        Assert.Empty(proxy.Closed);
    }

    [Fact]
    public async Task Without_a_proxy_the_live_pages_say_so()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, _) = await web.AdminClientAsync();
        foreach (var page in new[] { "connections", "stats", "health" })
            Assert.Contains("No SMTP proxy runs in this process", await c.GetStringAsync(page));
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("api/sessions")).StatusCode);
    }

    private static void WriteLog(WebAdminInstance web, params string[] lines)
    {
        var cfg = web.Config.Current;
        var path = Path.Combine(web.BaseDirectory, cfg["logfile"]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var stamp = LogDateFormat.Format(DateTime.Now, cfg["LogDateFormat"], 0);
        File.AppendAllLines(path, lines.Select(l => stamp + " " + l));
    }

    [Fact]
    public async Task Maillog_search_encodes_every_line_and_its_click_action_whitelists_the_sender()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, _) = await web.AdminClientAsync();
        WriteLog(web,
            "m1-12345-00001 [Worker_1] 198.51.100.9 <spammer@bad.example> to: user@example.com [spam found] -- bombRe " + Hostile + " -- [SMTP Error] 554 5.7.1 no",
            "m1-12345-00002 [Worker_1] 198.51.100.10 <friend@good.example> to: user@example.com message ok");

        var html = await c.GetStringAsync("maillog?q=" + Uri.EscapeDataString("bad.example"));
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.DoesNotContain(Hostile, html);
        Assert.DoesNotContain("friend@good.example", html);
        Assert.Contains("class=\"v-spam\"", html);
        Assert.Contains("<summary>198.51.100.9</summary>", html);

        var regex = await c.GetStringAsync("maillog?regex=1&q=" + Uri.EscapeDataString("friend@good\\.ex"));
        Assert.Contains("friend@good.example", regex);
        Assert.Contains("not a date", await c.GetStringAsync("maillog?from=yesterday-ish"));
        var badRegex = await c.GetStringAsync("maillog?regex=1&q=" + Uri.EscapeDataString("(unclosed"));
        Assert.Contains("invalid regular expression", badRegex);

        var form = new Dictionary<string, string> { ["_csrf"] = CsrfField().Match(html).Groups[1].Value, ["action"] = "whitelist", ["value"] = "spammer@bad.example", ["back"] = "?q=bad.example" };
        var response = await c.PostAsync("maillog/action", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/maillog?q=bad.example&done=", response.Headers.Location!.OriginalString);
        Assert.Contains(new ListEditing(web.Store).Search(web.Config.Current, ListName.Whitelist, "spammer@bad.example").Rows, r => r.Key == "spammer@bad.example");
        // The way back cannot lead elsewhere.
        form["back"] = "//evil.example/";
        form["value"] = "other@bad.example";
        var moved = await c.PostAsync("maillog/action", new FormUrlEncodedContent(form));
        Assert.StartsWith("/maillog?done=", moved.Headers.Location!.OriginalString);
        form.Remove("_csrf");
        Assert.Equal(HttpStatusCode.Forbidden, (await c.PostAsync("maillog/action", new FormUrlEncodedContent(form))).StatusCode);
    }

    [Fact]
    public async Task Maillog_noprocessing_and_blacklist_actions_append_to_the_list_files_and_reload()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string>
        {
            ["noProcessing"] = "file:files/noprocessing.txt",
            ["blackListedDomains"] = "file:files/blackdomains.txt",
            ["localDomains"] = "example.com",
        });
        var (c, token) = await web.AdminClientAsync();
        WriteLog(web, "m1-12345-00001 [Worker_1] 198.51.100.9 <news@bulk.example> to: user@example.com [spam found] -- bombRe -- [SMTP Error] 554 5.7.1 no");
        var html = await c.GetStringAsync("maillog?q=bulk.example");
        Assert.Contains("value=\"noprocessing\"", html);
        Assert.Contains("value=\"blacklist\"", html);
        var generation = web.Config.Current.Generation;

        var form = new Dictionary<string, string> { ["_csrf"] = CsrfField().Match(html).Groups[1].Value, ["action"] = "noprocessing", ["value"] = "news@bulk.example" };
        var response = await c.PostAsync("maillog/action", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.DoesNotContain("error=1", response.Headers.Location!.OriginalString);
        var noProcessingFile = Path.Combine(web.BaseDirectory, "files", "noprocessing.txt");
        Assert.Contains(File.ReadAllLines(noProcessingFile), l => l.StartsWith("news@bulk.example  # added by web admin from admin", StringComparison.Ordinal));
        Assert.True(web.Config.Current.Generation > generation);
        Assert.True(web.Config.Current.GetAddressList("noProcessing").Contains("news@bulk.example"));
        // Listed now: nothing is added twice.
        var again = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/maillog/action", token, new { action = "noprocessing", value = "news@bulk.example" });
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Single(File.ReadAllLines(noProcessingFile), l => l.StartsWith("news@bulk.example", StringComparison.Ordinal));

        var black = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/maillog/action", token, new { action = "blacklist", value = "News@Bulk.Example" });
        Assert.Equal(HttpStatusCode.OK, black.StatusCode);
        Assert.Contains(File.ReadAllLines(Path.Combine(web.BaseDirectory, "files", "blackdomains.txt")), l => l.StartsWith("@bulk.example  #", StringComparison.Ordinal));
        Assert.True(web.Config.Current.GetDomainList("blackListedDomains").Matches("anyone@bulk.example"));
        // A local domain is never blacklisted, and a value that is not an address changes nothing.
        Assert.Equal(HttpStatusCode.BadRequest, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/maillog/action", token, new { action = "blacklist", value = "user@example.com" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/maillog/action", token, new { action = "blacklist", value = "198.51.100.9" })).StatusCode);
        Assert.False(web.Config.Current.GetDomainList("blackListedDomains").Matches("postmaster@example.com"));

        // No anti-forgery token: refused, nothing written.
        form.Remove("_csrf");
        form["value"] = "other@bulk.example";
        Assert.Equal(HttpStatusCode.Forbidden, (await c.PostAsync("maillog/action", new FormUrlEncodedContent(form))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/maillog/action", null, new { action = "noprocessing", value = "other@bulk.example" })).StatusCode);

        // A viewer may not change lists.
        await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/users", token, new { name = "vic", password = "vics-first-pw", role = "viewer" });
        using var viewer = web.NewClient();
        var (_, vt, _) = await WebAdminInstance.LoginAsync(viewer, "vic", "vics-first-pw");
        await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/account/password", vt, new { current = "vics-first-pw", password = "vics-own-password" });
        Assert.Equal(HttpStatusCode.Forbidden, (await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/maillog/action", vt, new { action = "noprocessing", value = "other@bulk.example" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/maillog/action", vt, new { action = "blacklist", value = "other@bulk.example" })).StatusCode);
        Assert.DoesNotContain("other@bulk.example", File.ReadAllText(noProcessingFile));
    }

    [Fact]
    public async Task Maillog_noprocessing_on_an_inline_list_says_so_and_changes_nothing()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string> { ["noProcessing"] = "someone@inline.example" });
        var (c, token) = await web.AdminClientAsync();
        var generation = web.Config.Current.Generation;
        var response = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/maillog/action", token, new { action = "noprocessing", value = "news@bulk.example" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("noProcessing is not a file: list", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Equal(generation, web.Config.Current.Generation);
        Assert.Equal("someone@inline.example", web.Config.Current["noProcessing"]);
    }

    [Fact]
    public async Task The_maillog_page_opens_with_the_last_MaillogTailBytes_of_the_log_and_MaillogTailJump_marks_the_table()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string> { ["MaillogTailBytes"] = "300", ["MaillogTailJump"] = "1" });
        var (c, _) = await web.AdminClientAsync();
        WriteLog(web, Enumerable.Range(1, 20).Select(i => $"m1-12345-{i:00000} [Worker_1] line number {i:00} 192.0.2.{i}").ToArray());
        var html = await c.GetStringAsync("maillog");
        Assert.Contains("line number 20", html);
        Assert.DoesNotContain("line number 01 ", html);
        Assert.Contains("The last 300 bytes of the current maillog", html);
        Assert.Contains("data-jump=\"1\"", html);
        // The newest line comes first, as in the live tail.
        Assert.True(html.IndexOf("line number 20", StringComparison.Ordinal) < html.IndexOf("line number 19", StringComparison.Ordinal));
        // "Search all logs" shows everything (the search), also the old lines.
        Assert.Contains("line number 01 ", await c.GetStringAsync("maillog?full=1"));
    }

    [Fact]
    public async Task Maillog_tail_returns_only_the_lines_written_since_the_offset()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, _) = await web.AdminClientAsync();
        WriteLog(web, "old line 192.0.2.1");
        var html = await c.GetStringAsync("maillog");
        var offset = long.Parse(Regex.Match(html, "data-offset=\"(\\d+)\"").Groups[1].Value);
        Assert.True(offset > 0);
        var none = await c.GetFromJsonAsync<JsonElement>($"maillog/tail?offset={offset}");
        Assert.Equal(0, none.GetProperty("count").GetInt32());

        WriteLog(web, "m1-12345-00003 192.0.2.2 <new@example.org> to: user@example.com message ok " + Hostile, "unrelated 192.0.2.3");
        var tail = await c.GetFromJsonAsync<JsonElement>($"maillog/tail?q=new%40example&offset={offset}");
        Assert.Equal(1, tail.GetProperty("count").GetInt32());
        var rows = tail.GetProperty("html").GetString()!;
        Assert.Contains("new@example.org", rows);
        Assert.DoesNotContain("<script>", rows);
        Assert.DoesNotContain("old line", rows);
        Assert.True(tail.GetProperty("offset").GetInt64() > offset);

        var api = await c.GetFromJsonAsync<JsonElement>($"api/maillog/tail?offset={offset}");
        Assert.Equal(2, api.GetProperty("entries").GetArrayLength());
        Assert.Equal("new@example.org", api.GetProperty("entries")[0].GetProperty("sender").GetString());
    }

    [Fact]
    public async Task A_stored_message_is_shown_encoded_resent_and_copied_and_paths_outside_the_base_folder_are_refused()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, token) = await web.AdminClientAsync();
        Directory.CreateDirectory(Path.Combine(web.BaseDirectory, "spam"));
        File.WriteAllText(Path.Combine(web.BaseDirectory, "spam", "msg1.eml"), "From: x@bad.example\r\nSubject: " + Hostile + "\r\n\r\nbody\r\n");
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(web.BaseDirectory)!, "outside-" + Path.GetFileName(web.BaseDirectory) + ".txt"), "secret");
        WriteLog(web, "m1-12345-00004 198.51.100.9 <x@bad.example> to: user@example.com [spam found] -> spam/msg1.eml");

        var log = await c.GetStringAsync("maillog?q=msg1");
        Assert.Contains("href=\"/maillog/file?path=spam%2Fmsg1.eml\"", log);
        var page = await c.GetStringAsync("maillog/file?path=spam%2Fmsg1.eml");
        Assert.Contains("Subject: &lt;script&gt;", page);
        Assert.DoesNotContain(Hostile, page);

        foreach (var bad in new[] { "../outside-" + Path.GetFileName(web.BaseDirectory) + ".txt", "/etc/passwd", "spam/../../x" })
        {
            var refused = await c.GetAsync("maillog/file?path=" + Uri.EscapeDataString(bad));
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.DoesNotContain("root:", await refused.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("api/maillog/file?path=" + Uri.EscapeDataString(bad))).StatusCode);
        }

        var resend = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/maillog/file", token, new { path = "spam/msg1.eml", action = "resend", to = "admin@example.com" });
        Assert.Equal(HttpStatusCode.OK, resend.StatusCode);
        var sent = Assert.Single(web.Sent);
        Assert.Equal(["admin@example.com"], sent.To);
        Assert.Equal(web.Config.Current["EmailFrom"], sent.From);
        Assert.Contains("Subject: " + Hostile, System.Text.Encoding.UTF8.GetString(sent.Message));
        var notAnAddress = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/maillog/file", token, new { path = "spam/msg1.eml", action = "resend", to = "a@b.c, d@e.f" });
        Assert.Equal(HttpStatusCode.BadRequest, notAnAddress.StatusCode);

        var copy = await c.PostAsync("maillog/file", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["_csrf"] = CsrfField().Match(page).Groups[1].Value, ["path"] = "spam/msg1.eml", ["action"] = "notspam" }));
        Assert.Equal(HttpStatusCode.OK, copy.StatusCode);
        Assert.True(File.Exists(Path.Combine(web.BaseDirectory, "errors", "notspam", "msg1.eml")));
    }

    [Fact]
    public async Task Info_and_stats_shows_the_counts_and_a_reset_keeps_the_since_start_figures()
    {
        var proxy = new FakeProxy();
        var stats = proxy.Statistics;
        stats.ConnectionAccepted();
        stats.Refused(null, "bombRe", temporary: false, inTransaction: true);
        stats.Refused(null, "bombRe", temporary: false, inTransaction: true);
        stats.ObserveScore(60);
        await using var web = await WebAdminInstance.StartAsync(live: proxy.Services());
        var (c, token) = await web.AdminClientAsync();

        var html = await c.GetStringAsync("stats");
        Assert.Matches("data-counter=\"messages_blocked\"><td>Blocked</td><td>0</td><td>2</td>", html);
        Assert.Contains("<td>bombRe</td><td>2</td>", html);
        Assert.Contains("<td>50 to 75</td><td>1</td>", html);

        stats.Refused(null, "DNSBL", temporary: false, inTransaction: true);
        var viewer = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/stats/reset", null);
        Assert.Equal(HttpStatusCode.Forbidden, viewer.StatusCode);
        var reset = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/stats/reset", token);
        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        Assert.Equal(0, stats[MailStatistics.MessagesBlocked]);
        var after = await c.GetFromJsonAsync<JsonElement>("api/stats");
        Assert.Equal(1, after.GetProperty("sinceStart").GetProperty("messages_blocked").GetInt64());
        Assert.Equal(0, after.GetProperty("statistics").GetProperty("counters").GetProperty("messages_blocked").GetInt64());
        Assert.Equal("Infinity", after.GetProperty("statistics").GetProperty("scoreHistogram")[MailStatistics.ScoreBounds.Count].GetProperty("upperBound").GetString());
        Assert.Contains("Reset statistics", await c.GetStringAsync("stats"));
    }

    [Fact]
    public async Task Health_page_shows_the_probes_after_a_run()
    {
        var proxy = new FakeProxy();
        // The monitor reads the instance's configuration, which exists once the instance does.
        WebAdminInstance? web = null;
        await using var smtp = new Assp.Smtp.SmtpProxyServer(() => web!.Config.Current, null);
        var store = new Assp.Storage.MemoryStore();
        var monitor = new HealthMonitor(() => web!.Config.Current, smtp, store, null);
        await using var instance = web = await WebAdminInstance.StartAsync(live: proxy.Services(monitor));
        var (c, _) = await web.AdminClientAsync();
        Assert.Contains("have not run yet", await c.GetStringAsync("health"));
        var run = await c.PostAsync("health/run", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = await TokenAsync(c, "health") }));
        Assert.Equal(HttpStatusCode.Redirect, run.StatusCode);
        var html = await c.GetStringAsync("health");
        Assert.Contains("id=\"probes\"", html);
        Assert.Contains("<td>storage</td><td>Ok</td>", html);
        var api = await c.GetFromJsonAsync<JsonElement>("api/health");
        Assert.True(api.GetProperty("report").GetProperty("probes").GetArrayLength() > 2);
    }

    private static (X509Certificate2 Ca, X509Certificate2 Client) ClientCertificate(string name)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={name} CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var ca = caRequest.CreateSelfSigned(DateTimeOffset.Now.AddDays(-1), DateTimeOffset.Now.AddDays(30));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name} admin", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var signed = request.Create(ca, DateTimeOffset.Now.AddHours(-1), DateTimeOffset.Now.AddDays(7), [1, 2, 3, 4]);
        using var withKey = signed.CopyWithPrivateKey(key);
        var client = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12, "x"), "x");
        return (ca, client);
    }

    private static async Task<HttpStatusCode> GetWithCertificateAsync(int port, X509Certificate2? certificate)
    {
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true, ClientCertificateOptions = ClientCertificateOption.Manual };
        if (certificate is not null) handler.ClientCertificates.Add(certificate);
        using var https = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        return (await https.GetAsync("login")).StatusCode;
    }

    [Fact]
    public async Task webSSLRequireClientCert_refuses_browsers_without_a_certificate_from_SSLCaFile()
    {
        int port = WebAdminInstance.FreePort();
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string>
        {
            ["SSLCertFile"] = "certs/server-cert.pem", ["SSLKeyFile"] = "certs/server-key.pem", ["myName"] = "web.assp-test",
        });
        var (ca, client) = ClientCertificate("trusted");
        var (_, stranger) = ClientCertificate("stranger");
        Directory.CreateDirectory(Path.Combine(web.BaseDirectory, "certs"));
        File.WriteAllText(Path.Combine(web.BaseDirectory, "certs", "admin-ca.pem"), ca.ExportCertificatePem());

        // Off: https without a client certificate works.
        web.Config.SetValues([new("webAdminPort", $"SSL:127.0.0.1:{port}")]);
        Assert.Null(await web.Host.RefreshAsync());
        Assert.Equal(HttpStatusCode.OK, await GetWithCertificateAsync(port, null));

        web.Config.SetValues([new("webSSLRequireClientCert", "1"), new("SSLCaFile", "certs/admin-ca.pem")]);
        Assert.Null(await web.Host.RefreshAsync());
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => GetWithCertificateAsync(port, null));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => GetWithCertificateAsync(port, stranger));
        Assert.Equal(HttpStatusCode.OK, await GetWithCertificateAsync(port, client));

        // A CA file that is not there is a clear problem, not a silently open door.
        web.Config.SetValues([new("SSLCaFile", "certs/missing.pem")]);
        Assert.Contains("SSLCaFile", await web.Host.RefreshAsync());
    }
}
