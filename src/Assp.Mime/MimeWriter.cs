using System.Buffers;
using System.Text;

namespace Assp.Mime;

/// <summary>
/// Re-serialises a parsed message from its entity tree, copying every byte from the source (header fields,
/// separators, boundaries, bodies) and applying only the header edits requested: fields added at the top or at the
/// end of a header block, removed, or replaced, on the top-level header or on any entity of the message (parts and
/// embedded messages). With no edits the output is byte-identical to the input; with edits, only the edited header
/// blocks change. New fields use the entity's own line terminator (CRLF or LF) and are RFC 2047-encoded when not
/// ASCII. Entities parsed from a transfer-decoded body (<see cref="MimeEntity.IsInDecodedContent"/>) cannot be
/// edited: their bytes exist in the message only in encoded form.
/// </summary>
public sealed class MimeWriter
{
    private readonly MimeMessage _message;
    private readonly Dictionary<MimeEntity, HeaderEdits> _edits = new(ReferenceEqualityComparer.Instance);

    /// <summary>The edits asked for one entity's header block.</summary>
    private sealed class HeaderEdits
    {
        public readonly List<Header> Prepend = [];
        public readonly List<Header> Append = [];
        public readonly HashSet<string> Remove = new(StringComparer.OrdinalIgnoreCase);
        public readonly Dictionary<string, Header> Replace = new(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>A writer for this message.</summary>
    public MimeWriter(MimeMessage message) => _message = message ?? throw new ArgumentNullException(nameof(message));

    /// <summary>Adds a field before all others (the most recent first, as Received fields are added).</summary>
    public MimeWriter AddAtTop(string name, string value) => AddAtTop(_message.Root, name, value);

    /// <summary>Adds a field after all others, before the empty line.</summary>
    public MimeWriter AddAtEnd(string name, string value) => AddAtEnd(_message.Root, name, value);

    /// <summary>Removes every field with this name.</summary>
    public MimeWriter Remove(string name) => Remove(_message.Root, name);

    /// <summary>Replaces the first field with this name in place (later duplicates are removed); adds it at the end
    /// when there is none.</summary>
    public MimeWriter Replace(string name, string value) => Replace(_message.Root, name, value);

    /// <summary>Adds a field before all others of <paramref name="entity"/>, an entity of this message.</summary>
    /// <exception cref="ArgumentException">The entity is not part of this message, or lies in decoded content.</exception>
    public MimeWriter AddAtTop(MimeEntity entity, string name, string value)
    {
        EditsFor(entity).Prepend.Insert(0, new Header(name, value));
        return this;
    }

    /// <summary>Adds a field after all others of <paramref name="entity"/>, before its empty line.</summary>
    /// <exception cref="ArgumentException">The entity is not part of this message, or lies in decoded content.</exception>
    public MimeWriter AddAtEnd(MimeEntity entity, string name, string value)
    {
        EditsFor(entity).Append.Add(new Header(name, value));
        return this;
    }

    /// <summary>Removes every field with this name from <paramref name="entity"/>.</summary>
    /// <exception cref="ArgumentException">The entity is not part of this message, or lies in decoded content.</exception>
    public MimeWriter Remove(MimeEntity entity, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        EditsFor(entity).Remove.Add(name);
        return this;
    }

    /// <summary>Replaces the first field with this name of <paramref name="entity"/> in place (later duplicates are
    /// removed); adds it at the end when there is none.</summary>
    /// <exception cref="ArgumentException">The entity is not part of this message, or lies in decoded content.</exception>
    public MimeWriter Replace(MimeEntity entity, string name, string value)
    {
        EditsFor(entity).Replace[name] = new Header(name, value);
        return this;
    }

    private HeaderEdits EditsFor(MimeEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        if (entity.IsInDecodedContent)
            throw new ArgumentException("The entity was parsed from a transfer-decoded body; its header cannot be edited without re-encoding that body.", nameof(entity));
        // Walk up through parents and embedded-message containers to the outer root.
        var e = entity;
        while (true)
        {
            var up = e.Parent ?? e.Owner.Container;
            if (up is null) break;
            e = up;
        }
        if (!ReferenceEquals(e, _message.Root)) throw new ArgumentException("The entity does not belong to this message.", nameof(entity));
        if (!_edits.TryGetValue(entity, out var ed)) _edits[entity] = ed = new HeaderEdits();
        return ed;
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
        output.Write(src[..root.HeaderStart]); // an mbox From line, if any
        WriteEntity(output, root, _edits.Count == 0 ? null : _edits);
        output.Write(src[root.BodyEnd..]);
    }

    private static bool EndsWithEol(ReadOnlySpan<byte> s) => s.Length > 0 && (s[^1] == (byte)'\n' || s[^1] == (byte)'\r');

    /// <summary>Re-serialises an entity exactly (used for the whole message when there are no edits).</summary>
    public static void WriteEntity(IBufferWriter<byte> output, MimeEntity entity) => WriteEntity(output, entity, null);

    private static void WriteEntity(IBufferWriter<byte> output, MimeEntity entity, Dictionary<MimeEntity, HeaderEdits>? edits)
    {
        var src = entity.Source.Span;
        int cursor = entity.HeaderStart;
        if (edits is not null && edits.TryGetValue(entity, out var ed))
        {
            cursor = WriteEditedHeaders(output, src, entity, ed);
        }
        else
        {
            foreach (var h in entity.Headers)
            {
                output.Write(src[cursor..h.Offset]);
                output.Write(h.RawLine.Span);
                cursor = h.Offset + h.RawLine.Length;
            }
        }
        output.Write(src[cursor..entity.HeaderEnd]);
        WriteBody(output, src, entity, edits);
    }

    /// <summary>Writes the header fields with the edits applied; returns where the copied source stopped.</summary>
    private static int WriteEditedHeaders(IBufferWriter<byte> output, ReadOnlySpan<byte> src, MimeEntity entity, HeaderEdits ed)
    {
        var eol = DetectEol(src, entity.HeaderStart);
        int cursor = entity.HeaderStart;
        bool wroteAny = false;
        foreach (var h in ed.Prepend) { WriteNew(output, h, eol); wroteAny = true; }
        var replaced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in entity.Headers)
        {
            output.Write(src[cursor..h.Offset]); // nothing, normally
            cursor = h.Offset + h.RawLine.Length;
            if (ed.Replace.TryGetValue(h.Name, out var rep))
            {
                if (replaced.Add(h.Name)) { WriteNew(output, rep, eol); wroteAny = true; }
                continue;
            }
            if (ed.Remove.Contains(h.Name)) continue;
            output.Write(h.RawLine.Span);
        }
        if (ed.Append.Count > 0 || ed.Replace.Keys.Any(k => !replaced.Contains(k)))
        {
            // A header block that ends without a line break (header-only data) needs one first.
            if (entity.Headers.Count > 0 && cursor == entity.HeaderEnd && cursor > entity.HeaderStart && !EndsWithEol(src[..cursor]))
                output.Write(eol);
            foreach (var (name, h) in ed.Replace) if (!replaced.Contains(name)) WriteNew(output, h, eol);
            foreach (var h in ed.Append) WriteNew(output, h, eol);
            wroteAny = true;
        }
        // A part that had no header and no empty line ("--b" then text) gets one, so its text stays body.
        if (wroteAny && entity.Headers.Count == 0 && entity.HeaderEnd == entity.BodyStart && entity.BodyEnd > entity.BodyStart)
        {
            output.Write(src[cursor..entity.HeaderEnd]);
            cursor = entity.HeaderEnd;
            output.Write(eol);
        }
        return cursor;
    }

    private static void WriteBody(IBufferWriter<byte> output, ReadOnlySpan<byte> src, MimeEntity entity, Dictionary<MimeEntity, HeaderEdits>? edits)
    {
        output.Write(src[entity.HeaderEnd..entity.BodyStart]); // the empty line
        if (entity.IsMultipart && !entity.HasDecodedParts)
        {
            int cursor = entity.BodyStart;
            foreach (var child in entity.Children)
            {
                output.Write(src[cursor..child.HeaderStart]); // preamble / boundary lines
                WriteEntity(output, child, edits);
                cursor = child.BodyEnd;
            }
            output.Write(src[cursor..entity.BodyEnd]); // last delimiter, epilogue
        }
        else if (entity.EmbeddedMessage is { } m && m.Source.Equals(entity.Source))
        {
            output.Write(src[entity.BodyStart..m.Root.HeaderStart]);
            WriteEntity(output, m.Root, edits);
            output.Write(src[m.Root.BodyEnd..entity.BodyEnd]);
        }
        else
        {
            // Leaves, and bodies whose parts exist only in decoded form: the encoded bytes as they are.
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
