using System.Text;

namespace Assp.Smtp.Session;

/// <summary>
/// Turns a stored message (CRLF lines, not dot-stuffed) into what the MTA gets: X-Assp- header fields left out
/// with their continuation lines (incoming mail may not bring its own), the subject tag, the header additions at
/// the end of the header, dot-stuffing for DATA (none for BDAT), every line ending in CRLF. Fed whole (a message
/// in memory) or in chunks (one on disk). The header, a few dozen lines, goes line by line; the body goes in bulk,
/// where only a leading dot or a bare LF interrupts the copy. Header replacements (FBMTV's Message-ID tags) change
/// text within complete header lines. Dropped fields (removeForeignBCC's BCC:) are left out like X-Assp- ones.
/// </summary>
internal sealed class OutboundMessage(bool stripAsspHeaders, byte[]? headerAddition, byte[]? subjectPrefix, bool dotStuff,
    IReadOnlyList<(string Find, string Replace)>? headerReplacements = null, IReadOnlyCollection<string>? droppedFields = null)
{
    /// <summary>A header line without its end within this many bytes is passed on in pieces, as it comes.</summary>
    internal const int MaxPiece = 64 * 1024;

    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    private bool _added = headerAddition is null || headerAddition.Length == 0;
    private bool _subjectDone = subjectPrefix is null;
    private bool _lineStart = true;
    private bool _inHeader = true;
    private bool _skipping;
    private bool _lastWasCr;

    /// <summary>
    /// Writes what it can of data to output and returns how many bytes it consumed. A header line that is not
    /// complete yet is left for the next call (unless final, or longer than <see cref="MaxPiece"/>); the body is
    /// always consumed whole.
    /// </summary>
    public int Write(ReadOnlySpan<byte> data, bool final, PooledOutput output)
    {
        int pos = 0;
        while (_inHeader && pos < data.Length)
        {
            var rest = data[pos..];
            int lf = rest.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                HeaderLine(rest[..(lf > 0 && rest[lf - 1] == (byte)'\r' ? lf - 1 : lf)], complete: true, output);
                pos += lf + 1;
            }
            else if (final)
            {
                HeaderLine(rest, complete: true, output);
                pos = data.Length;
            }
            else if (rest.Length >= MaxPiece)
            {
                // Keep a trailing CR back: it may be the first half of CRLF.
                int take = rest[^1] == (byte)'\r' ? rest.Length - 1 : rest.Length;
                HeaderLine(rest[..take], complete: false, output);
                pos += take;
            }
            else return pos;
        }
        if (_inHeader) return pos;
        return pos + Body(data[pos..], output);
    }

    /// <summary>Closes the message: a missing Subject for the tag, header additions of a message without a body, the final dot.</summary>
    public void Finish(PooledOutput output, bool withFinalDot, bool endWithLineEnd = false)
    {
        if (!_subjectDone)
        {
            // ASSP adds a Subject to tag when the message has none.
            if (!_lineStart) output.Write(CrLf);
            output.Write("Subject: "u8);
            output.Write(subjectPrefix);
            output.Write(CrLf);
            _subjectDone = true;
            _lineStart = true;
        }
        if (!_added)
        {
            if (!_lineStart) output.Write(CrLf);
            output.Write(headerAddition);
            _added = true;
            _lineStart = true;
        }
        if ((withFinalDot || endWithLineEnd) && !_lineStart)
        {
            output.Write(CrLf);
            _lineStart = true;
        }
        if (withFinalDot) output.Write(".\r\n"u8);
    }

    /// <summary>One header line (or a piece of a long one), without its line end.</summary>
    private void HeaderLine(ReadOnlySpan<byte> bytes, bool complete, PooledOutput output)
    {
        _lastWasCr = false;
        if (_lineStart)
        {
            if (bytes.Length == 0)
            {
                _inHeader = false;
                if (!_subjectDone)
                {
                    // ASSP adds a Subject to tag when the message has none.
                    output.Write("Subject: "u8);
                    output.Write(subjectPrefix);
                    output.Write(CrLf);
                    _subjectDone = true;
                }
                if (!_added)
                {
                    output.Write(headerAddition);
                    _added = true;
                }
            }
            else if (bytes[0] is (byte)' ' or (byte)'\t') { /* continuation: keeps the previous field's fate */ }
            else _skipping = (stripAsspHeaders && bytes.Length >= 7 && Ascii.EqualsIgnoreCase(bytes[..7], "X-Assp-"u8)) || Dropped(bytes);
        }
        if (!(_inHeader && _skipping))
        {
            if (dotStuff && _lineStart && bytes.Length > 0 && bytes[0] == (byte)'.') output.Write("."u8);
            if (!_subjectDone && _lineStart && _inHeader && bytes.Length >= 8 && Ascii.EqualsIgnoreCase(bytes[..8], "Subject:"u8))
            {
                // "Subject: [SPAM] original subject"
                output.Write(bytes[..8]);
                output.Write(" "u8);
                output.Write(subjectPrefix);
                var rest = bytes[8..];
                if (rest.Length > 0 && rest[0] is not ((byte)' ' or (byte)'\t')) output.Write(" "u8);
                bytes = rest;
                _subjectDone = true;
            }
            // FBMTV: tags put into (or taken out of) Message-ID, In-Reply-To and References.
            if (headerReplacements is { Count: > 0 } && complete && _inHeader && bytes.Length > 0) bytes = Replace(bytes, headerReplacements);
            output.Write(bytes);
            if (complete) output.Write(CrLf);
        }
        _lineStart = complete;
    }

    /// <summary>Is this the first line of a field named in droppedFields?</summary>
    private bool Dropped(ReadOnlySpan<byte> line)
    {
        if (droppedFields is not { Count: > 0 }) return false;
        int colon = line.IndexOf((byte)':');
        if (colon <= 0) return false;
        var name = Encoding.ASCII.GetString(line[..colon]).TrimEnd();
        foreach (var dropped in droppedFields)
            if (name.Equals(dropped, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static ReadOnlySpan<byte> Replace(ReadOnlySpan<byte> line, IReadOnlyList<(string Find, string Replace)> replacements)
    {
        var text = Encoding.Latin1.GetString(line);
        var changed = text;
        foreach (var (find, replace) in replacements)
            if (find.Length > 0) changed = changed.Replace(find, replace, StringComparison.Ordinal);
        return ReferenceEquals(changed, text) || changed == text ? line : Encoding.Latin1.GetBytes(changed);
    }

    /// <summary>The body: copied in runs; consumes everything it is given.</summary>
    private int Body(ReadOnlySpan<byte> data, PooledOutput output)
    {
        int pos = 0, run = 0;
        while (pos < data.Length)
        {
            if (_lineStart && dotStuff && data[pos] == (byte)'.')
            {
                output.Write(data[run..pos]);
                output.Write("."u8);
                run = pos;
            }
            int lf = data[pos..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                _lineStart = false;
                pos = data.Length;
                break;
            }
            lf += pos;
            bool cr = lf > 0 ? data[lf - 1] == (byte)'\r' : _lastWasCr;
            if (!cr)
            {
                output.Write(data[run..lf]);
                output.Write(CrLf);
                run = lf + 1;
            }
            pos = lf + 1;
            _lineStart = true;
        }
        output.Write(data[run..pos]);
        if (pos > 0) _lastWasCr = data[pos - 1] == (byte)'\r';
        return pos;
    }
}
