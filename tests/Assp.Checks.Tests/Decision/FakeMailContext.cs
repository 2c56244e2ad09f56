using System.Net;
using System.Text;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Decision;

/// <summary>A session as the SMTP engine would present it, for driving the pipeline phase by phase.</summary>
internal sealed class FakeMailContext(ConfigSnapshot config, string ip = "203.0.113.9") : IMailContext
{
    private byte[]? _message;
    public ConfigSnapshot Config { get; set; } = config;
    public string SessionId => "test-session";
    public IPAddress RemoteAddress { get; set; } = IPAddress.Parse(ip);
    public IPAddress LocalAddress => IPAddress.Loopback;
    public int LocalPort => 25;
    public ConnectionClass Class { get; set; } = ConnectionClass.External;
    public bool IsAuthenticated { get; set; }
    public bool IsTls { get; set; }
    public string? Helo { get; set; } = "mx.example.net";
    public string? MailFrom { get; set; }
    public List<string> RecipientList { get; } = [];
    public IReadOnlyList<string> Recipients => RecipientList;
    public bool IsOutgoing => IsAuthenticated || Class != ConnectionClass.External;
    public Stream? OpenMessage() => _message is null ? null : new MemoryStream(_message, writable: false);
    public long MessageSize => _message?.Length ?? 0;
    public CheckSession CheckState { get; } = new();
    public bool Delivered { get; set; }
    public List<string> LogLines { get; } = [];
    public void Log(string line) => LogLines.Add(line);
    public MessageState State => CheckState.Message;

    public void SetMessage(string text) => _message = Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\r\n"));
}

/// <summary>Runs a whole transaction through a pipeline and reports the first refusal.</summary>
internal static class Transaction
{
    public static async Task<(Verdict Verdict, string Phase)> RunAsync(ICheckPipeline pipeline, FakeMailContext ctx, string from, string[] rcpts, string message)
    {
        var v = await pipeline.RunAsync(SmtpPhase.Connect, ctx, default);
        if (v.Refuses) return (v, "connect");
        ctx.MailFrom = from;
        v = await pipeline.RunAsync(SmtpPhase.MailFrom, ctx, default);
        if (v.Refuses) return (v, "mail");
        pipeline.RewriteSender(ctx, from);
        foreach (var r in rcpts)
        {
            // As the SMTP engine does: envelope tags come off (or a forged one is refused) before the RCPT checks.
            var (address, tagVerdict) = pipeline.RewriteRecipient(ctx, r);
            if (tagVerdict.Refuses)
            {
                if (rcpts.Length == 1) return (tagVerdict, "rcpt");
                continue;
            }
            ctx.RecipientList.Add(address);
            v = await pipeline.RunAsync(SmtpPhase.RcptTo, ctx, default);
            if (v.Refuses)
            {
                ctx.RecipientList.RemoveAt(ctx.RecipientList.Count - 1);
                if (rcpts.Length == 1) return (v, "rcpt");
            }
        }
        ctx.SetMessage(message);
        foreach (var phase in new[] { SmtpPhase.DataHeader, SmtpPhase.DataBody })
        {
            v = await pipeline.RunAsync(phase, ctx, default);
            if (v.Refuses) return (v, phase.ToString());
        }
        ctx.Delivered = true;
        await pipeline.RunAsync(SmtpPhase.AfterDelivery, ctx, default);
        return (Verdict.Pass, "delivered");
    }
}

/// <summary>An in-memory PenaltyBox for engine tests.</summary>
internal sealed class FakeIpReputation : IIpReputation
{
    public Dictionary<string, double> Black { get; } = [];
    public HashSet<string> White { get; } = [];
    public void AddBlack(ConfigSnapshot cfg, IPAddress ip, double score, string reason) => Black[ip.ToString()] = Black.GetValueOrDefault(ip.ToString()) + score;
    public double? BlackTotal(ConfigSnapshot cfg, IPAddress ip) => Black.TryGetValue(ip.ToString(), out var v) ? v : null;
    public bool IsWhite(ConfigSnapshot cfg, IPAddress ip) => White.Contains(ip.ToString());
    public void AddWhite(ConfigSnapshot cfg, IPAddress ip, string reason) => White.Add(ip.ToString());
    public void DeleteBlack(ConfigSnapshot cfg, IPAddress ip) => Black.Remove(ip.ToString());
    public void DeleteWhite(ConfigSnapshot cfg, IPAddress ip) => White.Remove(ip.ToString());
}

/// <summary>An in-memory address database for engine tests (global entries only).</summary>
internal sealed class FakeAddressReputation : IAddressReputation
{
    public HashSet<string> Whitelist { get; } = new(StringComparer.OrdinalIgnoreCase);
    public HashSet<string> Redlist { get; } = new(StringComparer.OrdinalIgnoreCase);
    public HashSet<(string To, string From)> PersBlack { get; } = [];
    public List<OutgoingMail> Learned { get; } = [];
    public bool IsWhitelisted(ConfigSnapshot cfg, string sender, string? recipient) => Whitelist.Contains(sender);
    public bool IsRedlisted(ConfigSnapshot cfg, string address) => Redlist.Contains(address);
    public bool IsPersonallyBlocked(ConfigSnapshot cfg, string recipient, string sender) => PersBlack.Contains((recipient.ToLowerInvariant(), sender.ToLowerInvariant()));
    public IReadOnlyList<string> LearnFromOutgoing(ConfigSnapshot cfg, OutgoingMail mail)
    {
        Learned.Add(mail);
        foreach (var r in mail.Recipients) Whitelist.Add(r);
        return mail.Recipients;
    }
    public void Touch(ConfigSnapshot cfg, string sender, string? recipient) { }
}
