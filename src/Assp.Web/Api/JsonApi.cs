using Assp.Config.Registry;
using Assp.Web.Pages;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Assp.Web.Api;

public sealed record LoginBody(string? User, string? Password);
public sealed record PasswordBody(string? Current, string? Password);
public sealed record ConfigBody(Dictionary<string, string>? Values);
public sealed record FileBody(string? Option, string? Text);
public sealed record ListBody(string? Key, string? Extra);
public sealed record UserBody(string? Name, string? Password, string? Role);
public sealed record MaillogActionBody(string? Action, string? Value);
public sealed record StoredFileBody(string? Path, string? Action, string? To);

/// <summary>
/// The JSON API behind the pages (docs/web-api.md): the same session cookie, roles and anti-forgery token
/// (header X-CSRF-Token) as the pages.
/// </summary>
internal static class JsonApi
{
    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        var api = app.MapGroup("/api");

        // The token for the login request, bound to a new pre-login session.
        api.MapGet("/login", (HttpContext ctx) =>
        {
            // The pre-login session of this browser is kept (the login replaces it anyway); else a new one.
            var s = ctx.Session() is { IsAuthenticated: false } pre ? pre : admin.Sessions.CreateAnonymous();
            WebSecurity.WriteSessionCookie(ctx, s);
            return Results.Ok(new { csrfToken = s.CsrfToken });
        }).WithMetadata(new AnonymousAccess());
        api.MapPost("/login", (HttpContext ctx, LoginBody body) =>
        {
            var (ok, error) = AccountPages.Login(ctx, admin, body.User ?? "", body.Password ?? "");
            if (!ok) return Results.Json(new { error }, statusCode: ctx.Response.StatusCode == 429 ? 429 : 401);
            return Results.Ok(SessionInfo(ctx.Session()!));
        }).WithMetadata(new AnonymousAccess());
        api.MapPost("/logout", (HttpContext ctx) =>
        {
            AccountPages.Logout(ctx, admin);
            return Results.NoContent();
        }).WithMetadata(new AllowedBeforePasswordChange());
        api.MapGet("/session", (HttpContext ctx) => Results.Ok(SessionInfo(ctx.Session()!))).WithMetadata(new AllowedBeforePasswordChange());
        api.MapPost("/account/password", (HttpContext ctx, PasswordBody body) =>
        {
            var error = AccountPages.ChangePassword(ctx, admin, body.Current ?? "", body.Password ?? "", body.Password ?? "");
            return error is null ? Results.NoContent() : Results.BadRequest(new { error });
        }).WithMetadata(new AllowedBeforePasswordChange());

        api.MapGet("/config", (HttpContext ctx, string? filter) =>
        {
            var cfg = admin.Config.Current;
            return Results.Ok(ConfigEditing.Filter(cfg.Registry, filter).Select(o => OptionInfo(cfg, o)));
        });
        api.MapGet("/config/{name}", (string name) =>
        {
            var cfg = admin.Config.Current;
            return cfg.Registry.Resolve(name, out _) is { } o ? Results.Ok(OptionInfo(cfg, o)) : Results.NotFound(new { error = $"no option '{name}'" });
        });
        api.MapPost("/config", (HttpContext ctx, ConfigBody body) =>
        {
            var result = new ConfigEditing(admin.Config).Apply(body.Values ?? []);
            if (result.Changed.Count > 0) admin.Log($"web admin ({ctx.Session()!.User}) changed {string.Join(", ", result.Changed)}");
            var shown = new
            {
                changed = result.Changed,
                needRestart = result.NeedRestart,
                problems = result.Problems.Select(p => new { option = p.Option, value = p.Value, message = p.Message, file = p.File, line = p.Line }),
            };
            return result.Ok ? Results.Ok(shown) : Results.BadRequest(shown);
        }).WithMetadata(new RequiresRole(AdminRole.Admin));
        api.MapGet("/config/file", (string option) =>
        {
            var file = new ConfigEditing(admin.Config).FileOf(option, out var problem);
            return file is null ? Results.BadRequest(new { error = problem }) : Results.Ok(new { option = file.Option, path = file.RelativePath, exists = file.Exists, text = file.Text });
        });
        api.MapPut("/config/file", (HttpContext ctx, FileBody body) =>
        {
            var (saved, problems) = new ConfigEditing(admin.Config).SaveFile(body.Option ?? "", body.Text ?? "");
            if (saved) admin.Log($"web admin ({ctx.Session()!.User}) edited the file of {body.Option}");
            var shown = new { saved, problems = problems.Select(p => new { option = p.Option, value = p.Value, message = p.Message, line = p.Line }) };
            return saved ? Results.Ok(shown) : Results.BadRequest(shown);
        }).WithMetadata(new RequiresRole(AdminRole.Admin));

