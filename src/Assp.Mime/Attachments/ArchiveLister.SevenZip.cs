using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Assp.Mime.Attachments;

public static partial class ArchiveLister
{
    // ---------------------------------------------------------------- 7z (names from the header)

    // Property IDs of the 7z header (7zFormat.txt).
    private const byte K7End = 0x00, K7Header = 0x01, K7ArchiveProperties = 0x02, K7AdditionalStreamsInfo = 0x03,
        K7MainStreamsInfo = 0x04, K7FilesInfo = 0x05, K7PackInfo = 0x06, K7UnpackInfo = 0x07, K7SubStreamsInfo = 0x08,
        K7Size = 0x09, K7Crc = 0x0A, K7Folder = 0x0B, K7CodersUnpackSize = 0x0C, K7NumUnpackStream = 0x0D,
        K7EmptyStream = 0x0E, K7EmptyFile = 0x0F, K7Name = 0x11, K7Attributes = 0x15, K7EncodedHeader = 0x17;

    private const int MaxSevenZipHeaderBytes = 16 * 1024 * 1024;

    private sealed class SevenZipFormatException(string message) : Exception(message);

    private sealed class SevenZipFolder
    {
        public required byte[][] CoderIds { get; init; }
        public required byte[][] CoderProps { get; init; }
        public required int NumPackedStreams { get; init; }
        public required int MainOutStream { get; init; }
        public required int TotalOutStreams { get; init; }
        public long[] UnpackSizes { get; set; } = [];
        public long UnpackSize => MainOutStream < UnpackSizes.Length ? UnpackSizes[MainOutStream] : 0;
        public long PackedSize { get; set; }
        public bool HasCrc { get; set; }
        public bool IsEncrypted => CoderIds.Any(id => id.AsSpan().SequenceEqual(AesCoder));
    }

    private sealed class SevenZipStreams
    {
        public long PackPos;
        public long[] PackSizes = [];
        public List<SevenZipFolder> Folders = [];
        public int[]? UnpackStreamsPerFolder;
        public List<long> SubStreamSizes = [];
    }

    private static readonly byte[] AesCoder = [0x06, 0xF1, 0x07, 0x01];
    private static readonly byte[] LzmaCoder = [0x03, 0x01, 0x01];
    private static readonly byte[] CopyCoder = [0x00];

