namespace Assp.Dns;

/// <summary>A parsed DNS response: header, the first question, answer and authority sections.</summary>
/// <remarks>The additional section is not read: a stub resolver has no use for glue, and ignoring it removes
/// the usual place for cache-poisoning extras.</remarks>
public sealed class DnsMessage
{
    public ushort Id { get; init; }
    public ushort Flags { get; init; }
    public bool IsResponse => (Flags & 0x8000) != 0;
    public int Opcode => (Flags >> 11) & 0xF;
    public bool Authoritative => (Flags & 0x0400) != 0;
    public bool Truncated => (Flags & 0x0200) != 0;
    public bool RecursionAvailable => (Flags & 0x0080) != 0;
    public DnsResponseCode ResponseCode => (DnsResponseCode)(Flags & 0xF);

    public int QuestionCount { get; init; }
    public string QuestionName { get; init; } = "";
    public DnsRecordType QuestionType { get; init; }
    public ushort QuestionClass { get; init; }
    public IReadOnlyList<DnsRecord> Answers { get; init; } = [];
    public IReadOnlyList<DnsRecord> Authority { get; init; } = [];
}
