using System.Security.Cryptography;
using System.Text;

namespace Assp.Auth.Dkim;

/// <summary>The two canonicalisation algorithms of RFC 6376 3.4.</summary>
public enum DkimCanonicalization
{
    Simple,
    Relaxed,
}

/// <summary>Header and body canonicalisation (RFC 6376 3.4) and the body hash.</summary>
public static class DkimCanonicalizer
{
    /// <summary>"simple" or "relaxed"; null for anything else.</summary>
    public static DkimCanonicalization? ParseName(string name) => name.ToLowerInvariant() switch
    {
        "simple" => DkimCanonicalization.Simple,
        "relaxed" => DkimCanonicalization.Relaxed,
        _ => null,
    };

    public static string Name(DkimCanonicalization c) => c == DkimCanonicalization.Simple ? "simple" : "relaxed";

    /// <summary>
    /// Canonicalises one raw header field (name, colon, folded value, terminator optional) and appends it,
    /// ending with CRLF unless <paramref name="withoutTerminator"/> (the signature header itself, RFC 6376 3.7).
    /// </summary>
    public static void AppendHeader(List<byte> output, ReadOnlySpan<byte> rawField, DkimCanonicalization c, bool withoutTerminator = false)
    {
        var field = TrimTerminator(rawField);
        if (c == DkimCanonicalization.Simple)
        {
            foreach (var b in field) output.Add(b);
        }
        else
        {
            int colon = field.IndexOf((byte)':');
            if (colon < 0) colon = field.Length;
            var name = field[..colon];
            // The name in lower case, without whitespace before the colon.
            int nameEnd = name.Length;
            while (nameEnd > 0 && IsWsp(name[nameEnd - 1])) nameEnd--;
            for (int i = 0; i < nameEnd; i++) output.Add(ToLower(name[i]));
            output.Add((byte)':');
            if (colon < field.Length)
            {
                // Unfold, collapse whitespace runs, drop whitespace around the value.
                var value = field[(colon + 1)..];
                bool pendingSpace = false, started = false;
                foreach (var b in value)
                {
                    if (b is (byte)'\r' or (byte)'\n') continue;
                    if (IsWsp(b)) { pendingSpace = true; continue; }
                    if (pendingSpace && started) output.Add((byte)' ');
                    pendingSpace = false;
                    started = true;
                    output.Add(b);
                }
            }
        }
        if (!withoutTerminator) { output.Add((byte)'\r'); output.Add((byte)'\n'); }
    }

    /// <summary>The canonical form of a whole body as bytes (for tests and small bodies).</summary>
    public static byte[] CanonicalBody(ReadOnlySpan<byte> body, DkimCanonicalization c)
    {
        var sink = new MemoryStream();
        WriteBody(body, c, (chunk) => sink.Write(chunk));
        return sink.ToArray();
    }

    /// <summary>
    /// Hashes the canonical body, at most <paramref name="lengthLimit"/> bytes of it when given (l=).
    /// Returns the hash and the full canonical length (to compare with l=).
    /// </summary>
    public static (byte[] Hash, long CanonicalLength) HashBody(ReadOnlySpan<byte> body, DkimCanonicalization c, HashAlgorithmName hash, long? lengthLimit)
    {
        using var h = IncrementalHash.CreateHash(hash);
        long total = 0;
        WriteBody(body, c, chunk =>
        {
            long room = lengthLimit is { } l ? Math.Max(0, l - total) : chunk.Length;
            if (room > 0) h.AppendData(chunk[..(int)Math.Min(room, chunk.Length)]);
            total += chunk.Length;
        });
        return (h.GetHashAndReset(), total);
    }

    private delegate void ChunkWriter(ReadOnlySpan<byte> chunk);

    private static readonly byte[] Crlf = "\r\n"u8.ToArray();

    private static void WriteBody(ReadOnlySpan<byte> body, DkimCanonicalization c, ChunkWriter write)
    {
        var canonicalizer = new BodyCanonicalizer(c, write);
        canonicalizer.Feed(body, final: true);
    }

