using System.Buffers.Binary;
using System.Text;

namespace Assp.Mime.Attachments;

/// <summary>Limits for reading a compound file from a mail: hostile files must end quickly.</summary>
public sealed record CompoundFileLimits
{
    /// <summary>Directory entries read at most (storages and streams together).</summary>
    public int MaxEntries { get; init; } = 10_000;
    /// <summary>Bytes one stream may hold; a larger one is cut to this.</summary>
    public int MaxStreamBytes { get; init; } = 64 * 1024 * 1024;
    /// <summary>How deep storages may nest.</summary>
    public int MaxDepth { get; init; } = 32;
}

/// <summary>One storage or stream of a compound file.</summary>
public sealed class CompoundEntry
{
    internal CompoundEntry(string name, bool isStorage, uint start, long size)
    {
        Name = name;
        IsStorage = isStorage;
        Start = start;
        Size = size;
    }

    public string Name { get; }
    /// <summary>A storage (a folder, with children) rather than a stream.</summary>
    public bool IsStorage { get; }
    internal uint Start { get; }
    /// <summary>The stream's declared size in bytes (0 for a storage).</summary>
    public long Size { get; }
    public List<CompoundEntry> Children { get; } = [];

    /// <summary>The child of that name (names compare without case, as the format says).</summary>
    public CompoundEntry? Child(string name) => Children.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
}


