using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;

// Real Postfix needs Linux (and root), so the whole end-to-end assembly does.
[assembly: SupportedOSPlatform("linux")]

namespace Assp.EndToEnd.Tests.Infrastructure;

/// <summary>How a <see cref="PostfixInstance"/> is configured beyond its defaults.</summary>
public sealed record PostfixOptions
{
    /// <summary>main.cf lines appended last, so they override the fixture's own settings.</summary>
    public string? ExtraMainCf { get; init; }

    /// <summary>Offer STARTTLS with a self-signed certificate made by openssl for this instance.</summary>
    public bool EnableTls { get; init; }

    /// <summary>Offer SMTP AUTH PLAIN/LOGIN for <see cref="PostfixInstance.AuthUser"/>/<see cref="PostfixInstance.AuthPassword"/>.</summary>
    public bool EnableAuth { get; init; }

    /// <summary>
    /// Recipients matching this get "550 5.1.1" at RCPT. It is a Postfix regexp table pattern: POSIX extended
    /// syntax (no \d; use [0-9]), matched case-insensitively against the bare address (no angle brackets).
    /// </summary>
    public string? RejectRecipientsRegex { get; init; }

    /// <summary>Postfix message_size_limit in bytes: larger messages get 552.</summary>
    public int? MessageSizeLimit { get; init; }

    /// <summary>How long start may take until the port answers 220.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>A message Postfix delivered into the capture folder.</summary>
/// <param name="Sender">Envelope sender as delivered; empty for the null sender &lt;&gt;.</param>
/// <param name="Recipients">Envelope recipients of this delivery.</param>
/// <param name="Raw">The message as delivered (Postfix's Received header included), with LF line ends.</param>
public sealed record CapturedMessage(string Sender, IReadOnlyList<string> Recipients, byte[] Raw)
{
    public string Text => Encoding.UTF8.GetString(Raw);
}

/// <summary>Postfix did not come up; the message carries its output and log.</summary>
public sealed class PostfixStartException(string message) : Exception(message);

/// <summary>
/// A private Postfix instance for end-to-end tests: own config, queue and data directories under a fresh temp
/// folder, listening only on 127.0.0.1 on a free port, delivering every message for any domain into a folder
/// (a pipe(8) transport running a small script) and never off the machine. It neither uses nor disturbs the
/// system instance in /etc/postfix. Needs root and the packages of scripts/install-test-deps.sh.
/// </summary>
public sealed class PostfixInstance : IAsyncDisposable
{
    public const string AuthUser = "testuser";
    public const string AuthPassword = "testpass";

    /// <summary>Postfix's myhostname: in its banner and Received header.</summary>
    public const string HostName = "postfix.assp-e2e.test";

    private const string Domain = "assp-e2e.test";
    private const string PostfixPath = "/usr/sbin/postfix";
    private const string SaslPasswdPath = "/usr/sbin/saslpasswd2";
    private const string OpensslPath = "/usr/bin/openssl";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    // Ports of live instances in this process: a port released by "bind 0" may be handed out again.
    private static readonly HashSet<int> PortsInUse = [];
    private static readonly ConcurrentDictionary<PostfixInstance, byte> Live = new();
    private static readonly Lazy<Task> OrphanSweep = new(SweepOrphansAsync);
    private const string DirectoryPrefix = "assp-postfix-";
    private const string OwnerFileName = "owner.pid";

    private readonly string _configDirectory;
    private readonly string _queueDirectory;
    private readonly ConcurrentDictionary<string, CapturedMessage> _captured = new(StringComparer.Ordinal);
    private int _stopped;
    private bool _startRun;

    static PostfixInstance()
    {
        // A test run that forgets to dispose, or is cancelled, must not leave master daemons behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var instance in Live.Keys)
            {
                try { instance.StopAsync().GetAwaiter().GetResult(); }
                catch (Exception) { /* best effort at exit */ }
            }
        };
    }

