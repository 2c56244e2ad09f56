namespace Assp.Mime;

/// <summary>
/// One MIME entity: its header fields, parsed content type, and the offsets of its header block and body in
/// <see cref="Source"/>, so the exact bytes stay available (DKIM, forwarding). Entities found only after
/// transfer-decoding an enclosing body have <see cref="IsInDecodedContent"/> set: their offsets are into that decoded
/// copy, never into the message as received.
/// </summary>
public sealed class MimeEntity
{
    private static readonly IReadOnlyList<MimeEntity> NoChildren = [];
    private List<MimeEntity>? _children;
    private ContentDisposition? _disposition;
    private bool _dispositionParsed;
    private ReadOnlyMemory<byte>? _decoded;
    private IReadOnlyList<UuencodedItem>? _uu;

    internal MimeEntity(MimeMessage owner, MimeEntity? parent, HeaderList headers, ContentType contentType, int depth,
        ReadOnlyMemory<byte> source, bool inDecodedContent)
    {
        Owner = owner;
        Source = source;
        IsInDecodedContent = inDecodedContent;
        Parent = parent;
        Headers = headers;
        ContentType = contentType;
        Depth = depth;
        var cte = headers.Get("Content-Transfer-Encoding");
        ContentTransferEncoding = TransferEncodings.Parse(cte?.UnfoldedValue);
    }

    /// <summary>The message (possibly an embedded one) this entity belongs to.</summary>
    public MimeMessage Owner { get; }

    /// <summary>The enclosing multipart or message/rfc822 entity, or null for the top of a message.</summary>
    public MimeEntity? Parent { get; }

    /// <summary>Nesting depth (0 for the top of the outermost message).</summary>
    public int Depth { get; }

    /// <summary>The header fields, in order.</summary>
    public HeaderList Headers { get; }

    /// <summary>The parsed Content-Type (text/plain, or message/rfc822 in a digest, when absent).</summary>
    public ContentType ContentType { get; }

    /// <summary>"type/subtype", lower case.</summary>
    public string MimeType => ContentType.MimeType;

    /// <summary>The parsed Content-Disposition, or null.</summary>
    public ContentDisposition? ContentDisposition
    {
        get
        {
            if (!_dispositionParsed)
            {
                var h = Headers.Get("Content-Disposition");
                _disposition = h is null ? null : ContentDisposition.Parse(h.UnfoldedValue);
                _dispositionParsed = true;
            }
            return _disposition;
        }
    }

    /// <summary>The Content-Transfer-Encoding.</summary>
    public ContentEncoding ContentTransferEncoding { get; }

    /// <summary>Parts of a multipart (empty otherwise).</summary>
    public IReadOnlyList<MimeEntity> Children => _children ?? NoChildren;

    /// <summary>The parsed message of a message/rfc822 (or message/global) entity, or null.</summary>
    public MimeMessage? EmbeddedMessage { get; internal set; }

    /// <summary>True for a multipart/* that was split into parts.</summary>
    public bool IsMultipart => _children is not null;

    /// <summary>The bytes the offsets refer to: the message as received, or (when <see cref="IsInDecodedContent"/>)
    /// the transfer-decoded body of an enclosing entity.</summary>
    public ReadOnlyMemory<byte> Source { get; }

    /// <summary>
    /// True when this entity was parsed from the transfer-decoded body of an enclosing base64/quoted-printable
    /// multipart or message/rfc822 (which RFC 2045 forbids but spam uses). Its offsets, <see cref="RawEntity"/> and
    /// header <see cref="Header.Offset"/>s then refer to <see cref="Source"/>, a decoded copy: they are not bytes of the
    /// message as received and must not be used for DKIM, forwarding or in-place edits.
    /// </summary>
    public bool IsInDecodedContent { get; }

    /// <summary>True for a multipart whose parts were found only after transfer-decoding its body: the
    /// <see cref="Children"/> have <see cref="IsInDecodedContent"/> set and their offsets refer to
    /// <see cref="GetContentBytes"/>, while this entity's own offsets are still raw.</summary>
    public bool HasDecodedParts { get; internal set; }

    /// <summary>For a multipart that was split: the boundary used, which differs from
    /// <see cref="ContentType"/>'s when it was guessed from the body (<see cref="MimeProblemKind.BoundaryGuessed"/>).</summary>
    public string? SplitBoundary { get; internal set; }

    /// <summary>Offset of the first header field (or of the body when there are none).</summary>
    public int HeaderStart { get; internal set; }

    /// <summary>Offset just after the last header field's line terminator.</summary>
    public int HeaderEnd { get; internal set; }

    /// <summary>Offset of the body (after the empty line).</summary>
    public int BodyStart { get; internal set; }

    /// <summary>End of the body (the line break before a boundary belongs to the boundary).</summary>
    public int BodyEnd { get; internal set; }

    /// <summary>The raw header block.</summary>
    public ReadOnlyMemory<byte> RawHeaders => Source[HeaderStart..HeaderEnd];

    /// <summary>The raw (still transfer-encoded) body; for a multipart, preamble, parts and epilogue (encoded as a
    /// whole when <see cref="HasDecodedParts"/>).</summary>
    public ReadOnlyMemory<byte> RawBody => Source[BodyStart..BodyEnd];

