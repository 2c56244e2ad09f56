namespace Assp.Mime;

/// <summary>
/// A parsed message: the top entity, the source bytes all offsets refer to, and the problems found.
/// Embedded messages (message/rfc822) are MimeMessages too; they share the outer message's problem list.
/// Structured header accessors parse on each call (cache the result if you need it often).
/// </summary>
public sealed class MimeMessage
{
    private readonly List<MimeProblem> _problems;

    internal MimeMessage(ReadOnlyMemory<byte> source, List<MimeProblem> problems, MimeEntity? container)
    {
        Source = source;
        _problems = problems;
        Container = container;
        Root = null!;
    }

    /// <summary>The bytes of the message (for an embedded message: the outer buffer, or the decoded body
    /// when the message/rfc822 part was base64/quoted-printable).</summary>
    public ReadOnlyMemory<byte> Source { get; }

    /// <summary>True when this embedded message was parsed from a transfer-decoded body (its offsets are into that
    /// decoded copy; see <see cref="MimeEntity.IsInDecodedContent"/>).</summary>
    public bool IsInDecodedContent => Root.IsInDecodedContent;

    /// <summary>The top entity.</summary>
    public MimeEntity Root { get; internal set; }

    /// <summary>The message/rfc822 entity this message is embedded in, or null for the outer message.</summary>
    public MimeEntity? Container { get; }

    /// <summary>Offset of the first byte of the message in <see cref="Source"/> (after an mbox From line).</summary>
    public int Start { get; internal set; }

    /// <summary>Offset just after the message.</summary>
    public int End => Root.BodyEnd;

    /// <summary>The top-level header fields.</summary>
    public HeaderList Headers => Root.Headers;

    /// <summary>Malformations found while parsing (and while decoding bodies, appended on first decode).</summary>
    public IReadOnlyList<MimeProblem> Problems => _problems;

    internal void AddProblem(MimeProblem p)
    {
        lock (_problems) { if (_problems.Count < 10000) _problems.Add(p); }
    }

    /// <summary>True if a problem of this kind was recorded.</summary>
    public bool HasProblem(MimeProblemKind kind)
    {
        foreach (var p in _problems) if (p.Kind == kind) return true;
        return false;
    }

    /// <summary>The decoded Subject, or null.</summary>
    public string? Subject => Headers["Subject"];

    /// <summary>Mailboxes of the From field(s).</summary>
    public IReadOnlyList<MailboxAddress> From => Mailboxes("From");

    /// <summary>Mailboxes of the Sender field.</summary>
    public IReadOnlyList<MailboxAddress> Sender => Mailboxes("Sender");

    /// <summary>Mailboxes of the Reply-To field(s).</summary>
    public IReadOnlyList<MailboxAddress> ReplyTo => Mailboxes("Reply-To");

    /// <summary>Mailboxes of the To field(s), group members included.</summary>
    public IReadOnlyList<MailboxAddress> To => Mailboxes("To");

    /// <summary>Mailboxes of the Cc field(s).</summary>
    public IReadOnlyList<MailboxAddress> Cc => Mailboxes("Cc");

    /// <summary>Mailboxes of the Bcc field(s).</summary>
    public IReadOnlyList<MailboxAddress> Bcc => Mailboxes("Bcc");

    /// <summary>All mailboxes in all fields with this name, group members flattened.</summary>
    public IReadOnlyList<MailboxAddress> Mailboxes(string headerName)
    {
        List<MailboxAddress>? list = null;
        foreach (var h in Headers.GetAll(headerName))
            foreach (var a in AddressParser.ParseList(h.UnfoldedValue))
                (list ??= []).AddRange(a.Mailboxes);
        return list ?? (IReadOnlyList<MailboxAddress>)[];
    }

    /// <summary>The addresses (mailboxes and groups) of the first field with this name.</summary>
    public IReadOnlyList<InternetAddress> Addresses(string headerName) =>
        Headers.Get(headerName) is { } h ? AddressParser.ParseList(h.UnfoldedValue) : [];

    /// <summary>The Date field, parsed tolerantly, or null.</summary>
    public DateTimeOffset? Date => Headers.Get("Date") is { } h ? DateParser.Parse(h.UnfoldedValue) : null;

    /// <summary>The Message-ID without angle brackets, or null.</summary>
    public string? MessageId => Headers.Get("Message-ID") is { } h ? MessageIds.ParseOne(h.UnfoldedValue) : null;

    /// <summary>The In-Reply-To ids.</summary>
    public IReadOnlyList<string> InReplyTo => Headers.Get("In-Reply-To") is { } h ? MessageIds.ParseList(h.UnfoldedValue) : [];

    /// <summary>The References ids.</summary>
    public IReadOnlyList<string> References => Headers.Get("References") is { } h ? MessageIds.ParseList(h.UnfoldedValue) : [];

    /// <summary>The Received fields, parsed, in header order (most recent hop first).</summary>
    public IReadOnlyList<ReceivedHeader> Received
    {
        get
        {
            var list = new List<ReceivedHeader>();
            foreach (var h in Headers.GetAll("Received")) list.Add(ReceivedHeader.Parse(h.UnfoldedValue));
            return list;
        }
    }

    /// <summary>Every entity, pre-order, descending into embedded messages.</summary>
    public IEnumerable<MimeEntity> Entities => Root.DescendantsAndSelf();

    /// <summary>text/* leaves that are not attachments (descending into embedded messages).</summary>
    public IEnumerable<MimeEntity> TextParts => Entities.Where(e => e.IsText && e.ContentDisposition?.IsAttachment != true);

    /// <summary>Attachment entities (see <see cref="MimeEntity.IsAttachment"/>), descending into embedded messages.</summary>
    public IEnumerable<MimeEntity> Attachments => Entities.Where(e => e.IsAttachment);

    /// <summary>uuencoded blocks found in text parts.</summary>
    public IEnumerable<UuencodedItem> UuencodedAttachments => TextParts.SelectMany(e => e.UuencodedItems);

    /// <inheritdoc/>
    public override string ToString() => $"{Root.MimeType} message, {Source.Length} bytes";
}
