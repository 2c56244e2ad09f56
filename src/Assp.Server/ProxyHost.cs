using System.Runtime.InteropServices;
using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Logging;
using Assp.Config.Registry;
using Assp.Config.Scheduling;
using Assp.Smtp;

namespace Assp.Server;

/// <summary>
/// The running proxy process: prepares the base folder, loads and watches the configuration, owns the maillog,
/// reloads on SIGHUP and stops cleanly on SIGINT/SIGTERM.
/// </summary>
public static class ProxyHost
{
    /// <summary>The exit code of a planned restart without AutoRestartCmd (EX_TEMPFAIL): "start me again".</summary>
    public const int RestartExitCode = 75;

    public static async Task<int> RunAsync(string baseDir, IReadOnlyList<KeyValuePair<string, string>> overrides, TextWriter output, CancellationToken stop)
    {
        var registry = OptionRegistry.Default;
        var created = BaseFolder.Initialize(baseDir, registry, ServiceInstaller.FreshInstallValues);
        if (created.Count > 0) output.WriteLine($"Prepared base folder {baseDir} ({created.Count} files and folders created).");

        ConfigManager manager;
        // As root, group exec: commands wait until it is known whether the process drops to runAsUser.
        var loader = new ConfigLoader(registry) { AllowExec = !(OperatingSystem.IsLinux() && Unix.IsRoot) };
        try
        {
            manager = new ConfigManager(loader, new ConfigSource(baseDir, Overrides: overrides));
        }
        catch (ConfigException ex)
        {
            await output.WriteLineAsync("error: " + ex.Message);
            return 1;
        }
        using var _ = manager;
        var overrideErrors = manager.Current.Issues.Where(i => i.File == "--set" && i.Severity == IssueSeverity.Error).ToList();
        if (overrideErrors.Count > 0)
        {
            foreach (var i in overrideErrors) await output.WriteLineAsync(i.ToString());
            return 2;
        }

        await using var log = new MailLog(() => manager.Current, console: output);
        // Notify/NotifyRe: matching maillog lines become notification mails, sent from the notifier's own loop.
        await using var notifier = new Assp.Smtp.Notifications.LogNotifier(() => manager.Current, m => log.Write(m));
        log.LineObserver = notifier.Offer;
        var cfg = manager.Current;
        log.Write($"ASSP for .NET {typeof(ProxyHost).Assembly.GetName().Version} starting in {cfg.BaseDirectory}");
        LogIssues(log, cfg);
        // One scheduler for every periodic job; a reload re-reads their schedules.
        await using var scheduler = new Scheduler(TimeProvider.System, TimeZoneInfo.Local, m => log.Write(m))
        {
            LogLevel = () => manager.Current.GetChoice("ScheduleLog"),
        };
        string? restartReason = null;
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stop);
        void RequestRestart(string reason)
        {
            if (Interlocked.CompareExchange(ref restartReason, reason, null) is not null) return;
            log.Write($"restart requested: {reason}");
            stopping.Cancel();
        }
        MaintenanceJobs.Register(scheduler, manager, log, RequestRestart);
        manager.Reloaded += (snapshot, reason) =>
        {
            log.Write($"configuration reloaded ({reason})");
            LogIssues(log, snapshot);
            scheduler.Refresh();
        };
        manager.StartWatching(TimeSpan.FromSeconds(1));

