using System.Text;
using Assp.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// The open-relay matrix: every listener a stranger can reach, every address trick we know of aimed at a foreign
/// domain. The Postfix behind the proxy relays anything that comes from loopback, so the proxy is the only gate:
/// whatever envelope recipient reaches Postfix is proof of what the proxy let through.
/// </summary>
public class OpenRelayMatrixTests(ITestOutputHelper output)
{
    /// <summary>Foreign: must be refused (4xx/5xx) and never delivered. Local: must be accepted and delivered.
    /// Either: a local destination written oddly; any reply is fine, but only a local recipient may arrive.</summary>
    private enum Expect { Foreign, Local, Either }

    /// <summary>One attempt. Raw is sent as it stands after "RCPT TO:" (line end included by the test).</summary>
    private sealed record Attempt(string Name, string Raw, Expect Expect);

    private const string LocalDomain = "example.org";
    // A second local domain with an 'i' in it, for the dotless-i lookalike.
    private const string LocalDomainWithI = "mail.example.net";
    private const string MyName = "proxy.assp-e2e.test";
    // A wildcard entry: its subdomains are local, nothing that only contains it is.
    private const string WildcardSuffix = ".kiosk.example.net";

    private static readonly Attempt[] Attempts =
    [
        new("plain foreign", "<victim@far.example>", Expect.Foreign),
        new("no brackets", "victim@far.example", Expect.Foreign),
        new("space after colon", " <victim@far.example>", Expect.Foreign),
        new("percent hack", "<victim%far.example@example.org>", Expect.Foreign),
        new("percent hack, upper-case domain", "<victim%far.example@EXAMPLE.ORG>", Expect.Foreign),
        new("source route", "<@example.org:victim@far.example>", Expect.Foreign),
        new("source route, two hops", "<@example.org,@example.org:victim@far.example>", Expect.Foreign),
        new("source route to local", "<@far.example:user@example.org>", Expect.Either),
        new("bang path", "<far.example!victim@example.org>", Expect.Foreign),
        new("double @", "<victim@far.example@example.org>", Expect.Foreign),
        new("escaped @", "<victim\\@far.example@example.org>", Expect.Foreign),
        new("quoted local part", "<\"victim@far.example\"@example.org>", Expect.Foreign),
        new("quoted percent", "<\"victim%far.example\"@example.org>", Expect.Foreign),
        new("trailing dot foreign", "<victim@far.example.>", Expect.Foreign),
        new("trailing dot local", "<user@example.org.>", Expect.Either),
        new("local domain as prefix", "<victim@example.org.far.example>", Expect.Foreign),
        new("local domain as suffix", "<victim@far-example.org>", Expect.Foreign),
        new("local domain as subdomain", "<victim@sub.example.org>", Expect.Foreign),
        new("capital I for l", "<victim@exampIe.org>", Expect.Foreign),
        new("cyrillic a (UTF-8)", "<victim@ex\u0430mple.org>", Expect.Foreign),
        new("punycode lookalike", "<victim@xn--exmple-cua.org>", Expect.Foreign),
        new("dotless i lookalike (UTF-8)", "<victim@ma\u0131l.example.net>", Expect.Foreign),
        new("long s lookalike of myName (UTF-8)", "<victim@proxy.a\u017F\u017Fp-e2e.te\u017Ft>", Expect.Foreign),
        new("fullwidth dot (UTF-8)", "<victim@example\uFF0Eorg>", Expect.Foreign),
        new("IP literal", "<victim@[192.0.2.1]>", Expect.Foreign),
        new("IP literal of loopback", "<victim@[127.0.0.1]>", Expect.Foreign),
        new("IPv6 literal", "<victim@[IPv6:::1]>", Expect.Foreign),
        new("empty brackets", "<>", Expect.Foreign),
        new("double brackets", "<<victim@far.example>>", Expect.Foreign),
        new("unclosed bracket", "<victim@far.example", Expect.Foreign),
        new("no domain", "<victim>", Expect.Foreign),
        new("empty domain", "<victim@>", Expect.Foreign),
        new("second path as parameter", "<user@example.org> <victim@far.example>", Expect.Either),
        new("long foreign address", "<" + new string('v', 4000) + "@far.example>", Expect.Foreign),
        new("long foreign domain", "<victim@" + string.Join('.', Enumerable.Repeat(new string('d', 60), 20)) + ".far.example>", Expect.Foreign),
        new("over-long line", "<" + new string('v', 100_000) + "@far.example>", Expect.Foreign),
        new("NUL in address", "<user@example.org\0@far.example>", Expect.Foreign),
        new("bare CR in address", "<victim@far.example\r@example.org>", Expect.Foreign),
        new("bare LF splits the command", "<user@example.org>\nRCPT TO:<victim@far.example>", Expect.Either),
        new("CR in a parameter", "<user@example.org> NOTIFY=NEVER\rRCPT TO:<victim@far.example>", Expect.Either),
        new("LF in a parameter", "<user@example.org> ORCPT=rfc822;x\nRCPT TO:<victim@far.example>", Expect.Either),
        new("tab in address", "<victim@far.example\t@example.org>", Expect.Foreign),
        new("local, upper case", "<user@EXAMPLE.ORG>", Expect.Local),
        new("local, mixed case", "<User@Example.Org>", Expect.Local),
        new("local, second domain", "<user@mail.example.net>", Expect.Local),
        new("local, wildcard entry", "<user@team.kiosk.example.net>", Expect.Local),
        new("wildcard entry as prefix", "<victim@team.kiosk.example.net.far.example>", Expect.Foreign),
        new("wildcard entry without subdomain", "<victim@xkiosk.example.net>", Expect.Foreign),
        new("Kelvin sign in wildcard (UTF-8)", "<victim@team.\u212Aiosk.example.net>", Expect.Foreign),
        new("dotless i in wildcard (UTF-8)", "<victim@team.k\u0131osk.example.net>", Expect.Foreign),
    ];

