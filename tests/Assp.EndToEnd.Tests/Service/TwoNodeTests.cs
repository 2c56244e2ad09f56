using Assp.Config.Files;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.EndToEnd.Tests.Proxy;
using Assp.Storage.Tests;

namespace Assp.EndToEnd.Tests.Service;

/// <summary>
/// Two real `assp run` processes configured as ASSP admins would (DBdriver Pg, myhost, mydb, myuser, mypassword,
/// lists set to DB:) against one private PostgreSQL, in front of one Postfix.
/// </summary>
public sealed class TwoNodeTests(PostgresServer postgres) : IClassFixture<PostgresServer>, IDisposable
{
    // A limit, not a pace: a passing run never waits for it, and a machine loaded far beyond its cores needs it.
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(90);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-two-nodes-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private sealed record Node(AsspService Service, int Port, int RelayPort) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                if (!Service.HasExited) Service.Signal("TERM");
                Service.WaitForExitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult();
            }
            finally { Service.Dispose(); }
        }
    }

    private async Task<Node> StartNode(string name, int mtaPort, string database)
    {
        var baseDir = Path.Combine(_dir, name);
        var (exit, output) = await Repo.RunAssp(Quick, "init", "--base", baseDir);
        Assert.True(exit == 0, output);
        int port = Ports.FreeUnprivileged(), relay = Ports.FreeUnprivileged();
        var cfgPath = Path.Combine(baseDir, "assp.cfg");
        var cfg = AsspConfigFile.Load(cfgPath);
        cfg.Set("listenPort", $"127.0.0.1:{port}");
        cfg.Set("relayPort", $"127.0.0.1:{relay}");
        cfg.Set("smtpDestination", $"127.0.0.1:{mtaPort}");
        cfg.Set("localDomains", "example.com");
        cfg.Set("myName", $"{name}.assp-e2e.test");
        cfg.Set("maxSMTPipSessions", "0");
        cfg.Set("DoDamping", "0");
        cfg.Set("blackListedDomains", "far.example");
        cfg.Set("DoBlackDomainWL", "0");
        cfg.Set("DBdriver", "Pg");
        cfg.Set("myhost", $"127.0.0.1:{postgres.Port}");
        cfg.Set("mydb", database);
        cfg.Set("myuser", PostgresServer.User);
        cfg.Set("mypassword", PostgresServer.Password);
        foreach (var list in new[] { "whitelistdb", "redlistdb", "delaydb", "pbdb" }) cfg.Set(list, "DB:");
        cfg.Save(cfgPath);
        var service = AsspService.Start(baseDir);
        try
        {
            await service.WaitForLogAsync("ready;", Quick);
        }
        catch
        {
            service.Dispose();
            throw;
        }
        return new Node(service, port, relay);
    }

    private static async Task<(int Code, string Text)> SendAsync(int port, string from, string to, string subject)
    {
        await using var client = await TestSmtpClient.ConnectAsync(port);
        await client.ReadReplyAsync();
        try
        {
            return await client.SendMailAsync(from, [to], $"From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbody\r\n");
        }
        catch (InvalidOperationException ex)
        {
            return (554, ex.Message);   // refused before the data
        }
    }

    /// <summary>Sends from the stranger to a local user until it passes (the other node's learning arrives in the background).</summary>
    private static async Task<bool> PassesWithin(int port, string from, TimeSpan time)
    {
        var until = DateTime.UtcNow + time;
        do
        {
            if ((await SendAsync(port, from, "me@example.com", "reply from " + from)).Code == 250) return true;
            await Task.Delay(250);
        } while (DateTime.UtcNow < until);
        return false;
    }

    [Fact]
    public async Task Both_nodes_share_the_whitelist_keep_accepting_mail_while_PostgreSQL_is_down_and_resume_writing_when_it_is_back()
    {
        string database = postgres.CreateDatabase();
        await using var mta = await PostfixInstance.StartAsync();
        using var a = (await StartNode("node-a", mta.Port, database));
        using var b = (await StartNode("node-b", mta.Port, database));
        await a.Service.WaitForLogAsync($"PostgreSQL {PostgresServer.User}@127.0.0.1:{postgres.Port}/{database}: shared tables for delaydb, pbdb, redlistdb, whitelistdb", Quick);
        Assert.DoesNotContain("not reachable", a.Service.ReadMaillog());

        // A whitelist learned on A (a local user writes to the stranger) lets the stranger through B.
        Assert.Equal(554, (await SendAsync(b.Port, "friend@far.example", "me@example.com", "before")).Code);
        Assert.Equal(250, (await SendAsync(a.RelayPort, "me@example.com", "friend@far.example", "lunch?")).Code);
        Assert.True(await PassesWithin(b.Port, "friend@far.example", TimeSpan.FromSeconds(20)), "B never let A's whitelisted correspondent through");

        // Load on both nodes; PostgreSQL is killed half-way and started again near the end.
        int accepted = 0;
        var subjects = new System.Collections.Concurrent.ConcurrentBag<string>();
        async Task Load(Node node, string tag)
        {
            for (int i = 0; i < 30; i++)
            {
                string subject = $"load {tag} {i}";
                if ((await SendAsync(node.Port, $"sender{i}@client.example", "me@example.com", subject)).Code == 250)
                {
                    Interlocked.Increment(ref accepted);
                    subjects.Add(subject);
                }
                if (tag == "a" && i == 10) postgres.Kill();
                if (tag == "a" && i == 15)
                {
                    // Learned while the database is away: queued on A, not yet known to B.
                    Assert.Equal(250, (await SendAsync(a.RelayPort, "me@example.com", "pal@far.example", "during the outage")).Code);
                }
            }
        }
        try
        {
            await Task.WhenAll(Load(a, "a"), Load(b, "b"));
            await a.Service.WaitForLogAsync("PostgreSQL", Quick);
            await a.Service.WaitForLogAsync(" lost (", Quick);
            await b.Service.WaitForLogAsync(" lost (", Quick);
        }
        finally { postgres.Start(); }

        // No mail the proxies acknowledged is missing at the MTA, from either node.
        Assert.Equal(60, accepted);
        var got = await mta.WaitForMessagesAsync(accepted + 3, TimeSpan.FromSeconds(60));
        var delivered = got.Select(m => m.Text.Replace("\r\n", "\n")).ToList();
        foreach (var subject in subjects) Assert.Contains(delivered, t => t.Contains("Subject: " + subject + "\n"));

        // Both nodes reconnect; A's queued whitelist entry reaches the database and B acts on it.
        await a.Service.WaitForLogAsync("reachable again", Quick);
        await b.Service.WaitForLogAsync("reachable again", Quick);
        Assert.True(await PassesWithin(b.Port, "pal@far.example", TimeSpan.FromSeconds(30)), "A's write made during the outage never reached B");
    }
}
