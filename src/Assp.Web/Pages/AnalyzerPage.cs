using System.Text;
using Assp.Checks.Decision;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>The Mail Analyzer: every check's verdict and score for a pasted or uploaded message, and the decision.</summary>
internal static class AnalyzerPage
{
    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/analyzer", (HttpContext ctx) => Render(ctx, new AnalyzeRequest(null, null, null, null, null), null, null));
        app.MapPost("/analyzer", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var request = new AnalyzeRequest(form["message"], form["ip"], form["helo"], form["from"], form["rcpt"], form["outgoing"] == "1");
            byte[] bytes;
            if (form.Files.GetFile("file") is { Length: > 0 } file)
            {
                if (file.Length > Analyzing.MaxMessageBytes) return Render(ctx, request, null, "the file is too large", 400);
                using var ms = new MemoryStream();
                await file.CopyToAsync(ms, ctx.RequestAborted);
                bytes = ms.ToArray();
            }
            else bytes = Analyzing.FromText(request.Message ?? "");
            var (result, error) = await Analyzing.RunAsync(admin, bytes, request, ctx.RequestAborted);
            return Render(ctx, request, result, error, error is null ? 200 : 400);
        }).WithMetadata(new RequiresRole(AdminRole.Operator));
    }

    private static IResult Render(HttpContext ctx, AnalyzeRequest r, AnalysisResult? result, string? error, int status = 200)
    {
        var s = ctx.Session()!;
        var sb = new StringBuilder();
        sb.Append(Notice(error, true));
        if (s.Role < AdminRole.Operator) sb.Append("<p class=\"muted\">The analyzer needs the operator role.</p>");
        // The result comes first, so it is what the admin sees after pressing Analyze; the form stays below.
        if (result is not null) Result(sb, result);
        sb.Append($"""
<div class="card"><form method="post" action="/analyzer" enctype="multipart/form-data">{Csrf(s)}
<p><label for="message">Message (headers and body, as received)</label><textarea id="message" name="message" spellcheck="false" rows="14">{E(r.Message)}</textarea></p>
<p><label for="file">…or a message file (.eml)</label> <input type="file" id="file" name="file" accept=".eml,.msg,.txt,message/rfc822"></p>
<div class="row"><div><label for="ip">Connecting IP</label><input id="ip" name="ip" value="{E(r.Ip)}" placeholder="from the Received lines"></div>
<div><label for="helo">HELO</label><input id="helo" name="helo" value="{E(r.Helo)}"></div>
<div><label for="from">Envelope sender</label><input id="from" name="from" value="{E(r.From)}" placeholder="Return-Path, then From"></div>
<div><label for="rcpt">Recipients</label><input id="rcpt" name="rcpt" value="{E(r.Recipients)}" placeholder="To and Cc"></div></div>
<p><label><input type="checkbox" name="outgoing" value="1"{(r.Outgoing ? " checked" : "")}> analyze as mail from a local user</label></p>
<p><button type="submit">Analyze</button></p></form></div>
""");
        return Page(ctx, "Mail Analyzer", "analyzer", sb.ToString(), status);
    }

    /// <summary>The Bayesian and HMM verdicts with their most significant tokens (mail text: encoded).</summary>
    internal static void Statistics(StringBuilder sb, IReadOnlyList<StatisticalVerdict> verdicts)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        foreach (var v in verdicts)
        {
            sb.Append("<h2>").Append(E(v.Filter)).Append("</h2><p class=\"stat\">probability ").Append(v.Probability.ToString("0.00000", inv))
              .Append(", confidence ").Append(v.Confidence.ToString("0.00000", inv)).Append(", ").Append(v.Results.ToString(inv)).Append(" database values</p>");
            if (v.TopTokens.Count == 0) continue;
            sb.Append("<table class=\"resp tokens\"><thead><tr><th>").Append(E(v.Filter)).Append(" token</th><th>Spam probability</th></tr></thead><tbody>");
            foreach (var t in v.TopTokens)
                sb.Append("<tr><td>").Append(E(t.Token)).Append("</td><td>").Append(t.Probability.ToString("0.0000000", inv)).Append("</td></tr>");
            sb.Append("</tbody></table>");
        }
    }

    private static void Result(StringBuilder sb, AnalysisResult r)
    {
        sb.Append("<div class=\"card\" id=\"result\"><h2>Result</h2><p class=\"verdict ").Append(E(r.Decision)).Append("\" id=\"verdict\">")
          .Append(E(r.Decision.ToUpperInvariant())).Append(" – message score ").Append(E(DecisionEngine.Num(r.MessageScore))).Append("</p>");
        if (r.Reply is not null) sb.Append("<p>Reply: <code>").Append(E(r.Reply)).Append("</code>").Append(r.RefusedAt is null ? "" : " at " + E(r.RefusedAt)).Append("</p>");
        sb.Append("<p class=\"muted\">from ").Append(E(r.From)).Append(" to ").Append(E(string.Join(", ", r.Recipients))).Append(" via ").Append(E(r.Ip))
          .Append(r.Helo is null ? "" : " (HELO " + E(r.Helo) + ")").Append("</p>");
        if (r.Classes.Count > 0) sb.Append("<p>").Append(E(string.Join("; ", r.Classes))).Append("</p>");
        sb.Append("<table class=\"resp\"><thead><tr><th>Check</th><th>Outcome</th><th>Score</th><th>Reason</th></tr></thead><tbody>");
        foreach (var c in r.Checks)
            sb.Append("<tr><td>").Append(E(c.Check)).Append("</td><td>").Append(E(c.Outcome)).Append("</td><td>").Append(E(DecisionEngine.Num(c.Score)))
              .Append("</td><td>").Append(E(c.Reason)).Append("</td></tr>");
        foreach (var x in r.Scores.Where(x => !r.Checks.Any(c => c.Reason == x.Reason)))
            sb.Append("<tr><td>").Append(E(x.Check)).Append("</td><td>score</td><td>").Append(E(DecisionEngine.Num(x.MessageScore)))
              .Append("</td><td>").Append(E(x.Reason)).Append("</td></tr>");
        if (r.Checks.Count == 0 && r.Scores.Count == 0) sb.Append("<tr><td colspan=\"4\" class=\"muted\">No check had anything to say.</td></tr>");
        sb.Append("</tbody></table>");
        Statistics(sb, r.Statistics);
        if (r.SubjectPrefix.Length > 0) sb.Append("<p>Subject tag: ").Append(E(r.SubjectPrefix)).Append("</p>");
        if (r.Headers.Count > 0) sb.Append("<h2>Headers that would be added</h2><pre>").Append(E(string.Join("\n", r.Headers))).Append("</pre>");
        sb.Append("<p class=\"muted\">Collected as: ").Append(E(r.Collect)).Append("</p>");
        if (r.Log.Count > 0) sb.Append("<h2>Log</h2><pre>").Append(E(string.Join("\n", r.Log))).Append("</pre>");
        sb.Append("</div>");
    }
}
