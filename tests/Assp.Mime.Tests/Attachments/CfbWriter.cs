using System.Buffers.Binary;
using System.Text;

namespace Assp.Mime.Tests.Attachments;

/// <summary>
/// A small writer of version 3 compound files (MS-CFB) for tests: storages and streams, streams under 4096 bytes in
/// the mini stream, the rest in regular sectors; up to 109 FAT sectors. Also builds Outlook .msg files (MS-OXMSG)
/// from a subject, a body and attachments.
/// </summary>
public static class CfbWriter
{
    public sealed class Node
    {
        public required string Name { get; init; }
        public byte[]? Data { get; init; }
        public List<Node> Children { get; } = [];
        public bool IsStorage => Data is null;
    }

    public static Node Storage(string name, params Node[] children)
    {
        var n = new Node { Name = name };
        n.Children.AddRange(children);
        return n;
    }

    public static Node Stream(string name, byte[] data) => new() { Name = name, Data = data };

    private const int SectorSize = 512;
    private const uint EndOfChain = 0xFFFFFFFE, FreeSect = 0xFFFFFFFF, FatSect = 0xFFFFFFFD, NoStream = 0xFFFFFFFF;

    public static byte[] Write(Node root)
    {
        // Directory order: depth first; each storage's children are chained through their right sibling.
        var entries = new List<(Node Node, uint Left, uint Right, uint Child)>();
        var index = new Dictionary<Node, int>();
        void Add(Node n)
        {
            index[n] = entries.Count;
            entries.Add((n, NoStream, NoStream, NoStream));
            foreach (var c in n.Children) Add(c);
        }
        Add(root);
        for (int i = 0; i < entries.Count; i++)
        {
            var n = entries[i].Node;
            if (n.Children.Count == 0) continue;
            entries[i] = entries[i] with { Child = (uint)index[n.Children[0]] };
            for (int k = 0; k + 1 < n.Children.Count; k++)
                entries[index[n.Children[k]]] = entries[index[n.Children[k]]] with { Right = (uint)index[n.Children[k + 1]] };
        }

        // Mini stream for small streams, regular sectors for big ones.
        var mini = new MemoryStream();
        var miniFat = new List<uint>();
        var starts = new Dictionary<Node, uint>();
        var big = new List<Node>();
        foreach (var (n, _, _, _) in entries.Skip(1))
        {
            if (n.Data is not { } d) continue;
            if (d.Length == 0) { starts[n] = EndOfChain; continue; }
            if (d.Length >= 4096) { big.Add(n); continue; }
            uint first = (uint)miniFat.Count;
            int count = (d.Length + 63) / 64;
            for (int k = 0; k < count; k++) miniFat.Add(k + 1 < count ? first + (uint)k + 1 : EndOfChain);
            mini.Write(d);
            mini.Write(new byte[count * 64 - d.Length]);
            starts[n] = first;
        }

        var sectors = new List<byte[]>();
        var fat = new List<uint>();
        uint Chain(byte[] data)
        {
            if (data.Length == 0) return EndOfChain;
            uint first = (uint)sectors.Count;
            int count = (data.Length + SectorSize - 1) / SectorSize;
            for (int k = 0; k < count; k++)
            {
                var s = new byte[SectorSize];
                data.AsSpan(k * SectorSize, Math.Min(SectorSize, data.Length - k * SectorSize)).CopyTo(s);
                sectors.Add(s);
                fat.Add(k + 1 < count ? first + (uint)k + 1 : EndOfChain);
            }
            return first;
        }
        foreach (var n in big) starts[n] = Chain(n.Data!);
        uint miniStreamStart = Chain(mini.ToArray());
        var miniFatBytes = new byte[miniFat.Count * 4];
        for (int k = 0; k < miniFat.Count; k++) BinaryPrimitives.WriteUInt32LittleEndian(miniFatBytes.AsSpan(k * 4), miniFat[k]);
        uint miniFatStart = Chain(miniFatBytes);

        var dir = new byte[(entries.Count + 3) / 4 * 4 * 128];
        for (int i = 0; i < entries.Count; i++)
        {
            var (n, left, right, child) = entries[i];
            var e = dir.AsSpan(i * 128, 128);
            var name = Encoding.Unicode.GetBytes(n.Name);
            name.AsSpan(0, Math.Min(62, name.Length)).CopyTo(e);
            BinaryPrimitives.WriteUInt16LittleEndian(e[0x40..], (ushort)(Math.Min(62, name.Length) + 2));
            e[0x42] = (byte)(i == 0 ? 5 : n.IsStorage ? 1 : 2);
            e[0x43] = 1;
            BinaryPrimitives.WriteUInt32LittleEndian(e[0x44..], left);
            BinaryPrimitives.WriteUInt32LittleEndian(e[0x48..], right);
            BinaryPrimitives.WriteUInt32LittleEndian(e[0x4C..], child);
            uint start = i == 0 ? (mini.Length > 0 ? miniStreamStart : EndOfChain) : n.IsStorage ? 0 : starts[n];
            long size = i == 0 ? mini.Length : n.Data?.Length ?? 0;
            BinaryPrimitives.WriteUInt32LittleEndian(e[0x74..], start);
            BinaryPrimitives.WriteInt64LittleEndian(e[0x78..], size);
        }
        for (int i = entries.Count; i < dir.Length / 128; i++)
        {
            var e = dir.AsSpan(i * 128, 128);
            BinaryPrimitives.WriteUInt32LittleEndian(e[0x44..], NoStream);
            BinaryPrimitives.WriteUInt32LittleEndian(e[0x48..], NoStream);
            BinaryPrimitives.WriteUInt32LittleEndian(e[0x4C..], NoStream);
        }
        uint dirStart = Chain(dir);

        // The FAT covers every sector, its own included.
        int fatSectors = 1;
        while ((sectors.Count + fatSectors) > fatSectors * (SectorSize / 4)) fatSectors++;
        uint fatStart = (uint)sectors.Count;
        for (int k = 0; k < fatSectors; k++) fat.Add(FatSect);
        var fatBytes = new byte[fatSectors * SectorSize];
        for (int k = 0; k < fatBytes.Length / 4; k++)
            BinaryPrimitives.WriteUInt32LittleEndian(fatBytes.AsSpan(k * 4), k < fat.Count ? fat[k] : FreeSect);
        for (int k = 0; k < fatSectors; k++) sectors.Add(fatBytes[(k * SectorSize)..((k + 1) * SectorSize)]);

        var header = new byte[SectorSize];
        new byte[] { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 }.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(0x18), 0x3E);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(0x1A), 3);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(0x1C), 0xFFFE);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(0x1E), 9);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(0x20), 6);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x2C), (uint)fatSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x30), dirStart);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x38), 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x3C), miniFat.Count > 0 ? miniFatStart : EndOfChain);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x40), (uint)((miniFatBytes.Length + SectorSize - 1) / SectorSize));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x44), EndOfChain);
        for (int k = 0; k < 109; k++)
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x4C + k * 4), k < fatSectors ? fatStart + (uint)k : FreeSect);

        var output = new MemoryStream();
        output.Write(header);
        foreach (var s in sectors) output.Write(s);
        return output.ToArray();
    }

    private static Node Unicode(int property, string value) => Stream($"__substg1.0_{property:X4}001F", Encoding.Unicode.GetBytes(value));

    /// <summary>An Outlook message storage's children: subject, body and attachments (files, or nested messages).</summary>
    public static Node[] MessageNodes(string subject, string body, params (string Name, byte[]? Data, Node[]? Message)[] attachments)
    {
        var nodes = new List<Node> { Unicode(0x0037, subject), Unicode(0x1000, body), Stream("__properties_version1.0", new byte[32]) };
        for (int i = 0; i < attachments.Length; i++)
        {
            var (name, data, message) = attachments[i];
            var att = Storage($"__attach_version1.0_#{i:X8}", Unicode(0x3707, name), Unicode(0x3704, name.Length > 12 ? name[..12] : name),
                Stream("__properties_version1.0", new byte[16]));
            if (message is not null) att.Children.Add(Storage("__substg1.0_3701000D", message));
            else att.Children.Add(Stream("__substg1.0_37010102", data ?? []));
            nodes.Add(att);
        }
        return [.. nodes];
    }

    /// <summary>A whole .msg file.</summary>
    public static byte[] Msg(string subject, string body, params (string Name, byte[]? Data, Node[]? Message)[] attachments) =>
        Write(Storage("Root Entry", MessageNodes(subject, body, attachments)));
}
