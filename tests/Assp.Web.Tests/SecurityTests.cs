using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Assp.Web.Security;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Assp.Web.Tests;

/// <summary>No way in without a login; no change without the anti-forgery token; first login, lockout, rate limit, roles.</summary>
public sealed class SecurityTests
{
    private static readonly string[] s_methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];

    [Fact]
    public async Task Every_route_except_login_and_static_assets_refuses_an_unauthenticated_request()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var endpoints = web.Host.App!.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.True(endpoints.Count > 30, $"only {endpoints.Count} routes found");
        var anonymous = new List<string>();
        using var client = web.NewClient();
        foreach (var e in endpoints)
        {
            var path = "/" + string.Join("/", e.RoutePattern.PathSegments.Select(seg => string.Concat(seg.Parts.Select(p => p switch
            {
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart l => l.Content,
                _ => "whitelist",
            }))));
            var methods = e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? s_methods;
            foreach (var method in methods)
            {
                if (e.Metadata.GetMetadata<AnonymousAccess>() is not null)
                {
                    anonymous.Add($"{method} {path}");
                    continue;
                }
                var request = new HttpRequestMessage(new HttpMethod(method), path + "?option=x&key=x&q=x&filter=x");
                if (method != "GET") request.Content = JsonContent.Create(new { values = new Dictionary<string, string> { ["MaxErrors"] = "9" } });
                var response = await client.SendAsync(request);
                bool refused = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                    || response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location?.OriginalString == "/login";
                Assert.True(refused, $"{method} {path} answered {(int)response.StatusCode} without a login");
            }
        }
        Assert.Equal(["GET /api/login", "GET /favicon.ico", "GET /login", "GET /static/app.css", "GET /static/app.js", "POST /api/login", "POST /login"],
            anonymous.Order(StringComparer.Ordinal).ToArray());
        // None of the refused requests changed anything.
        Assert.NotEqual("9", web.Config.Current["MaxErrors"]);
    }

    [Fact]
    public async Task A_state_changing_request_without_the_anti_forgery_token_is_refused()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (client, token) = await web.AdminClientAsync();
        var before = web.Config.Current["MaxErrors"];

        var noToken = await WebAdminInstance.SendAsync(client, HttpMethod.Post, "api/config", null, new { values = new Dictionary<string, string> { ["MaxErrors"] = "7" } });
        Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);
        var wrongToken = await WebAdminInstance.SendAsync(client, HttpMethod.Post, "api/config", "forged", new { values = new Dictionary<string, string> { ["MaxErrors"] = "7" } });
        Assert.Equal(HttpStatusCode.Forbidden, wrongToken.StatusCode);
        // A page form without its _csrf field is refused the same way.
        var form = await client.PostAsync("config", new FormUrlEncodedContent(new Dictionary<string, string> { ["MaxErrors"] = "7" }));
        Assert.Equal(HttpStatusCode.Forbidden, form.StatusCode);
        Assert.Equal(before, web.Config.Current["MaxErrors"]);

        var ok = await WebAdminInstance.SendAsync(client, HttpMethod.Post, "api/config", token, new { values = new Dictionary<string, string> { ["MaxErrors"] = "7" } });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("7", web.Config.Current["MaxErrors"]);
        Assert.Contains("MaxErrors:=7", File.ReadAllText(Path.Combine(web.BaseDirectory, "assp.cfg")));
    }

    [Fact]
    public async Task The_first_login_forces_a_password_change_and_no_default_password_works()
    {
        await using var web = await WebAdminInstance.StartAsync();
        Assert.Equal(20, web.InitialPassword.Length);
        Assert.Contains(web.Log, l => l.Contains("one-time password " + web.InitialPassword));
        // ASSP's default root password lets nobody in.
        foreach (var user in new[] { "root", "admin" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await WebAdminInstance.LoginAsync(web.NewClient(), user, "nospam4me")).Status);

        using var client = web.NewClient();
        var (status, token, body) = await WebAdminInstance.LoginAsync(client, "admin", web.InitialPassword);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("mustChangePassword").GetBoolean());
        var page = await client.GetAsync("config");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/account/password", page.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("api/config")).StatusCode);

        var weak = await WebAdminInstance.SendAsync(client, HttpMethod.Post, "api/account/password", token, new { current = web.InitialPassword, password = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        var good = await WebAdminInstance.SendAsync(client, HttpMethod.Post, "api/account/password", token, new { current = web.InitialPassword, password = "my-own-secret-42" });
        Assert.Equal(HttpStatusCode.NoContent, good.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/config")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WebAdminInstance.LoginAsync(web.NewClient(), "admin", web.InitialPassword)).Status);
        Assert.Equal(HttpStatusCode.OK, (await WebAdminInstance.LoginAsync(web.NewClient(), "admin", "my-own-secret-42")).Status);
        // Only a hash is stored.
        var stored = web.Store.Table(AdminUsers.TableName).Scan().Single().Value.Value;
        Assert.DoesNotContain("my-own-secret-42", stored);
    }

    [Fact]
    public async Task Login_gives_a_new_session_id_and_logout_ends_the_session()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (client, _) = await web.AdminClientAsync();
        var cookies = new CookieContainer();
        using var c = web.NewClient(cookies);
        await c.GetAsync("login");
        var before = cookies.GetCookies(web.Url)[SessionStore.CookieName]!.Value;
        var (status, token, _) = await WebAdminInstance.LoginAsync(c, "admin", web.InitialPassword);
        Assert.Equal(HttpStatusCode.OK, status);
        var after = cookies.GetCookies(web.Url)[SessionStore.CookieName]!;
        Assert.NotEqual(before, after.Value);
        Assert.True(after.HttpOnly);
        Assert.Null(web.Context.Sessions.Get(before));

        // A fixated (pre-login) id does not become a logged-in session.
        var fixated = web.NewClient(new CookieContainer());
        fixated.DefaultRequestHeaders.Add("Cookie", $"{SessionStore.CookieName}={before}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixated.GetAsync("api/session")).StatusCode);

        var raw = await c.GetAsync("api/session");
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await WebAdminInstance.SendAsync(c, HttpMethod.Post, "api/logout", token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WebAdminInstance.SendAsync(c, HttpMethod.Get, "api/session", null)).StatusCode);
    }

    [Fact]
    public async Task The_session_cookie_is_HttpOnly_and_SameSite_strict()
    {
        await using var web = await WebAdminInstance.StartAsync();
        using var c = web.NewClient();
        var response = await c.GetAsync("login");
        var setCookie = string.Join("\n", response.Headers.GetValues("Set-Cookie"));
        Assert.Contains(SessionStore.CookieName + "=", setCookie);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        // Plain http: no Secure flag (a browser would drop the cookie); the https test below checks it is set there.
        Assert.DoesNotContain("secure", setCookie.Replace("samesite", ""), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Wrong_passwords_lock_the_account_and_too_many_failures_block_the_client()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (admin, token) = await web.AdminClientAsync();
        Assert.Equal(HttpStatusCode.Created, (await WebAdminInstance.SendAsync(admin, HttpMethod.Post, "api/users", token,
            new { name = "carol", password = "carols-first-pw", role = "viewer" })).StatusCode);

        for (int i = 0; i < AdminUsers.MaxFailedLogins; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await WebAdminInstance.LoginAsync(web.NewClient(), "carol", "wrong-" + i)).Status);
        // Locked: even the right password is refused now.
        var locked = await WebAdminInstance.LoginAsync(web.NewClient(), "carol", "carols-first-pw");
        Assert.Equal(HttpStatusCode.Unauthorized, locked.Status);
        Assert.Contains("locked", locked.Body.GetProperty("error").GetString());

        // Per client: after LoginThrottle.MaxFailures failures in the window, every try is refused with 429.
        for (int i = AdminUsers.MaxFailedLogins + 1; i < LoginThrottle.MaxFailures; i++)
            await WebAdminInstance.LoginAsync(web.NewClient(), "nobody", "x");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await WebAdminInstance.LoginAsync(web.NewClient(), "admin", web.InitialPassword)).Status);
    }

    [Fact]
    public async Task A_viewer_reads_but_cannot_change()
    {
        await using var web = await WebAdminInstance.StartAsync();
        var (admin, token) = await web.AdminClientAsync();
        await WebAdminInstance.SendAsync(admin, HttpMethod.Post, "api/users", token, new { name = "vic", password = "vics-first-pw", role = "viewer" });
        using var viewer = web.NewClient();
        var (_, vt, _) = await WebAdminInstance.LoginAsync(viewer, "vic", "vics-first-pw");
        Assert.Equal(HttpStatusCode.NoContent, (await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/account/password", vt,
            new { current = "vics-first-pw", password = "vics-own-password" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("api/config/MaxErrors")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("config")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/config", vt,
            new { values = new Dictionary<string, string> { ["MaxErrors"] = "3" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await WebAdminInstance.SendAsync(viewer, HttpMethod.Post, "api/lists/whitelist", vt, new { key = "a@b.example" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("users")).StatusCode);
    }

    [Fact]
    public async Task Clients_outside_allowAdminConnectionsFrom_are_refused()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string> { ["allowAdminConnectionsFrom"] = "10.0.0.0/8" });
        using var c = web.NewClient();
        Assert.Equal(HttpStatusCode.Forbidden, (await c.GetAsync("login")).StatusCode);
        Assert.Contains(web.Log, l => l.Contains("not in allowAdminConnectionsFrom"));
    }

    [Fact]
    public async Task Clients_inside_allowAdminConnectionsFrom_get_the_login()
    {
        await using var web = await WebAdminInstance.StartAsync(new Dictionary<string, string> { ["allowAdminConnectionsFrom"] = "127.0.0.1|10.0.0.0/8" });
        using var c = web.NewClient();
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("login")).StatusCode);
    }
}

