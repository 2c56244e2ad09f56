using Assp.Config;

namespace Assp.Checks.EmailInterface;

/// <summary>The requests a user can send to ASSP's special addresses; each is named by the option holding its local part.</summary>
public enum EmailCommand
{
    Spam, Ham, WhitelistAdd, WhitelistRemove, RedlistAdd, RedlistRemove, PersBlackAdd, PersBlackRemove, Help,
    SpamLoverAdd, SpamLoverRemove, NoProcessingAdd, NoProcessingRemove, BlackAdd, BlackRemove, Analyze,
}

/// <summary>What the email interface lets a sender do with a recognised command address.</summary>
public enum EmailAccess
{
    /// <summary>Not for the interface: the sender is neither relaying nor in EmailSenderOK; the address is an ordinary recipient.</summary>
    NotForInterface,
    /// <summary>The request is carried out.</summary>
    Allowed,
    /// <summary>EmailSenderNotOK: the mail is swallowed and the sender gets the denial notice.</summary>
    Denied,
    /// <summary>EmailSenderIgnore: the mail is swallowed without a word.</summary>
    Ignored,
}

/// <summary>
/// Recognition of the command addresses at RCPT TO and the sender rules that decide who may use them. The local
/// parts come from the options (EmailSpam, EmailHam, …); the domain is any local domain, ASSP's built-in
/// assp.local and assp-nospam.org, or only the EmailInterfaceDomains when that list is set.
/// </summary>
public static class EmailCommands
{
    private static readonly (EmailCommand Command, string Option)[] s_options =
    [
        (EmailCommand.Spam, "EmailSpam"),
        (EmailCommand.Ham, "EmailHam"),
        (EmailCommand.WhitelistAdd, "EmailWhitelistAdd"),
        (EmailCommand.WhitelistRemove, "EmailWhitelistRemove"),
        (EmailCommand.RedlistAdd, "EmailRedlistAdd"),
        (EmailCommand.RedlistRemove, "EmailRedlistRemove"),
        (EmailCommand.PersBlackAdd, "EmailPersBlackAdd"),
        (EmailCommand.PersBlackRemove, "EmailPersBlackRemove"),
        (EmailCommand.Help, "EmailHelp"),
        (EmailCommand.SpamLoverAdd, "EmailSpamLoverAdd"),
        (EmailCommand.SpamLoverRemove, "EmailSpamLoverRemove"),
        (EmailCommand.NoProcessingAdd, "EmailNoProcessingAdd"),
        (EmailCommand.NoProcessingRemove, "EmailNoProcessingRemove"),
        (EmailCommand.BlackAdd, "EmailBlackAdd"),
        (EmailCommand.BlackRemove, "EmailBlackRemove"),
        (EmailCommand.Analyze, "EmailAnalyze"),
    ];

    /// <summary>The local parts of every command address in use (an address naming one is never put on a list).</summary>
    public static IEnumerable<string> LocalParts(ConfigSnapshot cfg) =>
        s_options.Select(o => cfg[o.Option].Trim()).Where(n => n.Length > 0);

    /// <summary>The domains that always reach the interface, local or not.</summary>
    public static readonly string[] BuiltInDomains = ["assp.local", "assp-nospam.org"];

    public static string OptionOf(EmailCommand command) => s_options.First(o => o.Command == command).Option;

    /// <summary>Is the domain one the interface answers for (before looking at the local part)?</summary>
    public static bool IsInterfaceDomain(ConfigSnapshot cfg, string domain, bool isLocalDomain)
    {
        var only = cfg.GetAddressList("EmailInterfaceDomains");
        if (only.Count > 0) return only.Contains("@" + domain);
        return isLocalDomain || BuiltInDomains.Contains(domain, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The command an envelope recipient names, or null. An empty option turns its address off.</summary>
    public static EmailCommand? Recognize(ConfigSnapshot cfg, string recipient, bool isLocalDomain)
    {
        if (!cfg.GetBool("EmailInterfaceOk")) return null;
        int at = recipient.LastIndexOf('@');
        if (at <= 0 || at == recipient.Length - 1) return null;
        var local = recipient[..at];
        if (!IsInterfaceDomain(cfg, recipient[(at + 1)..], isLocalDomain)) return null;
        foreach (var (command, option) in s_options)
        {
            var name = cfg[option].Trim();
            if (name.Length > 0 && local.Equals(name, StringComparison.OrdinalIgnoreCase)) return command;
        }
        return null;
    }

    /// <summary>
    /// ASSP's rules: relaying sessions (authenticated, relayPort, acceptAllMail) and EmailSenderOK senders may use
    /// the interface; EmailSenderNotOK senders may still ask for help and analyses (everything else is denied with a notice);
    /// EmailSenderIgnore senders are dropped silently. The later lists win, as in ASSP.
    /// </summary>
    public static EmailAccess Authorize(ConfigSnapshot cfg, EmailCommand command, string sender, bool relayAllowed)
    {
        bool senderOk = cfg.GetAddressList("EmailSenderOK").Contains(sender);
        if (!relayAllowed && !senderOk) return EmailAccess.NotForInterface;
        if (cfg.GetAddressList("EmailSenderIgnore").Contains(sender)) return EmailAccess.Ignored;
        if (cfg.GetAddressList("EmailSenderNotOK").Contains(sender))
            return command is EmailCommand.Help or EmailCommand.Analyze ? EmailAccess.Allowed : EmailAccess.Denied;
        return EmailAccess.Allowed;
    }

    /// <summary>EmailAdmins and EmailAdminReportsTo may act for others (scopes, body addresses on the redlist).</summary>
    public static bool IsAdmin(ConfigSnapshot cfg, string sender)
    {
        if (cfg.GetAddressList("EmailAdmins").Contains(sender)) return true;
        var reportsTo = cfg["EmailAdminReportsTo"].Trim();
        return reportsTo.Length > 0 && reportsTo.Equals(sender, StringComparison.OrdinalIgnoreCase);
    }
}