        api.MapGet("/lists/{list}", (string list, string? q) =>
        {
            if (!ListEditing.TryParse(list, out var name)) return Results.NotFound(new { error = $"no list '{list}'" });
            var (rows, total) = new ListEditing(admin.Store).Search(admin.Config.Current, name, q);
            return Results.Ok(new { total, rows });
        });
        api.MapPost("/lists/{list}", (HttpContext ctx, string list, ListBody body) => ListChange(ctx, admin, list, body.Key, body.Extra, add: true))
            .WithMetadata(new RequiresRole(AdminRole.Operator));
        api.MapDelete("/lists/{list}", (HttpContext ctx, string list, string key) => ListChange(ctx, admin, list, key, null, add: false))
            .WithMetadata(new RequiresRole(AdminRole.Operator));

        api.MapPost("/analyze", async (HttpContext ctx, AnalyzeRequest body) =>
        {
            var (result, error) = await Analyzing.RunAsync(admin, Analyzing.FromText(body.Message ?? ""), body, ctx.RequestAborted);
            return result is null ? Results.BadRequest(new { error }) : Results.Ok(result);
        }).WithMetadata(new RequiresRole(AdminRole.Operator));

        api.MapGet("/sessions", async (HttpContext ctx, long? since) =>
            admin.Live is { } live ? Results.Ok(await ConnectionsPage.WaitAsync(live, since, ctx.RequestAborted)) : NoProxy());
        api.MapPost("/sessions/{id}/close", (HttpContext ctx, string id) =>
        {
            if (admin.Live is null) return NoProxy();
            var (ok, message) = ConnectionsPage.Close(ctx, admin, id);
            return ok ? Results.Ok(new { message }) : Results.NotFound(new { error = message });
        }).WithMetadata(new RequiresRole(AdminRole.Operator));

        api.MapGet("/maillog", (HttpContext ctx, int? skip, int? take) =>
        {
            var (filter, problem) = MaillogPage.ReadFilter(ctx.Request.Query);
            if (problem is not null) return Results.BadRequest(new { error = problem });
            var page = Assp.Config.Logging.MaillogSearch.Search(admin.Config.Current, filter.ToQuery(skip ?? 0, Math.Clamp(take ?? 100, 1, 1000)), ctx.RequestAborted);
            return page.Error is null ? Results.Ok(page) : Results.BadRequest(new { error = page.Error });
        });
        api.MapGet("/maillog/tail", (HttpContext ctx, long? offset) =>
        {
            var cfg = admin.Config.Current;
            var page = MaillogTools.Tail(cfg, offset ?? MaillogTools.EndOffset(cfg), MaillogPage.ReadFilter(ctx.Request.Query).Filter);
            return page.Error is null ? Results.Ok(page) : Results.BadRequest(new { error = page.Error });
        });
        api.MapPost("/maillog/action", (HttpContext ctx, MaillogActionBody body) =>
        {
            var (ok, message) = MaillogPage.ListAction(ctx, admin, body.Action ?? "", body.Value ?? "");
            return ok ? Results.Ok(new { message }) : Results.BadRequest(new { error = message });
        }).WithMetadata(new RequiresRole(AdminRole.Operator));
        api.MapGet("/maillog/file", (string? path) =>
        {
            var (bytes, problem) = MaillogTools.ReadStoredFile(admin.Config.Current, path);
            return bytes is null ? Results.NotFound(new { error = problem }) : Results.Text(System.Text.Encoding.UTF8.GetString(bytes), "text/plain; charset=utf-8");
        }).WithMetadata(new RequiresRole(AdminRole.Operator));
        api.MapPost("/maillog/file", async (HttpContext ctx, StoredFileBody body) =>
        {
            var (ok, message) = await MaillogPage.FileAction(ctx, admin, body.Action ?? "", body.Path ?? "", body.To);
            return ok ? Results.Ok(new { message }) : Results.BadRequest(new { error = message });
        }).WithMetadata(new RequiresRole(AdminRole.Operator));

