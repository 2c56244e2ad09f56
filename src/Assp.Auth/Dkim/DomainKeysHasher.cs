using System.Security.Cryptography;

namespace Assp.Auth.Dkim;

/// <summary>
/// The SHA-1 a DomainKey-Signature covers (RFC 4870 3.4, as Mail::DKIM computes it): the chosen header fields
/// canonicalised, then the empty separator line and the body, both under the body rules — trailing empty lines are
/// dropped, so an empty body leaves out the separator too. "nofws" removes every space, tab and stray CR (and in
/// headers the folding); "simple" keeps the bytes, with CRLF line ends. The body may be fed in pieces.
/// </summary>
public sealed class DomainKeysHasher(bool nofws) : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
    private readonly List<byte> _line = [];
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private int _pendingEmpty = 1;

    public void AddHeaders(IEnumerable<DkimHeaderField> signed)
    {
        foreach (var field in signed)
        {
            var raw = field.Raw.Span;
            if (nofws)
            {
                _line.Clear();
                foreach (var x in raw) if (x is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) _line.Add(x);
                _hash.AppendData(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_line));
                _hash.AppendData(Crlf);
                continue;
            }
            // Folding kept, each line ended by CRLF as SMTP carries it.
            for (int pos = 0; pos < raw.Length;)
            {
                _hash.AppendData(NextLine(raw, ref pos, final: true, out _));
                _hash.AppendData(Crlf);
            }
        }
    }

    /// <summary>Feeds body bytes; returns how many were used (complete lines, or all when <paramref name="final"/>).</summary>
    public int AddBody(ReadOnlySpan<byte> data, bool final)
    {
        int pos = 0;
        while (pos < data.Length)
        {
            int start = pos;
            var line = NextLine(data, ref pos, final, out bool complete);
            if (!complete) { pos = start; break; }
            Line(line);
        }
        return pos;
    }

    public byte[] Hash() => _hash.GetHashAndReset();

    private void Line(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> canonical = line;
        if (nofws)
        {
            _line.Clear();
            foreach (var x in line) if (x is not ((byte)' ' or (byte)'\t' or (byte)'\r')) _line.Add(x);
            canonical = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_line);
        }
        if (canonical.Length == 0) { _pendingEmpty++; return; }
        for (; _pendingEmpty > 0; _pendingEmpty--) _hash.AppendData(Crlf);
        _hash.AppendData(canonical);
        _hash.AppendData(Crlf);
    }

    /// <summary>The next line from <paramref name="pos"/> without its LF or CRLF; an unterminated last line counts only when final.</summary>
    private static ReadOnlySpan<byte> NextLine(ReadOnlySpan<byte> text, ref int pos, bool final, out bool complete)
    {
        int lf = text[pos..].IndexOf((byte)'\n');
        complete = lf >= 0 || final;
        int end = lf < 0 ? text.Length : pos + lf;
        var line = text[pos..end];
        if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
        pos = lf < 0 ? text.Length : end + 1;
        return line;
    }

    public void Dispose() => _hash.Dispose();
}
