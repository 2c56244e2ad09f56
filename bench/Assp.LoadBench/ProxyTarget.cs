using System.Net;

namespace Assp.LoadBench;

/// <summary>
/// The proxy under test: assp started here (the default), another command started here (--proxy-command), or one
/// that is already running (--proxy-endpoint). Knows its process id when it can, for RSS and CPU figures.
/// </summary>
internal sealed class ProxyTarget : IAsyncDisposable
{
    private readonly ChildProcess? _child;
    private readonly string? _baseDir;

    private ProxyTarget(IPEndPoint endPoint, int? pid, string description, ChildProcess? child, string? baseDir)
    {
        EndPoint = endPoint;
        Pid = pid;
        Description = description;
        _child = child;
        _baseDir = baseDir;
    }

    public IPEndPoint EndPoint { get; }
    public int? Pid { get; }
    public string Description { get; }

    /// <summary>Null while the proxy runs (or when it is not ours to watch), else how it ended and its last output.</summary>
    public string? Died => _child is { HasExited: true }
        ? $"the proxy process exited with code {_child.ExitCode}" + string.Concat(_child.Tail().TakeLast(15).Select(l => "\n    " + l))
        : null;

    public ProcessFigures? Sample() =>
        Pid is { } pid && ProcFs.CpuSeconds(pid) is { } cpu && ProcFs.StatusMb(pid, "VmRSS") is { } rss
            ? new ProcessFigures(cpu, rss, ProcFs.StatusMb(pid, "VmHWM") ?? rss)
            : null;

