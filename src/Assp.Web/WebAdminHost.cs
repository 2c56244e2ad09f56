using System.Net;
using System.Net.Sockets;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Smtp.Tls;
using Microsoft.AspNetCore.Builder;

namespace Assp.Web;

/// <summary>
/// Runs the web admin inside the proxy process: listens where webAdminPort says ("port", "ip:port",
/// "host:port", "SSL:" in front for https, several joined by |; enableWebAdminSSL makes every one https, with
/// SSLCertFile/SSLKeyFile and webSSLRequireClientCert (checked against SSLCaFile when set)), compresses http pages with EnableHTTPCompression, and
/// restarts the web server when a reload changes any of those options.
/// An empty webAdminPort turns the web admin off.
/// </summary>
public sealed class WebAdminHost(WebAdminContext admin, TextWriter? console = null) : IAsyncDisposable
{
    private static readonly string[] s_bindingOptions = ["webAdminPort", "enableWebAdminSSL", "webSSLRequireClientCert", "SSLCertFile", "SSLKeyFile", "SSLCaFile", "EnableHTTPCompression"];

    private readonly SemaphoreSlim _gate = new(1, 1);
    private WebApplication? _app;
    private string _binding = "";
    private bool _disposed;

    public IReadOnlyList<WebEndpoint> Endpoints { get; private set; } = [];

    /// <summary>The running application (its endpoint list is what the route tests walk).</summary>
    internal WebApplication? App => _app;

    /// <summary>The first start creates user admin with a random password, shown once on the console and in the maillog.</summary>
    public void EnsureInitialAdmin()
    {
        if (admin.Users.EnsureInitialAdmin() is not { } password) return;
        var text = $"web admin: created user 'admin' with the one-time password {password} - log in and choose your own password";
        console?.WriteLine(text);
        admin.Log(text);
    }

    /// <summary>Starts (or restarts after a binding change) the web server; returns a problem or null.</summary>
    public async Task<string?> RefreshAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // A reload during shutdown must not bring the listener back.
            if (_disposed) return null;
            var cfg = admin.Config.Current;
            var binding = string.Join("\n", s_bindingOptions.Select(o => cfg[o]));
            if (binding == _binding && _app is not null) return null;
            await StopCoreAsync().ConfigureAwait(false);
            _binding = binding;
            var (endpoints, problem) = ParseEndpoints(cfg);
            if (problem is not null) return problem;
            if (endpoints.Count == 0) return null;
            System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
            if (endpoints.Any(e => e.Tls))
            {
                certificate = CertificateProvider.Load(cfg, admin.Log);
                if (certificate is null) return "webAdminPort: https is asked for but SSLCertFile/SSLKeyFile give no usable certificate";
            }
            System.Security.Cryptography.X509Certificates.X509Certificate2Collection? authorities = null;
            if (endpoints.Any(e => e.Tls) && cfg.GetBool("webSSLRequireClientCert") && cfg["SSLCaFile"].Trim() is { Length: > 0 } caFile)
            {
                var caPath = Path.GetFullPath(Path.Combine(cfg.BaseDirectory, caFile));
                authorities = [];
                try
                {
                    authorities.ImportFromPemFile(caPath);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
                {
                    return $"SSLCaFile: cannot read the CA certificates in {caFile}: {ex.Message}";
                }
                if (authorities.Count == 0) return $"SSLCaFile: {caFile} holds no certificate";
            }
            var app = WebAdminApp.Build(admin, endpoints, certificate, cfg.GetBool("webSSLRequireClientCert"), cfg.GetBool("EnableHTTPCompression"), authorities);
            try
            {
                await app.StartAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or InvalidOperationException)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                _binding = "";
                return $"webAdminPort: cannot listen on {cfg["webAdminPort"]}: {ex.Message}";
            }
            _app = app;
            Endpoints = endpoints;
            admin.Log($"web admin listening on {string.Join(", ", endpoints.Select(e => (e.Tls ? "https://" : "http://") + new IPEndPoint(e.Address, e.Port)))} (webAdminPort)");
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The endpoints of webAdminPort; a host name is resolved to its addresses.</summary>
    public static (IReadOnlyList<WebEndpoint> Endpoints, string? Problem) ParseEndpoints(ConfigSnapshot cfg)
    {
        var value = cfg["webAdminPort"].Trim();
        var list = new List<WebEndpoint>();
        if (value.Length == 0) return (list, null);
        bool allTls = cfg.GetBool("enableWebAdminSSL");
        foreach (var entry in value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ep = ValueSyntax.ParseEndpoint(entry, ["SSL:"]);
            if (ep is not { Port: > 0 } e) return ([], $"webAdminPort: '{entry}' is not a port, ip:port, host:port or SSL:host:port");
            IPAddress[] addresses;
            if (e.Host is null) addresses = [IPAddress.IPv6Any];
            else if (IPAddress.TryParse(e.Host, out var ip)) addresses = [ip];
            else
            {
                try
                {
                    addresses = System.Net.Dns.GetHostAddresses(e.Host);
                }
                catch (SocketException ex)
                {
                    return ([], $"webAdminPort: '{e.Host}' does not resolve: {ex.Message}");
                }
            }
            foreach (var a in addresses.Distinct()) list.Add(new WebEndpoint(a, e.Port, e.Ssl || allTls));
        }
        return (list, null);
    }

    private async Task StopCoreAsync()
    {
        if (_app is null) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
            Endpoints = [];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            await StopCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
