using System.Text;

namespace Assp.Mime;

/// <summary>A mailbox or a group from an address field.</summary>
public abstract class InternetAddress
{
    /// <summary>The display name (RFC 2047 decoded), or null.</summary>
    public string? DisplayName { get; init; }

    /// <summary>The mailboxes this address stands for (itself, or a group's members).</summary>
    public abstract IReadOnlyList<MailboxAddress> Mailboxes { get; }
}

/// <summary>One mailbox: display name, local part and domain.</summary>
public sealed class MailboxAddress : InternetAddress
{
    /// <summary>Creates a mailbox.</summary>
    public MailboxAddress(string? displayName, string localPart, string domain)
    {
        DisplayName = displayName;
        LocalPart = localPart;
        Domain = domain;
    }

    /// <summary>The local part, unquoted.</summary>
    public string LocalPart { get; }

    /// <summary>The domain as written (may be "xn--" ASCII, UTF-8, or a [literal]); empty when missing.</summary>
    public string Domain { get; }

    /// <summary>Obsolete source route ("@a,@b:"), if any.</summary>
    public IReadOnlyList<string> Route { get; init; } = [];

    /// <summary>The domain with "xn--" labels decoded to Unicode.</summary>
    public string UnicodeDomain => Idn.DomainToUnicode(Domain);

    /// <summary>The domain with non-ASCII labels encoded to "xn--" form.</summary>
    public string AsciiDomain => Idn.DomainToAscii(Domain);

    /// <summary>True for a domain literal such as [192.0.2.1].</summary>
    public bool IsDomainLiteral => Domain.StartsWith('[');

    /// <summary>True when the address has non-ASCII characters (needs SMTPUTF8).</summary>
    public bool IsInternational => !Ascii.IsValid(LocalPart) || !Ascii.IsValid(Domain);

    /// <summary>local@domain (the local part quoted when needed); just the local part when there is no domain.</summary>
    public string Address
    {
        get
        {
            string local = NeedsQuoting(LocalPart) ? "\"" + LocalPart.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"" : LocalPart;
            return Domain.Length == 0 ? local : local + "@" + Domain;
        }
    }

    private static bool NeedsQuoting(string local)
    {
        if (local.Length == 0) return false;
        if (local.StartsWith('.') || local.EndsWith('.') || local.Contains("..", StringComparison.Ordinal)) return true;
        foreach (char c in local)
            if (c <= ' ' || "()<>[]:;@\\,\"".Contains(c)) return true;
        return false;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<MailboxAddress> Mailboxes => [this];

    /// <inheritdoc/>
    public override string ToString() => DisplayName is null ? Address : $"\"{DisplayName}\" <{Address}>";
}

/// <summary>A named group ("undisclosed-recipients:;").</summary>
public sealed class GroupAddress : InternetAddress
{
    /// <summary>Creates a group.</summary>
    public GroupAddress(string? name, IReadOnlyList<MailboxAddress> members)
    {
        DisplayName = name;
        Members = members;
    }

    /// <summary>The members.</summary>
    public IReadOnlyList<MailboxAddress> Members { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<MailboxAddress> Mailboxes => Members;

    /// <summary>The group name (same as <see cref="InternetAddress.DisplayName"/>).</summary>
    public string? Name => DisplayName;

    /// <inheritdoc/>
    public override string ToString() => $"{DisplayName}: {string.Join(", ", Members)};";
}

/// <summary>
/// RFC 5322 address-list parser with the obsolete forms (routes, phrases with dots, CFWS everywhere), groups,
/// comments (used as display name for "addr (Name)"), quoted local parts, RFC 2047 display names, UTF-8 (RFC 6532).
/// Tolerant: never throws; garbage is skipped.
/// </summary>
public static class AddressParser
{
    private enum TokKind { Atom, Quoted, At, Dot, Literal }

    private readonly record struct Tok(TokKind Kind, string Text, bool SpaceBefore);

    /// <summary>Parses an (unfolded, not RFC 2047-decoded) address-list value.</summary>
    public static IReadOnlyList<InternetAddress> ParseList(string value, int maxAddresses = 1000)
    {
        var list = new List<InternetAddress>();
        int pos = 0;
        int guard = 0;
        while (pos < value.Length && list.Count < maxAddresses && guard++ < 100000)
        {
            StructuredText.SkipCfws(value, ref pos);
            if (pos >= value.Length) break;
            if (value[pos] is ',' or ';') { pos++; continue; }
            int before = pos;
            var a = ParseAddress(value, ref pos, false);
            if (a is not null) list.Add(a);
            if (pos == before) pos++;
        }
        return list;
    }

    /// <summary>Parses a single mailbox; false when the value has none.</summary>
    public static bool TryParseMailbox(string value, out MailboxAddress mailbox)
    {
        foreach (var a in ParseList(value))
            foreach (var m in a.Mailboxes) { mailbox = m; return true; }
        mailbox = null!;
        return false;
    }

