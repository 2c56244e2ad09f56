namespace Assp.Mime.Attachments;

/// <summary>The file type recognised from the content (magic bytes) of an attachment or archive entry.</summary>
/// <param name="Kind">Short kind: "exe", "elf", "macho", "java-class", "lnk", "chm", "ar", "zip", "ooxml", "odf",
/// "jar", "apk", "rar", "7z", "gzip", "bzip2", "xz", "tar", "cab", "iso", "pdf", "ole", "rtf", "script", "html", "mmc", "pef",
/// "image-png", "image-jpeg", "image-gif", "image-bmp", "image-webp", "encrypted" (OpenSSL "Salted__" data), "text" or "unknown".</param>
/// <param name="MimeType">The usual MIME type of that kind.</param>
/// <param name="Detail">Free-form detail, e.g. "PE32+ DLL", "ELF 64-bit executable x86-64", "docx; macros".</param>
public sealed record DetectedType(string Kind, string MimeType, string? Detail = null)
{
    /// <summary>Nothing recognised.</summary>
    public static DetectedType Unknown { get; } = new("unknown", "application/octet-stream");

    /// <summary>True for native executables and libraries (Windows PE/DOS, ELF, Mach-O), Java classes and jars,
    /// Android packages, Windows shortcuts, compiled help, static libraries, scripts, MMC consoles and classic Mac OS
    /// (PEF) executables.</summary>
    public bool IsExecutable => Kind is "exe" or "elf" or "macho" or "java-class" or "jar" or "apk" or "lnk" or "chm"
        or "ar" or "script" or "mmc" or "pef";

    /// <summary>True for container formats that can hold further files.</summary>
    public bool IsArchive => Kind is "zip" or "jar" or "apk" or "rar" or "7z" or "gzip" or "bzip2" or "xz" or "tar"
        or "cab" or "iso";

    /// <summary>True when the detail reports Office VBA macros (OLE or OOXML).</summary>
    public bool HasMacros => Detail is not null && Detail.Contains("macros", StringComparison.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => Detail is null ? Kind : $"{Kind} ({Detail})";
}
