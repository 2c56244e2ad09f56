using Assp.Checks.Whitelist;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Decision;

/// <summary>The address databases of an instance (whitelist, redlist, personal blacklist) behind the engine's interface.</summary>
public sealed class StoredAddressReputation(IStore store) : IAddressReputation
{
    public WhitelistDb Whitelist { get; } = new(store);
    public Redlist Redlist { get; } = new(store);
    public PersonalBlacklist PersonalBlacklist { get; } = new(store);

    public bool IsWhitelisted(ConfigSnapshot cfg, string sender, string? recipient) => Whitelist.IsWhite(cfg, sender, recipient);
    public bool IsRedlisted(ConfigSnapshot cfg, string address) => Redlist.IsRedlisted(address);
    public bool IsPersonallyBlocked(ConfigSnapshot cfg, string recipient, string sender) => PersonalBlacklist.IsBlocked(recipient, sender);
    public void Touch(ConfigSnapshot cfg, string sender, string? recipient) => Whitelist.Add(sender);

    public IReadOnlyList<string> LearnFromOutgoing(ConfigSnapshot cfg, OutgoingMail mail)
    {
        var local = LocalDomains.For(cfg);
        bool IsLocal(string addressOrDomain)
        {
            var text = addressOrDomain.Trim().Trim('<', '>');
            int at = text.LastIndexOf('@');
            return local.IsLocal(at >= 0 ? text[(at + 1)..] : text);
        }
        var result = new WhitelistLearner(Whitelist, Redlist).Learn(cfg, new WhitelistLearningInput
        {
            EnvelopeSender = mail.Sender,
            Recipients = mail.Recipients,
            HeaderRecipients = mail.HeaderRecipients,
            IsRelayOk = true,
            IsAuthenticated = mail.IsAuthenticated,
            SendersWhitelisted = mail.IsWhitelistedSession,
            MessageScore = mail.MessageScore,
            RedRegexMatched = mail.IsRedlisted,
            IsLocal = IsLocal,
        });
        return result.Added;
    }
}
