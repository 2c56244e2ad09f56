using System.Globalization;
using System.Text;
using Assp.Checks;
using Assp.Checks.EmailInterface;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Assp.Web.Pages.Html;

namespace Assp.Web.Pages;

/// <summary>
/// Maillog Tail: search (text or regex, time range, verdict), the live tail of the current logfile, and per line the
/// actions on its addresses and IP and on the stored message it names. Every byte of a line is HTML-encoded.
/// </summary>
internal static class MaillogPage
{
    private const int PageSize = 100;

    /// <summary>The list actions a line offers: (action, label, list, add, for an IP rather than an address).</summary>
    private static readonly (string Action, string Label, ListName List, bool Add, bool ForIp)[] s_actions =
    [
        ("whitelist", "Whitelist", ListName.Whitelist, true, false),
        ("unwhitelist", "Remove from whitelist", ListName.Whitelist, false, false),
        ("redlist", "Redlist", ListName.Redlist, true, false),
        ("unredlist", "Remove from redlist", ListName.Redlist, false, false),
        ("pbremove", "Remove from PenaltyBox", ListName.PbBlack, false, true),
        ("pbwhite", "PenaltyBox white box", ListName.PbWhite, true, true),
    ];

    /// <summary>The actions that add to a "file:" option list (action, label, option); they apply to addresses only.</summary>
    private static readonly (string Action, string Label, string Option)[] s_fileActions =
    [
        ("noprocessing", "No processing", "noProcessing"),
        ("blacklist", "Blacklist domain", "blackListedDomains"),
    ];

    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/maillog", (HttpContext ctx) => Show(ctx, admin));
        // New lines of the live tail as table rows, from a byte offset of the current logfile.
        app.MapGet("/maillog/tail", (HttpContext ctx, long? offset) =>
        {
            var cfg = admin.Config.Current;
            var (filter, _) = ReadFilter(ctx.Request.Query);
            var page = MaillogTools.Tail(cfg, offset ?? MaillogTools.EndOffset(cfg), filter);
            var sb = new StringBuilder();
            // Newest first, as the table shows them.
            for (int i = page.Entries.Count - 1; i >= 0; i--) Row(sb, page.Entries[i], ctx.Session()!, Back(ctx.Request.Query));
            return Results.Json(new { offset = page.Offset, count = page.Entries.Count, html = sb.ToString(), error = page.Error });
        });
        app.MapPost("/maillog/action", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var (ok, message) = ListAction(ctx, admin, form["action"].ToString(), form["value"].ToString());
            return Results.Redirect("/maillog" + SafeBack(form["back"]) + "done=" + Uri.EscapeDataString(message) + (ok ? "" : "&error=1"));
        }).WithMetadata(new RequiresRole(AdminRole.Operator));
        // Stored mail is private correspondence: operators and admins only, as on the API.
        app.MapGet("/maillog/file", (HttpContext ctx, string? path) => ShowFile(ctx, admin, path, null)).WithMetadata(new RequiresRole(AdminRole.Operator));
        app.MapPost("/maillog/file", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var path = form["path"].ToString();
            var (ok, message) = await FileAction(ctx, admin, form["action"].ToString(), path, form["to"].ToString());
            return ShowFile(ctx, admin, path, (message, !ok), ok ? 200 : 400);
        }).WithMetadata(new RequiresRole(AdminRole.Operator));
    }

    public static (bool Ok, string Message) ListAction(HttpContext ctx, WebAdminContext admin, string action, string value)
    {
        if (s_fileActions.Any(x => x.Action == action)) return FileListAction(ctx, admin, action, value);
        var a = s_actions.FirstOrDefault(x => x.Action == action);
        if (a.Action is null) return (false, $"'{action}' is not a maillog action");
        var editing = new ListEditing(admin.Store);
        var cfg = admin.Config.Current;
        var (ok, message) = a.Add ? editing.Add(cfg, a.List, value, null) : editing.Remove(cfg, a.List, value);
        if (ok) admin.Log($"web admin ({ctx.Session()!.User}) from the maillog: {message}");
        return (ok, message);
    }

    /// <summary>
    /// Adds the address to noProcessing, or its @domain to blackListedDomains, by appending a line to the option's
    /// list file and reloading the configuration, as the email interface does. An inline option value belongs to
    /// assp.cfg and is left alone.
    /// </summary>
    private static (bool Ok, string Message) FileListAction(HttpContext ctx, WebAdminContext admin, string action, string value)
    {
        var option = s_fileActions.First(x => x.Action == action).Option;
        var cfg = admin.Config.Current;
        var address = value.Trim().Trim('<', '>');
        int at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1 || address.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '#' or ';' or ',' or '|'))
            return (false, $"'{value}' is not an email address");
        bool blacklist = action == "blacklist";
        var entry = blacklist ? address[at..].ToLowerInvariant() : address;
        if (blacklist && LocalDomains.For(cfg).IsLocal(entry[1..]))
            return (false, $"{entry} is a local domain - not added to blackListedDomains");
        bool listed = blacklist ? cfg.GetDomainList(option).Matches("postmaster" + entry) : cfg.GetAddressList(option).Contains(entry);
        if (listed) return (false, $"{entry} is already on {option} - not added");
        var path = ListFileEditor.PathOf(cfg, option);
        if (path is null)
            return (false, $"{option} is not a file: list - {entry} not added; change the option to file:... to edit it from here");
        var who = ctx.Session()!.User ?? "?";
        try
        {
            ListFileEditor.Add(path, entry, who, admin.Clock.GetUtcNow(), "web admin");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (false, $"{entry} not added: {option} file {path}: {e.Message}");
        }
        admin.Config.Reload($"web admin ({who}) added {entry} to {option}");
        var message = $"{entry} added to {option}";
        admin.Log($"web admin ({who}) from the maillog: {message}");
        return (true, message + "; configuration reloaded.");
    }

    public static async Task<(bool Ok, string Message)> FileAction(HttpContext ctx, WebAdminContext admin, string action, string path, string? to)
    {
        var cfg = admin.Config.Current;
        var who = ctx.Session()!.User;
        switch (action)
        {
            case "resend":
            {
                var problem = await MaillogTools.ResendAsync(admin, cfg, path, to, ctx.RequestAborted);
                if (problem is not null) return (false, "Not sent: " + problem);
                admin.Log($"web admin ({who}): resent {path} to {to}");
                return (true, $"Sent to {to?.Trim()}.");
            }
            case "spam" or "notspam":
            {
                var (copied, problem) = MaillogTools.CopyToCorpus(cfg, path, action == "spam");
                if (copied is null) return (false, problem!);
                admin.Log($"web admin ({who}): copied {path} to {copied}");
                return (true, $"Copied to {copied}.");
            }
            default:
                return (false, $"'{action}' is not a file action");
        }
    }

    internal static (MaillogFilter Filter, string? Problem) ReadFilter(IQueryCollection q)
    {
        string? problem = null;
        DateTime? Time(string key)
        {
            var v = q[key].ToString().Trim();
            if (v.Length == 0) return null;
            if (DateTime.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var t)) return t;
            problem = $"'{v}' is not a date and time";
            return null;
        }
        MaillogVerdict? verdict = Enum.TryParse<MaillogVerdict>(q["verdict"], true, out var v) && Enum.IsDefined(v) ? v : null;
        var filter = new MaillogFilter(q["q"].ToString(), q["regex"] == "1", Time("from"), Time("to"), verdict);
        return (filter, problem);
    }

    /// <summary>The query string of the current search, kept for the redirect after an action (always "?…&amp;" on /maillog).</summary>
    private static string Back(IQueryCollection q)
    {
        var parts = new[] { "q", "regex", "from", "to", "verdict" }.Where(k => q[k].ToString().Length > 0)
            .Select(k => k + "=" + Uri.EscapeDataString(q[k].ToString()));
        return "?" + string.Join("&", parts);
    }

    private static string SafeBack(string? back)
    {
        // Only a query string for /maillog itself: never a way to send the browser elsewhere.
        if (string.IsNullOrEmpty(back) || back[0] != '?' || back.Any(c => char.IsControl(c) || c is '\\' or '#')) return "?";
        return back.EndsWith('?') ? back : back + "&";
    }

    private static IResult Show(HttpContext ctx, WebAdminContext admin)
    {
        var s = ctx.Session()!;
        var cfg = admin.Config.Current;
        var q = ctx.Request.Query;
        var (filter, problem) = ReadFilter(q);
        int skip = int.TryParse(q["skip"], NumberStyles.None, CultureInfo.InvariantCulture, out var sk) ? Math.Min(sk, 1_000_000) : 0;
        // The first view without a search is the tail of the current log (MaillogTailBytes, 0 = search all logs).
        long tailBytes = cfg.GetLong("MaillogTailBytes", 10000);
        bool showTail = problem is null && filter.IsEmpty && skip == 0 && tailBytes > 0 && q["full"] != "1";
        var tail = showTail ? MaillogTools.LastBytes(cfg, tailBytes, filter) : null;
        var page = problem is null && !showTail ? MaillogSearch.Search(cfg, filter.ToQuery(skip, PageSize), ctx.RequestAborted) : null;
        var back = Back(q);
        var sb = new StringBuilder();
        sb.Append(Notice(q["done"], q.ContainsKey("error"))).Append(Notice(problem ?? page?.Error, error: true));
        sb.Append("<form method=\"get\" action=\"/maillog\" class=\"card row\" id=\"logsearch\">")
          .Append("<div><label for=\"q\">Text</label><input type=\"search\" id=\"q\" name=\"q\" value=\"").Append(E(filter.Text)).Append("\"></div>")
          .Append("<div><label for=\"from\">From</label><input type=\"datetime-local\" id=\"from\" name=\"from\" value=\"").Append(E(q["from"])).Append("\"></div>")
          .Append("<div><label for=\"to\">To</label><input type=\"datetime-local\" id=\"to\" name=\"to\" value=\"").Append(E(q["to"])).Append("\"></div>")
          .Append("<div><label for=\"verdict\">Verdict</label><select id=\"verdict\" name=\"verdict\"><option value=\"\">all</option>");
        foreach (var v in Enum.GetValues<MaillogVerdict>())
            sb.Append("<option value=\"").Append(v).Append('"').Append(filter.Verdict == v ? " selected" : "").Append('>').Append(v).Append("</option>");
        sb.Append("</select></div><div><label><input type=\"checkbox\" name=\"regex\" value=\"1\"").Append(filter.IsRegex ? " checked" : "")
          .Append("> regular expression</label></div><button>Search</button></form>");
        sb.Append("<div class=\"card\"><p class=\"row muted small\"><label><input type=\"checkbox\" id=\"livetail\"").Append(skip == 0 ? " checked" : "")
          .Append("> live: new lines appear at the top</label><span id=\"tailstate\"></span></p>")
          .Append("<table class=\"resp maillog\"><thead><tr><th>Time</th><th>Verdict</th><th>Line</th><th>Actions</th></tr></thead><tbody id=\"logrows\" data-offset=\"")
          .Append(MaillogTools.EndOffset(cfg).ToString(CultureInfo.InvariantCulture)).Append("\" data-query=\"").Append(E(back)).Append('"')
          // MaillogTailJump: the page opens at the log lines (past the search form) and follows the newest one.
          .Append(cfg.GetBool("MaillogTailJump") ? " data-jump=\"1\"" : "").Append('>');
        if (page is not null) foreach (var entry in page.Entries) Row(sb, entry, s, back);
        if (tail is not null)
        {
            for (int i = tail.Entries.Count - 1; i >= 0; i--) Row(sb, tail.Entries[i], s, back);
            if (tail.Entries.Count == 0) sb.Append("<tr class=\"empty\"><td colspan=\"4\" class=\"muted\">No lines in the last ").Append(tailBytes).Append(" bytes.</td></tr>");
        }
        if (page is { Entries.Count: 0 }) sb.Append("<tr class=\"empty\"><td colspan=\"4\" class=\"muted\">No matching lines.</td></tr>");
        sb.Append("</tbody></table>");
        if (tail is not null)
            sb.Append("<p class=\"muted small\">The last ").Append(tailBytes).Append(" bytes of the current maillog (MaillogTailBytes)")
              .Append(tail.Error is null ? "" : ": " + E(tail.Error)).Append(". <a href=\"/maillog?full=1\">Search all logs</a></p>");
        if (page is not null)
        {
            sb.Append("<p class=\"muted small\">").Append(page.FilesSearched).Append(" file(s), ").Append(page.RecordsScanned).Append(" lines searched")
              .Append(page.TimedOut ? "; the search stopped at its time limit" : "").Append(".</p>");
            if (page.HasMore)
                sb.Append("<a class=\"button\" href=\"/maillog").Append(E(back)).Append(back.Length > 1 ? "&" : "").Append("skip=").Append(skip + PageSize).Append("\">Older lines</a>");
        }
        sb.Append("</div>");
        return Page(ctx, "Maillog Tail", "maillog", sb.ToString());
    }

    private static void Row(StringBuilder sb, MaillogEntry e, WebSession s, string back)
    {
        sb.Append("<tr class=\"v-").Append(e.Verdict.ToString().ToLowerInvariant()).Append("\"><td>")
          .Append(E(e.Time?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))).Append("</td><td><span class=\"verdict-badge\">")
          .Append(E(e.Verdict.ToString())).Append("</span></td><td><code class=\"logline\">").Append(E(e.Line)).Append("</code></td><td class=\"acts\">");
        bool canAct = s.Role >= AdminRole.Operator;
        var addresses = new List<string>();
        if (!string.IsNullOrEmpty(e.Sender)) addresses.Add(e.Sender);
        addresses.AddRange(e.Recipients.Where(r => !addresses.Contains(r, StringComparer.OrdinalIgnoreCase)));
        if (canAct)
        {
            foreach (var a in addresses) Actions(sb, a, forIp: false, s, back);
            if (e.Ip is { } ip) Actions(sb, ip, forIp: true, s, back);
        }
        if (canAct && e.StoredFile is { } file)
            sb.Append("<a class=\"file\" href=\"/maillog/file?path=").Append(E(Uri.EscapeDataString(file))).Append("\">message</a>");
        sb.Append("</td></tr>");
    }

    private static void Actions(StringBuilder sb, string value, bool forIp, WebSession s, string back)
    {
        sb.Append("<details class=\"act\"><summary>").Append(E(value)).Append("</summary><form method=\"post\" action=\"/maillog/action\">").Append(Csrf(s))
          .Append("<input type=\"hidden\" name=\"value\" value=\"").Append(E(value)).Append("\"><input type=\"hidden\" name=\"back\" value=\"").Append(E(back)).Append("\">");
        foreach (var a in s_actions.Where(x => x.ForIp == forIp))
            sb.Append("<button class=\"small secondary\" name=\"action\" value=\"").Append(a.Action).Append("\">").Append(E(a.Label)).Append("</button>");
        if (!forIp)
            foreach (var a in s_fileActions)
                sb.Append("<button class=\"small secondary\" name=\"action\" value=\"").Append(a.Action).Append("\">").Append(E(a.Label)).Append("</button>");
        sb.Append("</form></details>");
    }

    private static IResult ShowFile(HttpContext ctx, WebAdminContext admin, string? path, (string Text, bool Error)? message, int status = 200)
    {
        var s = ctx.Session()!;
        var cfg = admin.Config.Current;
        var (bytes, problem) = MaillogTools.ReadStoredFile(cfg, path);
        var sb = new StringBuilder();
        sb.Append(Notice(message?.Text, message?.Error ?? false));
        if (bytes is null)
        {
            sb.Append(Notice(problem, error: true));
            return Page(ctx, "Stored message", "maillog", sb.ToString(), status == 200 ? 404 : status);
        }
        sb.Append("<div class=\"card\"><p><strong>").Append(E(path)).Append("</strong> <span class=\"muted small\">").Append(bytes.Length.ToString("N0", CultureInfo.InvariantCulture))
          .Append(" bytes").Append(cfg.GetLong("StoreCompleteMail", 0) == 0 ? " (stored up to MaxBytes; StoreCompleteMail keeps whole messages)" : "").Append("</span></p>");
        if (s.Role >= AdminRole.Operator)
        {
            sb.Append("<form method=\"post\" action=\"/maillog/file\" class=\"row\">").Append(Csrf(s))
              .Append("<input type=\"hidden\" name=\"path\" value=\"").Append(E(path)).Append("\">")
              .Append("<input name=\"to\" type=\"email\" placeholder=\"Address to resend to\" aria-label=\"resend to\">")
              .Append("<button name=\"action\" value=\"resend\">Resend</button>")
              .Append("<button class=\"secondary\" name=\"action\" value=\"spam\">Copy to ").Append(E(cfg["correctedspam"])).Append("</button>")
              .Append("<button class=\"secondary\" name=\"action\" value=\"notspam\">Copy to ").Append(E(cfg["correctednotspam"])).Append("</button></form>")
              .Append("<form method=\"post\" action=\"/analyzer\" class=\"mt\">").Append(Csrf(s))
              .Append("<input type=\"hidden\" name=\"message\" value=\"").Append(E(Encoding.UTF8.GetString(bytes))).Append("\"><button class=\"secondary\">Analyze</button></form>");
        }
        // Mail is hostile: shown as encoded text only, never rendered.
        sb.Append("<pre class=\"mail\">").Append(E(Encoding.UTF8.GetString(bytes))).Append("</pre></div>");
        return Page(ctx, "Stored message", "maillog", sb.ToString(), status);
    }
}
