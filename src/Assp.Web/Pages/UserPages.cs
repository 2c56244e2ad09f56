using System.Text;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>Admin users: list, add (with a first password the user must change), reset a password, delete.</summary>
internal static class UserPages
{
    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/users", (HttpContext ctx) => Render(ctx, admin, null)).WithMetadata(new RequiresRole(AdminRole.Admin));
        app.MapPost("/users/{action}", async (HttpContext ctx, string action) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var me = ctx.Session()!.User!;
            var name = form["name"].ToString().Trim().ToLowerInvariant();
            string? error;
            string? done = null;
            switch (action)
            {
                case "add":
                    var role = Enum.TryParse<AdminRole>(form["role"], true, out var r) && Enum.IsDefined(r) ? r : AdminRole.Viewer;
                    error = admin.Users.Create(name, form["password"].ToString(), role);
                    done = $"User {name} added; the password must be changed at the first login.";
                    break;
                case "reset":
                    var temporary = AdminUsers.RandomPassword();
                    error = admin.Users.SetPassword(name, temporary, mustChange: true);
                    if (error is null) admin.Sessions.EndAllOf(name);
                    done = $"New one-time password for {name}: {temporary}";
                    break;
                case "delete":
                    error = admin.Users.Delete(name, me);
                    if (error is null) admin.Sessions.EndAllOf(name);
                    done = $"User {name} deleted.";
                    break;
                default:
                    return Results.NotFound();
            }
            if (error is null) admin.Log($"web admin ({me}): {action} of admin user '{name}'");
            return Render(ctx, admin, error is null ? (done, false) : (error, true), error is null ? 200 : 400);
        }).WithMetadata(new RequiresRole(AdminRole.Admin));
    }

    private static IResult Render(HttpContext ctx, WebAdminContext admin, (string? Text, bool Error)? message, int status = 200)
    {
        var s = ctx.Session()!;
        var sb = new StringBuilder();
        sb.Append(Notice(message?.Text, message?.Error ?? false));
        sb.Append("<div class=\"card\"><table class=\"resp\"><thead><tr><th>User</th><th>Role</th><th>State</th><th></th></tr></thead><tbody>");
        var now = admin.Clock.GetUtcNow().ToUnixTimeSeconds();
        foreach (var u in admin.Users.All())
        {
            var state = u.LockedUntil > now ? "locked" : u.MustChangePassword ? "must change password" : "active";
            sb.Append("<tr><td>").Append(E(u.Name)).Append("</td><td>").Append(E(u.Role.ToString().ToLowerInvariant())).Append("</td><td>").Append(E(state)).Append("</td><td>");
            foreach (var (action, label, confirm) in new[] { ("reset", "New password", "Give this user a new one-time password?"), ("delete", "Delete", "Delete this user?") })
            {
                if (action == "delete" && u.Name == s.User) continue;
                sb.Append("<form method=\"post\" action=\"/users/").Append(action).Append("\" class=\"inline\" data-confirm=\"").Append(E(confirm)).Append("\">").Append(Csrf(s))
                  .Append("<input type=\"hidden\" name=\"name\" value=\"").Append(E(u.Name)).Append("\"><button class=\"small ").Append(action == "delete" ? "danger" : "secondary")
                  .Append("\">").Append(label).Append("</button></form> ");
            }
            sb.Append("</td></tr>");
        }
        sb.Append("</tbody></table></div>");
        sb.Append($"""
<div class="card"><h2>Add a user</h2><form method="post" action="/users/add" class="row">{Csrf(s)}
<div><label for="name">Name</label><input id="name" name="name" required pattern="[A-Za-z0-9._-]+" maxlength="32"></div>
<div><label for="npw">First password</label><input id="npw" name="password" type="password" autocomplete="new-password" required minlength="{AdminUsers.MinPasswordLength}"></div>
<div><label for="role">Role</label><select id="role" name="role"><option value="viewer">viewer – reads every page</option>
<option value="operator">operator – also lists, PenaltyBox, analyzer</option><option value="admin">admin – everything</option></select></div>
<button type="submit">Add</button></form></div>
""");
        return Page(ctx, "Admin users", "users", sb.ToString(), status);
    }
}
