using System.Net;
using System.Runtime.CompilerServices;
using Assp.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Delaying;
using Assp.Checks.PenaltyBox;
using Assp.Config;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;
using Assp.Storage.Tests;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// Two proxies (nodes A and B, each with its own PostgreSQL store and decision engine) in front of one Postfix,
/// sharing one private PostgreSQL: what one node learns, the other acts on.
///
/// Greylisting and the PenaltyBox ignore private and loopback clients, and every test client here connects from
/// 127.0.0.1; so the checks are shown the client as a documentation address (<see cref="PublicClient"/>), as if it
/// came from the internet. Everything else is the real proxy, the real checks and the real database.
/// </summary>
public sealed class SharedStateTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private const string Mail = "From: someone@sender.example\r\nTo: me@example.com\r\nSubject: hello\r\n\r\nhi\r\n";

    /// <summary>The checks see the client at the address the test sets (the SMTP side is unchanged).</summary>
    private sealed class PublicClient(ICheckPipeline inner) : ICheckPipeline
    {
        private readonly ConditionalWeakTable<IMailContext, Context> _contexts = [];
        public IPAddress Address { get; set; } = IPAddress.Parse("198.51.100.1");

        private IMailContext Wrap(IMailContext c) => _contexts.GetValue(c, k => new Context(k, this));

        public ValueTask<Verdict> RunAsync(SmtpPhase phase, IMailContext context, CancellationToken ct) => inner.RunAsync(phase, Wrap(context), ct);
        public string RewriteSender(IMailContext context, string sender) => inner.RewriteSender(Wrap(context), sender);
        public (string Address, Verdict Verdict) RewriteRecipient(IMailContext context, string recipient) => inner.RewriteRecipient(Wrap(context), recipient);
        public ValueTask<bool> IsLocalDomainAsync(ConfigSnapshot cfg, string domain, CancellationToken ct) => inner.IsLocalDomainAsync(cfg, domain, ct);

        private sealed class Context(IMailContext c, PublicClient owner) : IMailContext
        {
            private readonly IPAddress _address = owner.Address;   // fixed for the whole session
            public ConfigSnapshot Config => c.Config;
            public string SessionId => c.SessionId;
            public IPAddress RemoteAddress => c.Class == ConnectionClass.External ? _address : c.RemoteAddress;
            public IPAddress LocalAddress => c.LocalAddress;
            public int LocalPort => c.LocalPort;
            public ConnectionClass Class => c.Class;
            public bool IsAuthenticated => c.IsAuthenticated;
            public bool IsTls => c.IsTls;
            public string? Helo => c.Helo;
            public string? MailFrom => c.MailFrom;
            public IReadOnlyList<string> Recipients => c.Recipients;
            public bool IsOutgoing => c.IsOutgoing;
            public Stream? OpenMessage() => c.OpenMessage();
            public long MessageSize => c.MessageSize;
            public CheckSession CheckState => c.CheckState;
            public bool Delivered => c.Delivered;
            public void Log(string line) => c.Log(line);
        }
    }

    private sealed class Node : IAsyncDisposable
    {
        public required PostgresStore Store { get; init; }
        public required PublicClient Checks { get; init; }
        public required ProxyInstance Proxy { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Proxy.DisposeAsync();
            Store.Dispose();
        }
    }

    private static async Task<Node> StartNode(string connectionString, int mtaPort, Dictionary<string, string> settings)
    {
        var store = new PostgresStore(new PostgresStoreOptions { ConnectionString = connectionString, CatchUpInterval = TimeSpan.FromSeconds(2) });
        var services = new CheckServices(store);
        var engine = new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store), new Greylist(store));
        var checks = new PublicClient(new DecisionPipeline(engine, null, CheckCatalog.Discover(services), services));
        var proxy = await ProxyInstance.StartAsync(mtaPort, settings, listeners: ["relayPort"], pipeline: checks);
        return new Node { Store = store, Checks = checks, Proxy = proxy };
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("never happened: " + what);
            await Task.Delay(50);
        }
    }

    /// <summary>One mail from the client at <paramref name="ip"/>: the first refusal (any step), or the reply to the data.</summary>
    private static async Task<(int Code, string Text)> Send(Node node, string ip, string from, string to = "me@example.com")
    {
        node.Checks.Address = IPAddress.Parse(ip);
        await using var client = await TestSmtpClient.ConnectAsync(node.Proxy.Port);
        string step = "greeting";
        try
        {
            var reply = await client.ReadReplyAsync();
            if (reply.Code != 220) return reply;
            foreach (var command in new[] { "EHLO client.example", $"MAIL FROM:<{from}>", $"RCPT TO:<{to}>", "DATA" })
            {
                step = command;
                reply = await client.CommandAsync(command);
                if (reply.Code >= 400) return reply;
            }
            step = "end of data";
            await client.SendAsync(TestSmtpClient.DotStuff(Mail.Replace("someone@sender.example", from)) + ".\r\n");
            return await client.ReadReplyAsync();
        }
        catch (IOException)
        {
            return (0, "connection closed at " + step);
        }
    }

    [Fact]
    public async Task A_greylisting_retry_passes_on_the_other_node_and_the_safelisted_tuple_is_known_to_both()
    {
        string cs = postgres.ConnectionString(postgres.CreateDatabase());
        var settings = new Dictionary<string, string> { ["EnableDelaying"] = "1", ["DelayEmbargoTime"] = "0", ["DelayLog"] = "2" };
        await using var mta = await PostfixInstance.StartAsync();
        await using var a = await StartNode(cs, mta.Port, settings);
        await using var b = await StartNode(cs, mta.Port, settings);

        var first = await Send(a, "198.51.100.7", "someone@sender.example");
        Assert.Equal(451, first.Code);
        // B must know A's triplet; without it B would greylist the retry as new.
        await Eventually(() => b.Store.Table(StoreTables.DelayDb).Count == 1, "B holds A's triplet");
        Assert.Equal(250, (await Send(b, "198.51.100.7", "someone@sender.example")).Code);
        await b.Proxy.WaitForLogAsync("accepting triplet");

        // B safelisted the (IP /24, domain) tuple: A lets another sender of that domain through at once.
        await Eventually(() => a.Store.Table(StoreTables.DelayDbWhite).Count == 1, "A holds B's safelisted tuple");
        Assert.Equal(250, (await Send(a, "198.51.100.8", "other@sender.example")).Code);
        Assert.Equal(2, (await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20))).Count);
    }

    [Fact]
    public async Task An_IP_put_in_the_PenaltyBox_by_one_node_is_refused_by_the_other()
    {
        string cs = postgres.ConnectionString(postgres.CreateDatabase());
        var settings = new Dictionary<string, string>
        {
            ["EnableDelaying"] = "0",
            ["blackListedDomains"] = "spam.example",
            ["DoPenaltyExtremeSMTP"] = "1",
            ["PenaltyExtreme"] = "10",
        };
        await using var mta = await PostfixInstance.StartAsync();
        await using var a = await StartNode(cs, mta.Port, settings);
        await using var b = await StartNode(cs, mta.Port, settings);

        Assert.Equal(554, (await Send(a, "198.51.100.20", "bad@spam.example")).Code);
        await Eventually(() => b.Store.Table(StoreTables.PbBlack).Count > 0, "B holds A's PenaltyBox record");

        var refused = await Send(b, "198.51.100.20", "someone@sender.example");
        Assert.Equal(554, refused.Code);
        Assert.Contains("Extreme Bad IP Profile", refused.Text);
        // A client of another network (the PenaltyBox keys on the /24) is not affected.
        var other = await Send(b, "203.0.113.21", "someone@sender.example");
        Assert.True(other.Code == 250, other.Text);
    }

    [Fact]
    public async Task A_correspondent_whitelisted_on_one_node_bypasses_the_checks_on_the_other()
    {
        string cs = postgres.ConnectionString(postgres.CreateDatabase());
        var settings = new Dictionary<string, string> { ["EnableDelaying"] = "0", ["blackListedDomains"] = "far.example", ["DoBlackDomainWL"] = "0" };
        await using var mta = await PostfixInstance.StartAsync();
        await using var a = await StartNode(cs, mta.Port, settings);
        await using var b = await StartNode(cs, mta.Port, settings);

        Assert.Equal(554, (await Send(b, "198.51.100.30", "friend@far.example")).Code);

        // A local user writes to the stranger through A's relayPort: A learns the address.
        await using (var relay = await TestSmtpClient.ConnectAsync(a.Proxy.Ports["relayPort"]))
        {
            await relay.ReadReplyAsync();
            Assert.Equal(250, (await relay.SendMailAsync("me@example.com", ["friend@far.example"],
                "From: me@example.com\r\nTo: friend@far.example\r\nSubject: lunch?\r\n\r\nsee you\r\n")).Code);
        }
        await Eventually(() => b.Store.Table(StoreTables.Whitelist).Scan().Any(kv => kv.Key.Contains("friend@far.example")), "B holds A's whitelist entry");
        Assert.Equal(250, (await Send(b, "198.51.100.30", "friend@far.example")).Code);
    }
}
