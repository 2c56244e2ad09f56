using System.Net;
using System.Security.Cryptography.X509Certificates;
using Assp.Web.Api;
using Assp.Web.Pages;
using Assp.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Assp.Web;

/// <summary>One address the web admin listens on.</summary>
public sealed record WebEndpoint(IPAddress Address, int Port, bool Tls);

/// <summary>Builds the web admin application: Kestrel on the given endpoints, the security gate, pages and API.</summary>
public static class WebAdminApp
{
    public static WebApplication Build(WebAdminContext admin, IReadOnlyList<WebEndpoint> endpoints, X509Certificate2? certificate, bool requireClientCertificate,
        bool compress = false, X509Certificate2Collection? clientCertificateAuthorities = null)
    {
        // No command-line or working-folder configuration: the web admin is configured by assp.cfg alone.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Assp.Web", Args = [], ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        // The proxy process owns the signals (SIGTERM, SIGHUP); the web host must not react to them itself.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, ProcessOwnedLifetime>();
        builder.Services.AddRouting();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase;
            // The last score bucket's upper bound is infinity.
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 32 * 1024 * 1024;
            foreach (var ep in endpoints)
            {
                k.Listen(ep.Address, ep.Port, listen =>
                {
                    if (!ep.Tls) return;
                    listen.UseHttps(certificate!, https =>
                    {
                        if (!requireClientCertificate) return;
                        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                        // With SSLCaFile the client's certificate must chain up to one of its CAs; without it, to the system's.
                        if (clientCertificateAuthorities is { Count: > 0 } cas)
                            https.ClientCertificateValidation = (cert, _, _) => ChainsTo(cert, cas);
                    });
                });
            }
        });
        builder.Services.AddSingleton(admin);
        // EnableHTTPCompression: gzip/brotli for plain http only; over https compressed pages that carry the
        // anti-forgery token and mail content would open the door to BREACH-style guessing.
        if (compress) builder.Services.AddResponseCompression(o => o.EnableForHttps = false);
        var app = builder.Build();
        if (compress) app.UseResponseCompression();
        app.UseRouting();
        app.Use((HttpContext ctx, RequestDelegate next) => WebSecurity.Gate(ctx, admin, next));
        Map(app, admin);
        return app;
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2"));
        return chain.Build(certificate);
    }

    /// <summary>Every route of the web admin.</summary>
    public static void Map(IEndpointRouteBuilder app, WebAdminContext admin)
    {
        app.MapGet("/static/app.css", () => Results.Text(Html.Css, "text/css; charset=utf-8")).WithMetadata(new AnonymousAccess());
        app.MapGet("/static/app.js", () => Results.Text(Html.Script, "text/javascript; charset=utf-8")).WithMetadata(new AnonymousAccess());
        app.MapGet("/favicon.ico", () => Results.NoContent()).WithMetadata(new AnonymousAccess());
        AccountPages.Map(app, admin);
        OverviewPage.Map(app, admin);
        ConfigPages.Map(app, admin);
        ListPages.Map(app, admin);
        AnalyzerPage.Map(app, admin);
        UserPages.Map(app, admin);
        SystemPage.Map(app, admin);
        ConnectionsPage.Map(app, admin);
        MaillogPage.Map(app, admin);
        StatsPage.Map(app, admin);
        JsonApi.Map(app, admin);
    }
}

/// <summary>A host lifetime that leaves start and stop to the owning process.</summary>
internal sealed class ProcessOwnedLifetime : Microsoft.Extensions.Hosting.IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
