using System.Buffers.Binary;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Assp.Mime.Attachments;

/// <summary>Lists the members of zip (and ooxml/odf/jar/apk), tar, gzip/tar.gz, rar (headers only), cab
/// (headers only), 7z (names from the header) and ISO 9660 images, nested up to a depth, within bounded work.
/// Never throws on damaged input.</summary>
public static partial class ArchiveLister
{
    /// <summary>Lists <paramref name="archive"/>. <paramref name="name"/> is used only for messages and paths.
    /// The stream is read from its current position and is not disposed.</summary>
    public static ArchiveListing List(Stream archive, string? name = null, ArchiveListOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(archive);
        var ctx = new Context(options ?? ArchiveListOptions.Default);
        Stream s = archive;
        bool tooLarge = false;
        try
        {
            if (!archive.CanSeek)
            {
                var ms = new MemoryStream();
                tooLarge = !CopyBounded(archive, ms, ctx.Options.MaxArchiveBytes);
                ms.Position = 0;
                s = ms;
            }
        }
        catch (Exception ex) when (IsDataError(ex))
        {
            var l = new ArchiveListing { Name = name, Type = DetectedType.Unknown, Format = "none" };
            l.Add(ArchiveIssues.Corrupt, "read error: " + ex.Message);
            return l;
        }
        var listing = ListSeekable(s, name, name ?? "", 0, ctx);
        if (tooLarge) listing.Add(ArchiveIssues.TooLarge, $"input larger than {ctx.Options.MaxArchiveBytes} bytes; only the beginning was read");
        return listing;
    }

    private sealed class Context(ArchiveListOptions options)
    {
        public ArchiveListOptions Options { get; } = options;
        public long BytesRead;
        public int Entries;

        public long Remaining => Options.MaxTotalUncompressedBytes - BytesRead;
    }

    private sealed class BudgetExceededException() : Exception("uncompressed read budget exhausted");

    private sealed class TooManyEntriesException() : Exception("entry limit reached");