    /// <summary>The whole entity, headers and body.</summary>
    public ReadOnlyMemory<byte> RawEntity => Source[HeaderStart..BodyEnd];

    internal void AddChild(MimeEntity child) => (_children ??= []).Add(child);
    internal void MarkMultipart() => _children ??= [];

    /// <summary>The charset parameter, or null.</summary>
    public string? Charset => ContentType.Charset;

    /// <summary>True for a text/* leaf.</summary>
    public bool IsText => ContentType.MediaType == "text" && !IsMultipart && EmbeddedMessage is null;

    /// <summary>
    /// The file name: Content-Disposition filename, else Content-Type name (RFC 2231 and RFC 2047 decoded),
    /// with directories, drive letters and control characters removed; null when there is none.
    /// </summary>
    public string? FileName => FileNames.Sanitize(ContentDisposition?.FileName ?? ContentType.Name);

    /// <summary>
    /// An attachment: Content-Disposition attachment, or a file name, or a non-text leaf (not a multipart, not a
    /// parsed embedded message).
    /// </summary>
    public bool IsAttachment
    {
        get
        {
            if (IsMultipart || EmbeddedMessage is not null || ContentType.MediaType == "multipart") return false;
            if (ContentDisposition?.IsAttachment == true) return true;
            if (FileName is not null) return true;
            return ContentType.MediaType != "text";
        }
    }

    /// <summary>The transfer-decoded body bytes (base64, quoted-printable, uuencode decoded; others as is).</summary>
    public ReadOnlyMemory<byte> GetContentBytes()
    {
        if (_decoded is { } d) return d;
        var raw = RawBody;
        ReadOnlyMemory<byte> result;
        switch (ContentTransferEncoding)
        {
            case ContentEncoding.Base64:
                result = TransferEncodings.DecodeBase64(raw.Span, out int bad);
                if (bad > 0) Owner.AddProblem(new MimeProblem(MimeProblemKind.InvalidBase64, BodyStart, $"{bad} invalid bytes"));
                break;
            case ContentEncoding.QuotedPrintable:
                result = TransferEncodings.DecodeQuotedPrintable(raw.Span, out int badQp);
                if (badQp > 0) Owner.AddProblem(new MimeProblem(MimeProblemKind.InvalidQuotedPrintable, BodyStart, $"{badQp} bad escapes"));
                break;
            case ContentEncoding.UUEncode:
                var items = Uuencode.Find(raw.Span);
                result = items.Count > 0 ? items[0].Content : raw;
                break;
            default:
                result = raw;
                break;
        }
        _decoded = result;
        return result;
    }

    /// <summary>Size of the transfer-decoded body.</summary>
    public int DecodedSize => GetContentBytes().Length;

    /// <summary>
    /// The body decoded to a string with its charset (unknown charsets: Latin-1; undeclared 8-bit: UTF-8 when
    /// valid, else Windows-1252). Null for multiparts and embedded messages.
    /// </summary>
    public string? GetText()
    {
        if (IsMultipart || EmbeddedMessage is not null) return null;
        var text = Charsets.Decode(GetContentBytes().Span, Charset, out bool unknown);
        if (unknown) Owner.AddProblem(new MimeProblem(MimeProblemKind.UnknownCharset, BodyStart, Charset));
        return text;
    }

    /// <summary>uuencoded blocks ("begin 644 name" ... "end") found inside a text part's decoded body.</summary>
    public IReadOnlyList<UuencodedItem> UuencodedItems =>
        _uu ??= IsText && ContentTransferEncoding != ContentEncoding.UUEncode ? Uuencode.Find(GetContentBytes().Span) : [];

    /// <summary>This entity and everything below it, pre-order, descending into embedded messages.</summary>
    public IEnumerable<MimeEntity> DescendantsAndSelf()
    {
        var stack = new Stack<MimeEntity>();
        stack.Push(this);
        while (stack.Count > 0)
        {
            var e = stack.Pop();
            yield return e;
            if (e.EmbeddedMessage is { } m) stack.Push(m.Root);
            for (int i = e.Children.Count - 1; i >= 0; i--) stack.Push(e.Children[i]);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{MimeType} [{HeaderStart}..{BodyEnd})";
}

/// <summary>Cleans file names taken from mail.</summary>
public static class FileNames
{
    /// <summary>Removes directories, drive letters, control characters and surrounding blanks; null if nothing is left.</summary>
    public static string? Sanitize(string? name)
    {
        if (name is null) return null;
        var s = name;
        int cut = s.LastIndexOfAny(['/', '\\']);
        if (cut >= 0) s = s[(cut + 1)..];
        if (s.Length >= 2 && s[1] == ':' && char.IsAsciiLetter(s[0])) s = s[2..];
        if (s.AsSpan().IndexOfAnyInRange('\0', '\x1f') >= 0 || s.Contains('\x7f'))
            s = string.Concat(s.Where(c => c >= ' ' && c != '\x7f'));
        s = s.Trim().TrimEnd('.').Trim();
        if (s is "" or "." or "..") return null;
        return s;
    }
}