/// <summary>
/// A reader of the Compound File Binary format (MS-CFB, "OLE2"): the container of Outlook .msg files and old Office
/// documents. Versions 3 (512-byte sectors) and 4 (4096). Every sector chain is checked while it is followed: a
/// sector number outside the file, a chain that comes back to a sector it passed, or one longer than the file can
/// hold ends the read with <see cref="InvalidDataException"/>; so do the limits of <see cref="CompoundFileLimits"/>.
/// </summary>
public sealed class CompoundFile
{
    private const uint MaxRegularSector = 0xFFFFFFFA;
    private const uint EndOfChain = 0xFFFFFFFE;
    private const uint FreeSector = 0xFFFFFFFF;
    private const uint NoStream = 0xFFFFFFFF;
    private static ReadOnlySpan<byte> Signature => [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

    private readonly ReadOnlyMemory<byte> _data;
    private readonly CompoundFileLimits _limits;
    private readonly int _sectorSize;
    private readonly int _miniSectorSize;
    private readonly uint _miniCutoff;
    private readonly uint[] _fat;
    private readonly uint[] _miniFat;
    private readonly byte[] _miniStream;
    private readonly long _sectorCount;

    public CompoundEntry Root { get; }

    /// <summary>Does the data start like a compound file?</summary>
    public static bool IsCompoundFile(ReadOnlySpan<byte> data) => data.Length >= 512 && data.StartsWith(Signature);

    public static CompoundFile Open(ReadOnlyMemory<byte> data, CompoundFileLimits? limits = null) => new(data, limits ?? new CompoundFileLimits());

    private CompoundFile(ReadOnlyMemory<byte> data, CompoundFileLimits limits)
    {
        _data = data;
        _limits = limits;
        var h = data.Span;
        if (!IsCompoundFile(h)) throw new InvalidDataException("not a compound file (signature missing)");
        if (BinaryPrimitives.ReadUInt16LittleEndian(h[0x1C..]) != 0xFFFE) throw new InvalidDataException("bad byte order mark");
        int sectorShift = BinaryPrimitives.ReadUInt16LittleEndian(h[0x1E..]);
        int miniShift = BinaryPrimitives.ReadUInt16LittleEndian(h[0x20..]);
        if (sectorShift is not (9 or 12)) throw new InvalidDataException($"sector shift {sectorShift} is not 9 or 12");
        if (miniShift != 6) throw new InvalidDataException($"mini sector shift {miniShift} is not 6");
        _sectorSize = 1 << sectorShift;
        _miniSectorSize = 1 << miniShift;
        _miniCutoff = BinaryPrimitives.ReadUInt32LittleEndian(h[0x38..]);
        if (_miniCutoff != 4096) throw new InvalidDataException($"mini stream cutoff {_miniCutoff} is not 4096");
        _sectorCount = Math.Max(0, (data.Length - _sectorSize) / _sectorSize);
        uint fatSectors = BinaryPrimitives.ReadUInt32LittleEndian(h[0x2C..]);
        uint firstDir = BinaryPrimitives.ReadUInt32LittleEndian(h[0x30..]);
        uint firstMiniFat = BinaryPrimitives.ReadUInt32LittleEndian(h[0x3C..]);
        uint firstDifat = BinaryPrimitives.ReadUInt32LittleEndian(h[0x44..]);
        uint difatSectors = BinaryPrimitives.ReadUInt32LittleEndian(h[0x48..]);
        if (fatSectors > _sectorCount) throw new InvalidDataException($"{fatSectors} FAT sectors do not fit in the file");
        if (difatSectors > _sectorCount) throw new InvalidDataException($"{difatSectors} DIFAT sectors do not fit in the file");

        _fat = ReadFat(h, (int)fatSectors, firstDifat, (int)difatSectors);
        _miniFat = firstMiniFat >= MaxRegularSector ? [] : ToUInts(ReadChain(firstMiniFat, long.MaxValue, "mini FAT"));
        var directory = ReadChain(firstDir, long.MaxValue, "directory");
        Root = ReadDirectory(directory, out var rootStart, out var rootSize);
        _miniStream = rootStart >= MaxRegularSector || rootSize == 0 ? [] : ReadChain(rootStart, rootSize, "mini stream");
    }

    /// <summary>The FAT: the sector numbers listed in the header's 109 DIFAT slots and then in the DIFAT sectors.</summary>
    private uint[] ReadFat(ReadOnlySpan<byte> h, int fatSectors, uint firstDifat, int difatSectors)
    {
        var locations = new List<uint>(fatSectors);
        for (int i = 0; i < 109 && locations.Count < fatSectors; i++)
            locations.Add(BinaryPrimitives.ReadUInt32LittleEndian(h[(0x4C + i * 4)..]));
        var seen = new HashSet<uint>();
        uint next = firstDifat;
        int perSector = _sectorSize / 4 - 1;
        for (int n = 0; locations.Count < fatSectors; n++)
        {
            if (n >= difatSectors || next >= MaxRegularSector) throw new InvalidDataException("the DIFAT ends before all FAT sectors are listed");
            if (!seen.Add(next)) throw new InvalidDataException("the DIFAT chain loops");
            var sector = Sector(next);
            for (int i = 0; i < perSector && locations.Count < fatSectors; i++)
                locations.Add(BinaryPrimitives.ReadUInt32LittleEndian(sector[(i * 4)..]));
            next = BinaryPrimitives.ReadUInt32LittleEndian(sector[(perSector * 4)..]);
        }
        var fat = new uint[locations.Count * (_sectorSize / 4)];
        for (int s = 0; s < locations.Count; s++)
        {
            var sector = Sector(locations[s]);
            for (int i = 0; i < _sectorSize / 4; i++) fat[s * (_sectorSize / 4) + i] = BinaryPrimitives.ReadUInt32LittleEndian(sector[(i * 4)..]);
        }
        return fat;
    }

    private ReadOnlySpan<byte> Sector(uint index)
    {
        if (index >= _sectorCount) throw new InvalidDataException($"sector {index} is outside the file");
        return _data.Span.Slice((int)((index + 1L) * _sectorSize), _sectorSize);
    }

    /// <summary>Follows a chain of regular sectors and returns up to <paramref name="size"/> bytes of it.</summary>
    private byte[] ReadChain(uint start, long size, string what)
    {
        var output = new MemoryStream();
        long want = Math.Min(size, _limits.MaxStreamBytes);
        var seen = new HashSet<uint>();
        for (uint s = start; s != EndOfChain && output.Length < want;)
        {
            if (s >= MaxRegularSector || s == FreeSector) throw new InvalidDataException($"the {what} chain holds the special sector number 0x{s:X8}");
            if (!seen.Add(s)) throw new InvalidDataException($"the {what} chain loops at sector {s}");
            var sector = Sector(s);
            output.Write(sector[..(int)Math.Min(sector.Length, want - output.Length)]);
            s = s < _fat.Length ? _fat[s] : throw new InvalidDataException($"sector {s} has no FAT entry");
        }
        if (size != long.MaxValue && output.Length < want) throw new InvalidDataException($"the {what} chain is shorter than its size {size}");
        return output.ToArray();
    }

    /// <summary>Follows a chain of mini sectors in the mini stream.</summary>
    private byte[] ReadMiniChain(uint start, long size)
    {
        var output = new MemoryStream();
        var seen = new HashSet<uint>();
        for (uint s = start; s != EndOfChain && output.Length < size;)
        {
            if (s >= _miniFat.Length) throw new InvalidDataException($"mini sector {s} has no mini FAT entry");
            if (!seen.Add(s)) throw new InvalidDataException($"a mini stream chain loops at mini sector {s}");
            long offset = (long)s * _miniSectorSize;
            if (offset + _miniSectorSize > _miniStream.Length) throw new InvalidDataException($"mini sector {s} is outside the mini stream");
            output.Write(_miniStream, (int)offset, (int)Math.Min(_miniSectorSize, size - output.Length));
            s = _miniFat[s];
        }
        if (output.Length < size) throw new InvalidDataException($"a mini stream chain is shorter than its size {size}");
        return output.ToArray();
    }

    private static uint[] ToUInts(byte[] bytes)
    {
        var result = new uint[bytes.Length / 4];
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4));
        return result;
    }

    private readonly record struct RawEntry(string Name, byte Type, uint Left, uint Right, uint Child, uint Start, long Size);

    /// <summary>Reads the 128-byte directory entries and builds the tree from the root's red-black trees of children.</summary>
    private CompoundEntry ReadDirectory(byte[] directory, out uint rootStart, out long rootSize)
    {
        int count = Math.Min(directory.Length / 128, _limits.MaxEntries);
        if (count == 0) throw new InvalidDataException("the directory is empty");
        var raw = new RawEntry[count];
        for (int i = 0; i < count; i++)
        {
            var e = directory.AsSpan(i * 128, 128);
            int nameLength = Math.Clamp((int)BinaryPrimitives.ReadUInt16LittleEndian(e[0x40..]), 0, 64);
            var name = Encoding.Unicode.GetString(e[..(nameLength & ~1)]).TrimEnd('\0');
            long size = BinaryPrimitives.ReadInt64LittleEndian(e[0x78..]);
            if (_sectorSize == 512) size &= 0xFFFFFFFF;   // version 3 files may leave junk in the high half
            raw[i] = new RawEntry(name, e[0x42], BinaryPrimitives.ReadUInt32LittleEndian(e[0x44..]), BinaryPrimitives.ReadUInt32LittleEndian(e[0x48..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[0x4C..]), BinaryPrimitives.ReadUInt32LittleEndian(e[0x74..]), size);
        }
        if (raw[0].Type != 5) throw new InvalidDataException("the first directory entry is not the root storage");
        rootStart = raw[0].Start;
        rootSize = raw[0].Size;
        if (rootSize < 0) throw new InvalidDataException("the root entry has a negative size");
        var root = new CompoundEntry(raw[0].Name, true, raw[0].Start, 0);
        var used = new HashSet<uint> { 0 };
        var pending = new Stack<(CompoundEntry Parent, uint Child, int Depth)>();
        pending.Push((root, raw[0].Child, 1));
        while (pending.Count > 0)
        {
            var (parent, first, depth) = pending.Pop();
            if (first == NoStream) continue;
            if (depth > _limits.MaxDepth) throw new InvalidDataException($"storages nest deeper than {_limits.MaxDepth}");
            // The siblings of a storage form a tree (left/right); walk it without recursion.
            var siblings = new Stack<uint>();
            siblings.Push(first);
            while (siblings.Count > 0)
            {
                var id = siblings.Pop();
                if (id == NoStream) continue;
                if (id >= count) throw new InvalidDataException($"directory entry {id} does not exist");
                if (!used.Add(id)) throw new InvalidDataException($"directory entry {id} is reached twice");
                var r = raw[id];
                siblings.Push(r.Left);
                siblings.Push(r.Right);
                if (r.Type is not (1 or 2)) continue;
                if (r.Size < 0) throw new InvalidDataException($"stream '{r.Name}' has a negative size");
                var entry = new CompoundEntry(r.Name, r.Type == 1, r.Start, r.Type == 2 ? r.Size : 0);
                parent.Children.Add(entry);
                if (r.Type == 1) pending.Push((entry, r.Child, depth + 1));
            }
        }
        return root;
    }

    /// <summary>The bytes of a stream (cut to <see cref="CompoundFileLimits.MaxStreamBytes"/>).</summary>
    public byte[] Read(CompoundEntry stream)
    {
        if (stream.IsStorage) throw new ArgumentException("a storage has no content", nameof(stream));
        if (stream.Size == 0) return [];
        long size = Math.Min(stream.Size, _limits.MaxStreamBytes);
        return stream.Size < _miniCutoff ? ReadMiniChain(stream.Start, size) : ReadChain(stream.Start, size, $"stream '{stream.Name}'");
    }
}
