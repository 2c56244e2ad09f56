using System.Text;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Smtp.Collection;

/// <summary>What the copy rules need to know about a finished message.</summary>
public sealed record CopyFacts(
    CollectTarget Collect,
    IReadOnlyList<string> Recipients,
    string MailFrom,
    double MessageScore,
    bool NoCollect = false,
    bool IsBounce = false,
    bool Red = false,
    bool NoProcessing = false,
    bool MessageLow = false,
    bool CcNever = false);

/// <summary>
/// The Copy Spam &amp; Ham section (ASSP's "ccMail"): which spam and ham is copied, to which addresses, and how the
/// copy looks. Only rules here; <see cref="MailCopier"/> sends.
/// </summary>
public static class MailCopies
{
    /// <summary>
    /// The addresses a spam copy goes to (empty: no copy). Follows ASSP: the collection code must ask for a copy
    /// ("… &amp; sendAllSpam", 3 or 7); a plain spam (1) or discard (6) code, ccSpamNeverRe and ccMaxScore stop the
    /// copy, except that a message ending in the discard folder is still copied when ccSpamAlways (or, with
    /// sendAllSpam, ccSpamFilter) holds the sender or every recipient. ccSpamFilter limits copies to its addresses.
    /// </summary>
    public static IReadOnlyList<string> SpamCopyTargets(ConfigSnapshot cfg, CopyFacts m)
    {
        var sendAllSpam = cfg["sendAllSpam"].Trim();
        var perDomain = PerDomainAddresses(cfg);
        if (sendAllSpam.Length == 0 && perDomain.Count == 0) return [];
        if (m.NoCollect) return [];
        if (m.IsBounce && cfg.GetBool("DoNotCollectBounces")) return [];

        var code = m.Collect;
        bool notCopied = false;
        if (code == CollectTarget.Spam) { code = CollectTarget.SpamAndCopy; notCopied = true; }
        if (code == CollectTarget.Discard) { code = CollectTarget.DiscardAndCopy; notCopied = true; }
        if (code is not (CollectTarget.SpamAndCopy or CollectTarget.DiscardAndCopy)) return [];
        if (m.CcNever) notCopied = true;
        int maxScore = cfg.GetInt("ccMaxScore");
        if (maxScore > 0 && m.MessageScore > maxScore) notCopied = true;

        // Spam that is not kept as spam (noprocessing, red, below the limit) lands in the discard folder.
        if (code == CollectTarget.SpamAndCopy && (m.NoProcessing || (m.Red && cfg.GetBool("DoNotCollectRedRe")) || m.MessageLow))
            code = CollectTarget.DiscardAndCopy;
        if (notCopied && code == CollectTarget.DiscardAndCopy)
        {
            if (AllOnList(cfg, "ccSpamAlways", m)) notCopied = false;
            if (sendAllSpam.Length > 0 && AllOnList(cfg, "ccSpamFilter", m)) notCopied = false;
        }
        if (notCopied) return [];
        if (cfg.GetAddressList("ccSpamFilter").Count > 0 && !AllOnList(cfg, "ccSpamFilter", m)) return [];

        var targets = new List<string>();
        foreach (var rcpt in m.Recipients)
        {
            int at = rcpt.LastIndexOf('@');
            if (at <= 0 || at == rcpt.Length - 1) continue;
            var user = rcpt[..at].ToLowerInvariant();
            var domain = rcpt[(at + 1)..].ToLowerInvariant();
            if (sendAllSpam.Length > 0)
                foreach (var a in SplitAddresses(Substitute(sendAllSpam, user, domain))) Add(targets, a);
            if (perDomain.TryGetValue(domain, out var local) || perDomain.TryGetValue("*", out local))
                Add(targets, local + "@" + domain);
        }
        return targets;
    }

    /// <summary>
    /// The address(es) a ham copy goes to, or empty: sendHamOutbound for outgoing and local mail, sendHamInbound for
    /// mail from outside; ccHamFilter (when set) must and ccnHamFilter must not hold the sender or every recipient.
    /// USERNAME and DOMAIN are the first recipient's parts.
    /// </summary>
    public static IReadOnlyList<string> HamCopyTargets(ConfigSnapshot cfg, bool relayOk, IReadOnlyList<string> recipients, string mailFrom)
    {
        var template = (relayOk ? cfg["sendHamOutbound"] : cfg["sendHamInbound"]).Trim();
        if (template.Length == 0 || recipients.Count == 0) return [];
        var facts = new CopyFacts(CollectTarget.NotSpam, recipients, mailFrom, 0);
        if (cfg.GetAddressList("ccHamFilter").Count > 0 && !AllOnList(cfg, "ccHamFilter", facts)) return [];
        if (AllOnList(cfg, "ccnHamFilter", facts)) return [];
        var first = recipients[0];
        int at = first.LastIndexOf('@');
        var user = at > 0 ? first[..at] : first;
        var domain = at > 0 ? first[(at + 1)..] : "";
        var targets = new List<string>();
        foreach (var a in SplitAddresses(Substitute(template, user, domain))) Add(targets, a);
        return targets;
    }

