using Assp.Mime;

namespace Assp.Auth.Dkim;

/// <summary>One header field as received: its name and its exact bytes (folding and terminator included).</summary>
public sealed record DkimHeaderField(string Name, ReadOnlyMemory<byte> Raw)
{
    /// <summary>The value (after the colon) as Latin-1 text with folding removed; one char per byte.</summary>
    public string Value
    {
        get
        {
            var text = DkimCanonicalizer.Latin1(Raw.Span);
            int colon = text.IndexOf(':');
            return colon < 0 ? "" : text[(colon + 1)..].Replace("\r", "").Replace("\n", "").Trim();
        }
    }

    public bool Is(string name) => Name.Equals(name, StringComparison.OrdinalIgnoreCase);
}

/// <summary>What DKIM and ARC work on: the header fields in order (top first) and the raw body.</summary>
public sealed class DkimMessage
{
    public DkimMessage(IReadOnlyList<DkimHeaderField> headers, ReadOnlyMemory<byte> body)
    {
        Headers = headers;
        Body = body;
    }

    public IReadOnlyList<DkimHeaderField> Headers { get; }

    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The raw header fields and body of a parsed message (offsets from Assp.Mime, no copying).</summary>
    public static DkimMessage FromMime(MimeMessage message) =>
        new([.. message.Headers.Select(h => new DkimHeaderField(h.Name, h.RawLine))], message.Root.RawBody);

    /// <summary>Parses raw message bytes (CRLF or LF line ends).</summary>
    public static DkimMessage Parse(ReadOnlyMemory<byte> raw) => FromMime(MimeParser.Parse(raw));

    /// <summary>
    /// The header fields named in an h= list, chosen as RFC 6376 5.4.2 says: each occurrence of a name takes the
    /// next instance from the bottom; a name with no instance left contributes nothing (over-signing).
    /// </summary>
    public IEnumerable<DkimHeaderField> SelectSigned(IEnumerable<string> names, DkimHeaderField? exclude = null)
    {
        var used = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in names)
        {
            used.TryGetValue(name, out int n);
            int seen = 0;
            DkimHeaderField? pick = null;
            for (int i = Headers.Count - 1; i >= 0; i--)
            {
                var h = Headers[i];
                if (!h.Is(name) || ReferenceEquals(h, exclude)) continue;
                if (seen++ == n) { pick = h; break; }
            }
            used[name] = n + 1;
            if (pick is not null) yield return pick;
        }
    }
}
