using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Config.Registry;
using Assp.Smtp.Forwarding;
using Xunit;

namespace Assp.Smtp.Tests;

/// <summary>ProxyConf: rule syntax, and the forwarder over real loopback sockets.</summary>
public sealed class ForwardingTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("assp-fwd-").FullName;
    private readonly ConfigLoader _loader = new(OptionRegistry.Default);

    public void Dispose()
    {
        try { Directory.Delete(_base, true); } catch (IOException) { }
    }

    private ConfigSnapshot Config(params (string Name, string Value)[] values) =>
        _loader.Load(new ConfigSource(_base, Overrides: values.Select(v => new KeyValuePair<string, string>(v.Name, v.Value)).ToList()));

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public void Rules_parse_the_reference_forms()
    {
        var cfg = Config(("ProxyConf", "10.1.1.1:22=>172.16.22.33:22|0.0.0.0:465=>192.168.1.25:465<=12.1.1.3,34.5.6.0/16,67.23.2.1-67.23.2.5"
            + "|[::1]:2525=>mail.example.org:25"));
        var set = ProxyRule.FromConfig(cfg);
        Assert.Empty(set.Problems);
        Assert.Equal(3, set.Rules.Count);
        var ssh = set.Rules[0];
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.1.1.1"), 22), ssh.Local);
        Assert.Equal(("172.16.22.33", 22), (ssh.TargetHost, ssh.TargetPort));
        Assert.Null(ssh.Allowed);
        Assert.True(ssh.Allows(IPAddress.Parse("8.8.8.8")));
        var smtps = set.Rules[1];
        Assert.True(smtps.Allows(IPAddress.Parse("12.1.1.3")));
        Assert.True(smtps.Allows(IPAddress.Parse("34.5.200.1")));
        Assert.True(smtps.Allows(IPAddress.Parse("67.23.2.4")));
        Assert.False(smtps.Allows(IPAddress.Parse("67.23.2.6")));
        Assert.False(smtps.Allows(IPAddress.Parse("12.1.1.4")));
        Assert.Equal(("mail.example.org", 25), (set.Rules[2].TargetHost, set.Rules[2].TargetPort));
        Assert.Equal(IPAddress.IPv6Loopback, set.Rules[2].Local.Address);
    }

    [Fact]
    public void Groups_expand_in_the_allow_list()
    {
        File.WriteAllText(Path.Combine(_base, "groups.txt"), "[allow_proxy]\n192.0.2.7\n198.51.100.0/24\n");
        var cfg = Config(("Groups", "file:groups.txt"), ("ProxyConf", "127.0.0.1:1477=>127.0.0.1:1234<=203.0.113.9,[allow_proxy]"));
        var set = ProxyRule.FromConfig(cfg);
        Assert.Empty(set.Problems);
        var rule = Assert.Single(set.Rules);
        Assert.True(rule.Allows(IPAddress.Parse("192.0.2.7")));
        Assert.True(rule.Allows(IPAddress.Parse("198.51.100.77")));
        Assert.True(rule.Allows(IPAddress.Parse("203.0.113.9")));
        Assert.False(rule.Allows(IPAddress.Parse("192.0.2.8")));
    }

    [Theory]
    [InlineData("127.0.0.1:25", "expected localIP:localPORT=>forwardIP:forwardPORT")]
    [InlineData("2525=>127.0.0.1:25", "must be an IP address and a port")]
    [InlineData("127.0.0.1:2525=>127.0.0.1", "must be a host or IP address and a port")]
    [InlineData("127.0.0.1:2525=>127.0.0.1:25<=300.1.1.1", "allowed client '300.1.1.1'")]
    public void Bad_rules_are_named_and_skipped(string entry, string expected)
    {
        var set = ProxyRule.FromConfig(Config(("ProxyConf", entry + "|127.0.0.1:2626=>127.0.0.1:26")));
        var problem = Assert.Single(set.Problems);
        Assert.Contains("ProxyConf", problem);
        Assert.Contains(entry, problem);
        Assert.Contains(expected, problem);
        Assert.Equal(2626, Assert.Single(set.Rules).Local.Port);
    }

    /// <summary>A target that greets, then echoes every line upper-cased, and answers a half-close with "BYE".</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _loop;
        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public int Accepted;

        public EchoServer()
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (true)
                {
                    TcpClient c;
                    try { c = await _listener.AcceptTcpClientAsync(); }
                    catch (Exception) { return; }
                    Interlocked.Increment(ref Accepted);
                    _ = Task.Run(async () =>
                    {
                        using (c)
                        {
                            var s = c.GetStream();
                            await s.WriteAsync("HELLO\n"u8.ToArray());
                            var reader = new StreamReader(s, Encoding.ASCII);
                            while (await reader.ReadLineAsync() is { } line)
                                await s.WriteAsync(Encoding.ASCII.GetBytes(line.ToUpperInvariant() + "\n"));
                            await s.WriteAsync("BYE\n"u8.ToArray());
                        }
                    });
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _loop;
        }
    }

    private static async Task<string> ReadAllAsync(Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0) all.Write(buffer, 0, n);
        return Encoding.ASCII.GetString(all.ToArray());
    }

    [Fact]
    public async Task Bytes_flow_both_ways_and_a_half_close_is_passed_on()
    {
        await using var echo = new EchoServer();
        int port = FreePort();
        var cfg = Config(("ProxyConf", $"127.0.0.1:{port}=>127.0.0.1:{echo.Port}"));
        await using var forwarder = new TcpForwarder(() => cfg, null);
        Assert.Empty(forwarder.Refresh());

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        // A payload larger than the copy buffer, sent before reading anything.
        var payload = string.Join("\n", Enumerable.Range(0, 5000).Select(i => "line " + i)) + "\n";
        await client.SendAsync(Encoding.ASCII.GetBytes(payload), SocketFlags.None);
        client.Shutdown(SocketShutdown.Send);
        var answer = await ReadAllAsync(client);
        Assert.StartsWith("HELLO\nLINE 0\nLINE 1\n", answer);
        Assert.EndsWith("LINE 4999\nBYE\n", answer);
        Assert.Equal(1, forwarder.ConnectionsForwarded);
    }

    [Fact]
    public async Task Clients_outside_the_allow_list_are_closed_without_reaching_the_target()
    {
        await using var echo = new EchoServer();
        int port = FreePort();
        var cfg = Config(("ProxyConf", $"127.0.0.1:{port}=>127.0.0.1:{echo.Port}<=10.0.0.0/8"));
        await using var forwarder = new TcpForwarder(() => cfg, null);
        Assert.Empty(forwarder.Refresh());
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        Assert.Equal("", await ReadAllAsync(client));
        Assert.Equal(0, echo.Accepted);
        Assert.Equal(0, forwarder.ConnectionsForwarded);
    }

    [Fact]
    public async Task DisableSMTPNetworking_turns_new_clients_away()
    {
        await using var echo = new EchoServer();
        int port = FreePort();
        var current = Config(("ProxyConf", $"127.0.0.1:{port}=>127.0.0.1:{echo.Port}"));
        await using var forwarder = new TcpForwarder(() => current, null);
        forwarder.Refresh();
        current = Config(("ProxyConf", $"127.0.0.1:{port}=>127.0.0.1:{echo.Port}"), ("DisableSMTPNetworking", "1"));
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        Assert.Equal("", await ReadAllAsync(client));
        Assert.Equal(0, echo.Accepted);
    }

    [Fact]
    public async Task A_reload_opens_new_rules_closes_removed_ones_and_keeps_running_connections()
    {
        await using var echo = new EchoServer();
        int first = FreePort(), second = FreePort();
        var current = Config(("ProxyConf", $"127.0.0.1:{first}=>127.0.0.1:{echo.Port}"));
        await using var forwarder = new TcpForwarder(() => current, null);
        forwarder.Refresh();

        using var held = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await held.ConnectAsync(IPAddress.Loopback, first);
        var greeting = new byte[6];
        Assert.Equal(6, await held.ReceiveAsync(greeting, SocketFlags.None));

        current = Config(("ProxyConf", $"127.0.0.1:{second}=>127.0.0.1:{echo.Port}"));
        Assert.Empty(forwarder.Refresh());
        Assert.Equal(second, Assert.Single(forwarder.Bound).EndPoint.Port);

        // The old port no longer listens; the new one does; the held connection still works.
        await Assert.ThrowsAsync<SocketException>(async () =>
        {
            using var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(IPAddress.Loopback, first);
        });
        using (var fresh = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await fresh.ConnectAsync(IPAddress.Loopback, second);
            fresh.Shutdown(SocketShutdown.Send);
            Assert.Equal("HELLO\nBYE\n", await ReadAllAsync(fresh));
        }
        await held.SendAsync("still here\n"u8.ToArray(), SocketFlags.None);
        held.Shutdown(SocketShutdown.Send);
        Assert.Equal("STILL HERE\nBYE\n", await ReadAllAsync(held));
    }

    [Fact]
    public async Task A_target_that_is_down_closes_the_client()
    {
        int port = FreePort(), dead = FreePort();
        var cfg = Config(("ProxyConf", $"127.0.0.1:{port}=>127.0.0.1:{dead}"));
        await using var forwarder = new TcpForwarder(() => cfg, null);
        forwarder.Refresh();
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        Assert.Equal("", await ReadAllAsync(client));
        Assert.Equal(0, forwarder.ConnectionsForwarded);
    }

    [Fact]
    public async Task A_port_in_use_is_reported_and_the_other_rules_run()
    {
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        int taken = ((IPEndPoint)occupied.LocalEndpoint).Port, free = FreePort();
        var cfg = Config(("ProxyConf", $"127.0.0.1:{taken}=>127.0.0.1:9|127.0.0.1:{free}=>127.0.0.1:9"));
        await using var forwarder = new TcpForwarder(() => cfg, null);
        var problem = Assert.Single(forwarder.Refresh());
        Assert.Contains($"ProxyConf: cannot listen on 127.0.0.1:{taken}", problem);
        Assert.Equal(free, Assert.Single(forwarder.Bound).EndPoint.Port);
    }
}
