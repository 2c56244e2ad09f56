using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Registry;
using Assp.Storage;

namespace Assp.Web.Tests;

/// <summary>
/// The web admin on 127.0.0.1 over a fresh base folder and an in-memory store, as the proxy process runs it
/// (real Kestrel, real configuration manager writing assp.cfg).
/// </summary>
public sealed class WebAdminInstance : IAsyncDisposable
{
    public string BaseDirectory { get; }
    public ConfigManager Config { get; }
    public MemoryStore Store { get; } = new();
    public WebAdminHost Host { get; }
    public WebAdminContext Context { get; }
    public int Port { get; }
    public string InitialPassword { get; private set; }
    public List<string> Log { get; } = [];
    public List<string> Restarts { get; } = [];
    /// <summary>What the maillog's resend sent: (envelope sender, recipients, message).</summary>
    public List<(string From, IReadOnlyList<string> To, byte[] Message)> Sent { get; } = [];

    private WebAdminInstance(string baseDir, ConfigManager config, int port, StringWriter console, LiveServices? live)
    {
        BaseDirectory = baseDir;
        Config = config;
        Port = port;
        Context = new WebAdminContext
        {
            Config = config,
            Store = Store,
            AnalysisPipeline = cfg =>
            {
                var engine = new DecisionEngine(new ReadOnlyIpReputation(new IpPenaltyBox(Store)), new ReadOnlyAddressReputation(new StoredAddressReputation(Store)), null);
                var services = new CheckServices(Store);
                return new DecisionPipeline(engine, null, CheckCatalog.Discover(services), services);
            },
            Log = line => { lock (Log) Log.Add(line); },
            RequestRestart = reason => { lock (Restarts) Restarts.Add(reason); },
            PasswordIterations = 1000,
            Live = live,
            SendMail = (_, from, to, message, _) =>
            {
                lock (Sent) Sent.Add((from, to, message));
                return Task.FromResult<string?>(null);
            },
        };
        Host = new WebAdminHost(Context, console);
        Host.EnsureInitialAdmin();
        var text = console.ToString();
        InitialPassword = text[(text.IndexOf("password ", StringComparison.Ordinal) + 9)..].Split(' ')[0];
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static async Task<WebAdminInstance> StartAsync(IReadOnlyDictionary<string, string>? settings = null, LiveServices? live = null)
    {
        var baseDir = Path.Combine(Path.GetTempPath(), "assp-web-" + Guid.NewGuid().ToString("N"));
        int port = FreePort();
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["webAdminPort"] = $"127.0.0.1:{port}" };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) values[k] = v;
        BaseFolder.Initialize(baseDir, OptionRegistry.Default, values);
        var manager = new ConfigManager(new ConfigLoader(OptionRegistry.Default) { ExportGroups = false }, new ConfigSource(baseDir));
        var instance = new WebAdminInstance(baseDir, manager, port, new StringWriter(), live);
        var problem = await instance.Host.RefreshAsync();
        if (problem is not null) throw new InvalidOperationException(problem);
        return instance;
    }

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    /// <summary>A browser-like client: keeps cookies, does not follow redirects (so tests see them).</summary>
    public HttpClient NewClient(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false, UseCookies = true })
        { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Logs in through the API; returns the session's anti-forgery token.</summary>
    public static async Task<(HttpStatusCode Status, string? Token, JsonElement Body)> LoginAsync(HttpClient client, string user, string password)
    {
        var pre = await client.GetFromJsonAsync<JsonElement>("api/login");
        var request = new HttpRequestMessage(HttpMethod.Post, "api/login") { Content = JsonContent.Create(new { user, password }) };
        request.Headers.Add("X-CSRF-Token", pre.GetProperty("csrfToken").GetString());
        var response = await client.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, response.IsSuccessStatusCode ? body.GetProperty("csrfToken").GetString() : null, body);
    }

    /// <summary>A client logged in as admin with the first-login password change done; returns it with its token.</summary>
    public async Task<(HttpClient Client, string Token)> AdminClientAsync(string newPassword = "a-Good-new-password-1")
    {
        var client = NewClient();
        var (status, token, _) = await LoginAsync(client, "admin", InitialPassword);
        if (status != HttpStatusCode.OK) throw new InvalidOperationException("initial login failed: " + status);
        if (Context.Users.Find("admin")!.MustChangePassword)
        {
            var change = await SendAsync(client, HttpMethod.Post, "api/account/password", token, new { current = InitialPassword, password = newPassword });
            change.EnsureSuccessStatusCode();
            InitialPassword = newPassword;
        }
        return (client, token!);
    }

    public static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string url, string? token, object? json = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (json is not null) request.Content = JsonContent.Create(json);
        if (token is not null) request.Headers.Add("X-CSRF-Token", token);
        return client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Config.Dispose();
        Store.Dispose();
        try { Directory.Delete(BaseDirectory, true); } catch (IOException) { }
    }
}
