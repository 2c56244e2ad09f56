using System.Net;
using System.Net.Sockets;
using System.Text;
using Assp.EndToEnd.Tests.Infrastructure;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>
/// What the client sees when the MTA misbehaves. Postfix does not fail on purpose, so these tests put a small
/// scripted SMTP server on a loopback socket in its place.
/// </summary>
public class FaultTests
{
    /// <summary>A minimal SMTP server that answers by a script and can fail at a chosen moment.</summary>
    private sealed class FaultyMta : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Func<string, string?> _answer;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public int MessagesCompleted;

        /// <param name="answer">Reply to a command (null = close the connection); "DATA-BODY" is asked after the data.</param>
        public FaultyMta(Func<string, string?> answer)
        {
            _answer = answer;
            _listener.Start();
            _loop = Task.Run(AcceptLoop);
        }

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (OperationCanceledException) { return; }
                _ = Task.Run(() => Serve(client));
            }
        }

        private async Task Serve(TcpClient client)
        {
            using (client)
            {
                var stream = client.GetStream();
                var reader = new StreamReader(stream, Encoding.ASCII);
                async Task<bool> Say(string? text)
                {
                    if (text is null) return false;
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"));
                    return true;
                }
                try
                {
                    if (!await Say(_answer("CONNECT"))) return;
                    while (await reader.ReadLineAsync() is { } line)
                    {
                        var verb = line.Split(' ')[0].ToUpperInvariant();
                        if (!await Say(_answer(verb))) return;
                        if (verb == "DATA" && _answer("DATA") is { } r && r.StartsWith("354"))
                        {
                            while (await reader.ReadLineAsync() is { } data && data != ".")
                            {
                                if (_answer("DATA-LINE") is null) return;
                            }
                            if (!await Say(_answer("DATA-BODY"))) return;
                            Interlocked.Increment(ref MessagesCompleted);
                        }
                        if (verb == "QUIT") return;
                    }
                }
                catch (IOException) { }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            try { await _loop; } catch (OperationCanceledException) { }
        }
    }

    private static string? Normal(string verb) => verb switch
    {
        "CONNECT" => "220 faulty.test ESMTP",
        "EHLO" => "250-faulty.test\r\n250 PIPELINING",
        "DATA" => "354 go ahead",
        "DATA-LINE" => "",
        "DATA-BODY" => "250 2.0.0 queued",
        "QUIT" => "221 bye",
        _ => "250 2.0.0 ok",
    };

    private static async Task<(int Code, string Text)> SendOne(int port)
    {
        await using var client = await TestSmtpClient.ConnectAsync(port);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO c.example");
        await client.CommandAsync("MAIL FROM:<a@c.example>");
        await client.CommandAsync("RCPT TO:<u@example.com>");
        await client.CommandAsync("DATA");
        await client.SendAsync("Subject: t\r\n\r\nbody\r\n.\r\n");
        return await client.ReadReplyAsync();
    }

    [Fact]
    public async Task An_mta_that_drops_the_connection_mid_data_gets_the_client_a_451_never_a_250()
    {
        await using var mta = new FaultyMta(v => v == "DATA-LINE" ? null : Normal(v));
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        var reply = await SendOne(proxy.Port);
        Assert.Equal(451, reply.Code);
        await proxy.WaitForLogAsync("the MTA failed while taking the message");
    }

    [Fact]
    public async Task An_mta_that_closes_before_answering_the_final_dot_gets_a_451()
    {
        await using var mta = new FaultyMta(v => v == "DATA-BODY" ? null : Normal(v));
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        Assert.Equal(451, (await SendOne(proxy.Port)).Code);
    }

    [Theory]
    [InlineData("451 4.3.0 try later", 451)]
    [InlineData("554 5.7.1 no thanks", 554)]
    public async Task The_mtas_refusal_of_the_message_is_what_the_client_gets(string mtaReply, int expected)
    {
        await using var mta = new FaultyMta(v => v == "DATA-BODY" ? mtaReply : Normal(v));
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        var reply = await SendOne(proxy.Port);
        Assert.Equal(expected, reply.Code);
        Assert.Contains(mtaReply[4..], reply.Text);
    }

    [Fact]
    public async Task When_the_mta_refuses_the_sender_every_recipient_gets_that_refusal_and_nothing_is_sent()
    {
        await using var mta = new FaultyMta(v => v == "MAIL" ? "553 5.1.8 sender refused" : Normal(v));
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO c.example");
        await client.CommandAsync("MAIL FROM:<bad@c.example>");
        Assert.Equal("553 5.1.8 sender refused", (await client.CommandAsync("RCPT TO:<u@example.com>")).Text.Trim());
        Assert.Equal(553, (await client.CommandAsync("RCPT TO:<v@example.com>")).Code);
        Assert.Equal(503, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        Assert.Equal(0, mta.MessagesCompleted);
    }

    [Fact]
    public async Task An_mta_that_greets_with_4xx_or_5xx_is_passed_on()
    {
        await using var mta = new FaultyMta(v => v == "CONNECT" ? "554 5.3.2 not accepting" : Normal(v));
        await using var proxy = await ProxyInstance.StartAsync(mta.Port);
        await using var client = await TestSmtpClient.ConnectAsync(proxy.Port);
        Assert.Equal(554, (await client.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Failover_uses_the_next_destination_when_the_first_is_down()
    {
        await using var mta = new FaultyMta(Normal);
        int dead = ProxyInstance.FreePort();
        await using var proxy = await ProxyInstance.StartAsync(0, new Dictionary<string, string>
        {
            ["smtpDestination"] = $"127.0.0.1:{dead}|127.0.0.1:{mta.Port}",
        });
        Assert.Equal(250, (await SendOne(proxy.Port)).Code);
        Assert.Equal(1, mta.MessagesCompleted);
    }

    [Fact]
    public async Task A_slowloris_client_is_cut_off_by_the_idle_timeout_and_others_are_served()
    {
        await using var mta = await PostfixInstance.StartAsync();
        await using var proxy = await ProxyInstance.StartAsync(mta.Port, new Dictionary<string, string> { ["smtpIdleTimeout"] = "2" });
        await using var slow = await TestSmtpClient.ConnectAsync(proxy.Port);
        await slow.ReadReplyAsync();
        await slow.SendAsync("EH");   // never finishes the line
        Assert.Equal(250, (await SendOne(proxy.Port)).Code);
        var reply = await slow.ReadReplyAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(451, reply.Code);
        Assert.True(await slow.IsClosedAsync(TimeSpan.FromSeconds(5)));
    }
}
