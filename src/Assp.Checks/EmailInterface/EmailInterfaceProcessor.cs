using System.Globalization;
using Assp.Checks.Whitelist;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.EmailInterface;

/// <summary>One request to carry out: who sent it, to which command, the other envelope recipients and the mail.</summary>
public sealed record EmailRequest(EmailCommand Command, string Sender, IReadOnlyList<string> OtherRecipients, ReadOnlyMemory<byte> Message);

/// <summary>What was done, as lines for the reply mail and the maillog, and the corpus files written.</summary>
public sealed record EmailOutcome(EmailCommand Command, IReadOnlyList<string> Lines, IReadOnlyList<string> StoredFiles)
{
    /// <summary>The list options whose files were edited: the configuration must be reloaded for them to apply.</summary>
    public IReadOnlyList<string> ChangedLists { get; init; } = [];
}

/// <summary>
/// Carries out the email interface's requests: spam and ham reports go into the correctedspam/correctednotspam
/// folders (and, per EmailErrorsModifyWhite and EmailErrorsModifyPersBlack, change the reporter's whitelist and
/// personal blacklist); list requests edit the whitelist, redlist and personal blacklist through the
/// <see cref="WhitelistEditor"/> so the cross-list rules hold; spamLovers, noProcessing and blackListedDomains
/// requests edit those options' list files (<see cref="ListFileEditor"/>).
/// </summary>
public sealed partial class EmailInterfaceProcessor(WhitelistDb whitelist, Redlist redlist, PersonalBlacklist persBlack, TimeProvider? clock = null)
{
    private readonly WhitelistEditor _editor = new(whitelist, redlist, persBlack);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public EmailOutcome Process(ConfigSnapshot cfg, EmailRequest request, Func<string, bool> isLocalAddress)
    {
        var message = MimeParser.Parse(request.Message);
        var sender = request.Sender.Trim().ToLowerInvariant();
        bool admin = EmailCommands.IsAdmin(cfg, sender);
        var lines = new List<string>();
        var files = new List<string>();
        var changed = new List<string>();
        switch (request.Command)
        {
            case EmailCommand.Spam:
            case EmailCommand.Ham:
                Report(cfg, request.Command == EmailCommand.Spam, sender, message, isLocalAddress, lines, files, changed);
                break;
            case EmailCommand.WhitelistAdd:
            case EmailCommand.WhitelistRemove:
                Whitelist(cfg, request, message, sender, admin, lines);
                break;
            case EmailCommand.RedlistAdd:
            case EmailCommand.RedlistRemove:
                Redlist(cfg, request, message, sender, admin, lines);
                break;
            case EmailCommand.PersBlackAdd:
            case EmailCommand.PersBlackRemove:
                PersonalBlacklist(cfg, request, message, sender, admin, lines);
                break;
            case EmailCommand.SpamLoverAdd:
            case EmailCommand.SpamLoverRemove:
            case EmailCommand.NoProcessingAdd:
            case EmailCommand.NoProcessingRemove:
                OwnAddressList(cfg, request, message, sender, admin, lines, changed);
                break;
            case EmailCommand.BlackAdd:
            case EmailCommand.BlackRemove:
                BlackList(cfg, request, message, sender, admin, isLocalAddress, lines, changed);
                break;
            case EmailCommand.Help:
            case EmailCommand.Analyze:
                break;
        }
        return new EmailOutcome(request.Command, lines, files) { ChangedLists = changed.Distinct().ToList() };
    }

