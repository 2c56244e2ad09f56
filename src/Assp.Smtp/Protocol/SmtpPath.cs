namespace Assp.Smtp.Protocol;

/// <summary>
/// A MAIL FROM / RCPT TO argument: the address inside &lt;&gt;, the ESMTP parameters after it, and the address
/// forms that matter for relay safety (source routes, quoted local parts, '%' and '!' routing).
/// </summary>
public sealed record SmtpPath(string Address, string? SourceRoute, IReadOnlyDictionary<string, string?> Parameters)
{
    public bool IsNull => Address.Length == 0;

    public string LocalPart => Address.LastIndexOf('@') is var at and >= 0 ? Address[..at] : Address;

    public string Domain => Address.LastIndexOf('@') is var at and >= 0 ? Address[(at + 1)..] : "";

    /// <summary>Local parts that some MTAs still route onward: "user%host", "host!user", or quoted forms.</summary>
    public bool HasRoutingLocalPart
    {
        get
        {
            var local = LocalPart;
            return local.Contains('%') || local.Contains('!') || local.StartsWith('"') || local.Contains('@');
        }
    }

    /// <summary>
    /// Parses "FROM:&lt;a@b&gt; SIZE=123" style arguments (after the verb). Tolerates a missing '&lt;&gt;' and a
    /// space after the colon, as real clients send them. Returns null with a reason when malformed.
    /// </summary>
    public static SmtpPath? Parse(string argument, string keyword, out string? error)
    {
        error = null;
        var arg = argument.TrimStart();
        if (!arg.StartsWith(keyword, StringComparison.OrdinalIgnoreCase) || arg.Length <= keyword.Length || arg[keyword.Length] != ':')
        {
            error = $"syntax: expected {keyword}:<address>";
            return null;
        }
        arg = arg[(keyword.Length + 1)..].TrimStart();
        string path;
        string rest;
        if (arg.StartsWith('<'))
        {
            int close = FindClosingBracket(arg);
            if (close < 0)
            {
                error = "syntax: missing '>'";
                return null;
            }
            path = arg[1..close];
            rest = arg[(close + 1)..];
        }
        else
        {
            int space = arg.IndexOf(' ');
            path = space < 0 ? arg : arg[..space];
            rest = space < 0 ? "" : arg[space..];
        }
        string? route = null;
        if (path.StartsWith('@'))
        {
            // Source route "@a,@b:user@c": RFC 5321 says ignore the route and use the final address.
            int colon = path.IndexOf(':');
            if (colon < 0)
            {
                error = "syntax: source route without ':'";
                return null;
            }
            route = path[..colon];
            path = path[(colon + 1)..];
        }
        if (HasInvalidCharacter(path))
        {
            error = "syntax: invalid character in address";
            return null;
        }
        var parameters = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in rest.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = p.IndexOf('=');
            if (eq < 0) parameters[p] = null;
            else parameters[p[..eq]] = p[(eq + 1)..];
        }
        return new SmtpPath(path, route, parameters);
    }

    /// <summary>Spaces and angle brackets are allowed only inside a quoted local part; control characters never.</summary>
    private static bool HasInvalidCharacter(string path)
    {
        bool quoted = false;
        for (int i = 0; i < path.Length; i++)
        {
            char c = path[i];
            if (c < ' ' || c == 0x7F) return true;
            if (quoted && c == '\\') { i++; continue; }
            if (c == '"') { quoted = !quoted; continue; }
            if (!quoted && c is ' ' or '<' or '>') return true;
        }
        return quoted;
    }

    private static int FindClosingBracket(string s)
    {
        bool quoted = false;
        for (int i = 1; i < s.Length; i++)
        {
            if (s[i] == '\\' && quoted) { i++; continue; }
            if (s[i] == '"') quoted = !quoted;
            else if (s[i] == '>' && !quoted) return i;
        }
        return -1;
    }
}