        api.MapGet("/stats", () =>
        {
            if (admin.Live is not { } live) return NoProxy();
            var snapshot = live.Statistics.Snapshot();
            return Results.Ok(new { statistics = snapshot, sinceStart = live.SinceStart(snapshot) });
        });
        api.MapPost("/stats/reset", (HttpContext ctx) => StatsPage.Reset(ctx, admin) ? Results.NoContent() : NoProxy())
            .WithMetadata(new RequiresRole(AdminRole.Admin));
        api.MapGet("/health", () => admin.Live is { } live
            ? Results.Ok(new { probes = live.Health is not null, report = live.Health?.Latest })
            : NoProxy());

        api.MapPost("/system/{action}", (HttpContext ctx, string action) =>
        {
            var (ok, message) = SystemPage.Run(ctx, admin, action);
            return ok ? Results.Ok(new { message }) : Results.BadRequest(new { error = message });
        }).WithMetadata(new RequiresRole(AdminRole.Admin));

        api.MapGet("/users", () => Results.Ok(admin.Users.All().Select(u => new
        {
            name = u.Name, role = u.Role.ToString().ToLowerInvariant(), mustChangePassword = u.MustChangePassword,
            locked = u.LockedUntil > admin.Clock.GetUtcNow().ToUnixTimeSeconds(),
        }))).WithMetadata(new RequiresRole(AdminRole.Admin));
        api.MapPost("/users", (HttpContext ctx, UserBody body) =>
        {
            var role = Enum.TryParse<AdminRole>(body.Role, true, out var r) && Enum.IsDefined(r) ? r : AdminRole.Viewer;
            var error = admin.Users.Create(body.Name ?? "", body.Password ?? "", role);
            if (error is null) admin.Log($"web admin ({ctx.Session()!.User}): added admin user '{body.Name}'");
            return error is null ? Results.Created($"/api/users/{body.Name}", null) : Results.BadRequest(new { error });
        }).WithMetadata(new RequiresRole(AdminRole.Admin));
        api.MapDelete("/users/{name}", (HttpContext ctx, string name) =>
        {
            var error = admin.Users.Delete(name, ctx.Session()!.User!);
            if (error is null)
            {
                admin.Sessions.EndAllOf(name.ToLowerInvariant());
                admin.Log($"web admin ({ctx.Session()!.User}): deleted admin user '{name}'");
            }
            return error is null ? Results.NoContent() : Results.BadRequest(new { error });
        }).WithMetadata(new RequiresRole(AdminRole.Admin));
    }

    private static IResult NoProxy() => Results.NotFound(new { error = "no SMTP proxy runs in this process" });

    private static IResult ListChange(HttpContext ctx, WebAdminContext admin, string list, string? key, string? extra, bool add)
    {
        if (!ListEditing.TryParse(list, out var name)) return Results.NotFound(new { error = $"no list '{list}'" });
        var editing = new ListEditing(admin.Store);
        var cfg = admin.Config.Current;
        var (ok, message) = add ? editing.Add(cfg, name, key ?? "", extra) : editing.Remove(cfg, name, key ?? "");
        if (ok) admin.Log($"web admin ({ctx.Session()!.User}): {message}");
        return ok ? Results.Ok(new { message }) : Results.BadRequest(new { error = message });
    }

    private static object SessionInfo(WebSession s) => new
    {
        user = s.User, role = s.Role.ToString().ToLowerInvariant(), mustChangePassword = s.MustChangePassword, csrfToken = s.CsrfToken,
    };

    private static object OptionInfo(Assp.Config.ConfigSnapshot cfg, OptionDefinition o)
    {
        var value = cfg[o.Name];
        return new
        {
            name = o.Name, section = o.Section, kind = o.Kind.ToToken(), widget = o.Widget,
            value = o.IsSecret ? (value.Length > 0 ? "********" : "") : value,
            @default = o.IsSecret ? (o.Default.Length > 0 ? "********" : "") : o.Default,
            changed = value != o.Default, needsRestart = ConfigEditing.NeedsRestart(o), description = o.Description,
            choices = o.Choices.Select(c => new { code = c.Code, label = c.Label }),
        };
    }
}