    /// <summary>
    /// spamLovers and noProcessing: the matching Email…To address and the admins may name any addresses (body
    /// lines, other recipients); everybody else changes only their own address, as in ASSP.
    /// </summary>
    private void OwnAddressList(ConfigSnapshot cfg, EmailRequest request, MimeMessage message, string sender, bool admin,
        List<string> lines, List<string> changed)
    {
        bool spamLover = request.Command is EmailCommand.SpamLoverAdd or EmailCommand.SpamLoverRemove;
        bool add = request.Command is EmailCommand.SpamLoverAdd or EmailCommand.NoProcessingAdd;
        var option = spamLover ? "spamLovers" : "noProcessing";
        var label = spamLover ? "SpamLover addresses" : "noProcessing addresses";
        var copyTo = cfg[spamLover ? "EmailSpamLoverTo" : "EmailNoProcessingTo"].Trim();
        bool mayList = admin || (copyTo.Length > 0 && copyTo.Equals(sender, StringComparison.OrdinalIgnoreCase));
        var targets = mayList ? Targets(request, message).Select(t => t.Address).Where(a => Acceptable(cfg, a, lines)).ToList() : [];
        if (targets.Count == 0) targets.Add(sender);
        var path = ListFileEditor.PathOf(cfg, option);
        foreach (var address in targets.Distinct())
        {
            bool listed = cfg.GetAddressList(option).Contains(address);
            if (add && listed)
            {
                lines.Add($"{address}: already on {label} - not added");
            }
            else if (!add && !listed)
            {
                lines.Add($"{address}: is not on {label} - not removed");
            }
            else if (path is null)
            {
                lines.Add($"error: {option} is not a file: list - unable to {(add ? "add" : "remove")} {address}");
            }
            else if (add)
            {
                ListFileEditor.Add(path, address, sender, _clock.GetUtcNow());
                changed.Add(option);
                lines.Add($"{address}: added to {label}");
            }
            else if (ListFileEditor.Remove(path, address) > 0)
            {
                changed.Add(option);
                lines.Add($"{address}: removed from {label}");
            }
            else
            {
                // Listed through a domain, wildcard or group entry: only that entry's owner can take it out.
                lines.Add($"{address}: unable to remove from {label} (it matches another entry of the list)");
            }
        }
    }

    /// <summary>blackListedDomains: only admins (EmailAdmins, EmailAdminReportsTo); local domains are never blacklisted.</summary>
    private void BlackList(ConfigSnapshot cfg, EmailRequest request, MimeMessage message, string sender, bool admin,
        Func<string, bool> isLocalAddress, List<string> lines, List<string> changed)
    {
        bool add = request.Command == EmailCommand.BlackAdd;
        if (!admin)
        {
            lines.Add($"{sender}: blacklist {(add ? "addition" : "removal")} not allowed");
            return;
        }
        var path = ListFileEditor.PathOf(cfg, "blackListedDomains");
        var targets = Targets(request, message).Select(t => t.Address).Where(a => Acceptable(cfg, a, lines)).Distinct().ToList();
        if (targets.Count == 0) lines.Add("no address found in the request");
        foreach (var address in targets)
        {
            bool listed = cfg.GetDomainList("blackListedDomains").Matches(address);
            if (add && listed)
                lines.Add($"{address}: already in blackListedDomains addresses - not added");
            else if (!add && !listed)
                lines.Add($"{address}: is not a blackListedDomains address - not removed");
            else if (add && isLocalAddress(address.StartsWith('@') ? "postmaster" + address : address))
                lines.Add($"{address}: is local - not added");
            else if (path is null)
                lines.Add($"error: blackListedDomains is not a file: list - unable to {(add ? "add" : "remove")} {address}");
            else if (add)
            {
                ListFileEditor.Add(path, address, sender, _clock.GetUtcNow());
                changed.Add("blackListedDomains");
                lines.Add($"{address}: added to blackListedDomains addresses");
            }
            else if (ListFileEditor.Remove(path, address) > 0)
            {
                changed.Add("blackListedDomains");
                lines.Add($"{address}: removed from blackListedDomains addresses");
            }
            else
                lines.Add($"{address}: unable to remove from blackListedDomains addresses (it matches another entry of the list)");
        }
    }

    /// <summary>ASSP's filters for listed addresses: no wildcards, '=' only with EmailAllowEqual, never an interface address or EmailFrom.</summary>
    private static bool Acceptable(ConfigSnapshot cfg, string address, List<string> lines)
    {
        if (address.Contains('*'))
        {
            lines.Add($"{address}: wildcards are not taken by this list");
            return false;
        }
        if (address.Contains('=') && !cfg.GetBool("EmailAllowEqual"))
        {
            lines.Add($"{address}: addresses with '=' are not taken (EmailAllowEqual is off)");
            return false;
        }
        if (address.Length > 127) return false;
        int at = address.LastIndexOf('@');
        var local = at > 0 ? address[..at] : "";
        if (EmailCommands.LocalParts(cfg).Any(p => p.Equals(local, StringComparison.OrdinalIgnoreCase))) return false;
        var from = cfg["EmailFrom"].Trim();
        return from.Length == 0 || !address.Equals(from, StringComparison.OrdinalIgnoreCase);
    }

