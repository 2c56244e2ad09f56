namespace Assp.Mime.Conversion;

/// <summary>The MIME type for a file name's extension (what MIME::Types gives ASSP for the usual office files).</summary>
public static class MimeTypes
{
    private static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        ["txt"] = "text/plain", ["text"] = "text/plain", ["log"] = "text/plain", ["csv"] = "text/csv", ["htm"] = "text/html",
        ["html"] = "text/html", ["xml"] = "text/xml", ["ics"] = "text/calendar", ["vcf"] = "text/vcard", ["rtf"] = "application/rtf",
        ["pdf"] = "application/pdf", ["doc"] = "application/msword", ["dot"] = "application/msword",
        ["docx"] = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ["xls"] = "application/vnd.ms-excel", ["xlsx"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ["ppt"] = "application/vnd.ms-powerpoint", ["pptx"] = "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ["msg"] = "application/vnd.ms-outlook", ["zip"] = "application/zip", ["gz"] = "application/gzip", ["7z"] = "application/x-7z-compressed",
        ["rar"] = "application/vnd.rar", ["exe"] = "application/x-msdownload", ["dll"] = "application/x-msdownload",
        ["jpg"] = "image/jpeg", ["jpeg"] = "image/jpeg", ["png"] = "image/png", ["gif"] = "image/gif", ["bmp"] = "image/bmp",
        ["tif"] = "image/tiff", ["tiff"] = "image/tiff", ["svg"] = "image/svg+xml", ["mp3"] = "audio/mpeg", ["wav"] = "audio/x-wav",
        ["mp4"] = "video/mp4", ["avi"] = "video/x-msvideo", ["odt"] = "application/vnd.oasis.opendocument.text",
        ["ods"] = "application/vnd.oasis.opendocument.spreadsheet", ["json"] = "application/json",
    };

    /// <summary>The type for <paramref name="fileName"/>, or application/octet-stream when the extension is not known.</summary>
    public static string ForFileName(string? fileName)
    {
        if (string.IsNullOrEmpty(fileName)) return "application/octet-stream";
        int dot = fileName.LastIndexOf('.');
        return dot >= 0 && dot < fileName.Length - 1 && ByExtension.TryGetValue(fileName[(dot + 1)..], out var t) ? t : "application/octet-stream";
    }
}
