using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Assp.Checks.Tests.Recipients;

/// <summary>
/// A private OpenLDAP slapd (Debian's) on 127.0.0.1 and a free port, configured by a slapd.conf of its own
/// (mdb backend, core/cosine/inetorgperson schemas, suffix dc=example,dc=test, rootdn cn=admin with password
/// "secret") and loaded with a test directory through ldapadd. People are inetOrgPerson entries with a mail
/// attribute. It can be stopped and started again on the same port and data. Failing to start is a test failure.
/// </summary>
public sealed class SlapdServer : IDisposable
{
    public const string Suffix = "dc=example,dc=test";
    public const string AdminDn = "cn=admin,dc=example,dc=test";
    public const string AdminPassword = "secret";

    private Process? _process;
    public string Directory { get; }
    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";

    public SlapdServer(IEnumerable<(string Uid, string Mail)> people)
    {
        const string binary = "/usr/sbin/slapd";
        if (!File.Exists(binary) || !File.Exists("/usr/bin/ldapadd"))
            throw new InvalidOperationException("slapd/ldap-utils are not installed: run scripts/install-test-deps.sh (apt-get install slapd ldap-utils)");
        Directory = Path.Combine(Path.GetTempPath(), "assp-slapd-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "db"));
        Port = FreePort();
        File.WriteAllText(Path.Combine(Directory, "slapd.conf"), $"""
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            pidfile {Directory}/slapd.pid
            modulepath /usr/lib/ldap
            moduleload back_mdb
            database mdb
            maxsize 10485760
            suffix "{Suffix}"
            rootdn "{AdminDn}"
            rootpw {AdminPassword}
            directory {Directory}/db

            """);
        var ldif = new System.Text.StringBuilder($"dn: {Suffix}\nobjectClass: dcObject\nobjectClass: organization\no: test\ndc: example\n\n");
        foreach (var (uid, mail) in people)
            ldif.Append($"dn: uid={uid},{Suffix}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nmail: {mail}\n\n");
        File.WriteAllText(Path.Combine(Directory, "data.ldif"), ldif.ToString());
        Start();
        Run("/usr/bin/ldapadd", $"-x -H ldap://127.0.0.1:{Port} -D {AdminDn} -w {AdminPassword} -f {Directory}/data.ldif");
    }

    public void Start()
    {
        _process = Process.Start(new ProcessStartInfo("/usr/sbin/slapd", $"-d 0 -f {Directory}/slapd.conf -h ldap://127.0.0.1:{Port}/")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("slapd did not start");
        _process.ErrorDataReceived += (_, _) => { };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            if (_process.HasExited) throw new InvalidOperationException($"slapd exited with {_process.ExitCode}");
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new InvalidOperationException("slapd did not listen within 20 s");
    }

    /// <summary>Stops slapd (the data stays); lookups then fail as with a directory that is down.</summary>
    public void Stop()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        _process = null;
    }

    private static void Run(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {err.Result}");
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
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
