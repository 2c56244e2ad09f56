using System.Buffers.Binary;
using System.Text;

namespace Assp.Mime.Attachments;

/// <summary>One attachment found in a TNEF (winmail.dat, application/ms-tnef) stream.</summary>
public sealed class TnefAttachment
{
    private byte[]? _data;

    /// <summary>The short (8.3) title from attAttachTitle.</summary>
    public string? Title { get; internal set; }

    /// <summary>PR_ATTACH_LONG_FILENAME from the attachment's MAPI properties.</summary>
    public string? LongFileName { get; internal set; }

    /// <summary>PR_ATTACH_FILENAME (short file name) from the MAPI properties.</summary>
    public string? ShortFileName { get; internal set; }

    /// <summary>PR_DISPLAY_NAME from the MAPI properties.</summary>
    public string? DisplayName { get; internal set; }

    /// <summary>PR_ATTACH_MIME_TAG, when given.</summary>
    public string? MimeType { get; internal set; }

    /// <summary>PR_ATTACH_METHOD (1 by value, 5 embedded message, 6 OLE), when given.</summary>
    public int? AttachMethod { get; internal set; }

    /// <summary>The best file name: long name, then short name, then title, then display name ("" when none).</summary>
    public string FileName => LongFileName ?? ShortFileName ?? Title ?? DisplayName ?? "";

    /// <summary>Size of the attachment data in bytes (as far as it was present).</summary>
    public long Size => _data?.Length ?? DeclaredSize ?? 0;

    /// <summary>Declared length of the data attribute, when it was cut off or not kept.</summary>
    public long? DeclaredSize { get; internal set; }

    /// <summary>The data was cut off (truncated stream) or not kept (size limit).</summary>
    public bool DataTruncated { get; internal set; }

    /// <summary>True when data bytes are available.</summary>
    public bool HasData => _data is not null;

    /// <summary>For embedded messages (PT_OBJECT data holding TNEF): the parsed inner message.</summary>
    public TnefMessage? EmbeddedMessage { get; internal set; }

    /// <summary>Opens the attachment data (empty when none). Each call returns a new read-only stream.</summary>
    public Stream OpenData() => new MemoryStream(_data ?? [], writable: false);

    /// <summary>The attachment data as memory (empty when none); no copy is made.</summary>
    public ReadOnlyMemory<byte> OpenDataMemory() => _data ?? ReadOnlyMemory<byte>.Empty;

    internal byte[]? Data => _data;

    internal void SetData(byte[] data, bool fromMapi)
    {
        // attAttachData wins; PR_ATTACH_DATA_BIN is used when attAttachData is missing.
        if (_data is null || !fromMapi) _data = data;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{FileName} ({Size} bytes)";
}

/// <summary>The content of a TNEF stream: message properties, body and attachments.</summary>
public sealed class TnefMessage
{
    internal readonly List<TnefAttachment> AttachmentList = [];
    internal readonly List<string> NoteList = [];

    /// <summary>True when the stream starts with the TNEF signature 0x223E9F78.</summary>
    public bool IsTnef { get; internal set; }

    /// <summary>The legacy key following the signature.</summary>
    public int LegacyKey { get; internal set; }

    /// <summary>The attachments, in stream order.</summary>
    public IReadOnlyList<TnefAttachment> Attachments => AttachmentList;

    /// <summary>attSubject or PR_SUBJECT.</summary>
    public string? Subject { get; internal set; }

    /// <summary>attMessageClass or PR_MESSAGE_CLASS (e.g. "IPM.Note").</summary>
    public string? MessageClass { get; internal set; }

    /// <summary>Plain text body (attBody or PR_BODY).</summary>
    public string? Body { get; internal set; }

    /// <summary>HTML body (PR_BODY_HTML / PR_HTML).</summary>
    public string? HtmlBody { get; internal set; }

    /// <summary>PR_RTF_COMPRESSED bytes as stored (see <see cref="Rtf"/> for the decompressed body).</summary>
    public byte[]? CompressedRtf { get; internal set; }

