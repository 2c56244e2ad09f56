using System.Buffers.Binary;
using System.Text;

namespace Assp.Mime.Attachments;

/// <summary>Recognises file types by their content (magic bytes and light structure checks), never by name.
/// Never throws on arbitrary input.</summary>
public static class FileTypeDetector
{
    /// <summary>How many leading bytes <see cref="Detect(Stream)"/> reads (covers the ISO 9660 descriptors at 0x8001).</summary>
    public const int HeadSize = 64 * 1024;

    private const int MaxZipNames = 4096;

    /// <summary>True when <paramref name="head"/> is an executable, library, Java/Android package, shortcut or script.</summary>
    public static bool IsExecutableContent(ReadOnlySpan<byte> head) => Detect(head).IsExecutable;

    /// <summary>True when the content of <paramref name="content"/> is executable (see <see cref="DetectedType.IsExecutable"/>).</summary>
    public static bool IsExecutableContent(Stream content) => Detect(content).IsExecutable;

    /// <summary>Detects the type of a whole file or a stream. For zips on seekable streams the central directory is
    /// read to tell ooxml/odf/jar/apk from a plain zip. The position of a seekable stream is restored; a non-seekable
    /// stream loses up to <see cref="HeadSize"/> bytes.</summary>
    public static DetectedType Detect(Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        long? startPos = null;
        try
        {
            if (content.CanSeek) startPos = content.Position;
            var buf = new byte[HeadSize];
            int n = 0;
            while (n < buf.Length)
            {
                int r = content.Read(buf, n, buf.Length - n);
                if (r <= 0) break;
                n += r;
            }
            var head = buf.AsSpan(0, n);
            var t = Detect(head);
            if (t.Kind == "zip" && content.CanSeek && n == buf.Length)
            {
                // Larger than the head: classify from the central directory.
                var names = ZipDirectory.TryRead(content, MaxZipNames, out _);
                if (names is { Count: > 0 })
                {
                    ZipDirectory.WalkLocalHeaders(head, 1, out string? firstText);
                    return ClassifyZip(names.Select(e => e.Name).ToList(), firstText);
                }
            }
            return t;
        }
        catch (Exception ex) when (ex is IOException or NotSupportedException or ObjectDisposedException or UnauthorizedAccessException)
        {
            return DetectedType.Unknown;
        }
        finally
        {
            if (startPos is { } p)
            {
                try { content.Position = p; } catch (Exception ex) when (ex is IOException or NotSupportedException or ObjectDisposedException) { }
            }
        }
    }

