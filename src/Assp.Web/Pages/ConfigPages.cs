using System.Text;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>Every option of the registry by ASSP's sections, with the right control, and the list file editor.</summary>
internal static class ConfigPages
{
    private static readonly string[] s_formFields = ["_csrf", "section", "filter"];

    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/config", (HttpContext ctx) => Render(ctx, admin, ctx.Request.Query["filter"], Message(ctx), null, null));
        app.MapPost("/config", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var cfg = admin.Config.Current;
            var posted = new List<KeyValuePair<string, string>>();
            foreach (var (key, values) in form)
            {
                if (s_formFields.Contains(key)) continue;
                // A checkbox sends its hidden 0 and, when ticked, 1: the last value counts.
                var value = values.Count > 0 ? values[^1] ?? "" : "";
                // An empty password field leaves the stored password as it is.
                if (cfg.Registry.Find(key) is { IsSecret: true } && value.Length == 0) continue;
                posted.Add(new(key, value));
            }
            var result = new ConfigEditing(admin.Config).Apply(posted);
            if (!result.Ok)
            {
                var errors = result.Problems.GroupBy(p => p.Option ?? "").ToDictionary(g => g.Key, g => string.Join("; ", g.Select(p => p.Message)));
                var notice = "Nothing was saved:\n" + string.Join("\n", result.Problems.Select(p => $"{p.Option}: '{p.Value}' {p.Message}"));
                return Render(ctx, admin, form["filter"], (notice, true), errors, posted.ToDictionary(p => p.Key, p => p.Value), 400);
            }
            if (result.Changed.Count > 0)
                admin.Log($"web admin ({ctx.Session()!.User}) changed {string.Join(", ", result.Changed)}");
            var query = $"?applied={Uri.EscapeDataString(string.Join(",", result.Changed))}&restart={Uri.EscapeDataString(string.Join(",", result.NeedRestart))}";
            var filter = form["filter"].ToString();
            if (filter.Length > 0) query += "&filter=" + Uri.EscapeDataString(filter);
            return Results.Redirect("/config" + query);
        }).WithMetadata(new RequiresRole(AdminRole.Admin));

        app.MapGet("/config/file", (HttpContext ctx) => FileEditor(ctx, admin, ctx.Request.Query["option"].ToString(), null, null, null));
        app.MapPost("/config/file", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var option = form["option"].ToString();
            var text = form["text"].ToString();
            var (saved, problems) = new ConfigEditing(admin.Config).SaveFile(option, text);
            if (!saved)
                return FileEditor(ctx, admin, option, text,
                    "Not saved:\n" + string.Join("\n", problems.Select(p => (p.Line > 0 ? $"line {p.Line}: " : "") + (p.Value is null ? "" : $"'{p.Value}' ") + p.Message)), true, 400);
            admin.Log($"web admin ({ctx.Session()!.User}) edited the file of {option}");
            return FileEditor(ctx, admin, option, null, "Saved and loaded.", false);
        }).WithMetadata(new RequiresRole(AdminRole.Admin));
    }

    private static (string, bool)? Message(HttpContext ctx)
    {
        var applied = ctx.Request.Query["applied"].ToString();
        if (!ctx.Request.Query.ContainsKey("applied")) return null;
        if (applied.Length == 0) return ("Nothing changed.", false);
        var restart = ctx.Request.Query["restart"].ToString();
        return ($"Applied: {applied.Replace(",", ", ")}." + (restart.Length > 0 ? $"\nRestart ASSP (System page) for these to take effect: {restart.Replace(",", ", ")}." : ""), false);
    }

    private static IResult Render(HttpContext ctx, WebAdminContext admin, string? filter, (string Text, bool Error)? message,
        Dictionary<string, string>? errors, Dictionary<string, string>? posted, int status = 200)
    {
        var cfg = admin.Config.Current;
        var s = ctx.Session()!;
        bool canEdit = s.Role >= AdminRole.Admin;
        var shown = ConfigEditing.Filter(cfg.Registry, filter).ToHashSet();
        var sb = new StringBuilder(900_000);
        sb.Append(Notice(message?.Text, message?.Error ?? false));
        sb.Append("<form method=\"get\" action=\"/config\" class=\"sticky row\"><input type=\"search\" id=\"optfilter\" name=\"filter\" placeholder=\"Filter options by name (regular expressions work, e.g. ^DoSPF|Valence)\" value=\"")
          .Append(E(filter)).Append("\" aria-label=\"filter\"><button class=\"secondary\">Filter</button></form>");
        if (!canEdit) sb.Append("<p class=\"muted\">You can read the configuration; changing it needs the admin role.</p>");
        foreach (var section in cfg.Registry.Sections)
        {
            var options = cfg.Registry.Options.Where(o => o.Section == section && shown.Contains(o)).ToList();
            if (options.Count == 0) continue;
            int changed = options.Count(o => cfg[o.Name] != o.Default);
            bool open = !string.IsNullOrEmpty(filter) && options.Count < 40 || errors is not null && options.Any(o => errors.ContainsKey(o.Name));
            sb.Append("<details class=\"section\"").Append(open ? " open" : "").Append("><summary>").Append(E(section))
              .Append("<span class=\"count\">").Append(options.Count).Append(" options").Append(changed > 0 ? $", {changed} changed" : "").Append("</span></summary>");
            sb.Append("<form method=\"post\" action=\"/config\">").Append(Csrf(s))
              .Append("<input type=\"hidden\" name=\"filter\" value=\"").Append(E(filter)).Append("\">");
            foreach (var o in options) Option(sb, cfg, o, errors?.GetValueOrDefault(o.Name), posted?.GetValueOrDefault(o.Name), canEdit);
            if (canEdit) sb.Append("<div class=\"opt\"><span></span><div><button type=\"submit\">Apply changes</button></div></div>");
            sb.Append("</form></details>");
        }
        if (shown.Count == 0) sb.Append("<p class=\"muted\">No option matches.</p>");
        return Page(ctx, "Configuration", "config", sb.ToString(), status);
    }

    private static void Option(StringBuilder sb, ConfigSnapshot cfg, OptionDefinition o, string? error, string? posted, bool canEdit)
    {
        var value = posted ?? cfg[o.Name];
        bool changed = cfg[o.Name] != o.Default && !(o.Kind == OptionKind.Bool && cfg[o.Name] is "" or "0" && o.Default is "" or "0");
        var id = "o_" + o.Name;
        sb.Append("<div class=\"opt").Append(changed ? " changed" : "").Append("\" data-name=\"").Append(E(o.Name)).Append("\" id=\"row_").Append(E(o.Name)).Append("\">");
        sb.Append("<div><label class=\"name\" for=\"").Append(E(id)).Append("\">").Append(E(o.Name)).Append("</label>");
        if (changed) sb.Append("<span class=\"badge chg\" title=\"changed from the default\">changed</span>");
        if (ConfigEditing.NeedsRestart(o)) sb.Append("<span class=\"badge rs\" title=\"takes effect after a restart\">restart</span>");
        if (cfg.Registry.IsNotUsed(o)) sb.Append("<span class=\"badge\" title=\"").Append(E(cfg.Registry.NotUsedReason(o))).Append("\">not used</span>");
        // Also at the default: an option whose feature is not built here must say so where the admin sets it.
        else if (cfg.Registry.WithoutEffectYet(o.Name) is { } noEffect) sb.Append("<span class=\"badge\" title=\"").Append(E(noEffect)).Append("\">no effect here</span>");
        sb.Append("</div><div>");
        var disabled = canEdit ? "" : " disabled";
        switch (o.IsSecret ? OptionKind.Password : o.Kind)
        {
            case OptionKind.Bool:
                sb.Append("<input type=\"hidden\" name=\"").Append(E(o.Name)).Append("\" value=\"0\"><input type=\"checkbox\" value=\"1\" id=\"").Append(E(id))
                  .Append("\" name=\"").Append(E(o.Name)).Append('"').Append(value == "1" ? " checked" : "").Append(disabled).Append('>');
                break;
            case OptionKind.Choice when o.Choices.Count > 0:
                sb.Append("<select id=\"").Append(E(id)).Append("\" name=\"").Append(E(o.Name)).Append('"').Append(disabled).Append('>');
                if (!o.Choices.Any(c => c.Code == value)) sb.Append("<option selected value=\"").Append(E(value)).Append("\">").Append(E(value)).Append(" (not a known code)</option>");
                foreach (var c in o.Choices)
                    sb.Append("<option value=\"").Append(E(c.Code)).Append('"').Append(c.Code == value ? " selected" : "").Append('>')
                      .Append(E(c.Code)).Append(" – ").Append(E(c.Label)).Append("</option>");
                sb.Append("</select>");
                break;
            case OptionKind.Password:
                sb.Append("<input type=\"password\" autocomplete=\"new-password\" id=\"").Append(E(id)).Append("\" name=\"").Append(E(o.Name))
                  .Append("\" placeholder=\"").Append(cfg[o.Name].Length > 0 ? "set – leave empty to keep" : "not set").Append('"').Append(disabled).Append('>');
                break;
            default:
                sb.Append("<input type=\"text\" id=\"").Append(E(id)).Append("\" name=\"").Append(E(o.Name)).Append("\" value=\"").Append(E(value)).Append('"').Append(disabled).Append('>');
                break;
        }
        if (error is not null) sb.Append("<div class=\"notice error\">").Append(E(error)).Append("</div>");
        sb.Append("<div class=\"help\">").Append(E(o.Description)).Append("</div><div class=\"meta\">");
        sb.Append("default: <code>").Append(E(o.IsSecret ? (o.Default.Length > 0 ? "(set)" : "(empty)") : o.Default.Length == 0 ? "(empty)" : o.DisplayValue(o.Default))).Append("</code>");
        if (o.Kind.IsList() || o.Kind == OptionKind.File)
        {
            if (ConfigLoader.FileReference(cfg[o.Name]) is not null)
                sb.Append(" · <a href=\"/config/file?option=").Append(Uri.EscapeDataString(o.Name)).Append("\">Edit file</a>");
            else if (o.Kind.IsList()) sb.Append(" · a list: entries separated by |, or file:path");
        }
        sb.Append("</div></div></div>");
    }

    private static IResult FileEditor(HttpContext ctx, WebAdminContext admin, string option, string? text, string? message, bool? error, int status = 200)
    {
        var s = ctx.Session()!;
        var file = new ConfigEditing(admin.Config).FileOf(option, out var problem);
        if (file is null) return Page(ctx, "Edit file", "config", Notice(problem, true) + "<p><a href=\"/config\">Back to the configuration</a></p>", 400);
        var def = admin.Config.Current.Registry.Get(file.Option);
        bool canEdit = s.Role >= AdminRole.Admin;
        var body = $"""
{Notice(message, error ?? false)}
<div class="card"><p><b>{E(file.Option)}</b> reads <code>{E(file.RelativePath)}</code>{(file.Exists ? "" : " (the file does not exist yet)")}.</p>
<p class="help muted">{E(def.Description)}</p>
<p class="muted">One entry per line; # or ; starts a comment; "# include file" reads another file. The proxy's own parser checks the text before it is saved.</p>
<form method="post" action="/config/file">{Csrf(s)}<input type="hidden" name="option" value="{E(file.Option)}">
<textarea name="text" id="filetext" spellcheck="false" rows="22"{(canEdit ? "" : " readonly")}>{E(text ?? file.Text)}</textarea>
<p>{(canEdit ? "<button type=\"submit\">Check and save</button> " : "")}<a href="/config?filter={Uri.EscapeDataString("^" + file.Option + "$")}">Back to the option</a></p></form></div>
""";
        return Page(ctx, "Edit file", "config", body, status);
    }
}
