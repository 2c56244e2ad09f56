using System.Globalization;
using System.Text;
using Assp.Checks.EmailInterface;
using Assp.Config;

namespace Assp.Smtp;

/// <summary>One reply mail of the email interface: envelope and the finished message.</summary>
public sealed record EmailReply(string From, IReadOnlyList<string> To, byte[] Message);

/// <summary>
/// The email interface's acknowledgements. Each is built from a template in the base folder's reports/ folder
/// (ASSP's file names: the first line is the subject, header lines may follow up to an empty line, then the
/// text; "# include file" lines pull in other files) followed by what was done. Without the file our own
/// default text is used. Replies go from EmailFrom through EmailReportDestination (else smtpDestination).
/// </summary>
public static class EmailInterfaceReplies
{
    private sealed record Family(string ReplyOption, string CopyOption, string Template, string Subject, string Text);

    private static Family FamilyOf(EmailCommand command) => command switch
    {
        EmailCommand.Spam => new("EmailErrorsReply", "EmailErrorsTo", "spamreport.txt", "ASSP spam report",
            "Thank you. The mail you sent was filed as spam; the next corpus rebuild learns from it."),
        EmailCommand.Ham => new("EmailErrorsReply", "EmailErrorsTo", "notspamreport.txt", "ASSP not-spam report",
            "Thank you. The mail you sent was filed as wanted mail (a false positive); the next corpus rebuild learns from it."),
        EmailCommand.WhitelistAdd => new("EmailWhitelistReply", "EmailWhitelistTo", "whitereport.txt", "ASSP whitelist addition",
            "Your whitelist request was carried out. Whitelisted senders pass the spam checks."),
        EmailCommand.WhitelistRemove => new("EmailWhitelistReply", "EmailWhitelistTo", "whiteremovereport.txt", "ASSP whitelist removal",
            "Your whitelist removal request was carried out."),
        EmailCommand.RedlistAdd => new("EmailRedlistReply", "EmailRedlistTo", "redreport.txt", "ASSP redlist addition",
            "Your redlist request was carried out. Mail of redlisted addresses does not whitelist anybody."),
        EmailCommand.RedlistRemove => new("EmailRedlistReply", "EmailRedlistTo", "redremovereport.txt", "ASSP redlist removal",
            "Your redlist removal request was carried out."),
        EmailCommand.PersBlackAdd => new("", "", "persblackreport.txt", "ASSP personal blacklist",
            "Your personal blacklist request was carried out. Mail from these senders to you is refused."),
        EmailCommand.PersBlackRemove => new("", "", "persblackremovereport.txt", "ASSP personal blacklist removal",
            "Your personal blacklist removal request was carried out."),
        EmailCommand.SpamLoverAdd => new("EmailSpamLoverReply", "EmailSpamLoverTo", "slreport.txt", "ASSP spam lover addition",
            "Your spam lover request was carried out. Mail to spam lovers is delivered even when it looks like spam (it may be tagged)."),
        EmailCommand.SpamLoverRemove => new("EmailSpamLoverReply", "EmailSpamLoverTo", "slremovereport.txt", "ASSP spam lover removal",
            "Your spam lover removal request was carried out."),
        EmailCommand.NoProcessingAdd => new("EmailNoProcessingReply", "EmailNoProcessingTo", "npreport.txt", "ASSP noprocessing addition",
            "Your noprocessing request was carried out. Mail of noprocessing addresses passes without spam checks."),
        EmailCommand.NoProcessingRemove => new("EmailNoProcessingReply", "EmailNoProcessingTo", "npremovefile.txt", "ASSP noprocessing removal",
            "Your noprocessing removal request was carried out."),
        EmailCommand.BlackAdd => new("EmailBlackReply", "EmailBlackTo", "blackreport.txt", "ASSP blacklist addition",
            "Your blacklist request was processed. Mail from blacklisted senders is refused."),
        EmailCommand.BlackRemove => new("EmailBlackReply", "EmailBlackTo", "blackremovereport.txt", "ASSP blacklist removal",
            "Your blacklist removal request was processed."),
        EmailCommand.Analyze => new("EmailAnalyzeReply", "EmailAnalyzeTo", "analyzereport.txt", "ASSP analysis report",
            "This is how the spam filter judges the mail you sent, as if it arrived now."),
        _ => new("", "", "helpreport.txt", "ASSP email interface help", ""),
    };