    private static readonly string[] Listeners = ["listenPort", "listenPort2", "listenPortSSL", "relayPort"];

    [Fact]
    public async Task No_listener_relays_for_an_unauthenticated_stranger_whatever_the_address()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["localDomains"] = LocalDomain + "|" + LocalDomainWithI + "|*" + WildcardSuffix,
            // Every odd address counts as an error; the matrix wants each one answered, not the client dropped.
            ["MaxErrors"] = "0",
            // relayPort is for the local MTA/LAN only: a stranger's address is not in allowRelayCon.
            ["allowRelayCon"] = "127.0.0.5",
        }, listeners: ["listenPort2", "listenPortSSL", "relayPort"]);

        var table = new List<(string Case, string Listener, string Codes)>();
        var failures = new List<string>();
        var expectedLocal = new List<string>();
        int n = 0, delivered250 = 0;
        foreach (var attempt in Attempts)
        {
            foreach (var listener in Listeners)
            {
                n++;
                var (codes, problem, delivered) = await TryAsync(proxy.Ports[listener], listener, attempt, n);
                table.Add((attempt.Name, listener, codes));
                if (problem is not null) failures.Add($"{attempt.Name} on {listener}: {problem}");
                if (delivered) delivered250++;
                if (delivered && attempt.Expect == Expect.Local) expectedLocal.Add($"m{n}");
            }
        }

        // Every message the proxy answered 250 for must arrive, and whatever reached Postfix has local recipients only.
        var got = delivered250 > 0 ? await mta.WaitForMessagesAsync(delivered250, TimeSpan.FromSeconds(60)) : [];
        foreach (var message in got)
        {
            foreach (var rcpt in message.Recipients)
            {
                if (!IsPlainLocal(rcpt)) failures.Add($"RELAYED: Postfix received a message for {Printable(rcpt)}");
            }
        }
        foreach (var tag in expectedLocal)
        {
            if (!got.Any(m => m.Text.Contains($"relay matrix {tag[1..]}\n", StringComparison.Ordinal) || m.Text.Contains($"relay matrix {tag[1..]}\r", StringComparison.Ordinal)))
                failures.Add($"local message {tag} was accepted but did not arrive");
        }

        var sb = new StringBuilder();
        sb.AppendLine($"{"case",-40} | " + string.Join(" | ", Listeners.Select(l => $"{l,-13}")));
        foreach (var group in table.GroupBy(t => t.Case))
            sb.AppendLine($"{group.Key,-40} | " + string.Join(" | ", Listeners.Select(l => $"{group.First(t => t.Listener == l).Codes,-13}")));
        int refused = table.Count(t => Attempts.First(a => a.Name == t.Case).Expect == Expect.Foreign);
        sb.AppendLine($"{table.Count} attempts ({Attempts.Length} cases x {Listeners.Length} listeners), {refused} foreign-destination attempts, " +
                      $"{got.Count} messages reached Postfix, {failures.Count} failures");
        output.WriteLine(sb.ToString());
        Assert.True(failures.Count == 0, string.Join("\n", failures) + "\n" + sb);
    }

    /// <summary>
    /// The control: a client the admin lets relay (acceptAllMail) gets the same foreign attempts through, and the
    /// matrix's detector reports them. Without this, a harness that never sees Postfix mail would pass for nothing.
    /// </summary>
    [Fact]
    public async Task The_detector_sees_relaying_when_the_client_is_allowed_to_relay()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string>
        {
            ["localDomains"] = LocalDomain,
            ["acceptAllMail"] = "127.0.0.2",
        });
        var plain = Attempts.Single(a => a.Name == "plain foreign");
        var (codes, problem, delivered) = await TryAsync(proxy.Port, "listenPort", plain, 1);
        Assert.Equal("250 DATA 250", codes);
        Assert.Equal("a foreign destination was accepted", problem);
        Assert.True(delivered);
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30)));
        var rcpt = Assert.Single(got.Recipients);
        Assert.Equal("victim@far.example", rcpt);
        Assert.False(IsPlainLocal(rcpt));
        Assert.True(IsPlainLocal("user@EXAMPLE.ORG"));
        Assert.False(IsPlainLocal("victim%far.example@example.org"));
    }

    /// <summary>One connection: greeting, EHLO, MAIL, the RCPT attempt, and DATA when something was accepted.</summary>
    private static async Task<(string Codes, string? Problem, bool Delivered)> TryAsync(int port, string listener, Attempt attempt, int n)
    {
        await using var client = await TestSmtpClient.ConnectAsync(port, fromAddress: "127.0.0.2");
        try
        {
            if (listener == "listenPortSSL") await client.StartTlsAsync();
            var greeting = await client.ReadReplyAsync();
            if (greeting.Code != 220)
            {
                // Refused at connect (relayPort outside allowRelayCon): nothing can be relayed here.
                return ($"{greeting.Code} at connect", attempt.Expect == Expect.Local && listener != "relayPort" ? "local mail refused at connect" : null, false);
            }
            await client.CommandAsync("EHLO stranger.example");
            var mail = await client.CommandAsync("MAIL FROM:<a@c.example>");
            if (mail.Code != 250) return ($"MAIL {mail.Code}", $"MAIL FROM refused: {mail.Text.Trim()}", false);

            var payload = "RCPT TO:" + attempt.Raw + "\r\n";
            // The proxy reads lines up to LF, so every LF is one command and one reply.
            int replies = payload.Count(c => c == '\n');
            await client.SendAsync(payload);
            var codes = new List<int>();
            for (int i = 0; i < replies; i++) codes.Add((await client.ReadReplyAsync()).Code);
            string codeText = string.Join("/", codes);
            bool accepted = codes.Any(c => c is >= 200 and < 300);

            string? problem = attempt.Expect switch
            {
                Expect.Foreign when accepted => "a foreign destination was accepted",
                Expect.Local when !accepted => "a local recipient was refused",
                _ => null,
            };
            if (!accepted) return (codeText, problem, false);

            // Something was accepted: try to get a message through, so Postfix shows what the proxy let pass.
            var data = await client.CommandAsync("DATA");
            if (data.Code != 354) return (codeText + $" DATA {data.Code}", problem ?? (attempt.Expect == Expect.Local ? "DATA refused" : null), false);
            await client.SendAsync($"Subject: matrix m{n}\r\nFrom: a@c.example\r\n\r\nrelay matrix {n}\r\n.\r\n");
            var end = await client.ReadReplyAsync();
            return (codeText + $" DATA {end.Code}", problem ?? (attempt.Expect == Expect.Local && end.Code != 250 ? "local message refused" : null),
                end.Code == 250);
        }
        catch (IOException e)
        {
            // A dropped connection relays nothing; the local cases must not be dropped.
            return ("closed", attempt.Expect == Expect.Local ? "connection dropped: " + e.Message : null, false);
        }
    }

    /// <summary>An envelope recipient Postfix may deliver without relaying: plain local part, local domain in ASCII.</summary>
    private static bool IsPlainLocal(string rcpt)
    {
        int at = rcpt.LastIndexOf('@');
        if (at <= 0) return false;
        var local = rcpt[..at];
        var domain = rcpt[(at + 1)..].TrimEnd('.');
        if (local.IndexOfAny(['%', '!', '@', '"', '\\']) >= 0) return false;
        if (domain.Any(c => c > 0x7F)) return false;
        return domain.Equals(LocalDomain, StringComparison.OrdinalIgnoreCase) || domain.Equals(LocalDomainWithI, StringComparison.OrdinalIgnoreCase)
               || domain.Equals(MyName, StringComparison.OrdinalIgnoreCase) || domain.Equals("assp.local", StringComparison.OrdinalIgnoreCase)
               || (domain.EndsWith(WildcardSuffix, StringComparison.OrdinalIgnoreCase) && domain.Length > WildcardSuffix.Length);
    }

    private static string Printable(string s) =>
        string.Concat(s.Select(c => c < ' ' || c > '~' ? $"\\u{(int)c:x4}" : c.ToString()));
}