    /// <summary>ccMailReplaceRecpt: the ReplaceRecpt rules rewrite the copy addresses too (each change is logged).</summary>
    public static List<string> ReplaceRecipients(ConfigSnapshot cfg, IReadOnlyList<string> targets, string sender, Action<string> log)
    {
        var result = targets.ToList();
        if (result.Count == 0 || !cfg.GetBool("ccMailReplaceRecpt")) return result;
        var rules = Assp.Checks.Recipients.RecipientRules.For(cfg);
        if (rules.Count == 0) return result;
        for (int i = 0; i < result.Count; i++)
        {
            var replaced = rules.Apply(result[i], sender);
            if (replaced.Equals(result[i], StringComparison.OrdinalIgnoreCase)) continue;
            log($"info: ccMail recipient {result[i]} replaced with {replaced}");
            result[i] = replaced;
        }
        return result;
    }

    /// <summary>ASSP's allSL: the sender, or every recipient, is on the address list.</summary>
    internal static bool AllOnList(ConfigSnapshot cfg, string option, CopyFacts m)
    {
        var list = cfg.GetAddressList(option);
        if (list.Count == 0 || m.Recipients.Count == 0) return false;
        if (m.MailFrom.Length > 0 && list.Contains(m.MailFrom)) return true;
        foreach (var r in m.Recipients)
            if (!list.Contains(r)) return false;
        return true;
    }

