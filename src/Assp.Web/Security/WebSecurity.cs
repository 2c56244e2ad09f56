using System.Net;
using Assp.Config;
using Microsoft.AspNetCore.Http;

namespace Assp.Web.Security;

/// <summary>Endpoint marker: reachable without a login (the login form and the static assets only).</summary>
public sealed class AnonymousAccess;

/// <summary>Endpoint marker: the least role a user needs (pages without it need <see cref="AdminRole.Viewer"/>).</summary>
public sealed record RequiresRole(AdminRole Role);

/// <summary>Endpoint marker: reachable while a first-login password change is pending.</summary>
public sealed class AllowedBeforePasswordChange;

internal static class WebSecurity
{
    public const string CsrfHeader = "X-CSRF-Token";
    public const string CsrfField = "_csrf";
    private const string SessionKey = "assp.session";

    public static WebSession? Session(this HttpContext ctx) => ctx.Items.TryGetValue(SessionKey, out var s) ? s as WebSession : null;

    public static void SetSession(this HttpContext ctx, WebSession session) => ctx.Items[SessionKey] = session;

    public static IPAddress RemoteIp(this HttpContext ctx)
    {
        var ip = ctx.Connection.RemoteIpAddress ?? IPAddress.None;
        return ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
    }

    public static void WriteSessionCookie(HttpContext ctx, WebSession session) =>
        ctx.Response.Cookies.Append(SessionStore.CookieName, session.Id, new CookieOptions
        {
            HttpOnly = true,
            Secure = ctx.Request.IsHttps,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            IsEssential = true,
        });

    public static void ClearSessionCookie(HttpContext ctx) =>
        ctx.Response.Cookies.Delete(SessionStore.CookieName, new CookieOptions { Path = "/", HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = ctx.Request.IsHttps });

    private static bool IsApi(HttpContext ctx) => ctx.Request.Path.StartsWithSegments("/api");

    private static bool ChangesState(string method) => !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));

    /// <summary>
    /// The gate every request passes after routing: allowAdminConnectionsFrom, the session, the role the endpoint
    /// needs, a pending first-login password change, and the anti-forgery token of state-changing requests.
    /// </summary>
    public static async Task Gate(HttpContext ctx, WebAdminContext admin, RequestDelegate next)
    {
        var cfg = admin.Config.Current;
        var remote = ctx.RemoteIp();
        var allowed = cfg.GetIpList("allowAdminConnectionsFrom");
        if (allowed.Count > 0 && !allowed.Contains(remote))
        {
            admin.Log($"web admin connection from {remote} refused: not in allowAdminConnectionsFrom");
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            await ctx.Response.WriteAsync("Forbidden");
            return;
        }
        ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
        ctx.Response.Headers["X-Frame-Options"] = "DENY";
        ctx.Response.Headers["Referrer-Policy"] = "no-referrer";
        ctx.Response.Headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'";
        var endpoint = ctx.GetEndpoint();
        var session = admin.Sessions.Get(ctx.Request.Cookies[SessionStore.CookieName]);
        if (session is not null) ctx.SetSession(session);
        bool anonymous = endpoint?.Metadata.GetMetadata<AnonymousAccess>() is not null;
        if (!anonymous)
        {
            ctx.Response.Headers.CacheControl = "no-store";
            if (session is not { IsAuthenticated: true })
            {
                await Refuse(ctx, StatusCodes.Status401Unauthorized, "login required", redirect: "/login");
                return;
            }
            var needed = endpoint?.Metadata.GetMetadata<RequiresRole>()?.Role ?? AdminRole.Viewer;
            if (session.Role < needed)
            {
                await Refuse(ctx, StatusCodes.Status403Forbidden, $"this needs the {needed.ToString().ToLowerInvariant()} role");
                return;
            }
            if (session.MustChangePassword && endpoint?.Metadata.GetMetadata<AllowedBeforePasswordChange>() is null)
            {
                await Refuse(ctx, StatusCodes.Status403Forbidden, "change your password first", redirect: "/account/password");
                return;
            }
        }
        if (ChangesState(ctx.Request.Method))
        {
            string? token = ctx.Request.Headers[CsrfHeader];
            if (string.IsNullOrEmpty(token) && ctx.Request.HasFormContentType)
            {
                var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
                token = form[CsrfField];
            }
            if (session is null || string.IsNullOrEmpty(token) || !FixedEquals(token, session.CsrfToken))
            {
                await Refuse(ctx, StatusCodes.Status403Forbidden, "missing or wrong anti-forgery token");
                return;
            }
        }
        await next(ctx);
    }

    private static bool FixedEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(a), System.Text.Encoding.UTF8.GetBytes(b));

    private static async Task Refuse(HttpContext ctx, int status, string why, string? redirect = null)
    {
        if (redirect is not null && !IsApi(ctx) && HttpMethods.IsGet(ctx.Request.Method))
        {
            ctx.Response.Redirect(redirect);
            return;
        }
        ctx.Response.StatusCode = status;
        if (IsApi(ctx)) await ctx.Response.WriteAsJsonAsync(new { error = why });
        else
        {
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync(why);
        }
    }
}
