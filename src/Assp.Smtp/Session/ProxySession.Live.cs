using System.Net;
using Assp.Smtp.Monitoring;

namespace Assp.Smtp.Session;

public sealed partial class ProxySession
{
    /// <summary>What the session last published about itself: written only by the session, read by snapshots.</summary>
    private sealed record Published(SessionPhase Phase, string? Helo, string? Sender, string[] Recipients, string? MessageId, int Messages);

    private volatile Published _published = new(SessionPhase.Connect, null, null, [], null, 0);
    private readonly DateTimeOffset _startedAt = DateTimeOffset.Now;

    internal SessionPhase Phase => _published.Phase;

    /// <summary>Records a new phase (and the envelope as it is now) and tells the change feed; one small allocation, no lock.</summary>
    private void Mark(SessionPhase phase)
    {
        _published = new Published(phase, _ctx.Helo, _ctx.MailFrom,
            _ctx.RecipientList.Count == 0 ? [] : [.. _ctx.RecipientList], _ctx.MessageId, _ctx.MessageCount);
        _server.SessionChanges.Changed();
    }

    private static SessionPhase PhaseOf(string verb) => verb switch
    {
        "EHLO" or "HELO" => SessionPhase.Helo,
        "STARTTLS" => SessionPhase.Tls,
        "AUTH" => SessionPhase.Auth,
        "MAIL" => SessionPhase.Mail,
        "RCPT" => SessionPhase.Rcpt,
        "DATA" => SessionPhase.Data,
        "QUIT" => SessionPhase.Closing,
        _ => SessionPhase.Idle,
    };

    /// <summary>A copy of this session's state for the live view. Runs on another thread than the session.</summary>
    internal LiveSessionSnapshot Snapshot()
    {
        var p = _published;
        var check = _ctx.CheckState;
        var message = check.Message;
        var states = new List<string>(4);
        if (message.Refusal is not null) states.Add("blocked");
        if (message.IsWhitelisted || check.IpWhitelisted is not null) states.Add("whitelisted");
        if (message.IsNoProcessing || check.IpNoProcessing is not null) states.Add("noprocessing");
        if (message.SpamFound && message.Refusal is null) states.Add("spam-suspect");
        if (_ctx.IsTls) states.Add("tls");
        if (_ctx.IsAuthenticated) states.Add("auth");
        if (_ctx.RelayAllowed) states.Add("relay");
        if (!states.Any(s => s is "blocked" or "spam-suspect")) states.Insert(0, "ok");
        IPAddress ip = _ctx.RemoteAddress;
        return new LiveSessionSnapshot(_ctx.SessionId, ip.ToString(), _ctx.Remote.Port, $"{_ctx.Listener.Option} {_ctx.Local}", _startedAt,
            p.Helo, p.Sender, p.Recipients, p.Phase, message.MessageScore, states, p.MessageId, p.Messages, ReceivedBytes());
    }

    private long ReceivedBytes() => _ctx.Message?.WrittenBytes ?? 0;
}
