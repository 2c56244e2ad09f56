using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Tests.Recipients;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>Recipient validation in the real proxy in front of Postfix: lists, LDAP (slapd), VRFY (a second Postfix), rewriting.</summary>
public class RecipientTests
{
    private const string Message = "From: someone@far.example\r\nTo: you\r\nSubject: hello\r\n\r\nhi\r\n";

    private static DecisionPipeline Pipeline(IStore store)
    {
        var services = new CheckServices(store);
        return new DecisionPipeline(new DecisionEngine(new IpPenaltyBox(store), new StoredAddressReputation(store), new NotSpamTags(store)),
            null, CheckCatalog.Discover(services), services);
    }

    private static async Task<TestSmtpClient> Client(ProxyInstance proxy)
    {
        var c = await TestSmtpClient.ConnectAsync(proxy.Port);
        await c.ReadReplyAsync();
        Assert.Equal(250, (await c.CommandAsync("EHLO client.example")).Code);
        return c;
    }

    private static async Task<(int Code, string Text)> Data(TestSmtpClient c, string message = Message)
    {
        Assert.Equal(354, (await c.CommandAsync("DATA")).Code);
        await c.SendAsync(TestSmtpClient.DotStuff(message) + ".\r\n");
        return await c.ReadReplyAsync();
    }

