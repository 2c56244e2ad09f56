using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Checks.Tests.Virus;

/// <summary>
/// A private clamd (Debian's clamav-daemon) on a unix socket in a temp folder and on 127.0.0.1 at a free port, with
/// a signature database written here: the EICAR test string and a test pattern reported with a "Heuristics" name.
/// No freshclam, no system service. clamd needs some seconds to start, so a test class starts one and shares it.
/// Failing to start is a test failure.
/// </summary>
public sealed class ClamdServer : IDisposable
{
    public const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    /// <summary>Text that the database reports as <see cref="SuspiciousName"/>.</summary>
    public const string SuspiciousPattern = "ASSP-SUSPICIOUS-TEST-PATTERN-7d1f";
    public const string EicarName = "Eicar-Test-Signature";
    public const string SuspiciousName = "Heuristics.Assp.TestPattern";

    private Process? _process;
    public string Directory { get; }
    public string SocketPath { get; }
    public int Port { get; }

    public ClamdServer()
    {
        const string binary = "/usr/sbin/clamd";
        if (!File.Exists(binary))
            throw new InvalidOperationException("clamd is not installed: run scripts/install-test-deps.sh (apt-get install clamav-daemon)");
        Directory = Path.Combine(Path.GetTempPath(), "assp-clamd-" + Guid.NewGuid().ToString("N")[..10]);
        var db = Path.Combine(Directory, "db");
        System.IO.Directory.CreateDirectory(db);
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "tmp"));
        SocketPath = Path.Combine(Directory, "clamd.sock");
        Port = FreePort();
        // .ndb: Name:TargetType(0 = any):Offset(* = anywhere):hex of the bytes.
        File.WriteAllText(Path.Combine(db, "assp-test.ndb"),
            $"{EicarName}:0:*:{Convert.ToHexStringLower(Encoding.ASCII.GetBytes(Eicar))}\n"
            + $"{SuspiciousName}:0:*:{Convert.ToHexStringLower(Encoding.ASCII.GetBytes(SuspiciousPattern))}\n");
        File.WriteAllText(Path.Combine(Directory, "clamd.conf"), $"""
            Foreground yes
            LocalSocket {SocketPath}
            TCPSocket {Port}
            TCPAddr 127.0.0.1
            DatabaseDirectory {db}
            TemporaryDirectory {Path.Combine(Directory, "tmp")}
            LogFile {Path.Combine(Directory, "clamd.log")}
            PidFile {Path.Combine(Directory, "clamd.pid")}
            StreamMaxLength 2M
            MaxThreads 4
            Bytecode no
            OfficialDatabaseOnly no

            """);
        Start();
    }

    public void Start()
    {
        if (_process is { HasExited: false }) return;
        var psi = new ProcessStartInfo("/usr/sbin/clamd") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("--config-file=" + Path.Combine(Directory, "clamd.conf"));
        _process = Process.Start(psi) ?? throw new InvalidOperationException("clamd did not start");
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"clamd exited with {_process.ExitCode}: {ReadLog()}");
            if (Pong()) return;
            Thread.Sleep(100);
        }
        throw new InvalidOperationException("clamd did not answer PING within 90 s: " + ReadLog());
    }

    /// <summary>Stops clamd (to test what happens when it is down); <see cref="Start"/> brings it back.</summary>
    public void Stop()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10000);
        try { File.Delete(SocketPath); } catch (IOException) { }
    }

    private bool Pong()
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(new IPEndPoint(IPAddress.Loopback, Port));
            s.Send("zPING\0"u8);
            var buf = new byte[16];
            s.ReceiveTimeout = 2000;
            int n = s.Receive(buf);
            return n >= 4 && Encoding.ASCII.GetString(buf, 0, 4) == "PONG" && File.Exists(SocketPath);
        }
        catch (SocketException) { return false; }
    }

    private string ReadLog()
    {
        try { return File.ReadAllText(Path.Combine(Directory, "clamd.log")); } catch (IOException) { return ""; }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        Stop();
        _process?.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
