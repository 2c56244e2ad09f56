using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.Config;
using Assp.Config.Files;
using Assp.Config.Logging;
using Assp.Config.Registry;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.EndToEnd.Tests.Proxy;

namespace Assp.EndToEnd.Tests.Service;

/// <summary>
/// The monitoring data of the built `assp` in front of a private Postfix: one good and one blocked mail show up in
/// the Prometheus metrics of webStatPort and in the maillog search, each with its verdict.
/// </summary>
public sealed class MonitoringServiceTests : IDisposable
{
    // A limit, not a pace: a passing run never waits for it, and a machine loaded far beyond its cores needs it.
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("assp-monitor-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task A_good_and_a_blocked_mail_appear_in_metrics_and_in_the_maillog_search()
    {
        await using var mta = await PostfixInstance.StartAsync();
        var baseDir = Path.Combine(_dir, "base");
        var (exit, output) = await Repo.RunAssp(Quick, "init", "--base", baseDir);
        Assert.True(exit == 0, output);
        int smtpPort = Ports.FreeUnprivileged(), statPort = Ports.FreeUnprivileged();
        while (statPort == smtpPort) statPort = Ports.FreeUnprivileged();
        var cfgPath = Path.Combine(baseDir, "assp.cfg");
        var cfg = AsspConfigFile.Load(cfgPath);
        cfg.Set("listenPort", $"127.0.0.1:{smtpPort}");
        cfg.Set("webStatPort", $"127.0.0.1:{statPort}");
        cfg.Set("smtpDestination", $"127.0.0.1:{mta.Port}");
        cfg.Set("localDomains", "example.com");
        cfg.Set("blackListedDomains", "spam.example");
        cfg.Set("DoDamping", "0");
        cfg.Save(cfgPath);

        using var service = AsspService.Start(baseDir);
        await service.WaitForLogAsync("ready;", Quick);
        await using (var client = await TestSmtpClient.ConnectAsync(smtpPort))
        {
            Assert.Equal(220, (await client.ReadReplyAsync()).Code);
            Assert.Equal(250, (await client.SendMailAsync("friend@good.example", ["user@example.com"],
                "From: friend@good.example\r\nTo: user@example.com\r\nSubject: lunch\r\n\r\nsee you\r\n")).Code);
            await client.CommandAsync("RSET");
            Assert.Equal(554, (await client.SendMailAsync("bad@spam.example", ["user@example.com"],
                "From: bad@spam.example\r\nTo: user@example.com\r\nSubject: cheap\r\n\r\nbuy\r\n", ehlo: false)).Code);
            await client.CommandAsync("QUIT");
        }
        Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        await service.WaitForLogAsync("[spam found]", Quick);
        await service.WaitForLogAsync("message ok", Quick);

        // /metrics on the stat port: the delivered mail, the refusal by DoBlackDomain, both scores in the histogram.
        var response = await HttpGetAsync(statPort, "/metrics");
        Assert.StartsWith("HTTP/1.0 200 OK\r\n", response);
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        var samples = new Dictionary<string, double>();
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#')) { Assert.Matches(@"^# (HELP|TYPE) assp_\w+ \S", line); continue; }
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^(assp_\w+(?:\{[^}]*\})?) (\S+)$");
            Assert.True(m.Success, "not exposition text: " + line);
            samples[m.Groups[1].Value] = m.Groups[2].Value == "+Inf" ? double.PositiveInfinity
                : double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.Equal(1, samples["assp_messages_total{outcome=\"delivered\"}"]);
        Assert.Equal(1, samples["assp_messages_delivered_total{class=\"ham\"}"]);
        Assert.Equal(1, samples["assp_rejects_total{reason=\"DoBlackDomain\"}"]);
        Assert.Equal(1, samples["assp_check_blocks_total{check=\"DoBlackDomain\"}"]);
        Assert.Equal(1, samples["assp_connections_total{result=\"accepted\"}"]);
        Assert.True(samples["assp_message_score_count"] >= 1);

        // The maillog search finds both, newest first, with their verdicts, addresses and IP.
        var snapshot = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(baseDir));
        var spam = MaillogSearch.Search(snapshot, new MaillogQuery { Text = "spam.example", Verdicts = [MaillogVerdict.Spam] });
        var blocked = Assert.Single(spam.Entries);
        Assert.Equal("bad@spam.example", blocked.Sender);
        Assert.Equal("127.0.0.1", blocked.Ip);
        Assert.NotNull(blocked.Time);
        var passed = MaillogSearch.Search(snapshot, new MaillogQuery { Verdicts = [MaillogVerdict.Passed] });
        var ok = Assert.Single(passed.Entries);
        Assert.Equal("friend@good.example", ok.Sender);
        Assert.Equal(["user@example.com"], ok.Recipients);
        var all = MaillogSearch.Search(snapshot, new MaillogQuery { Text = @"\[spam found\]|message ok", IsRegex = true });
        Assert.Equal([MaillogVerdict.Spam, MaillogVerdict.Passed], all.Entries.Select(e => e.Verdict));

        service.Signal("TERM");
        Assert.True(await service.WaitForExitAsync(TimeSpan.FromSeconds(45)), service.Output);
    }

    private static async Task<string> HttpGetAsync(int port, string path)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\n\r\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var all = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0) all.Write(buffer, 0, n);
        return Encoding.UTF8.GetString(all.ToArray());
    }
}