    [Fact]
    public async Task Unknown_local_users_get_the_configured_550_and_known_ones_reach_Postfix()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["LocalAddresses_Flat"] = "alice@example.com|@example.org",
            ["NoValidRecipient"] = "550 5.1.1 User unknown: EMAILADDRESS (not here)",
        }, pipeline: Pipeline(store));
        await using (var c = await Client(proxy))
        {
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            var refused = await c.CommandAsync("RCPT TO:<bob@example.com>");
            Assert.Equal(550, refused.Code);
            Assert.Contains("5.1.1 User unknown: bob@example.com (not here)", refused.Text);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<alice@example.com>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<alice+lists@example.com>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<anyone@example.org>")).Code);
            Assert.Equal(250, (await Data(c)).Code);
        }
        var msg = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(["alice+lists@example.com", "alice@example.com", "anyone@example.org"], msg.Recipients.Order(StringComparer.Ordinal));
        await proxy.WaitForLogAsync("[InvalidAddress] invalid address rejected: bob@example.com");

    }

    [Fact]
    public async Task InternalAddresses_refuse_a_remote_sender_and_close_the_connection()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["InternalAddresses"] = "staff@example.com",
        }, pipeline: Pipeline(store));
        await using var c = await Client(proxy);
        Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
        var refused = await c.CommandAsync("RCPT TO:<staff@example.com>");
        Assert.Equal(530, refused.Code);
        Assert.Contains("Relaying not allowed", refused.Text);
        Assert.True(await c.IsClosedAsync(TimeSpan.FromSeconds(10)));
        await proxy.WaitForLogAsync("[InternalAddress] invalid remote sender for internal address: staff@example.com");
        Assert.Empty(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task DoHeaderAddrCheck_refuses_a_foreign_BCC_and_closes_the_connection()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["LocalAddresses_Flat"] = "alice@example.com",
            ["DoHeaderAddrCheck"] = "1",
        }, pipeline: Pipeline(store));
        await using var c = await Client(proxy);
        Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
        Assert.Equal(250, (await c.CommandAsync("RCPT TO:<alice@example.com>")).Code);
        var refused = await Data(c, "From: someone@far.example\r\nTo: alice@example.com\r\nBcc: victim@foreign.example\r\nSubject: hello\r\n\r\nhi\r\n");
        Assert.Equal(421, refused.Code);
        Assert.Contains("closing transmission - BCC: recipient (victim@foreign.example) is not local", refused.Text);
        Assert.True(await c.IsClosedAsync(TimeSpan.FromSeconds(10)));
        await proxy.WaitForLogAsync("[spam found] relay attempt blocked for non local BCC: recipient - victim@foreign.example");
        Assert.Empty(mta.GetCapturedMessages());
    }

    [Fact]
    public async Task RemoveForeignBCC_delivers_the_mail_without_its_BCC_lines()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["LocalAddresses_Flat"] = "alice@example.com",
            ["DoHeaderAddrCheck"] = "1",
            ["removeForeignBCC"] = "1",
            ["ValidateUserLog"] = "2",
        }, pipeline: Pipeline(store));
        await using var c = await Client(proxy);
        Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
        Assert.Equal(250, (await c.CommandAsync("RCPT TO:<alice@example.com>")).Code);
        Assert.Equal(250, (await Data(c, "From: someone@far.example\r\nTo: alice@example.com\r\nBcc: victim@foreign.example,\r\n other@foreign.example\r\nSubject: hello\r\n\r\nhi\r\n")).Code);
        await proxy.WaitForLogAsync("info: found and removed unexpected BCC: recipient addresses in incoming mail");
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("Subject: hello", got.Text);
        Assert.DoesNotContain("foreign.example", got.Text);
    }

    [Fact]
    public async Task ReplaceRecpt_CatchAll_and_NullAddresses_are_visible_at_Postfix()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["ReplaceRecpt"] = "01<=>S<=>*@example.org<=>*@example.com<=><=>1<=>",
            ["LocalAddresses_Flat"] = "alice@example.com|catch@example.com",
            ["CatchAll"] = "catch@example.com",
            ["NullAddresses"] = "blackhole@example.com",
            ["ValidateUserLog"] = "2",
        }, pipeline: Pipeline(store));
        await using (var c = await Client(proxy))
        {
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<alice@example.org>")).Code);     // rewritten to alice@example.com
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<nobody@example.com>")).Code);    // unknown: to the catch-all
            Assert.Equal(250, (await Data(c)).Code);

            // A NULL address: 250 to the end, nothing reaches the MTA.
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<blackhole@example.com>")).Code);
            Assert.Equal(250, (await Data(c, "Subject: into the void\r\n\r\nx\r\n")).Code);
        }
        var msg = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(["alice@example.com", "catch@example.com"], msg.Recipients.Order(StringComparer.Ordinal));
        Assert.Contains("X-Assp-Recipient: recipient alice@example.org replaced with alice@example.com", msg.Text);
        await Task.Delay(500);
        Assert.Single(mta.GetCapturedMessages());
        var log = proxy.ReadMaillog();
        Assert.Contains("info: recipient alice@example.org replaced with alice@example.com", log);
        Assert.Contains("invalid address nobody@example.com replaced with catch@example.com", log);
        Assert.Contains("connection moved to NULL-connection", log);
    }

    [Fact]
    public async Task LDAP_validated_delivery_with_slapd()
    {
        using var store = new MemoryStore();
        using var slapd = new SlapdServer([("alice", "alice@example.com")]);
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["DoLDAP"] = "1",
            ["LDAPHost"] = slapd.Host,
            ["LDAPRoot"] = SlapdServer.Suffix,
            ["LDAPFilter"] = "(mail=EMAILADDRESS)",
            ["LDAPLogin"] = SlapdServer.AdminDn,
            ["LDAPPassword"] = SlapdServer.AdminPassword,
            ["LDAPFail"] = "1",
        }, pipeline: Pipeline(store));
        await using (var c = await Client(proxy))
        {
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            Assert.Equal(550, (await c.CommandAsync("RCPT TO:<mallory@example.com>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<alice@example.com>")).Code);
            Assert.Equal(250, (await Data(c)).Code);
        }
        Assert.Equal(["alice@example.com"], Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Recipients);
        Assert.True(store.Table(StoreTables.LdapList).ContainsKey("alice@example.com"));

        // The directory goes down: the cached user still gets mail, an unknown one is asked to come back later.
        slapd.Stop();
        await using (var c = await Client(proxy))
        {
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            var later = await c.CommandAsync("RCPT TO:<mallory@example.com>");
            Assert.Equal(450, later.Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<alice@example.com>")).Code);
            Assert.Equal(250, (await Data(c)).Code);
        }
        await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task VRFY_against_the_domains_MTA_with_the_callout_cache()
    {
        using var store = new MemoryStore();
        // The MTA that knows the users (here: everybody except "ghost…").
        await using var users = await PostfixInstance.StartAsync(new PostfixOptions { RejectRecipientsRegex = "^ghost" });
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["localDomains"] = $"example.com=>127.0.0.1:{users.Port}|example.org",
            ["DoVRFY"] = "1",
            ["LDAPFail"] = "1",
            ["ValidateUserLog"] = "3",
        }, pipeline: Pipeline(store));
        await using (var c = await Client(proxy))
        {
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            var refused = await c.CommandAsync("RCPT TO:<ghost@example.com>");
            Assert.Equal(550, refused.Code);
            Assert.Contains("User unknown: ghost@example.com", refused.Text);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<carol@example.com>")).Code);
            // Once validation is on, a local domain that no list, directory or MTA vouches for has no valid users (as in ASSP).
            Assert.Equal(550, (await c.CommandAsync("RCPT TO:<dave@example.org>")).Code);
            Assert.Equal(250, (await Data(c)).Code);
        }
        Assert.Equal(["carol@example.com"], Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Recipients.Order(StringComparer.Ordinal));
        Assert.True(store.Table(StoreTables.LdapList).ContainsKey("carol@example.com"));
        Assert.Contains("reject: VRFY from", users.ReadLog());
        // VRFYLog (standard): what the MTA said about each address.
        var log = await proxy.WaitForLogAsync("VRFY: carol@example.com found");
        Assert.Contains("VRFY: ghost@example.com not found", log);

        // The users' MTA goes away: carol is known from the cache; an unknown address cannot be checked (LDAPFail: 450).
        await users.StopAsync();
        await using (var c = await Client(proxy))
        {
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            Assert.Equal(450, (await c.CommandAsync("RCPT TO:<zed@example.com>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<carol@example.com>")).Code);
            Assert.Equal(250, (await Data(c)).Code);
        }
        await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RCPT_TO_callout_when_VRFY_is_disabled_or_VRFYforceRCPTTO_names_the_MTA(bool forced)
    {
        using var store = new MemoryStore();
        await using var users = await PostfixInstance.StartAsync(new PostfixOptions
        {
            RejectRecipientsRegex = "^ghost",
            ExtraMainCf = forced ? null : "disable_vrfy_command = yes",
        });
        await using var mta = await PostfixInstance.StartAsync();
        // The first MTA of the list is down: the callout fails over to the second.
        var settings = new Dictionary<string, string> { ["localDomains"] = $"example.com=>127.0.0.1:{ProxyInstance.FreePort()},127.0.0.1:{users.Port}", ["DoVRFY"] = "1" };
        if (forced) settings["VRFYforceRCPTTO"] = $"127.0.0.1:{users.Port}";
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings, pipeline: Pipeline(store));
        await using (var c = await Client(proxy))
        {
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            Assert.Equal(550, (await c.CommandAsync("RCPT TO:<ghost@example.com>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<carol@example.com>")).Code);
            Assert.Equal(250, (await Data(c)).Code);
        }
        await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        var log = users.ReadLog();
        Assert.Contains("reject: RCPT from", log);
        Assert.DoesNotContain("reject: VRFY from", log);
    }

    [Fact]
    public async Task MaxVRFYErrors_drops_the_connection_after_the_MTAs_unknown_user_replies()
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync(new PostfixOptions { RejectRecipientsRegex = "^nouser" });
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["MaxVRFYErrors"] = "2" }, pipeline: Pipeline(store));
        await using var c = await Client(proxy);
        Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
        Assert.Equal(550, (await c.CommandAsync("RCPT TO:<nouser1@example.com>")).Code);
        var second = await c.CommandAsync("RCPT TO:<nouser2@example.com>");
        Assert.Equal(550, second.Code);
        Assert.Equal(421, (await c.ReadReplyAsync()).Code);
        Assert.True(await c.IsClosedAsync(TimeSpan.FromSeconds(10)));
        await proxy.WaitForLogAsync("MaxVRFYErrors=2");
    }

    [Theory]
    [InlineData("block")]
    [InlineData("monitor")]
    [InlineData("score")]
    [InlineData("testmode")]
    public async Task DoMaxDupRcpt_modes(string mode)
    {
        using var store = new MemoryStore();
        await using var mta = await PostfixInstance.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["DoMaxDupRcpt"] = mode switch { "monitor" => "2", "score" => "3", _ => "1" },
            ["MaxDupRcpt"] = "1",
            ["AddScoringHeader"] = "1",
        };
        if (mode == "testmode") settings["allTestMode"] = "1";
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, settings, pipeline: Pipeline(store));
        for (int i = 0; i < 2; i++)   // several messages per proxy
        {
            await using var c = await Client(proxy);
            Assert.Equal(250, (await c.CommandAsync("MAIL FROM:<someone@far.example>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<dup@example.com>")).Code);
            Assert.Equal(250, (await c.CommandAsync("RCPT TO:<dup@example.com>")).Code);
            var third = await c.CommandAsync("RCPT TO:<dup@example.com>");
            if (mode == "block")
            {
                Assert.Equal(554, third.Code);
                continue;
            }
            Assert.Equal(250, third.Code);
            Assert.Equal(250, (await Data(c)).Code);
        }
        if (mode == "block")
        {
            await proxy.WaitForLogAsync("too many duplicate recipients (2 > MaxDupRcpt 1)");
            await Task.Delay(300);
            Assert.Empty(mta.GetCapturedMessages());
            return;
        }
        var got = await mta.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        var log = proxy.ReadMaillog();
        switch (mode)
        {
            case "monitor":
                Assert.Contains("[monitoring] (too many duplicate recipients", log);
                Assert.DoesNotContain("X-Assp-Message-Score", got[0].Text);
                break;
            case "score":
                Assert.Contains("[scoring] (too many duplicate recipients", log);
                Assert.Contains("X-Assp-Message-Score: 10 (too many duplicate recipients", got[0].Text);
                break;
            default:
                Assert.Contains("X-Assp-Block: NO (all in testmode)", got[0].Text);
                break;
        }
    }
}
