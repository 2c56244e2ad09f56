using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Assp.Web.Security;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Assp.Web.Tests;

/// <summary>
/// The findings of the security review (docs/security-review.md), each held by a test that fails when the
/// protection is taken away: file confinement with links and encodings, secrets kept from viewers, framing and
/// caching headers, redirects that stay home, session ids an attacker chose, hostile encoded mail text.
/// </summary>
public sealed partial class SecurityReviewTests
{
    [GeneratedRegex("name=\"_csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    private static async Task<string> TokenAsync(HttpClient c, string page) => CsrfField().Match(await c.GetStringAsync(page)).Groups[1].Value;

    /// <summary>A client logged in with the given role, its first-login password change done.</summary>
    private static async Task<(HttpClient Client, string Token)> UserAsync(WebAdminInstance web, string name, string role)
    {
        var (admin, token) = await web.AdminClientAsync();
        Assert.Equal(HttpStatusCode.Created, (await WebAdminInstance.SendAsync(admin, HttpMethod.Post, "api/users", token,
            new { name, password = name + "-first-password", role })).StatusCode);
        var client = web.NewClient();
        var (status, t, _) = await WebAdminInstance.LoginAsync(client, name, name + "-first-password");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.NoContent, (await WebAdminInstance.SendAsync(client, HttpMethod.Post, "api/account/password", t,
            new { current = name + "-first-password", password = name + "-own-password" })).StatusCode);
        return (client, t!);
    }

    [Fact]
    public async Task The_stored_mail_viewer_serves_the_mail_folders_only_never_the_secrets_of_the_installation()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string> { ["relayAuthPass"] = "relay-secret-pw" });
        var (op, token) = await UserAsync(web, "oscar", "operator");
        Directory.CreateDirectory(Path.Combine(web.BaseDirectory, "spam"));
        File.WriteAllText(Path.Combine(web.BaseDirectory, "spam", "ok.eml"), "Subject: fine\r\n\r\nbody\r\n");
        // Files of the installation that lie in the base folder but in no mail folder.
        File.WriteAllText(Path.Combine(web.BaseDirectory, "key.pem"), "-----BEGIN PRIVATE KEY-----\nsecret\n");
        Assert.Contains("relay-secret-pw", File.ReadAllText(Path.Combine(web.BaseDirectory, "assp.cfg")));

        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("maillog/file?path=spam%2Fok.eml")).StatusCode);
        foreach (var path in new[] { "assp.cfg", "key.pem", "spam/../assp.cfg", web.BaseDirectory + "/assp.cfg" })
        {
            var page = await op.GetAsync("maillog/file?path=" + Uri.EscapeDataString(path));
            Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
            var text = await page.Content.ReadAsStringAsync();
            Assert.DoesNotContain("relay-secret-pw", text);
            Assert.DoesNotContain("PRIVATE KEY", text);
            Assert.Equal(HttpStatusCode.NotFound, (await op.GetAsync("api/maillog/file?path=" + Uri.EscapeDataString(path))).StatusCode);
            // Nor mailed away, nor copied into a corpus folder.
            Assert.Equal(HttpStatusCode.BadRequest, (await WebAdminInstance.SendAsync(op, HttpMethod.Post, "api/maillog/file", token,
                new { path, action = "resend", to = "thief@evil.example" })).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await WebAdminInstance.SendAsync(op, HttpMethod.Post, "api/maillog/file", token,
                new { path, action = "spam" })).StatusCode);
        }
        Assert.Empty(web.Sent);

        // A mail folder set to the base folder itself does not open it.
        web.Config.SetValues([new("spamlog", ".")]);
        Assert.Equal(HttpStatusCode.NotFound, (await op.GetAsync("api/maillog/file?path=assp.cfg")).StatusCode);
        Assert.DoesNotContain(MaillogTools.MailFolders(web.Config.Current), f => f.TrimEnd('/') == web.BaseDirectory.TrimEnd('/'));
    }

    [Fact]
    public async Task Stored_mail_paths_with_folder_links_encodings_and_NUL_bytes_stay_in_the_mail_folders()
    {
        var outside = Path.Combine(Path.GetTempPath(), "assp-outside-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "loot.eml"), "Subject: not yours\r\n\r\nsecret\r\n");
        try
        {
            await using var web = await WebAdminInstance.StartAsync();
            var (c, _) = await web.AdminClientAsync();
            var spam = Path.Combine(web.BaseDirectory, "spam");
            Directory.CreateDirectory(spam);
            File.WriteAllText(Path.Combine(spam, "ok.eml"), "Subject: fine\r\n\r\nbody\r\n");
            // A folder link and a file link inside the mail folder, both leading out.
            Directory.CreateSymbolicLink(Path.Combine(spam, "door"), outside);
            File.CreateSymbolicLink(Path.Combine(spam, "loot.eml"), Path.Combine(outside, "loot.eml"));
            // A link loop ends as "not found", not as a hang.
            Directory.CreateSymbolicLink(Path.Combine(spam, "loop"), Path.Combine(spam, "loop"));

            foreach (var raw in new[] { "spam%2Fdoor%2Floot.eml", "spam%2Floot.eml", "spam%2F..%2F..%2F" + Uri.EscapeDataString(Path.GetFileName(outside)) + "%2Floot.eml",
                         "spam%252F..%252Fassp.cfg", "spam%2Fok.eml%00", "spam%2Fok.eml%00.txt", "spam%5C..%5Cassp.cfg", "spam%2Floop%2Fx.eml", "%2Fetc%2Fpasswd" })
            {
                var response = await c.GetAsync("maillog/file?path=" + raw);
                Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{raw}: {(int)response.StatusCode}");
                var text = await response.Content.ReadAsStringAsync();
                Assert.DoesNotContain("not yours", text);
                Assert.DoesNotContain("root:", text);
            }
            Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("maillog/file?path=spam%2Fok.eml")).StatusCode);
        }
        finally
        {
            Directory.Delete(outside, true);
        }
    }

    [Fact]
    public async Task Edit_file_refuses_a_folder_link_that_leads_out_of_the_base_folder()
    {
        var outside = Path.Combine(Path.GetTempPath(), "assp-outside-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "ips.txt"), "10.9.9.9 # secret\n");
        try
        {
            await using var web = await WebAdminInstance.StartAsync();
            Directory.CreateSymbolicLink(Path.Combine(web.BaseDirectory, "linked"), outside);
            web.Config.SetValues([new("whiteListedIPs", "file:linked/ips.txt")]);
            var (c, token) = await web.AdminClientAsync();

            var read = await c.GetAsync("api/config/file?option=whiteListedIPs");
            Assert.Equal(HttpStatusCode.BadRequest, read.StatusCode);
            Assert.Contains("outside the base folder", await read.Content.ReadAsStringAsync());
            Assert.DoesNotContain("secret", await (await c.GetAsync("config/file?option=whiteListedIPs")).Content.ReadAsStringAsync());
            var write = await WebAdminInstance.SendAsync(c, HttpMethod.Put, "api/config/file", token, new { option = "whiteListedIPs", text = "10.0.0.1\n" });
            Assert.Equal(HttpStatusCode.BadRequest, write.StatusCode);
            Assert.Equal("10.9.9.9 # secret\n", File.ReadAllText(Path.Combine(outside, "ips.txt")));

            // The rules by themselves: absolute names, NUL bytes, loops; a link that stays inside is fine.
            Assert.Null(ConfigEditing.Confine(web.BaseDirectory, "/etc/passwd"));
            Assert.Null(ConfigEditing.Confine(web.BaseDirectory, "files/x.txt\0.png"));
            Assert.Null(ConfigEditing.Confine(web.BaseDirectory, "linked/new.txt"));
            Directory.CreateSymbolicLink(Path.Combine(web.BaseDirectory, "loop"), Path.Combine(web.BaseDirectory, "loop"));
            Assert.Null(ConfigEditing.Confine(web.BaseDirectory, "loop/x.txt"));
            Directory.CreateSymbolicLink(Path.Combine(web.BaseDirectory, "alias"), Path.Combine(web.BaseDirectory, "files"));
            Assert.NotNull(ConfigEditing.Confine(web.BaseDirectory, "alias/x.txt"));
            Assert.NotNull(ConfigEditing.Confine(web.BaseDirectory, Path.Combine(web.BaseDirectory, "files", "x.txt")));
        }
        finally
        {
            Directory.Delete(outside, true);
        }
    }

    [Fact]
    public async Task Secret_options_are_never_shown_back_and_an_empty_field_keeps_them()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string>
        {
            ["SRSSecretKey"] = "srs-key-value-42", ["VirusTotalAPIKey"] = "vt-key-value-42", ["relayAuthPass"] = "relay-pw-value-42",
        });
        var (viewer, _) = await UserAsync(web, "vera", "viewer");
        var page = await viewer.GetStringAsync("config");
        var api = await viewer.GetStringAsync("api/config");
        foreach (var secret in new[] { "srs-key-value-42", "vt-key-value-42", "relay-pw-value-42" })
        {
            Assert.DoesNotContain(secret, page);
            Assert.DoesNotContain(secret, api);
        }
        Assert.Equal("********", (await viewer.GetFromJsonAsync<JsonElement>("api/config/SRSSecretKey")).GetProperty("value").GetString());

        // The admin's form posts the secret fields empty: the stored values stay; a bad value is not echoed.
        var (admin, _) = await web.AdminClientAsync();
        var csrf = await TokenAsync(admin, "config?filter=SRSSecretKey");
        var apply = await admin.PostAsync("config", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["_csrf"] = csrf, ["SRSSecretKey"] = "", ["VirusTotalAPIKey"] = "", ["MaxErrors"] = "8" }));
        Assert.Equal(HttpStatusCode.Redirect, apply.StatusCode);
        Assert.Equal("srs-key-value-42", web.Config.Current["SRSSecretKey"]);
        Assert.Equal("vt-key-value-42", web.Config.Current["VirusTotalAPIKey"]);
        Assert.Equal("8", web.Config.Current["MaxErrors"]);
        var bad = await admin.PostAsync("config", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["_csrf"] = csrf, ["webAdminPassword"] = "q!w" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.DoesNotContain("q!w", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Every_answer_forbids_framing_and_pages_behind_the_login_are_not_cached()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, _) = await web.AdminClientAsync();
        foreach (var path in new[] { "login", "static/app.js", "", "config", "users", "api/session", "maillog" })
        {
            using var client = path is "login" or "static/app.js" ? web.NewClient() : null;
            var response = await (client ?? c).GetAsync(path);
            Assert.True(response.IsSuccessStatusCode, $"/{path}: {(int)response.StatusCode}");
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.Contains("script-src 'self'", csp);
            Assert.DoesNotContain("unsafe-inline", csp);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            if (client is null) Assert.Contains("no-store", response.Headers.CacheControl?.ToString());
        }
        // The one-time password of a reset is on a page no cache keeps.
        var csrf = await TokenAsync(c, "users");
        var reset = await c.PostAsync("users/reset", new FormUrlEncodedContent(new Dictionary<string, string> { ["_csrf"] = csrf, ["name"] = "admin" }));
        Assert.Contains("New one-time password", await reset.Content.ReadAsStringAsync());
        Assert.Contains("no-store", reset.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Redirects_after_login_and_actions_never_leave_the_web_admin()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, _) = await web.AdminClientAsync();
        var csrf = await TokenAsync(c, "maillog");
        foreach (var back in new[] { "//evil.example/", "https://evil.example/", "/\\evil.example", "?x=1\r\nLocation: https://evil.example", "?#@evil.example", "\\\\evil.example" })
        {
            var response = await c.PostAsync("maillog/action", new FormUrlEncodedContent(new Dictionary<string, string>
                { ["_csrf"] = csrf, ["action"] = "whitelist", ["value"] = "someone@example.org", ["back"] = back }));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            var location = response.Headers.Location!.OriginalString;
            Assert.StartsWith("/maillog?", location);
            Assert.DoesNotContain("evil", location);
        }

        // Login ignores any return address it is given.
        using var fresh = web.NewClient();
        var loginToken = await TokenAsync(fresh, "login");
        var login = await fresh.PostAsync("login?ReturnUrl=https%3A%2F%2Fevil.example%2F&returnUrl=%2F%2Fevil.example", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["_csrf"] = loginToken, ["user"] = "admin", ["password"] = web.InitialPassword, ["ReturnUrl"] = "https://evil.example/" }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/", login.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_session_id_chosen_by_an_attacker_is_never_used_and_a_known_pre_login_id_dies_at_login()
    {
        await using var web = await WebAdminInstance.StartAsync();
        await web.AdminClientAsync();
        var cookies = new System.Net.CookieContainer();
        // The attacker plants an id of their own choosing, then a real pre-login id they fetched themselves.
        cookies.Add(web.Url, new System.Net.Cookie(SessionStore.CookieName, "attacker-chosen-id"));
        using var victim = web.NewClient(cookies);
        var loginToken = await TokenAsync(victim, "login");
        var planted = cookies.GetCookies(web.Url)[SessionStore.CookieName]!.Value;
        Assert.NotEqual("attacker-chosen-id", planted);
        Assert.Null(web.Context.Sessions.Get("attacker-chosen-id"));

        var login = await victim.PostAsync("login", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["_csrf"] = loginToken, ["user"] = "admin", ["password"] = web.InitialPassword }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var after = cookies.GetCookies(web.Url)[SessionStore.CookieName]!.Value;
        Assert.NotEqual(planted, after);
        Assert.True(web.Context.Sessions.Get(after)!.IsAuthenticated);
        // Whoever knew the pre-login id has nothing now.
        Assert.Null(web.Context.Sessions.Get(planted));
        using var attacker = web.NewClient(new System.Net.CookieContainer());
        attacker.DefaultRequestHeaders.Add("Cookie", $"{SessionStore.CookieName}={planted}");
        Assert.Equal(HttpStatusCode.Redirect, (await attacker.GetAsync("config")).StatusCode);
    }

    [Fact]
    public async Task Encoded_words_and_file_names_that_decode_to_markup_are_shown_as_text_in_the_analyzer()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, _) = await web.AdminClientAsync();
        // "<script>alert(1)</script>" in a B-encoded subject, a Q-encoded display name and an attachment's name.
        var message = "From: =?UTF-8?Q?=3Cimg_src=3Dx_onerror=3Dalert(2)=3E?= <a@evil.example>\r\nTo: me@example.com\r\n" +
            "Subject: =?UTF-8?B?PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==?=\r\nMIME-Version: 1.0\r\n" +
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<script>alert(3)</script>\r\n" +
            "--b\r\nContent-Type: application/octet-stream; name=\"=?UTF-8?B?PHN2ZyBvbmxvYWQ9YWxlcnQoNCk+LmV4ZQ==?=\"\r\n" +
            "Content-Disposition: attachment; filename=\"<svg onload=alert(5)>.exe\"\r\n\r\nAAAA\r\n--b--\r\n";
        var csrf = await TokenAsync(c, "analyzer");
        var form = new MultipartFormDataContent
        {
            { new StringContent(csrf), "_csrf" }, { new StringContent(message), "message" }, { new StringContent("<svg onload=alert(6)>"), "helo" },
        };
        var response = await c.PostAsync("analyzer", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("id=\"verdict\"", html);
        foreach (var markup in new[] { "<script>alert", "<img src=x", "<svg onload", "onerror=alert(2)>" })
            Assert.DoesNotContain(markup, html);
        // Only the page's own script tag.
        Assert.Equal(1, Regex.Count(html, "<script", RegexOptions.IgnoreCase));
    }

    private sealed class SteppingClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => _now = _now.AddMilliseconds(1);
    }

    [Fact]
    public void A_flood_of_login_page_requests_cannot_grow_the_session_table_without_end()
    {
        var store = new SessionStore(new SteppingClock());
        var admin = store.Login(null, new AdminUser("admin", AdminRole.Admin, false, 0, 0, 1, "", ""));
        var oldest = store.CreateAnonymous();
        for (int i = 0; i < SessionStore.MaxAnonymous * 2; i++) store.CreateAnonymous();
        Assert.InRange(store.Count, 2, SessionStore.MaxAnonymous + 1);
        // The logged-in session stays; the oldest pre-login ones went first.
        Assert.True(store.Get(admin.Id)!.IsAuthenticated);
        Assert.Null(store.Get(oldest.Id));
    }

    /// <summary>Every route of the running web admin as (method, path with sample values, its least role, anonymous).</summary>
    private static List<(string Method, string Path, AdminRole Role, bool Anonymous)> Routes(WebAdminInstance web)
    {
        var list = new List<(string, string, AdminRole, bool)>();
        foreach (var e in web.Host.App!.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var path = "/" + string.Join("/", e.RoutePattern.PathSegments.Select(seg => string.Concat(seg.Parts.Select(p => p switch
            {
                RoutePatternLiteralPart l => l.Content,
                _ => "whitelist",
            }))));
            var role = e.Metadata.GetMetadata<RequiresRole>()?.Role ?? AdminRole.Viewer;
            bool anonymous = e.Metadata.GetMetadata<AnonymousAccess>() is not null;
            foreach (var method in e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET", "POST"])
                list.Add((method, path, role, anonymous));
        }
        return list;
    }

    [Fact]
    public async Task Every_state_changing_route_refuses_a_logged_in_admin_without_the_anti_forgery_token()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, token) = await web.AdminClientAsync();
        var changing = Routes(web).Where(r => r.Method is not ("GET" or "HEAD" or "OPTIONS")).ToList();
        Assert.True(changing.Count > 20, $"only {changing.Count} state-changing routes");
        var users = web.Context.Users.All().Count;
        foreach (var (method, path, _, _) in changing)
        {
            foreach (var content in new HttpContent[]
            {
                new FormUrlEncodedContent(new Dictionary<string, string> { ["MaxErrors"] = "9", ["name"] = "mallory", ["password"] = "mallory-password-1", ["key"] = "evil@evil.example" }),
                JsonContent.Create(new { values = new Dictionary<string, string> { ["MaxErrors"] = "9" }, name = "mallory", password = "mallory-password-1", key = "evil@evil.example" }),
            })
            {
                var response = await c.SendAsync(new HttpRequestMessage(new HttpMethod(method), path + "?key=evil@evil.example") { Content = content });
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} answered {(int)response.StatusCode} without the token");
            }
        }
        Assert.NotEqual("9", web.Config.Current["MaxErrors"]);
        Assert.Equal(users, web.Context.Users.All().Count);
        Assert.Empty(web.Restarts);
        // The session is still there: logout without the token did not end it either.
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("api/session")).StatusCode);
        Assert.NotEmpty(token);
    }

    [Fact]
    public async Task Every_route_that_needs_a_role_refuses_a_lower_one_even_with_a_valid_token()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (viewer, vt) = await UserAsync(web, "vince", "viewer");
        var (op, ot) = await UserAsync(web, "olga", "operator");
        var guarded = Routes(web).Where(r => r.Role > AdminRole.Viewer).ToList();
        Assert.Contains(guarded, r => r.Role == AdminRole.Operator);
        Assert.Contains(guarded, r => r.Role == AdminRole.Admin);
        foreach (var (method, path, role, _) in guarded)
        {
            foreach (var (client, token, clientRole) in new[] { (viewer, vt, AdminRole.Viewer), (op, ot, AdminRole.Operator) })
            {
                if (clientRole >= role) continue;
                var request = new HttpRequestMessage(new HttpMethod(method), path + "?path=spam%2Fx.eml&key=x");
                request.Headers.Add("X-CSRF-Token", token);
                if (method != "GET") request.Content = JsonContent.Create(new { values = new Dictionary<string, string> { ["MaxErrors"] = "9" }, name = "mallory" });
                var response = await client.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{clientRole} {method} {path} answered {(int)response.StatusCode}");
            }
        }
        Assert.NotEqual("9", web.Config.Current["MaxErrors"]);
        Assert.Null(web.Context.Users.Find("mallory"));
    }
}