    /// <summary>
    /// Hashes the canonical body read from <paramref name="body"/> (positioned at the first body byte) in pieces, so a
    /// body of any size never has to be in memory at once. Returns the hash and the canonical length.
    /// </summary>
    public static async Task<(byte[] Hash, long CanonicalLength)> HashBodyAsync(Stream body, DkimCanonicalization c, HashAlgorithmName hash,
        CancellationToken cancellationToken = default)
    {
        using var h = IncrementalHash.CreateHash(hash);
        long total = 0;
        var canonicalizer = new BodyCanonicalizer(c, chunk => { h.AppendData(chunk); total += chunk.Length; });
        var buffer = new byte[64 * 1024];
        int have = 0;
        while (true)
        {
            int read = await body.ReadAsync(buffer.AsMemory(have), cancellationToken).ConfigureAwait(false);
            have += read;
            int used = canonicalizer.Feed(buffer.AsSpan(0, have), final: read == 0);
            if (read == 0) break;
            // The unfinished last line moves to the front; a line longer than the buffer makes the buffer grow.
            buffer.AsSpan(used, have - used).CopyTo(buffer);
            have -= used;
            if (have == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        }
        return (h.GetHashAndReset(), total);
    }

    /// <summary>Body canonicalisation (RFC 6376 3.4.3/3.4.4) fed in pieces that end anywhere.</summary>
    private sealed class BodyCanonicalizer(DkimCanonicalization c, ChunkWriter write)
    {
        // Empty lines are held back until a non-empty line follows: trailing empty lines are dropped.
        private int _pendingEmpty;
        private bool _anyLine;
        private readonly List<byte> _relaxed = [];

        /// <summary>Canonicalises the complete lines of <paramref name="data"/> (all of it when final); returns the bytes used.</summary>
        public int Feed(ReadOnlySpan<byte> data, bool final)
        {
            // Lines end at LF (a preceding CR is part of the terminator); a last line without terminator counts as a line.
            int pos = 0;
            while (pos < data.Length)
            {
                int lf = data[pos..].IndexOf((byte)'\n');
                if (lf < 0 && !final) break;
                int end = lf < 0 ? data.Length : pos + lf;
                int next = lf < 0 ? data.Length : end + 1;
                var line = data[pos..end];
                if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
                pos = next;
                Line(line);
            }
            // An empty body is one CRLF in simple, nothing in relaxed (RFC 6376 3.4.3, 3.4.4).
            if (final && !_anyLine && c == DkimCanonicalization.Simple) write(Crlf);
            return pos;
        }

        private void Line(ReadOnlySpan<byte> line)
        {
            ReadOnlySpan<byte> canonical;
            if (c == DkimCanonicalization.Simple)
            {
                canonical = line;
            }
            else
            {
                _relaxed.Clear();
                bool pendingSpace = false;
                foreach (var b in line)
                {
                    if (IsWsp(b)) { pendingSpace = true; continue; }
                    if (pendingSpace) _relaxed.Add((byte)' ');
                    pendingSpace = false;
                    _relaxed.Add(b);
                }
                canonical = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_relaxed);
            }
            if (canonical.Length == 0) { _pendingEmpty++; return; }
            for (; _pendingEmpty > 0; _pendingEmpty--) write(Crlf);
            write(canonical);
            write(Crlf);
            _anyLine = true;
        }
    }

    private static ReadOnlySpan<byte> TrimTerminator(ReadOnlySpan<byte> field)
    {
        if (field.Length > 0 && field[^1] == '\n') field = field[..^1];
        if (field.Length > 0 && field[^1] == '\r') field = field[..^1];
        return field;
    }

    private static bool IsWsp(byte b) => b is (byte)' ' or (byte)'\t';

    private static byte ToLower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;

    /// <summary>Latin-1 view of raw header bytes: one char per byte, so offsets in the string are byte offsets.</summary>
    public static string Latin1(ReadOnlySpan<byte> raw) => Encoding.Latin1.GetString(raw);
}