    /// <summary>
    /// The replies for a carried-out request: to the sender and/or the family's copy address, as its Email…Reply
    /// option says (or <paramref name="replyMode"/>, the same 0-3 choice, for DoAdditionalAnalyze).
    /// </summary>
    public static IReadOnlyList<EmailReply> For(ConfigSnapshot cfg, EmailOutcome outcome, string sender, int? replyMode = null)
    {
        var family = FamilyOf(outcome.Command);
        // Help, analyses and the personal blacklist always answer the sender (even EmailSenderNoReply users).
        int mode = replyMode ?? (family.ReplyOption.Length == 0 ? 1 : cfg.GetChoice(family.ReplyOption));
        bool always = outcome.Command is EmailCommand.Help or EmailCommand.PersBlackAdd or EmailCommand.PersBlackRemove or EmailCommand.Analyze;
        var to = new List<string>();
        if ((mode & 1) != 0 && (always || !cfg.GetAddressList("EmailSenderNoReply").Contains(sender))) to.Add(sender);
        var copy = family.CopyOption.Length == 0 ? "" : cfg[family.CopyOption].Trim();
        if ((mode & 2) != 0 && copy.Length > 0 && !to.Contains(copy, StringComparer.OrdinalIgnoreCase)) to.Add(copy);
        if (to.Count == 0) return [];
        var text = outcome.Command == EmailCommand.Help ? HelpText(cfg) : family.Text;
        var body = new StringBuilder();
        body.Append("Request from ").Append(sender).Append(".\r\n\r\n");
        foreach (var line in outcome.Lines) body.Append(line).Append("\r\n");
        var results = body.ToString();
        return to.Select(rcpt => Build(cfg, family.Template, family.Subject, text, results, rcpt)).ToList();
    }

    /// <summary>The notice for EmailSenderNotOK senders (reports/denied.txt).</summary>
    public static EmailReply Denied(ConfigSnapshot cfg, string sender) =>
        Build(cfg, "denied.txt", "ASSP email interface: request denied",
            "Your address is not allowed to use the email interface of this server. Nothing was changed.", "", sender);

    /// <summary>Where replies go: EmailReportDestination, else smtpDestination.</summary>
    public static string Destination(ConfigSnapshot cfg)
    {
        var d = cfg["EmailReportDestination"].Trim();
        return d.Length > 0 ? d : cfg["smtpDestination"].Trim();
    }

    public static Task<string?> SendAsync(ConfigSnapshot cfg, EmailReply reply, CancellationToken ct) =>
        ReportMailer.SendAsync(cfg, reply.From, reply.To, reply.Message, ct, Destination(cfg));

    private static string HelpText(ConfigSnapshot cfg)
    {
        string Addr(string option) => cfg[option].Trim() is { Length: > 0 } n ? n + "@assp.local" : "(switched off)";
        return string.Join("\r\n",
        [
            "This server's spam filter takes requests by mail. Send them from your own mailbox, through this server:",
            "",
            $"  {Addr("EmailSpam"),-32} forward (or attach) a spam that got through",
            $"  {Addr("EmailHam"),-32} forward (or attach) a wanted mail that was taken for spam",
            $"  {Addr("EmailWhitelistAdd"),-32} whitelist the addresses listed in the text, one per line",
            $"  {Addr("EmailWhitelistRemove"),-32} take the listed addresses off your whitelist",
            $"  {Addr("EmailRedlistAdd"),-32} put your own address on the redlist",
            $"  {Addr("EmailRedlistRemove"),-32} take your own address off the redlist",
            $"  {Addr("EmailPersBlackAdd"),-32} refuse mail from the listed addresses (*@domain allowed)",
            $"  {Addr("EmailPersBlackRemove"),-32} accept mail from the listed addresses again",
            $"  {Addr("EmailSpamLoverAdd"),-32} let spam through to you (admins: to the listed addresses)",
            $"  {Addr("EmailSpamLoverRemove"),-32} filter your mail again",
            $"  {Addr("EmailNoProcessingAdd"),-32} no spam checks for your mail (admins: for the listed addresses)",
            $"  {Addr("EmailNoProcessingRemove"),-32} check your mail again",
            $"  {Addr("EmailBlackAdd"),-32} admins: refuse mail from the listed addresses or @domains",
            $"  {Addr("EmailBlackRemove"),-32} admins: take the listed entries off the blacklist",
            $"  {Addr("EmailAnalyze"),-32} forward (or attach) a mail to get the filter's analysis of it",
            $"  {Addr("EmailHelp"),-32} this text",
            "",
            "Any of your local domains works in place of assp.local. An empty mail to the personal blacklist",
            "address sends back your current list. To whitelist a whole domain, write _ALL_@domain.",
        ]);
    }

