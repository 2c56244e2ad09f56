using System.Net;
using Assp.Config;

namespace Assp.Checks;

/// <summary>The moments of an SMTP transaction at which checks run.</summary>
public enum SmtpPhase { Connect, Helo, Auth, MailFrom, RcptTo, DataHeader, DataBody, AfterDelivery }

public enum VerdictKind
{
    /// <summary>Nothing to say; go on.</summary>
    Pass,
    /// <summary>Add to the message score and go on (the decision engine adds limits later).</summary>
    Score,
    /// <summary>Refuse with a permanent reply (5xx).</summary>
    Block,
    /// <summary>Refuse for now with a temporary reply (4xx).</summary>
    TempFail,
    /// <summary>Close the connection without further talk.</summary>
    Drop,
}

/// <summary>What a check (or the whole pipeline) decides at one phase.</summary>
public readonly record struct Verdict(VerdictKind Kind, string? Reply = null, double Score = 0, string? Reason = null, bool Close = false)
{
    /// <summary>Refuse and close the connection after the reply (ASSP's seterror(…, 1)).</summary>
    public static Verdict BlockAndClose(string reply, string reason) => new(VerdictKind.Block, reply, 0, reason, true);
    public static readonly Verdict Pass = new(VerdictKind.Pass);
    public static Verdict Block(string reply, string reason) => new(VerdictKind.Block, reply, 0, reason);
    public static Verdict TempFail(string reply, string reason) => new(VerdictKind.TempFail, reply, 0, reason);
    public static Verdict Drop(string reason) => new(VerdictKind.Drop, null, 0, reason);
    public static Verdict AddScore(double score, string reason) => new(VerdictKind.Score, null, score, reason);
    public bool Refuses => Kind is VerdictKind.Block or VerdictKind.TempFail or VerdictKind.Drop;
}

/// <summary>How the connection is classed; decides relay rights and which checks apply.</summary>
public enum ConnectionClass { External, Relay, Isp, Local }

/// <summary>The read-only view of a session that checks get. The SMTP engine implements it.</summary>
public interface IMailContext
{
    ConfigSnapshot Config { get; }
    string SessionId { get; }
    IPAddress RemoteAddress { get; }
    IPAddress LocalAddress { get; }
    int LocalPort { get; }
    ConnectionClass Class { get; }
    bool IsAuthenticated { get; }
    bool IsTls { get; }
    string? Helo { get; }
    string? MailFrom { get; }
    IReadOnlyList<string> Recipients { get; }
    /// <summary>True when every accepted recipient is local (incoming mail); false for outgoing mail.</summary>
    bool IsOutgoing { get; }
    /// <summary>The received message (header and body, CRLF lines, not dot-stuffed); only in the DATA phases.</summary>
    Stream? OpenMessage();
    long MessageSize { get; }
    /// <summary>The decision engine's state for this session (scores, classes, tags, headers to add).</summary>
    Decision.CheckSession CheckState { get; }
    /// <summary>True in the after-delivery phase when the MTA accepted the message.</summary>
    bool Delivered { get; }
    /// <summary>Writes a maillog line for this session (with its message id).</summary>
    void Log(string line);
}

/// <summary>Runs every check of a phase and combines their verdicts. The SMTP engine calls it at each phase.</summary>
public interface ICheckPipeline
{
    ValueTask<Verdict> RunAsync(SmtpPhase phase, IMailContext context, CancellationToken cancellationToken);

    /// <summary>The envelope sender as it goes on to the MTA (SRS, BATV tagging); called once MAIL FROM passed.</summary>
    string RewriteSender(IMailContext context, string sender) => sender;

    /// <summary>A recipient with our SRS or BATV tag taken off (what the checks and the MTA see), or a refusal of a
    /// forged tag; called before the RCPT TO checks.</summary>
    (string Address, Verdict Verdict) RewriteRecipient(IMailContext context, string recipient) => (recipient, Verdict.Pass);

    /// <summary>Is mail for this domain ours (localDomains; the decision pipeline adds ldLDAP)? Decides relaying at RCPT TO.</summary>
    ValueTask<bool> IsLocalDomainAsync(Assp.Config.ConfigSnapshot cfg, string domain, CancellationToken cancellationToken) =>
        ValueTask.FromResult(LocalDomains.For(cfg).IsLocal(domain));

    /// <summary>Is this a valid local address (LocalAddresses_Flat, LDAP, VRFY; true when nothing validates addresses
    /// or the lookup could not answer)? RelayOnlyLocalSender asks it for the sender of relayed mail.</summary>
    ValueTask<bool> IsLocalAddressAsync(Assp.Config.ConfigSnapshot cfg, string address, CancellationToken cancellationToken) =>
        ValueTask.FromResult(true);

    /// <summary>The email interface's list and corpus actions; null when this pipeline has no databases (the interface is off).</summary>
    EmailInterface.EmailInterfaceProcessor? EmailInterface => null;
}

/// <summary>The pipeline until the check issues land: every phase passes.</summary>
public sealed class PassAllPipeline : ICheckPipeline
{
    public static readonly PassAllPipeline Instance = new();
    public ValueTask<Verdict> RunAsync(SmtpPhase phase, IMailContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Verdict.Pass);
}