    private static InternetAddress? ParseAddress(string s, ref int pos, bool inGroup)
    {
        var tokens = new List<Tok>();
        var comments = new List<string>();
        while (pos < s.Length)
        {
            int before = pos;
            StructuredText.SkipCfws(s, ref pos, comments);
            bool space = pos > before;
            if (pos >= s.Length) break;
            char c = s[pos];
            switch (c)
            {
                case '<':
                {
                    pos++;
                    var (local, domain, route) = ParseAngle(s, ref pos);
                    // Skip trailing junk up to the next separator.
                    StructuredText.SkipCfws(s, ref pos, comments);
                    while (pos < s.Length && s[pos] != ',' && !(inGroup && s[pos] == ';')) { pos++; }
                    string? name = Phrase(tokens);
                    if (local.Length == 0 && domain.Length == 0 && name is null) return null;
                    return new MailboxAddress(name, local, domain) { Route = route };
                }
                case ':' when !inGroup && tokens.Count > 0 && !tokens.Any(t => t.Kind == TokKind.At):
                {
                    pos++;
                    var members = new List<MailboxAddress>();
                    int guard = 0;
                    while (pos < s.Length && guard++ < 10000)
                    {
                        StructuredText.SkipCfws(s, ref pos);
                        if (pos >= s.Length) break;
                        if (s[pos] == ';') { pos++; break; }
                        if (s[pos] == ',') { pos++; continue; }
                        int b = pos;
                        var m = ParseAddress(s, ref pos, true);
                        if (m is not null) members.AddRange(m.Mailboxes);
                        if (pos == b) pos++;
                    }
                    return new GroupAddress(Phrase(tokens), members);
                }
                case ',':
                    return FromTokens(tokens, comments);
                case ';':
                    if (inGroup) return FromTokens(tokens, comments);
                    pos++;
                    break;
                case '"':
                    tokens.Add(new Tok(TokKind.Quoted, StructuredText.ReadQuoted(s, ref pos, out _), space));
                    break;
                case '@':
                    tokens.Add(new Tok(TokKind.At, "@", space)); pos++;
                    break;
                case '.':
                    tokens.Add(new Tok(TokKind.Dot, ".", space)); pos++;
                    break;
                case '[':
                {
                    int close = s.IndexOf(']', pos);
                    int end = close < 0 ? s.Length : close + 1;
                    tokens.Add(new Tok(TokKind.Literal, s[pos..end], space));
                    pos = end;
                    break;
                }
                case '>' or ')' or ']' or ':' or '\\':
                    pos++;
                    break;
                default:
                {
                    int st = pos;
                    while (pos < s.Length && !IsSpecial(s[pos])) pos++;
                    if (pos == st) { pos++; break; }
                    tokens.Add(new Tok(TokKind.Atom, s[st..pos], space));
                    break;
                }
            }
        }
        return FromTokens(tokens, comments);
    }

    private static bool IsSpecial(char c) => c is ' ' or '\t' or '\r' or '\n' or '(' or ')' or '<' or '>' or '[' or ']' or ':' or ';' or '@' or '\\' or ',' or '.' or '"';

    private static MailboxAddress? FromTokens(List<Tok> tokens, List<string> comments)
    {
        if (tokens.Count == 0) return null;
        int at = tokens.FindLastIndex(t => t.Kind == TokKind.At);
        int localEnd = at < 0 ? tokens.Count : at;
        // "John Doe john@example.com": the local part starts after the last blank that is not next to a dot.
        int localStart = 0;
        for (int i = localEnd - 1; i > 0; i--)
        {
            if (tokens[i].SpaceBefore && tokens[i].Kind is TokKind.Atom or TokKind.Quoted && tokens[i - 1].Kind is TokKind.Atom or TokKind.Quoted)
            {
                localStart = i;
                break;
            }
        }
        if (at < 0 && localStart > 0) localStart = 0; // no '@': keep everything as the local part
        var local = Concat(tokens, localStart, localEnd);
        string domain = at < 0 ? "" : Concat(tokens, at + 1, tokens.Count).Replace("@", "", StringComparison.Ordinal);
        string? name = localStart > 0 ? Phrase(tokens.GetRange(0, localStart)) : null;
        if (name is null && comments.Count > 0)
        {
            var c = comments[^1].Trim();
            if (c.Length > 0) name = EncodedWords.Decode(c);
        }
        if (local.Length == 0 && domain.Length == 0) return null;
        return new MailboxAddress(name, local, domain);
    }

    private static string Concat(List<Tok> tokens, int from, int to)
    {
        var sb = new StringBuilder();
        for (int i = from; i < to; i++) sb.Append(tokens[i].Text);
        return sb.ToString();
    }

    private static string? Phrase(List<Tok> tokens)
    {
        if (tokens.Count == 0) return null;
        var sb = new StringBuilder();
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (sb.Length > 0 && t.SpaceBefore && t.Kind != TokKind.Dot) sb.Append(' ');
            sb.Append(t.Text);
        }
        var s = EncodedWords.Decode(sb.ToString()).Trim();
        return s.Length == 0 ? null : s;
    }

    private static (string Local, string Domain, IReadOnlyList<string> Route) ParseAngle(string s, ref int pos)
    {
        IReadOnlyList<string> route = [];
        StructuredText.SkipCfws(s, ref pos);
        if (pos < s.Length && s[pos] == '@')
        {
            int colon = s.IndexOf(':', pos);
            int gt = s.IndexOf('>', pos);
            if (colon > 0 && (gt < 0 || colon < gt))
            {
                route = s[(pos + 1)..colon].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(r => r.TrimStart('@')).ToArray();
                pos = colon + 1;
            }
        }
        var sb = new StringBuilder();
        int lastAt = -1;
        while (pos < s.Length)
        {
            StructuredText.SkipCfws(s, ref pos);
            if (pos >= s.Length) break;
            char c = s[pos];
            if (c == '>') { pos++; break; }
            if (c == ',' || c == '<') break; // missing '>'
            if (c == '"') { sb.Append(StructuredText.ReadQuoted(s, ref pos, out _)); continue; }
            if (c == '@') lastAt = sb.Length;
            sb.Append(c);
            pos++;
        }
        var all = sb.ToString();
        if (lastAt < 0) return (all.Trim(), "", route);
        return (all[..lastAt].Trim(), all[(lastAt + 1)..].Trim(), route);
    }
}
