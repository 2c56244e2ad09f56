using System.Net;
using System.Net.Sockets;
using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Logging;
using Assp.Config.Registry;
using Assp.Smtp;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The real proxy (SmtpProxyServer with the real configuration loader and maillog) on free loopback ports,
/// with a fresh base folder, for one test.
/// </summary>
public sealed class ProxyInstance : IAsyncDisposable
{
    private readonly TimeSpan _stopGrace;

    public string BaseDirectory { get; }
    public ConfigManager Config { get; }
    public MailLog Log { get; }
    public SmtpProxyServer Server { get; }
    public int Port { get; }
    public IReadOnlyDictionary<string, int> Ports { get; }

    private ProxyInstance(string baseDir, ConfigManager config, MailLog log, SmtpProxyServer server, Dictionary<string, int> ports, TimeSpan stopGrace)
    {
        BaseDirectory = baseDir;
        Config = config;
        Log = log;
        Server = server;
        Ports = ports;
        Port = ports["listenPort"];
        _stopGrace = stopGrace;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>
    /// Starts the proxy in front of an MTA. Every listener option named in listeners gets a free port on 127.0.0.1
    /// (listenPort always). settings are written to assp.cfg.
    /// </summary>
    public static async Task<ProxyInstance> StartAsync(int mtaPort, IReadOnlyDictionary<string, string>? settings = null,
        string[]? listeners = null, TimeSpan? stopGrace = null, Assp.Checks.ICheckPipeline? pipeline = null, string? baseDirectory = null)
    {
        // baseDirectory: an (empty) folder prepared by the test, e.g. a small mount to fill up.
        var baseDir = baseDirectory ?? Path.Combine(Path.GetTempPath(), "assp-e2e-" + Guid.NewGuid().ToString("N"));
        var ports = new Dictionary<string, int>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["smtpDestination"] = $"127.0.0.1:{mtaPort}",
            ["localDomains"] = "example.com|example.org",
            ["myName"] = "proxy.assp-e2e.test",
            ["SSLCertFile"] = "certs/server-cert.pem",
            ["SSLKeyFile"] = "certs/server-key.pem",
            ["maxSMTPipSessions"] = "0",
            // ASSP's DoDamping default (5) would slow every scored test client down; the damping test turns it on.
            ["DoDamping"] = "0",
        };
        foreach (var option in (listeners ?? []).Append("listenPort").Distinct())
        {
            int port = FreePort();
            ports[option] = port;
            values[option] = option == "listenPortSSL" ? $"127.0.0.1:{port}" : $"127.0.0.1:{port}";
        }
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) values[k] = v;
        BaseFolder.Initialize(baseDir, OptionRegistry.Default, values);
        var manager = new ConfigManager(new ConfigLoader(OptionRegistry.Default), new ConfigSource(baseDir));
        var errors = manager.Current.Issues.Where(i => i.Severity == IssueSeverity.Error).ToList();
        if (errors.Count > 0) throw new InvalidOperationException("test configuration is invalid: " + string.Join("; ", errors));
        var log = new MailLog(() => manager.Current);
        var server = new SmtpProxyServer(() => manager.Current, log, pipeline);
        var problems = server.Start();
        if (problems.Count > 0) throw new InvalidOperationException(string.Join("; ", problems));
        await Task.Yield();
        return new ProxyInstance(baseDir, manager, log, server, ports, stopGrace ?? TimeSpan.FromSeconds(5));
    }

    /// <summary>The maillog so far.</summary>
    public string ReadMaillog()
    {
        var path = Path.Combine(BaseDirectory, "logs", "maillog.txt");
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>Waits until the maillog contains the text (it is written in the background).</summary>
    public async Task<string> WaitForLogAsync(string text, TimeSpan? timeout = null)
    {
        var end = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < end)
        {
            var log = ReadMaillog();
            if (log.Contains(text, StringComparison.Ordinal)) return log;
            await Task.Delay(50);
        }
        throw new TimeoutException($"'{text}' did not appear in the maillog:\n{ReadMaillog()}");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync(_stopGrace);
        await Server.DisposeAsync();
        await Log.DisposeAsync();
        Config.Dispose();
        try { Directory.Delete(BaseDirectory, true); } catch (IOException) { }
    }
}
