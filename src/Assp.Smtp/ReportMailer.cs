using System.Text;
using Assp.Config;
using Assp.Config.Registry;
using Assp.Smtp.Protocol;
using Assp.Smtp.Session;

namespace Assp.Smtp;

/// <summary>
/// Sends mail that ASSP itself writes (DMARC reports) through the configured relay: relayHost, else
/// smtpDestination; the first target that answers is used.
/// </summary>
public static class ReportMailer
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static IReadOnlyList<UpstreamTarget> Targets(ConfigSnapshot cfg, string? destination = null)
    {
        var value = destination?.Trim() ?? "";
        if (value.Length == 0) value = cfg["relayHost"].Trim();
        if (value.Length == 0) value = cfg["smtpDestination"].Trim();
        var list = new List<UpstreamTarget>();
        foreach (var entry in value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (ValueSyntax.ParseEndpoint(entry, ["INBOUND:", "SSL:"]) is not { } ep) continue;
            list.Add(new UpstreamTarget(ep.Host ?? "127.0.0.1", ep.Port == 0 ? 25 : ep.Port, ep.Ssl));
        }
        return list;
    }

    /// <summary>Sends through the configured relay (relayHost, else smtpDestination); see the overload with a destination.</summary>
    public static Task<string?> SendAsync(ConfigSnapshot cfg, string from, IReadOnlyList<string> to, byte[] message, CancellationToken ct) =>
        SendAsync(cfg, from, to, message, ct, null);

    /// <summary>Delivers one message; returns null on success or the reason it failed. A destination (host:port, "SSL:"
    /// for native TLS) replaces relayHost/smtpDestination when set (EmailReportDestination).</summary>
    public static async Task<string?> SendAsync(ConfigSnapshot cfg, string from, IReadOnlyList<string> to, byte[] message, CancellationToken ct, string? destination)
    {
        var targets = Targets(cfg, destination);
        if (targets.Count == 0) return "neither relayHost nor smtpDestination is set";
        string? failure = null;
        foreach (var target in targets)
        {
            try
            {
                await using var mta = await UpstreamConnection.ConnectAsync(target, (System.Net.IPAddress?)null, Timeout, ct).ConfigureAwait(false);
                Expect(await mta.ReadReplyAsync(Timeout, ct).ConfigureAwait(false), "greeting");
                Expect(await mta.CommandAsync("EHLO " + cfg["myName"], Timeout, ct).ConfigureAwait(false), "EHLO");
                Expect(await mta.CommandAsync($"MAIL FROM:<{from}>", Timeout, ct).ConfigureAwait(false), "MAIL FROM");
                int accepted = 0;
                foreach (var rcpt in to)
                    if ((await mta.CommandAsync($"RCPT TO:<{rcpt}>", Timeout, ct).ConfigureAwait(false)).IsSuccess) accepted++;
                if (accepted == 0) return $"{target}: no recipient accepted";
                var data = await mta.CommandAsync("DATA", Timeout, ct).ConfigureAwait(false);
                if (data.Code != 354) return $"{target}: DATA refused: {data}";
                await mta.WriteAsync(DotStuff(message), ct).ConfigureAwait(false);
                var done = await mta.CommandAsync(".", Timeout, ct).ConfigureAwait(false);
                if (!done.IsSuccess) return $"{target}: message refused: {done}";
                try { await mta.CommandAsync("QUIT", Timeout, ct).ConfigureAwait(false); } catch (IOException) { }
                return null;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException)
            {
                failure = $"{target}: {e.Message}";
            }
        }
        return failure;
    }

    private static void Expect(SmtpReply reply, string step)
    {
        if (!reply.IsSuccess) throw new InvalidOperationException($"{step}: {reply}");
    }

    /// <summary>Lines starting with a dot get another one (RFC 5321 4.5.2); the message ends with CRLF.</summary>
    private static byte[] DotStuff(byte[] message)
    {
        var text = Encoding.Latin1.GetString(message).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var sb = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (i == text.Length - 1 && text[i].Length == 0) break;
            if (text[i].StartsWith('.')) sb.Append('.');
            sb.Append(text[i]).Append("\r\n");
        }
        return Encoding.Latin1.GetBytes(sb.ToString());
    }
}
