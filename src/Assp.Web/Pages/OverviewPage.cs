using System.Globalization;
using Assp.Config;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>The start page: the instance at a glance and the configuration problems of the current load.</summary>
internal static class OverviewPage
{
    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/", (HttpContext ctx) =>
        {
            var cfg = admin.Config.Current;
            int changed = cfg.All().Count(x => x.Value != x.Option.Default);
            var issues = cfg.Issues.Where(i => i.Severity != IssueSeverity.Info).Take(50).ToList();
            var body = $"""
{(ctx.Request.Query.ContainsKey("changed") ? Notice("Your password was changed.") : "")}
<div class="grid">
<div class="card stat"><div class="k">Options</div><div class="v">{cfg.Registry.Count}</div><div class="k">{changed} changed from default</div></div>
<div class="card stat"><div class="k">Configuration loaded</div><div class="v">{E(cfg.LoadedAt.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture))}</div><div class="k">generation {cfg.Generation}</div></div>
<div class="card stat"><div class="k">Problems in assp.cfg</div><div class="v">{issues.Count}</div><div class="k">errors and warnings</div></div>
<div class="card stat"><div class="k">Base folder</div><div class="v path">{E(cfg.BaseDirectory)}</div><div class="k">myName {E(cfg["myName"])}</div></div>
</div>
<div class="card"><h2>Configuration problems</h2>
{(issues.Count == 0 ? "<p class=\"muted\">None.</p>" : "<table class=\"resp\"><thead><tr><th>Option</th><th>Where</th><th>Problem</th></tr></thead><tbody>" +
  string.Concat(issues.Select(i => $"<tr><td>{E(i.Option)}</td><td>{E(i.Location)}</td><td>{E(i.Message)}</td></tr>")) + "</tbody></table>")}
</div>
""";
            return Page(ctx, "Overview", "home", body);
        });
    }
}