/// <summary>The session store and the login throttle by themselves, with a clock the test moves.</summary>
public sealed class SessionStoreTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Idle_sessions_expire_and_pre_login_sessions_are_swept_when_many_pile_up()
    {
        var clock = new ManualClock();
        var store = new SessionStore(clock);
        var first = store.CreateAnonymous();
        clock.Now += SessionStore.IdleTimeout + TimeSpan.FromSeconds(1);
        Assert.Null(store.Get(first.Id));
        for (int i = 0; i <= SessionStore.SweepAbove; i++) store.CreateAnonymous();
        clock.Now += SessionStore.IdleTimeout + TimeSpan.FromSeconds(1);
        var fresh = store.CreateAnonymous();
        Assert.Equal(1, store.Count);
        Assert.NotNull(store.Get(fresh.Id));
    }

    [Fact]
    public void The_throttle_blocks_an_address_for_the_window_only()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(clock);
        var ip = System.Net.IPAddress.Parse("192.0.2.1");
        for (int i = 0; i < LoginThrottle.MaxFailures; i++) throttle.Failed(ip);
        Assert.True(throttle.IsBlocked(ip));
        Assert.False(throttle.IsBlocked(System.Net.IPAddress.Parse("192.0.2.2")));
        clock.Now += LoginThrottle.Window + TimeSpan.FromSeconds(1);
        Assert.False(throttle.IsBlocked(ip));
    }
}