    /// <summary>A forward-only, read-only stream: subclasses supply Read(Span).</summary>
    private abstract class ForwardReadStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public abstract override int Read(Span<byte> buffer);
    }

    /// <summary>Charges every byte read to the shared budget; throws <see cref="BudgetExceededException"/> beyond it.</summary>
    private sealed class BudgetStream(Stream inner, Context ctx) : ForwardReadStream
    {

        public override int Read(Span<byte> buffer)
        {
            if (ctx.Remaining <= 0) throw new BudgetExceededException();
            if (buffer.Length > ctx.Remaining) buffer = buffer[..(int)Math.Min(buffer.Length, ctx.Remaining)];
            int n = inner.Read(buffer);
            ctx.BytesRead += n;
            return n;
        }
    }

    private static bool IsDataError(Exception ex) =>
        ex is InvalidDataException or IOException or FormatException or NotSupportedException or ArgumentException
            or InvalidOperationException or OverflowException or IndexOutOfRangeException or UnauthorizedAccessException
            or ObjectDisposedException;

    private static ArchiveListing ListSeekable(Stream s, string? name, string path, int depth, Context ctx)
    {
        long start = s.Position;
        DetectedType type = FileTypeDetector.Detect(s);
        s.Position = start;
        string format = type.Kind switch
        {
            "zip" or "ooxml" or "odf" or "jar" or "apk" => "zip",
            "gzip" => "gzip",
            "tar" or "rar" or "7z" or "cab" or "bzip2" or "xz" or "iso" => type.Kind,
            _ => "none",
        };
        var listing = new ArchiveListing { Name = name, Type = type, Format = format, Depth = depth };
        try
        {
            switch (format)
            {
                case "zip": ListZip(s, listing, path, depth, ctx); break;
                case "tar": ListTar(new BudgetStream(s, ctx), listing, path, depth, ctx); break;
                case "gzip": ListGzip(s, name, listing, path, depth, ctx); break;
                case "rar": ListRar(s, listing, path, ctx); break;
                case "cab": ListCab(s, listing, path, ctx); break;
                case "7z": ListSevenZip(s, listing, path, ctx); break;
                case "iso": ListIso(s, listing, path, depth, ctx); break;
                case "none": listing.Add(ArchiveIssues.NotListable, $"not an archive ({type})"); break;
                default: listing.Add(ArchiveIssues.NotListable, $"{format} members are not listed (format detected only)"); break;
            }
        }
        catch (BudgetExceededException)
        {
            listing.Add(ArchiveIssues.Bomb, $"uncompressed read budget ({ctx.Options.MaxTotalUncompressedBytes} bytes) exhausted; reading stopped");
        }
        catch (TooManyEntriesException)
        {
            listing.Add(ArchiveIssues.TooManyEntries, $"more than {ctx.Options.MaxEntries} entries; listing stopped");
        }
        catch (Exception ex) when (IsDataError(ex) || ex is EndOfStreamException)
        {
            listing.Add(ArchiveIssues.Corrupt, $"corrupt {format}: {ex.Message}");
        }
        return listing;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "/" + name;

    private static void CountEntry(Context ctx)
    {
        if (++ctx.Entries > ctx.Options.MaxEntries) throw new TooManyEntriesException();
    }

    private static bool IsNestable(DetectedType t) =>
        t.Kind is "zip" or "jar" or "apk" or "ooxml" or "odf" or "gzip" or "tar" or "rar" or "7z" or "cab" or "bzip2" or "xz" or "iso";

    // ---------------------------------------------------------------- zip

    private static void ListZip(Stream s, ArchiveListing listing, string path, int depth, Context ctx)
    {
        var o = ctx.Options;
        var dir = ZipDirectory.TryRead(s, o.MaxEntries - ctx.Entries + 1, out bool complete);
        if (dir is null)
        {
            listing.Add(ArchiveIssues.Corrupt, "zip central directory not found (truncated or damaged)");
            // Salvage names from the local headers.
            s.Position = 0;
            var head = new byte[(int)Math.Min(s.Length, 1024 * 1024)];
            s.ReadExactly(head);
            foreach (string n in ZipDirectory.WalkLocalHeaders(head, o.MaxEntries, out _))
            {
                CountEntry(ctx);
                listing.EntryList.Add(new ArchiveEntry { Name = n, Path = Join(path, n), Note = "from local header" });
            }
            return;
        }
        if (!complete) listing.Add(ArchiveIssues.Corrupt, "zip central directory is incomplete");

        // Bomb heuristics on the claimed sizes.
        long claimed = 0;
        var offsets = new HashSet<long>();
        bool overlap = false;
        foreach (var e in dir)
        {
            claimed = claimed > long.MaxValue - e.UncompressedSize ? long.MaxValue : claimed + e.UncompressedSize;
            if (!e.IsDirectory && e.CompressedSize > 0 && !offsets.Add(e.LocalHeaderOffset)) overlap = true;
        }
        if (overlap) listing.Add(ArchiveIssues.Bomb, "zip entries share their data (overlapping entries)");
        if (claimed > o.MaxClaimedUncompressedBytes)
            listing.Add(ArchiveIssues.Bomb, $"claimed uncompressed total {claimed} bytes exceeds {o.MaxClaimedUncompressedBytes}");
        if (dir.Any(e => e.IsEncrypted)) listing.Add(ArchiveIssues.Encrypted, "encrypted entries");

        ZipArchive? zip = null;
        try
        {
            s.Position = 0;
            zip = new ZipArchive(s, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (Exception ex) when (IsDataError(ex))
        {
            listing.Add(ArchiveIssues.Corrupt, "zip not readable: " + ex.Message);
        }
        using (zip)
        {
            IReadOnlyList<ZipArchiveEntry>? zentries = null;
            if (zip is not null)
            {
                try { zentries = zip.Entries; }
                catch (Exception ex) when (IsDataError(ex)) { listing.Add(ArchiveIssues.Corrupt, "zip entries not readable: " + ex.Message); }
            }
            for (int i = 0; i < dir.Count; i++)
            {
                CountEntry(ctx);
                var d = dir[i];
                ZipArchiveEntry? ze = zentries is not null && i < zentries.Count
                                      && (zentries.Count == dir.Count || zentries[i].FullName == d.Name) ? zentries[i] : null;
                bool encrypted = d.IsEncrypted || (ze?.IsEncrypted ?? false);
                var entry = new ArchiveEntry
                {
                    Name = d.Name,
                    Path = Join(path, d.Name),
                    Size = d.UncompressedSize,
                    CompressedSize = d.CompressedSize,
                    IsEncrypted = encrypted,
                    IsDirectory = d.IsDirectory,
                };
                listing.EntryList.Add(entry);
                if (d.IsDirectory) continue;
                double ratio = (double)d.UncompressedSize / Math.Max(1, d.CompressedSize);
                if (d.UncompressedSize >= o.RatioCheckMinBytes && ratio > o.MaxCompressionRatio)
                {
                    entry.Note = string.Create(CultureInfo.InvariantCulture, $"bomb: compression ratio {ratio:0}:1");
                    listing.Add(ArchiveIssues.Bomb, $"{d.Name}: claimed {d.UncompressedSize} bytes from {d.CompressedSize} (ratio {ratio:0}:1)");
                    continue;
                }
                if (encrypted) { entry.Note = "encrypted"; continue; }
                if (ze is null || !o.ReadEntryContent || (listing.Issues & ArchiveIssues.Bomb) != 0) continue;
                ReadZipEntry(ze, entry, listing, depth, ctx);
            }
        }
    }

    private static void ReadZipEntry(ZipArchiveEntry ze, ArchiveEntry entry, ArchiveListing listing, int depth, Context ctx)
    {
        var o = ctx.Options;
        try
        {
            byte[] head;
            using (var es = new BudgetStream(ze.Open(), ctx))
                head = ReadUpTo(es, o.SniffBytes);
            entry.DetectedType = FileTypeDetector.Detect(head);
            if (o.HashEntries)
            {
                using var whole = new BudgetStream(ze.Open(), ctx);
                entry.Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(whole));
            }
            if (!IsNestable(entry.DetectedType)) return;
            if (!CheckNesting(entry, listing, depth, ze.Length, ctx)) return;
            using var full = new BudgetStream(ze.Open(), ctx);
            OpenNested(full, entry, depth, ctx);
        }
        catch (BudgetExceededException) { throw; }
        catch (Exception ex) when (IsDataError(ex))
        {
            entry.Note = "unreadable: " + ex.Message;
            listing.Add(ArchiveIssues.Corrupt, $"{entry.Name}: {ex.Message}");
        }
    }

    /// <summary>Checks the depth and size limits before opening a nested archive; records why not.</summary>
    private static bool CheckNesting(ArchiveEntry entry, ArchiveListing listing, int depth, long? size, Context ctx)
    {
        if (depth + 1 > ctx.Options.MaxDepth)
        {
            entry.Note = "too deep";
            listing.Add(ArchiveIssues.TooDeep, $"{entry.Name}: nested archive beyond depth {ctx.Options.MaxDepth} not opened");
            return false;
        }
        if (size > ctx.Options.MaxNestedArchiveBytes)
        {
            entry.Note = "nested archive too large";
            listing.Add(ArchiveIssues.TooLarge, $"{entry.Name}: nested archive of {size} bytes not opened");
            return false;
        }
        return true;
    }

    private static void OpenNested(Stream content, ArchiveEntry entry, int depth, Context ctx)
    {
        var ms = new MemoryStream();
        if (!CopyBounded(content, ms, ctx.Options.MaxNestedArchiveBytes))
        {
            entry.Note = "nested archive too large";
            return;
        }
        ms.Position = 0;
        entry.Nested = ListSeekable(ms, entry.Name, entry.Path, depth + 1, ctx);
    }

    // ---------------------------------------------------------------- tar and gzip

    private static void ListTar(Stream s, ArchiveListing listing, string path, int depth, Context ctx)
    {
        using var reader = new TarReader(s, leaveOpen: true);
        while (reader.GetNextEntry(copyData: false) is { } te)
        {
            if (te.EntryType is TarEntryType.GlobalExtendedAttributes) continue;
            CountEntry(ctx);
            bool isDir = te.EntryType == TarEntryType.Directory;
            var entry = new ArchiveEntry
            {
                Name = te.Name,
                Path = Join(path, te.Name),
                Size = te.Length,
                CompressedSize = null,
                IsDirectory = isDir,
            };
            if (te.EntryType is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                entry.Note = "link to " + te.LinkName;
            listing.EntryList.Add(entry);
            if (isDir || te.DataStream is null || !ctx.Options.ReadEntryContent) continue;
            var head = ReadUpTo(te.DataStream, ctx.Options.SniffBytes);
            entry.DetectedType = FileTypeDetector.Detect(head);
            if (IsNestable(entry.DetectedType) && CheckNesting(entry, listing, depth, te.Length, ctx))
                OpenNested(new PrefixStream(head, te.DataStream), entry, depth, ctx);
        }
    }

    private static void ListGzip(Stream s, string? name, ArchiveListing listing, string path, int depth, Context ctx)
    {
        long total = s.Length;
        var hdr = new byte[(int)Math.Min(total, 4096)];
        s.ReadExactly(hdr);
        string? stored = GzipStoredName(hdr);
        long? isize = null;
        if (total >= 18)
        {
            var tail = new byte[4];
            s.Position = total - 4;
            s.ReadExactly(tail);
            isize = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        }
        s.Position = 0;
        using var gz = new GZipStream(s, CompressionMode.Decompress, leaveOpen: true);
        var budget = new BudgetStream(gz, ctx);
        byte[] head = ReadUpTo(budget, Math.Max(ctx.Options.SniffBytes, 512));
        var inner = FileTypeDetector.Detect(head);
        if (inner.Kind == "tar")
        {
            var tarListing = new ArchiveListing { Name = name, Type = inner, Format = "tar", Depth = depth };
            try
            {
                ListTar(new PrefixStream(head, budget), tarListing, path, depth, ctx);
            }
            finally
            {
                listing.EntryList.AddRange(tarListing.EntryList);
                listing.Issues |= tarListing.Issues;
                listing.NoteList.AddRange(tarListing.NoteList);
            }
            return;
        }
        string memberName = stored ?? StripGz(name) ?? "data";
        CountEntry(ctx);
        var entry = new ArchiveEntry
        {
            Name = memberName,
            Path = Join(path, memberName),
            Size = isize,
            CompressedSize = total,
            DetectedType = inner,
        };
        listing.EntryList.Add(entry);
        if (isize is { } sz && sz >= ctx.Options.RatioCheckMinBytes && (double)sz / Math.Max(1, total) > ctx.Options.MaxCompressionRatio)
            listing.Add(ArchiveIssues.Bomb, $"{memberName}: claimed {sz} bytes from {total} (ratio {(double)sz / Math.Max(1, total):0}:1)");
        else if (IsNestable(inner) && CheckNesting(entry, listing, depth, isize, ctx))
            OpenNested(new PrefixStream(head, budget), entry, depth, ctx);
    }

    private static string? StripGz(string? name)
    {
        if (string.IsNullOrEmpty(name)) return null;
        string n = System.IO.Path.GetFileName(name.Replace('\\', '/'));
        if (n.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase)) return n[..^4] + ".tar";
        if (n.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return n[..^3];
        return null;
    }

    private static string? GzipStoredName(ReadOnlySpan<byte> h)
    {
        if (h.Length < 10) return null;
        int flags = h[3];
        int p = 10;
        if ((flags & 4) != 0)
        {
            if (p + 2 > h.Length) return null;
            p += 2 + BinaryPrimitives.ReadUInt16LittleEndian(h[p..]);
        }
        if ((flags & 8) == 0 || p >= h.Length) return null;
        int end = h[p..].IndexOf((byte)0);
        if (end <= 0) return null;
        return Encoding.Latin1.GetString(h.Slice(p, end));
    }

    // ---------------------------------------------------------------- rar (headers only)

    private static void ListRar(Stream s, ArchiveListing listing, string path, Context ctx)
    {
        var sig = new byte[8];
        int n = ReadFully(s, sig);
        if (n >= 8 && sig[6] == 1 && sig[7] == 0) ListRar5(s, 8, listing, path, ctx);
        else ListRar4(s, 7, listing, path, ctx);
        listing.Add(ArchiveIssues.None, "rar: names and sizes from the headers; content not extracted");
    }

    private static void ListRar4(Stream s, long pos, ArchiveListing listing, string path, Context ctx)
    {
        long len = s.Length;
        while (pos + 7 <= len)
        {
            s.Position = pos;
            var b = new byte[7];
            s.ReadExactly(b);
            int type = b[2];
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(3));
            int size = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(5));
            if (size < 7) { listing.Add(ArchiveIssues.Corrupt, "rar: bad block header"); return; }
            if (pos + size > len) { listing.Add(ArchiveIssues.Corrupt, "rar: truncated"); return; }
            var h = new byte[size];
            s.Position = pos;
            s.ReadExactly(h);
            long add = (flags & 0x8000) != 0 && size >= 11 ? BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(7)) : 0;
            if (type == 0x73 && (flags & 0x80) != 0)
            {
                listing.Add(ArchiveIssues.Encrypted | ArchiveIssues.NotListable, "rar: headers are encrypted; names not listable");
                return;
            }
            if (type == 0x7B) return;
            if (type == 0x74 && size >= 32)
            {
                CountEntry(ctx);
                long pack = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(7));
                long unp = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(11));
                int nameSize = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(26));
                int nameAt = 32;
                if ((flags & 0x100) != 0 && size >= 40)
                {
                    pack |= (long)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(32)) << 32;
                    unp |= (long)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(36)) << 32;
                    nameAt = 40;
                }
                nameSize = Math.Max(0, Math.Min(nameSize, size - nameAt));
                var raw = h.AsSpan(nameAt, nameSize);
                int nul = raw.IndexOf((byte)0);
                if (nul >= 0) raw = raw[..nul];
                string name = (flags & 0x200) != 0 ? ZipDirectory.DecodeName(raw, 0x800) : ZipDirectory.DecodeName(raw, 0);
                bool enc = (flags & 0x04) != 0;
                if (enc) listing.Issues |= ArchiveIssues.Encrypted;
                listing.EntryList.Add(new ArchiveEntry
                {
                    Name = name,
                    Path = Join(path, name),
                    Size = unp,
                    CompressedSize = pack,
                    IsEncrypted = enc,
                    IsDirectory = (flags & 0xE0) == 0xE0,
                });
                add = pack;
            }
            pos += size + add;
        }
    }

    private static void ListRar5(Stream s, long pos, ArchiveListing listing, string path, Context ctx)
    {
        long len = s.Length;
        while (pos + 7 <= len)
        {
            s.Position = pos + 4; // skip CRC32
            var pre = new byte[Math.Min(16, (int)(len - pos - 4))];
            ReadFully(s, pre);
            int q = 0;
            if (!ReadVint(pre, ref q, out long headerSize) || headerSize <= 0 || headerSize > 2 * 1024 * 1024)
            {
                listing.Add(ArchiveIssues.Corrupt, "rar5: bad header size");
                return;
            }
            long hstart = pos + 4 + q;
            if (hstart + headerSize > len) { listing.Add(ArchiveIssues.Corrupt, "rar5: truncated"); return; }
            var h = new byte[headerSize];
            s.Position = hstart;
            s.ReadExactly(h);
            int p = 0;
            if (!ReadVint(h, ref p, out long type) || !ReadVint(h, ref p, out long hflags)) { listing.Add(ArchiveIssues.Corrupt, "rar5: bad header"); return; }
            long extraSize = 0, dataSize = 0;
            if ((hflags & 1) != 0 && !ReadVint(h, ref p, out extraSize)) return;
            if ((hflags & 2) != 0 && !ReadVint(h, ref p, out dataSize)) return;
            if (type == 4)
            {
                listing.Add(ArchiveIssues.Encrypted | ArchiveIssues.NotListable, "rar5: headers are encrypted; names not listable");
                return;
            }
            if (type == 5) return;
            if (type == 2 && ReadVint(h, ref p, out long fileFlags) && ReadVint(h, ref p, out long unp) && ReadVint(h, ref p, out _))
            {
                if ((fileFlags & 2) != 0) p += 4;
                if ((fileFlags & 4) != 0) p += 4;
                if (ReadVint(h, ref p, out _) && ReadVint(h, ref p, out _) && ReadVint(h, ref p, out long nameLen)
                    && nameLen >= 0 && p + nameLen <= h.Length)
                {
                    CountEntry(ctx);
                    string name = Encoding.UTF8.GetString(h, p, (int)nameLen);
                    bool enc = HasRar5EncryptionRecord(h, extraSize);
                    if (enc) listing.Issues |= ArchiveIssues.Encrypted;
                    listing.EntryList.Add(new ArchiveEntry
                    {
                        Name = name,
                        Path = Join(path, name),
                        Size = (fileFlags & 8) != 0 ? null : unp,
                        CompressedSize = dataSize,
                        IsEncrypted = enc,
                        IsDirectory = (fileFlags & 1) != 0,
                    });
                }
            }
            if (dataSize < 0 || dataSize > len) { listing.Add(ArchiveIssues.Corrupt, "rar5: bad data size"); return; }
            pos = hstart + headerSize + dataSize;
        }
    }

    private static bool HasRar5EncryptionRecord(byte[] h, long extraSize)
    {
        if (extraSize <= 0 || extraSize > h.Length) return false;
        int p = (int)(h.Length - extraSize);
        while (p < h.Length)
        {
            int recStart = p;
            if (!ReadVint(h, ref p, out long size) || size <= 0) return false;
            int dataStart = p;
            if (!ReadVint(h, ref p, out long type)) return false;
            if (type == 1) return true;
            long next = dataStart + size;
            if (next <= recStart || next > h.Length) return false;
            p = (int)next;
        }
        return false;
    }

    private static bool ReadVint(ReadOnlySpan<byte> b, ref int p, out long value)
    {
        value = 0;
        for (int shift = 0; shift < 63 && p < b.Length; shift += 7)
        {
            byte c = b[p++];
            value |= (long)(c & 0x7F) << shift;
            if ((c & 0x80) == 0) return value >= 0;
        }
        return false;
    }

    // ---------------------------------------------------------------- cab (headers only)

    private static void ListCab(Stream s, ArchiveListing listing, string path, Context ctx)
    {
        var h = new byte[(int)Math.Min(s.Length, 1024 * 1024)];
        ReadFully(s, h);
        if (h.Length < 36) { listing.Add(ArchiveIssues.Corrupt, "cab: truncated header"); return; }
        long filesAt = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(16));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(28));
        int p = (int)Math.Min(filesAt, int.MaxValue);
        for (int i = 0; i < count; i++)
        {
            if (p < 0 || p + 16 > h.Length) { listing.Add(ArchiveIssues.Corrupt, "cab: file table truncated"); return; }
            long size = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(p));
            int attribs = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(p + 14));
            int end = h.AsSpan(p + 16).IndexOf((byte)0);
            if (end < 0) { listing.Add(ArchiveIssues.Corrupt, "cab: file name truncated"); return; }
            CountEntry(ctx);
            string name = ZipDirectory.DecodeName(h.AsSpan(p + 16, end), (attribs & 0x80) != 0 ? 0x800 : 0);
            listing.EntryList.Add(new ArchiveEntry { Name = name, Path = Join(path, name), Size = size });
            p += 16 + end + 1;
        }
    }

    // ---------------------------------------------------------------- helpers

    private static int ReadFully(Stream s, Span<byte> buffer)
    {
        int n = 0;
        while (n < buffer.Length)
        {
            int r = s.Read(buffer[n..]);
            if (r <= 0) break;
            n += r;
        }
        return n;
    }

    private static byte[] ReadUpTo(Stream s, int max)
    {
        var buf = new byte[max];
        int n = ReadFully(s, buf);
        return n == max ? buf : buf[..n];
    }

    /// <summary>Copies at most <paramref name="max"/> bytes; false when more were available.</summary>
    private static bool CopyBounded(Stream from, Stream to, long max)
    {
        var buf = new byte[81920];
        long total = 0;
        while (true)
        {
            int want = (int)Math.Min(buf.Length, max - total + 1);
            if (want <= 0) return false;
            int r = from.Read(buf, 0, want);
            if (r <= 0) return true;
            if (total + r > max)
            {
                to.Write(buf, 0, (int)(max - total));
                return false;
            }
            to.Write(buf, 0, r);
            total += r;
        }
    }

    /// <summary>Replays already-read bytes before the rest of a forward-only stream.</summary>
    private sealed class PrefixStream(byte[] prefix, Stream rest) : ForwardReadStream
    {
        private int _pos;

        public override int Read(Span<byte> buffer)
        {
            if (_pos < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _pos);
                prefix.AsSpan(_pos, n).CopyTo(buffer);
                _pos += n;
                return n;
            }
            return rest.Read(buffer);
        }
    }
}