    private static void ListSevenZip(Stream s, ArchiveListing listing, string path, Context ctx)
    {
        long len = s.Length;
        var sig = new byte[32];
        if (ReadFully(s, sig) < 32)
        {
            listing.Add(ArchiveIssues.Corrupt | ArchiveIssues.NotListable, "7z: truncated signature header; names unavailable");
            return;
        }
        long nextOffset = BinaryPrimitives.ReadInt64LittleEndian(sig.AsSpan(12));
        long nextSize = BinaryPrimitives.ReadInt64LittleEndian(sig.AsSpan(20));
        uint nextCrc = BinaryPrimitives.ReadUInt32LittleEndian(sig.AsSpan(28));
        if (Crc32(sig.AsSpan(12, 20)) != BinaryPrimitives.ReadUInt32LittleEndian(sig.AsSpan(8)))
            listing.Add(ArchiveIssues.Corrupt, "7z: start header CRC mismatch");
        if (nextSize == 0) return; // an empty archive
        if (nextOffset < 0 || nextSize < 0 || nextSize > MaxSevenZipHeaderBytes || 32 + nextOffset + nextSize > len)
        {
            listing.Add(ArchiveIssues.Corrupt | ArchiveIssues.NotListable, "7z: header beyond the end of the data (truncated); names unavailable");
            return;
        }
        var header = new byte[nextSize];
        s.Position = 32 + nextOffset;
        s.ReadExactly(header);
        if (Crc32(header) != nextCrc) listing.Add(ArchiveIssues.Corrupt, "7z: header CRC mismatch");
        try
        {
            for (int round = 0; round < 4; round++)
            {
                if (header.Length == 0) throw new SevenZipFormatException("empty header");
                if (header[0] == K7Header)
                {
                    ParseSevenZipHeader(header, listing, path, ctx);
                    listing.Add(ArchiveIssues.None, "7z: names and sizes from the header; content not extracted");
                    return;
                }
                if (header[0] != K7EncodedHeader) throw new SevenZipFormatException($"unknown header type 0x{header[0]:X2}");
                // The real header is packed like file data: find out how, and unpack it if we can.
                var r = new SevenZipReader(header, 1);
                var streams = ReadStreamsInfo(ref r);
                if (streams.Folders.Count == 0 || streams.PackSizes.Length == 0) throw new SevenZipFormatException("encoded header without a folder");
                var folder = streams.Folders[0];
                if (folder.IsEncrypted)
                {
                    listing.Add(ArchiveIssues.Encrypted | ArchiveIssues.NotListable, "7z: encrypted header, names unavailable");
                    return;
                }
                long at = 32 + streams.PackPos;
                long packed = streams.PackSizes[0];
                long unpacked = folder.UnpackSize;
                if (at < 32 || packed < 0 || at + packed > len || unpacked < 0 || unpacked > MaxSevenZipHeaderBytes)
                    throw new SevenZipFormatException("encoded header outside the data");
                var packedBytes = new byte[packed];
                s.Position = at;
                s.ReadExactly(packedBytes);
                if (folder.CoderIds.Length == 1 && folder.CoderIds[0].AsSpan().SequenceEqual(CopyCoder))
                {
                    header = packedBytes[..(int)Math.Min(unpacked, packed)];
                    continue;
                }
                if (folder.CoderIds.Length == 1 && folder.CoderIds[0].AsSpan().SequenceEqual(LzmaCoder))
                {
                    if (ctx.Remaining < unpacked) throw new BudgetExceededException();
                    ctx.BytesRead += unpacked;
                    if (!LzmaDecoder.TryDecode(folder.CoderProps[0], packedBytes, (int)unpacked, out var plain))
                        throw new SevenZipFormatException("LZMA-packed header is damaged; names unavailable");
                    header = plain;
                    continue;
                }
                string method = string.Join("+", folder.CoderIds.Select(CoderName));
                listing.Add(ArchiveIssues.NotListable, $"7z: compressed header ({method}), names unavailable");
                return;
            }
            throw new SevenZipFormatException("too many header layers");
        }
        catch (SevenZipFormatException ex)
        {
            listing.Add(ArchiveIssues.Corrupt | (listing.Entries.Count == 0 ? ArchiveIssues.NotListable : 0), "7z: " + ex.Message);
        }
    }

    private static string CoderName(byte[] id) => id switch
    {
        [0x00] => "copy",
        [0x03, 0x01, 0x01] => "LZMA",
        [0x21] => "LZMA2",
        [0x03, 0x04, 0x01] => "PPMd",
        [0x04, 0x01, 0x08] => "Deflate",
        [0x04, 0x02, 0x02] => "BZip2",
        [0x06, 0xF1, 0x07, 0x01] => "AES",
        _ => Convert.ToHexString(id),
    };

    private static void ParseSevenZipHeader(byte[] header, ArchiveListing listing, string path, Context ctx)
    {
        var r = new SevenZipReader(header, 1);
        byte id = r.Byte();
        if (id == K7ArchiveProperties)
        {
            while (r.Byte() is var t && t != K7End) r.Skip(r.Number());
            id = r.Byte();
        }
        if (id == K7AdditionalStreamsInfo)
        {
            ReadStreamsInfo(ref r);
            id = r.Byte();
        }
        var streams = new SevenZipStreams();
        if (id == K7MainStreamsInfo)
        {
            streams = ReadStreamsInfo(ref r);
            id = r.Byte();
        }
        if (id == K7End) return;
        if (id != K7FilesInfo) throw new SevenZipFormatException($"unexpected property 0x{id:X2} in the header");
        ReadFilesInfo(ref r, streams, listing, path, ctx);
    }