    /// <summary>The RTF body decompressed from <see cref="CompressedRtf"/> (with its CRC check), or null when
    /// there is none or it has no compressed-RTF header.</summary>
    public CompressedRtfResult? Rtf { get; internal set; }

    /// <summary>The OEM code page (attOemCodepage), used for 8-bit strings.</summary>
    public int? CodePage { get; internal set; }

    /// <summary>The stream ended inside an attribute.</summary>
    public bool Truncated { get; internal set; }

    /// <summary>Attributes whose checksum did not match (they are still used).</summary>
    public int ChecksumErrors { get; internal set; }

    /// <summary>Notes on problems met while reading.</summary>
    public IReadOnlyList<string> Notes => NoteList;

    /// <summary>All attachments of this message and of embedded messages, depth first.</summary>
    public IEnumerable<TnefAttachment> AllAttachments()
    {
        foreach (var a in AttachmentList)
        {
            yield return a;
            if (a.EmbeddedMessage is { } m)
                foreach (var inner in m.AllAttachments()) yield return inner;
        }
    }
}

/// <summary>Limits for <see cref="TnefReader"/>.</summary>
public sealed record TnefReadOptions
{
    /// <summary>Default limits.</summary>
    public static TnefReadOptions Default { get; } = new();

    /// <summary>The stream is read up to this many bytes; the rest is treated as truncation.</summary>
    public long MaxInputBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Whether attachment data is kept (for <see cref="TnefAttachment.OpenData"/>).</summary>
    public bool KeepData { get; init; } = true;

    /// <summary>Most attachments listed.</summary>
    public int MaxAttachments { get; init; } = 1000;

    /// <summary>Most levels of embedded messages parsed.</summary>
    public int MaxDepth { get; init; } = 3;

    /// <summary>Largest decompressed RTF body; the rest is cut (and noted).</summary>
    public int MaxRtfBytes { get; init; } = 16 * 1024 * 1024;
}

/// <summary>Reads Microsoft TNEF streams (winmail.dat). Never throws on damaged input.</summary>
public static class TnefReader
{
    /// <summary>The TNEF signature, little-endian at offset 0.</summary>
    public const uint Signature = 0x223E9F78;

    private const int LvlMessage = 1;
    private const int LvlAttachment = 2;

    // Attribute IDs (low 16 bits of the attribute tag).
    private const int AttSubject = 0x8004;
    private const int AttMessageClass = 0x8008;
    private const int AttBody = 0x800C;
    private const int AttAttachData = 0x800F;
    private const int AttAttachTitle = 0x8010;
    private const int AttAttachRendData = 0x9002;
    private const int AttMsgProps = 0x9003;
    private const int AttAttachment = 0x9005;
    private const int AttOemCodepage = 0x9007;

    // MAPI property types.
    private const int PtShort = 0x0002, PtLong = 0x0003, PtFloat = 0x0004, PtDouble = 0x0005, PtCurrency = 0x0006,
        PtAppTime = 0x0007, PtError = 0x000A, PtBoolean = 0x000B, PtObject = 0x000D, PtI8 = 0x0014, PtString8 = 0x001E,
        PtUnicode = 0x001F, PtSysTime = 0x0040, PtClsid = 0x0048, PtBinary = 0x0102, PtNull = 0x0001, MvFlag = 0x1000;

    // MAPI property IDs.
    private const int PrSubject = 0x0037, PrMessageClass = 0x001A, PrBody = 0x1000, PrRtfCompressed = 0x1009,
        PrBodyHtml = 0x1013, PrDisplayName = 0x3001, PrAttachDataBin = 0x3701, PrAttachFilename = 0x3704,
        PrAttachMethod = 0x3705, PrAttachLongFilename = 0x3707, PrAttachMimeTag = 0x370E;

