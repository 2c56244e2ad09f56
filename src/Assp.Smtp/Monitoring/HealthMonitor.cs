using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using Assp.Checks.Checks;
using Assp.Checks.Virus;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Dns;
using Assp.Smtp.Session;
using Assp.Storage;

namespace Assp.Smtp.Monitoring;

[JsonConverter(typeof(JsonStringEnumConverter<HealthStatus>))]
public enum HealthStatus
{
    Ok,
    /// <summary>Working, but near a limit.</summary>
    Warning,
    Failed,
    /// <summary>Not configured, so not probed.</summary>
    Disabled,
}

/// <summary>The result of one probe: what was tried, how it went, when, and how long it took.</summary>
public sealed record HealthProbeResult(string Name, HealthStatus Status, string Detail, DateTimeOffset CheckedAt, double DurationMs);

/// <summary>The latest result of every probe.</summary>
public sealed record HealthReport(DateTimeOffset CheckedAt, bool Healthy, IReadOnlyList<HealthProbeResult> Probes);

/// <summary>
/// Active health probes for the health page, the stat port and /metrics: SMTP workers (sessions against
/// maxSMTPSessions, listeners alive), the store (a write and read back), DNS (the resolver answers a query that
/// no cache can serve), clamd (PING when UseAvClamd is on) and the MTA (smtpDestination accepts a connection and
/// greets with 220). <see cref="RunAsync"/> probes; <see cref="Latest"/> is what the last run found.
/// </summary>
public sealed class HealthMonitor(Func<ConfigSnapshot> config, SmtpProxyServer smtp, IStore? store, Func<DnsResolver?>? resolver,
    TimeProvider? time = null)
{
    public const string HealthTable = "health";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private volatile HealthReport? _latest;
    private readonly SemaphoreSlim _running = new(1, 1);

    /// <summary>The last report, or null before the first run.</summary>
    public HealthReport? Latest => _latest;

    /// <summary>Runs every probe at once (one run at a time; a caller that finds one running gets its result).</summary>
    public async Task<HealthReport> RunAsync(CancellationToken cancellationToken = default)
    {
        if (!await _running.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
            _running.Release();
            return _latest ?? await RunAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            var cfg = config();
            var probes = await Task.WhenAll(
                Timed("sessions", _ => Task.FromResult(Sessions(cfg)), cancellationToken),
                Timed("storage", _ => Task.FromResult(Storage()), cancellationToken),
                Timed("dns", ct => DnsAsync(cfg, ct), cancellationToken),
                Timed("clamd", ct => ClamdAsync(cfg, ct), cancellationToken),
                Timed("upstream", ct => UpstreamAsync(cfg, ct), cancellationToken)).ConfigureAwait(false);
            var report = new HealthReport(_time.GetLocalNow(), probes.All(p => p.Status != HealthStatus.Failed), probes);
            _latest = report;
            return report;
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task<HealthProbeResult> Timed(string name, Func<CancellationToken, Task<(HealthStatus, string)>> probe, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        (HealthStatus Status, string Detail) result;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            result = await probe(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            result = (HealthStatus.Failed, $"no answer within {ProbeTimeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException or UnauthorizedAccessException)
        {
            result = (HealthStatus.Failed, ex.Message);
        }
        return new HealthProbeResult(name, result.Status, result.Detail, _time.GetLocalNow(), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private (HealthStatus, string) Sessions(ConfigSnapshot cfg)
    {
        var dead = smtp.DeadListeners;
        if (dead.Count > 0) return (HealthStatus.Failed, "listeners no longer accepting: " + string.Join(", ", dead));
        int active = smtp.ActiveSessions, max = cfg.GetInt("maxSMTPSessions", 64);
        string detail = $"{active} sessions open (maxSMTPSessions {max}), {smtp.Listeners.Count} listeners";
        if (!cfg.GetBool("DisableSMTPNetworking") && smtp.Listeners.Count == 0) return (HealthStatus.Failed, "no SMTP listener is open");
        return (max > 0 && active >= max ? HealthStatus.Warning : HealthStatus.Ok, detail);
    }

    private (HealthStatus, string) Storage()
    {
        if (store is null) return (HealthStatus.Disabled, "no store");
        if (store is SqliteStore sqlite && sqlite.LastWriteError is { } error) return (HealthStatus.Failed, "database writes fail: " + error.Message);
        var table = store.Table(HealthTable);
        var value = _time.GetUtcNow().UtcTicks.ToString(CultureInfo.InvariantCulture) + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        table.Set("probe", value);
        if (!table.TryGetValue("probe", out var back) || back != value) return (HealthStatus.Failed, "a value written could not be read back");
        return (HealthStatus.Ok, $"write and read back ok ({store.GetType().Name}, {store.TableNames.Count} tables)");
    }

    /// <summary>The name DNSServers gives for speed probes ("server=>domain"), else ASSP's default.</summary>
    public static string DnsProbeDomain(ConfigSnapshot cfg)
    {
        foreach (var entry in cfg["DNSServers"].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int arrow = entry.IndexOf("=>", StringComparison.Ordinal);
            if (arrow > 0 && entry[(arrow + 2)..].Trim() is { Length: > 0 } domain) return domain.TrimEnd('.');
        }
        return "sourceforge.net";
    }

    private async Task<(HealthStatus, string)> DnsAsync(ConfigSnapshot cfg, CancellationToken ct)
    {
        var dns = resolver?.Invoke();
        if (dns is null) return (HealthStatus.Disabled, "no resolver");
        // A fresh label every time, so the answer has to come from a server, not from the cache.
        var name = $"assp-health-{Guid.NewGuid():N}"[..24] + "." + DnsProbeDomain(cfg);
        var response = await dns.QueryAsync(name, DnsRecordType.A, ct).ConfigureAwait(false);
        return response.IsDefinite
            ? (HealthStatus.Ok, $"{response.Server} answered {response.Status} for {name}")
            : (HealthStatus.Failed, $"no server answered for {name}: {response.Status} {response.Error}");
    }

    private static async Task<(HealthStatus, string)> ClamdAsync(ConfigSnapshot cfg, CancellationToken ct)
    {
        if (!cfg.GetBool("UseAvClamd")) return (HealthStatus.Disabled, "UseAvClamd is off");
        var (client, problem) = ClamAvCheck.Client(cfg);
        if (client is null) return (HealthStatus.Failed, problem ?? "no clamd configured");
        var result = await client.PingAsync(ct).ConfigureAwait(false);
        return result.Status == ClamdStatus.Clean
            ? (HealthStatus.Ok, $"{result.Endpoint} answered PONG")
            : (HealthStatus.Failed, $"clamd PING failed: {result.Detail}");
    }

    private static async Task<(HealthStatus, string)> UpstreamAsync(ConfigSnapshot cfg, CancellationToken ct)
    {
        var failures = new List<string>();
        foreach (var entry in cfg["smtpDestination"].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ep = ValueSyntax.ParseEndpoint(entry, ["INBOUND:", "SSL:"]);
            if (ep is null) { failures.Add($"'{entry}' is not host:port"); continue; }
            var target = new UpstreamTarget(ep.Value.Host ?? "127.0.0.1", ep.Value.Port == 0 ? 25 : ep.Value.Port, ep.Value.Ssl);
            try
            {
                await using var connection = await UpstreamConnection.ConnectAsync(target, (System.Net.IPAddress?)null, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                var greeting = await connection.ReadReplyAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                try { await connection.CommandAsync("QUIT", TimeSpan.FromSeconds(2), ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is IOException or OperationCanceledException) { }
                if (greeting.Code == 220) return (HealthStatus.Ok, $"{target} greets: {greeting}");
                failures.Add($"{target} greets with {greeting}");
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                failures.Add($"{target}: {ex.Message}");
            }
        }
        return failures.Count == 0 ? (HealthStatus.Failed, "smtpDestination is empty") : (HealthStatus.Failed, string.Join("; ", failures));
    }
}