    /// <summary>ccSpamInDomain: "local@domain" entries, "local@*" the fallback; the map is domain → local part.</summary>
    public static IReadOnlyDictionary<string, string> PerDomainAddresses(ConfigSnapshot cfg) =>
        cfg.Derived("Copies.ccSpamInDomain", static c =>
        {
            var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var e in c.GetListEntries("ccSpamInDomain"))
                foreach (var item in e.Text.Split(['|', ',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                {
                    int at = item.LastIndexOf('@');
                    if (at <= 0 || at == item.Length - 1) continue;
                    map[item[(at + 1)..].ToLowerInvariant()] = item[..at];
                }
            return map;
        });

    /// <summary>USERNAME and DOMAIN in a copy address become the recipient's parts.</summary>
    public static string Substitute(string template, string user, string domain) =>
        template.Replace("USERNAME", user, StringComparison.Ordinal).Replace("DOMAIN", domain, StringComparison.Ordinal);

    internal static IEnumerable<string> SplitAddresses(string value) =>
        value.Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(a => a.Trim('<', '>')).Where(a => a.Contains('@'));

    private static void Add(List<string> list, string address)
    {
        if (!list.Contains(address, StringComparer.OrdinalIgnoreCase)) list.Add(address);
    }

    /// <summary>
    /// ccSpamNeverRe: tested against the message header, the header lines ASSP adds and the scoring reasons.
    /// </summary>
    public static bool NeverCopy(ConfigSnapshot cfg, string messageHeader, string asspHeaders, IEnumerable<string> reasons)
    {
        var re = cfg.GetRegex("ccSpamNeverRe");
        if (re.Count == 0) return false;
        return re.IsMatch(messageHeader) || re.IsMatch(asspHeaders) || reasons.Any(re.IsMatch);
    }

    /// <summary>The header block of a message (up to and without the empty line).</summary>
    public static string HeaderOf(ReadOnlySpan<byte> message)
    {
        var text = Encoding.Latin1.GetString(message[..Math.Min(message.Length, 256 * 1024)]);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return end >= 0 ? text[..(end + 2)] : text;
    }

    /// <summary>
    /// The spam copy as ASSP sends it: the message's own X-Assp- lines go, a missing From or Subject is added, the
    /// subject gets the check tags (spamTagCC) and spamSubject (spamSubjectCC), read-receipt requests go when
    /// removeDispositionNotification names them, and ASSP's lines plus X-Assp-Intended-For (first recipient) and
    /// X-Assp-Copy-Spam: Yes close the header. ccMaxBytes cuts the body to MaxBytes.
    /// </summary>
    public static byte[] BuildSpamCopy(ConfigSnapshot cfg, ReadOnlySpan<byte> message, string received, string asspHeaders, string tags, string firstRecipient)
    {
        var (header, bodyStart) = Split(message);
        var body = message[bodyStart..];
        var lines = Fields(header).Where(f => !f.StartsWith("X-Assp", StringComparison.OrdinalIgnoreCase)).ToList();
        if (!lines.Any(f => IsField(f, "From"))) lines.Add("From: sender not supplied\r\n");
        if (!lines.Any(f => IsField(f, "Subject"))) lines.Add("Subject:\r\n");
        var prefix = new StringBuilder();
        if (cfg.GetBool("spamSubjectCC") && cfg["spamSubject"].Length > 0) prefix.Append(EncodeForHeader(cfg["spamSubject"])).Append(' ');
        if (cfg.GetBool("spamTagCC") && tags.Length > 0) prefix.Append(tags).Append(' ');
        if (prefix.Length > 0)
        {
            int i = lines.FindIndex(f => IsField(f, "Subject"));
            var value = lines[i][8..].TrimStart(' ', '\t');
            lines[i] = "Subject: " + prefix + value;
        }
        lines = RemoveReceiptRequests(cfg, lines);
        if (cfg.GetBool("ccMaxBytes"))
        {
            int max = Math.Max(0, cfg.GetInt("MaxBytes", 4000));
            if (body.Length > max) body = body[..max];
        }
        var sb = new StringBuilder();
        sb.Append(received);
        foreach (var l in lines) sb.Append(l);
        foreach (var l in asspHeaders.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
            if (!l.StartsWith("X-Assp-Intended-For:", StringComparison.OrdinalIgnoreCase)) sb.Append(l).Append("\r\n");
        sb.Append("X-Assp-Intended-For: ").Append(firstRecipient).Append("\r\n");
        sb.Append("X-Assp-Copy-Spam: Yes\r\n\r\n");
        return Concat(Encoding.Latin1.GetBytes(sb.ToString()), body);
    }

    /// <summary>
    /// The ham copy: the message as it went to the MTA (our Received line first, foreign X-Assp- lines dropped for
    /// mail from outside, ASSP's lines at the end of the header), without the read-receipt requests that
    /// removeDispositionNotification names.
    /// </summary>
    public static byte[] BuildHamCopy(ConfigSnapshot cfg, ReadOnlySpan<byte> message, string received, string asspHeaders, bool stripForeignAssp)
    {
        var (header, bodyStart) = Split(message);
        var body = message[bodyStart..];
        var fields = Fields(header).Where(f => !stripForeignAssp || !f.StartsWith("X-Assp", StringComparison.OrdinalIgnoreCase)).ToList();
        var sb = new StringBuilder(received);
        foreach (var l in RemoveReceiptRequests(cfg, fields)) sb.Append(l);
        sb.Append(asspHeaders);
        sb.Append("\r\n");
        return Concat(Encoding.Latin1.GetBytes(sb.ToString()), body);
    }

    private static List<string> RemoveReceiptRequests(ConfigSnapshot cfg, List<string> fields)
    {
        var names = cfg["removeDispositionNotification"].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) return fields;
        return fields.Where(f => !names.Any(n => IsField(f, n))).ToList();
    }

    private static string EncodeForHeader(string text) =>
        Ascii.IsValid(text) ? text : "=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes(text)) + "?=";

    private static bool IsField(string field, string name) =>
        field.Length > name.Length && field[name.Length] == ':' && field.StartsWith(name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Header (text, CRLF lines, without the empty line) and where the body starts.</summary>
    private static (string Header, int BodyStart) Split(ReadOnlySpan<byte> message)
    {
        int end = message.IndexOf("\r\n\r\n"u8);
        if (end < 0) return (Encoding.Latin1.GetString(message) + "\r\n", message.Length);
        return (Encoding.Latin1.GetString(message[..(end + 2)]), end + 4);
    }

    /// <summary>The header fields, each with its continuation lines and final CRLF.</summary>
    private static IEnumerable<string> Fields(string header)
    {
        var current = new StringBuilder();
        foreach (var line in header.Split("\r\n"))
        {
            if (line.Length == 0) continue;
            if ((line[0] == ' ' || line[0] == '\t') && current.Length > 0)
            {
                current.Append(line).Append("\r\n");
                continue;
            }
            if (current.Length > 0) yield return current.ToString();
            current.Clear().Append(line).Append("\r\n");
        }
        if (current.Length > 0) yield return current.ToString();
    }

    private static byte[] Concat(byte[] head, ReadOnlySpan<byte> body)
    {
        var result = new byte[head.Length + body.Length];
        head.CopyTo(result, 0);
        body.CopyTo(result.AsSpan(head.Length));
        return result;
    }
}
