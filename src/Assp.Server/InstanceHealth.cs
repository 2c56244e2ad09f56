using System.Globalization;
using Assp.Config;
using Assp.Config.Scheduling;
using Assp.Smtp;
using Assp.Smtp.Forwarding;
using Assp.Storage;

namespace Assp.Server;

/// <summary>
/// Whether the running instance is healthy, for the stat port and the watchdog: a stop in progress, an SMTP listener
/// whose accept loop died, database writes failing, or memory over MemoryUsageLimit make it "not healthy".
/// Also the figures the stat port shows.
/// </summary>
internal sealed class InstanceHealth(Func<ConfigSnapshot> config, SmtpProxyServer smtp, TcpForwarder? forwarder, IStore? store,
    Scheduler? scheduler, Func<bool> stopping, Assp.Smtp.Monitoring.HealthMonitor? monitor = null)
{
    /// <summary>The active probes (DNS, clamd, MTA, store, sessions) whose last results the stat port shows; null: none.</summary>
    public Assp.Smtp.Monitoring.HealthMonitor? Monitor => monitor;

    /// <summary>The Prometheus text for /metrics: statistics, sessions and the last probe results.</summary>
    public string Metrics() => Assp.Smtp.Monitoring.PrometheusMetrics.Render(smtp.Statistics.Snapshot(), smtp.ActiveSessions, smtp.SessionsTotal,
        smtp.BoundEndPoints.Count, monitor?.Latest);

    private readonly DateTimeOffset _started = DateTimeOffset.Now;

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        var cfg = config();
        if (stopping()) problems.Add("shutdown in progress");
        foreach (var dead in smtp.DeadListeners) problems.Add($"listener {dead} no longer accepts connections");
        if (!cfg.GetBool("DisableSMTPNetworking") && smtp.Listeners.Count == 0) problems.Add("no SMTP listener is open");
        // With shared tables the local file is the split store's local half; PostgreSQL being away is not a
        // problem of this node (mail flows on its data) and shows in the statistics instead.
        if ((store is SplitStore split ? split.Local : store) is SqliteStore sqlite && sqlite.LastWriteError is { } error)
            problems.Add("database writes fail: " + error.Message);
        long limitMb = cfg.GetLong("MemoryUsageLimit", 0);
        long usedMb = Environment.WorkingSet / (1024 * 1024);
        if (limitMb > 0 && usedMb > limitMb) problems.Add($"memory use {usedMb} MB is over MemoryUsageLimit {limitMb} MB");
        return problems;
    }

    public IEnumerable<KeyValuePair<string, string>> Statistics()
    {
        var cfg = config();
        var now = DateTimeOffset.Now;
        var up = now - _started;
        string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        yield return new("version", "ASSP for .NET " + SmtpProxyServer.Version);
        yield return new("myName", cfg["myName"]);
        yield return new("pid", I(Environment.ProcessId));
        yield return new("started", _started.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture));
        yield return new("uptime", $"{(int)up.TotalDays}d {up.Hours:00}:{up.Minutes:00}:{up.Seconds:00}");
        yield return new("config generation", I(cfg.Generation));
        yield return new("config loaded", cfg.LoadedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        yield return new("smtp listeners", string.Join(", ", smtp.BoundEndPoints.Select(b => $"{b.Definition.Option} {b.EndPoint}")));
        yield return new("smtp sessions active", I(smtp.ActiveSessions));
        yield return new("smtp sessions total", I(smtp.SessionsTotal));
        yield return new("messages delivered", I(smtp.MessagesDelivered));
        if (forwarder is not null)
        {
            yield return new("proxy forwards", I(forwarder.Bound.Count));
            yield return new("proxy connections active", I(forwarder.ActiveConnections));
            yield return new("proxy connections total", I(forwarder.ConnectionsForwarded));
        }
        if (store is SplitStore { Shared: PostgresStore shared })
            yield return new("shared database", $"PostgreSQL {shared.Description} " +
                (shared.Connected ? "connected" : "unreachable (mail continues on this node's data)") + $", {I(shared.QueuedWrites)} writes queued");
        var mail = smtp.Statistics.Snapshot();
        yield return new("statistics since", mail.CountingSince.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture));
        foreach (var (name, value) in mail.Counters) yield return new("stats " + name, I(value));
        if (monitor?.Latest is { } report)
        {
            foreach (var probe in report.Probes)
                yield return new($"probe {probe.Name}", $"{probe.Status.ToString().ToLowerInvariant()} at {probe.CheckedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}: {probe.Detail}");
        }
        yield return new("memory MB", I(Environment.WorkingSet / (1024 * 1024)));
        yield return new("threads", I(System.Diagnostics.Process.GetCurrentProcess().Threads.Count));
        if (scheduler is not null)
        {
            foreach (var job in scheduler.Jobs)
            {
                yield return new($"job {job.Name}",
                    $"last {job.LastStart?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "never"}" +
                    $" ({job.LastResult ?? "-"}), next {job.NextRun?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "never"}," +
                    $" runs {I(job.Runs)}, failures {I(job.Failures)}");
            }
        }
    }
}
