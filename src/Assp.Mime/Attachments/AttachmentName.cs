using System.Text;
using System.Text.RegularExpressions;

namespace Assp.Mime.Attachments;

/// <summary>The result of <see cref="AttachmentName.Sanitize"/>.</summary>
/// <param name="Name">The cleaned file name (may be empty).</param>
/// <param name="Original">The raw name as given ("" for null).</param>
/// <param name="HadBidiControls">Bidirectional controls (e.g. RTLO U+202E) were present: a display trick such as
/// "invoice\u202Efdp.exe" shown as "invoiceexe.pdf".</param>
/// <param name="HadInvisibleChars">Zero-width or other invisible format characters were removed.</param>
/// <param name="HadControlChars">C0/C1 control characters were removed.</param>
/// <param name="HadPath">A directory part (/ or \) or drive prefix was stripped.</param>
/// <param name="HadTrailingDotsOrSpaces">Trailing dots or spaces were stripped (Windows ignores them).</param>
/// <param name="HadWhitespacePadding">A long run of blanks hides the real extension ("a.pdf          .exe").</param>
public sealed record SanitizedName(
    string Name,
    string Original,
    bool HadBidiControls,
    bool HadInvisibleChars,
    bool HadControlChars,
    bool HadPath,
    bool HadTrailingDotsOrSpaces,
    bool HadWhitespacePadding)
{
    /// <summary>True when any deception or unsafe construct was found (bidi, invisible characters, padding, path).</summary>
    public bool IsSuspicious => HadBidiControls || HadInvisibleChars || HadWhitespacePadding || HadPath || HadControlChars;

    /// <summary>True when nothing usable is left.</summary>
    public bool IsEmpty => Name.Length == 0;
}

/// <summary>The extensions of a file name. ASSP's attachment regexes are matched against these (without the dot).</summary>
/// <param name="Last">The final extension in lower case ("exe"), or null when there is none.</param>
/// <param name="All">All trailing extension chains, shortest first: "invoice.pdf.exe" gives ["exe", "pdf.exe"],
/// "a.tar.gz" gives ["gz", "tar.gz"]. At most three levels.</param>
/// <param name="HasDoubleExtension">The name has an inner extension that looks like a real one (1–5 letters or
/// digits) before the last.</param>
/// <param name="IsDeceptiveDoubleExtension">A document/media-looking inner extension followed by an executable
/// or script extension ("invoice.pdf.exe").</param>
/// <param name="Clsid">A CLSID used as extension ("file.{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}"), which Windows
/// hides and uses to choose the handler; null when none.</param>
public sealed record AttachmentExtensions(
    string? Last,
    IReadOnlyList<string> All,
    bool HasDoubleExtension,
    bool IsDeceptiveDoubleExtension,
    string? Clsid)
{
    /// <summary>The double extension ("pdf.exe"), or null.</summary>
    public string? Double => HasDoubleExtension && All.Count > 1 ? All[1] : null;
}

/// <summary>Cleaning and analysing of attachment file names.</summary>
public static partial class AttachmentName
{
    /// <summary>Longest name kept (characters).</summary>
    public const int MaxLength = 255;

    /// <summary>Extensions that Windows (or a shell) executes or interprets; used for the deceptive
    /// double-extension flag only (ASSP's blocking lists are configuration).</summary>
    public static IReadOnlySet<string> ExecutableExtensions { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "exe", "scr", "pif", "com", "bat", "cmd", "vb", "vbs", "vbe", "js", "jse", "ws", "wsc", "wsf", "wsh", "hta",
        "htm", "html", "ps1", "psm1", "lnk", "msi", "msp", "jar", "cpl", "dll", "reg", "sh", "shs", "shb", "chm",
        "application", "gadget", "inf", "scf", "url", "iso", "img", "vhd", "vhdx", "appx", "msix", "apk", "xll",
    };

    private static readonly HashSet<string> DocumentExtensions = new(StringComparer.Ordinal)
    {
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "txt", "odt", "ods", "odp", "csv", "jpg", "jpeg",
        "png", "gif", "bmp", "tif", "tiff", "mp3", "mp4", "avi", "mov", "wav", "zip", "rar", "7z", "htm", "html",
        "xml", "eml", "msg", "ics", "vcf",
    };