    private void Report(ConfigSnapshot cfg, bool spam, string sender, MimeMessage message, Func<string, bool> isLocalAddress, List<string> lines,
        List<string> files, List<string> changed)
    {
        var option = spam ? "correctedspam" : "correctednotspam";
        var folder = cfg[option].Trim();
        if (folder.Length == 0)
        {
            lines.Add($"the report was not stored: {option} is not set");
        }
        else
        {
            var dir = Path.IsPathRooted(folder) ? folder : Path.Combine(cfg.BaseDirectory, folder);
            Directory.CreateDirectory(dir);
            var ext = cfg["maillogExt"].Trim();
            if (ext.Length == 0) ext = ".eml";
            foreach (var reported in EmailRequestText.ReportedMessages(message))
            {
                var bytes = reported.Source[reported.Start..reported.End];
                var path = UniqueFile(dir, ext);
                using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
                    stream.Write(bytes.Span);
                files.Add(path);
            }
            lines.Add($"{files.Count} message(s) stored as {(spam ? "spam" : "not spam")} for the next corpus rebuild");
        }

        var senders = EmailRequestText.ReportedSenders(message).Where(a => a != sender && !isLocalAddress(a)).ToList();
        int modifyWhite = cfg.GetChoice("EmailErrorsModifyWhite");
        bool modifyPersBlack = cfg.GetAddressList("EmailErrorsModifyPersBlack").Contains(sender);
        foreach (var address in senders)
        {
            if (modifyWhite == 1)
            {
                var r = spam ? _editor.RemoveFromWhitelist(cfg, address, sender) : _editor.AddToWhitelist(cfg, address, sender);
                lines.Add(Describe(address, "whitelist", r.Outcome));
            }
            else if (modifyWhite == 2)
            {
                lines.Add($"{address}: {(whitelist.IsWhite(cfg, address, sender) ? "is" : "is not")} on the whitelist");
            }
            if (modifyPersBlack)
            {
                var r = spam ? _editor.AddToPersonalBlacklist(cfg, sender, address) : _editor.RemoveFromPersonalBlacklist(sender, address);
                lines.Add(Describe(address, "personal blacklist", r.Outcome));
            }
            if (spam) SpamReportNoProcessing(cfg, address, lines, changed);
        }
    }

    /// <summary>EmailErrorsModifyNoP: a spam report takes the sender and its @domain off noProcessing (1) or says they are on it (2).</summary>
    private static void SpamReportNoProcessing(ConfigSnapshot cfg, string address, List<string> lines, List<string> changed)
    {
        int mode = cfg.GetChoice("EmailErrorsModifyNoP");
        if (mode == 0) return;
        int at = address.LastIndexOf('@');
        var candidates = at >= 0 ? new[] { address, address[at..] } : [address];
        var path = ListFileEditor.PathOf(cfg, "noProcessing");
        foreach (var entry in candidates)
        {
            if (!cfg.GetAddressList("noProcessing").Contains(entry)) continue;
            if (mode == 2)
                lines.Add($"{entry} is on the noProcessing list");
            else if (path is not null && ListFileEditor.Remove(path, entry) > 0)
            {
                changed.Add("noProcessing");
                lines.Add($"{entry} deleted from the noProcessing list");
            }
            else
                lines.Add($"{entry} is on the noProcessing list and could not be deleted from it (no file: list or another entry matches)");
        }
    }

