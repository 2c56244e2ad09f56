using System.Net;
using Assp.Config;

namespace Assp.Checks.Decision;

/// <summary>The PenaltyBox as the decision engine uses it (IP scores, black and white box).</summary>
public interface IIpReputation
{
    /// <summary>Adds an IP score (already filtered for noPB, private IPs and the white box by the caller's rules).</summary>
    void AddBlack(ConfigSnapshot cfg, IPAddress ip, double score, string reason);
    /// <summary>The IP's total in the black box, or null when it is not there (or expired).</summary>
    double? BlackTotal(ConfigSnapshot cfg, IPAddress ip);
    bool IsWhite(ConfigSnapshot cfg, IPAddress ip);
    void AddWhite(ConfigSnapshot cfg, IPAddress ip, string reason);
    void DeleteBlack(ConfigSnapshot cfg, IPAddress ip);
    void DeleteWhite(ConfigSnapshot cfg, IPAddress ip);
}

/// <summary>A PenaltyBox that remembers nothing (DoPenalty off, or the analyzer without a data folder).</summary>
public sealed class NoIpReputation : IIpReputation
{
    public static readonly NoIpReputation Instance = new();
    public void AddBlack(ConfigSnapshot cfg, IPAddress ip, double score, string reason) { }
    public double? BlackTotal(ConfigSnapshot cfg, IPAddress ip) => null;
    public bool IsWhite(ConfigSnapshot cfg, IPAddress ip) => false;
    public void AddWhite(ConfigSnapshot cfg, IPAddress ip, string reason) { }
    public void DeleteBlack(ConfigSnapshot cfg, IPAddress ip) { }
    public void DeleteWhite(ConfigSnapshot cfg, IPAddress ip) { }
}

/// <summary>The learned address databases as the decision engine uses them.</summary>
public interface IAddressReputation
{
    /// <summary>Is this sender whitelisted for this recipient (privacy level applied)?</summary>
    bool IsWhitelisted(ConfigSnapshot cfg, string sender, string? recipient);
    bool IsRedlisted(ConfigSnapshot cfg, string address);
    /// <summary>Has the recipient put this sender on the personal blacklist?</summary>
    bool IsPersonallyBlocked(ConfigSnapshot cfg, string recipient, string sender);
    /// <summary>Learns from a delivered outgoing/local message; returns the entries added.</summary>
    IReadOnlyList<string> LearnFromOutgoing(ConfigSnapshot cfg, OutgoingMail mail);
    /// <summary>Refreshes the whitelist entries of a whitelisted incoming mail's senders.</summary>
    void Touch(ConfigSnapshot cfg, string sender, string? recipient);
}

/// <summary>A delivered local/outgoing message, as whitelist learning sees it.</summary>
public sealed record OutgoingMail(
    string Sender,
    IReadOnlyList<string> Recipients,
    IReadOnlyList<string> HeaderRecipients,
    bool IsAuthenticated,
    bool SenderIsLocal,
    double MessageScore,
    bool IsRedlisted,
    bool IsWhitelistedSession);

public sealed class NoAddressReputation : IAddressReputation
{
    public static readonly NoAddressReputation Instance = new();
    public bool IsWhitelisted(ConfigSnapshot cfg, string sender, string? recipient) => false;
    public bool IsRedlisted(ConfigSnapshot cfg, string address) => false;
    public bool IsPersonallyBlocked(ConfigSnapshot cfg, string recipient, string sender) => false;
    public IReadOnlyList<string> LearnFromOutgoing(ConfigSnapshot cfg, OutgoingMail mail) => [];
    public void Touch(ConfigSnapshot cfg, string sender, string? recipient) { }
}

/// <summary>Reads through to a PenaltyBox and ignores every change (for the analyzer).</summary>
public sealed class ReadOnlyIpReputation(IIpReputation inner) : IIpReputation
{
    public void AddBlack(ConfigSnapshot cfg, IPAddress ip, double score, string reason) { }
    public double? BlackTotal(ConfigSnapshot cfg, IPAddress ip) => inner.BlackTotal(cfg, ip);
    public bool IsWhite(ConfigSnapshot cfg, IPAddress ip) => inner.IsWhite(cfg, ip);
    public void AddWhite(ConfigSnapshot cfg, IPAddress ip, string reason) { }
    public void DeleteBlack(ConfigSnapshot cfg, IPAddress ip) { }
    public void DeleteWhite(ConfigSnapshot cfg, IPAddress ip) { }
}

/// <summary>Reads through to the address databases and ignores every change (for the analyzer).</summary>
public sealed class ReadOnlyAddressReputation(IAddressReputation inner) : IAddressReputation
{
    public bool IsWhitelisted(ConfigSnapshot cfg, string sender, string? recipient) => inner.IsWhitelisted(cfg, sender, recipient);
    public bool IsRedlisted(ConfigSnapshot cfg, string address) => inner.IsRedlisted(cfg, address);
    public bool IsPersonallyBlocked(ConfigSnapshot cfg, string recipient, string sender) => inner.IsPersonallyBlocked(cfg, recipient, sender);
    public IReadOnlyList<string> LearnFromOutgoing(ConfigSnapshot cfg, OutgoingMail mail) => [];
    public void Touch(ConfigSnapshot cfg, string sender, string? recipient) { }
}
