using System.Buffers.Binary;
using System.Text;

namespace Assp.Mime.Attachments;

/// <summary>One central-directory record of a zip file, as claimed by the archive (not verified).</summary>
internal readonly record struct ZipDirectoryEntry(
    string Name, int Flags, int Method, long CompressedSize, long UncompressedSize, long LocalHeaderOffset)
{
    public bool IsEncrypted => (Flags & 1) != 0 || Method == 99;
    public bool IsDirectory => Name.EndsWith('/') || Name.EndsWith('\\');
}

/// <summary>A minimal, non-throwing reader of the zip central directory (names, sizes, flags).</summary>
internal static class ZipDirectory
{
    private const int EocdSize = 22;
    private const int MaxCommentSearch = 0xFFFF + EocdSize;

    /// <summary>Reads up to <paramref name="maxEntries"/> records from a seekable stream. Returns null when no
    /// central directory could be found. <paramref name="complete"/> is false when the directory was cut short.</summary>
    public static List<ZipDirectoryEntry>? TryRead(Stream s, int maxEntries, out bool complete)
    {
        complete = false;
        try
        {
            if (!s.CanSeek || s.Length < EocdSize) return null;
            long len = s.Length;
            int tailLen = (int)Math.Min(len, MaxCommentSearch + 20);
            var tail = new byte[tailLen];
            s.Position = len - tailLen;
            s.ReadExactly(tail);
            int eocd = -1;
            for (int i = tailLen - EocdSize; i >= 0; i--)
            {
                if (tail[i] == 0x50 && tail[i + 1] == 0x4B && tail[i + 2] == 5 && tail[i + 3] == 6) { eocd = i; break; }
            }
            if (eocd < 0) return null;
            long eocdPos = len - tailLen + eocd;
            var e = tail.AsSpan(eocd);
            long total = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
            long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            long cdEnd = eocdPos;
            // Zip64 end-of-central-directory locator sits right before the EOCD.
            if ((total == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) && eocd >= 20
                && BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(eocd - 20)) == 0x07064B50)
            {
                long z64 = (long)BinaryPrimitives.ReadUInt64LittleEndian(tail.AsSpan(eocd - 20 + 8));
                if (z64 >= 0 && z64 + 56 <= len)
                {
                    var rec = new byte[56];
                    s.Position = z64;
                    s.ReadExactly(rec);
                    if (BinaryPrimitives.ReadUInt32LittleEndian(rec) == 0x06064B50)
                    {
                        total = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(32)), int.MaxValue);
                        cdSize = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(40)), long.MaxValue / 4);
                        cdOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(48)), long.MaxValue / 4);
                        cdEnd = z64;
                    }
                }
            }
            // Data prepended to the archive (self-extractors) shifts every offset.
            long shift = cdEnd - (cdOffset + cdSize);
            if (shift < 0) shift = 0;
            long start = cdOffset + shift;
            if (start < 0 || start >= len) return null;
            long readLen = Math.Min(Math.Min(cdSize, len - start), 64L * 1024 * 1024);
            var cd = new byte[readLen];
            s.Position = start;
            s.ReadExactly(cd);
            var list = new List<ZipDirectoryEntry>();
            int p = 0;
            while (list.Count < maxEntries && p + 46 <= cd.Length
                   && BinaryPrimitives.ReadUInt32LittleEndian(cd.AsSpan(p)) == 0x02014B50)
            {
                var h = cd.AsSpan(p);
                int flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
                int method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
                long csize = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
                long usize = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
                int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
                int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
                int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
                long offset = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
                if (p + 46 + nameLen + extraLen > cd.Length) break;
                string name = DecodeName(h.Slice(46, nameLen), flags);
                var extra = h.Slice(46 + nameLen, extraLen);
                ApplyZip64(extra, ref usize, ref csize, ref offset);
                list.Add(new ZipDirectoryEntry(name, flags, method, csize, usize, offset + shift));
                p += 46 + nameLen + extraLen + commentLen;
            }
            complete = list.Count == total || (total == 0xFFFF && p >= cd.Length);
            return list;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or NotSupportedException or ObjectDisposedException)
        {
            return null;
        }
    }

    private static void ApplyZip64(ReadOnlySpan<byte> extra, ref long usize, ref long csize, ref long offset)
    {
        int p = 0;
        while (p + 4 <= extra.Length)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra[p..]);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[(p + 2)..]);
            if (p + 4 + size > extra.Length) return;
            if (id == 1)
            {
                var d = extra.Slice(p + 4, size);
                int q = 0;
                if (usize == 0xFFFFFFFF && q + 8 <= d.Length) { usize = Clamp(BinaryPrimitives.ReadUInt64LittleEndian(d[q..])); q += 8; }
                if (csize == 0xFFFFFFFF && q + 8 <= d.Length) { csize = Clamp(BinaryPrimitives.ReadUInt64LittleEndian(d[q..])); q += 8; }
                if (offset == 0xFFFFFFFF && q + 8 <= d.Length) offset = Clamp(BinaryPrimitives.ReadUInt64LittleEndian(d[q..]));
                return;
            }
            p += 4 + size;
        }
    }

    private static long Clamp(ulong v) => v > long.MaxValue / 4 ? long.MaxValue / 4 : (long)v;

    internal static string DecodeName(ReadOnlySpan<byte> raw, int flags)
    {
        if ((flags & 0x800) != 0) return Encoding.UTF8.GetString(raw);
        // Without bit 11 the name is nominally CP437; ASCII is what matters for classification.
        bool ascii = true;
        foreach (byte b in raw) if (b >= 0x80) { ascii = false; break; }
        if (ascii) return Encoding.ASCII.GetString(raw);
        try { return new UTF8Encoding(false, true).GetString(raw); }
        catch (DecoderFallbackException) { return Encoding.Latin1.GetString(raw); }
    }

    /// <summary>Walks the local file headers found in <paramref name="head"/> (a prefix of a zip) and returns the
    /// names seen, plus the stored data of the first entry when it is uncompressed (the ODF "mimetype").</summary>
    public static List<string> WalkLocalHeaders(ReadOnlySpan<byte> head, int maxEntries, out string? firstStoredText)
    {
        firstStoredText = null;
        var names = new List<string>();
        int p = 0;
        while (names.Count < maxEntries && p >= 0 && p + 30 <= head.Length
               && BinaryPrimitives.ReadUInt32LittleEndian(head[p..]) == 0x04034B50)
        {
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(head[(p + 6)..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(head[(p + 8)..]);
            long csize = BinaryPrimitives.ReadUInt32LittleEndian(head[(p + 18)..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(head[(p + 26)..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(head[(p + 28)..]);
            if (p + 30 + nameLen > head.Length) break;
            names.Add(DecodeName(head.Slice(p + 30, nameLen), flags));
            long dataStart = (long)p + 30 + nameLen + extraLen;
            if (names.Count == 1 && method == 0 && csize is > 0 and < 200 && dataStart + csize <= head.Length)
                firstStoredText = Encoding.ASCII.GetString(head.Slice((int)dataStart, (int)csize));
            if ((flags & 8) != 0) break; // sizes follow the data: cannot skip without inflating
            long next = dataStart + csize;
            if (next > int.MaxValue) break;
            p = (int)next;
        }
        return names;
    }
}