    private static SevenZipStreams ReadStreamsInfo(ref SevenZipReader r)
    {
        var st = new SevenZipStreams();
        while (true)
        {
            byte id = r.Byte();
            switch (id)
            {
                case K7End:
                    AssignPackedSizes(st);
                    return st;
                case K7PackInfo:
                    st.PackPos = r.Number();
                    int numPack = r.Count();
                    st.PackSizes = new long[numPack];
                    while (true)
                    {
                        byte t = r.Byte();
                        if (t == K7End) break;
                        if (t == K7Size) for (int i = 0; i < numPack; i++) st.PackSizes[i] = r.Number();
                        else if (t == K7Crc) r.SkipDigests(numPack);
                        else r.Skip(r.Number());
                    }
                    break;
                case K7UnpackInfo:
                    if (r.Byte() != K7Folder) throw new SevenZipFormatException("folder list expected");
                    int numFolders = r.Count();
                    if (r.Byte() != 0) throw new SevenZipFormatException("external folder list not supported");
                    for (int i = 0; i < numFolders; i++) st.Folders.Add(ReadFolder(ref r));
                    if (r.Byte() != K7CodersUnpackSize) throw new SevenZipFormatException("unpack sizes expected");
                    foreach (var f in st.Folders)
                    {
                        f.UnpackSizes = new long[f.TotalOutStreams];
                        for (int i = 0; i < f.TotalOutStreams; i++) f.UnpackSizes[i] = r.Number();
                    }
                    while (true)
                    {
                        byte t = r.Byte();
                        if (t == K7End) break;
                        if (t == K7Crc)
                        {
                            var have = r.SkipDigests(numFolders);
                            for (int i = 0; i < numFolders; i++) st.Folders[i].HasCrc = have[i];
                        }
                        else r.Skip(r.Number());
                    }
                    break;
                case K7SubStreamsInfo:
                    ReadSubStreams(ref r, st);
                    break;
                default:
                    throw new SevenZipFormatException($"unexpected property 0x{id:X2} in stream info");
            }
        }
    }

    private static void AssignPackedSizes(SevenZipStreams st)
    {
        int next = 0;
        foreach (var f in st.Folders)
        {
            long sum = 0;
            for (int i = 0; i < f.NumPackedStreams && next < st.PackSizes.Length; i++) sum += st.PackSizes[next++];
            f.PackedSize = sum;
        }
    }

    private static SevenZipFolder ReadFolder(ref SevenZipReader r)
    {
        int numCoders = r.Count(64);
        var ids = new byte[numCoders][];
        var props = new byte[numCoders][];
        int totalIn = 0, totalOut = 0;
        for (int i = 0; i < numCoders; i++)
        {
            byte flags = r.Byte();
            ids[i] = r.Bytes(flags & 0x0F).ToArray();
            int nIn = 1, nOut = 1;
            if ((flags & 0x10) != 0) { nIn = r.Count(64); nOut = r.Count(64); }
            props[i] = (flags & 0x20) != 0 ? r.Bytes(r.Count()).ToArray() : [];
            if ((flags & 0x80) != 0) throw new SevenZipFormatException("alternative coder methods not supported");
            totalIn += nIn;
            totalOut += nOut;
        }
        if (totalOut == 0) throw new SevenZipFormatException("folder without output");
        var boundOut = new bool[totalOut];
        int bindPairs = totalOut - 1;
        for (int i = 0; i < bindPairs; i++)
        {
            r.Number(); // in index
            long outIndex = r.Number();
            if (outIndex >= 0 && outIndex < totalOut) boundOut[outIndex] = true;
        }
        int numPacked = totalIn - bindPairs;
        if (numPacked < 1) throw new SevenZipFormatException("folder without packed stream");
        if (numPacked > 1) for (int i = 0; i < numPacked; i++) r.Number();
        int main = Array.IndexOf(boundOut, false);
        return new SevenZipFolder { CoderIds = ids, CoderProps = props, NumPackedStreams = numPacked, MainOutStream = Math.Max(0, main), TotalOutStreams = totalOut };
    }

