using System.Globalization;
using System.Text;
using Assp.Checks.Statistics;
using Assp.Smtp.Monitoring;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>Info and Stats (MailStatistics, with its reset) and the health page (the HealthMonitor probes).</summary>
internal static class StatsPage
{
    private static readonly Dictionary<string, string> s_counterLabels = new(StringComparer.Ordinal)
    {
        [MailStatistics.ConnectionsAccepted] = "Connections accepted",
        [MailStatistics.ConnectionsRefused] = "Connections refused",
        [MailStatistics.Messages] = "Messages",
        [MailStatistics.MessagesDelivered] = "Delivered",
        [MailStatistics.MessagesBlocked] = "Blocked",
        [MailStatistics.MessagesTempFailed] = "Temporarily refused",
        [MailStatistics.MessagesDiscarded] = "Discarded",
        [MailStatistics.MessagesSpamPassed] = "Spam passed (test mode, lovers, tagging)",
        [MailStatistics.MessagesHam] = "Clean",
        [MailStatistics.MessagesWhitelisted] = "Whitelisted",
        [MailStatistics.MessagesNoProcessing] = "No processing",
        [MailStatistics.MessagesOutgoing] = "Outgoing (relayed)",
        [MailStatistics.BytesDelivered] = "Bytes delivered",
    };

    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/stats", (HttpContext ctx) => admin.Live is { } live
            ? Page(ctx, "Info and Stats", "stats", Notice(ctx.Request.Query["done"]) + Render(ctx, live))
            : Page(ctx, "Info and Stats", "stats", ConnectionsPage.NoProxy));
        app.MapPost("/stats/reset", (HttpContext ctx) =>
        {
            if (!Reset(ctx, admin)) return Results.NotFound();
            return Results.Redirect("/stats?done=" + Uri.EscapeDataString("Statistics reset."));
        }).WithMetadata(new RequiresRole(AdminRole.Admin));
        app.MapGet("/health", (HttpContext ctx) => admin.Live is { } live
            ? Page(ctx, "Health", "health", RenderHealth(ctx, live.Health?.Latest, live.Health is not null))
            : Page(ctx, "Health", "health", ConnectionsPage.NoProxy));
        app.MapPost("/health/run", async (HttpContext ctx) =>
        {
            if (admin.Live?.Health is not { } health) return Results.NotFound();
            await health.RunAsync(ctx.RequestAborted);
            return Results.Redirect("/health");
        }).WithMetadata(new RequiresRole(AdminRole.Operator));
    }

    public static bool Reset(HttpContext ctx, WebAdminContext admin)
    {
        if (admin.Live is not { } live) return false;
        live.ResetStatistics();
        admin.Log($"web admin ({ctx.Session()!.User}): statistics reset");
        return true;
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static string Render(HttpContext ctx, LiveServices live)
    {
        var s = ctx.Session()!;
        var snap = live.Statistics.Snapshot();
        var sinceStart = live.SinceStart(snap);
        var sb = new StringBuilder();
        long messages = snap.Counters[MailStatistics.Messages];
        long blocked = snap.Counters[MailStatistics.MessagesBlocked];
        sb.Append("<div class=\"grid\">")
          .Append(Stat("Uptime", Uptime(snap.Uptime), "since " + snap.ProcessStarted.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)))
          .Append(Stat("Messages", N(messages), $"{N(sinceStart[MailStatistics.Messages])} since start"))
          .Append(Stat("Blocked", N(blocked), messages > 0 ? $"{100.0 * blocked / messages:0.#}% of messages" : "no messages yet"))
          .Append(Stat("Average score", snap.ScoreCount > 0 ? (snap.ScoreSum / snap.ScoreCount).ToString("0.#", CultureInfo.InvariantCulture) : "–", $"{N(snap.ScoreCount)} scored"))
          .Append("</div>");
        sb.Append("<div class=\"card\"><h2>Totals</h2><table class=\"resp stats\" id=\"totals\"><thead><tr><th>Counter</th><th>Since start</th><th>Since reset (")
          .Append(E(snap.CountingSince.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))).Append(")</th></tr></thead><tbody>");
        foreach (var name in MailStatistics.CounterNames)
            sb.Append("<tr data-counter=\"").Append(name).Append("\"><td>").Append(E(s_counterLabels.GetValueOrDefault(name, name))).Append("</td><td>")
              .Append(N(sinceStart[name])).Append("</td><td>").Append(N(snap.Counters[name])).Append("</td></tr>");
        sb.Append("</tbody></table>");
        if (s.Role >= AdminRole.Admin)
            sb.Append("<form method=\"post\" action=\"/stats/reset\" class=\"mt\" data-confirm=\"Reset all statistics to zero?\">").Append(Csrf(s))
              .Append("<button class=\"danger\">Reset statistics</button></form>");
        sb.Append("</div>");

        long maxHits = snap.Checks.Count == 0 ? 1 : Math.Max(1, snap.Checks.Max(c => c.Hits));
        sb.Append("<div class=\"card\"><h2>Checks</h2><table class=\"resp stats\" id=\"checks\"><thead><tr><th>Check</th><th>Hits</th><th>Blocks</th><th></th></tr></thead><tbody>");
        foreach (var c in snap.Checks)
            sb.Append("<tr data-check=\"").Append(E(c.Check)).Append("\"><td>").Append(E(c.Check)).Append("</td><td>").Append(N(c.Hits)).Append("</td><td>").Append(N(c.Blocks))
              .Append("</td><td><progress max=\"").Append(maxHits).Append("\" value=\"").Append(c.Hits).Append("\"></progress></td></tr>");
        if (snap.Checks.Count == 0) sb.Append("<tr><td colspan=\"4\" class=\"muted\">No check has found anything yet.</td></tr>");
        sb.Append("</tbody></table></div>");

        long maxRejects = snap.RejectsByReason.Count == 0 ? 1 : Math.Max(1, snap.RejectsByReason.Values.Max());
        sb.Append("<div class=\"card\"><h2>Refusals by reason</h2><table class=\"resp stats\" id=\"rejects\"><thead><tr><th>Reason</th><th>Count</th><th></th></tr></thead><tbody>");
        foreach (var (reason, n) in snap.RejectsByReason)
            sb.Append("<tr><td>").Append(E(reason)).Append("</td><td>").Append(N(n)).Append("</td><td><progress max=\"").Append(maxRejects).Append("\" value=\"").Append(n).Append("\"></progress></td></tr>");
        if (snap.RejectsByReason.Count == 0) sb.Append("<tr><td colspan=\"3\" class=\"muted\">Nothing refused yet.</td></tr>");
        sb.Append("</tbody></table></div>");

        long maxBucket = Math.Max(1, snap.ScoreHistogram.Max(b => b.Count));
        sb.Append("<div class=\"card\"><h2>Message scores</h2><table class=\"stats\" id=\"histogram\"><thead><tr><th>Score</th><th>Messages</th><th></th></tr></thead><tbody>");
        double lower = double.NegativeInfinity;
        foreach (var b in snap.ScoreHistogram)
        {
            var label = double.IsPositiveInfinity(b.UpperBound) ? $"over {lower:0}" : double.IsNegativeInfinity(lower) ? $"up to {b.UpperBound:0}" : $"{lower:0} to {b.UpperBound:0}";
            sb.Append("<tr><td>").Append(E(label)).Append("</td><td>").Append(N(b.Count)).Append("</td><td><progress max=\"").Append(maxBucket).Append("\" value=\"").Append(b.Count).Append("\"></progress></td></tr>");
            lower = b.UpperBound;
        }
        sb.Append("</tbody></table></div>");
        return sb.ToString();
    }

    private static string Stat(string key, string value, string note) =>
        $"<div class=\"card stat\"><div class=\"k\">{E(key)}</div><div class=\"v\">{E(value)}</div><div class=\"k\">{E(note)}</div></div>";

    private static string Uptime(TimeSpan t) => t.TotalDays >= 1 ? $"{(int)t.TotalDays}d {t.Hours}h" : t.TotalHours >= 1 ? $"{t.Hours}h {t.Minutes}m" : $"{t.Minutes}m {t.Seconds}s";

    private static string RenderHealth(HttpContext ctx, HealthReport? report, bool probes)
    {
        var s = ctx.Session()!;
        var sb = new StringBuilder("<div class=\"card\">");
        if (!probes) return "<div class=\"card\"><p class=\"muted\">This process runs no health probes.</p></div>";
        if (report is null) sb.Append("<p class=\"muted\">The probes have not run yet.</p>");
        else
        {
            sb.Append("<p class=\"verdict ").Append(report.Healthy ? "pass" : "block").Append("\">").Append(report.Healthy ? "Healthy" : "Not healthy")
              .Append("</p><p class=\"muted small\">Checked ").Append(E(report.CheckedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)))
              .Append("</p><table class=\"resp\" id=\"probes\"><thead><tr><th>Probe</th><th>Status</th><th>Detail</th><th>Took</th></tr></thead><tbody>");
            foreach (var p in report.Probes)
                sb.Append("<tr class=\"h-").Append(p.Status.ToString().ToLowerInvariant()).Append("\"><td>").Append(E(p.Name)).Append("</td><td>").Append(E(p.Status.ToString()))
                  .Append("</td><td>").Append(E(p.Detail)).Append("</td><td>").Append(p.DurationMs.ToString("0", CultureInfo.InvariantCulture)).Append(" ms</td></tr>");
            sb.Append("</tbody></table>");
        }
        if (s.Role >= AdminRole.Operator)
            sb.Append("<form method=\"post\" action=\"/health/run\" class=\"mt\">").Append(Csrf(s)).Append("<button>Probe now</button></form>");
        return sb.Append("</div>").ToString();
    }
}
