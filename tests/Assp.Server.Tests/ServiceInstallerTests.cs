using System.Net.Sockets;
using System.Text;
using Assp.Config.Files;

namespace Assp.Server.Tests;

public sealed class ServiceInstallerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-installer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("/usr/bin/assp", "/usr/bin/assp")]
    [InlineData("/opt/my assp/assp", "\"/opt/my assp/assp\"")]
    [InlineData("/srv/100%/a$HOME", "/srv/100%%/a$$HOME")]
    [InlineData("/srv/say \"hi\"", "\"/srv/say \\\"hi\\\"\"")]
    public void ExecStart_arguments_are_quoted_and_escaped_for_systemd(string value, string expected) =>
        Assert.Equal(expected, ServiceInstaller.QuoteArgument(value));

    [Fact]
    public void The_unit_runs_the_binary_on_the_base_and_a_dll_through_dotnet()
    {
        var unit = ServiceInstaller.RenderUnit(ServiceInstaller.CommandFor("/usr/bin/assp"), "/var/lib/assp");
        Assert.Contains("\nExecStart=/usr/bin/assp run --base /var/lib/assp\n", unit);
        Assert.Contains("\nType=notify\n", unit);
        Assert.Contains("\nExecReload=/bin/kill -HUP $MAINPID\n", unit);
        Assert.Contains("\nTimeoutStopSec=45\n", unit);
        Assert.Contains("\nRestart=on-failure\n", unit);
        Assert.Contains("\nWantedBy=multi-user.target\n", unit);

        var dll = ServiceInstaller.RenderUnit(ServiceInstaller.CommandFor("/opt/assp/assp.dll"), "/srv/assp data");
        Assert.Matches(@"\nExecStart=\S*dotnet /opt/assp/assp\.dll run --base ""/srv/assp data""\n", dll);
        Assert.Contains("\nReadWritePaths=\"-/srv/assp data\"\n", dll);
        Assert.Contains("\nWorkingDirectory=-/srv/assp data\n", dll);
    }

    [Fact]
    public async Task Init_creates_the_base_once_and_changes_only_runAsUser_and_runAsGroup_of_an_existing_assp_cfg()
    {
        var output = new StringWriter();
        Assert.Equal(0, await Cli.RunAsync(["init", "--base", _dir], output, new StringWriter()));
        Assert.Contains("Prepared base folder", output.ToString());
        var cfgPath = Path.Combine(_dir, "assp.cfg");
        var cfg = AsspConfigFile.Load(cfgPath);
        Assert.Equal("1", cfg.Get("AutoReloadCfg"));
        Assert.Equal("", cfg.Get("runAsUser"));

        // An admin's edit survives; only the two lines change (root exists everywhere, its group is root or wheel).
        cfg.Set("myName", "mx.example.org");
        cfg.Save(cfgPath);
        var before = File.ReadAllLines(cfgPath);
        output = new StringWriter();
        Assert.Equal(0, await Cli.RunAsync(["init", "--base", _dir, "--user", "root"], output, new StringWriter()));
        var after = File.ReadAllLines(cfgPath);
        Assert.Equal(before.Length, after.Length);
        var changed = before.Zip(after).Where(p => p.First != p.Second).Select(p => p.Second).ToList();
        Assert.Equal(2, changed.Count);
        Assert.Contains("runAsUser:=root", changed);
        Assert.Contains(after, l => l == "myName:=mx.example.org");
        Assert.Contains("nothing created", output.ToString());

        var missing = new StringWriter();
        Assert.Equal(1, await Cli.RunAsync(["init", "--base", _dir, "--user", "no-such-user-" + Guid.NewGuid().ToString("N")[..8]], missing, new StringWriter()));
        Assert.Contains("no user", missing.ToString());
    }

    [Fact]
    public void Notify_does_nothing_without_NOTIFY_SOCKET()
    {
        Assert.Null(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));
        Assert.False(SystemdNotify.Notify("READY=1"));
    }

    [Fact]
    public void Notify_sends_one_datagram_to_a_path_socket_and_to_an_abstract_one()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "notify");
        var abstractName = "@assp-notify-test-" + Guid.NewGuid().ToString("N");
        foreach (var (address, endPoint) in new[] { (path, path), (abstractName, "\0" + abstractName[1..]) })
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Bind(new UnixDomainSocketEndPoint(endPoint));
            socket.ReceiveTimeout = 5000;
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", address);
            try
            {
                Assert.True(SystemdNotify.Notify("READY=1\nSTATUS=test"));
            }
            finally
            {
                Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
            }
            // Another test's proxy may notify too while the variable is set: look for ours.
            var buffer = new byte[4096];
            string got;
            do got = Encoding.UTF8.GetString(buffer, 0, socket.Receive(buffer));
            while (got != "READY=1\nSTATUS=test");
        }
    }
}
