using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Assp.Config;

namespace Assp.Checks.Recipients;

/// <summary>
/// DoVRFY's callout: asks the MTA of the recipient's domain whether the address exists, with VRFY, or with
/// MAIL FROM:&lt;&gt; and RCPT TO when the MTA does not support VRFY (500/502/504) or is listed in
/// VRFYforceRCPTTO. "SSL:" or port 465 starts in TLS; enableTLS4VRFY uses STARTTLS when offered. Each answer is
/// awaited at most VRFYQueryTimeOut seconds. 2xx means the address exists, 5xx that it does not, 4xx is a
/// temporary failure; an MTA that cannot be reached hands over to the next of the domain's list.
/// </summary>
public sealed class SmtpVerifier
{
    public async Task<LookupResult> VerifyAsync(ConfigSnapshot cfg, string address, IReadOnlyList<VrfyHost> hosts, CancellationToken ct)
    {
        var lists = LocalAddressLists.For(cfg);
        var timeout = TimeSpan.FromSeconds(Math.Clamp(cfg.GetInt("VRFYQueryTimeOut", 5), 1, 300));
        string lastError = "no MTA";
        foreach (var host in hosts)
        {
            try
            {
                return await AskAsync(cfg, host, address, lists.ForcesRcptTo(host), timeout, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException
                or InvalidDataException && !ct.IsCancellationRequested)
            {
                lastError = $"{host}: {ex.Message}";
            }
        }
        return LookupResult.Error(lastError);
    }

    private static async Task<LookupResult> AskAsync(ConfigSnapshot cfg, VrfyHost host, string address, bool forceRcpt, TimeSpan timeout, CancellationToken ct)
    {
        using var tcp = new TcpClient();
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            connect.CancelAfter(timeout);
            await tcp.ConnectAsync(host.Host, host.Port, connect.Token).ConfigureAwait(false);
        }
        Stream stream = tcp.GetStream();
        if (host.Ssl) stream = await TlsAsync(stream, host.Host, timeout, ct).ConfigureAwait(false);
        var session = new Session(stream, timeout);
        var greeting = await session.ReadAsync(ct).ConfigureAwait(false);
        if (greeting.Code != 220) return Answer(greeting, host, "greeting");
        var helo = cfg["myName"].Trim() is { Length: > 0 } n ? n : "assp.local";
        var ehlo = await session.CommandAsync("EHLO " + helo, ct).ConfigureAwait(false);
        if (ehlo.Code != 250) ehlo = await session.CommandAsync("HELO " + helo, ct).ConfigureAwait(false);
        if (ehlo.Code != 250) return Answer(ehlo, host, "HELO");
        if (!host.Ssl && cfg.GetBool("enableTLS4VRFY") && ehlo.Text.Contains("STARTTLS", StringComparison.OrdinalIgnoreCase))
        {
            var starttls = await session.CommandAsync("STARTTLS", ct).ConfigureAwait(false);
            if (starttls.Code == 220)
            {
                session = new Session(await TlsAsync(stream, host.Host, timeout, ct).ConfigureAwait(false), timeout);
                ehlo = await session.CommandAsync("EHLO " + helo, ct).ConfigureAwait(false);
                if (ehlo.Code != 250) return Answer(ehlo, host, "EHLO after STARTTLS");
            }
        }
        LookupResult result;
        var vrfy = forceRcpt ? default : await session.CommandAsync($"VRFY <{address}>", ct).ConfigureAwait(false);
        if (!forceRcpt && vrfy.Code is not (500 or 502 or 504)) result = Answer(vrfy, host, "VRFY");
        else
        {
            var mail = await session.CommandAsync("MAIL FROM:<>", ct).ConfigureAwait(false);
            result = mail.Code / 100 == 2
                ? Answer(await session.CommandAsync($"RCPT TO:<{address}>", ct).ConfigureAwait(false), host, "RCPT TO")
                : Answer(mail, host, "MAIL FROM");
            if (mail.Code / 100 == 5) result = LookupResult.Error($"{host}: MAIL FROM:<> refused: {mail.Text}");
        }
        try
        {
            await session.SendAsync("QUIT", ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
        return result;
    }

    private static LookupResult Answer(Reply reply, VrfyHost host, string step) => (reply.Code / 100) switch
    {
        2 => LookupResult.Found($"{host} {step}: {reply.Text}"),
        5 => LookupResult.NotFound($"{host} {step}: {reply.Text}"),
        4 => new LookupResult(LookupOutcome.TempFail, $"{host} {step}: {reply.Text}"),
        _ => LookupResult.Error($"{host} {step}: {reply.Text}"),
    };

    private static async Task<Stream> TlsAsync(Stream inner, string host, TimeSpan timeout, CancellationToken ct)
    {
        // The MTA is the admin's own, often with a self-made certificate; the callout only asks whether a user exists.
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = host }, cts.Token).ConfigureAwait(false);
        return ssl;
    }

    private readonly record struct Reply(int Code, string Text);

    /// <summary>A minimal SMTP client conversation: one command, one (possibly multi-line) reply.</summary>
    private sealed class Session(Stream stream, TimeSpan timeout)
    {
        private readonly byte[] _buffer = new byte[4096];
        private int _start, _end;

        public async Task SendAsync(string line, CancellationToken ct)
        {
            var bytes = Encoding.ASCII.GetBytes(line + "\r\n");
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            await stream.WriteAsync(bytes, cts.Token).ConfigureAwait(false);
            await stream.FlushAsync(cts.Token).ConfigureAwait(false);
        }

        public async Task<Reply> CommandAsync(string line, CancellationToken ct)
        {
            await SendAsync(line, ct).ConfigureAwait(false);
            return await ReadAsync(ct).ConfigureAwait(false);
        }

        public async Task<Reply> ReadAsync(CancellationToken ct)
        {
            var text = new StringBuilder();
            for (int lines = 0; lines < 100; lines++)
            {
                var line = await ReadLineAsync(ct).ConfigureAwait(false);
                if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code)) throw new InvalidDataException($"not an SMTP reply: '{line}'");
                if (text.Length > 0) text.Append(' ');
                text.Append(line.Length > 4 ? line[4..] : "");
                if (line.Length == 3 || line[3] != '-') return new Reply(code, line[..3] + " " + text);
            }
            throw new InvalidDataException("SMTP reply too long");
        }

        private async Task<string> ReadLineAsync(CancellationToken ct)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            while (true)
            {
                int nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (nl >= 0)
                {
                    var line = Encoding.Latin1.GetString(_buffer, _start, nl - _start).TrimEnd('\r');
                    _start = nl + 1;
                    return line;
                }
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == _buffer.Length) throw new InvalidDataException("SMTP reply line too long");
                int n = await stream.ReadAsync(_buffer.AsMemory(_end), cts.Token).ConfigureAwait(false);
                if (n == 0) throw new IOException("the MTA closed the connection");
                _end += n;
            }
        }
    }
}
