using System.Buffers.Binary;

namespace Assp.Dns;

/// <summary>Builds query packets.</summary>
public static class DnsMessageWriter
{
    /// <summary>Largest query: header, a 255-byte name, type/class and an OPT record.</summary>
    public const int MaxQuerySize = 12 + 256 + 4 + 11;

    /// <summary>
    /// Writes a recursive query for <paramref name="name"/> (already normalised by <see cref="DnsName.TryNormalize"/>).
    /// With <paramref name="ednsUdpSize"/> > 0 an OPT record (RFC 6891) announces that UDP payload size.
    /// Returns the length written, or -1 if the name cannot be encoded or the buffer is too small.
    /// </summary>
    public static int WriteQuery(Span<byte> buffer, ushort id, string name, DnsRecordType type, int ednsUdpSize)
    {
        if (buffer.Length < MaxQuerySize) return -1;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, id);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], 0x0100); // RD
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[8..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[10..], (ushort)(ednsUdpSize > 0 ? 1 : 0));
        int pos = 12;
        int n = WriteName(buffer[pos..], name);
        if (n < 0) return -1;
        pos += n;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[pos..], (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(pos + 2)..], 1);
        pos += 4;
        if (ednsUdpSize > 0)
        {
            buffer[pos] = 0; // root owner
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(pos + 1)..], (ushort)DnsRecordType.OPT);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(pos + 3)..], (ushort)Math.Clamp(ednsUdpSize, 512, 65535));
            BinaryPrimitives.WriteUInt32BigEndian(buffer[(pos + 5)..], 0); // extended rcode, version 0, no DO bit
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(pos + 9)..], 0);
            pos += 11;
        }
        return pos;
    }

    /// <summary>Uncompressed wire form of a dotted name; -1 when a label is empty or too long.</summary>
    internal static int WriteName(Span<byte> buffer, string name)
    {
        int pos = 0;
        if (name.Length == 0 || name == ".")
        {
            buffer[0] = 0;
            return 1;
        }
        int start = 0;
        while (start <= name.Length)
        {
            int dot = name.IndexOf('.', start);
            int end = dot < 0 ? name.Length : dot;
            int len = end - start;
            if (len == 0)
            {
                if (dot < 0 && start == name.Length && start > 0) break; // one trailing dot
                return -1;
            }
            if (len > DnsName.MaxLabel || pos + len + 2 > DnsName.MaxLength) return -1;
            buffer[pos++] = (byte)len;
            for (int i = start; i < end; i++)
            {
                char c = name[i];
                if (c > 0x7F) return -1;
                buffer[pos++] = (byte)c;
            }
            if (dot < 0) break;
            start = dot + 1;
        }
        buffer[pos++] = 0;
        return pos;
    }
}
