using System.Collections.Concurrent;
using Assp.Config.Files;
using Assp.Config.Registry;
using Assp.EndToEnd.Tests.Proxy;
using Xunit.Abstractions;

namespace Assp.EndToEnd.Tests.Service;

/// <summary>
/// The built `assp run` killed with SIGKILL while clients are sending through it to a real Postfix, then started
/// again on the same base folder: no message that got a 250 is missing from Postfix, and the restarted proxy serves.
/// </summary>
public class KillUnderLoadTests(FaultPostfix postfix, ITestOutputHelper output) : IClassFixture<FaultPostfix>
{
    private const int Senders = 8;

    private enum Result { Accepted, Refused, ConnectionLost, ProxyDown }

    private static async Task<Result> SendAsync(int port, string subject)
    {
        TestSmtpClient client;
        try
        {
            client = await TestSmtpClient.ConnectAsync(port);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return Result.ProxyDown;   // between the kill and the restart
        }
        await using var _ = client;
        try
        {
            var greeting = await client.ReadReplyAsync(TimeSpan.FromSeconds(30));
            if (greeting.Code != 220) return Result.Refused;
            foreach (var (command, expected) in new[] { ("EHLO client.example", 250), ("MAIL FROM:<sender@client.example>", 250), ("RCPT TO:<user@example.com>", 250), ("DATA", 354) })
            {
                if ((await client.CommandAsync(command)).Code != expected) return Result.Refused;
            }
            await client.SendAsync($"From: sender@client.example\r\nTo: user@example.com\r\nSubject: {subject}\r\n\r\n{new string('x', 2000)}\r\n.\r\n");
            var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(30));
            return reply.Code == 250 ? Result.Accepted : Result.Refused;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return Result.ConnectionLost;
        }
    }

    private static int Count(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    [Fact]
    public async Task SIGKILL_under_load_loses_no_acknowledged_message_and_the_restarted_proxy_serves()
    {
        var baseDir = Directory.CreateTempSubdirectory("assp-kill-").FullName;
        int port = Ports.FreeUnprivileged();
        BaseFolder.Initialize(baseDir, OptionRegistry.Default, new Dictionary<string, string>
        {
            ["listenPort"] = $"127.0.0.1:{port}",
            ["smtpDestination"] = $"127.0.0.1:{postfix.Mta.Port}",
            ["localDomains"] = "example.com",
            ["myName"] = "proxy.assp-e2e.test",
            ["maxSMTPipSessions"] = "0",
            ["DoDamping"] = "0",
        });
        var tag = "kill-" + Guid.NewGuid().ToString("N")[..8];
        var results = new ConcurrentDictionary<string, Result>();
        AsspService? service = AsspService.Start(baseDir);
        try
        {
            await service.WaitForLogAsync("ready;", TimeSpan.FromSeconds(60));
            using var stopLoad = new CancellationTokenSource();
            int sequence = 0;
            var load = Enumerable.Range(0, Senders).Select(_ => Task.Run(async () =>
            {
                while (!stopLoad.IsCancellationRequested)
                {
                    var subject = $"{tag} #{Interlocked.Increment(ref sequence)}";
                    var result = await SendAsync(port, subject);
                    results[subject] = result;
                    if (result != Result.Accepted) await Task.Delay(20);
                }
            })).ToArray();

            // Kill once real traffic has gone through, then let the senders meet the dead port for a moment.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (results.Values.Count(r => r == Result.Accepted) < 40 && DateTime.UtcNow < until) await Task.Delay(20);
            service.Signal("KILL");
            Assert.True(await service.WaitForExitAsync(TimeSpan.FromSeconds(10)));
            await Task.Delay(500);
            stopLoad.Cancel();
            await Task.WhenAll(load);
            service.Dispose();

            // Started again on the same base folder: it comes up and serves.
            service = AsspService.Start(baseDir);
            var until2 = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Count(service.ReadMaillog(), "ready;") < 2 && DateTime.UtcNow < until2 && !service.HasExited) await Task.Delay(50);
            Assert.True(Count(service.ReadMaillog(), "ready;") >= 2, "the restarted proxy did not become ready:\n" + service.Output);
            var after = new List<Result>();
            for (int i = 0; i < 5; i++)
            {
                var subject = $"{tag} after #{i}";
                var result = await SendAsync(port, subject);
                results[subject] = result;
                after.Add(result);
            }
            Assert.All(after, r => Assert.Equal(Result.Accepted, r));

            var accepted = results.Where(r => r.Value == Result.Accepted).Select(r => r.Key).ToHashSet();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            HashSet<string> delivered;
            while (true)
            {
                delivered = postfix.Mta.GetCapturedMessages().Select(m => SubjectOf(m.Text)).Where(s => s.StartsWith(tag, StringComparison.Ordinal)).ToHashSet();
                if (accepted.IsSubsetOf(delivered) || DateTime.UtcNow > deadline) break;
                await Task.Delay(100);
            }
            int lost = results.Values.Count(r => r == Result.ConnectionLost);
            int inFlightDelivered = results.Count(r => r.Value == Result.ConnectionLost && delivered.Contains(r.Key));
            output.WriteLine($"FAULT SIGKILL under load: sent {results.Count}, 250 {accepted.Count}, refused {results.Values.Count(r => r == Result.Refused)}, " +
                             $"proxy down (connect refused) {results.Values.Count(r => r == Result.ProxyDown)}, in flight at the kill {lost} (of them delivered anyway {inFlightDelivered}), delivered {delivered.Count}, " +
                             $"acknowledged but missing {accepted.Except(delivered).Count()}");
            Assert.Empty(accepted.Except(delivered));
        }
        finally
        {
            service?.Dispose();
            try { Directory.Delete(baseDir, true); } catch (IOException) { }
        }
    }

    private static string SubjectOf(string raw)
    {
        foreach (var line in raw.Replace("\r\n", "\n").Split('\n'))
        {
            if (line.Length == 0) break;
            if (line.StartsWith("Subject: ", StringComparison.OrdinalIgnoreCase)) return line[9..].Trim();
        }
        return "";
    }
}
