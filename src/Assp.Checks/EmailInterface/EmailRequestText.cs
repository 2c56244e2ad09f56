using System.Text.RegularExpressions;
using Assp.Mime;

namespace Assp.Checks.EmailInterface;

/// <summary>One address a user listed, with the optional ",scope" an admin may add (",*", ",@domain", ",user@domain").</summary>
public readonly record struct ListedAddress(string Address, string? Scope);

/// <summary>Reads what a request mail says: the addresses listed in its text and the senders of the mails it forwards.</summary>
public static partial class EmailRequestText
{
    // An address token: no spaces, one @, optionally a ",scope" suffix; wildcards are allowed for the lists that take them.
    [GeneratedRegex(@"^(?<addr>[^\s@,;:<>()\[\]""']*@[^\s@,;:<>()\[\]""']+)(?:,(?<scope>\*|@?[^\s,;<>]+))?$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex AddressToken();

    [GeneratedRegex(@"^[\s>]*From:\s*(?<value>.+)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, 1000)]
    private static partial Regex ForwardedFromLine();

    [GeneratedRegex(@"[^\s<>""'(),;:\[\]]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex AnyAddress();

    /// <summary>The first text part of the mail (decoded), or an empty string.</summary>
    public static string BodyText(MimeMessage message) =>
        message.TextParts.FirstOrDefault(e => e.Owner == message && e.MimeType == "text/plain")?.GetText()
        ?? message.TextParts.FirstOrDefault(e => e.Owner == message)?.GetText() ?? "";

    /// <summary>
    /// The addresses listed in the body, one or more per line, up to the signature separator ("-- ") or the
    /// start of a quoted original; tokens that are no address are skipped.
    /// </summary>
    public static IReadOnlyList<ListedAddress> ListedAddresses(string body)
    {
        var found = new List<ListedAddress>();
        foreach (var raw in body.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (raw == "-- " || raw == "--" || raw.StartsWith('>')) break;
            foreach (var token in raw.Split([' ', '\t', ';'], StringSplitOptions.RemoveEmptyEntries))
            {
                var t = token.Trim().Trim('<', '>', '"', '\'', '(', ')', '[', ']');
                if (t.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase)) t = t[7..];
                Match m;
                try { m = AddressToken().Match(t); }
                catch (RegexMatchTimeoutException) { continue; }
                if (!m.Success) continue;
                var address = m.Groups["addr"].Value.ToLowerInvariant();
                var scope = m.Groups["scope"].Success ? m.Groups["scope"].Value.ToLowerInvariant() : null;
                if (!found.Any(f => f.Address == address && f.Scope == scope)) found.Add(new ListedAddress(address, scope));
            }
        }
        return found;
    }

    /// <summary>The messages a report carries: attached mails (message/rfc822), else the report itself.</summary>
    public static IReadOnlyList<MimeMessage> ReportedMessages(MimeMessage report)
    {
        var attached = report.Entities.Where(e => e.Owner == report && e.EmbeddedMessage is not null).Select(e => e.EmbeddedMessage!).ToList();
        return attached.Count > 0 ? attached : [report];
    }

    /// <summary>
    /// The senders of the reported mail: the From of each attached mail; for a mail forwarded inline, the
    /// addresses on the "From:" lines of the forwarded part of the text.
    /// </summary>
    public static IReadOnlyList<string> ReportedSenders(MimeMessage report)
    {
        var senders = new List<string>();
        void Add(string a)
        {
            a = a.Trim().ToLowerInvariant();
            if (a.Contains('@') && !senders.Contains(a)) senders.Add(a);
        }
        var attached = report.Entities.Where(e => e.Owner == report && e.EmbeddedMessage is not null).Select(e => e.EmbeddedMessage!).ToList();
        if (attached.Count > 0)
        {
            foreach (var m in attached)
                foreach (var from in m.From) Add(from.Address);
            return senders;
        }
        foreach (var line in BodyText(report).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            try
            {
                var m = ForwardedFromLine().Match(line);
                if (!m.Success) continue;
                var a = AnyAddress().Match(m.Groups["value"].Value);
                if (a.Success) Add(a.Value);
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }
        return senders;
    }
}