    /// <summary>True when <paramref name="head"/> starts with the TNEF signature.</summary>
    public static bool IsTnef(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == Signature;

    /// <summary>Reads a TNEF stream and lists its attachments and body. Never throws on damaged input.</summary>
    public static TnefMessage List(Stream winmailDat, TnefReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(winmailDat);
        var o = options ?? TnefReadOptions.Default;
        byte[] bytes;
        bool cut = false;
        try
        {
            using var ms = new MemoryStream();
            var buf = new byte[81920];
            while (true)
            {
                int want = (int)Math.Min(buf.Length, o.MaxInputBytes - ms.Length);
                if (want <= 0) { cut = winmailDat.Read(buf, 0, 1) > 0; break; }
                int r = winmailDat.Read(buf, 0, want);
                if (r <= 0) break;
                ms.Write(buf, 0, r);
            }
            bytes = ms.ToArray();
        }
        catch (Exception ex) when (ex is IOException or NotSupportedException or ObjectDisposedException or InvalidDataException)
        {
            var m = new TnefMessage();
            m.NoteList.Add("read error: " + ex.Message);
            return m;
        }
        var msg = Parse(bytes, o, 0);
        if (cut)
        {
            msg.Truncated = true;
            msg.NoteList.Add($"input longer than {o.MaxInputBytes} bytes; the rest was not read");
        }
        return msg;
    }

    /// <summary>Reads TNEF from bytes.</summary>
    public static TnefMessage List(ReadOnlySpan<byte> winmailDat, TnefReadOptions? options = null) =>
        Parse(winmailDat, options ?? TnefReadOptions.Default, 0);

    private static TnefMessage Parse(ReadOnlySpan<byte> b, TnefReadOptions o, int depth)
    {
        var msg = new TnefMessage();
        if (!IsTnef(b))
        {
            msg.NoteList.Add("no TNEF signature");
            return msg;
        }
        msg.IsTnef = true;
        if (b.Length < 6)
        {
            msg.Truncated = true;
            msg.NoteList.Add("truncated after the signature");
            return msg;
        }
        msg.LegacyKey = BinaryPrimitives.ReadUInt16LittleEndian(b[4..]);
        int p = 6;
        TnefAttachment? current = null;
        while (p < b.Length)
        {
            if (p + 9 > b.Length)
            {
                msg.Truncated = true;
                msg.NoteList.Add($"truncated attribute header at offset {p}");
                break;
            }
            int level = b[p];
            uint tag = BinaryPrimitives.ReadUInt32LittleEndian(b[(p + 1)..]);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(b[(p + 5)..]);
            int id = (int)(tag & 0xFFFF);
            int dataStart = p + 9;
            bool truncated = (long)dataStart + len > b.Length;
            var data = truncated ? b[dataStart..] : b.Slice(dataStart, (int)len);
            if (!truncated && dataStart + (int)len + 2 <= b.Length)
            {
                int stored = BinaryPrimitives.ReadUInt16LittleEndian(b[(dataStart + (int)len)..]);
                int sum = 0;
                foreach (byte x in data) sum += x;
                if ((sum & 0xFFFF) != stored) msg.ChecksumErrors++;
            }
            if (level is not (LvlMessage or LvlAttachment))
            {
                msg.NoteList.Add($"bad attribute level {level} at offset {p}; stopped");
                break;
            }

            if (level == LvlAttachment && id == AttAttachRendData)
            {
                if (msg.AttachmentList.Count >= o.MaxAttachments)
                {
                    msg.NoteList.Add($"more than {o.MaxAttachments} attachments; stopped");
                    break;
                }
                current = new TnefAttachment();
                msg.AttachmentList.Add(current);
            }
            else if (level == LvlAttachment)
            {
                if (current is null)
                {
                    // Some writers omit attAttachRendData before the first attachment attribute.
                    current = new TnefAttachment();
                    msg.AttachmentList.Add(current);
                }
                switch (id)
                {
                    case AttAttachTitle:
                        current.Title = Clean(DecodeString8(data, msg.CodePage));
                        break;
                    case AttAttachData:
                        if (truncated) { current.DataTruncated = true; current.DeclaredSize = len; }
                        if (o.KeepData) current.SetData(data.ToArray(), fromMapi: false);
                        else current.DeclaredSize = len;
                        break;
                    case AttAttachment:
                        ReadProps(data, msg, current, o, depth);
                        break;
                }
            }
            else
            {
                switch (id)
                {
                    case AttSubject: msg.Subject ??= Clean(DecodeString8(data, msg.CodePage)); break;
                    case AttMessageClass: msg.MessageClass ??= Clean(DecodeString8(data, msg.CodePage)); break;
                    case AttBody: msg.Body ??= DecodeString8(data, msg.CodePage).TrimEnd('\0'); break;
                    case AttOemCodepage:
                        if (data.Length >= 4) msg.CodePage = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                        break;
                    case AttMsgProps: ReadProps(data, msg, null, o, depth); break;
                }
            }
            if (truncated)
            {
                msg.Truncated = true;
                msg.NoteList.Add($"attribute 0x{tag:X8} at offset {p} declares {len} bytes; only {data.Length} present");
                break;
            }
            p = dataStart + (int)len + 2;
        }
        if (p > b.Length && !msg.Truncated)
        {
            msg.Truncated = true;
            msg.NoteList.Add("checksum of the last attribute missing");
        }
        return msg;
    }

    private static string? Clean(string s)
    {
        s = s.TrimEnd('\0').Trim();
        return s.Length == 0 ? null : s;
    }

    private static string DecodeString8(ReadOnlySpan<byte> data, int? codePage)
    {
        int nul = data.IndexOf((byte)0);
        if (nul >= 0) data = data[..nul];
        Encoding enc = Encoding.Latin1;
        if (codePage is { } cp and not 0)
        {
            try
            {
                enc = cp == 65001 ? Encoding.UTF8 : CodePagesEncodingProvider.Instance.GetEncoding(cp) ?? Encoding.Latin1;
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException) { enc = Encoding.Latin1; }
        }
        return enc.GetString(data);
    }

    private static string DecodeUnicode(ReadOnlySpan<byte> data)
    {
        data = data[..(data.Length & ~1)];
        string s = Encoding.Unicode.GetString(data);
        int nul = s.IndexOf('\0', StringComparison.Ordinal);
        return nul >= 0 ? s[..nul] : s;
    }

    /// <summary>Reads a MAPI property list (attMsgProps / attAttachment). Stops quietly at the first malformed value.</summary>
    private static void ReadProps(ReadOnlySpan<byte> d, TnefMessage msg, TnefAttachment? att, TnefReadOptions o, int depth)
    {
        int p = 0;
        if (!TryU32(d, ref p, out uint count)) return;
        for (uint i = 0; i < count; i++)
        {
            if (!TryU32(d, ref p, out uint ptag)) { msg.NoteList.Add("MAPI properties truncated"); return; }
            int type = (int)(ptag & 0xFFFF);
            int pid = (int)(ptag >> 16);
            if (pid >= 0x8000)
            {
                // Named property: GUID, kind, then an ID or a name.
                p += 16;
                if (!TryU32(d, ref p, out uint kind)) return;
                if (kind == 0) p += 4;
                else
                {
                    if (!TryU32(d, ref p, out uint nlen) || nlen > d.Length) return;
                    p += Pad4((int)nlen);
                }
                if (p > d.Length) return;
            }
            bool mv = (type & MvFlag) != 0;
            int baseType = type & ~MvFlag;
            uint values = 1;
            if (mv || baseType is PtString8 or PtUnicode or PtBinary or PtObject)
            {
                if (!TryU32(d, ref p, out values) || values > 100000) { msg.NoteList.Add("MAPI value count invalid"); return; }
            }
            for (uint v = 0; v < values; v++)
            {
                int fixedSize = baseType switch
                {
                    PtShort or PtLong or PtFloat or PtError or PtBoolean or PtNull => 4,
                    PtDouble or PtCurrency or PtAppTime or PtI8 or PtSysTime => 8,
                    PtClsid => 16,
                    _ => -1,
                };
                if (fixedSize > 0)
                {
                    if (p + fixedSize > d.Length) { msg.NoteList.Add("MAPI properties truncated"); return; }
                    if (v == 0 && !mv && pid == PrAttachMethod && baseType == PtLong && att is not null)
                        att.AttachMethod = (int)BinaryPrimitives.ReadUInt32LittleEndian(d[p..]);
                    p += fixedSize;
                    continue;
                }
                if (baseType is not (PtString8 or PtUnicode or PtBinary or PtObject))
                {
                    msg.NoteList.Add($"unknown MAPI type 0x{type:X4}; properties skipped");
                    return;
                }
                if (!TryU32(d, ref p, out uint vlen)) { msg.NoteList.Add("MAPI properties truncated"); return; }
                bool cut = (long)p + vlen > d.Length;
                var val = cut ? d[p..] : d.Slice(p, (int)vlen);
                if (v == 0 && !mv) Apply(pid, baseType, val, cut, msg, att, o, depth);
                if (cut) { msg.NoteList.Add("MAPI value truncated"); return; }
                p += Pad4((int)vlen);
                if (p > d.Length) return;
            }
        }
    }

    private static void Apply(int pid, int type, ReadOnlySpan<byte> val, bool cut, TnefMessage msg, TnefAttachment? att,
        TnefReadOptions o, int depth)
    {
        if (att is not null)
        {
            switch (pid)
            {
                case PrAttachLongFilename: att.LongFileName = Clean(DecodeValue(type, val, msg.CodePage) ?? ""); break;
                case PrAttachFilename: att.ShortFileName = Clean(DecodeValue(type, val, msg.CodePage) ?? ""); break;
                case PrDisplayName: att.DisplayName = Clean(DecodeValue(type, val, msg.CodePage) ?? ""); break;
                case PrAttachMimeTag: att.MimeType = Clean(DecodeValue(type, val, msg.CodePage) ?? ""); break;
                case PrAttachDataBin when type == PtBinary:
                    if (o.KeepData) att.SetData(val.ToArray(), fromMapi: true);
                    if (cut) att.DataTruncated = true;
                    break;
                case PrAttachDataBin when type == PtObject:
                    // PT_OBJECT: a 16-byte interface ID, then the object; an embedded message is TNEF again.
                    if (val.Length > 16)
                    {
                        var inner = val[16..];
                        if (o.KeepData) att.SetData(inner.ToArray(), fromMapi: true);
                        if (cut) att.DataTruncated = true;
                        if (IsTnef(inner) && depth + 1 <= o.MaxDepth)
                            att.EmbeddedMessage = Parse(inner, o, depth + 1);
                    }
                    break;
            }
            return;
        }
        switch (pid)
        {
            case PrSubject: msg.Subject ??= Clean(DecodeValue(type, val, msg.CodePage) ?? ""); break;
            case PrMessageClass: msg.MessageClass ??= Clean(DecodeValue(type, val, msg.CodePage) ?? ""); break;
            case PrBody: msg.Body ??= DecodeValue(type, val, msg.CodePage); break;
            case PrBodyHtml: msg.HtmlBody ??= DecodeValue(type, val, msg.CodePage); break;
            case PrRtfCompressed when type == PtBinary && msg.CompressedRtf is null:
                msg.CompressedRtf = val.ToArray();
                msg.Rtf = CompressedRtf.Decompress(val, o.MaxRtfBytes);
                if (msg.Rtf is null) msg.NoteList.Add("PR_RTF_COMPRESSED without a compressed-RTF header");
                else if (msg.Rtf.Problem is { } problem) msg.NoteList.Add("compressed RTF: " + problem);
                break;
        }
    }

    private static string? DecodeValue(int type, ReadOnlySpan<byte> val, int? codePage) => type switch
    {
        PtString8 => DecodeString8(val, codePage),
        PtUnicode => DecodeUnicode(val),
        PtBinary => Encoding.UTF8.GetString(val),
        _ => null,
    };

    private static int Pad4(int n) => (n + 3) & ~3;

    private static bool TryU32(ReadOnlySpan<byte> d, ref int p, out uint value)
    {
        if (p < 0 || p + 4 > d.Length) { value = 0; return false; }
        value = BinaryPrimitives.ReadUInt32LittleEndian(d[p..]);
        p += 4;
        return true;
    }
}
