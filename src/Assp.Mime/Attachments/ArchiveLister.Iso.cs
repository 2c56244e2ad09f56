using System.Buffers.Binary;
using System.Text;

namespace Assp.Mime.Attachments;

public static partial class ArchiveLister
{
    // ---------------------------------------------------------------- ISO 9660 (with Joliet names)

    private const int IsoSector = 2048;
    private const int IsoMaxDirDepth = 8;
    private const int IsoMaxDirBytes = 4 * 1024 * 1024;

    /// <summary>Walks the directory tree from the root (breadth first, bounded), preferring Joliet (UCS-2) names.
    /// Files are stored uncompressed, so each one's first bytes are sniffed like archive members.</summary>
    private static void ListIso(Stream s, ArchiveListing listing, string path, int depth, Context ctx)
    {
        long len = s.Length;
        (long Extent, long Size)? primary = null, joliet = null;
        int blockSize = IsoSector;
        var vd = new byte[IsoSector];
        for (int i = 0; i < 64; i++)
        {
            long at = (16L + i) * IsoSector;
            if (at + IsoSector > len) break;
            s.Position = at;
            s.ReadExactly(vd);
            if (!vd.AsSpan(1, 5).SequenceEqual("CD001"u8)) break;
            byte type = vd[0];
            if (type == 255) break;
            if (type is not (1 or 2)) continue;
            int bs = BinaryPrimitives.ReadUInt16LittleEndian(vd.AsSpan(128));
            var root = vd.AsSpan(156, 34);
            var rec = (Extent: (long)BinaryPrimitives.ReadUInt32LittleEndian(root[2..]), Size: (long)BinaryPrimitives.ReadUInt32LittleEndian(root[10..]));
            if (type == 1 && primary is null) { primary = rec; if (bs is 512 or 1024 or 2048) blockSize = bs; }
            // A supplementary descriptor with a UCS-2 escape sequence ("%/@", "%/C", "%/E") is Joliet.
            else if (type == 2 && vd[88] == '%' && vd[89] == '/' && vd[90] is (byte)'@' or (byte)'C' or (byte)'E') joliet ??= rec;
        }
        var start = joliet ?? primary;
        if (start is null)
        {
            listing.Add(ArchiveIssues.Corrupt | ArchiveIssues.NotListable, "iso: no primary volume descriptor; names unavailable");
            return;
        }
        bool ucs2 = joliet is not null;
        var seen = new HashSet<long>();
        var queue = new Queue<(long Extent, long Size, string Prefix, int Level)>();
        queue.Enqueue((start.Value.Extent, start.Value.Size, "", 0));
        long claimed = 0;
        while (queue.Count > 0)
        {
            var (extent, size, prefix, level) = queue.Dequeue();
            if (!seen.Add(extent)) continue; // a loop in the tree
            long at = extent * blockSize;
            if (size > IsoMaxDirBytes || at < 0 || at + size > len)
            {
                listing.Add(ArchiveIssues.Corrupt, $"iso: directory {(prefix.Length == 0 ? "/" : prefix)} outside the image");
                continue;
            }
            var dir = new byte[size];
            s.Position = at;
            s.ReadExactly(dir);
            int p = 0;
            while (p < dir.Length)
            {
                int recLen = dir[p];
                if (recLen == 0)
                {
                    p = (p / IsoSector + 1) * IsoSector; // records never cross a sector: skip its padding
                    continue;
                }
                if (recLen < 34 || p + recLen > dir.Length) { listing.Add(ArchiveIssues.Corrupt, "iso: bad directory record"); break; }
                var r = dir.AsSpan(p, recLen);
                p += recLen;
                int nameLen = r[32];
                if (33 + nameLen > r.Length) continue;
                var rawName = r.Slice(33, nameLen);
                if (nameLen == 1 && rawName[0] is 0 or 1) continue; // "." and ".."
                long childExtent = BinaryPrimitives.ReadUInt32LittleEndian(r[2..]);
                long childSize = BinaryPrimitives.ReadUInt32LittleEndian(r[10..]);
                bool isDir = (r[25] & 0x02) != 0;
                string name = IsoName(rawName, ucs2, isDir);
                string full = prefix.Length == 0 ? name : prefix + "/" + name;
                CountEntry(ctx);
                var entry = new ArchiveEntry { Name = full, Path = Join(path, full), Size = isDir ? null : childSize, CompressedSize = isDir ? null : childSize, IsDirectory = isDir };
                listing.EntryList.Add(entry);
                if (isDir)
                {
                    if (level + 1 < IsoMaxDirDepth) queue.Enqueue((childExtent, childSize, full, level + 1));
                    else listing.Add(ArchiveIssues.None, $"iso: {full} deeper than {IsoMaxDirDepth} levels not listed");
                    continue;
                }
                claimed += childSize;
                long dataAt = childExtent * blockSize;
                if (!ctx.Options.ReadEntryContent || childSize == 0 || dataAt < 0 || dataAt + childSize > len) continue;
                int sniff = (int)Math.Min(childSize, ctx.Options.SniffBytes);
                if (ctx.Remaining < sniff) throw new BudgetExceededException();
                var head = new byte[sniff];
                s.Position = dataAt;
                s.ReadExactly(head);
                ctx.BytesRead += sniff;
                entry.DetectedType = FileTypeDetector.Detect(head);
                if (IsNestable(entry.DetectedType) && CheckNesting(entry, listing, depth, childSize, ctx))
                {
                    if (ctx.Remaining < childSize) throw new BudgetExceededException();
                    var body = new byte[childSize];
                    s.Position = dataAt;
                    s.ReadExactly(body);
                    ctx.BytesRead += childSize;
                    OpenNested(new MemoryStream(body, writable: false), entry, depth, ctx);
                }
            }
        }
        if (claimed > len) listing.Add(ArchiveIssues.Corrupt, $"iso: files claim {claimed} bytes in a {len}-byte image");
    }

    /// <summary>"NAME.EXT;1" becomes "NAME.EXT"; Joliet names are UCS-2 big-endian.</summary>
    private static string IsoName(ReadOnlySpan<byte> raw, bool ucs2, bool isDir)
    {
        string n = ucs2 ? Encoding.BigEndianUnicode.GetString(raw[..(raw.Length & ~1)]) : Encoding.Latin1.GetString(raw);
        if (!isDir)
        {
            int semi = n.LastIndexOf(';');
            if (semi > 0 && n.AsSpan(semi + 1).IndexOfAnyExceptInRange('0', '9') < 0) n = n[..semi];
            if (n.EndsWith('.') && n.Length > 1) n = n[..^1];
        }
        return n;
    }
}
