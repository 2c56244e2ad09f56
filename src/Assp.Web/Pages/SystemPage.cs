using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>Reload the configuration, restart or shut down the process.</summary>
internal static class SystemPage
{
    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/system", (HttpContext ctx) => Show(ctx, admin, ctx.Request.Query["done"]));
        app.MapPost("/system/{action}", (HttpContext ctx, string action) =>
        {
            var (ok, message) = Run(ctx, admin, action);
            return ok ? Results.Redirect("/system?done=" + Uri.EscapeDataString(message)) : Show(ctx, admin, message, error: true, status: 400);
        }).WithMetadata(new RequiresRole(AdminRole.Admin));
    }

    public static (bool Ok, string Message) Run(HttpContext ctx, WebAdminContext admin, string action)
    {
        var who = ctx.Session()?.User ?? "?";
        switch (action)
        {
            case "reload":
                var cfg = admin.Config.Reload($"web admin ({who})");
                return (true, $"Configuration reloaded (generation {cfg.Generation}).");
            case "restart" when admin.RequestRestart is { } restart:
                restart($"web admin ({who})");
                return (true, "Restart requested; the page comes back when the process runs again.");
            case "shutdown" when admin.RequestShutdown is { } shutdown:
                shutdown($"web admin ({who})");
                return (true, "Shutdown requested.");
            default:
                return (false, $"'{action}' is not available here.");
        }
    }

    private static IResult Show(HttpContext ctx, WebAdminContext admin, string? message, bool error = false, int status = 200)
    {
        var s = ctx.Session()!;
        bool canAct = s.Role >= AdminRole.Admin;
        string Action(string name, string label, string cls, string? confirm) => canAct
            ? $"<form method=\"post\" action=\"/system/{name}\" class=\"inline\"{(confirm is null ? "" : $" data-confirm=\"{E(confirm)}\"")}>{Csrf(s)}<button class=\"{cls}\">{E(label)}</button></form> "
            : "";
        var body = $"""
{Notice(message, error)}
<div class="card"><h2>Configuration</h2><p>Reads assp.cfg and every list file again; running sessions keep the values they started with.</p>
{Action("reload", "Reload configuration", "", null)}</div>
<div class="card"><h2>Process</h2><p>A restart ends the process after the running sessions finished (at most MaxFinConWaitTime) and starts it again
(AutoRestartCmd, else the service manager).</p>
{(admin.RequestRestart is null ? "" : Action("restart", "Restart", "secondary", "Restart ASSP now?"))}
{(admin.RequestShutdown is null ? "" : Action("shutdown", "Shut down", "danger", "Shut ASSP down? It stays down until started again."))}
{(canAct ? "" : "<p class=\"muted\">Only admins can do this.</p>")}</div>
""";
        return Page(ctx, "System", "system", body, status);
    }
}