    /// <summary>Cleans an attachment name: removes directory parts, control characters, bidirectional controls
    /// (reported), invisible characters, trailing dots and spaces, and collapses blank padding. Never throws.</summary>
    public static SanitizedName Sanitize(string? raw)
    {
        string original = raw ?? "";
        var sb = new StringBuilder(original.Length);
        bool bidi = false, invisible = false, control = false;
        foreach (char c in original)
        {
            if (IsBidiControl(c)) { bidi = true; continue; }
            if (c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' or '\u00AD' or '\u180E') { invisible = true; continue; }
            if (char.IsControl(c)) { control = true; continue; }
            sb.Append(c == '\u00A0' || (char.IsWhiteSpace(c) && c != ' ') ? ' ' : c);
        }
        string s = sb.ToString();

        bool path = false;
        int slash = s.LastIndexOfAny(['/', '\\']);
        if (slash >= 0) { s = s[(slash + 1)..]; path = true; }
        if (s.Length >= 2 && s[1] == ':' && char.IsAsciiLetter(s[0])) { s = s[2..]; path = true; }
        // A remaining colon would address an NTFS alternate data stream.
        s = s.Replace(':', '_');

        string trimmedEnd = s.TrimEnd(' ', '.');
        bool trailing = trimmedEnd.Length != s.Length;
        s = trimmedEnd.TrimStart();

        bool padding = PaddingBeforeExtension().IsMatch(s);
        s = MultiBlank().Replace(s, " ");
        if (padding) s = BlankBeforeDot().Replace(s, ".");
        if (s is "." or "..") s = "";
        if (s.Length > MaxLength)
        {
            // Keep the extension visible when cutting.
            int dot = s.LastIndexOf('.');
            string ext = dot > 0 && s.Length - dot <= 16 ? s[dot..] : "";
            s = s[..(MaxLength - ext.Length)] + ext;
        }
        return new SanitizedName(s, original, bidi, invisible, control, path, trailing, padding);
    }

    /// <summary>True for Unicode bidirectional formatting characters (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI,
    /// LRM, RLM, ALM).</summary>
    public static bool IsBidiControl(char c) =>
        c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u200E' or '\u200F' or '\u061C';

    /// <summary>The extensions of <paramref name="name"/> (sanitize it first). Never throws.</summary>
    public static AttachmentExtensions Extensions(string? name)
    {
        string n = (name ?? "").Trim().TrimEnd('.', ' ');
        string? clsid = null;
        var m = ClsidSuffix().Match(n);
        if (m.Success) clsid = m.Groups[1].Value.ToUpperInvariant();
        else
        {
            var any = ClsidAnywhere().Match(n);
            if (any.Success) clsid = any.Groups[1].Value.ToUpperInvariant();
        }

        var parts = n.Split('.');
        // parts[0] is the base name; an empty base (".bashrc") still makes the rest an extension.
        var exts = new List<string>();
        for (int i = parts.Length - 1; i >= 1 && exts.Count < 3; i--)
        {
            string e = parts[i].Trim().ToLowerInvariant();
            if (e.Length == 0) break;
            exts.Add(e);
        }
        if (exts.Count == 0) return new AttachmentExtensions(null, [], false, false, clsid);

        var all = new List<string>(exts.Count);
        string chain = "";
        foreach (string e in exts)
        {
            chain = chain.Length == 0 ? e : e + "." + chain;
            all.Add(chain);
        }
        bool dbl = exts.Count > 1 && ExtLike().IsMatch(exts[1]);
        bool deceptive = dbl && DocumentExtensions.Contains(exts[1])
                         && (ExecutableExtensions.Contains(exts[0]) || exts[0].StartsWith('{'));
        return new AttachmentExtensions(exts[0], all, dbl, deceptive, clsid);
    }

    /// <summary>Convenience: true when the (sanitized) name's last extension matches one of
    /// <paramref name="extensions"/> (lower case, without dots; chains such as "tar.gz" allowed).</summary>
    public static bool HasExtension(string? name, IEnumerable<string> extensions)
    {
        var all = Extensions(Sanitize(name).Name).All;
        return extensions.Any(e => all.Contains(e.TrimStart('.').ToLowerInvariant()));
    }

    [GeneratedRegex(@"\{([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}$")]
    private static partial Regex ClsidSuffix();

    [GeneratedRegex(@"\.\{([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}")]
    private static partial Regex ClsidAnywhere();

    [GeneratedRegex(@"^[a-z0-9]{1,5}$")]
    private static partial Regex ExtLike();

    [GeneratedRegex(@"[ _]{5,}\.[^. ]{1,16}$")]
    private static partial Regex PaddingBeforeExtension();

    [GeneratedRegex(@" {2,}")]
    private static partial Regex MultiBlank();

    [GeneratedRegex(@" \.(?=[^.]*$)")]
    private static partial Regex BlankBeforeDot();
}
