using System.Globalization;
using System.Text;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>The White/Redlist/Tuplets page and the PenaltyBox page: search, add, remove.</summary>
internal static class ListPages
{
    private static readonly (ListName List, string Title, string AddLabel, string? ExtraLabel)[] s_lists =
    [
        (ListName.Whitelist, "Whitelist", "Address or @domain", null),
        (ListName.Redlist, "Redlist", "Address or *@domain", null),
        (ListName.Tuplets, "Tuplets (greylisting safelist)", "IP address", "Sender address or domain"),
    ];

    private static readonly (ListName List, string Title, string AddLabel, string? ExtraLabel)[] s_pb =
    [
        (ListName.PbBlack, "Black box", "", null),
        (ListName.PbWhite, "White box", "IP address", null),
    ];

    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/lists", (HttpContext ctx) => Render(ctx, admin, "lists", "White/Redlist/Tuplets", s_lists, null));
        app.MapGet("/penaltybox", (HttpContext ctx) => Render(ctx, admin, "pb", "PenaltyBox", s_pb, null));
        app.MapPost("/lists/{list}/{action}", async (HttpContext ctx, string list, string action) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            bool pb = list.StartsWith("pb", StringComparison.OrdinalIgnoreCase);
            if (!ListEditing.TryParse(list, out var name) || action is not ("add" or "remove"))
                return Results.NotFound();
            var editing = new ListEditing(admin.Store);
            var cfg = admin.Config.Current;
            var key = form["key"].ToString();
            var (ok, message) = action == "add" ? editing.Add(cfg, name, key, form["extra"]) : editing.Remove(cfg, name, key);
            if (ok) admin.Log($"web admin ({ctx.Session()!.User}): {message}");
            return Render(ctx, admin, pb ? "pb" : "lists", pb ? "PenaltyBox" : "White/Redlist/Tuplets", pb ? s_pb : s_lists, (message, !ok), ok ? 200 : 400);
        }).WithMetadata(new RequiresRole(AdminRole.Operator));
    }

    private static IResult Render(HttpContext ctx, WebAdminContext admin, string active, string title,
        (ListName List, string Title, string AddLabel, string? ExtraLabel)[] lists, (string Text, bool Error)? message, int status = 200)
    {
        var s = ctx.Session()!;
        var cfg = admin.Config.Current;
        bool canEdit = s.Role >= AdminRole.Operator;
        var editing = new ListEditing(admin.Store);
        var q = ctx.Request.Query;
        var sb = new StringBuilder();
        sb.Append(Notice(message?.Text, message?.Error ?? false));
        foreach (var (list, listTitle, addLabel, extraLabel) in lists)
        {
            var key = list.ToString().ToLowerInvariant();
            var query = q["q_" + key].ToString();
            var (rows, total) = editing.Search(cfg, list, query);
            sb.Append("<div class=\"card\" id=\"").Append(key).Append("\"><h2>").Append(E(listTitle)).Append(" <span class=\"muted small\">")
              .Append(total).Append(total == 1 ? " entry" : " entries").Append(query.Length > 0 ? " match" : "").Append("</span></h2>");
            sb.Append("<form method=\"get\" action=\"/").Append(active == "pb" ? "penaltybox" : "lists").Append('#').Append(key).Append("\" class=\"row\">")
              .Append("<input type=\"search\" name=\"q_").Append(key).Append("\" value=\"").Append(E(query)).Append("\" placeholder=\"Search\" aria-label=\"search ").Append(E(listTitle)).Append("\">")
              .Append("<button class=\"secondary\">Search</button></form>");
            if (canEdit && addLabel.Length > 0)
            {
                sb.Append("<form method=\"post\" action=\"/lists/").Append(key).Append("/add\" class=\"row mt\">").Append(Csrf(s))
                  .Append("<input name=\"key\" placeholder=\"").Append(E(addLabel)).Append("\" aria-label=\"").Append(E(addLabel)).Append("\" required>");
                if (extraLabel is not null)
                    sb.Append("<input name=\"extra\" placeholder=\"").Append(E(extraLabel)).Append("\" aria-label=\"").Append(E(extraLabel)).Append("\" required>");
                sb.Append("<button type=\"submit\">Add</button></form>");
            }
            sb.Append("<table class=\"resp mt\"><thead><tr><th>Entry</th><th>State</th><th>Updated</th><th></th></tr></thead><tbody>");
            foreach (var r in rows)
            {
                sb.Append("<tr><td>").Append(E(r.Key)).Append("</td><td>").Append(E(r.Value)).Append("</td><td>")
                  .Append(E(r.Updated?.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))).Append("</td><td>");
                if (canEdit)
                    sb.Append("<form method=\"post\" action=\"/lists/").Append(key).Append("/remove\" class=\"inline\">").Append(Csrf(s))
                      .Append("<input type=\"hidden\" name=\"key\" value=\"").Append(E(r.Key)).Append("\"><button class=\"small secondary\" aria-label=\"remove ")
                      .Append(E(r.Key)).Append("\">Remove</button></form>");
                sb.Append("</td></tr>");
            }
            if (rows.Count == 0) sb.Append("<tr><td colspan=\"4\" class=\"muted\">No entries.</td></tr>");
            sb.Append("</tbody></table>");
            if (total > rows.Count) sb.Append("<p class=\"muted\">Showing ").Append(rows.Count).Append(" of ").Append(total).Append("; search to narrow down.</p>");
            sb.Append("</div>");
        }
        return Page(ctx, title, active, sb.ToString(), status);
    }
}
