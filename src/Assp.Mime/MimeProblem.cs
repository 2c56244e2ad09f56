namespace Assp.Mime;

/// <summary>Kinds of malformation the parser and decoders recover from.</summary>
public enum MimeProblemKind
{
    /// <summary>A header line without a valid "name:"; the body was taken to start there.</summary>
    InvalidHeaderLine,
    /// <summary>The header block hit <see cref="MimeParserOptions.MaxHeaderBlockBytes"/>; the rest became body.</summary>
    HeaderBlockTooLarge,
    /// <summary>More fields than <see cref="MimeParserOptions.MaxHeaderCount"/>; the rest became body.</summary>
    TooManyHeaders,
    /// <summary>A singleton field (From, Subject, Date...) appears more than once.</summary>
    DuplicateHeader,
    /// <summary>Header bytes above 0x7F that are not valid UTF-8.</summary>
    EightBitHeader,
    /// <summary>NUL bytes somewhere in the message.</summary>
    NulBytes,
    /// <summary>A bare CR used as a line end.</summary>
    BareCarriageReturn,
    /// <summary>multipart/* without a boundary parameter: the body is kept opaque.</summary>
    MissingBoundaryParameter,
    /// <summary>The declared boundary never occurs and none could be guessed: the body is kept opaque.</summary>
    BoundaryNotFound,
    /// <summary>The declared boundary never occurs, but boundary-like lines ("--token" ... "--token--") do: the
    /// multipart was split at those (the detail names both). Mail clients do the same; spam relies on it.</summary>
    BoundaryGuessed,
    /// <summary>A multipart ends (end of data or an outer boundary) without its close delimiter.</summary>
    MissingCloseBoundary,
    /// <summary>A nested multipart reuses the boundary of an ancestor.</summary>
    ReusedBoundary,
    /// <summary>Nesting deeper than <see cref="MimeParserOptions.MaxDepth"/>: deeper content is an opaque body.</summary>
    NestingTooDeep,
    /// <summary>More entities than <see cref="MimeParserOptions.MaxEntities"/>: the rest is an opaque body.</summary>
    TooManyEntities,
    /// <summary>The Content-Type field is malformed (a guess was made).</summary>
    InvalidContentType,
    /// <summary>An unrecognised Content-Transfer-Encoding (treated as binary).</summary>
    UnknownTransferEncoding,
    /// <summary>A message/rfc822 or multipart entity with a base64/quoted-printable encoding (RFC 2045 forbids it).
    /// When the parts are only found after decoding, they are parsed from the decoded bytes
    /// (see <see cref="MimeEntity.IsInDecodedContent"/>).</summary>
    EncodedCompositeBody,
    /// <summary>Base64 data with bytes outside the alphabet.</summary>
    InvalidBase64,
    /// <summary>Quoted-printable data with bad escapes.</summary>
    InvalidQuotedPrintable,
    /// <summary>A charset name no encoding is known for (Latin-1 used).</summary>
    UnknownCharset,
    /// <summary>The message was larger than <see cref="MimeParserOptions.MaxMessageBytes"/> and was cut.</summary>
    MessageTruncated,
    /// <summary>The message has no header fields at all.</summary>
    NoHeaders,
    /// <summary>The data ended inside the header block (no empty line and no body).</summary>
    HeaderOnlyMessage,
}

/// <summary>One malformation: what, where, and details. The offset is into the bytes being parsed when it was found:
/// the message, or the decoded body of a transfer-encoded multipart or message/rfc822.</summary>
public readonly record struct MimeProblem(MimeProblemKind Kind, int Offset, string? Detail = null)
{
    /// <inheritdoc/>
    public override string ToString() => Detail is null ? $"{Kind}@{Offset}" : $"{Kind}@{Offset}: {Detail}";
}

/// <summary>Limits and choices for <see cref="MimeParser"/>.</summary>
public sealed record MimeParserOptions
{
    /// <summary>Shared default options.</summary>
    public static readonly MimeParserOptions Default = new();

    /// <summary>Deepest nesting of multiparts and embedded messages; deeper content is an opaque body.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Largest header block of one entity; the rest is treated as body.</summary>
    public int MaxHeaderBlockBytes { get; init; } = 1 << 20;

    /// <summary>Most fields in one header block.</summary>
    public int MaxHeaderCount { get; init; } = 5000;

    /// <summary>Most entities in one message (all levels).</summary>
    public int MaxEntities { get; init; } = 20000;

    /// <summary>Largest message read from a stream; longer input is cut (and the problem recorded).</summary>
    public int MaxMessageBytes { get; init; } = 256 << 20;

    /// <summary>Whether a leading mbox "From " line is skipped (kept as bytes before the headers).</summary>
    public bool SkipMboxFromLine { get; init; } = true;
}