    private void Whitelist(ConfigSnapshot cfg, EmailRequest request, MimeMessage message, string sender, bool admin, List<string> lines)
    {
        bool add = request.Command == EmailCommand.WhitelistAdd;
        bool allowEqual = cfg.GetBool("EmailAllowEqual");
        // "delete" in the subject of a removal deletes the records instead of marking them not whitelisted.
        bool deleting = !add && DeleteWord().IsMatch(message.Subject ?? "");
        foreach (var given in Targets(request, message))
        {
            if (given.Address.Contains('*') || given.Address.StartsWith('@'))
            {
                lines.Add($"{given.Address}: wildcards are not taken by the whitelist (write _ALL_@domain for a whole domain)");
                continue;
            }
            // "_ALL_@domain" (ASSP's form for a whole domain) is the domain's wildcard entry.
            var listed = AllForm(given);
            if (!allowEqual && listed.Address.Contains('='))
            {
                lines.Add($"{listed.Address}: addresses with '=' are not taken (EmailAllowEqual is off)");
                continue;
            }
            if (!add && deleting)
            {
                int n = DeleteWhitelistRecords(listed.Address, admin ? listed.Scope : sender);
                lines.Add(n > 0 ? $"{listed.Address}: {n} whitelist record(s) deleted" : $"{listed.Address}: was not on the whitelist");
                continue;
            }
            var scope = admin ? AdminScope(listed.Scope) : sender;
            var r = add ? _editor.AddToWhitelist(cfg, listed.Address, scope) : _editor.RemoveFromWhitelist(cfg, listed.Address, scope);
            lines.Add(Describe(listed.Address, "whitelist", r.Outcome) + (r.Redlisted ? " and put on the redlist" : ""));
        }
    }

    private void Redlist(ConfigSnapshot cfg, EmailRequest request, MimeMessage message, string sender, bool admin, List<string> lines)
    {
        bool add = request.Command == EmailCommand.RedlistAdd;
        // Only admins and the EmailRedlistTo address may name others; everybody else acts on their own address.
        var copyTo = cfg["EmailRedlistTo"].Trim();
        bool mayList = admin || (copyTo.Length > 0 && copyTo.Equals(sender, StringComparison.OrdinalIgnoreCase));
        var targets = mayList ? Targets(request, message).Select(t => t.Address).ToList() : [sender];
        if (targets.Count == 0) targets.Add(sender);
        foreach (var address in targets)
        {
            bool changed = add ? redlist.Add(address) : redlist.Remove(address);
            lines.Add(Describe(address, "redlist", add
                ? (changed ? ListEditOutcome.Added : ListEditOutcome.AlreadyListed)
                : (changed ? ListEditOutcome.Removed : ListEditOutcome.NotListed)));
        }
    }

    private void PersonalBlacklist(ConfigSnapshot cfg, EmailRequest request, MimeMessage message, string sender, bool admin, List<string> lines)
    {
        var body = EmailRequestText.BodyText(message);
        var listed = EmailRequestText.ListedAddresses(body);
        // An empty body or a "reportpersblack@…" line asks for the current list.
        if (listed.Count == 0 || listed.Any(l => l.Address.StartsWith("reportpersblack", StringComparison.OrdinalIgnoreCase)))
        {
            var entries = persBlack.EntriesOf(sender);
            lines.Add(entries.Count == 0 ? "your personal blacklist is empty" : $"your personal blacklist has {entries.Count} entries:");
            lines.AddRange(entries.Select(e => "  " + e));
            return;
        }
        bool add = request.Command == EmailCommand.PersBlackAdd;
        foreach (var item in listed)
        {
            if (!PersBlackForm(item.Address))
            {
                lines.Add($"{item.Address}: not a form the personal blacklist takes");
                continue;
            }
            if (add)
            {
                var r = _editor.AddToPersonalBlacklist(cfg, sender, item.Address);
                lines.Add(Describe(item.Address, "personal blacklist", r.Outcome) + (r.WhitelistRemoved ? " and taken off your whitelist" : ""));
            }
            else if (admin && item.Scope == "*")
            {
                int n = persBlack.RemoveEverywhere(item.Address);
                lines.Add($"{item.Address}: removed from {n} personal blacklist entr{(n == 1 ? "y" : "ies")} of all users");
            }
            else
            {
                int n = persBlack.Remove(sender, item.Address);
                lines.Add(Describe(item.Address, "personal blacklist", n > 0 ? ListEditOutcome.Removed : ListEditOutcome.NotListed));
            }
        }
    }