    private static EmailReply Build(ConfigSnapshot cfg, string templateName, string defaultSubject, string defaultText, string results, string to)
    {
        var from = cfg["EmailFrom"].Trim();
        var (subject, headers, text) = Template(cfg, templateName) ?? (defaultSubject, [], defaultText);
        var sb = new StringBuilder();
        sb.Append("From: ").Append(from).Append("\r\n");
        sb.Append("To: ").Append(to).Append("\r\n");
        sb.Append("Subject: ").Append(EncodeHeader(subject)).Append("\r\n");
        sb.Append("Date: ").Append(DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)).Append("\r\n");
        sb.Append("Message-ID: <").Append(Guid.NewGuid().ToString("N")).Append('@').Append(cfg["myName"].Trim() is { Length: > 0 } n ? n : "assp.local").Append(">\r\n");
        sb.Append("Auto-Submitted: auto-replied\r\n");
        bool hasType = false;
        foreach (var h in headers)
        {
            if (h.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase)) hasType = true;
            sb.Append(h).Append("\r\n");
        }
        if (!hasType) sb.Append("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n");
        sb.Append("\r\n");
        if (text.Length > 0) sb.Append(text.TrimEnd()).Append("\r\n\r\n");
        sb.Append(results);
        return new EmailReply(from, [to], Encoding.UTF8.GetBytes(sb.ToString()));
    }

    /// <summary>reports/&lt;name&gt; split into subject, header lines and text; null when the file is missing or empty.</summary>
    internal static (string Subject, List<string> Headers, string Text)? Template(ConfigSnapshot cfg, string name)
    {
        var path = Path.Combine(cfg.BaseDirectory, "reports", name);
        if (!File.Exists(path)) return null;
        var lines = Expand(cfg, path, 0);
        if (lines.Count == 0) return null;
        var headers = new List<string>();
        int i = 1;
        while (i < lines.Count && lines[i].Length > 0 && IsHeaderLine(lines[i])) headers.Add(lines[i++]);
        if (i < lines.Count && lines[i].Length == 0) i++;
        return (lines[0].Trim(), headers, string.Join("\r\n", lines.Skip(i)));
    }

    private static bool IsHeaderLine(string line)
    {
        int colon = line.IndexOf(':');
        return colon > 0 && line[..colon].All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
    }

    /// <summary>The file's lines with "# include relative/path" lines replaced by that file (nested at most 5 deep).</summary>
    private static List<string> Expand(ConfigSnapshot cfg, string path, int depth)
    {
        var result = new List<string>();
        foreach (var line in File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var t = line.TrimStart();
            if (t.StartsWith("# include ", StringComparison.OrdinalIgnoreCase) && depth < 5)
            {
                var rel = t["# include ".Length..].Trim();
                var inc = Path.IsPathRooted(rel) ? rel : Path.Combine(cfg.BaseDirectory, rel);
                if (File.Exists(inc)) result.AddRange(Expand(cfg, inc, depth + 1));
                continue;
            }
            result.Add(line);
        }
        while (result.Count > 0 && result[^1].Length == 0) result.RemoveAt(result.Count - 1);
        return result;
    }

    private static string EncodeHeader(string value) =>
        Ascii.IsValid(value) ? value : "=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) + "?=";
}
