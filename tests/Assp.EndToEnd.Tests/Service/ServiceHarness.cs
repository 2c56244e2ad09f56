using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.EndToEnd.Tests.Service;

/// <summary>A [Fact] that runs only as root (binding a port below 1024, dropping to nobody, dpkg need it).</summary>
public class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root: the service binds a port below 1024 and then changes its user (run the tests as root, as CI does)";
    }
}

/// <summary>A [Fact] that needs root and dpkg-deb (the Debian package tests).</summary>
public sealed class DebFactAttribute : RootFactAttribute
{
    public DebFactAttribute()
    {
        if (Skip is null && !File.Exists("/usr/bin/dpkg-deb"))
            Skip = "dpkg-deb is not installed (not a Debian system): the .deb cannot be built here";
    }
}

/// <summary>Where the repository and the built `assp` are, and how to run commands with a time limit.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration this test assembly was built in (bin/&lt;Configuration&gt;/net10.0).</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent?.Name ?? "Debug";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Assp.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository (Assp.slnx) above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// The built `assp` as a command line: the apphost src/Assp.Server/bin/&lt;Configuration&gt;/net10.0/assp (the
    /// configuration of this test assembly first, then the other), else `dotnet …/assp.dll`.
    /// </summary>
    public static (string File, string[] Prefix) Assp()
    {
        foreach (var config in new[] { Configuration, Configuration == "Release" ? "Debug" : "Release" }.Distinct())
        {
            var dir = Path.Combine(Root, "src", "Assp.Server", "bin", config, "net10.0");
            if (File.Exists(Path.Combine(dir, "assp"))) return (Path.Combine(dir, "assp"), []);
            if (File.Exists(Path.Combine(dir, "assp.dll")))
                return (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet", [Path.Combine(dir, "assp.dll")]);
        }
        throw new InvalidOperationException($"the assp executable is not built: run `dotnet build Assp.slnx -c {Configuration}` first " +
            "(the end-to-end project does not reference src/Assp.Server)");
    }

    /// <summary>Runs a program to its end (killed after the timeout); returns its exit code and stdout+stderr.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("NOTIFY_SOCKET");
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>())
        {
            if (v is null) info.Environment.Remove(k);
            else info.Environment[k] = v;
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + file);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync();
            return (-1, $"{file} {string.Join(' ', args)}: killed after {timeout}\n{await stdout}{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Runs the built assp with these arguments.</summary>
    public static Task<(int Exit, string Output)> RunAssp(TimeSpan timeout, params string[] args)
    {
        var (file, prefix) = Assp();
        return RunAsync(file, prefix.Concat(args), timeout);
    }
}

