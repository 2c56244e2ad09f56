using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Assp.Dns;

/// <summary>
/// Parses DNS messages from untrusted bytes. Every read is bounds-checked; bad input yields a
/// <see cref="DnsParseError"/>, never an exception. Compression pointers must point strictly backwards, which
/// makes loops impossible, and names are limited to 255 wire bytes.
/// </summary>
public static class DnsMessageReader
{
    private const int HeaderSize = 12;
    /// <summary>More records than fit in a 64 KiB message is a lie in the header.</summary>
    private const int MaxRecordsPerSection = 4096;

    public static DnsParseError TryParse(ReadOnlySpan<byte> data, out DnsMessage? message)
    {
        message = null;
        if (data.Length < HeaderSize) return DnsParseError.TooShort;
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(data);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        int qd = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        int an = BinaryPrimitives.ReadUInt16BigEndian(data[6..]);
        int ns = BinaryPrimitives.ReadUInt16BigEndian(data[8..]);
        if (an > MaxRecordsPerSection || ns > MaxRecordsPerSection) return DnsParseError.TooManyRecords;
        int pos = HeaderSize;

        string qname = "";
        DnsRecordType qtype = 0;
        ushort qclass = 0;
        // Responses carry at most one question; more is skipped but only the first is kept.
        for (int i = 0; i < qd; i++)
        {
            var err = ReadName(data, ref pos, out var name);
            if (err != DnsParseError.None) return err;
            if (pos + 4 > data.Length) return DnsParseError.TooShort;
            if (i == 0)
            {
                qname = name;
                qtype = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
                qclass = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 2)..]);
            }
            pos += 4;
        }

        var answers = new List<DnsRecord>(Math.Min(an, 32));
        for (int i = 0; i < an; i++)
        {
            var err = ReadRecord(data, ref pos, out var rr);
            if (err != DnsParseError.None) return err;
            if (rr is not null) answers.Add(rr);
        }
        var authority = new List<DnsRecord>(Math.Min(ns, 8));
        for (int i = 0; i < ns; i++)
        {
            var err = ReadRecord(data, ref pos, out var rr);
            if (err != DnsParseError.None) return err;
            if (rr is not null) authority.Add(rr);
        }

        message = new DnsMessage
        {
            Id = id, Flags = flags, QuestionCount = qd, QuestionName = qname, QuestionType = qtype, QuestionClass = qclass,
            Answers = answers, Authority = authority,
        };
        return DnsParseError.None;
    }

    /// <summary>Reads one record; records of a class other than IN come back as null (skipped, not an error).</summary>
    private static DnsParseError ReadRecord(ReadOnlySpan<byte> data, ref int pos, out DnsRecord? record)
    {
        record = null;
        var err = ReadName(data, ref pos, out var name);
        if (err != DnsParseError.None) return err;
        if (pos + 10 > data.Length) return DnsParseError.RecordOverrun;
        var type = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
        ushort cls = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 2)..]);
        uint ttl = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 4)..]);
        // RFC 2181 8: a TTL with the top bit set is read as zero.
        if (ttl > int.MaxValue) ttl = 0;
        int rdlen = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 8)..]);
        pos += 10;
        int rdStart = pos, rdEnd = pos + rdlen;
        if (rdEnd > data.Length) return DnsParseError.RecordOverrun;
        pos = rdEnd;
        if (cls != 1) return DnsParseError.None;

        var rd = data[rdStart..rdEnd];
        int p = rdStart;
        switch (type)
        {
            case DnsRecordType.A:
                if (rdlen != 4) return DnsParseError.BadRdata;
                record = new ARecord(name, ttl, new IPAddress(rd));
                return DnsParseError.None;
            case DnsRecordType.AAAA:
                if (rdlen != 16) return DnsParseError.BadRdata;
                record = new AaaaRecord(name, ttl, new IPAddress(rd));
                return DnsParseError.None;
            case DnsRecordType.CNAME or DnsRecordType.NS or DnsRecordType.PTR:
            {
                err = ReadNameIn(data, ref p, rdEnd, out var target);
                if (err != DnsParseError.None) return err;
                record = type switch
                {
                    DnsRecordType.CNAME => new CnameRecord(name, ttl, target),
                    DnsRecordType.NS => new NsRecord(name, ttl, target),
                    _ => new PtrRecord(name, ttl, target),
                };
                return DnsParseError.None;
            }
            case DnsRecordType.MX:
            {
                if (rdlen < 3) return DnsParseError.BadRdata;
                ushort pref = BinaryPrimitives.ReadUInt16BigEndian(rd);
                p += 2;
                err = ReadNameIn(data, ref p, rdEnd, out var exchange);
                if (err != DnsParseError.None) return err;
                record = new MxRecord(name, ttl, pref, exchange);
                return DnsParseError.None;
            }
            case DnsRecordType.SRV:
            {
                if (rdlen < 7) return DnsParseError.BadRdata;
                ushort prio = BinaryPrimitives.ReadUInt16BigEndian(rd);
                ushort weight = BinaryPrimitives.ReadUInt16BigEndian(rd[2..]);
                ushort port = BinaryPrimitives.ReadUInt16BigEndian(rd[4..]);
                p += 6;
                err = ReadNameIn(data, ref p, rdEnd, out var target);
                if (err != DnsParseError.None) return err;
                record = new SrvRecord(name, ttl, prio, weight, port, target);
                return DnsParseError.None;
            }
            case DnsRecordType.TXT:
            {
                var strings = new List<string>(1);
                int i = 0;
                while (i < rd.Length)
                {
                    int len = rd[i++];
                    if (i + len > rd.Length) return DnsParseError.BadRdata;
                    // Latin-1 keeps every byte as one char, so nothing is lost for callers that need bytes.
                    strings.Add(Encoding.Latin1.GetString(rd.Slice(i, len)));
                    i += len;
                }
                record = new TxtRecord(name, ttl, strings);
                return DnsParseError.None;
            }
            case DnsRecordType.SOA:
            {
                err = ReadNameIn(data, ref p, rdEnd, out var mname);
                if (err != DnsParseError.None) return err;
                err = ReadNameIn(data, ref p, rdEnd, out var rname);
                if (err != DnsParseError.None) return err;
                if (p + 20 != rdEnd) return DnsParseError.BadRdata;
                var f = data[p..rdEnd];
                record = new SoaRecord(name, ttl, mname, rname,
                    BinaryPrimitives.ReadUInt32BigEndian(f), BinaryPrimitives.ReadUInt32BigEndian(f[4..]),
                    BinaryPrimitives.ReadUInt32BigEndian(f[8..]), BinaryPrimitives.ReadUInt32BigEndian(f[12..]),
                    BinaryPrimitives.ReadUInt32BigEndian(f[16..]));
                return DnsParseError.None;
            }
            default:
                record = new UnknownRecord(name, type, ttl, rd.ToArray());
                return DnsParseError.None;
        }
    }

    /// <summary>A name inside RDATA: it must end inside the record (pointers may reach back anywhere).</summary>
    private static DnsParseError ReadNameIn(ReadOnlySpan<byte> data, ref int pos, int end, out string name)
    {
        var err = ReadName(data[..end], ref pos, out name);
        return err;
    }

    /// <summary>
    /// Reads a possibly compressed name at <paramref name="pos"/> and moves <paramref name="pos"/> past it.
    /// Bytes outside printable ASCII, dots and backslashes inside labels are written as \DDD (RFC 1035 5.1).
    /// </summary>
    internal static DnsParseError ReadName(ReadOnlySpan<byte> data, ref int pos, out string name)
    {
        name = "";
        Span<char> buf = stackalloc char[DnsName.MaxLength * 4];
        int len = 0;
        int wire = 0;
        int cur = pos;
        int end = -1; // where the caller continues: after the first pointer or the final zero
        int limit = cur; // a pointer must point below the position where this hop began
        while (true)
        {
            if (cur >= data.Length) return DnsParseError.TooShort;
            byte b = data[cur];
            if (b == 0)
            {
                if (end < 0) end = cur + 1;
                wire += 1;
                break;
            }
            switch (b & 0xC0)
            {
                case 0xC0:
                {
                    if (cur + 1 >= data.Length) return DnsParseError.TooShort;
                    int target = ((b & 0x3F) << 8) | data[cur + 1];
                    if (target >= limit) return DnsParseError.PointerLoop;
                    if (end < 0) end = cur + 2;
                    cur = target;
                    limit = target;
                    continue;
                }
                case 0x00:
                    break;
                default:
                    return DnsParseError.BadLabel; // 0x40/0x80: extended label types are obsolete
            }
            int labelLen = b;
            if (cur + 1 + labelLen > data.Length) return DnsParseError.TooShort;
            wire += labelLen + 1;
            if (wire > DnsName.MaxLength - 1) return DnsParseError.NameTooLong;
            if (len > 0) buf[len++] = '.';
            foreach (byte c in data.Slice(cur + 1, labelLen))
            {
                if (c > 0x20 && c < 0x7F && c != '.' && c != '\\')
                {
                    buf[len++] = (char)c;
                }
                else
                {
                    buf[len++] = '\\';
                    buf[len++] = (char)('0' + c / 100);
                    buf[len++] = (char)('0' + c / 10 % 10);
                    buf[len++] = (char)('0' + c % 10);
                }
            }
            cur += 1 + labelLen;
        }
        pos = end;
        name = len == 0 ? "" : new string(buf[..len]);
        return DnsParseError.None;
    }
}
