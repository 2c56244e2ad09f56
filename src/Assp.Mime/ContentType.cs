using System.Collections;
using System.Text;

namespace Assp.Mime;

/// <summary>One parameter of a Content-Type or Content-Disposition field, fully decoded.</summary>
public sealed record MimeParameter(string Name, string Value);

/// <summary>
/// Parameters of a structured MIME field, with RFC 2231 continuations (name*0*=), charsets, languages and
/// percent-decoding merged, and RFC 2047 encoded words in plain values decoded. Lookup is case-insensitive;
/// the first occurrence of a name wins, an RFC 2231 value beats a plain one.
/// </summary>
public sealed class ParameterList : IReadOnlyList<MimeParameter>
{
    private readonly List<MimeParameter> _items = [];

    /// <inheritdoc/>
    public MimeParameter this[int index] => _items[index];

    /// <summary>The value of the named parameter, or null.</summary>
    public string? this[string name]
    {
        get
        {
            foreach (var p in _items) if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p.Value;
            return null;
        }
    }

    /// <inheritdoc/>
    public int Count => _items.Count;

    /// <summary>True when some parameter was syntactically broken.</summary>
    public bool HadErrors { get; private set; }

    /// <inheritdoc/>
    public IEnumerator<MimeParameter> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private readonly record struct RawParam(string Name, string Value, bool Quoted);

    /// <summary>Parses "; a=b; c*=utf-8''%C3%A9 ..." starting at <paramref name="pos"/>.</summary>
    public static ParameterList Parse(string s, int pos = 0)
    {
        var result = new ParameterList();
        var raw = new List<RawParam>();
        while (pos < s.Length)
        {
            StructuredText.SkipCfws(s, ref pos);
            if (pos >= s.Length) break;
            if (s[pos] == ';') { pos++; continue; }
            int nameStart = pos;
            while (pos < s.Length && s[pos] != '=' && s[pos] != ';' && !char.IsWhiteSpace(s[pos]) && s[pos] != '"') pos++;
            string name = s[nameStart..pos];
            StructuredText.SkipCfws(s, ref pos);
            if (name.Length == 0 || pos >= s.Length || s[pos] != '=')
            {
                result.HadErrors = true;
                if (name.Length == 0 && pos < s.Length && s[pos] != ';') pos++;
                while (pos < s.Length && s[pos] != ';') pos++;
                continue;
            }
            pos++; // '='
            while (pos < s.Length && (s[pos] == ' ' || s[pos] == '\t')) pos++;
            string value;
            bool quoted = false;
            if (pos < s.Length && s[pos] == '"')
            {
                value = StructuredText.ReadQuoted(s, ref pos, out bool closed);
                if (!closed) result.HadErrors = true;
                quoted = true;
            }
            else
            {
                var sb = new StringBuilder();
                while (true)
                {
                    int vs = pos;
                    while (pos < s.Length && s[pos] != ';' && !char.IsWhiteSpace(s[pos])) pos++;
                    sb.Append(s, vs, pos - vs);
                    int save = pos;
                    while (pos < s.Length && char.IsWhiteSpace(s[pos])) pos++;
                    if (pos >= s.Length || s[pos] == ';' || LooksLikeParamStart(s, pos) || s[pos] == '(') { if (pos < s.Length && s[pos] == '(') pos = save; break; }
                    result.HadErrors = true; // unquoted value with spaces
                    sb.Append(s, save, pos - save);
                }
                value = sb.ToString();
            }
            raw.Add(new RawParam(name, value, quoted));
        }
        result.Merge(raw);
        return result;
    }

    private static bool LooksLikeParamStart(string s, int pos)
    {
        int p = pos;
        while (p < s.Length && (char.IsAsciiLetterOrDigit(s[p]) || s[p] is '-' or '_' or '*' or '.')) p++;
        if (p == pos) return false;
        while (p < s.Length && (s[p] == ' ' || s[p] == '\t')) p++;
        return p < s.Length && s[p] == '=';
    }