    /// <summary>Detects the type from the leading bytes of a file (give at least 4 KiB when available; 36 KiB for
    /// ISO images). When <paramref name="head"/> holds the whole zip, its central directory is used too.</summary>
    public static DetectedType Detect(ReadOnlySpan<byte> head)
    {
        if (head.IsEmpty) return DetectedType.Unknown;
        var b = head;

        if (b.Length >= 2 && b[0] == 'M' && b[1] == 'Z') return DetectPe(b);
        if (StartsWith(b, [0x7F, (byte)'E', (byte)'L', (byte)'F'])) return DetectElf(b);
        if (b.Length >= 4)
        {
            uint be = BinaryPrimitives.ReadUInt32BigEndian(b);
            switch (be)
            {
                case 0xFEEDFACE: case 0xCEFAEDFE: return new("macho", "application/x-mach-binary", "Mach-O 32-bit");
                case 0xFEEDFACF: case 0xCFFAEDFE: return new("macho", "application/x-mach-binary", "Mach-O 64-bit");
                case 0xCAFEBABF: return new("macho", "application/x-mach-binary", "Mach-O universal (64-bit)");
                case 0xCAFEBABE:
                    if (b.Length >= 8)
                    {
                        uint second = BinaryPrimitives.ReadUInt32BigEndian(b[4..]);
                        // Fat Mach-O: number of architectures (small); Java class: minor/major version (major >= 45).
                        if (second is > 0 and < 40) return new("macho", "application/x-mach-binary", $"Mach-O universal, {second} architectures");
                        return new("java-class", "application/java-vm", $"Java class, version {second & 0xFFFF}");
                    }
                    return new("macho", "application/x-mach-binary", "Mach-O universal (truncated)");
            }
        }
        if (StartsWith(b, "PK\x03\x04"u8) || StartsWith(b, "PK\x05\x06"u8) || StartsWith(b, "PK\x07\x08"u8)) return DetectZip(b);
        if (StartsWith(b, "Rar!\x1A\x07\x01\x00"u8)) return new("rar", "application/vnd.rar", "RAR 5");
        if (StartsWith(b, "Rar!\x1A\x07\x00"u8)) return new("rar", "application/vnd.rar", "RAR 4");
        if (StartsWith(b, [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C])) return new("7z", "application/x-7z-compressed");
        if (StartsWith(b, [0x1F, 0x8B])) return new("gzip", "application/gzip");
        if (b.Length >= 4 && StartsWith(b, "BZh"u8) && b[3] is >= (byte)'1' and <= (byte)'9') return new("bzip2", "application/x-bzip2");
        if (StartsWith(b, [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00])) return new("xz", "application/x-xz");
        if (StartsWith(b, "MSCF\0\0\0\0"u8)) return new("cab", "application/vnd.ms-cab-compressed");
        if (StartsWith(b, [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])) return DetectOle(b);
        // "openssl enc" output: the salt header of a password-encrypted file (ASSP_AFC's pseudo extension "encrypt").
        if (StartsWith(b, "Salted__"u8)) return new("encrypted", "application/encrypted", "OpenSSL encrypted data");
        if (StartsWith(b, "{\\rtf"u8)) return new("rtf", "application/rtf");
        if (StartsWith(b, [0x4C, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00])) return new("lnk", "application/x-ms-shortcut", "Windows shortcut");
        if (StartsWith(b, "ITSF"u8)) return new("chm", "application/vnd.ms-htmlhelp", "Compiled HTML help");
        if (StartsWith(b, "Joy!peff"u8)) return new("pef", "application/x-pef", "classic Mac OS PEF executable");
        if (StartsWith(b, "!<arch>\n"u8)) return new("ar", "application/x-archive", "static library / ar archive");
        if (StartsWith(b, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) return new("image-png", "image/png");
        if (StartsWith(b, [0xFF, 0xD8, 0xFF])) return new("image-jpeg", "image/jpeg");
        if (StartsWith(b, "GIF87a"u8) || StartsWith(b, "GIF89a"u8)) return new("image-gif", "image/gif");
        if (b.Length >= 12 && StartsWith(b, "RIFF"u8) && b.Slice(8, 4).SequenceEqual("WEBP"u8)) return new("image-webp", "image/webp");
        if (b.Length >= 26 && b[0] == 'B' && b[1] == 'M' && BinaryPrimitives.ReadUInt32LittleEndian(b[6..]) == 0
            && BinaryPrimitives.ReadUInt32LittleEndian(b[14..]) is 12 or 40 or 52 or 56 or 64 or 108 or 124)
            return new("image-bmp", "image/bmp");
        if (b.Length >= 262 && b.Slice(257, 5).SequenceEqual("ustar"u8)) return new("tar", "application/x-tar", "ustar");
        if (b.Length >= 512 && IsV7Tar(b[..512])) return new("tar", "application/x-tar", "v7");
        foreach (int off in (ReadOnlySpan<int>)[0x8001, 0x8801, 0x9001])
            if (b.Length >= off + 5 && b.Slice(off, 5).SequenceEqual("CD001"u8)) return new("iso", "application/x-iso9660-image");
        int pdf = b[..Math.Min(b.Length, 1024)].IndexOf("%PDF-"u8);
        if (pdf >= 0) return DetectPdf(b, pdf);
        return DetectText(b);
    }

    private static bool StartsWith(ReadOnlySpan<byte> b, ReadOnlySpan<byte> magic) => b.StartsWith(magic);

    private static DetectedType DetectPe(ReadOnlySpan<byte> b)
    {
        const string mime = "application/vnd.microsoft.portable-executable";
        if (b.Length < 64) return new("exe", mime, "MZ (truncated)");
        int lfanew = BinaryPrimitives.ReadInt32LittleEndian(b[0x3C..]);
        if (lfanew >= 64 && lfanew <= b.Length - 24 && b.Slice(lfanew, 4).SequenceEqual("PE\0\0"u8))
        {
            var coff = b[(lfanew + 4)..];
            int machine = BinaryPrimitives.ReadUInt16LittleEndian(coff);
            int characteristics = BinaryPrimitives.ReadUInt16LittleEndian(coff[18..]);
            string bits = "PE32";
            if (coff.Length >= 22)
            {
                int magic = BinaryPrimitives.ReadUInt16LittleEndian(coff[20..]);
                if (magic == 0x20B) bits = "PE32+";
            }
            string what = (characteristics & 0x2000) != 0 ? "DLL" : "executable";
            string arch = machine switch
            {
                0x14C => "x86", 0x8664 => "x86-64", 0xAA64 => "ARM64", 0x1C0 or 0x1C4 => "ARM", 0x200 => "IA64",
                _ => $"machine 0x{machine:X4}",
            };
            return new("exe", mime, $"{bits} {what} {arch}");
        }
        if (lfanew > b.Length - 4 && lfanew < 16 * 1024 * 1024) return new("exe", mime, "MZ (PE header beyond the head)");
        return new("exe", mime, "DOS MZ executable");
    }

    private static DetectedType DetectElf(ReadOnlySpan<byte> b)
    {
        const string mime = "application/x-executable";
        if (b.Length < 20) return new("elf", mime, "ELF (truncated)");
        string cls = b[4] == 2 ? "64-bit" : "32-bit";
        bool le = b[5] != 2;
        int type = le ? BinaryPrimitives.ReadUInt16LittleEndian(b[16..]) : BinaryPrimitives.ReadUInt16BigEndian(b[16..]);
        int machine = le ? BinaryPrimitives.ReadUInt16LittleEndian(b[18..]) : BinaryPrimitives.ReadUInt16BigEndian(b[18..]);
        string t = type switch { 1 => "relocatable", 2 => "executable", 3 => "shared object", 4 => "core", _ => "type " + type };
        string m = machine switch
        {
            3 => "x86", 0x3E => "x86-64", 0x28 => "ARM", 0xB7 => "AArch64", 8 => "MIPS", 0x14 => "PowerPC",
            0x15 => "PowerPC64", 0xF3 => "RISC-V", 2 => "SPARC", _ => $"machine {machine}",
        };
        return new("elf", mime, $"ELF {cls} {t} {m}");
    }

    private static DetectedType DetectZip(ReadOnlySpan<byte> b)
    {
        // The whole archive is in the span: use the central directory.
        if (b.Length >= 22 && b.Length <= 64 * 1024 * 1024)
        {
            var arr = b.ToArray();
            using var ms = new MemoryStream(arr, writable: false);
            var dir = ZipDirectory.TryRead(ms, MaxZipNames, out _);
            if (dir is { Count: > 0 })
            {
                ZipDirectory.WalkLocalHeaders(b, 1, out string? first);
                return ClassifyZip(dir.Select(e => e.Name).ToList(), first);
            }
        }
        var names = ZipDirectory.WalkLocalHeaders(b, MaxZipNames, out string? firstText);
        return ClassifyZip(names, firstText);
    }

    /// <summary>Classifies a zip by its member names (and the stored first member, for ODF).</summary>
    internal static DetectedType ClassifyZip(IReadOnlyList<string> names, string? firstStoredText)
    {
        bool Has(string n) => names.Any(x => string.Equals(x, n, StringComparison.OrdinalIgnoreCase));
        bool Starts(string p) => names.Any(x => x.StartsWith(p, StringComparison.OrdinalIgnoreCase));
        bool macros = names.Any(x => x.EndsWith("vbaProject.bin", StringComparison.OrdinalIgnoreCase));
        if (Has("[Content_Types].xml"))
        {
            string sub = Starts("word/") ? "docx" : Starts("xl/") ? "xlsx" : Starts("ppt/") ? "pptx" : Starts("visio/") ? "vsdx" : "ooxml";
            string mime = sub switch
            {
                "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                _ => "application/zip",
            };
            return new("ooxml", mime, macros ? sub + "; macros" : sub);
        }
        if (firstStoredText is not null && firstStoredText.StartsWith("application/vnd.oasis.opendocument", StringComparison.Ordinal))
            return new("odf", firstStoredText, firstStoredText["application/vnd.oasis.opendocument.".Length..]);
        if (names.Count > 0 && names[0] == "mimetype" || Has("META-INF/manifest.xml") && Has("content.xml"))
            return new("odf", "application/vnd.oasis.opendocument", null);
        if (Has("AndroidManifest.xml")) return new("apk", "application/vnd.android.package-archive");
        if (Starts("META-INF/") || names.Any(x => x.EndsWith(".class", StringComparison.OrdinalIgnoreCase)))
            return new("jar", "application/java-archive");
        return new("zip", "application/zip", names.Count == 0 ? "empty or unreadable" : null);
    }

    private static DetectedType DetectOle(ReadOnlySpan<byte> b)
    {
        const string mime = "application/x-ole-storage";
        if (b.Length < 512) return new("ole", mime);
        int shift = BinaryPrimitives.ReadUInt16LittleEndian(b[0x1E..]);
        if (shift is not (9 or 12)) return new("ole", mime);
        int sector = 1 << shift;
        long dirSect = BinaryPrimitives.ReadUInt32LittleEndian(b[0x30..]);
        long dirPos = (dirSect + 1) * sector;
        if (dirSect >= 0xFFFFFFFA || dirPos + 128 > b.Length) return new("ole", mime);
        var root = b.Slice((int)dirPos, 128);
        var clsid = new Guid(root.Slice(0x50, 16));
        string? kind = clsid.ToString().ToUpperInvariant() switch
        {
            "000C1084-0000-0000-C000-000000000046" => "msi",
            "000C1086-0000-0000-C000-000000000046" => "msp",
            "00020906-0000-0000-C000-000000000046" or "00020900-0000-0000-C000-000000000046" => "doc",
            "00020820-0000-0000-C000-000000000046" or "00020810-0000-0000-C000-000000000046" => "xls",
            "64818D10-4F9B-11CF-86EA-00AA00B929E8" => "ppt",
            "00020D0B-0000-0000-C000-000000000046" => "msg",
            _ => null,
        };
        // Scan the directory entries of the first directory sector for macro storages and embedded objects.
        bool macros = false, embedded = false;
        int dirEnd = (int)Math.Min(b.Length, dirPos + sector);
        for (long p = dirPos; p + 128 <= dirEnd; p += 128)
        {
            var e = b.Slice((int)p, 128);
            int nameLen = Math.Min((int)BinaryPrimitives.ReadUInt16LittleEndian(e[0x40..]), 64);
            if (nameLen < 2) continue;
            string name = Encoding.Unicode.GetString(e[..(nameLen - 2 & ~1)]);
            if (name is "VBA" or "_VBA_PROJECT" or "Macros" or "_VBA_PROJECT_CUR") macros = true;
            // OLE packages and native objects carry whole files (an .exe in a .doc): not a harmless document.
            if (name is "\u0001Ole10Native" or "Package" or "ObjectPool") embedded = true;
        }
        var details = new List<string>();
        if (kind is not null) details.Add(kind);
        if (macros) details.Add("macros");
        if (embedded) details.Add("embedded objects");
        string? detail = details.Count == 0 ? null : string.Join("; ", details);
        return new("ole", kind == "msi" ? "application/x-msi" : mime, detail);
    }

    private static DetectedType DetectPdf(ReadOnlySpan<byte> b, int at)
    {
        var parts = new List<string>();
        var ver = b[(at + 5)..];
        int vl = 0;
        while (vl < ver.Length && vl < 4 && (char.IsAsciiDigit((char)ver[vl]) || ver[vl] == '.')) vl++;
        parts.Add("PDF-" + Encoding.ASCII.GetString(ver[..vl]));
        parts.AddRange(PdfScanner.Findings(b));
        return new("pdf", "application/pdf", string.Join("; ", parts));
    }

    private static bool IsV7Tar(ReadOnlySpan<byte> h)
    {
        // Old tar: NUL-terminated name, octal fields, and a header checksum that adds up.
        if (h[0] == 0) return false;
        var chk = h.Slice(148, 8);
        long stored = 0;
        int digits = 0;
        foreach (byte c in chk)
        {
            if (c is >= (byte)'0' and <= (byte)'7') { stored = stored * 8 + (c - '0'); digits++; }
            else if (c is 0 or (byte)' ') { if (digits > 0) break; }
            else return false;
        }
        if (digits == 0) return false;
        long sum = 0;
        for (int i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? ' ' : h[i];
        return sum == stored;
    }

    private static DetectedType DetectText(ReadOnlySpan<byte> b)
    {
        string? text = DecodeTextHead(b);
        if (text is null) return DetectedType.Unknown;
        string t = text.TrimStart();
        if (t.StartsWith("#!", StringComparison.Ordinal))
        {
            int nl = t.IndexOfAny(['\r', '\n']);
            string interp = (nl < 0 ? t[2..] : t[2..nl]).Trim();
            return new("script", "text/x-shellscript", "shebang " + interp);
        }
        string? script = ScriptHeuristic(t);
        if (script is not null) return new("script", ScriptMime(script), script);
        string lower = t.Length > 2048 ? t[..2048].ToLowerInvariant() : t.ToLowerInvariant();
        if (lower.Contains("<mmc_consolefile", StringComparison.Ordinal)) return new("mmc", "application/x-mmc", "MMC console file");
        if (lower.StartsWith("<!doctype html", StringComparison.Ordinal) || lower.Contains("<html", StringComparison.Ordinal)
            || lower.StartsWith("<head", StringComparison.Ordinal) || lower.StartsWith("<body", StringComparison.Ordinal)
            || lower.Contains("<iframe", StringComparison.Ordinal) || (lower.StartsWith('<') && lower.Contains("<script", StringComparison.Ordinal)))
            return new("html", "text/html");
        return new("text", "text/plain");
    }

    private static string ScriptMime(string family) => family switch
    {
        "hta" => "application/hta",
        "wsf" => "text/xml",
        "vbs" => "text/vbscript",
        "js" => "text/javascript",
        "ps1" => "text/x-powershell",
        "batch" => "application/x-bat",
        _ => "text/plain",
    };

    /// <summary>Returns the text of the head when it looks like text (UTF-8/ASCII, or UTF-16 with a BOM), else null.</summary>
    private static string? DecodeTextHead(ReadOnlySpan<byte> b)
    {
        var slice = b[..Math.Min(b.Length, 8192)];
        if (slice.Length >= 2 && (slice[0] == 0xFF && slice[1] == 0xFE || slice[0] == 0xFE && slice[1] == 0xFF))
        {
            var body = slice[2..];
            body = body[..(body.Length & ~1)];
            string s = slice[0] == 0xFF ? Encoding.Unicode.GetString(body) : Encoding.BigEndianUnicode.GetString(body);
            return LooksLikeText(s) ? s : null;
        }
        if (slice.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) slice = slice[3..];
        int bad = 0;
        foreach (byte c in slice)
        {
            if (c == 0) return null;
            if (c < 0x20 && c is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C or 0x1B)) bad++;
        }
        if (slice.Length > 0 && bad * 50 > slice.Length) return null;
        string str = Encoding.UTF8.GetString(slice);
        return LooksLikeText(str) ? str : null;
    }

    private static bool LooksLikeText(string s)
    {
        if (s.Length == 0) return false;
        int bad = 0;
        foreach (char c in s)
        {
            if (c == '\uFFFD' || c == '\0' || (c < 0x20 && c is not ('\t' or '\n' or '\r' or '\f' or '\x1B'))) bad++;
        }
        return bad * 20 <= s.Length;
    }

    private static readonly (string Family, string Marker, int Weight)[] ScriptMarkers =
    [
        ("hta", "<hta:application", 3),
        ("wsf", "<job", 1), ("wsf", "<package>", 1), ("wsf", "<script language=", 1),
        ("vbs", "wscript.shell", 3), ("vbs", "createobject(", 2), ("vbs", "on error resume next", 2),
        ("vbs", "wscript.", 1), ("vbs", "dim ", 1), ("vbs", "end sub", 1), ("vbs", "end function", 1), ("vbs", "execute(", 1),
        ("vbs", "chr(", 1), ("vbs", "set ", 1),
        ("js", "activexobject", 3), ("js", "wscript.", 1), ("js", "string.fromcharcode", 2), ("js", "eval(", 2),
        ("js", "function(", 1), ("js", "function ", 1), ("js", "var ", 1), ("js", "document.write", 1), ("js", "unescape(", 1),
        ("ps1", "invoke-expression", 3), ("ps1", "downloadstring", 3), ("ps1", "-encodedcommand", 3), ("ps1", "iex ", 2),
        ("ps1", "iex(", 2), ("ps1", "new-object ", 2), ("ps1", "start-process", 2), ("ps1", "$env:", 2), ("ps1", "param(", 1),
        ("ps1", "[system.", 1), ("ps1", "-executionpolicy", 3),
        ("batch", "@echo off", 3), ("batch", "%~dp0", 2), ("batch", "powershell ", 2), ("batch", "cmd /c", 2), ("batch", "goto :", 1),
        ("batch", "set /a", 1),
    ];

    /// <summary>Scores common script languages; returns the family ("hta", "wsf", "vbs", "js", "ps1", "batch") when
    /// the evidence is strong (one strong marker or several weaker ones), else null.</summary>
    private static string? ScriptHeuristic(string text)
    {
        string lower = (text.Length > 8192 ? text[..8192] : text).ToLowerInvariant();
        var scores = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (family, marker, weight) in ScriptMarkers)
            if (lower.Contains(marker, StringComparison.Ordinal))
                scores[family] = scores.GetValueOrDefault(family) + weight;
        if (scores.GetValueOrDefault("hta") > 0) return "hta";
        if (scores.GetValueOrDefault("wsf") >= 2 && lower.Contains("<script", StringComparison.Ordinal)) return "wsf";
        // A web page with scripts is HTML, not a stand-alone script.
        if (lower.Contains("<html", StringComparison.Ordinal) || lower.Contains("<!doctype", StringComparison.Ordinal)) return null;
        var best = scores.Where(kv => kv.Key is not ("hta" or "wsf")).OrderByDescending(kv => kv.Value).FirstOrDefault();
        return best.Value >= 3 ? best.Key : null;
    }
}
