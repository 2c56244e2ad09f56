using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>Login, logout and the own password change (forced at the first login).</summary>
internal static class AccountPages
{
    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/login", (HttpContext ctx) => LoginForm(ctx, admin, null)).WithMetadata(new AnonymousAccess());
        app.MapPost("/login", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var (ok, error) = Login(ctx, admin, form["user"].ToString(), form["password"].ToString());
            if (!ok) return LoginForm(ctx, admin, error, ctx.Response.StatusCode == 429 ? 429 : 401);
            var session = ctx.Session()!;
            return Results.Redirect(session.MustChangePassword ? "/account/password" : "/");
        }).WithMetadata(new AnonymousAccess());
        app.MapPost("/logout", (HttpContext ctx) =>
        {
            Logout(ctx, admin);
            return Results.Redirect("/login");
        }).WithMetadata(new AllowedBeforePasswordChange());
        app.MapGet("/account/password", (HttpContext ctx) => PasswordForm(ctx, null, false)).WithMetadata(new AllowedBeforePasswordChange());
        app.MapPost("/account/password", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var error = ChangePassword(ctx, admin, form["current"].ToString(), form["password"].ToString(), form["confirm"].ToString());
            if (error is not null) return PasswordForm(ctx, error, true, 400);
            return Results.Redirect("/?changed=1");
        }).WithMetadata(new AllowedBeforePasswordChange());
    }

    /// <summary>Checks the credentials (with the client's rate limit and the account lockout) and starts a new session.</summary>
    public static (bool Ok, string? Error) Login(HttpContext ctx, WebAdminContext admin, string user, string password)
    {
        var ip = ctx.RemoteIp();
        if (admin.Throttle.IsBlocked(ip))
        {
            ctx.Response.StatusCode = 429;
            admin.Log($"web admin login from {ip} refused: too many failed logins");
            return (false, "Too many failed logins from your address; wait 15 minutes.");
        }
        var (outcome, account) = admin.Users.Verify(user, password);
        if (outcome != LoginOutcome.Success)
        {
            admin.Throttle.Failed(ip);
            admin.Log($"web admin login of '{Clean(user)}' from {ip} failed{(outcome == LoginOutcome.LockedOut ? ": account locked" : "")}");
            return (false, outcome == LoginOutcome.LockedOut
                ? "This account is locked after too many wrong passwords; try again in 15 minutes."
                : "Wrong user name or password.");
        }
        admin.Throttle.Succeeded(ip);
        var previous = ctx.Session()?.Id;
        var session = admin.Sessions.Login(previous, account!);
        ctx.SetSession(session);
        WebSecurity.WriteSessionCookie(ctx, session);
        admin.Log($"web admin login of '{account!.Name}' from {ip}");
        return (true, null);
    }

    public static void Logout(HttpContext ctx, WebAdminContext admin)
    {
        var s = ctx.Session();
        admin.Sessions.End(s?.Id);
        WebSecurity.ClearSessionCookie(ctx);
        if (s?.User is { } u) admin.Log($"web admin logout of '{u}'");
    }

    public static string? ChangePassword(HttpContext ctx, WebAdminContext admin, string current, string password, string confirm)
    {
        var s = ctx.Session()!;
        if (password != confirm) return "The two new passwords differ.";
        if (password == current) return "The new password must differ from the current one.";
        if (admin.Users.Verify(s.User!, current).Outcome != LoginOutcome.Success) return "The current password is wrong.";
        if (admin.Users.SetPassword(s.User!, password) is { } problem) return "The new password is not accepted: " + problem + ".";
        s.MustChangePassword = false;
        admin.Sessions.EndAllOf(s.User!, except: s.Id);
        admin.Log($"web admin user '{s.User}' changed the password");
        return null;
    }

    private static string Clean(string s) => new(s.Take(64).Where(c => !char.IsControl(c)).ToArray());

    private static IResult LoginForm(HttpContext ctx, WebAdminContext admin, string? error, int status = 200)
    {
        // The login form carries a token of its own, bound to a pre-login session.
        var session = ctx.Session();
        if (session is null || session.IsAuthenticated && error is not null)
        {
            session = admin.Sessions.CreateAnonymous();
            ctx.SetSession(session);
            WebSecurity.WriteSessionCookie(ctx, session);
        }
        var body = $"""
<div class="card login"><form method="post" action="/login">{Csrf(session)}
{Notice(error, true)}
<p><label for="user">User</label><input id="user" name="user" autocomplete="username" required autofocus></p>
<p><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Log in</button></p>
<p class="muted">The first start prints the password of user <b>admin</b> once to the console and the maillog.</p>
</form></div>
""";
        return Page(ctx, "Log in", "", body, status);
    }

    private static IResult PasswordForm(HttpContext ctx, string? error, bool _, int status = 200)
    {
        var s = ctx.Session()!;
        var body = $"""
<div class="card login"><form method="post" action="/account/password">{Csrf(s)}
{(s.MustChangePassword ? Notice("Choose your own password before you go on.") : "")}{Notice(error, true)}
<p><label for="current">Current password</label><input id="current" name="current" type="password" autocomplete="current-password" required></p>
<p><label for="password">New password (at least {AdminUsers.MinPasswordLength} characters)</label><input id="password" name="password" type="password" autocomplete="new-password" required></p>
<p><label for="confirm">New password again</label><input id="confirm" name="confirm" type="password" autocomplete="new-password" required></p>
<p><button type="submit">Change password</button></p></form></div>
""";
        return Page(ctx, "Change password", "", body, status);
    }
}
