using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Smtp.Tests;

/// <summary>
/// Session options between client, proxy and MTA: the PenaltyBox scores of the session itself (meValencePB,
/// idleValencePB, autValencePB, etValencePB, erValencePB), DisableVRFY, EnableBangPath, enable8BITMIME, myHelo,
/// HideIPandHelo, nolocalDomains and RelayOnlyLocalDomains/RelayOnlyLocalSender.
/// </summary>
public partial class DeliveryTests
{
    private static Action<Assp.Config.ConfigSnapshot, IPAddress, string, string> Recorder(ConcurrentQueue<(string Valence, string Reason)> into) =>
        (_, _, valence, reason) => into.Enqueue((valence, reason));

    [Fact]
    public async Task Exceeding_MaxErrors_scores_meValencePB()
    {
        var scored = new ConcurrentQueue<(string, string)>();
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, null, Recorder(scored), ("MaxErrors", "1"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(500, (await client.CommandAsync("X1")).Code);
        Assert.Empty(scored);
        Assert.Equal(500, (await client.CommandAsync("X2")).Code);
        Assert.Equal(421, (await client.ReadReplyAsync()).Code);
        Assert.Equal(("meValencePB", "MaxErrors"), Assert.Single(scored));
    }

    [Fact]
    public async Task An_idle_timeout_scores_idleValencePB()
    {
        var scored = new ConcurrentQueue<(string, string)>();
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, null, Recorder(scored), ("smtpIdleTimeout", "1"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(451, (await client.ReadReplyAsync()).Code);
        Assert.Equal(("idleValencePB", "TimeOut"), Assert.Single(scored));
    }

    [Fact]
    public async Task AUTH_where_DisableExtAUTH_forbids_it_scores_autValencePB()
    {
        var scored = new ConcurrentQueue<(string, string)>();
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, null, Recorder(scored), ("DisableExtAUTH", "1"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(502, (await client.CommandAsync("AUTH PLAIN AGEAYg==")).Code);
        Assert.Equal(("autValencePB", "AUTHErrors"), Assert.Single(scored));
        Assert.DoesNotContain(mta.Commands, c => c.StartsWith("AUTH", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DATA_without_recipients_scores_erValencePB()
    {
        var scored = new ConcurrentQueue<(string, string)>();
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, null, Recorder(scored));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@client.example>")).Code);
        Assert.Equal(503, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(("erValencePB", "EmptyRecipient"), Assert.Single(scored));
    }

    [Theory]
    [InlineData("25", true)]
    [InlineData("0", false)]
    public async Task A_client_talking_before_the_greeting_is_scored_with_etValencePB_and_dropped(string valence, bool dropped)
    {
        var scored = new ConcurrentQueue<(string, string)>();
        // The MTA greets late, so the client's early EHLO is surely there when the proxy is about to greet.
        await using var mta = new ScriptedMta(chunking: false) { GreetingDelay = TimeSpan.FromMilliseconds(700) };
        await using var proxy = await Proxy.StartAsync(mta.Port, null, Recorder(scored), ("etValencePB", valence));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, proxy.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("EHLO eager.example\r\n"u8.ToArray());
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var first = await reader.ReadLineAsync(timeout.Token);
        if (dropped)
        {
            Assert.Null(first);
            Assert.Equal(("etValencePB", "EarlyTalker"), Assert.Single(scored));
        }
        else
        {
            Assert.StartsWith("220", first);
            Assert.Empty(scored);
        }
    }

    [Theory]
    [InlineData("1", 502, false)]
    [InlineData("0", 250, true)]
    public async Task DisableVRFY_keeps_external_clients_from_VRFY_and_EXPN(string disable, int code, bool relayed)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, ("DisableVRFY", disable));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        var reply = await client.CommandAsync("VRFY user@example.com");
        Assert.Equal(code, reply.Code);
        Assert.Equal(code, (await client.CommandAsync("EXPN staff")).Code);
        if (!relayed) Assert.Equal("502 VRFY not supported\n", reply.Text);
        Assert.Equal(relayed, mta.Commands.Any(c => c.StartsWith("VRFY", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task DisableVRFY_leaves_local_clients_alone()
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, ("DisableVRFY", "1"), ("acceptAllMail", "127.0.0.1"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.CommandAsync("VRFY user@example.com")).Code);
    }

    [Theory]
    [InlineData("1", 250)]
    [InlineData("0", 530)]
    public async Task EnableBangPath_turns_domain_bang_user_into_user_at_domain(string enable, int code)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, ("EnableBangPath", enable));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@client.example>")).Code);
        Assert.Equal(code, (await client.CommandAsync("RCPT TO:<example.com!user>")).Code);
        Assert.Equal(code == 250, mta.Commands.Contains("RCPT TO:<user@example.com>"));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    public async Task Enable8BITMIME_decides_whether_8BITMIME_is_offered_and_passed_on(string enable, bool offered)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, ("enable8BITMIME", enable));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port);
        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.Equal(offered, ehlo.Text.Contains("8BITMIME", StringComparison.Ordinal));
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@client.example> BODY=8BITMIME")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<user@example.com>")).Code);
        Assert.Equal(offered, mta.Commands.Contains("MAIL FROM:<a@client.example> BODY=8BITMIME"));
        Assert.Contains(mta.Commands, c => c.StartsWith("MAIL FROM:<a@client.example>", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("", "127.0.0.1", "EHLO client.example")]
    [InlineData("SENDERHELO-IP-MYNAME|MYNAME", "", "EHLO client.example-127.0.0.1-proxy.test")]
    [InlineData("SENDERHELO-IP-MYNAME|MYNAME", "127.0.0.1", "EHLO proxy.test")]
    [InlineData("|gateway.local", "", "EHLO client.example")]
    public async Task MyHelo_is_what_the_MTA_hears_per_direction(string myHelo, string acceptAllMail, string heard)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, ("myHelo", myHelo), ("acceptAllMail", acceptAllMail));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(heard, mta.Commands.First(c => c.StartsWith("EHLO", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("127.0.0.1", "([10.9.9.9] helo=hidden.local)")]
    [InlineData("", "([127.0.0.1] helo=client.example)")]
    public async Task HideIPandHelo_changes_our_Received_line_of_outgoing_mail_only(string acceptAllMail, string fromPart)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, ("HideIPandHelo", "ip=10.9.9.9 helo=hidden.local"), ("acceptAllMail", acceptAllMail));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.SendMessageAsync(Message)).Code);
        Assert.Contains("Received: from unknown " + fromPart, Assert.Single(mta.Transfers).Raw);
    }

    [Theory]
    [InlineData("1", 250)]
    [InlineData("0", 530)]
    public async Task NolocalDomains_leaves_the_relay_decision_for_foreign_domains_to_the_MTA(string off, int code)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, ("nolocalDomains", off));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@client.example>")).Code);
        Assert.Equal(code, (await client.CommandAsync("RCPT TO:<someone@foreign.example>")).Code);
    }

    [Theory]
    [InlineData("RelayOnlyLocalDomains", "a@foreign.example", true)]
    [InlineData("RelayOnlyLocalDomains", "a@example.com", false)]
    [InlineData("RelayOnlyLocalSender", "a@foreign.example", true)]
    [InlineData("RelayOnlyLocalSender", "", false)]
    public async Task RelayOnlyLocal_drops_relayed_mail_from_foreign_senders_at_DATA(string option, string sender, bool dropped)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartAsync(mta.Port, (option, "1"), ("acceptAllMail", "127.0.0.1"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.CommandAsync($"MAIL FROM:<{sender}>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<someone@foreign.example>")).Code);
        if (dropped) await Assert.ThrowsAsync<IOException>(() => client.CommandAsync("DATA"));
        else Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
    }

    [Theory]
    [InlineData("example!user", "user@example")]
    [InlineData("mail.example.com!first.last", "first.last@mail.example.com")]
    [InlineData("user@example.com", null)]
    [InlineData("a!b!c", null)]
    public void Bang_paths_are_recognised(string address, string? converted) => Assert.Equal(converted, Session.ProxySession.BangPath(address));
}

