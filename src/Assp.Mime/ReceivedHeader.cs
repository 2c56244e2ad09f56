using System.Net;
using System.Text;

namespace Assp.Mime;

/// <summary>
/// One parsed Received field: the from/by/via/with/id/for clauses, the TCP-info comment of the from clause, the
/// IP address found in brackets there, and the date after the last ';'. Missing parts are null.
/// </summary>
public sealed record ReceivedHeader
{
    /// <summary>The raw (unfolded) value.</summary>
    public required string Raw { get; init; }

    /// <summary>The name the sending host gave (HELO/EHLO), or null.</summary>
    public string? From { get; init; }

    /// <summary>The comment after the from name ("(host.example [192.0.2.1])"), or null.</summary>
    public string? FromComment { get; init; }

    /// <summary>The IP address from the from clause ("[192.0.2.1]", bare or in the comment), or null.</summary>
    public IPAddress? FromIp { get; init; }

    /// <summary>The reverse-DNS name in the from comment (the word before the bracketed IP), or null.</summary>
    public string? FromReverseName { get; init; }

    /// <summary>The receiving host.</summary>
    public string? By { get; init; }

    /// <summary>The via clause.</summary>
    public string? Via { get; init; }

    /// <summary>The protocol (SMTP, ESMTP, ESMTPS, LMTP...).</summary>
    public string? With { get; init; }

    /// <summary>The queue id.</summary>
    public string? Id { get; init; }

    /// <summary>The recipient of the for clause, without angle brackets.</summary>
    public string? For { get; init; }

    /// <summary>The date after the last ';', or null.</summary>
    public DateTimeOffset? Date { get; init; }

    /// <summary>Parses an unfolded Received value; never throws.</summary>
    public static ReceivedHeader Parse(string value)
    {
        string clauses = value;
        DateTimeOffset? date = null;
        int semi = value.LastIndexOf(';');
        if (semi >= 0)
        {
            date = DateParser.Parse(value[(semi + 1)..]);
            clauses = value[..semi];
        }
        string? from = null, fromComment = null, by = null, via = null, with = null, id = null, @for = null;
        string? current = null;
        var fromComments = new StringBuilder();
        int pos = 0;
        int guard = 0;
        while (pos < clauses.Length && guard++ < 10000)
        {
            char c = clauses[pos];
            if (char.IsWhiteSpace(c)) { pos++; continue; }
            if (c == '(')
            {
                var comments = new List<string>();
                StructuredText.SkipCfws(clauses, ref pos, comments);
                if (current == "from") foreach (var cm in comments) { if (fromComments.Length > 0) fromComments.Append(' '); fromComments.Append(cm); }
                continue;
            }
            int st = pos;
            if (c == '<')
            {
                int gt = clauses.IndexOf('>', pos);
                pos = gt < 0 ? clauses.Length : gt + 1;
            }
            else
            {
                while (pos < clauses.Length && !char.IsWhiteSpace(clauses[pos]) && clauses[pos] != '(') pos++;
            }
            var word = clauses[st..pos];
            var lower = word.ToLowerInvariant();
            if (lower is "from" or "by" or "via" or "with" or "id" or "for") { current = lower; continue; }
            switch (current)
            {
                case "from": from ??= word; break;
                case "by": by ??= word; break;
                case "via": via ??= word; break;
                case "with": with ??= word; break;
                case "id": id ??= word.Trim('<', '>', ';'); break;
                case "for": @for ??= word.Trim('<', '>', ';'); break;
            }
        }
        if (fromComments.Length > 0) fromComment = fromComments.ToString();
        IPAddress? ip = FindIp(from) ?? FindIp(fromComment);
        string? reverse = null;
        if (fromComment is not null)
        {
            int br = fromComment.IndexOf('[');
            var head = (br >= 0 ? fromComment[..br] : fromComment).Trim();
            var words = head.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 0 && words[^1].Contains('.') && !words[^1].Contains('@') && !IPAddress.TryParse(words[^1], out _))
                reverse = words[^1].TrimEnd(')');
        }
        return new ReceivedHeader
        {
            Raw = value, From = from, FromComment = fromComment, FromIp = ip, FromReverseName = reverse,
            By = by, Via = via, With = with, Id = id, For = @for, Date = date,
        };
    }

    private static IPAddress? FindIp(string? text)
    {
        if (text is null) return null;
        int pos = 0;
        while (pos < text.Length)
        {
            int open = text.IndexOf('[', pos);
            if (open < 0) break;
            int close = text.IndexOf(']', open + 1);
            if (close < 0) break;
            var inner = text[(open + 1)..close].Trim();
            if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase)) inner = inner[5..];
            if (IPAddress.TryParse(inner, out var ip) && (inner.Contains('.') || inner.Contains(':'))) return ip;
            pos = close + 1;
        }
        // "from 192.0.2.1" with no brackets
        if (text.Length <= 45 && IPAddress.TryParse(text, out var bare) && (text.Contains('.') || text.Contains(':'))) return bare;
        return null;
    }
}
