using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Assp.LoadBench;

/// <summary>
/// A process the benchmark started (smtp-sink, the proxy): output drained into a short ring buffer, stopped with
/// SIGTERM then SIGKILL, and killed on the way out whatever happens to the benchmark.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<ChildProcess, byte> Live = new();
    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly Lock _tailLock = new();
    private readonly Action<string>? _onLine;
    private readonly bool _echo;
    private int _stopped;

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var c in Live.Keys) c.KillNow();
        };
    }

    private ChildProcess(string label, Process process, bool echo, Action<string>? onLine)
    {
        Label = label;
        _process = process;
        _echo = echo;
        _onLine = onLine;
    }

    public string Label { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>
    /// Starts <paramref name="file"/>. <paramref name="onLine"/> sees every line of stdout (lines end at CR or LF:
    /// smtp-sink -c rewrites its counter line with CR).
    /// </summary>
    public static ChildProcess Start(string label, string file, IEnumerable<string> args, string? workingDirectory = null,
        bool echo = false, Action<string>? onLine = null, IEnumerable<KeyValuePair<string, string>>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? []) psi.Environment[name] = value;
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + file);
        var child = new ChildProcess(label, p, echo, onLine);
        Live.TryAdd(child, 0);
        _ = Task.Run(() => child.DrainAsync(p.StandardOutput, isStdout: true));
        _ = Task.Run(() => child.DrainAsync(p.StandardError, isStdout: false));
        return child;
    }

    private async Task DrainAsync(StreamReader reader, bool isStdout)
    {
        var buf = new char[4096];
        var line = new System.Text.StringBuilder();
        try
        {
            while (true)
            {
                int n = await reader.ReadAsync(buf).ConfigureAwait(false);
                if (n == 0) break;
                for (int i = 0; i < n; i++)
                {
                    char c = buf[i];
                    if (c is '\r' or '\n')
                    {
                        if (line.Length > 0) Line(line.ToString(), isStdout);
                        line.Clear();
                    }
                    else if (line.Length < 2000)
                    {
                        line.Append(c);
                    }
                }
            }
            if (line.Length > 0) Line(line.ToString(), isStdout);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
    }

    private void Line(string text, bool isStdout)
    {
        if (isStdout) _onLine?.Invoke(text);
        lock (_tailLock)
        {
            _tail.Enqueue(text);
            while (_tail.Count > 40) _tail.Dequeue();
        }
        if (_echo) Console.Error.WriteLine($"  [{Label}] {text}");
    }

    /// <summary>The last lines the process wrote (stdout and stderr interleaved).</summary>
    public IReadOnlyList<string> Tail()
    {
        lock (_tailLock) return [.. _tail];
    }

    /// <summary>Waits for the process to exit on its own; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    // kill(2): .NET has no managed way to send SIGTERM (Process.Kill is SIGKILL). Blittable, so DllImport is enough.
    [DllImport("libc", EntryPoint = "kill")]
    private static extern int SysKill(int pid, int signal);

    private const int SIGTERM = 15;
    private const int SIGKILL = 9;

    /// <summary>Sends SIGTERM to a process.</summary>
    public static void Terminate(int pid) => _ = SysKill(pid, SIGTERM);

    /// <summary>Sends SIGKILL to a process.</summary>
    public static void Kill(int pid) => _ = SysKill(pid, SIGKILL);

    /// <summary>
    /// SIGTERM to the process and everything it started, up to <paramref name="grace"/> for them to exit, then
    /// SIGKILL for what is left. The tree is taken before the signal: a shell that dies first would orphan its children.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        try
        {
            if (!_process.HasExited)
            {
                var tree = ProcFs.ProcessTree(_process.Id);
                foreach (int pid in tree) _ = SysKill(pid, SIGTERM);
                var until = DateTime.UtcNow + grace;
                while (DateTime.UtcNow < until && (!_process.HasExited || tree.Skip(1).Any(ProcFs.Alive)))
                    await Task.Delay(50).ConfigureAwait(false);
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
                foreach (int pid in tree.Skip(1))
                {
                    if (ProcFs.Alive(pid)) _ = SysKill(pid, SIGKILL);
                }
                await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        Live.TryRemove(this, out _);
    }

    private void KillNow()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _process.Dispose();
    }
}
