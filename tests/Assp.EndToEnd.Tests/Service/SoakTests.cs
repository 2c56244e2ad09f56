using System.Text.Json;
using Xunit.Abstractions;

namespace Assp.EndToEnd.Tests.Service;

/// <summary>
/// A bounded soak (the load benchmark's `--mode soak`) against the built assp: two rounds of load through one proxy
/// process while idle and slowloris connections are held open. No message answered with 250 may be missing at the
/// sink, the held connections must all be opened, and after each round the proxy's descriptors and threads must come
/// back to the first round's level.
/// </summary>
public class SoakTests(ITestOutputHelper output)
{
    private static string Built(params string[] path) => Path.Combine([Repo.Root, .. path]);

    private static string LoadBenchDll() =>
        new[] { Repo.Configuration, Repo.Configuration == "Release" ? "Debug" : "Release" }
            .Select(c => Built("bench", "Assp.LoadBench", "bin", c, "net10.0", "Assp.LoadBench.dll"))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("bench/Assp.LoadBench is not built (the end-to-end project builds it first)");

    private static string AsspDll() =>
        new[] { Repo.Configuration, Repo.Configuration == "Release" ? "Debug" : "Release" }
            .Select(c => Built("src", "Assp.Server", "bin", c, "net10.0", "assp.dll"))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("src/Assp.Server is not built");

    [Fact]
    public async Task Two_soak_rounds_lose_no_message_and_the_proxy_returns_to_its_descriptors_and_threads()
    {
        string json = Path.Combine(Path.GetTempPath(), $"assp-soak-{Guid.NewGuid():N}.json");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        // smtp-sink counts what arrives; without it the benchmark's own sink does.
        string sink = File.Exists("/usr/sbin/smtp-sink") ? "smtp-sink" : "internal";
        // The default settle pause (25 s) lets the thread pool retire the workers the load added, so threads compare.
        string[] args =
        [
            LoadBenchDll(), "--mode", "soak", "--rounds", "2", "--messages", "2000", "--connections", "50",
            "--idle", "200", "--slowloris", "20", "--slowloris-interval", "1",
            "--generated", "40", "--sink", sink, "--proxy-dll", AsspDll(), "--json", json,
            "--duration-limit", "300", "--reply-timeout", "60",
        ];
        try
        {
            var (exit, text) = await Repo.RunAsync(dotnet, args, TimeSpan.FromMinutes(10));
            output.WriteLine(text);
            Assert.True(File.Exists(json), "the benchmark wrote no JSON");
            using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(json));
            var soak = doc.RootElement.GetProperty("soak");

            Assert.Empty(soak.GetProperty("problems").EnumerateArray().Select(p => p.GetString()));
            var rounds = soak.GetProperty("roundResults").EnumerateArray().ToList();
            Assert.Equal(2, rounds.Count);
            foreach (var round in rounds)
            {
                long accepted = round.GetProperty("accepted").GetInt64();
                Assert.Equal(2000, accepted);
                Assert.Equal(0, round.GetProperty("replies4xx").GetInt64() + round.GetProperty("replies5xx").GetInt64() + round.GetProperty("brokenOff").GetInt64());
                // Every 250 arrived at the sink.
                Assert.Equal(accepted, round.GetProperty("sinkReceived").GetInt64());
                foreach (var held in round.GetProperty("held").EnumerateArray())
                {
                    Assert.Equal(held.GetProperty("requested").GetInt32(), held.GetProperty("opened").GetInt32());
                    // Whatever the proxy closed, it closed with its idle-timeout reply, never silently.
                    foreach (var line in held.GetProperty("proxyLastLines").EnumerateObject())
                        Assert.StartsWith("451", line.Name, StringComparison.Ordinal);
                }
            }
            var checks = soak.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
            Assert.True(checks["open descriptors"].GetProperty("passed").GetBoolean(), "descriptors grew: " + checks["open descriptors"]);
            Assert.True(checks["threads"].GetProperty("passed").GetBoolean(), "threads grew: " + checks["threads"]);
            // 0, or 1 for a verdict the asserts above already cover (RSS is judged by the full soak in bench/, not here);
            // anything else is the benchmark or the proxy not coming up.
            Assert.True(exit is 0 or 1, $"the soak ended with exit code {exit}");
        }
        finally
        {
            File.Delete(json);
        }
    }
}
