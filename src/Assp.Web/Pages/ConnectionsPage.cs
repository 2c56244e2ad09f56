using System.Globalization;
using System.Text;
using Assp.Smtp.Monitoring;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>
/// SMTP Connections: the open sessions, refreshed by long polling (the request waits until the session list
/// changes, at most <see cref="MaxWait"/>, so durations move on too), and the close action.
/// </summary>
internal static class ConnectionsPage
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/connections", (HttpContext ctx) =>
        {
            var s = ctx.Session()!;
            if (admin.Live is not { } live) return Page(ctx, "SMTP Connections", "connections", NoProxy);
            var view = live.Sessions();
            var body = $"""
{Notice(ctx.Request.Query["done"], ctx.Request.Query.ContainsKey("error"))}
<div class="card"><p class="muted small">Updates by itself while the page is open. <span id="conncount">{view.Sessions.Count}</span> open.</p>
<table class="resp conns"><thead><tr><th>Client</th><th>HELO</th><th>Sender</th><th>Recipients</th><th>Phase</th><th>Duration</th><th>Bytes</th><th>Score</th><th></th></tr></thead>
<tbody id="connrows" data-version="{view.Version}">{Rows(view, s, admin.Clock.GetUtcNow())}</tbody></table></div>
""";
            return Page(ctx, "SMTP Connections", "connections", body);
        });
        // The rows of the table as HTML, once the list changed from the version the page has (or after MaxWait).
        app.MapGet("/connections/rows", async (HttpContext ctx, long? since) =>
        {
            if (admin.Live is not { } live) return Results.NotFound();
            var view = await WaitAsync(live, since, ctx.RequestAborted);
            return Results.Json(new { version = view.Version, count = view.Sessions.Count, html = Rows(view, ctx.Session()!, admin.Clock.GetUtcNow()) });
        });
        app.MapPost("/connections/{id}/close", (HttpContext ctx, string id) =>
        {
            var (ok, message) = Close(ctx, admin, id);
            return Results.Redirect("/connections?done=" + Uri.EscapeDataString(message) + (ok ? "" : "&error=1"));
        }).WithMetadata(new RequiresRole(AdminRole.Operator));
    }

    public const string NoProxy = "<div class=\"card\"><p class=\"muted\">No SMTP proxy runs in this process, so there is nothing live to show.</p></div>";

    public static async Task<LiveSessionsView> WaitAsync(LiveServices live, long? since, CancellationToken aborted)
    {
        if (since is { } known)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            wait.CancelAfter(MaxWait);
            try
            {
                await live.WaitForSessionChange(known, wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                // Nothing changed: the current list (with longer durations) is the answer.
            }
        }
        return live.Sessions();
    }

    public static (bool Ok, string Message) Close(HttpContext ctx, WebAdminContext admin, string id)
    {
        if (admin.Live is not { } live) return (false, "no SMTP proxy runs in this process");
        var who = ctx.Session()!.User;
        var session = live.Sessions().Sessions.FirstOrDefault(x => x.Id == id);
        if (session is null || !live.CloseSession(id, $"closed by web admin ({who})")) return (false, $"session {id} is not open (any more)");
        admin.Log($"web admin ({who}): closed SMTP session {id} from {session.ClientIp}");
        return (true, $"Session {id} from {session.ClientIp} closed.");
    }

    private static string Rows(LiveSessionsView view, WebSession s, DateTimeOffset now)
    {
        if (view.Sessions.Count == 0) return "<tr><td colspan=\"9\" class=\"muted\">No open SMTP connections.</td></tr>";
        bool canClose = s.Role >= AdminRole.Operator;
        var sb = new StringBuilder();
        foreach (var x in view.Sessions)
        {
            var state = x.States.Contains("blocked") ? "blocked" : x.States.Contains("spam-suspect") ? "suspect"
                : x.States.Contains("whitelisted") || x.States.Contains("noprocessing") ? "white" : "ok";
            var seconds = Math.Max(0, (now - x.Started).TotalSeconds);
            sb.Append("<tr class=\"st-").Append(state).Append("\" data-id=\"").Append(E(x.Id)).Append("\"><td>").Append(E(x.ClientIp))
              .Append("<div class=\"muted small\">").Append(E(string.Join(" ", x.States))).Append("</div></td><td>").Append(E(x.Helo))
              .Append("</td><td>").Append(E(x.Sender)).Append("</td><td>").Append(E(string.Join(", ", x.Recipients)))
              .Append("</td><td>").Append(E(x.Phase.ToString())).Append("</td><td>").Append(E(Duration(seconds)))
              .Append("</td><td>").Append(x.Bytes.ToString("N0", CultureInfo.InvariantCulture))
              .Append("</td><td>").Append(x.Score.ToString("0.##", CultureInfo.InvariantCulture)).Append("</td><td>");
            if (canClose)
                sb.Append("<form method=\"post\" action=\"/connections/").Append(Uri.EscapeDataString(x.Id)).Append("/close\" class=\"inline\" data-confirm=\"Close the connection from ")
                  .Append(E(x.ClientIp)).Append("?\">").Append(Csrf(s)).Append("<button class=\"small danger\" aria-label=\"close ").Append(E(x.Id)).Append("\">Close</button></form>");
            sb.Append("</td></tr>");
        }
        return sb.ToString();
    }

    private static string Duration(double seconds) => seconds < 60 ? $"{seconds:0}s"
        : seconds < 3600 ? $"{(int)seconds / 60}m {(int)seconds % 60:00}s" : $"{(int)seconds / 3600}h {(int)seconds % 3600 / 60:00}m";
}
