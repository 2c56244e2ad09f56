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
        // Lines end at LF (a preceding CR is part of the terminator); a last line without terminator counts as a
        // line. Empty lines are held back until a non-empty line follows: trailing empty lines are dropped.
        int pendingEmpty = 0;
        bool anyLine = false;
        var relaxed = new List<byte>();
        int pos = 0;
        while (pos < body.Length)
        {
            int lf = body[pos..].IndexOf((byte)'\n');
            int end = lf < 0 ? body.Length : pos + lf;
            int next = lf < 0 ? body.Length : end + 1;
            var line = body[pos..end];
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            pos = next;

            ReadOnlySpan<byte> canonical;
            if (c == DkimCanonicalization.Simple)
            {
                canonical = line;
            }
            else
            {
                relaxed.Clear();
                bool pendingSpace = false;
                foreach (var b in line)
                {
                    if (IsWsp(b)) { pendingSpace = true; continue; }
                    if (pendingSpace) relaxed.Add((byte)' ');
                    pendingSpace = false;
                    relaxed.Add(b);
                }
                canonical = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(relaxed);
            }
            if (canonical.Length == 0) { pendingEmpty++; continue; }
            for (; pendingEmpty > 0; pendingEmpty--) write(Crlf);
            write(canonical);
            write(Crlf);
            anyLine = true;
        }
        // An empty body is one CRLF in simple, nothing in relaxed (RFC 6376 3.4.3, 3.4.4).
        if (!anyLine && c == DkimCanonicalization.Simple) write(Crlf);
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
