using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Assp.LoadBench;

/// <summary>
/// Postfix's smtp-sink on 127.0.0.1:PORT, with -c so that its message counter ("mesg=N", rewritten with CR on
/// every final dot) tells us how many messages really arrived.
/// </summary>
internal sealed partial class SmtpSinkProcess : ISink
{
    private readonly ChildProcess _child;
    private long _messages;

    private SmtpSinkProcess(ChildProcess child, IPEndPoint endPoint)
    {
        _child = child;
        EndPoint = endPoint;
    }

    public string Name => "smtp-sink";
    public IPEndPoint EndPoint { get; }
    public long? MessagesReceived => Interlocked.Read(ref _messages);
    public int Pid => _child.Pid;

    [GeneratedRegex(@"\bmesg=(\d+)")]
    private static partial Regex MesgCounter();

    /// <summary>Starts smtp-sink and waits for its 220; throws with its output when it does not come up.</summary>
    public static async Task<SmtpSinkProcess> StartAsync(string path, int port, int maxConnections, CancellationToken ct)
    {
        if (port == 0) port = Net.FreePort();
        var args = new List<string> { "-c" };
        // smtp-sink refuses to run as root without -u; "nobody" only needs to exist.
        if (Environment.UserName == "root" || IsRoot()) args.AddRange(["-u", "nobody"]);
        // -m: at most this many simultaneous sessions (default 256), -t: per-command timeout in seconds.
        args.AddRange(["-m", maxConnections.ToString(CultureInfo.InvariantCulture), "-t", "300"]);
        args.Add($"127.0.0.1:{port}");
        args.Add("4096"); // listen backlog
        SmtpSinkProcess? sink = null;
        var child = ChildProcess.Start("smtp-sink", path, args, onLine: line =>
        {
            var m = MesgCounter().Match(line);
            if (m.Success && sink is not null && long.TryParse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture, out long n))
                Interlocked.Exchange(ref sink._messages, n);
        });
        sink = new SmtpSinkProcess(child, new IPEndPoint(IPAddress.Loopback, port));
        string? problem = await Net.WaitForGreetingAsync(sink.EndPoint, TimeSpan.FromSeconds(10),
            () => child.HasExited ? $"exited with code {child.ExitCode}" : null, ct).ConfigureAwait(false);
        if (problem is not null)
        {
            await child.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"smtp-sink on {sink.EndPoint} did not come up: {problem}" +
                string.Concat(child.Tail().Select(l => "\n  " + l)));
        }
        return sink;
    }

    private static bool IsRoot()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                    return line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[2] == "0"; // effective uid
            }
        }
        catch (IOException)
        {
        }
        return false;
    }

    public ValueTask DisposeAsync() => _child.DisposeAsync();
}