    /// <summary>
    /// Deletes whitelist records of <paramref name="address"/>: scope "*" every record of it (global, domain and
    /// private), "@domain" or "domain" the domain record and that domain's private ones, "user@domain" the private
    /// record, none the global record. Returns how many went.
    /// </summary>
    private int DeleteWhitelistRecords(string address, string? scope)
    {
        var entries = whitelist.EntriesOf(address);
        var global = WhitelistDb.GlobalKey(address);
        IEnumerable<string> keys = scope switch
        {
            null => entries.Where(e => e.Key == global).Select(e => e.Key),
            "*" => entries.Select(e => e.Key),
            _ when scope.StartsWith('@') || !scope.Contains('@') => DomainKeys(entries, global, scope.TrimStart('@')),
            _ => entries.Where(e => e.Key == WhitelistDb.PrivateKey(address, scope)).Select(e => e.Key),
        };
        return keys.ToList().Count(k => whitelist.Table.Remove(k));
    }

    private static IEnumerable<string> DomainKeys(IReadOnlyList<WhitelistEntry> entries, string global, string domain)
    {
        var suffix = "@" + domain.ToLowerInvariant();
        foreach (var e in entries)
        {
            if (!e.Key.StartsWith(global + ",", StringComparison.Ordinal)) continue;
            var who = e.Key[(global.Length + 1)..];
            if (who == suffix || who.EndsWith(suffix, StringComparison.Ordinal)) yield return e.Key;
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bdelete\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant, 1000)]
    private static partial System.Text.RegularExpressions.Regex DeleteWord();

    private static ListedAddress AllForm(ListedAddress listed) =>
        listed.Address.StartsWith("_all_@", StringComparison.OrdinalIgnoreCase) && listed.Address.Length > 6
            ? listed with { Address = "*@" + listed.Address[6..] }
            : listed;

    /// <summary>Full address, *@domain or @domain, @*domain or *@*domain, @*.domain or *@*.domain.</summary>
    private static bool PersBlackForm(string address)
    {
        int at = address.LastIndexOf('@');
        if (at < 0) return false;
        var local = address[..at];
        var domain = address[(at + 1)..];
        if (domain.Length == 0 || domain.LastIndexOf('*') > 0) return false;
        return local.Length == 0 || local == "*" || !local.Contains('*');
    }

    /// <summary>The body's addresses and the other envelope recipients; without either, the senders of forwarded mails.</summary>
    private static List<ListedAddress> Targets(EmailRequest request, MimeMessage message)
    {
        var list = EmailRequestText.ListedAddresses(EmailRequestText.BodyText(message)).ToList();
        foreach (var r in request.OtherRecipients)
        {
            var a = r.Trim().ToLowerInvariant();
            if (a.Length > 0 && !list.Any(l => l.Address == a)) list.Add(new ListedAddress(a, null));
        }
        if (list.Count == 0)
            list.AddRange(EmailRequestText.ReportedSenders(message).Where(s => s != request.Sender.ToLowerInvariant()).Select(s => new ListedAddress(s, null)));
        return list;
    }

    /// <summary>An admin's ",scope": none or "*" is global, "@domain"/"domain" that local domain, "user@domain" that user.</summary>
    private static string? AdminScope(string? scope) => scope switch
    {
        null or "*" => null,
        _ when scope.Contains('@') => scope,
        _ => "@" + scope,
    };

    private static string Describe(string address, string list, ListEditOutcome outcome) => outcome switch
    {
        ListEditOutcome.Added => $"{address}: added to the {list}",
        ListEditOutcome.AlreadyListed => $"{address}: already on the {list} (entry renewed)",
        ListEditOutcome.Removed => $"{address}: removed from the {list}",
        ListEditOutcome.NotListed => $"{address}: was not on the {list}",
        ListEditOutcome.RefusedRedlisted => $"{address}: is on the redlist and cannot be whitelisted",
        _ => $"{address}: {outcome}",
    };

    private string UniqueFile(string dir, string ext)
    {
        long now = _clock.GetUtcNow().ToUnixTimeSeconds();
        while (true)
        {
            var name = now.ToString(CultureInfo.InvariantCulture) + "-" + Random.Shared.Next(100000, 999999).ToString(CultureInfo.InvariantCulture) + ext;
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) return path;
        }
    }
}
