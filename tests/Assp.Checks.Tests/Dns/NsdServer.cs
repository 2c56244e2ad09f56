using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

using Assp.Dns;

namespace Assp.Checks.Tests.Dns;

/// <summary>
/// A private nsd (Debian's authoritative server) on 127.0.0.1 and a free port, serving the zones a test writes.
/// nsd was chosen because it is authoritative-only, starts in milliseconds without root, serves UDP and TCP from
/// plain zone files and truncates large UDP answers as a real server does. Failing to start is a test failure.
/// </summary>
public sealed class NsdServer : IDisposable
{
    private readonly Process _process;
    public string Directory { get; }
    public int Port { get; }
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public NsdServer(IReadOnlyDictionary<string, string> zones)
    {
        const string binary = "/usr/sbin/nsd";
        if (!File.Exists(binary))
            throw new InvalidOperationException("nsd is not installed: run scripts/install-test-deps.sh (apt-get install nsd)");
        Directory = Path.Combine(Path.GetTempPath(), "assp-nsd-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(Directory);
        // The free port can be taken by another process before nsd binds it: then try another one.
        for (int attempt = 1; ; attempt++)
        {
            Port = FreePort();
            var conf = new StringBuilder();
            conf.Append($"""
                server:
                  ip-address: 127.0.0.1@{Port}
                  port: {Port}
                  do-ip6: no
                  username: ""
                  chroot: ""
                  zonesdir: "{Directory}"
                  pidfile: "{Directory}/nsd.pid"
                  database: ""
                  zonelistfile: "{Directory}/zone.list"
                  xfrdfile: "{Directory}/xfrd.state"
                  xfrdir: "{Directory}"
                  logfile: "{Directory}/nsd.log"
                  server-count: 1
                  tcp-count: 200
                  verbosity: 1
                  hide-version: yes
                  rrl-ratelimit: 0
                  round-robin: no
                  minimal-responses: no
                remote-control:
                  control-enable: no

                """);
            foreach (var (zone, text) in zones)
            {
                File.WriteAllText(Path.Combine(Directory, zone + ".zone"), text);
                conf.Append($"zone:\n  name: \"{zone}\"\n  zonefile: \"{zone}.zone\"\n");
            }
            var confPath = Path.Combine(Directory, "nsd.conf");
            File.WriteAllText(confPath, conf.ToString());

            var psi = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-d");
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(confPath);
            _process = Process.Start(psi) ?? throw new InvalidOperationException("nsd did not start");
            _process.BeginErrorReadLine();
            _process.BeginOutputReadLine();
            try
            {
                WaitReady(zones.Keys.First());
                return;
            }
            catch (InvalidOperationException e) when (attempt < 5 && e.Message.Contains("already in use", StringComparison.Ordinal)) { }
        }
    }

    private void WaitReady(string zone)
    {
        var sw = Stopwatch.StartNew();
        using var udp = new UdpClient(AddressFamily.InterNetwork);
        udp.Connect(EndPoint);
        udp.Client.ReceiveTimeout = 200;
        var q = new byte[DnsMessageWriter.MaxQuerySize];
        int len = DnsMessageWriter.WriteQuery(q, 4242, zone, DnsRecordType.SOA, 0);
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"nsd exited with {_process.ExitCode}: {ReadLog()}");
            try
            {
                udp.Send(q, len);
                IPEndPoint? from = null;
                var answer = udp.Receive(ref from);
                if (answer.Length > 12) return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new InvalidOperationException("nsd did not answer within 10 s: " + ReadLog());
    }

    private string ReadLog()
    {
        var log = Path.Combine(Directory, "nsd.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no log)";
    }

    private static int FreePort()
    {
        // A port free for both UDP and TCP.
        for (int i = 0; i < 50; i++)
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
            try
            {
                using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("no free port");
    }

    /// <summary>A zone file with SOA (negative TTL <paramref name="negativeTtl"/>) and NS, then the given lines.</summary>
    public static string Zone(string origin, string records, int negativeTtl = 300) => $"""
        $ORIGIN {origin}.
        $TTL 3600
        @ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 {negativeTtl}
        @ IN NS ns.{origin}.
        ns IN A 127.0.0.1
        {records}

        """;

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, true);
        }
        catch (IOException)
        {
        }
    }
}
