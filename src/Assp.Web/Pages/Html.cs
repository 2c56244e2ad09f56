using System.Text;
using System.Text.Encodings.Web;
using Assp.Web.Security;
using Microsoft.AspNetCore.Http;

namespace Assp.Web.Pages;

/// <summary>Small helpers for the server-rendered pages: HTML encoding and the shared page frame.</summary>
internal static class Html
{
    /// <summary>Encodes text for an element body or a quoted attribute.</summary>
    public static string E(string? text) => text is null ? "" : HtmlEncoder.Default.Encode(text);

    public static string Csrf(WebSession session) => $"<input type=\"hidden\" name=\"_csrf\" value=\"{E(session.CsrfToken)}\">";

    private static readonly (string Href, string Label, string Key)[] s_nav =
    [
        ("/", "Overview", "home"),
        ("/config", "Configuration", "config"),
        ("/lists", "White/Redlist/Tuplets", "lists"),
        ("/penaltybox", "PenaltyBox", "pb"),
        ("/connections", "SMTP Connections", "connections"),
        ("/maillog", "Maillog Tail", "maillog"),
        ("/analyzer", "Mail Analyzer", "analyzer"),
        ("/stats", "Info and Stats", "stats"),
        ("/health", "Health", "health"),
        ("/users", "Admin users", "users"),
        ("/system", "System", "system"),
    ];

