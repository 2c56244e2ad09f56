using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Assp.Checks.Whitelist;

namespace Assp.Web.Tests;

/// <summary>Configuration, list files, lists, PenaltyBox and analyzer through the pages and the JSON API.</summary>
public sealed partial class PageTests
{
    [GeneratedRegex("name=\"_csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    private static async Task<Dictionary<string, string>> FormAsync(HttpClient c, string page, params (string, string)[] fields)
    {
        var html = await c.GetStringAsync(page);
        var d = new Dictionary<string, string> { ["_csrf"] = CsrfField().Match(html).Groups[1].Value };
        foreach (var (k, v) in fields) d[k] = v;
        return d;
    }

    [Fact]
    public async Task The_configuration_page_shows_every_option_by_section_with_its_control_and_default()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string> { ["MaxErrors"] = "8" });
        var (c, _) = await web.AdminClientAsync();
        var html = await c.GetStringAsync("config");
        foreach (var o in web.Config.Current.Registry.Options) Assert.Contains($"data-name=\"{o.Name}\"", html);
        foreach (var s in web.Config.Current.Registry.Sections) Assert.Contains(System.Net.WebUtility.HtmlEncode(s).Replace("&#39;", "&#x27;"), html);
        // A checkbox, a choice list with ASSP's codes, a password field, the changed marker.
        Assert.Matches("type=\"checkbox\" value=\"1\" id=\"o_DoHeloWL\"", html);
        Assert.Contains("<option value=\"4\"", html);
        Assert.Matches("type=\"password\"[^>]+name=\"webAdminPassword\"", html);
        Assert.Matches("class=\"opt changed\" data-name=\"MaxErrors\"", html);
        // The default is shown; secrets are not.
        Assert.DoesNotContain("nospam4me", html);
        // Options whose feature is not built say so, with the reason, even at their default; working ones do not.
        static string Row(string name, string tail) => $"data-name=\"{name}\"(?:(?!data-name=)[\\s\\S])*?{tail}";
        Assert.Matches(Row("SNMP", "title=\"there is no SNMP AgentX subagent[^\"]*\">no effect here</span>"), html);
        Assert.Matches(Row("useNetDNS", "title=\"it tunes Perl\">not used</span>"), html);
        Assert.DoesNotMatch(Row("MaxErrors", "no effect here"), html);

        var filtered = await c.GetStringAsync("config?filter=" + Uri.EscapeDataString("^MaxErr"));
        Assert.Contains("data-name=\"MaxErrors\"", filtered);
        Assert.DoesNotContain("data-name=\"DoHeloWL\"", filtered);
        // A hostile pattern is cut off by the timeout, not the server.
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("config?filter=" + Uri.EscapeDataString("(a+)+$"))).StatusCode);
    }

    [Fact]
    public async Task Applying_a_bad_value_names_option_and_value_and_writes_nothing()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, token) = await web.AdminClientAsync();
        var cfgBefore = File.ReadAllText(Path.Combine(web.BaseDirectory, "assp.cfg"));
        var response = await c.PostAsync("config", new FormUrlEncodedContent(await FormAsync(c, "config", ("MaxErrors", "lots"), ("DoHeloWL", "0"), ("DoHeloWL", "1"))));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("MaxErrors: &#x27;lots&#x27;", html);
        Assert.Equal(cfgBefore, File.ReadAllText(Path.Combine(web.BaseDirectory, "assp.cfg")));

        var api = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/config", token, new { values = new Dictionary<string, string> { ["DoHeloWL"] = "2" } });
        Assert.Equal(HttpStatusCode.BadRequest, api.StatusCode);
        var problems = (await api.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("problems")[0];
        Assert.Equal("DoHeloWL", problems.GetProperty("option").GetString());
        Assert.Equal("2", problems.GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_valid_change_is_applied_without_restart_or_with_a_restart_hint()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, _) = await web.AdminClientAsync();
        long generation = web.Config.Current.Generation;
        var response = await c.PostAsync("config", new FormUrlEncodedContent(await FormAsync(c, "config", ("MaxErrors", "9"), ("listenPort", "127.0.0.1:2525"))));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("9", web.Config.Current["MaxErrors"]);
        Assert.True(web.Config.Current.Generation > generation);
        var page = await c.GetStringAsync(response.Headers.Location!.OriginalString);
        Assert.Contains("Applied: MaxErrors, listenPort", page);
        Assert.Contains("Restart ASSP (System page) for these to take effect: listenPort", page);
    }

    [Fact]
    public async Task A_list_file_is_checked_by_the_real_parser_before_it_is_saved_and_then_used()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string> { ["whiteListedIPs"] = "file:files/whitelistedips.txt" });
        var (c, token) = await web.AdminClientAsync();
        var path = Path.Combine(web.BaseDirectory, "files", "whitelistedips.txt");
        var before = File.Exists(path) ? File.ReadAllText(path) : "";

        var bad = await WebAdminInstance.SendAsync(c, HttpMethod.Put, "api/config/file", token, new { option = "whiteListedIPs", text = "192.0.2.1\n999.12.0.1/40 # broken\n" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("problems")[0];
        Assert.Equal(2, problem.GetProperty("line").GetInt32());
        Assert.Equal(before, File.Exists(path) ? File.ReadAllText(path) : "");
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, ".assp-check-*"));

        var form = await FormAsync(c, "config/file?option=whiteListedIPs", ("option", "whiteListedIPs"), ("text", "192.0.2.1\n198.51.100.0/24 # partner\n"));
        var saved = await c.PostAsync("config/file", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        Assert.Contains("Saved and loaded.", await saved.Content.ReadAsStringAsync());
        Assert.True(web.Config.Current.GetIpList("whiteListedIPs").Contains(IPAddress.Parse("198.51.100.7")));
    }

    [Fact]
    public async Task A_list_file_outside_the_base_folder_is_neither_read_nor_written()
    {
        var outside = Path.Combine(Path.GetTempPath(), "assp-outside-" + Guid.NewGuid().ToString("N") + ".txt");
        File.WriteAllText(outside, "secret\n");
        try
        {
            await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string>
            {
                ["whiteListedIPs"] = "file:../" + Path.GetFileName(outside),
                ["noProcessingIPs"] = "file:" + outside,
            });
            var (c, token) = await web.AdminClientAsync();
            foreach (var option in new[] { "whiteListedIPs", "noProcessingIPs" })
            {
                var read = await c.GetAsync("api/config/file?option=" + option);
                Assert.Equal(HttpStatusCode.BadRequest, read.StatusCode);
                Assert.Contains("outside the base folder", await read.Content.ReadAsStringAsync());
                Assert.DoesNotContain("secret", await (await c.GetAsync("config/file?option=" + option)).Content.ReadAsStringAsync());
                var write = await WebAdminInstance.SendAsync(c, HttpMethod.Put, "api/config/file", token, new { option, text = "10.0.0.1\n" });
                Assert.Equal(HttpStatusCode.BadRequest, write.StatusCode);
            }
            Assert.Equal("secret\n", File.ReadAllText(outside));
            Assert.Null(ConfigEditing.Confine(web.BaseDirectory, "files/../../x"));
            Assert.NotNull(ConfigEditing.Confine(web.BaseDirectory, "files/../files/x.txt"));
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public async Task Whitelist_redlist_tuplets_and_PenaltyBox_can_be_searched_added_to_and_removed_from()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, token) = await web.AdminClientAsync();
        var wl = new WhitelistDb(web.Store);

        var add = await c.PostAsync("lists/whitelist/add", new FormUrlEncodedContent(await FormAsync(c, "lists", ("key", "Friend@Partner.example"))));
        Assert.Equal(HttpStatusCode.OK, add.StatusCode);
        Assert.True(wl.IsWhite("friend@partner.example", null, WhitelistPrivacy.GlobalAndPrivate));
        Assert.Contains("friend@partner.example", await c.GetStringAsync("lists?q_whitelist=partner"));

        // A redlisted address cannot be whitelisted.
        Assert.Equal(HttpStatusCode.OK, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/lists/redlist", token, new { key = "bad@spam.example" })).StatusCode);
        var refused = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/lists/whitelist", token, new { key = "bad@spam.example" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/lists/tuplets", token, new { key = "192.0.2.9", extra = "news@list.example" })).StatusCode);
        var tuplets = await c.GetFromJsonAsync<JsonElement>("api/lists/tuplets");
        Assert.Equal(1, tuplets.GetProperty("total").GetInt32());

        Assert.Equal(HttpStatusCode.OK, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/lists/pbwhite", token, new { key = "192.0.2.10" })).StatusCode);
        Assert.Contains("192.0.2.10", await c.GetStringAsync("penaltybox"));
        Assert.Equal(HttpStatusCode.OK, (await WebAdminInstance.SendAsync(c, HttpMethod.Delete, "api/lists/pbwhite?key=192.0.2.10", token)).StatusCode);

        var remove = await c.PostAsync("lists/whitelist/remove", new FormUrlEncodedContent(await FormAsync(c, "lists", ("key", "friend@partner.example"))));
        Assert.Equal(HttpStatusCode.OK, remove.StatusCode);
        Assert.False(wl.IsWhite("friend@partner.example", null, WhitelistPrivacy.GlobalAndPrivate));
        Assert.Equal(HttpStatusCode.BadRequest, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/lists/tuplets", token, new { key = "not-an-ip", extra = "x.example" })).StatusCode);
    }

    [Fact]
    public async Task The_analyzer_shows_every_check_and_the_decision_with_all_mail_content_encoded()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string>
        {
            ["localDomains"] = "example.com",
            ["blackListedDomains"] = "evil.example",
        });
        var (c, token) = await web.AdminClientAsync();
        var message = "From: \"<img src=x onerror=alert(1)>\" <spam@evil.example>\r\nTo: me@example.com\r\n" +
            "Subject: <script>alert('xss')</script> cheap pills\r\n\r\n<b>buy</b> now\r\n";
        var form = await FormAsync(c, "analyzer", ("message", message), ("ip", "192.0.2.55"), ("helo", "<script>x</script>"));
        var multipart = new MultipartFormDataContent();
        foreach (var (k, v) in form) multipart.Add(new StringContent(v), k);
        var response = await c.PostAsync("analyzer", multipart);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<img src=x", html);
        Assert.DoesNotContain("<script>x</script>", html);
        Assert.Contains("&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;", html);
        Assert.Contains("id=\"verdict\"", html);
        Assert.Contains("<td>DoBlackDomain</td><td>block</td>", html);

        var api = await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/analyze", token, new { message, ip = "192.0.2.55" });
        var result = await api.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("block", result.GetProperty("decision").GetString());
        Assert.Contains(result.GetProperty("checks").EnumerateArray(), x => x.GetProperty("check").GetString() == "DoBlackDomain");
        // The analyzer changes no database.
        Assert.Empty(web.Store.Table("pbdb.black.db").Scan());
    }

    [Fact]
    public async Task Reload_and_restart_go_the_process_paths()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, token) = await web.AdminClientAsync();
        long g = web.Config.Current.Generation;
        Assert.Equal(HttpStatusCode.OK, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/system/reload", token)).StatusCode);
        Assert.True(web.Config.Current.Generation > g);
        Assert.Equal(HttpStatusCode.OK, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/system/restart", token)).StatusCode);
        Assert.Single(web.Restarts);
        // No shutdown handler here: refused with a clear message.
        Assert.Equal(HttpStatusCode.BadRequest, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/system/shutdown", token)).StatusCode);
    }

    [Fact]
    public async Task A_reload_that_changes_webAdminPort_moves_the_listener()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, token) = await web.AdminClientAsync();
        int next = WebAdminInstance.FreePort();
        Assert.Equal(HttpStatusCode.OK, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/config", token,
            new { values = new Dictionary<string, string> { ["webAdminPort"] = $"127.0.0.1:{next}" } })).StatusCode);
        Assert.Null(await web.Host.RefreshAsync());
        Assert.Equal(next, web.Host.Endpoints.Single().Port);
        using var moved = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{next}/") };
        Assert.Equal(HttpStatusCode.OK, (await moved.GetAsync("login")).StatusCode);
    }

    [Fact]
    public async Task An_SSL_prefix_serves_https_with_a_Secure_session_cookie()
    {
        int port = WebAdminInstance.FreePort();
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string>
        {
            ["SSLCertFile"] = "certs/server-cert.pem", ["SSLKeyFile"] = "certs/server-key.pem", ["myName"] = "web.assp-test",
        });
        Assert.Null(await web.Host.RefreshAsync());
        web.Config.SetValues([new("webAdminPort", $"SSL:127.0.0.1:{port}")]);
        Assert.Null(await web.Host.RefreshAsync());
        Assert.True(web.Host.Endpoints.Single().Tls);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true, AllowAutoRedirect = false };
        using var https = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}/") };
        var response = await https.GetAsync("login");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("secure", string.Join("\n", response.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public async Task EnableHTTPCompression_compresses_the_pages(string enabled, bool compressed)
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string> { ["EnableHTTPCompression"] = enabled });
        var (c, _) = await web.AdminClientAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, "config");
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        var response = await c.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(compressed, response.Content.Headers.ContentEncoding.Contains("gzip"));
    }

    [Fact]
    public async Task No_page_has_inline_script_or_style_so_the_content_security_policy_holds()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (c, _) = await web.AdminClientAsync();
        foreach (var path in new[] { "/", "config", "lists", "penaltybox", "analyzer", "users", "system", "account/password", "config/file?option=blackListedDomains",
            "connections", "maillog", "stats", "health" })
        {
            var response = await c.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
            var html = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain(" style=", html);
            Assert.DoesNotContain("<script>", html);
            Assert.DoesNotMatch(" on[a-z]+=\"", html);
        }
    }
}