        // SIGHUP only wakes a thread of its own: the runtime calls the handler on the thread pool and drops what it
        // throws, so a reload that fails (or waits) there would vanish without a word in the maillog.
        var reloadRequests = new SemaphoreSlim(0);
        var reloader = new Thread(() =>
        {
            while (true)
            {
                try { reloadRequests.Wait(stopping.Token); }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
                try { manager.Reload("SIGHUP"); }
                catch (Exception ex)
                {
                    log.Write($"error: the configuration could not be reloaded (SIGHUP): {ex.GetType().Name}: {ex.Message}");
                }
            }
        }) { IsBackground = true, Name = "SIGHUP reload" };
        reloader.Start();
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            SignalLogging.Received(manager.Current, log, "SIGHUP", "reloading the configuration");
            reloadRequests.Release();
        });
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            SignalLogging.Received(manager.Current, log, "SIGTERM", "stopping");
            stopping.Cancel();
        });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
        {
            ctx.Cancel = true;
            SignalLogging.Received(manager.Current, log, "SIGINT", "stopping");
            stopping.Cancel();
        });

        if (InstanceFiles.ReadPid(cfg) is { } running && running != Environment.ProcessId && Unix.IsAlive(running))
        {
            await output.WriteLineAsync($"error: another instance (pid {running}) runs on {cfg.BaseDirectory}; stop it first (assp stop)");
            return 1;
        }
        DecisionServices opened;
        try { opened = DecisionServices.Open(cfg, log.Write); }
        catch (Assp.Storage.StoreConfigException ex)
        {
            await output.WriteLineAsync("error: " + ex.Message);
            log.Write("error: " + ex.Message);
            return 1;
        }
        using var decisions = opened;
        decisions.RegisterJobs(scheduler, manager, log);
        BackupCommand.RegisterJob(scheduler, manager, decisions.Store, log.Write);
        try { BackupCommand.ImportAtStart(cfg, decisions.Store, log.Write); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.Write($"importDBDir: {ex.Message}");
        }
        // The statistics go on from where the last run left them (SaveStatsEvery and the stop save them).
        var statistics = new Assp.Checks.Statistics.MailStatistics();
        var statsTable = decisions.Store.Table(Assp.Checks.Statistics.MailStatistics.TableName);
        statistics.Load(statsTable);
        scheduler.AddOrUpdate("SaveStatsEvery", () => MaintenanceJobs.Interval(manager.Current["SaveStatsEvery"], TimeSpan.FromMinutes(1)), _ =>
        {
            statistics.Save(statsTable);
            return Task.CompletedTask;
        }, "save the statistics every SaveStatsEvery minutes");
        await using var smtp = new SmtpProxyServer(() => manager.Current, log, decisions.Pipeline) {
            Statistics = statistics,
            ReverseLookup = decisions.ReverseLookupAsync,
            IpPenalty = (snapshot, ip, valence, reason) => decisions.Engine.AddConnectionPenalty(snapshot, ip, valence, reason, log.Write),
            // The email interface: analyses change no database; edited list files apply at once.
            AnalysisPipeline = decisions.AnalysisPipeline,
            ReloadConfig = reason => manager.Reload(reason),
        };
        var problems = smtp.Start();
        // ProxyConf forwarders are bound before the privilege drop too (they may use ports below 1024).
        await using var forwarder = new Assp.Smtp.Forwarding.TcpForwarder(() => manager.Current, log);
        forwarder.Refresh();
        manager.Reloaded += (snapshot, _) => forwarder.Refresh();
        var monitor = new Assp.Smtp.Monitoring.HealthMonitor(() => manager.Current, smtp, decisions.Store, () => decisions.Resolver);
        var health = new InstanceHealth(() => manager.Current, smtp, forwarder, decisions.Store, scheduler, () => stopping.IsCancellationRequested, monitor);
        await using var stats = new StatServer(() => manager.Current, health, log);
        if (stats.Start() is { } statProblem) log.Write("error: " + statProblem);
        // The web admin (webAdminPort) runs in this process over the same store; it rebinds when a reload changes its port.
        await using var webAdmin = new Assp.Web.WebAdminHost(new Assp.Web.WebAdminContext
        {
            Config = manager,
            Store = decisions.Store,
            AnalysisPipeline = decisions.AnalysisPipeline,
            Live = Assp.Web.LiveServices.From(smtp, monitor),
            Log = log.Write,
            RequestRestart = RequestRestart,
            RequestShutdown = reason =>
            {
                log.Write($"shutdown requested: {reason}");
                stopping.Cancel();
            },
        });
        // The one-time password of the first start goes to the maillog, which the console shows as well.
        webAdmin.EnsureInitialAdmin();
        if (await webAdmin.RefreshAsync(stop) is { } webProblem) log.Write("error: " + webProblem);
        manager.Reloaded += (_, _) => Task.Run(async () =>
        {
            if (await webAdmin.RefreshAsync() is { } problem) log.Write("error: " + problem);
        });
        if (problems.Count > 0 && smtp.Listeners.Count == 0 && !cfg.GetBool("DisableSMTPNetworking"))
        {
            foreach (var p in problems) await output.WriteLineAsync("error: " + p);
            return 1;
        }
        // Ports are bound: now the process may give up root for good.
        if (Privileges.Drop(cfg, log.Write) is { } privilegeProblem) log.Write("warning: " + privilegeProblem);
        if (!loader.AllowExec)
        {
            // Now running as runAsUser (or as root because none is set): exec: lines may run.
            loader.AllowExec = true;
            cfg = manager.Reload("groups with exec: after the privilege drop");
        }
        InstanceFiles.WritePid(cfg);
        var started = DateTimeOffset.Now;
        string lastHealth = "";
        void PublishStatus()
        {
            // The health watchdog: every change between healthy and not healthy (and of the reasons) is logged.
            var problems = string.Join("; ", health.Problems());
            if (problems != lastHealth)
            {
                log.Write(problems.Length == 0 ? "health: healthy again" : "health: not healthy: " + problems);
                lastHealth = problems;
            }
            try
            {
                var c = manager.Current;
                InstanceFiles.WriteStatus(c.BaseDirectory, new InstanceStatus(Environment.ProcessId, SmtpProxyServer.Version, started, DateTimeOffset.Now,
                    c.Generation, c.LoadedAt.ToString("u"), smtp.BoundEndPoints.Select(b => $"{b.Definition.Option} {b.EndPoint}")
                        .Concat(forwarder.Bound.Select(f => $"ProxyConf {f.EndPoint}=>{f.Rule.TargetHost}:{f.Rule.TargetPort}")).ToList(),
                    smtp.ActiveSessions, smtp.SessionsTotal, smtp.MessagesDelivered) { Jobs = scheduler.Jobs });
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // Status is informational; a stop in progress or a full disk must never end the process.
            }
        }
        scheduler.Start();
        PublishStatus();
        using var statusTimer = new Timer(_ => PublishStatus(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        // The active probes (DNS, clamd, MTA, store) run once a minute; pages and /metrics show the last results.
        using var probeTimer = new Timer(_ => _ = monitor.RunAsync(stopping.Token).ContinueWith(t => _ = t.Exception, TaskScheduler.Default),
            null, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1));
        log.Write($"ready; {cfg.Registry.Count} options loaded, {cfg.All().Count(x => x.Value != x.Option.Default)} changed from default; " +
            $"{smtp.Listeners.Count} SMTP listeners; pid {Environment.ProcessId}");
        SystemdNotify.Ready($"{smtp.Listeners.Count} SMTP listeners: {string.Join(", ", smtp.BoundEndPoints.Select(b => b.EndPoint))}");
        try
        {
            await Task.Delay(Timeout.Infinite, stopping.Token);
        }
        catch (OperationCanceledException)
        {
        }
        log.Write($"ASSP for .NET stopping; waiting up to {manager.Current.GetInt("MaxFinConWaitTime", 45)} s (MaxFinConWaitTime) for {smtp.ActiveSessions} sessions to finish");
        await statusTimer.DisposeAsync();
        // MaxFinConWaitTime: how long running sessions may take to finish before they are cut.
        var grace = TimeSpan.FromSeconds(Math.Clamp(manager.Current.GetInt("MaxFinConWaitTime", 45), 10, 599));
        await Task.WhenAll(smtp.StopAsync(grace), forwarder.StopAsync(grace));
        statistics.Save(statsTable);
        InstanceFiles.RemovePid(manager.Current);
        try { File.Delete(InstanceFiles.StatusPath(cfg.BaseDirectory)); } catch (IOException) { }
        if (restartReason is null)
        {
            log.Write("ASSP for .NET stopped");
            return 0;
        }
        // A restart: AutoRestartCmd starts the new process (as ASSP does); without it the exit code asks the
        // service manager (systemd's Restart=on-failure, a wrapper loop) for a fresh start.
        var command = manager.Current["AutoRestartCmd"].Trim();
        if (command.Length > 0)
        {
            log.Write($"ASSP for .NET stopped for a restart ({restartReason}); running AutoRestartCmd");
            var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(command);
            System.Diagnostics.Process.Start(psi)?.Dispose();
            return 0;
        }
        log.Write($"ASSP for .NET stopped for a restart ({restartReason}); exit code {RestartExitCode} asks the service manager to start it again");
        return RestartExitCode;
    }

    private static void LogIssues(MailLog log, ConfigSnapshot cfg)
    {
        foreach (var issue in cfg.Issues.Where(i => i.Severity != IssueSeverity.Info))
        {
            log.Write("config " + issue);
        }
    }
}
