using System.Text;

namespace Assp.Mime.Attachments;

/// <summary>One attachment of an Outlook message: a file, or an attached message (<see cref="Message"/>).</summary>
public sealed record OutlookAttachment(string FileName, byte[] Data, OutlookMessage? Message);

/// <summary>
/// An Outlook .msg file (MS-OXMSG, stored in a compound file): subject, plain text and HTML body, the internet
/// headers it came with, and its attachments - files with their data, and attached messages read the same way
/// (to <see cref="MaxNesting"/> levels). Only the string and binary property streams are read; whatever else the
/// file holds is left alone. Damage ends the read with <see cref="InvalidDataException"/>.
/// </summary>
public sealed class OutlookMessage
{
    /// <summary>Attached messages inside attached messages are read this deep.</summary>
    public const int MaxNesting = 5;

    /// <summary>Attachments read per message at most.</summary>
    public const int MaxAttachments = 1000;

    public string? Subject { get; private init; }
    public string? Body { get; private init; }
    public string? HtmlBody { get; private init; }
    /// <summary>PidTagTransportMessageHeaders: the header lines of the mail as it was received, when Outlook kept them.</summary>
    public string? TransportHeaders { get; private init; }
    public string? SenderName { get; private init; }
    public string? SenderAddress { get; private init; }
    public IReadOnlyList<OutlookAttachment> Attachments { get; private init; } = [];

    /// <summary>Does the data look like a compound file (the .msg container)?</summary>
    public static bool IsOutlookMessage(ReadOnlySpan<byte> data) => CompoundFile.IsCompoundFile(data);

    public static OutlookMessage Read(ReadOnlyMemory<byte> data, CompoundFileLimits? limits = null)
    {
        var file = CompoundFile.Open(data, limits);
        if (file.Root.Children.Count == 0 || !file.Root.Children.Any(c => c.Name.StartsWith("__", StringComparison.Ordinal)))
            throw new InvalidDataException("the compound file holds no Outlook message properties");
        int budget = MaxAttachments * (MaxNesting + 1);
        return ReadMessage(file, file.Root, 0, ref budget);
    }

    private static OutlookMessage ReadMessage(CompoundFile file, CompoundEntry storage, int depth, ref int budget)
    {
        var attachments = new List<OutlookAttachment>();
        foreach (var child in storage.Children.Where(c => c.IsStorage && c.Name.StartsWith("__attach_version1.0_", StringComparison.OrdinalIgnoreCase))
                     .OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase))
        {
            if (attachments.Count >= MaxAttachments || --budget < 0) throw new InvalidDataException($"more than {MaxAttachments} attachments");
            var name = String(file, child, 0x3707) ?? String(file, child, 0x3704) ?? String(file, child, 0x3001) ?? "";
            OutlookMessage? inner = null;
            byte[] data = [];
            if (child.Child(Stream(0x3701, "0102")) is { IsStorage: false } binary) data = file.Read(binary);
            else if (child.Child(Stream(0x3701, "000D")) is { IsStorage: true } embedded)
            {
                if (depth + 1 > MaxNesting) throw new InvalidDataException($"attached messages nest deeper than {MaxNesting}");
                inner = ReadMessage(file, embedded, depth + 1, ref budget);
                if (name.Length == 0) name = (inner.Subject is { Length: > 0 } s ? s : "message") + ".msg";
            }
            attachments.Add(new OutlookAttachment(name, data, inner));
        }
        return new OutlookMessage
        {
            Subject = String(file, storage, 0x0037),
            Body = String(file, storage, 0x1000),
            HtmlBody = String(file, storage, 0x1013) ?? (storage.Child(Stream(0x1013, "0102")) is { IsStorage: false } html
                ? Encoding.UTF8.GetString(file.Read(html)) : null),
            TransportHeaders = String(file, storage, 0x007D),
            SenderName = String(file, storage, 0x0C1A),
            SenderAddress = String(file, storage, 0x5D01) ?? String(file, storage, 0x0C1F),
            Attachments = attachments,
        };
    }

    private static string Stream(int property, string type) => $"__substg1.0_{property:X4}{type}";

    /// <summary>A string property: UTF-16 (type 001F) or 8-bit (001E, read as Windows-1252's Latin-1 subset).</summary>
    private static string? String(CompoundFile file, CompoundEntry storage, int property)
    {
        if (storage.Child(Stream(property, "001F")) is { IsStorage: false } unicode)
            return Encoding.Unicode.GetString(file.Read(unicode)).TrimEnd('\0');
        if (storage.Child(Stream(property, "001E")) is { IsStorage: false } ansi)
            return Encoding.Latin1.GetString(file.Read(ansi)).TrimEnd('\0');
        return null;
    }

    /// <summary>Every file attachment, also those of attached messages, with the name of the attachment that holds it.</summary>
    public IEnumerable<OutlookAttachment> AllFiles()
    {
        foreach (var a in Attachments)
        {
            if (a.Message is { } inner)
                foreach (var f in inner.AllFiles()) yield return f;
            else yield return a;
        }
    }
}