    private PostfixInstance(string root, int port, PostfixOptions options)
    {
        RootDirectory = root;
        Port = port;
        Options = options;
        _configDirectory = Path.Combine(root, "etc");
        _queueDirectory = Path.Combine(root, "spool");
        CaptureDirectory = Path.Combine(root, "capture");
        LogFile = Path.Combine(root, "maillog");
        TlsCertificateFile = options.EnableTls ? Path.Combine(_configDirectory, "tls", "cert.pem") : null;
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public PostfixOptions Options { get; }

    /// <summary>The instance's temp folder; deleted on dispose.</summary>
    public string RootDirectory { get; }

    /// <summary>Where delivered messages land: &lt;id&gt;.eml plus &lt;id&gt;.envelope.</summary>
    public string CaptureDirectory { get; }

    /// <summary>Postfix's own log (maillog_file via postlogd), readable without syslog.</summary>
    public string LogFile { get; }

    /// <summary>The self-signed server certificate (PEM) when <see cref="PostfixOptions.EnableTls"/>.</summary>
    public string? TlsCertificateFile { get; }

    /// <summary>PID of this instance's master daemon once started.</summary>
    public int? MasterProcessId { get; private set; }

    public static async Task<PostfixInstance> StartAsync(PostfixOptions? options = null, CancellationToken ct = default)
    {
        options ??= new PostfixOptions();
        Validate(options);
        if (!Environment.IsPrivilegedProcess)
            throw new PostfixStartException("A private Postfix instance needs root (its master runs as root).");
        if (!File.Exists(PostfixPath))
            throw new PostfixStartException($"{PostfixPath} is missing: run scripts/install-test-deps.sh as root.");

        // The free port is found by bind-0-then-release, so another process may take it first: try again then.
        for (int attempt = 1; ; attempt++)
        {
            var instance = await CreateAsync(options, ct).ConfigureAwait(false);
            try
            {
                await instance.StartPostfixAsync(ct).ConfigureAwait(false);
                return instance;
            }
            catch (PostfixStartException e) when (attempt < 3 && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                await instance.StopAsync().ConfigureAwait(false);
            }
            catch
            {
                await instance.StopAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> messages were delivered and returns all so far, in delivery order.</summary>
    public async Task<IReadOnlyList<CapturedMessage>> WaitForMessagesAsync(int count, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var messages = GetCapturedMessages();
            if (messages.Count >= count) return messages;
            if (deadline.Elapsed >= timeout)
            {
                throw new TimeoutException(
                    $"Postfix on port {Port} delivered {messages.Count} of {count} expected message(s) within {timeout}.\n" +
                    $"--- Postfix log ({LogFile}) ---\n{ReadLog()}");
            }
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Messages delivered so far, in delivery order.</summary>
    public IReadOnlyList<CapturedMessage> GetCapturedMessages()
    {
        if (!Directory.Exists(CaptureDirectory)) return [];
        var files = Directory.GetFiles(CaptureDirectory, "*.eml");
        Array.Sort(files, StringComparer.Ordinal); // names start with a fixed-width nanosecond timestamp
        var result = new List<CapturedMessage>(files.Length);
        foreach (var file in files)
            result.Add(_captured.GetOrAdd(file, ReadCaptured));
        return result;
    }

    public string ReadLog()
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (IOException e)
        {
            return $"(no log: {e.Message})";
        }
    }

    /// <summary>Stops this instance (postfix stop, then waits for its master to exit) and deletes its folder. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        Live.TryRemove(this, out _);
        try
        {
            // Stop even without a known PID: a start that failed half-way may have left a master behind.
            if (_startRun) await StopMasterAsync(RootDirectory, MasterProcessId).ConfigureAwait(false);
        }
        finally
        {
            lock (PortsInUse) PortsInUse.Remove(Port);
            await DeleteDirectoryAsync(RootDirectory).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    public override string ToString() => $"Postfix {Host}:{Port} ({RootDirectory})";

    private static void Validate(PostfixOptions options)
    {
        if (options.StartTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), "StartTimeout must be positive.");
        if (options.MessageSizeLimit is <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), "MessageSizeLimit must be positive.");
        if (options.RejectRecipientsRegex is { } regex && (regex.Length == 0 || regex.Contains('\n', StringComparison.Ordinal) || regex.Contains('\r', StringComparison.Ordinal)))
            throw new ArgumentException("RejectRecipientsRegex must be one non-empty line.", nameof(options));
    }

    private static async Task<PostfixInstance> CreateAsync(PostfixOptions options, CancellationToken ct)
    {
        await OrphanSweep.Value.ConfigureAwait(false);
        var root = Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        // First thing in the folder, so a sweep by a later run can tell whether its owner is still alive.
        await File.WriteAllTextAsync(Path.Combine(root, OwnerFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
        var instance = new PostfixInstance(root, ReservePort(), options);
        Live.TryAdd(instance, 0);
        try
        {
            await instance.WriteConfigurationAsync(ct).ConfigureAwait(false);
            return instance;
        }
        catch
        {
            await instance.StopAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static int ReservePort()
    {
        lock (PortsInUse)
        {
            while (true)
            {
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                if (PortsInUse.Add(port)) return port;
            }
        }
    }

    private async Task WriteConfigurationAsync(CancellationToken ct)
    {
        // CreateTempSubdirectory makes 0700; the postfix user and the pipe's nobody must get through.
        const UnixFileMode rwxr_xr_x = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        const UnixFileMode rwxrwxrwx = rwxr_xr_x | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        File.SetUnixFileMode(RootDirectory, rwxr_xr_x);
        Directory.CreateDirectory(_configDirectory, rwxr_xr_x);
        // Root-owned like the real one; postfix start (post-install) makes its subdirectories and data_directory with their owners.
        Directory.CreateDirectory(_queueDirectory, rwxr_xr_x);
        foreach (var dir in new[] { CaptureDirectory, Path.Combine(CaptureDirectory, "tmp") })
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, rwxrwxrwx); // the capture script runs as nobody
        }

        var captureScript = Path.Combine(_configDirectory, "capture.sh");
        await File.WriteAllTextAsync(captureScript, CaptureScript, ct).ConfigureAwait(false);
        File.SetUnixFileMode(captureScript, rwxr_xr_x);

        var main = new StringBuilder(MainCf(RootDirectory, _queueDirectory, Port));
        if (Options.MessageSizeLimit is int limit)
            main.Append(CultureInfo.InvariantCulture, $"message_size_limit = {limit}\n");

        if (Options.RejectRecipientsRegex is { } regex)
        {
            var table = Path.Combine(_configDirectory, "reject_recipients.regexp");
            await File.WriteAllTextAsync(table, $"/{regex.Replace("/", "\\/", StringComparison.Ordinal)}/ 550 5.1.1 Recipient address rejected by test policy\n", ct).ConfigureAwait(false);
            main.Append(CultureInfo.InvariantCulture, $"smtpd_recipient_restrictions = check_recipient_access regexp:{table}, permit\n");
        }

        if (Options.EnableTls) main.Append(await CreateTlsAsync(ct).ConfigureAwait(false));
        if (Options.EnableAuth) main.Append(await CreateSaslAsync(ct).ConfigureAwait(false));
        if (Options.ExtraMainCf is { } extra) main.Append("# ExtraMainCf\n").Append(extra).Append('\n');

        await File.WriteAllTextAsync(Path.Combine(_configDirectory, "main.cf"), main.ToString(), ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(_configDirectory, "master.cf"), MasterCf(Port, captureScript, CaptureDirectory), ct).ConfigureAwait(false);
    }

    private async Task<string> CreateTlsAsync(CancellationToken ct)
    {
        var dir = Path.Combine(_configDirectory, "tls");
        Directory.CreateDirectory(dir);
        var key = Path.Combine(dir, "key.pem");
        var (exit, output) = await RunAsync(OpensslPath,
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", key, "-out", TlsCertificateFile!,
             "-subj", "/CN=" + HostName, "-addext", $"subjectAltName=DNS:{HostName},DNS:localhost,IP:127.0.0.1"],
            stdin: null, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        if (exit != 0) throw new PostfixStartException($"openssl could not make the test certificate (exit {exit}):\n{output}");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite); // smtpd reads it as root
        return $"""
            smtpd_tls_security_level = may
            smtpd_tls_cert_file = {TlsCertificateFile}
            smtpd_tls_key_file = {key}
            smtpd_tls_loglevel = 1
            smtpd_tls_received_header = yes
            smtpd_tls_session_cache_database =

            """;
    }

    // Cyrus SASL with a private sasldb (Debian packages libsasl2-modules for PLAIN/LOGIN, libsasl2-modules-db
    // for sasldb, sasl2-bin for saslpasswd2): no saslauthd or Dovecot daemon to run and stop per instance.
    private async Task<string> CreateSaslAsync(CancellationToken ct)
    {
        if (!File.Exists(SaslPasswdPath))
            throw new PostfixStartException($"{SaslPasswdPath} is missing (package sasl2-bin): run scripts/install-test-deps.sh as root.");
        var dir = Path.Combine(_configDirectory, "sasl");
        Directory.CreateDirectory(dir);
        var db = Path.Combine(dir, "sasldb2");
        var (exit, output) = await RunAsync(SaslPasswdPath, ["-p", "-c", "-f", db, "-u", Domain, AuthUser],
            stdin: AuthPassword, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        if (exit != 0 || !File.Exists(db))
            throw new PostfixStartException($"saslpasswd2 could not make {db} (exit {exit}):\n{output}");
        // smtpd reads the db after dropping to the postfix user.
        File.SetUnixFileMode(db, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await File.WriteAllTextAsync(Path.Combine(dir, "smtpd.conf"), $"""
            pwcheck_method: auxprop
            auxprop_plugin: sasldb
            mech_list: PLAIN LOGIN
            sasldb_path: {db}

            """, ct).ConfigureAwait(false);
        return $"""
            smtpd_sasl_auth_enable = yes
            smtpd_sasl_type = cyrus
            smtpd_sasl_path = smtpd
            cyrus_sasl_config_path = {dir}
            smtpd_sasl_local_domain = {Domain}
            smtpd_sasl_security_options = noanonymous
            smtpd_tls_auth_only = no

            """;
    }

    private async Task StartPostfixAsync(CancellationToken ct)
    {
        var startTimeout = Options.StartTimeout;
        var deadline = Stopwatch.StartNew();
        _startRun = true;
        // `postfix start` itself may take long on a loaded machine; StartTimeout is for the 220 that should follow.
        var commandTimeout = startTimeout > TimeSpan.FromSeconds(60) ? startTimeout : TimeSpan.FromSeconds(60);
        var (exit, output) = await RunPostfixAsync("start", commandTimeout, ct).ConfigureAwait(false);
        if (exit != 0)
            throw new PostfixStartException($"postfix start failed (exit {exit}) for {this}:\n{output}\n--- Postfix log ({LogFile}) ---\n{ReadLog()}");
        MasterProcessId = await ReadMasterPidAsync(RootDirectory).ConfigureAwait(false);

        deadline.Restart();
        string? lastProblem = null;
        while (deadline.Elapsed < startTimeout)
        {
            ct.ThrowIfCancellationRequested();
            lastProblem = await ProbeBannerAsync(ct).ConfigureAwait(false);
            if (lastProblem is null) return;
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
        throw new PostfixStartException(
            $"Postfix did not answer 220 on {Host}:{Port} within {startTimeout.TotalSeconds:0.#} s (last: {lastProblem}).\n" +
            $"postfix start said:\n{output}\n--- Postfix log ({LogFile}) ---\n{ReadLog()}");
    }

    /// <summary>Null when the port answered 220, else what went wrong.</summary>
    private async Task<string?> ProbeBannerAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            using var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII, false, 1024, leaveOpen: true);
            var line = await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            if (line is null || !line.StartsWith("220", StringComparison.Ordinal)) return $"banner was '{line}'";
            await stream.WriteAsync("QUIT\r\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return e.Message;
        }
    }

    private Task<(int Exit, string Output)> RunPostfixAsync(string command, TimeSpan timeout, CancellationToken ct = default) =>
        RunPostfixAsync(RootDirectory, command, timeout, ct);

    private static Task<(int Exit, string Output)> RunPostfixAsync(string root, string command, TimeSpan timeout, CancellationToken ct = default)
    {
        // Through a shell with output to a file: the master daemon the command leaves behind must not hold
        // pipes of ours open (reading them to the end would then never finish).
        var outFile = Path.Combine(root, $"postfix-{command}.out");
        return RunAsync("/bin/sh",
            ["-c", "exec \"$0\" -c \"$1\" \"$2\" >\"$3\" 2>&1 </dev/null", PostfixPath, Path.Combine(root, "etc"), command, outFile],
            stdin: null, timeout, ct, outputFile: outFile);
    }

    /// <summary>postfix stop, then waits for the master to be gone (killing it if it will not go).</summary>
    private static async Task StopMasterAsync(string root, int? knownPid)
    {
        int? masterPid = knownPid ?? await ReadMasterPidAsync(root).ConfigureAwait(false);
        await RunPostfixAsync(root, "stop", StopTimeout).ConfigureAwait(false);
        if (masterPid is not int pid) return;
        // The master leads a process group of its daemons; idle smtpd processes hold the listening socket too,
        // so the port is only truly free once the whole group is gone.
        var waited = Stopwatch.StartNew();
        while (ProcessGroup(pid).Count > 0 && waited.Elapsed < StopTimeout) await Task.Delay(50).ConfigureAwait(false);
        foreach (var straggler in ProcessGroup(pid))
        {
            // Ones that ignore stop would keep the folder and port busy for the rest of the run.
            try { Process.GetProcessById(straggler).Kill(); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { }
        }
    }

    /// <summary>Live (non-zombie) processes whose process group is <paramref name="pgid"/>.</summary>
    private static List<int> ProcessGroup(int pgid)
    {
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            try
            {
                // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 2 && fields[0] != "Z" && fields[2] == pgid.ToString(CultureInfo.InvariantCulture)) members.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return members;
    }

    /// <summary>
    /// Stops and deletes instances left by test processes that died without disposing (killed, crashed
    /// debugger sessions): their masters would otherwise run on until the machine restarts.
    /// </summary>
    private static async Task SweepOrphansAsync()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            try
            {
                var ownerFile = Path.Combine(dir, OwnerFileName);
                if (!File.Exists(ownerFile)) continue;
                if (int.TryParse(File.ReadAllText(ownerFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int owner) && IsAlive(owner))
                    continue;
                if (File.Exists(Path.Combine(dir, "etc", "main.cf"))) await StopMasterAsync(dir, null).ConfigureAwait(false);
                await DeleteDirectoryAsync(dir).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Someone else's or already gone: not this run's business.
            }
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, IReadOnlyList<string> args, string? stdin,
        TimeSpan timeout, CancellationToken ct, string? outputFile = null)
    {
        var info = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = outputFile is null,
            RedirectStandardError = outputFile is null,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new PostfixStartException($"could not start {file}");
        Task<string> stdout = outputFile is null ? process.StandardOutput.ReadToEndAsync(ct) : Task.FromResult("");
        Task<string> stderr = outputFile is null ? process.StandardError.ReadToEndAsync(ct) : Task.FromResult("");
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            if (ct.IsCancellationRequested) throw;
            return (-1, $"{file} {string.Join(' ', args)} timed out after {timeout}");
        }
        var output = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
        if (outputFile is not null && File.Exists(outputFile)) output = await File.ReadAllTextAsync(outputFile, ct).ConfigureAwait(false);
        return (process.ExitCode, output);
    }

    private static async Task<int?> ReadMasterPidAsync(string root)
    {
        // Not File.ReadAllText: .NET takes a shared flock to read, which the master's exclusive flock on its PID file refuses.
        var (exit, text) = await RunAsync("/bin/cat", [Path.Combine(root, "spool", "pid", "master.pid")],
            stdin: null, TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
        return exit == 0 && int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            // The daemonized master is not our child; if nothing reaps it, it lingers as a zombie: that is gone too.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] != 'Z';
        }
        catch (IOException) { return false; }
    }

    private static async Task DeleteDirectoryAsync(string path)
    {
        for (int attempt = 0; attempt < 20 && Directory.Exists(path); attempt++)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Task.Delay(100).ConfigureAwait(false); // a delivery agent may still be finishing
            }
        }
    }

    private CapturedMessage ReadCaptured(string emlFile)
    {
        var envelope = Path.ChangeExtension(emlFile, ".envelope");
        string sender = "";
        var recipients = new List<string>();
        foreach (var line in File.ReadAllLines(envelope))
        {
            if (line.StartsWith("S=", StringComparison.Ordinal)) sender = line[2..];
            else if (line.StartsWith("R=", StringComparison.Ordinal)) recipients.Add(line[2..]);
        }
        return new CapturedMessage(sender, recipients, File.ReadAllBytes(emlFile));
    }

    // pipe(8) runs it as nobody with the message on stdin. Envelope first, message last, each renamed into place,
    // so a reader that sees <id>.eml also sees a whole <id>.envelope. 75 (EX_TEMPFAIL) makes Postfix retry, not bounce.
    private const string CaptureScript = """
        #!/bin/sh
        umask 022
        dir=$1; shift
        id=$(date +%s%N)-$$
        { for a in "$@"; do printf '%s\n' "$a"; done; } > "$dir/tmp/$id.envelope" || exit 75
        cat > "$dir/tmp/$id.eml" || exit 75
        mv "$dir/tmp/$id.envelope" "$dir/$id.envelope" || exit 75
        mv "$dir/tmp/$id.eml" "$dir/$id.eml" || exit 75
        exit 0

        """;

    private static string MainCf(string root, string queueDirectory, int port) => $"""
        # Private test instance written by PostfixInstance; nothing here refers to /etc/postfix.
        compatibility_level = 3.6
        queue_directory = {queueDirectory}
        data_directory = {Path.Combine(root, "data")}
        syslog_name = postfix-e2e-{port}
        maillog_file = {Path.Combine(root, "maillog")}
        maillog_file_prefixes = {root}
        myhostname = {HostName}
        mydomain = {Domain}
        myorigin = $myhostname
        inet_interfaces = 127.0.0.1
        inet_protocols = ipv4
        smtp_bind_address = 127.0.0.1
        mynetworks = 127.0.0.0/8
        smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
        # Every address is remote and goes to the capture transport; one fixed nexthop keeps all
        # recipients of a message in one delivery.
        mydestination =
        relay_domains =
        default_transport = capture:capture
        relay_transport = capture:capture
        local_transport = capture:capture
        virtual_transport = capture:capture
        capture_destination_recipient_limit = 1000
        alias_maps =
        alias_database =
        # No DNS: the client's name is not looked up, and nothing is ever sent by SMTP.
        smtpd_peername_lookup = no
        smtp_dns_support_level = disabled
        biff = no
        append_dot_mydomain = no
        mailbox_size_limit = 0
        # Rejections are what tests provoke: answer them at once.
        smtpd_error_sleep_time = 0
        smtpd_soft_error_limit = 1000
        smtpd_hard_error_limit = 1000
        smtpd_junk_command_limit = 1000
        smtpd_client_connection_count_limit = 0
        smtpd_client_connection_rate_limit = 0
        in_flow_delay = 0
        delay_warning_time = 0

        """;

    private static string MasterCf(int port, string captureScript, string captureDirectory) => $$"""
        # service type  private unpriv  chroot  wakeup  maxproc command + args
        127.0.0.1:{{port}} inet n - n - - smtpd
        pickup    unix  n       -       n       60      1       pickup
        cleanup   unix  n       -       n       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        tlsmgr    unix  -       -       n       1000?   1       tlsmgr
        rewrite   unix  -       -       n       -       -       trivial-rewrite
        bounce    unix  -       -       n       -       0       bounce
        defer     unix  -       -       n       -       0       bounce
        trace     unix  -       -       n       -       0       bounce
        verify    unix  -       -       n       -       1       verify
        flush     unix  n       -       n       1000?   0       flush
        proxymap  unix  -       -       n       -       -       proxymap
        proxywrite unix -       -       n       -       1       proxymap
        smtp      unix  -       -       n       -       -       smtp
        relay     unix  -       -       n       -       -       smtp
        showq     unix  n       -       n       -       -       showq
        error     unix  -       -       n       -       -       error
        retry     unix  -       -       n       -       -       error
        discard   unix  -       -       n       -       -       discard
        anvil     unix  -       -       n       -       1       anvil
        scache    unix  -       -       n       -       1       scache
        postlog   unix-dgram n  -       n       -       1       postlogd
        capture   unix  -       n       n       -       -       pipe
          user=nobody null_sender= argv={{captureScript}} {{captureDirectory}} S=${sender} R=${recipient}

        """;
}
