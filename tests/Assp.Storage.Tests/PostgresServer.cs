using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Assp.Storage.Tests;

/// <summary>
/// A private PostgreSQL 15 cluster (Debian's binaries) in a temp folder, listening on 127.0.0.1 and a free port,
/// its socket in the same folder. PostgreSQL refuses to run as root, so under root (CI, the sandbox) the cluster
/// belongs to and runs as "nobody" (through runuser). Password authentication over TCP with user "assp" and
/// password <see cref="Password"/>. It can be stopped hard (like a crash) and started again on the same port and
/// data. Failing to start is a test failure.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    public const string User = "assp";
    public const string Password = "pg-secret";
    private static readonly string BinDir = FindBinDir();
    private readonly bool _asNobody = Environment.UserName == "root";
    private int _databases;

    public string Folder { get; }
    public string DataDir => Path.Combine(Folder, "data");
    public int Port { get; }

    public PostgresServer()
    {
        Folder = Path.Combine(Path.GetTempPath(), "assp-pg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Folder);
        File.WriteAllText(Path.Combine(Folder, "pwfile"), Password + "\n");
        if (_asNobody) Run("/bin/chown", $"-R nobody {Folder}", asNobody: false);
        Port = FreePort();
        Run(Path.Combine(BinDir, "initdb"),
            $"-D {DataDir} -U {User} --pwfile={Folder}/pwfile --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync",
            _asNobody);
        Start();
    }

    /// <summary>Starts the cluster (again) and waits until it accepts connections.</summary>
    public void Start() =>
        Run(Path.Combine(BinDir, "pg_ctl"),
            $"-D {DataDir} -l {Folder}/server.log -w -t 30 start -o \"-h 127.0.0.1 -p {Port} -k {Folder} -c fsync=off -c max_connections=200\"",
            _asNobody);

    /// <summary>Stops it like a crash: every backend is killed at once, connections drop.</summary>
    public void Kill() => Run(Path.Combine(BinDir, "pg_ctl"), $"-D {DataDir} -m immediate -w stop", _asNobody);

    /// <summary>Creates a fresh database and returns its name.</summary>
    public string CreateDatabase()
    {
        string name = $"assp_test_{Interlocked.Increment(ref _databases)}";
        Run(Path.Combine(BinDir, "createdb"), $"-h {Folder} -p {Port} -U {User} {name}", _asNobody);
        return name;
    }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Database={database};Username={User};Password={Password};Timeout=5";

    public void Dispose()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string FindBinDir()
    {
        var dir = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault()
            : null;
        return dir ?? throw new InvalidOperationException(
            "PostgreSQL server binaries are not installed: run scripts/install-test-deps.sh (apt-get install postgresql)");
    }

    private static void Run(string file, string args, bool asNobody)
    {
        var psi = asNobody
            ? new ProcessStartInfo("/usr/sbin/runuser", $"-u nobody -- {file} {args}")
            : new ProcessStartInfo(file, args);
        psi.RedirectStandardError = true;
        psi.RedirectStandardOutput = true;
        psi.UseShellExecute = false;
        psi.WorkingDirectory = "/";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(true);
            throw new InvalidOperationException($"{file} {args} did not finish");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
