using System.Collections;
using System.Text;

namespace Assp.Mime;

/// <summary>
/// One header field. The raw bytes (name, colon, value, folding and line terminator) are kept exactly as
/// received; <see cref="Value"/> is unfolded and RFC 2047-decoded on first use.
/// </summary>
public sealed class Header
{
    private string? _unfolded;
    private string? _decoded;

    internal Header(string name, ReadOnlyMemory<byte> rawLine, int valueOffset, int valueLength, int offset)
    {
        Name = name;
        RawLine = rawLine;
        RawValue = rawLine.Slice(valueOffset, valueLength);
        Offset = offset;
    }

    /// <summary>A new header (not from a parsed message). The value is RFC 2047-encoded if it is not ASCII.</summary>
    public Header(string name, string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        foreach (char c in name)
            if (c <= ' ' || c > '~' || c == ':') throw new ArgumentException($"Invalid header name '{name}'.", nameof(name));
        Name = name;
        var safe = SanitizeValue(value);
        var encoded = EncodedWords.EncodeIfNeeded(safe);
        var bytes = Encoding.UTF8.GetBytes(" " + encoded);
        RawValue = bytes;
        RawLine = Encoding.UTF8.GetBytes(name + ":" + " " + encoded);
        Offset = -1;
        _unfolded = safe;
    }

    private static string SanitizeValue(string value)
    {
        // No header injection: line breaks not followed by whitespace become spaces.
        var sb = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c is '\r' or '\n' or '\0') { if (sb.Length > 0 && sb[^1] != ' ') sb.Append(' '); continue; }
            sb.Append(c);
        }
        return sb.ToString().Trim();
    }

    /// <summary>The field name as written (case preserved).</summary>
    public string Name { get; }

    /// <summary>The complete raw field: name, colon, value with folding, and its line terminator if it had one.
    /// For a header created in code it has no terminator.</summary>
    public ReadOnlyMemory<byte> RawLine { get; }

    /// <summary>The raw bytes after the colon, folding included, line terminator excluded.</summary>
    public ReadOnlyMemory<byte> RawValue { get; }

    /// <summary>Offset of the field in the message source, or -1 for a header created in code.</summary>
    public int Offset { get; }

    /// <summary>The value unfolded (line breaks removed) and trimmed, but not RFC 2047-decoded.
    /// 8-bit bytes are read as UTF-8 when valid, Latin-1 otherwise.</summary>
    public string UnfoldedValue => _unfolded ??= Unfold(RawValue.Span);

    /// <summary>The value unfolded and with RFC 2047 encoded words decoded (for unstructured fields).</summary>
    public string Value => _decoded ??= EncodedWords.Decode(UnfoldedValue);

    /// <summary>True when the raw value has bytes above 0x7F.</summary>
    public bool HasEightBitBytes => !Ascii.IsValid(RawValue.Span);

    internal static string Unfold(ReadOnlySpan<byte> raw)
    {
        var s = Charsets.DecodeHeaderBytes(raw);
        if (s.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            var sb = new StringBuilder(s.Length);
            foreach (char c in s) if (c != '\r' && c != '\n') sb.Append(c);
            s = sb.ToString();
        }
        return s.Trim();
    }

    /// <inheritdoc/>
    public override string ToString() => Name + ": " + UnfoldedValue;
}

/// <summary>Header fields in their original order, duplicates kept, with case-insensitive lookup.</summary>
public sealed class HeaderList : IReadOnlyList<Header>
{
    private readonly List<Header> _headers;

    /// <summary>An empty list.</summary>
    public HeaderList() => _headers = [];

    internal HeaderList(List<Header> headers) => _headers = headers;

    /// <inheritdoc/>
    public Header this[int index] => _headers[index];

    /// <summary>The decoded value of the first field with this name, or null.</summary>
    public string? this[string name] => Get(name)?.Value;

    /// <inheritdoc/>
    public int Count => _headers.Count;

    /// <summary>The first field with this name, or null.</summary>
    public Header? Get(string name)
    {
        foreach (var h in _headers) if (string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)) return h;
        return null;
    }

    /// <summary>The last field with this name, or null.</summary>
    public Header? GetLast(string name)
    {
        for (int i = _headers.Count - 1; i >= 0; i--)
            if (string.Equals(_headers[i].Name, name, StringComparison.OrdinalIgnoreCase)) return _headers[i];
        return null;
    }

    /// <summary>All fields with this name, in order.</summary>
    public IEnumerable<Header> GetAll(string name)
    {
        foreach (var h in _headers) if (string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)) yield return h;
    }

    /// <summary>True when at least one field has this name.</summary>
    public bool Contains(string name) => Get(name) is not null;

    /// <summary>How many fields have this name.</summary>
    public int CountOf(string name)
    {
        int n = 0;
        foreach (var h in _headers) if (string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)) n++;
        return n;
    }

    /// <summary>Index of the first field with this name, or -1.</summary>
    public int IndexOf(string name)
    {
        for (int i = 0; i < _headers.Count; i++)
            if (string.Equals(_headers[i].Name, name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    internal void Add(Header h) => _headers.Add(h);

    /// <inheritdoc/>
    public IEnumerator<Header> GetEnumerator() => _headers.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