    private static void ReadSubStreams(ref SevenZipReader r, SevenZipStreams st)
    {
        var counts = new int[st.Folders.Count];
        Array.Fill(counts, 1);
        byte t = r.Byte();
        if (t == K7NumUnpackStream)
        {
            for (int i = 0; i < counts.Length; i++) counts[i] = r.Count();
            t = r.Byte();
        }
        st.UnpackStreamsPerFolder = counts;
        bool haveSizes = t == K7Size;
        for (int f = 0; f < counts.Length; f++)
        {
            if (counts[f] == 0) continue;
            long sum = 0;
            for (int j = 1; j < counts[f]; j++)
            {
                long size = haveSizes ? r.Number() : 0;
                st.SubStreamSizes.Add(size);
                sum += size;
            }
            st.SubStreamSizes.Add(Math.Max(0, st.Folders[f].UnpackSize - sum));
        }
        if (haveSizes) t = r.Byte();
        while (t != K7End)
        {
            if (t == K7Crc)
            {
                // One digest per stream, except single-stream folders whose CRC the folder list already has.
                int unknown = 0;
                for (int f = 0; f < counts.Length; f++) unknown += counts[f] == 1 && st.Folders[f].HasCrc ? 0 : counts[f];
                r.SkipDigests(unknown);
            }
            else r.Skip(r.Number());
            t = r.Byte();
        }
    }

    private static void ReadFilesInfo(ref SevenZipReader r, SevenZipStreams st, ArchiveListing listing, string path, Context ctx)
    {
        int numFiles = r.Count();
        bool[]? emptyStream = null, emptyFile = null;
        uint?[]? attributes = null;
        List<string>? names = null;
        while (true)
        {
            long type = r.Number();
            if (type == K7End) break;
            long size = r.Number();
            if (size < 0 || size > r.Remaining) throw new SevenZipFormatException("file property beyond the header");
            int end = r.Position + (int)size;
            var pr = new SevenZipReader(r.Slice(end), 0);
            switch (type)
            {
                case K7EmptyStream:
                    emptyStream = pr.Bits(numFiles);
                    break;
                case K7EmptyFile:
                    emptyFile = pr.Bits(emptyStream?.Count(x => x) ?? 0);
                    break;
                case K7Name:
                    if (pr.Byte() != 0) { listing.Add(ArchiveIssues.NotListable, "7z: names stored outside the header; names unavailable"); break; }
                    names = [];
                    var raw = pr.Rest();
                    int start = 0;
                    for (int i = 0; i + 1 < raw.Length && names.Count < numFiles; i += 2)
                    {
                        if (raw[i] != 0 || raw[i + 1] != 0) continue;
                        names.Add(Encoding.Unicode.GetString(raw[start..i]));
                        start = i + 2;
                    }
                    break;
                case K7Attributes:
                    var defined = pr.Byte() != 0 ? Enumerable.Repeat(true, numFiles).ToArray() : pr.Bits(numFiles);
                    if (pr.Byte() != 0) break; // external
                    attributes = new uint?[numFiles];
                    for (int i = 0; i < numFiles; i++) if (defined[i]) attributes[i] = pr.UInt32();
                    break;
            }
            r.Seek(end);
        }

        // Map the files that have data to the folders' streams, in order.
        int folderIndex = 0, streamInFolder = 0, sizeIndex = 0, emptyIndex = 0;
        var perFolder = st.UnpackStreamsPerFolder ?? st.Folders.Select(_ => 1).ToArray();
        long claimed = 0;
        for (int i = 0; i < numFiles; i++)
        {
            CountEntry(ctx);
            string name = names is not null && i < names.Count ? names[i] : $"(unnamed {i + 1})";
            bool isEmpty = emptyStream is not null && i < emptyStream.Length && emptyStream[i];
            bool isDir;
            long? size;
            bool encrypted = false;
            if (isEmpty)
            {
                bool isEmptyFile = emptyFile is not null && emptyIndex < emptyFile.Length && emptyFile[emptyIndex];
                emptyIndex++;
                isDir = !isEmptyFile;
                size = 0;
            }
            else
            {
                while (folderIndex < perFolder.Length && streamInFolder >= perFolder[folderIndex]) { folderIndex++; streamInFolder = 0; }
                size = sizeIndex < st.SubStreamSizes.Count ? st.SubStreamSizes[sizeIndex]
                    : folderIndex < st.Folders.Count && perFolder[folderIndex] == 1 ? st.Folders[folderIndex].UnpackSize : null;
                encrypted = folderIndex < st.Folders.Count && st.Folders[folderIndex].IsEncrypted;
                sizeIndex++;
                streamInFolder++;
                isDir = false;
            }
            if (attributes?[i] is { } attr && (attr & 0x10) != 0) isDir = true;
            if (encrypted) listing.Issues |= ArchiveIssues.Encrypted;
            if (size is { } sz) claimed = claimed > long.MaxValue - sz ? long.MaxValue : claimed + sz;
            listing.EntryList.Add(new ArchiveEntry
            {
                Name = name,
                Path = Join(path, name),
                Size = size,
                IsDirectory = isDir,
                IsEncrypted = encrypted,
                Note = encrypted ? "encrypted" : null,
            });
        }
        var o = ctx.Options;
        if (claimed > o.MaxClaimedUncompressedBytes)
            listing.Add(ArchiveIssues.Bomb, $"7z: entries claim {claimed} bytes in total");
        foreach (var f in st.Folders)
        {
            double ratio = (double)f.UnpackSize / Math.Max(1, f.PackedSize);
            if (f.UnpackSize >= o.RatioCheckMinBytes && ratio > o.MaxCompressionRatio)
                listing.Add(ArchiveIssues.Bomb, string.Create(CultureInfo.InvariantCulture, $"7z: a block unpacks {f.UnpackSize} bytes from {f.PackedSize} (ratio {ratio:0}:1)"));
        }
    }