    /// <summary>Starts (or finds) the proxy and waits for its 220. On failure returns a message that says why.</summary>
    public static async Task<(ProxyTarget? Proxy, string? Problem)> StartAsync(BenchOptions o, ISink sink, TextWriter log, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(o.ProxyStartTimeoutSeconds);
        if (o.ProxyEndpoint is { } given)
        {
            string? probe = await Net.WaitForGreetingAsync(given, timeout, null, ct).ConfigureAwait(false);
            if (probe is not null) return (null, $"the proxy at {given} did not answer 220 within {timeout.TotalSeconds:0.#} s: {probe}");
            int? pid = o.ProxyPid ?? ProcFs.ListenerPid(given.Port);
            log.WriteLine($"proxy: already running at {given}" + (pid is { } p ? $", pid {p}" : " (pid unknown: no RSS/CPU figures; pass --proxy-pid)"));
            log.WriteLine($"       (it must relay to the sink at {sink.EndPoint} for the sink counts to mean anything)");
            return (new ProxyTarget(given, pid, $"proxy at {given}", null, null), null);
        }

        int port = Net.FreePort();
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        string baseDir = Directory.CreateTempSubdirectory("assp-loadbench-").FullName;
        ChildProcess child;
        string description;
        if (o.ProxyCommand is { } command)
        {
            string expanded = command
                .Replace("{listen}", endPoint.ToString(), StringComparison.Ordinal)
                .Replace("{listenPort}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{sink}", sink.EndPoint.ToString(), StringComparison.Ordinal)
                .Replace("{sinkPort}", sink.EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{base}", baseDir, StringComparison.Ordinal);
            // A simple command replaces the shell (so SIGTERM reaches it); a compound one runs under it, and the
            // process that listens is looked up once it answers.
            bool simple = expanded.IndexOfAny([';', '&', '|', '\n', '(', '`']) < 0;
            description = expanded;
            log.WriteLine($"proxy: starting /bin/sh -c '{(simple ? "exec " : "")}{expanded}'");
            child = ChildProcess.Start("proxy", "/bin/sh", ["-c", (simple ? "exec " : "") + expanded], echo: o.ShowProxyOutput,
                environment: o.ProxyEnvironment);
        }
        else
        {
            var (dll, problem) = await LocateAsspAsync(o, log, ct).ConfigureAwait(false);
            if (dll is null)
            {
                TryDelete(baseDir);
                return (null, problem);
            }
            List<string> args =
            [
                dll, "run", "--base", baseDir,
                "--set", $"listenPort={endPoint}",
                "--set", $"smtpDestination={sink.EndPoint}",
                "--set", $"localDomains={o.RcptDomain}",
                "--set", "acceptAllMail=127.0.0.1",
            ];
            // assp turns away sessions beyond maxSMTPSessions (default 64, at most 999, 0 = no limit) with a 421.
            int sessions = o.Mode switch
            {
                BenchMode.Idle => o.Idle,
                BenchMode.Soak => o.Connections + o.Idle + o.Slowloris,
                _ => o.Connections,
            } + 16;
            if (sessions > 64) args.AddRange(["--set", $"maxSMTPSessions={(sessions <= 999 ? sessions : 0)}"]);
            // Every soak connection comes from 127.0.0.1. It is in acceptAllMail, which exempts it from
            // maxSMTPipSessions anyway; the limit is switched off as well so that the run does not depend on that.
            if (o.Mode == BenchMode.Soak) args.AddRange(["--set", "maxSMTPipSessions=0"]);
            foreach (var (name, value) in o.ProxySettings) args.AddRange(["--set", $"{name}={value}"]);
            description = string.Concat(o.ProxyEnvironment.Select(e => $"{e.Key}={e.Value} ")) + "dotnet " + string.Join(' ', args);
            log.WriteLine($"proxy: starting {description}");
            child = ChildProcess.Start("assp", "dotnet", args, echo: o.ShowProxyOutput, environment: o.ProxyEnvironment);
        }

        string? why = await Net.WaitForGreetingAsync(endPoint, timeout, () => child.HasExited ? "exited" : null, ct).ConfigureAwait(false);
        if (why is not null)
        {
            string headline = child.HasExited
                ? $"PROXY DID NOT COME UP: the process exited with code {child.ExitCode} before answering 220 on {endPoint}."
                : $"PROXY DID NOT COME UP: no 220 greeting on {endPoint} within {timeout.TotalSeconds:0.#} s (last try: {why}).";
            var tail = child.Tail();
            await child.DisposeAsync().ConfigureAwait(false);
            TryDelete(baseDir);
            return (null,
                headline + $"\n  command: {description}\n" +
                (tail.Count > 0 ? "  its last output:" + string.Concat(tail.TakeLast(20).Select(l => "\n    " + l)) : "  it printed nothing."));
        }
        int listener = ProcFs.ListenerPid(port) ?? child.Pid;
        log.WriteLine($"proxy: up on {endPoint}, pid {listener}");
        return (new ProxyTarget(endPoint, listener, description, child, baseDir), null);
    }

    /// <summary>
    /// src/Assp.Server/bin/Release/net10.0/assp.dll under the repository (found by walking up from the current and
    /// the program folder), built with `dotnet build src/Assp.Server -c Release` when missing or asked to.
    /// </summary>
    private static async Task<(string? Dll, string? Problem)> LocateAsspAsync(BenchOptions o, TextWriter log, CancellationToken ct)
    {
        if (o.ProxyDll is { } explicitDll)
            return File.Exists(explicitDll) ? (Path.GetFullPath(explicitDll), null) : (null, $"--proxy-dll {explicitDll}: no such file");

        string? repo = FindRepoRoot();
        if (repo is null) return (null, "cannot find the repository (a folder with src/Assp.Server/Assp.Server.csproj) above the current folder; use --proxy-dll");
        string dll = Path.Combine(repo, "src", "Assp.Server", "bin", "Release", "net10.0", "assp.dll");
        if (File.Exists(dll) && !o.RebuildProxy) return (dll, null);

        log.WriteLine($"proxy: {(File.Exists(dll) ? "rebuilding" : "building")} {dll} (dotnet build src/Assp.Server -c Release) ...");
        await using var build = ChildProcess.Start("build", "dotnet", ["build", "src/Assp.Server", "-c", "Release", "--nologo", "-v", "quiet"], workingDirectory: repo);
        if (!await build.WaitForExitAsync(TimeSpan.FromMinutes(10), ct).ConfigureAwait(false))
            return (null, "dotnet build src/Assp.Server -c Release did not finish within 10 minutes");
        if (build.ExitCode != 0 || !File.Exists(dll))
            return (null, $"dotnet build src/Assp.Server -c Release failed (exit code {build.ExitCode}):" +
                          string.Concat(build.Tail().TakeLast(25).Select(l => "\n    " + l)));
        return (dll, null);
    }

    internal static string? FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "src", "Assp.Server", "Assp.Server.csproj"))) return d.FullName;
            }
        }
        return null;
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_child is not null)
        {
            // Under a shell the listener is a grandchild: ask it to stop first; the tree is killed after a grace period.
            if (Pid is { } pid && pid != _child.Pid) ChildProcess.Terminate(pid);
            await _child.DisposeAsync().ConfigureAwait(false);
        }
        if (_baseDir is not null) TryDelete(_baseDir);
    }
}
