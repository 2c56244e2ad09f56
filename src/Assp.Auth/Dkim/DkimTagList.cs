using System.Text;

namespace Assp.Auth.Dkim;

/// <summary>
/// A parsed RFC 6376 3.2 tag-list ("a=rsa-sha256; d=example.org; ..."), used by DKIM-Signature, ARC headers and
/// key records. Tag names are case-sensitive; values keep inner whitespace except folding line breaks.
/// </summary>
public sealed class DkimTagList
{
    private readonly Dictionary<string, string> _tags;

    private DkimTagList(Dictionary<string, string> tags, List<string> order)
    {
        _tags = tags;
        Names = order;
    }

    /// <summary>The tag names in the order they appeared.</summary>
    public IReadOnlyList<string> Names { get; }

    public string? this[string name] => _tags.TryGetValue(name, out var v) ? v : null;

    public bool Contains(string name) => _tags.ContainsKey(name);

    /// <summary>Parses a tag-list; null with a reason when it is malformed or names a tag twice.</summary>
    public static DkimTagList? Parse(string text, out string error)
    {
        error = "";
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        var parts = text.Split(';');
        for (int p = 0; p < parts.Length; p++)
        {
            var item = parts[p].Trim(' ', '\t', '\r', '\n');
            if (item.Length == 0)
            {
                // Only the list may end with ';' (RFC 6376 3.2); an empty spec in the middle (";;") is a syntax error.
                if (p == parts.Length - 1 || (p == 0 && parts.Length == 1)) continue;
                error = "empty tag (\";;\")";
                return null;
            }
            int eq = item.IndexOf('=');
            if (eq <= 0) { error = $"malformed tag '{Shorten(item)}'"; return null; }
            var name = item[..eq].TrimEnd(' ', '\t', '\r', '\n');
            if (!IsTagName(name)) { error = $"malformed tag name '{Shorten(name)}'"; return null; }
            var value = RemoveLineBreaks(item[(eq + 1)..]).Trim(' ', '\t');
            if (!tags.TryAdd(name, value)) { error = $"tag {name}= appears twice"; return null; }
            order.Add(name);
        }
        return new DkimTagList(tags, order);
    }

    /// <summary>A value with all whitespace removed (b=, bh=, p= are base64 with FWS allowed anywhere).</summary>
    public static string WithoutWhitespace(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value) if (c is not (' ' or '\t' or '\r' or '\n')) sb.Append(c);
        return sb.ToString();
    }

    private static bool IsTagName(string name)
    {
        if (name.Length == 0 || !char.IsAsciiLetter(name[0])) return false;
        foreach (var c in name) if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
        return true;
    }

    private static string RemoveLineBreaks(string s) =>
        s.Contains('\n') || s.Contains('\r') ? s.Replace("\r", "").Replace("\n", "") : s;

    private static string Shorten(string s) => s.Length > 40 ? s[..40] + "..." : s;
}