    /// <summary>Reads 7z header fields: bytes, 7z variable-length numbers, bit vectors, digests.</summary>
    private ref struct SevenZipReader(ReadOnlySpan<byte> data, int position)
    {
        private readonly ReadOnlySpan<byte> _d = data;
        private int _p = position;

        public readonly int Position => _p;
        public readonly int Remaining => _d.Length - _p;
        public readonly ReadOnlySpan<byte> Slice(int end) => _d[_p..Math.Min(end, _d.Length)];
        public readonly ReadOnlySpan<byte> Rest() => _d[_p..];

        public void Seek(int p)
        {
            if (p < 0 || p > _d.Length) throw new SevenZipFormatException("header ends early");
            _p = p;
        }

        public byte Byte()
        {
            if (_p >= _d.Length) throw new SevenZipFormatException("header ends early");
            return _d[_p++];
        }

        public ReadOnlySpan<byte> Bytes(int n)
        {
            if (n < 0 || n > Remaining) throw new SevenZipFormatException("header ends early");
            var s = _d.Slice(_p, n);
            _p += n;
            return s;
        }

        public void Skip(long n)
        {
            if (n < 0 || n > Remaining) throw new SevenZipFormatException("header ends early");
            _p += (int)n;
        }

        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));

        /// <summary>A 7z number: the leading one bits of the first byte count the extra little-endian bytes.</summary>
        public long Number()
        {
            byte first = Byte();
            int mask = 0x80;
            ulong value = 0;
            for (int i = 0; i < 8; i++)
            {
                if ((first & mask) == 0)
                {
                    ulong high = (ulong)(first & (mask - 1));
                    value |= high << (8 * i);
                    return value > long.MaxValue ? throw new SevenZipFormatException("number too large") : (long)value;
                }
                value |= (ulong)Byte() << (8 * i);
                mask >>= 1;
            }
            return value > long.MaxValue ? throw new SevenZipFormatException("number too large") : (long)value;
        }

        /// <summary>A count that must fit the remaining header (each item takes at least a bit).</summary>
        public int Count(int max = int.MaxValue)
        {
            long n = Number();
            if (n < 0 || n > Math.Min(max, (long)Remaining * 8 + 8)) throw new SevenZipFormatException($"implausible count {n}");
            return (int)n;
        }

        public bool[] Bits(int n)
        {
            if (n < 0 || (n + 7) / 8 > Remaining) throw new SevenZipFormatException("bit vector beyond the header");
            var bits = new bool[n];
            for (int i = 0; i < n; i++) bits[i] = (_d[_p + i / 8] & (0x80 >> (i % 8))) != 0;
            _p += (n + 7) / 8;
            return bits;
        }

        /// <summary>Skips a digest list; returns which items had one.</summary>
        public bool[] SkipDigests(int n)
        {
            bool all = Byte() != 0;
            var defined = all ? Enumerable.Repeat(true, n).ToArray() : Bits(n);
            Skip(4L * defined.Count(b => b));
            return defined;
        }
    }

    /// <summary>The usual CRC-32 (as in zip and 7z).</summary>
    internal static uint Crc32(ReadOnlySpan<byte> data) => Attachments.Crc32.Compute(data);
}
