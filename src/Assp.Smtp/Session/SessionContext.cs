using System.Net;
using Assp.Checks;
using Assp.Config;

namespace Assp.Smtp.Session;

/// <summary>The state of one client session that checks may read (see <see cref="IMailContext"/>).</summary>
public sealed class SessionContext : IMailContext
{
    internal SessionContext(ConfigSnapshot config, string sessionId, IPEndPoint remote, IPEndPoint local, ListenerDefinition listener)
    {
        Config = config;
        SessionId = sessionId;
        Remote = remote;
        Local = local;
        Listener = listener;
    }

    public ConfigSnapshot Config { get; }
    public string SessionId { get; }
    public IPEndPoint Remote { get; }
    public IPEndPoint Local { get; }
    public ListenerDefinition Listener { get; }
    public IPAddress RemoteAddress => Remote.Address.IsIPv4MappedToIPv6 ? Remote.Address.MapToIPv4() : Remote.Address;
    public IPAddress LocalAddress => Local.Address.IsIPv4MappedToIPv6 ? Local.Address.MapToIPv4() : Local.Address;
    public int LocalPort => Local.Port;
    public ConnectionClass Class { get; internal set; }
    public bool IsAuthenticated { get; internal set; }
    public string? AuthenticatedUser { get; internal set; }
    public bool IsTls { get; internal set; }
    public string? Helo { get; internal set; }
    /// <summary>The client's PTR name once a DNS check has looked it up; null means unknown.</summary>
    public string? RemoteHostName { get; set; }
    public bool Esmtp { get; internal set; }
    public string? MailFrom { get; internal set; }
    internal List<string> RecipientList { get; } = [];
    public IReadOnlyList<string> Recipients => RecipientList;
    public bool HasRemoteRecipient { get; internal set; }
    public bool IsOutgoing => HasRemoteRecipient || (RelayAllowed && Class != ConnectionClass.External);
    /// <summary>May this session send to non-local domains (authenticated, relayPort, acceptAllMail)?</summary>
    public bool RelayAllowed => IsAuthenticated || Listener.Kind == ListenerKind.Relay || Class == ConnectionClass.Relay;
    /// <summary>The current message's log id (uniqueIDPrefix + time + counter); null outside a transaction.</summary>
    public string? MessageId { get; internal set; }
    public int MessageCount { get; internal set; }
    internal MessageBuffer? Message { get; set; }
    public long MessageSize => Message?.Length ?? 0;
    public Stream? OpenMessage() => Message?.OpenRead();
    public Assp.Checks.Decision.CheckSession CheckState { get; } = new();
    public bool Delivered { get; internal set; }
    internal Action<string>? LogSink { get; set; }
    public void Log(string line) => LogSink?.Invoke(line);

    internal void ResetTransaction()
    {
        MailFrom = null;
        RecipientList.Clear();
        HasRemoteRecipient = false;
        MessageId = null;
        Delivered = false;
        Message?.Reset();
    }
}