    private void Merge(List<RawParam> raw)
    {
        // Group RFC 2231 sections by base name.
        var sections = new Dictionary<string, SortedDictionary<int, RawParam>>(StringComparer.OrdinalIgnoreCase);
        var order = new List<string>();
        var plain = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in raw)
        {
            string n = p.Name;
            int star = n.IndexOf('*');
            if (star > 0)
            {
                string baseName = n[..star];
                var rest = n.AsSpan(star + 1);
                bool encoded = rest.EndsWith("*") || rest.Length == 0;
                if (rest.EndsWith("*")) rest = rest[..^1];
                int num = 0;
                if (rest.Length > 0 && !int.TryParse(rest, out num)) { HadErrors = true; continue; }
                if (num > 5000) continue;
                if (!sections.TryGetValue(baseName, out var secs))
                {
                    sections[baseName] = secs = [];
                    if (!order.Contains(baseName, StringComparer.OrdinalIgnoreCase)) order.Add(baseName);
                }
                if (!secs.ContainsKey(num)) secs[num] = p with { Name = encoded ? "*" : "" };
                continue;
            }
            if (!plain.ContainsKey(n))
            {
                plain[n] = p.Value.Contains("=?", StringComparison.Ordinal) ? EncodedWords.Decode(p.Value) : p.Value;
                if (!order.Contains(n, StringComparer.OrdinalIgnoreCase)) order.Add(n);
            }
        }
        foreach (var name in order)
        {
            if (sections.TryGetValue(name, out var secs)) _items.Add(new MimeParameter(name, Decode2231(secs)));
            else if (plain.TryGetValue(name, out var v)) _items.Add(new MimeParameter(name, v));
        }
    }

    private string Decode2231(SortedDictionary<int, RawParam> secs)
    {
        string? charset = null;
        var bytes = new List<byte>();
        bool first = true;
        foreach (var (_, sec) in secs)
        {
            string v = sec.Value;
            bool encoded = sec.Name == "*";
            if (first && encoded)
            {
                int q1 = v.IndexOf('\'');
                int q2 = q1 >= 0 ? v.IndexOf('\'', q1 + 1) : -1;
                if (q1 >= 0 && q2 >= 0) { charset = v[..q1]; v = v[(q2 + 1)..]; }
                else HadErrors = true;
            }
            first = false;
            for (int i = 0; i < v.Length; i++)
            {
                char c = v[i];
                if (encoded && c == '%' && i + 2 < v.Length && char.IsAsciiHexDigit(v[i + 1]) && char.IsAsciiHexDigit(v[i + 2]))
                {
                    bytes.Add(Convert.ToByte(v.Substring(i + 1, 2), 16));
                    i += 2;
                }
                else if (c < 256) bytes.Add((byte)c);
                else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
        var arr = bytes.ToArray();
        string text = Charsets.Decode(arr, string.IsNullOrEmpty(charset) ? null : charset);
        return text.Contains("=?", StringComparison.Ordinal) ? EncodedWords.Decode(text) : text;
    }
}

/// <summary>Helpers for RFC 5322 structured text: comments, folding whitespace, quoted strings.</summary>
internal static class StructuredText
{
    /// <summary>Skips whitespace and (nested) comments.</summary>
    public static void SkipCfws(string s, ref int pos) => SkipCfws(s, ref pos, null);

    /// <summary>Skips whitespace and comments, collecting the last comment's text.</summary>
    public static void SkipCfws(string s, ref int pos, List<string>? comments)
    {
        while (pos < s.Length)
        {
            char c = s[pos];
            if (c is ' ' or '\t' or '\r' or '\n') { pos++; continue; }
            if (c == '(')
            {
                int start = pos + 1;
                int depth = 0;
                while (pos < s.Length)
                {
                    char d = s[pos];
                    if (d == '\\') { pos = Math.Min(pos + 2, s.Length); continue; }
                    if (d == '(') depth++;
                    else if (d == ')') { depth--; if (depth == 0) break; }
                    pos++;
                }
                int end = Math.Min(pos, s.Length);
                comments?.Add(s[start..end]);
                if (pos < s.Length) pos++;
                continue;
            }
            break;
        }
    }

    /// <summary>Reads a quoted string at s[pos] == '"'; returns its unescaped content.</summary>
    public static string ReadQuoted(string s, ref int pos, out bool closed)
    {
        pos++;
        var sb = new StringBuilder();
        closed = false;
        while (pos < s.Length)
        {
            char c = s[pos];
            if (c == '\\' && pos + 1 < s.Length) { sb.Append(s[pos + 1]); pos += 2; continue; }
            if (c == '"') { pos++; closed = true; break; }
            if (c is '\r' or '\n') { pos++; continue; }
            sb.Append(c);
            pos++;
        }
        return sb.ToString();
    }
}

/// <summary>A parsed Content-Type field. Malformed values fall back to text/plain (see <see cref="IsValid"/>).</summary>
public sealed class ContentType
{
    /// <summary>The default for parts without a Content-Type: text/plain; charset=us-ascii.</summary>
    public static readonly ContentType Default = new("text", "plain", new ParameterList(), true);

    private ContentType(string mediaType, string subtype, ParameterList parameters, bool valid)
    {
        MediaType = mediaType;
        MediaSubtype = subtype;
        Parameters = parameters;
        IsValid = valid;
        MimeType = mediaType + "/" + subtype;
    }

    /// <summary>Lower-case top-level type ("text", "multipart"...).</summary>
    public string MediaType { get; }

    /// <summary>Lower-case subtype ("plain", "mixed"...).</summary>
    public string MediaSubtype { get; }

    /// <summary>"type/subtype", lower case.</summary>
    public string MimeType { get; }

    /// <summary>All parameters, decoded.</summary>
    public ParameterList Parameters { get; }

    /// <summary>False when the field was syntactically broken (the type may then be a guess).</summary>
    public bool IsValid { get; }

    /// <summary>The charset parameter, or null.</summary>
    public string? Charset => Parameters["charset"];

    /// <summary>The boundary parameter (trailing whitespace removed), or null.</summary>
    public string? Boundary => Parameters["boundary"]?.TrimEnd();

    /// <summary>The name parameter (an old form of the file name), or null.</summary>
    public string? Name => Parameters["name"];

    /// <summary>True for this type/subtype (case-insensitive; "*" matches any subtype).</summary>
    public bool Is(string mediaType, string subtype = "*") =>
        string.Equals(MediaType, mediaType, StringComparison.OrdinalIgnoreCase) &&
        (subtype == "*" || string.Equals(MediaSubtype, subtype, StringComparison.OrdinalIgnoreCase));

    /// <summary>Parses an unfolded Content-Type value; never throws.</summary>
    public static ContentType Parse(string value)
    {
        int pos = 0;
        StructuredText.SkipCfws(value, ref pos);
        int ts = pos;
        while (pos < value.Length && value[pos] != '/' && value[pos] != ';' && !char.IsWhiteSpace(value[pos]) && value[pos] != '(') pos++;
        string type = value[ts..pos].Trim('"').ToLowerInvariant();
        StructuredText.SkipCfws(value, ref pos);
        string sub = "";
        bool valid = true;
        if (pos < value.Length && value[pos] == '/')
        {
            pos++;
            StructuredText.SkipCfws(value, ref pos);
            int ss = pos;
            while (pos < value.Length && value[pos] != ';' && !char.IsWhiteSpace(value[pos]) && value[pos] != '(' && value[pos] != '"') pos++;
            sub = value[ss..pos].ToLowerInvariant();
        }
        var parameters = ParameterList.Parse(value, pos);
        if (!IsToken(type) || !IsToken(sub))
        {
            valid = false;
            // Common breakage: "text" alone, "multipart/mixed;boundary" mangled. Guess what we can.
            if (type == "text" || (type.Length == 0 && parameters["charset"] is not null)) (type, sub) = ("text", sub.Length == 0 || !IsToken(sub) ? "plain" : sub);
            else if (type == "multipart" && parameters["boundary"] is not null) sub = IsToken(sub) ? sub : "mixed";
            else if (!IsToken(type) || sub.Length == 0) { type = "text"; sub = "plain"; }
        }
        return new ContentType(type, sub, parameters, valid && !parameters.HadErrors);
    }

    private static bool IsToken(string s)
    {
        if (s.Length == 0) return false;
        foreach (char c in s)
            if (c <= ' ' || c > '~' || "()<>@,;:\\\"/[]?=".Contains(c)) return false;
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => MimeType;
}

/// <summary>A parsed Content-Disposition field.</summary>
public sealed class ContentDisposition
{
    private ContentDisposition(string disposition, ParameterList parameters)
    {
        Disposition = disposition;
        Parameters = parameters;
    }

    /// <summary>Lower-case disposition ("inline", "attachment", or whatever was written).</summary>
    public string Disposition { get; }

    /// <summary>All parameters, decoded.</summary>
    public ParameterList Parameters { get; }

    /// <summary>True for "attachment".</summary>
    public bool IsAttachment => Disposition == "attachment";

    /// <summary>The filename parameter (decoded, not yet sanitized), or null.</summary>
    public string? FileName => Parameters["filename"];

    /// <summary>Parses an unfolded Content-Disposition value; never throws.</summary>
    public static ContentDisposition Parse(string value)
    {
        int pos = 0;
        StructuredText.SkipCfws(value, ref pos);
        int s = pos;
        while (pos < value.Length && value[pos] != ';' && !char.IsWhiteSpace(value[pos]) && value[pos] != '(') pos++;
        string disp = value[s..pos].Trim('"').ToLowerInvariant();
        // "filename=x" with no disposition at all.
        if (disp.Contains('=')) { disp = "attachment"; pos = s; }
        return new ContentDisposition(disp, ParameterList.Parse(value, pos));
    }

    /// <inheritdoc/>
    public override string ToString() => Disposition;
}