public partial class DeliveryTests
{
    [Theory]
    [InlineData("secret", 250)]
    [InlineData("wrong", 535)]
    public async Task RelayAuthUser_logs_in_to_the_relay_host_before_the_first_MAIL(string password, int mailCode)
    {
        var expected = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0relayuser\0secret"));
        await using var mta = new ScriptedMta(chunking: false) { AuthPlain = expected };
        int relayPort = FreePort();
        await using var proxy = await Proxy.StartAsync(mta.Port, ("relayPort", $"127.0.0.1:{relayPort}"), ("relayHost", $"127.0.0.1:{mta.Port}"),
            ("relayAuthUser", "relayuser"), ("relayAuthPass", password));
        await using var client = await LineSmtpClient.ConnectAsync(relayPort, "inside.example");
        Assert.Equal(mailCode, (await client.CommandAsync("MAIL FROM:<a@example.com>")).Code);
        Assert.Contains(mta.Commands, c => c.StartsWith("AUTH PLAIN ", StringComparison.Ordinal));
        if (mailCode == 250)
        {
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<someone@foreign.example>")).Code);
            var order = mta.Commands.ToList();
            Assert.True(order.FindIndex(c => c.StartsWith("AUTH", StringComparison.Ordinal)) < order.FindIndex(c => c.StartsWith("MAIL", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task Sessions_on_the_normal_listener_never_log_in_to_the_relay_host()
    {
        await using var mta = new ScriptedMta(chunking: false) { AuthPlain = "x" };
        await using var proxy = await Proxy.StartAsync(mta.Port, ("relayHost", $"127.0.0.1:{mta.Port}"), ("relayAuthUser", "relayuser"), ("relayAuthPass", "secret"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(250, (await client.SendMessageAsync(Message)).Code);
        Assert.DoesNotContain(mta.Commands, c => c.StartsWith("AUTH", StringComparison.Ordinal));
    }
}

public partial class DeliveryTests
{
    [Fact]
    public async Task Failed_logins_past_MaxAUTHErrors_score_autValencePB()
    {
        var scored = new ConcurrentQueue<(string, string)>();
        await using var mta = new ScriptedMta(chunking: false) { AuthPlain = "right" };
        await using var proxy = await Proxy.StartAsync(mta.Port, null, Recorder(scored), ("MaxAUTHErrors", "1"), ("DisableExtAUTH", "0"));
        await using var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example");
        Assert.Equal(535, (await client.CommandAsync("AUTH PLAIN wrong1")).Code);
        Assert.Empty(scored);
        Assert.Equal(535, (await client.CommandAsync("AUTH PLAIN wrong2")).Code);
        Assert.Equal(("autValencePB", "AUTHErrors"), Assert.Single(scored));
    }

    private static string Plain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    [Fact]
    public async Task AUTHUserIPfrequency_refuses_a_user_seen_from_too_many_IPs_before_the_MTA_sees_the_credentials()
    {
        var alice = Plain("alice", "secret");
        await using var mta = new ScriptedMta(chunking: false) { AuthPlain = alice };
        await using var proxy = await Proxy.StartAsync(mta.Port, null, null, ("AUTHUserIPfrequency", "2 600"), ("DisableExtAUTH", "0"), ("MaxAUTHErrors", "10"));
        await using (var first = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example", IPAddress.Parse("127.0.0.2")))
            Assert.Equal(235, (await first.CommandAsync("AUTH PLAIN " + alice)).Code);
        // The same IP again is not a new one.
        await using (var again = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example", IPAddress.Parse("127.0.0.2")))
            Assert.Equal(235, (await again.CommandAsync("AUTH PLAIN " + alice)).Code);
        string[] Seen() { lock (mta.Commands) return [.. mta.Commands]; }
        int before = Seen().Count(c => c.Contains(alice, StringComparison.Ordinal));

        // A second IP within 600 s: refused here, the credentials never reach the MTA.
        await using (var second = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example", IPAddress.Parse("127.0.0.3")))
        {
            var refused = await second.CommandAsync("AUTH PLAIN " + alice);
            Assert.Equal(535, refused.Code);
            Assert.Contains("too many IP addresses", refused.Text);
            // Sent after a 334 the credentials are caught too, and the MTA's exchange is cancelled with "*".
            Assert.Equal(334, (await second.CommandAsync("AUTH PLAIN")).Code);
            Assert.Equal(535, (await second.CommandAsync(alice)).Code);
        }
        Assert.Equal(before, Seen().Count(c => c.Contains(alice, StringComparison.Ordinal)));
        Assert.Contains("*", Seen());

        // Another user from that IP is not concerned.
        var bob = Plain("bob", "pw");
        await using (var other = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example", IPAddress.Parse("127.0.0.3")))
            Assert.Equal(535, (await other.CommandAsync("AUTH PLAIN " + bob)).Code);   // the MTA's own answer
        Assert.Contains("AUTH PLAIN " + bob, Seen());
    }

    [Theory]
    [InlineData("PLAIN", "\0alice\0secret", "alice")]
    [InlineData("PLAIN", "admin\0alice\0secret", "alice")]
    [InlineData("PLAIN", "alice secret", null)]
    [InlineData("LOGIN", "alice@example.com", "alice@example.com")]
    [InlineData("CRAM-MD5", "alice 5f4dcc3b5aa765d61d8327deb882cf99", "alice")]
    [InlineData("CRAM-MD5", "nodigest", null)]
    public void The_user_of_an_AUTH_answer_is_read_per_mechanism(string mechanism, string decoded, string? user) =>
        Assert.Equal(user, Assp.Smtp.Session.AuthUserIpTracker.UserFrom(mechanism, Convert.ToBase64String(Encoding.UTF8.GetBytes(decoded)), firstAnswer: true));

    [Fact]
    public void An_AUTH_answer_that_is_not_base64_names_no_user() =>
        Assert.Null(Assp.Smtp.Session.AuthUserIpTracker.UserFrom("PLAIN", "%%%not base64", firstAnswer: true));
}

public class AuthUserIpTrackerTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Made_up_user_names_do_not_grow_the_table_without_end()
    {
        var clock = new ManualClock();
        var tracker = new Assp.Smtp.Session.AuthUserIpTracker(clock);
        var limit = (2, TimeSpan.FromSeconds(600));
        var ip = IPAddress.Parse("192.0.2.1");
        for (int i = 0; i < Assp.Smtp.Session.AuthUserIpTracker.MaxUsers + 10; i++) tracker.RecordAndCheck("u" + i, ip, limit, out _);
        Assert.True(tracker.TrackedUsers <= Assp.Smtp.Session.AuthUserIpTracker.MaxUsers);
        // Once the window has passed, the next sweep forgets them all.
        clock.Now += TimeSpan.FromSeconds(601);
        for (int i = 0; i < 1024; i++) tracker.RecordAndCheck("fresh", ip, limit, out _);
        Assert.Equal(1, tracker.TrackedUsers);
    }
}