    public static IResult Page(HttpContext ctx, string title, string active, string body, int status = 200)
    {
        var session = ctx.Session();
        var sb = new StringBuilder(body.Length + 4096);
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          .Append("<title>").Append(E(title)).Append(" · ASSP</title>")
          .Append("<link rel=\"stylesheet\" href=\"/static/app.css\"><script src=\"/static/app.js\" defer></script></head><body>");
        if (session is { IsAuthenticated: true })
        {
            sb.Append("<header class=\"top\"><a class=\"brand\" href=\"/\">ASSP<span>.NET</span></a>")
              .Append("<input type=\"checkbox\" id=\"navtoggle\" class=\"navtoggle\"><label for=\"navtoggle\" class=\"burger\" aria-label=\"menu\">☰</label><nav>");
            foreach (var (href, label, key) in s_nav)
            {
                if (key == "users" && session.Role < AdminRole.Admin) continue;
                sb.Append("<a href=\"").Append(href).Append('"').Append(key == active ? " class=\"active\"" : "").Append('>').Append(E(label)).Append("</a>");
            }
            sb.Append("</nav><form method=\"post\" action=\"/logout\" class=\"logout\">").Append(Csrf(session))
              .Append("<span class=\"who\">").Append(E(session.User)).Append(" · ").Append(E(session.Role.ToString().ToLowerInvariant()))
              .Append("</span><button class=\"link\">Log out</button></form></header>");
        }
        sb.Append("<main><h1>").Append(E(title)).Append("</h1>").Append(body).Append("</main></body></html>");
        return Results.Content(sb.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    public static string Notice(string? text, bool error = false) =>
        string.IsNullOrEmpty(text) ? "" : $"<div class=\"notice{(error ? " error" : "")}\" role=\"status\">{E(text)}</div>";

    public const string Css = """
:root{--bg:#f5f7fa;--card:#fff;--ink:#1d2433;--muted:#5b6577;--line:#dde3ec;--accent:#2563eb;--accent-ink:#fff;--ok:#15803d;--warn:#b45309;--bad:#b91c1c;--chg:#fef3c7}
[hidden]{display:none!important}*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1.2rem;background:#111827;color:#e5e7eb}
.brand{font-weight:700;color:#fff;font-size:1.1rem}.brand span{color:#60a5fa;font-weight:500}
header nav{display:flex;flex-wrap:wrap;gap:.2rem;flex:1}header nav a{padding:.35rem .6rem;border-radius:6px;color:#d1d5db}
header nav a.active,header nav a:hover{background:#1f2937;color:#fff;text-decoration:none}
.navtoggle,.burger{display:none}.logout{display:flex;gap:.6rem;align-items:center}.who{color:#9ca3af;font-size:.85rem}
button.link{background:none;border:1px solid #374151;color:#e5e7eb;padding:.3rem .7rem;border-radius:6px;cursor:pointer}
main{max-width:1200px;margin:0 auto;padding:1.2rem}h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.2rem 0 .6rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.2rem;margin-bottom:1rem;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:1rem}
.stat .v{font-size:1.6rem;font-weight:600}.stat .k{color:var(--muted);font-size:.85rem}
label{font-weight:500}input[type=text],input[type=password],input[type=search],input[type=email],input[type=datetime-local],input:not([type]),select,textarea{width:100%;padding:.45rem .6rem;border:1px solid var(--line);border-radius:6px;font:inherit;background:#fff;color:inherit}
textarea{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;min-height:14rem}
button,.button{background:var(--accent);color:var(--accent-ink);border:0;border-radius:6px;padding:.5rem .9rem;font:inherit;cursor:pointer;display:inline-block}
button.secondary{background:#e5e7eb;color:var(--ink)}button.danger{background:var(--bad)}button.small{padding:.25rem .55rem;font-size:.85rem}
.row{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end}.row>*{flex:1 1 12rem}.row>button{flex:0 0 auto}
table{width:100%;border-collapse:collapse;font-size:.9rem}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{color:var(--muted);font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.03em}
.notice{padding:.6rem .9rem;border-radius:8px;background:#dcfce7;color:#14532d;margin-bottom:1rem;white-space:pre-wrap}.notice.error{background:#fee2e2;color:#7f1d1d}
details.section{background:var(--card);border:1px solid var(--line);border-radius:10px;margin-bottom:.7rem}
details.section>summary{cursor:pointer;padding:.7rem 1rem;font-weight:600;list-style:none;display:flex;justify-content:space-between}
details.section>summary .count{color:var(--muted);font-weight:400;font-size:.85rem}
.opt{display:grid;grid-template-columns:minmax(12rem,18rem) 1fr;gap:.3rem 1rem;padding:.6rem 1rem;border-top:1px solid var(--line)}
.opt.changed{background:var(--chg)}.opt .name{font-family:ui-monospace,monospace;font-size:.85rem;font-weight:600;overflow-wrap:anywhere}
.opt .help{color:var(--muted);font-size:.85rem}.opt .meta{font-size:.78rem;color:var(--muted)}.badge{display:inline-block;font-size:.72rem;padding:.05rem .4rem;border-radius:999px;background:#e0e7ff;color:#3730a3;margin-left:.3rem}
.badge.chg{background:#fde68a;color:#78350f}.badge.rs{background:#fee2e2;color:#7f1d1d}.sticky{position:sticky;top:0;z-index:2;background:var(--bg);padding:.5rem 0}
.verdict{font-size:1.2rem;font-weight:700}.verdict.block,.verdict.drop{color:var(--bad)}.verdict.tempfail,.verdict.tag{color:var(--warn)}.verdict.pass,.verdict.accept{color:var(--ok)}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f4f6;padding:.6rem;border-radius:6px;font-size:.82rem}
.mt{margin-top:.6rem}.small{font-weight:400;font-size:.85rem}.stat .v.path{font-size:1rem;overflow-wrap:anywhere}
.login{max-width:24rem;margin:8vh auto}
tr.st-blocked td:first-child{border-left:4px solid var(--bad)}tr.st-suspect td:first-child{border-left:4px solid var(--warn)}tr.st-white td:first-child{border-left:4px solid #6366f1}tr.st-ok td:first-child{border-left:4px solid var(--ok)}
code.logline{font-size:.8rem;white-space:pre-wrap;overflow-wrap:anywhere}.verdict-badge{font-size:.72rem;padding:.05rem .45rem;border-radius:999px;background:#e5e7eb;white-space:nowrap}
tr.v-spam .verdict-badge,tr.v-blocked .verdict-badge,tr.v-virus .verdict-badge{background:#fee2e2;color:#7f1d1d}tr.v-tempfailed .verdict-badge,tr.v-spampassed .verdict-badge,tr.v-scored .verdict-badge{background:#fef3c7;color:#78350f}
tr.v-passed .verdict-badge{background:#dcfce7;color:#14532d}tr.v-whitelisted .verdict-badge,tr.v-noprocessing .verdict-badge{background:#e0e7ff;color:#3730a3}tr.v-error .verdict-badge{background:#fecaca;color:#7f1d1d}
td.acts{min-width:10rem}details.act{margin-bottom:.2rem}details.act summary{cursor:pointer;color:var(--accent);overflow-wrap:anywhere}details.act form{display:flex;flex-wrap:wrap;gap:.25rem;margin:.3rem 0}
tr.fresh{animation:fresh 3s ease-out}@keyframes fresh{from{background:#fef9c3}to{background:transparent}}progress{width:100%;min-width:5rem}tr.h-failed td{color:var(--bad)}tr.h-warning td{color:var(--warn)}
pre.mail{max-height:70vh;overflow:auto}.muted{color:var(--muted)}.inline{display:inline}
@media (max-width:700px){header nav{display:none;flex-basis:100%;flex-direction:column}.navtoggle:checked~nav{display:flex}.burger{display:block;margin-left:auto;cursor:pointer;font-size:1.3rem}
.logout{flex-basis:100%;justify-content:space-between}.opt{grid-template-columns:1fr}main{padding:.8rem}table.resp thead{display:none}table.resp td{display:block;border:0;padding:.15rem .3rem}table.resp tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}}
""";

    public const string Script = """
// Quick filter of the configuration page: option names by regular expression (plain text when it is not one).
// Confirmation prompts (delegated, so rows that arrive later get them too).
document.addEventListener('submit',e=>{const fm=e.target;if(fm.dataset&&fm.dataset.confirm&&!confirm(fm.dataset.confirm))e.preventDefault()});
// Live pages: long-poll the server for new HTML rows (already encoded there) and put them in place.
async function poll(url,apply,every){let wait=0;for(;;){try{const r=await fetch(url(),{credentials:'same-origin',headers:{'Accept':'application/json'}});
 if(r.redirected||r.status===401||r.status===403){location.reload();return}if(!r.ok)throw new Error(r.status);apply(await r.json());wait=every}
 catch(e){wait=Math.min(wait*2+1000,15000)}await new Promise(res=>setTimeout(res,wait))}}
document.addEventListener('DOMContentLoaded',()=>{
 const conns=document.getElementById('connrows');
 if(conns)poll(()=>'/connections/rows?since='+encodeURIComponent(conns.dataset.version),d=>{conns.dataset.version=d.version;conns.innerHTML=d.html;
  const c=document.getElementById('conncount');if(c)c.textContent=d.count},0);
 const logs=document.getElementById('logrows'),live=document.getElementById('livetail');
 if(logs&&live){const state=document.getElementById('tailstate');if(logs.dataset.jump)logs.scrollIntoView();
  poll(()=>'/maillog/tail'+(logs.dataset.query.length>1?logs.dataset.query+'&':'?')+'offset='+encodeURIComponent(logs.dataset.offset),d=>{
   if(d.error){state.textContent=d.error;return}
   logs.dataset.offset=d.offset;if(!live.checked||!d.count)return;
   const empty=logs.querySelector('tr.empty');if(empty)empty.remove();
   logs.insertAdjacentHTML('afterbegin',d.html);
   for(let i=0;i<d.count&&i<logs.rows.length;i++)logs.rows[i].classList.add('fresh');
   if(logs.dataset.jump&&logs.rows.length)logs.rows[0].scrollIntoView({block:'nearest'});
   while(logs.rows.length>500)logs.deleteRow(-1)},2000);}

 const f=document.getElementById('optfilter');
 if(f){const run=()=>{let re;try{re=new RegExp(f.value,'i')}catch(e){re=null}
  const t=f.value.toLowerCase();
  document.querySelectorAll('details.section').forEach(s=>{let n=0;
   s.querySelectorAll('.opt[data-name]').forEach(o=>{const name=o.dataset.name;const hit=!f.value||(re?re.test(name):name.toLowerCase().includes(t));o.hidden=!hit;if(hit)n++});
   s.hidden=n===0;if(f.value)s.open=n>0&&n<40;});};
  f.addEventListener('input',run);if(f.value)run();}
});
""";
}
