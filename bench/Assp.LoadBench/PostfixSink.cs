using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.LoadBench;

/// <summary>
/// A private Postfix instance as the sink (the deployment ASSP is made for: the proxy in front of Postfix): own
/// configuration, queue and log under a temp folder, listening on 127.0.0.1 only, every message queued as usual and
/// then handed to the discard transport, so nothing leaves the machine. It neither uses nor disturbs /etc/postfix.
/// Needs root (the master runs as root). Messages count when the discard agent reports them sent in the log.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class PostfixSink : ISink
{
    private const string PostfixPath = "/usr/sbin/postfix";
    private readonly string _root;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _counter;
    private long _delivered;
    private int _disposed;

    private PostfixSink(string root, IPEndPoint endPoint)
    {
        _root = root;
        EndPoint = endPoint;
        _counter = Task.Run(CountDeliveriesAsync);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopMaster();
    }

    public string Name => "postfix";
    public IPEndPoint EndPoint { get; }
    public long? MessagesReceived => Interlocked.Read(ref _delivered);
    private string LogFile => Path.Combine(_root, "maillog");

    public static bool Available => File.Exists(PostfixPath);

    /// <summary>Writes the instance's configuration, starts it and waits for its 220; throws with its output when it does not come up.</summary>
    public static async Task<PostfixSink> StartAsync(int port, int maxConnections, CancellationToken ct)
    {
        if (!Environment.IsPrivilegedProcess) throw new InvalidOperationException("--sink postfix needs root (the Postfix master runs as root)");
        if (!Available) throw new InvalidOperationException($"{PostfixPath} is missing (Debian: apt-get install postfix)");
        if (port == 0) port = Net.FreePort();
        string root = Directory.CreateTempSubdirectory("assp-loadbench-postfix-").FullName;
        const UnixFileMode rwxr_xr_x = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(root, rwxr_xr_x);
        Directory.CreateDirectory(Path.Combine(root, "etc"), rwxr_xr_x);
        Directory.CreateDirectory(Path.Combine(root, "spool"), rwxr_xr_x);
        await File.WriteAllTextAsync(Path.Combine(root, "etc", "main.cf"), MainCf(root, port), ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(root, "etc", "master.cf"), MasterCf(port, maxConnections), ct).ConfigureAwait(false);

        var sink = new PostfixSink(root, new IPEndPoint(IPAddress.Loopback, port));
        var (exit, output) = await RunPostfixAsync(root, "start", ct).ConfigureAwait(false);
        string? problem = exit == 0
            ? await Net.WaitForGreetingAsync(sink.EndPoint, TimeSpan.FromSeconds(20), null, ct).ConfigureAwait(false)
            : $"postfix start failed (exit {exit}): {output}";
        if (problem is not null)
        {
            string log = File.Exists(sink.LogFile) ? await File.ReadAllTextAsync(sink.LogFile, ct).ConfigureAwait(false) : "";
            await sink.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"Postfix on {sink.EndPoint} did not come up: {problem}\n{Tail(log)}");
        }
        return sink;
    }

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(15));

    /// <summary>Follows the log and counts "status=sent" lines of the discard agent (one per recipient; the benchmark sends one).</summary>
    private async Task CountDeliveriesAsync()
    {
        long offset = 0;
        var pending = new StringBuilder();
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (File.Exists(LogFile))
                {
                    await using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    stream.Position = offset;
                    int n;
                    while ((n = await stream.ReadAsync(buffer, _stop.Token).ConfigureAwait(false)) > 0)
                    {
                        offset += n;
                        pending.Append(Encoding.Latin1.GetString(buffer, 0, n));
                        var text = pending.ToString();
                        int last = text.LastIndexOf('\n');
                        if (last < 0) continue;
                        foreach (var line in text[..last].Split('\n'))
                        {
                            if (line.Contains("/discard[", StringComparison.Ordinal) && line.Contains(" status=sent ", StringComparison.Ordinal))
                                Interlocked.Increment(ref _delivered);
                        }
                        pending.Clear().Append(text[(last + 1)..]);
                    }
                }
                await Task.Delay(100, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (IOException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    private static async Task<(int Exit, string Output)> RunPostfixAsync(string root, string command, CancellationToken ct)
    {
        // Output to a file, not a pipe: the master it leaves behind must not hold our pipes open.
        string outFile = Path.Combine(root, $"postfix-{command}.out");
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var a in new[] { "-c", "exec \"$0\" -c \"$1\" \"$2\" >\"$3\" 2>&1 </dev/null", PostfixPath, Path.Combine(root, "etc"), command, outFile })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start /bin/sh");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        string output = File.Exists(outFile) ? await File.ReadAllTextAsync(outFile, CancellationToken.None).ConfigureAwait(false) : "";
        return (p.ExitCode, output.Trim());
    }

    private int? MasterPid()
    {
        try
        {
            // Not File.ReadAllText: .NET takes a shared lock to read, which the master's exclusive lock refuses.
            using var cat = Process.Start(new ProcessStartInfo("/bin/cat", Path.Combine(_root, "spool", "pid", "master.pid")) { RedirectStandardOutput = true });
            string text = cat?.StandardOutput.ReadToEnd() ?? "";
            cat?.WaitForExit();
            return int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (Exception ex) when (ex is IOException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>postfix stop, then the master's process tree is killed if it is still there after a few seconds.</summary>
    private void StopMaster()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        int? master = MasterPid();
        try
        {
            RunPostfixAsync(_root, "stop", CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or OperationCanceledException)
        {
        }
        if (master is { } pid)
        {
            var until = DateTime.UtcNow.AddSeconds(10);
            while (ProcFs.Alive(pid) && DateTime.UtcNow < until) Thread.Sleep(50);
            foreach (int p in ProcFs.ProcessTree(pid)) ChildProcess.Kill(p);
        }
        for (int i = 0; i < 20 && Directory.Exists(_root); i++)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            await _counter.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await Task.Run(StopMaster).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static string MainCf(string root, int port) => $"""
        # Private benchmark sink written by Assp.LoadBench; nothing here refers to /etc/postfix.
        compatibility_level = 3.6
        queue_directory = {Path.Combine(root, "spool")}
        data_directory = {Path.Combine(root, "data")}
        syslog_name = postfix-loadbench-{port}
        maillog_file = {Path.Combine(root, "maillog")}
        maillog_file_prefixes = {root}
        myhostname = sink.loadbench.test
        mydomain = loadbench.test
        inet_interfaces = 127.0.0.1
        inet_protocols = ipv4
        mynetworks = 127.0.0.0/8
        smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
        # Every message is queued as usual and then thrown away; nothing is ever sent on.
        mydestination =
        relay_domains =
        default_transport = discard
        relay_transport = discard
        local_transport = discard
        virtual_transport = discard
        alias_maps =
        alias_database =
        smtpd_peername_lookup = no
        smtp_dns_support_level = disabled
        biff = no
        # A load test must not be slowed down on purpose.
        in_flow_delay = 0
        smtpd_error_sleep_time = 0
        smtpd_client_connection_count_limit = 0
        smtpd_client_connection_rate_limit = 0
        smtpd_client_message_rate_limit = 0
        delay_warning_time = 0

        """;

    private static string MasterCf(int port, int maxConnections) => $"""
        # service type  private unpriv  chroot  wakeup  maxproc command + args
        127.0.0.1:{port} inet n - n - {maxConnections} smtpd
        pickup    unix  n       -       n       60      1       pickup
        cleanup   unix  n       -       n       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        rewrite   unix  -       -       n       -       -       trivial-rewrite
        bounce    unix  -       -       n       -       0       bounce
        defer     unix  -       -       n       -       0       bounce
        trace     unix  -       -       n       -       0       bounce
        verify    unix  -       -       n       -       1       verify
        flush     unix  n       -       n       1000?   0       flush
        proxymap  unix  -       -       n       -       -       proxymap
        showq     unix  n       -       n       -       -       showq
        error     unix  -       -       n       -       -       error
        retry     unix  -       -       n       -       -       error
        discard   unix  -       -       n       -       -       discard
        anvil     unix  -       -       n       -       1       anvil
        scache    unix  -       -       n       -       1       scache
        postlog   unix-dgram n  -       n       -       1       postlogd

        """;
}