/// <summary>
/// A unix datagram socket standing in for systemd's $NOTIFY_SOCKET: collects what the service sends (READY=1 ...).
/// World-writable, as systemd's is, because the service sends READY=1 after it has become an unprivileged user.
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket;
    private readonly ConcurrentQueue<string> _messages = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public string Path { get; }

    public NotifySocket(string directory)
    {
        Path = System.IO.Path.Combine(directory, "notify.sock");
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        File.SetUnixFileMode(Path, (UnixFileMode)0b111_111_111);
        _loop = Task.Run(ReceiveLoop);
    }

    public IReadOnlyList<string> Messages => _messages.ToArray();

    private async Task ReceiveLoop()
    {
        var buffer = new byte[4096];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                _messages.Enqueue(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async Task<string> WaitForAsync(string text, TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            var hit = _messages.FirstOrDefault(m => m.Contains(text, StringComparison.Ordinal));
            if (hit is not null) return hit;
            await Task.Delay(50);
        }
        throw new TimeoutException($"'{text}' was never sent to the notify socket; got: [{string.Join(" / ", _messages)}]");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}

/// <summary>
/// The built `assp run --base DIR` as a child process (started as root, as systemd starts the unit), with its
/// stdout (the maillog lines; journald's view) captured. Disposing kills it if it still runs.
/// </summary>
public sealed class AsspService : IDisposable
{
    private static readonly ConcurrentDictionary<AsspService, byte> Live = new();
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    static AsspService()
    {
        // A test that dies half-way must not leave a proxy running.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var s in Live.Keys) s.Dispose();
        };
    }

    private AsspService(Process process, string baseDirectory)
    {
        _process = process;
        BaseDirectory = baseDirectory;
    }

    public string BaseDirectory { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Starts `BINARY run --base DIR [extra...]`; the binary is the built one unless given.</summary>
    public static AsspService Start(string baseDirectory, string? notifySocket = null, IEnumerable<string>? extra = null, string? binary = null)
    {
        var (file, prefix) = binary is null ? Repo.Assp() : (binary, []);
        var info = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in prefix.Concat(["run", "--base", baseDirectory]).Concat(extra ?? [])) info.ArgumentList.Add(a);
        info.Environment.Remove("NOTIFY_SOCKET");
        if (notifySocket is not null) info.Environment["NOTIFY_SOCKET"] = notifySocket;
        var process = new Process { StartInfo = info };
        var service = new AsspService(process, baseDirectory);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (service._output) service._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (service._output) service._output.AppendLine("stderr: " + e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Live.TryAdd(service, 0);
        return service;
    }

    public string MaillogPath => Path.Combine(BaseDirectory, "logs", "maillog.txt");

    public string ReadMaillog()
    {
        if (!File.Exists(MaillogPath)) return "";
        using var stream = new FileStream(MaillogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>Waits until the maillog holds the text; fails early when the process ended.</summary>
    public async Task<string> WaitForLogAsync(string text, TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < end)
        {
            var log = ReadMaillog();
            if (log.Contains(text, StringComparison.Ordinal)) return log;
            if (_process.HasExited) break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"'{text}' did not appear in the maillog (process {(_process.HasExited ? "exited with " + _process.ExitCode : "runs")}).\n" +
            $"--- maillog ---\n{ReadMaillog()}\n--- output ---\n{Output}\n--- process ---\n{ProcessState()}");
    }

    /// <summary>
    /// What the kernel says of the process and each of its threads (run state, signal masks, where it waits): when a
    /// signal seems to have no effect this tells a stopped process, a blocked or ignored signal and a hung thread apart.
    /// </summary>
    public string ProcessState()
    {
        if (_process.HasExited) return "(exited)";
        var sb = new StringBuilder();
        static string Read(string path)
        {
            try { return File.ReadAllText(path).Trim(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "?"; }
        }
        static string Fields(string status, params string[] keys) => string.Join(" ", status.Split('\n')
            .Where(l => keys.Any(k => l.StartsWith(k + ":", StringComparison.Ordinal))).Select(l => l.Replace('\t', ' ')));
        sb.AppendLine(Fields(Read($"/proc/{Pid}/status"), "State", "SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt"));
        try
        {
            foreach (var task in Directory.GetDirectories($"/proc/{Pid}/task"))
                sb.AppendLine($"  {Path.GetFileName(task)} {Read(Path.Combine(task, "comm"))}: {Fields(Read(Path.Combine(task, "status")), "State", "SigPnd", "SigBlk")} wchan {Read(Path.Combine(task, "wchan"))}");
        }
        catch (IOException) { }
        return sb.ToString();
    }

    /// <summary>Waits for the exit; false when it still runs after the timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The real, effective, saved and filesystem ids of every thread, from /proc/PID/task/*/status.</summary>
    public IReadOnlyList<(string Thread, uint[] Uids, uint[] Gids, string Groups)> ThreadIdentities()
    {
        var result = new List<(string, uint[], uint[], string)>();
        foreach (var task in Directory.GetDirectories($"/proc/{Pid}/task"))
        {
            string[] lines;
            try { lines = File.ReadAllLines(Path.Combine(task, "status")); }
            catch (IOException) { continue; }   // a thread that ended meanwhile
            uint[] Ids(string key) => lines.Single(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..]
                .Split('\t', StringSplitOptions.RemoveEmptyEntries).Select(v => uint.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var groups = lines.Single(l => l.StartsWith("Groups:", StringComparison.Ordinal))["Groups:".Length..].Trim();
            result.Add((Path.GetFileName(task), Ids("Uid:"), Ids("Gid:"), groups));
        }
        return result;
    }

    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, Pid.ToString(CultureInfo.InvariantCulture)]);
        if (!kill.WaitForExit(TimeSpan.FromSeconds(10)) || kill.ExitCode != 0)
            throw new InvalidOperationException($"kill -{signal} {Pid} failed");
    }

    public void Dispose()
    {
        Live.TryRemove(this, out _);
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}

/// <summary>
/// A machine-wide lock (flock through FileShare.None) for tests that change the system itself (a user, dpkg, a unit
/// in /etc/systemd/system), so two test runs on one machine never do that at the same time.
/// </summary>
public static class SystemLock
{
    private const string LockPath = "/tmp/assp-e2e-system.lock";

    /// <summary>The lock, or null when another run held it for the whole timeout.</summary>
    public static async Task<IDisposable?> AcquireAsync(TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < end)
            {
                await Task.Delay(250);
            }
            catch (IOException)
            {
                return null;
            }
        }
    }
}

/// <summary>Ports for the tests.</summary>
public static class Ports
{
    /// <summary>
    /// A privileged port (below 1024) on 127.0.0.1 that nothing listens on: 587 and 465 first, then others.
    /// Checked by binding it (as root) and letting it go again.
    /// </summary>
    public static IEnumerable<int> FreePrivileged()
    {
        var candidates = new List<int> { 587, 465 };
        candidates.AddRange(Enumerable.Range(600, 424).OrderBy(_ => Random.Shared.Next()));
        foreach (var port in candidates.Distinct())
        {
            if (IsFree(port)) yield return port;
        }
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>True when a socket listens on 127.0.0.1:port or *:port (IPv4), from /proc/net/tcp (state 0A).</summary>
    public static bool IsListening(int port)
    {
        var hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(f => f.Length > 3 && f[3] == "0A" && (f[1] == "0100007F:" + hexPort || f[1] == "00000000:" + hexPort));
    }

    public static int FreeUnprivileged()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
