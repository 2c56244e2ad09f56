using System.Buffers;
using System.Text;

namespace Assp.Mime;

/// <summary>
/// Re-serialises a parsed message from its entity tree, copying every byte from the source (header fields,
/// separators, boundaries, bodies) and applying only the top-level header edits requested: fields added at the top
/// or at the end of the header, removed, or replaced. With no edits the output is byte-identical to the input.
/// New fields use the message's own line terminator (CRLF or LF) and are RFC 2047-encoded when not ASCII.
/// </summary>
public sealed class MimeWriter
{
    private readonly MimeMessage _message;
    private readonly List<Header> _prepend = [];
    private readonly List<Header> _append = [];
    private readonly HashSet<string> _remove = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Header> _replace = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A writer for this message.</summary>
    public MimeWriter(MimeMessage message) => _message = message ?? throw new ArgumentNullException(nameof(message));

    /// <summary>Adds a field before all others (the most recent first, as Received fields are added).</summary>
    public MimeWriter AddAtTop(string name, string value)
    {
        _prepend.Insert(0, new Header(name, value));
        return this;
    }

    /// <summary>Adds a field after all others, before the empty line.</summary>
    public MimeWriter AddAtEnd(string name, string value)
    {
        _append.Add(new Header(name, value));
        return this;
    }

    /// <summary>Removes every field with this name.</summary>
    public MimeWriter Remove(string name)
    {
        _remove.Add(name);
        return this;
    }

    /// <summary>Replaces the first field with this name in place (later duplicates are removed); adds it at the end
    /// when there is none.</summary>
    public MimeWriter Replace(string name, string value)
    {
        _replace[name] = new Header(name, value);
        return this;
    }

    /// <summary>The serialised message.</summary>
    public byte[] ToArray()
    {
        var w = new ArrayBufferWriter<byte>(_message.Source.Length + 256);
        Write(w);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>Writes the serialised message to a stream.</summary>
    public async Task WriteToAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var w = new ArrayBufferWriter<byte>(_message.Source.Length + 256);
        Write(w);
        await stream.WriteAsync(w.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the serialised message to a buffer writer.</summary>
    public void Write(IBufferWriter<byte> output)
    {
        var src = _message.Source.Span;
        var root = _message.Root;
        var eol = DetectEol(src, root.HeaderStart);
        output.Write(src[..root.HeaderStart]); // an mbox From line, if any
        // Top-level header block with edits.
        int cursor = root.HeaderStart;
        foreach (var h in _prepend) WriteNew(output, h, eol);
        var replaced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        Header? last = null;
        foreach (var h in root.Headers)
        {
            output.Write(src[cursor..h.Offset]); // nothing, normally
            cursor = h.Offset + h.RawLine.Length;
            if (_replace.TryGetValue(h.Name, out var rep))
            {
                if (replaced.Add(h.Name))
                {
                    WriteNew(output, rep, eol);
                }
                continue;
            }
            if (_remove.Contains(h.Name)) continue;
            output.Write(h.RawLine.Span);
            last = h;
        }
        if (_append.Count > 0 || _replace.Keys.Any(k => !replaced.Contains(k)))
        {
            // A header-only message may end without a line break.
            if (root.Headers.Count > 0 && cursor == root.HeaderEnd && !EndsWithEol(src[..cursor]) && cursor > root.HeaderStart)
                output.Write(eol);
            foreach (var (name, h) in _replace) if (!replaced.Contains(name)) WriteNew(output, h, eol);
            foreach (var h in _append) WriteNew(output, h, eol);
        }
        output.Write(src[cursor..root.HeaderEnd]);
        WriteBody(output, src, root);
        output.Write(src[root.BodyEnd..]);
        _ = last;
    }

    private static bool EndsWithEol(ReadOnlySpan<byte> s) => s.Length > 0 && (s[^1] == (byte)'\n' || s[^1] == (byte)'\r');

    /// <summary>Re-serialises an entity exactly (used for the whole message when there are no edits).</summary>
    public static void WriteEntity(IBufferWriter<byte> output, MimeEntity entity)
    {
        var src = entity.Source.Span;
        int cursor = entity.HeaderStart;
        foreach (var h in entity.Headers)
        {
            output.Write(src[cursor..h.Offset]);
            output.Write(h.RawLine.Span);
            cursor = h.Offset + h.RawLine.Length;
        }
        output.Write(src[cursor..entity.HeaderEnd]);
        WriteBody(output, src, entity);
    }

    private static void WriteBody(IBufferWriter<byte> output, ReadOnlySpan<byte> src, MimeEntity entity)
    {
        output.Write(src[entity.HeaderEnd..entity.BodyStart]); // the empty line
        if (entity.IsMultipart)
        {
            int cursor = entity.BodyStart;
            foreach (var child in entity.Children)
            {
                output.Write(src[cursor..child.HeaderStart]); // preamble / boundary lines
                WriteEntity(output, child);
                cursor = child.BodyEnd;
            }
            output.Write(src[cursor..entity.BodyEnd]); // last delimiter, epilogue
        }
        else if (entity.EmbeddedMessage is { } m && m.Source.Equals(entity.Source))
        {
            output.Write(src[entity.BodyStart..m.Root.HeaderStart]);
            WriteEntity(output, m.Root);
            output.Write(src[m.Root.BodyEnd..entity.BodyEnd]);
        }
        else
        {
            output.Write(src[entity.BodyStart..entity.BodyEnd]);
        }
    }

    private static byte[] DetectEol(ReadOnlySpan<byte> src, int start)
    {
        int i = src[start..].IndexOfAny((byte)'\r', (byte)'\n');
        if (i < 0) return "\r\n"u8.ToArray();
        int p = start + i;
        if (src[p] == (byte)'\n') return "\n"u8.ToArray();
        return p + 1 < src.Length && src[p + 1] == (byte)'\n' ? "\r\n"u8.ToArray() : "\r"u8.ToArray();
    }

    private static void WriteNew(IBufferWriter<byte> output, Header h, byte[] eol)
    {
        // Fold at blanks so no line exceeds 78 characters where possible.
        var line = Encoding.UTF8.GetString(h.RawLine.Span);
        var sb = new StringBuilder();
        int lineStart = 0;
        int lastSpace = -1;
        string eolStr = Encoding.ASCII.GetString(eol);
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == ' ' && i > h.Name.Length + 1) lastSpace = i;
            if (i - lineStart >= 78 && lastSpace > lineStart)
            {
                sb.Append(line, lineStart, lastSpace - lineStart).Append(eolStr);
                lineStart = lastSpace;
                lastSpace = -1;
            }
        }
        sb.Append(line, lineStart, line.Length - lineStart).Append(eolStr);
        output.Write(Encoding.UTF8.GetBytes(sb.ToString()));
    }
}
