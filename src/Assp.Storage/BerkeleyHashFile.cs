using System.Buffers.Binary;
using System.Text;

namespace Assp.Storage;

/// <summary>
/// Reads the key/value pairs of a Berkeley DB hash database (DB_HASH, the format Perl's DB_File and the
/// pop-before-smtp daemons write with libdb 4.x/5.x) without libdb: every hash page of the file is walked and its
/// pairs are taken, following overflow pages for long items. Byte order is told by the magic number. Old DB 1.85
/// files and databases with duplicates are refused with a clear message.
/// </summary>
public static class BerkeleyHashFile
{
    private const uint HashMagic = 0x061561;
    private const int PageHeaderSize = 26;
    private const byte PageHashUnsorted = 2, PageOverflow = 7, PageHash = 13;
    private const byte ItemKeyData = 1, ItemOffPage = 3;

    /// <exception cref="InvalidDataException">the file is not a Berkeley DB hash database this reader understands</exception>
    public static Dictionary<string, string> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return Read(bytes);
    }

    /// <exception cref="InvalidDataException">the data is not a Berkeley DB hash database this reader understands</exception>
    public static Dictionary<string, string> Read(byte[] file)
    {
        if (file.Length < 512) throw new InvalidDataException("too short for a Berkeley DB file");
        bool little;
        if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12)) == HashMagic) little = true;
        else if (BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(12)) == HashMagic) little = false;
        else if (BinaryPrimitives.ReadUInt32LittleEndian(file) == HashMagic || BinaryPrimitives.ReadUInt32BigEndian(file) == HashMagic)
            throw new InvalidDataException("a DB 1.85 hash file; rebuild it with libdb 4 or 5 (db_dump185 | db_load)");
        else throw new InvalidDataException("not a Berkeley DB hash database (no hash magic number)");

        uint U32(int at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at));
        ushort U16(int at) => little ? BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(at));

        uint version = U32(16);
        if (version is < 8 or > 10) throw new InvalidDataException($"Berkeley DB hash version {version} is not supported (4.x/5.x files are)");
        int pageSize = (int)U32(20);
        if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) != 0) throw new InvalidDataException($"invalid page size {pageSize}");
        if (file[24] != 0) throw new InvalidDataException("the database is encrypted");

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        int pages = file.Length / pageSize;
        for (int p = 1; p < pages; p++)
        {
            int page = p * pageSize;
            byte type = file[page + 25];
            if (type is not (PageHash or PageHashUnsorted)) continue;
            int entries = U16(page + 20);
            if (PageHeaderSize + entries * 2 > pageSize) throw new InvalidDataException($"page {p}: {entries} entries do not fit");
            for (int i = 0; i + 1 < entries; i += 2)
            {
                var key = Item(page, i);
                var value = Item(page, i + 1);
                result[key] = value;
            }

            string Item(int pageStart, int index)
            {
                int offset = U16(pageStart + PageHeaderSize + index * 2);
                int end = index == 0 ? pageSize : U16(pageStart + PageHeaderSize + (index - 1) * 2);
                if (offset < PageHeaderSize || end > pageSize || end <= offset) throw new InvalidDataException($"page {pageStart / pageSize}: item {index} is out of the page");
                int at = pageStart + offset;
                switch (file[at])
                {
                    case ItemKeyData:
                        return Latin1(file.AsSpan(at + 1, end - offset - 1));
                    case ItemOffPage:
                        return Latin1(Overflow((int)U32(at + 4), (int)U32(at + 8)));
                    default:
                        throw new InvalidDataException($"page {pageStart / pageSize}: item type {file[at]} (duplicates) is not supported");
                }
            }
        }
        return result;

        byte[] Overflow(int pgno, int length)
        {
            var data = new byte[length];
            int filled = 0, guard = 0;
            while (filled < length && pgno != 0 && guard++ < pages)
            {
                int page = pgno * pageSize;
                if (page + pageSize > file.Length || file[page + 25] != PageOverflow) throw new InvalidDataException($"overflow page {pgno} is missing");
                int n = Math.Min(U16(page + 22), Math.Min(length - filled, pageSize - PageHeaderSize));
                file.AsSpan(page + PageHeaderSize, n).CopyTo(data.AsSpan(filled));
                filled += n;
                pgno = (int)U32(page + 16);
            }
            if (filled < length) throw new InvalidDataException("an overflow item is cut short");
            return data;
        }
    }

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
