using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests;

// The fixture's own proof: a real private Postfix accepts, rejects and captures as the end-to-end tests rely on.
// Several classes so xunit runs them in parallel, which also exercises concurrent instances.

public sealed class PostfixDeliveryTests
{
    [Fact]
    public async Task Raw_smtp_message_is_captured_with_its_envelope_and_postfix_headers()
    {
        await using var postfix = await PostfixInstance.StartAsync();
        await using (var smtp = await RawSmtp.ConnectAsync(postfix))
        {
            Assert.Contains(PostfixInstance.HostName, smtp.Banner.Text, StringComparison.Ordinal);
            var ehlo = await smtp.CommandAsync("EHLO client.e2e.test", 250);
            Assert.DoesNotContain(ehlo.Lines, l => l.Contains("STARTTLS", StringComparison.OrdinalIgnoreCase));
            await smtp.CommandAsync("MAIL FROM:<alice@sender.example>", 250);
            await smtp.CommandAsync("RCPT TO:<bob@rcpt.example>", 250);
            await smtp.CommandAsync("RCPT TO:<carol@other.example>", 250);
            await smtp.SendMessageAsync(
                "From: alice@sender.example\r\nTo: bob@rcpt.example\r\nSubject: raw client\r\n\r\nfirst line\r\n.leading dot\r\n");
            await smtp.CommandAsync("QUIT", 221);
        }

        var message = Assert.Single(await postfix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal("alice@sender.example", message.Sender);
        // One fixed nexthop: recipients in different domains still arrive as one delivery.
        Assert.Equal(["bob@rcpt.example", "carol@other.example"], message.Recipients.Order(StringComparer.Ordinal));
        Assert.Contains("Subject: raw client\n", message.Text, StringComparison.Ordinal);
        Assert.Contains($"by {PostfixInstance.HostName} (Postfix)", message.Text, StringComparison.Ordinal);
        Assert.StartsWith("Received: from client.e2e.test", message.Text, StringComparison.Ordinal);
        Assert.Contains("\nfirst line\n.leading dot\n", message.Text, StringComparison.Ordinal); // dot-unstuffed
    }

    [Fact]
    public async Task Swaks_message_is_captured_with_its_envelope()
    {
        await using var postfix = await PostfixInstance.StartAsync();

        var (exit, output) = await Swaks.RunAsync(postfix,
            "--from", "sender@swaks.example", "--to", "one@dest.example,two@dest.example",
            "--header", "Subject: via swaks", "--body", "hello from swaks");
        Assert.True(exit == 0, output);

        var message = Assert.Single(await postfix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal("sender@swaks.example", message.Sender);
        Assert.Equal(["one@dest.example", "two@dest.example"], message.Recipients.Order(StringComparer.Ordinal));
        Assert.Contains("Subject: via swaks\n", message.Text, StringComparison.Ordinal);
        Assert.Contains("hello from swaks", message.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Null_sender_is_captured_as_empty_and_messages_keep_delivery_order()
    {
        await using var postfix = await PostfixInstance.StartAsync();
        await using (var smtp = await RawSmtp.ConnectAsync(postfix))
        {
            await smtp.CommandAsync("EHLO client.e2e.test", 250);
            await smtp.SendMailAsync("", "bounce-target@dest.example", "Subject: first\r\n\r\nbody\r\n");
            Assert.Single(await postfix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
            await smtp.SendMailAsync("second@sender.example", "x@dest.example", "Subject: second\r\n\r\nbody\r\n");
        }

        var messages = await postfix.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(2, messages.Count);
        Assert.Equal("", messages[0].Sender);
        Assert.Equal(["bounce-target@dest.example"], messages[0].Recipients);
        Assert.Equal("second@sender.example", messages[1].Sender);
    }

    [Fact]
    public async Task Two_instances_run_side_by_side_and_capture_separately()
    {
        var started = await Task.WhenAll(PostfixInstance.StartAsync(), PostfixInstance.StartAsync());
        await using var first = started[0];
        await using var second = started[1];
        Assert.NotEqual(first.Port, second.Port);
        Assert.NotEqual(first.RootDirectory, second.RootDirectory);

        await Task.WhenAll(Send(first, "to-first@dest.example"), Send(second, "to-second@dest.example"));

        var fromFirst = Assert.Single(await first.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        var fromSecond = Assert.Single(await second.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(["to-first@dest.example"], fromFirst.Recipients);
        Assert.Equal(["to-second@dest.example"], fromSecond.Recipients);

        static async Task Send(PostfixInstance postfix, string rcpt)
        {
            await using var smtp = await RawSmtp.ConnectAsync(postfix);
            await smtp.CommandAsync("EHLO client.e2e.test", 250);
            await smtp.SendMailAsync("parallel@sender.example", rcpt, "Subject: parallel\r\n\r\nbody\r\n");
        }
    }

    [Fact]
    public async Task Dispose_stops_the_master_frees_the_port_and_deletes_the_folder()
    {
        var postfix = await PostfixInstance.StartAsync();
        int pid = Assert.NotNull(postfix.MasterProcessId);
        Assert.Equal("master", File.ReadAllText($"/proc/{pid}/comm").Trim());

        await postfix.DisposeAsync();

        Assert.False(Directory.Exists(postfix.RootDirectory));
        Assert.True(!Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal));
        using var client = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => client.ConnectAsync(postfix.Host, postfix.Port));
        await postfix.DisposeAsync(); // idempotent
    }
}

public sealed class PostfixPolicyTests
{
    [Fact]
    public async Task Recipient_matching_the_reject_regex_gets_550_and_the_others_are_delivered()
    {
        await using var postfix = await PostfixInstance.StartAsync(new PostfixOptions { RejectRecipientsRegex = "^reject-[a-z0-9]*@" });
        await using (var smtp = await RawSmtp.ConnectAsync(postfix))
        {
            await smtp.CommandAsync("EHLO client.e2e.test", 250);
            await smtp.CommandAsync("MAIL FROM:<a@sender.example>", 250);
            var rejected = await smtp.CommandAsync("RCPT TO:<reject-me@dest.example>", 550);
            Assert.Contains("5.1.1", rejected.Text, StringComparison.Ordinal);
            await smtp.CommandAsync("RCPT TO:<Reject-Upper@dest.example>", 550); // regexp tables ignore case
            await smtp.CommandAsync("RCPT TO:<keep@dest.example>", 250);
            await smtp.SendMessageAsync("Subject: partly rejected\r\n\r\nbody\r\n");
        }

        var message = Assert.Single(await postfix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(["keep@dest.example"], message.Recipients);
    }

    [Fact]
    public async Task Message_over_the_size_limit_gets_552()
    {
        await using var postfix = await PostfixInstance.StartAsync(new PostfixOptions { MessageSizeLimit = 2000 });
        var big = "Subject: too big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 70) + "\r\n", 60));
        await using (var smtp = await RawSmtp.ConnectAsync(postfix))
        {
            var ehlo = await smtp.CommandAsync("EHLO client.e2e.test", 250);
            Assert.Contains(ehlo.Lines, l => l.EndsWith("SIZE 2000", StringComparison.Ordinal));
            // Declared too big: refused at MAIL.
            await smtp.CommandAsync("MAIL FROM:<a@sender.example> SIZE=5000", 552);
            await smtp.CommandAsync("RSET", 250); // smtpd would otherwise keep the declared SIZE for the next MAIL
            // Undeclared: refused at the end of DATA.
            await smtp.CommandAsync("MAIL FROM:<a@sender.example>", 250);
            await smtp.CommandAsync("RCPT TO:<b@dest.example>", 250);
            await smtp.CommandAsync("DATA", 354);
            var reply = await smtp.SendDataBodyAsync(big);
            Assert.Equal(552, reply.Code);
            // Still usable for a message that fits.
            await smtp.SendMailAsync("a@sender.example", "small@dest.example", "Subject: small\r\n\r\nfits\r\n");
        }

        var message = Assert.Single(await postfix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(["small@dest.example"], message.Recipients);
    }

    [Fact]
    public async Task Extra_main_cf_lines_override_the_defaults()
    {
        await using var postfix = await PostfixInstance.StartAsync(new PostfixOptions { ExtraMainCf = "smtpd_banner = $myhostname ESMTP extra-banner" });
        await using var smtp = await RawSmtp.ConnectAsync(postfix);
        Assert.Contains("extra-banner", smtp.Banner.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Smtpd_that_cannot_serve_fails_start_with_the_postfix_log()
    {
        // The master comes up but every smtpd dies reading the bad time value, so no 220 ever arrives.
        var options = new PostfixOptions { ExtraMainCf = "smtpd_timeout = not-a-time", StartTimeout = TimeSpan.FromSeconds(4) };
        var e = await Assert.ThrowsAsync<PostfixStartException>(() => PostfixInstance.StartAsync(options));
        Assert.Contains("did not answer 220", e.Message, StringComparison.Ordinal);
        Assert.Contains("not-a-time", e.Message, StringComparison.Ordinal); // smtpd's fatal, from the log
    }

    [Fact]
    public async Task Postfix_start_failure_reports_the_postfix_log_and_cleans_up()
    {
        var options = new PostfixOptions { ExtraMainCf = "queue_directory = /nonexistent/assp-e2e" };
        var e = await Assert.ThrowsAsync<PostfixStartException>(() => PostfixInstance.StartAsync(options));
        Assert.Contains("postfix start failed", e.Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/assp-e2e", e.Message, StringComparison.Ordinal);
    }
}

public sealed class PostfixTlsTests
{
    [Fact]
    public async Task Tls_instance_offers_starttls_and_negotiates_it()
    {
        await using var postfix = await PostfixInstance.StartAsync(new PostfixOptions { EnableTls = true });
        Assert.True(File.Exists(postfix.TlsCertificateFile));
        await using (var smtp = await RawSmtp.ConnectAsync(postfix))
        {
            var ehlo = await smtp.CommandAsync("EHLO client.e2e.test", 250);
            Assert.Contains(ehlo.Lines, l => l.EndsWith("STARTTLS", StringComparison.Ordinal));
            await smtp.CommandAsync("STARTTLS", 220);
            await smtp.UpgradeToTlsAsync();
            var secured = await smtp.CommandAsync("EHLO client.e2e.test", 250);
            Assert.DoesNotContain(secured.Lines, l => l.EndsWith("STARTTLS", StringComparison.Ordinal));
            await smtp.SendMailAsync("tls@sender.example", "raw-tls@dest.example", "Subject: raw tls\r\n\r\nbody\r\n");
        }

        var message = Assert.Single(await postfix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Contains("(using TLS", message.Text, StringComparison.Ordinal); // Postfix notes TLS in Received
    }

    [Fact]
    public async Task Swaks_tls_succeeds()
    {
        await using var postfix = await PostfixInstance.StartAsync(new PostfixOptions { EnableTls = true });

        var (exit, output) = await Swaks.RunAsync(postfix, "--tls", "--from", "tls@sender.example", "--to", "swaks-tls@dest.example");
        Assert.True(exit == 0, output);
        Assert.Contains("TLS started", output, StringComparison.Ordinal);

        var message = Assert.Single(await postfix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal(["swaks-tls@dest.example"], message.Recipients);
    }
}

public sealed class PostfixAuthTests
{
    [Fact]
    public async Task Auth_instance_advertises_plain_and_login()
    {
        await using var postfix = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });
        await using var smtp = await RawSmtp.ConnectAsync(postfix);
        var ehlo = await smtp.CommandAsync("EHLO client.e2e.test", 250);
        var auth = Assert.Single(ehlo.Lines, l => l.StartsWith("250-AUTH ", StringComparison.Ordinal) || l.StartsWith("250 AUTH ", StringComparison.Ordinal));
        Assert.Contains("PLAIN", auth, StringComparison.Ordinal);
        Assert.Contains("LOGIN", auth, StringComparison.Ordinal);

        // AUTH PLAIN by hand: \0user\0password, base64.
        var token = Convert.ToBase64String(Encoding.ASCII.GetBytes($"\0{PostfixInstance.AuthUser}\0{PostfixInstance.AuthPassword}"));
        await smtp.CommandAsync("AUTH PLAIN " + token, 235);
    }

    [Fact]
    public async Task Swaks_auth_plain_and_login_succeed_and_deliver()
    {
        await using var postfix = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });

        foreach (var mechanism in new[] { "PLAIN", "LOGIN" })
        {
            var (exit, output) = await Swaks.RunAsync(postfix, "--auth", mechanism,
                "--auth-user", PostfixInstance.AuthUser, "--auth-password", PostfixInstance.AuthPassword,
                "--from", "auth@sender.example", "--to", $"{mechanism.ToLowerInvariant()}@dest.example");
            Assert.True(exit == 0, output);
            Assert.Contains(" 235 ", output, StringComparison.Ordinal);
        }

        var messages = await postfix.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(["login@dest.example", "plain@dest.example"], messages.SelectMany(m => m.Recipients).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Wrong_password_gets_535()
    {
        await using var postfix = await PostfixInstance.StartAsync(new PostfixOptions { EnableAuth = true });

        var (exit, output) = await Swaks.RunAsync(postfix, "--auth", "PLAIN",
            "--auth-user", PostfixInstance.AuthUser, "--auth-password", "wrong",
            "--from", "auth@sender.example", "--to", "nobody@dest.example");
        Assert.NotEqual(0, exit);
        Assert.Contains("535", output, StringComparison.Ordinal);
        Assert.Empty(postfix.GetCapturedMessages());
    }
}

internal sealed record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    public string Text => string.Join('\n', Lines);
}

/// <summary>The smallest SMTP client that does what the tests need, byte for byte on a socket.</summary>
internal sealed class RawSmtp : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(20);
    private readonly TcpClient _client;
    private Stream _stream;

    private RawSmtp(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public SmtpReply Banner { get; private set; } = new(0, []);

    public static async Task<RawSmtp> ConnectAsync(PostfixInstance postfix)
    {
        var client = new TcpClient();
        await client.ConnectAsync(postfix.Host, postfix.Port);
        var smtp = new RawSmtp(client);
        smtp.Banner = await smtp.ReadReplyAsync();
        Assert.Equal(220, smtp.Banner.Code);
        return smtp;
    }

    public async Task<SmtpReply> CommandAsync(string line, int expectedCode)
    {
        await WriteAsync(line + "\r\n");
        var reply = await ReadReplyAsync();
        Assert.True(reply.Code == expectedCode, $"{line} -> {reply.Text} (expected {expectedCode})");
        return reply;
    }

    public async Task SendMailAsync(string from, string to, string message)
    {
        await CommandAsync($"MAIL FROM:<{from}>", 250);
        await CommandAsync($"RCPT TO:<{to}>", 250);
        await SendMessageAsync(message);
    }

    /// <summary>DATA, the dot-stuffed message and the final dot; expects 250.</summary>
    public async Task SendMessageAsync(string message)
    {
        await CommandAsync("DATA", 354);
        var reply = await SendDataBodyAsync(message);
        Assert.True(reply.Code == 250, "end of DATA -> " + reply.Text);
    }

    public async Task<SmtpReply> SendDataBodyAsync(string message)
    {
        var stuffed = string.Join("\r\n", message.Split("\r\n").Select(l => l.StartsWith('.') ? "." + l : l));
        if (!stuffed.EndsWith("\r\n", StringComparison.Ordinal)) stuffed += "\r\n";
        await WriteAsync(stuffed + ".\r\n");
        return await ReadReplyAsync();
    }

    public async Task UpgradeToTlsAsync()
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true); // self-signed test cert
        await tls.AuthenticateAsClientAsync(PostfixInstance.HostName);
        _stream = tls;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }

    private async Task WriteAsync(string text)
    {
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(text));
        await _stream.FlushAsync();
    }

    private async Task<SmtpReply> ReadReplyAsync()
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(timeout.Token);
            lines.Add(line);
            // "250-more" continues, "250 last" ends.
            if (line.Length < 4 || line[3] != '-')
                return new SmtpReply(int.Parse(line.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture), lines);
        }
    }

    // Byte by byte, so nothing is buffered past the reply when the stream is switched to TLS.
    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await _stream.ReadAsync(one, ct) == 0) throw new IOException("connection closed; read so far: " + Encoding.ASCII.GetString([.. bytes]));
            if (one[0] == '\n') break;
            bytes.Add(one[0]);
        }
        if (bytes.Count > 0 && bytes[^1] == '\r') bytes.RemoveAt(bytes.Count - 1);
        return Encoding.ASCII.GetString([.. bytes]);
    }
}

internal static class Swaks
{
    public static async Task<(int Exit, string Output)> RunAsync(PostfixInstance postfix, params string[] args)
    {
        var info = new ProcessStartInfo("swaks")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "--server", postfix.Host, "--port", postfix.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--helo", "swaks.e2e.test", "--timeout", "20" }.Concat(args))
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("swaks did not finish in 60 s: " + await stdout);
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
