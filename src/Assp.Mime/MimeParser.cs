using System.Text;

namespace Assp.Mime;

/// <summary>
/// Parses RFC 5322 / MIME messages into a tree of <see cref="MimeEntity"/> with offsets into the original bytes.
/// Modelled on MimeKit's parser: an explicit state machine over the buffer (headers → body → boundary scan) where
/// malformed input moves the machine to a recovery state and records a <see cref="MimeProblem"/>; it never throws
/// on bad input. Work is linear in the input (each line is scanned once; boundary lines are compared against at most
/// <see cref="MimeParserOptions.MaxDepth"/> open boundaries).
/// </summary>
public static class MimeParser
{
    /// <summary>Parses a message held in memory. The returned message references (does not copy) the bytes.</summary>
    public static MimeMessage Parse(ReadOnlyMemory<byte> message, MimeParserOptions? options = null) =>
        Parse(message, options ?? MimeParserOptions.Default, []);

    /// <summary>Parses a message held in an array.</summary>
    public static MimeMessage Parse(byte[] message, MimeParserOptions? options = null) =>
        Parse(new ReadOnlyMemory<byte>(message), options);

    private static MimeMessage Parse(ReadOnlyMemory<byte> message, MimeParserOptions options, List<MimeProblem> problems)
    {
        var ctx = new ParseContext(options, problems);
        var span = message.Span;
        int nul = span.IndexOf((byte)0);
        if (nul >= 0) problems.Add(new MimeProblem(MimeProblemKind.NulBytes, nul));
        int bareCr = FindBareCr(span);
        if (bareCr >= 0) problems.Add(new MimeProblem(MimeProblemKind.BareCarriageReturn, bareCr));
        var core = new ParserCore(message, ctx);
        int start = 0;
        if (options.SkipMboxFromLine && span.StartsWith("From "u8))
        {
            core.FindLineEnd(0, out start);
        }
        var msg = core.ParseMessage(start, 0, null, out _);
        if (msg.Headers.Count == 0) problems.Add(new MimeProblem(MimeProblemKind.NoHeaders, start));
        else CheckDuplicates(msg, problems);
        return msg;
    }

    /// <summary>
    /// Reads the stream once into a buffer bounded by <see cref="MimeParserOptions.MaxMessageBytes"/> (longer input
    /// is cut and <see cref="MimeProblemKind.MessageTruncated"/> recorded) and parses it.
    /// </summary>
    public static async Task<MimeMessage> ParseAsync(Stream stream, MimeParserOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= MimeParserOptions.Default;
        int max = Math.Max(0, options.MaxMessageBytes);
        int initial = Math.Min(64 * 1024, max);
        if (stream.CanSeek)
        {
            long remaining = Math.Max(0, stream.Length - stream.Position);
            initial = (int)Math.Min(remaining, max);
        }
        var buf = new byte[Math.Max(initial, 1)];
        int n = 0;
        bool truncated = false;
        while (true)
        {
            if (n == buf.Length)
            {
                if (buf.Length >= max)
                {
                    var probe = new byte[1];
                    truncated = await stream.ReadAsync(probe, cancellationToken).ConfigureAwait(false) > 0;
                    break;
                }
                Array.Resize(ref buf, (int)Math.Min((long)buf.Length * 2, max));
            }
            int read = await stream.ReadAsync(buf.AsMemory(n), cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            n += read;
        }
        var problems = new List<MimeProblem>();
        if (truncated) problems.Add(new MimeProblem(MimeProblemKind.MessageTruncated, n));
        return Parse(buf.AsMemory(0, n), options, problems);
    }

    private static int FindBareCr(ReadOnlySpan<byte> span)
    {
        int off = 0;
        while (true)
        {
            int i = span[off..].IndexOf((byte)'\r');
            if (i < 0) return -1;
            int p = off + i;
            if (p + 1 >= span.Length || span[p + 1] != (byte)'\n') return p;
            off = p + 2;
        }
    }

    private static readonly string[] Singletons =
        ["From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"];

    private static void CheckDuplicates(MimeMessage msg, List<MimeProblem> problems)
    {
        foreach (var name in Singletons)
        {
            int count = 0;
            Header? second = null;
            foreach (var h in msg.Headers)
                if (string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase) && ++count == 2) second = h;
            if (second is not null) problems.Add(new MimeProblem(MimeProblemKind.DuplicateHeader, second.Offset, name));
        }
    }

    internal static MimeMessage ParseDecodedEmbedded(ReadOnlyMemory<byte> bytes, ParseContext ctx, int depth, MimeEntity container)
    {
        var core = new ParserCore(bytes, ctx, decodedContent: true);
        return core.ParseMessage(0, depth, container, out _);
    }
}

internal sealed class ParseContext(MimeParserOptions options, List<MimeProblem> problems)
{
    public MimeParserOptions Options { get; } = options;
    public List<MimeProblem> Problems { get; } = problems;
    public int EntityCount;
    public bool TooManyReported;
    public bool TooDeepReported;
}

/// <summary>Where a scan stopped: a boundary line of some open multipart (Level ≥ 0) or the end of data (Level -1).</summary>
internal readonly record struct BoundaryHit(int Level, bool Close, int LineStart, int Next)
{
    public bool IsEof => Level < 0;
}

internal ref struct ParserCore
{
    private readonly ReadOnlySpan<byte> _buf;
    private readonly ReadOnlyMemory<byte> _mem;
    private readonly ParseContext _ctx;
    private readonly List<byte[]> _boundaries;
    private readonly bool _decodedContent;

    /// <param name="mem">The bytes to parse.</param>
    /// <param name="ctx">Limits and the shared problem list.</param>
    /// <param name="decodedContent">The bytes are a transfer-decoded body, not the message as received.</param>
    public ParserCore(ReadOnlyMemory<byte> mem, ParseContext ctx, bool decodedContent = false)
    {
        _mem = mem;
        _decodedContent = decodedContent;
        _buf = mem.Span;
        _ctx = ctx;
        _boundaries = [];
    }

    private readonly BoundaryHit Eof => new(-1, false, _buf.Length, _buf.Length);

    private readonly void Problem(MimeProblemKind kind, int offset, string? detail = null)
    {
        if (_ctx.Problems.Count < 10000) _ctx.Problems.Add(new MimeProblem(kind, offset, detail));
    }

    /// <summary>Returns the offset of the line terminator (or end) of the line at pos; next = start of the next line.</summary>
    public readonly int FindLineEnd(int pos, out int next)
    {
        int i = _buf[pos..].IndexOfAny((byte)'\r', (byte)'\n');
        if (i < 0) { next = _buf.Length; return _buf.Length; }
        int e = pos + i;
        next = _buf[e] == (byte)'\r' && e + 1 < _buf.Length && _buf[e + 1] == (byte)'\n' ? e + 2 : e + 1;
        return e;
    }

    public MimeMessage ParseMessage(int start, int depth, MimeEntity? container, out BoundaryHit hit)
    {
        var msg = new MimeMessage(_mem, _ctx.Problems, container) { Start = start };
        msg.Root = ParseEntity(msg, container, start, depth, false, out hit);
        return msg;
    }

    // State: HEADERS
    private readonly bool ParseHeaders(int start, List<Header> headers, out int headerEnd, out int bodyStart, out BoundaryHit hit)
    {
        var opt = _ctx.Options;
        int pos = start;
        hit = Eof;
        while (true)
        {
            if (pos >= _buf.Length)
            {
                headerEnd = bodyStart = _buf.Length;
                if (headers.Count > 0) Problem(MimeProblemKind.HeaderOnlyMessage, pos);
                CheckEightBit(start, headerEnd);
                return false;
            }
            int lineEnd = FindLineEnd(pos, out int next);
            if (lineEnd == pos) { headerEnd = pos; bodyStart = next; break; } // empty line: end of headers
            if (pos - start >= opt.MaxHeaderBlockBytes)
            {
                Problem(MimeProblemKind.HeaderBlockTooLarge, pos);
                headerEnd = bodyStart = pos;
                break;
            }
            if (headers.Count >= opt.MaxHeaderCount)
            {
                Problem(MimeProblemKind.TooManyHeaders, pos);
                headerEnd = bodyStart = pos;
                break;
            }
            if (_boundaries.Count > 0 && lineEnd - pos >= 2 && _buf[pos] == (byte)'-' && _buf[pos + 1] == (byte)'-' && MatchBoundary(pos, out var h))
            {
                headerEnd = bodyStart = pos;
                hit = h;
                CheckEightBit(start, headerEnd);
                return true;
            }
            // Field name: printable ASCII up to ':', optionally followed by blanks (obsolete "Name :").
            int i = pos, colon = -1, nameEnd;
            while (i < lineEnd)
            {
                byte c = _buf[i];
                if (c == (byte)':') { colon = i; break; }
                if (c <= 32 || c >= 127) break;
                i++;
            }
            nameEnd = i;
            if (colon < 0 && i > pos && i < lineEnd && (_buf[i] == (byte)' ' || _buf[i] == (byte)'\t'))
            {
                int j = i;
                while (j < lineEnd && (_buf[j] == (byte)' ' || _buf[j] == (byte)'\t')) j++;
                if (j < lineEnd && _buf[j] == (byte)':') colon = j;
            }
            if (colon < 0 || nameEnd == pos)
            {
                // RECOVERY: not a header line. The body starts here (MimeKit does the same).
                Problem(MimeProblemKind.InvalidHeaderLine, pos);
                headerEnd = bodyStart = pos;
                break;
            }
            int end = next, valueEnd = lineEnd;
            while (end < _buf.Length && (_buf[end] == (byte)' ' || _buf[end] == (byte)'\t') && end - start < opt.MaxHeaderBlockBytes)
            {
                valueEnd = FindLineEnd(end, out int n2);
                end = n2;
            }
            if (end - start > opt.MaxHeaderBlockBytes)
            {
                Problem(MimeProblemKind.HeaderBlockTooLarge, pos);
                headerEnd = bodyStart = pos;
                break;
            }
            string name = HeaderNames.Get(_buf[pos..nameEnd]);
            headers.Add(new Header(name, _mem[pos..end], colon + 1 - pos, valueEnd - colon - 1, pos));
            pos = end;
        }
        CheckEightBit(start, headerEnd);
        return false;
    }

    private readonly void CheckEightBit(int start, int end)
    {
        var block = _buf[start..end];
        if (!Ascii.IsValid(block) && !System.Text.Unicode.Utf8.IsValid(block))
            Problem(MimeProblemKind.EightBitHeader, start);
    }

    private static bool IsMessageType(ContentType ct) =>
        ct.MediaType == "message" && ct.MediaSubtype is "rfc822" or "global" or "news" or "rfc2822";

    // State: ENTITY (headers, then dispatch to MULTIPART / MESSAGE / LEAF body)
    private MimeEntity ParseEntity(MimeMessage owner, MimeEntity? parent, int start, int depth, bool inDigest, out BoundaryHit hit)
    {
        var opt = _ctx.Options;
        var headers = new List<Header>();
        bool boundaryInHeaders = ParseHeaders(start, headers, out int headerEnd, out int bodyStart, out var headerHit);
        var hl = new HeaderList(headers);
        var cth = hl.Get("Content-Type");
        ContentType ct;
        if (cth is null) ct = inDigest ? ContentType.Parse("message/rfc822") : ContentType.Default;
        else
        {
            ct = ContentType.Parse(cth.UnfoldedValue);
            if (!ct.IsValid) Problem(MimeProblemKind.InvalidContentType, cth.Offset, cth.UnfoldedValue.Length > 200 ? cth.UnfoldedValue[..200] : cth.UnfoldedValue);
        }
        var entity = new MimeEntity(owner, parent, hl, ct, depth, _mem, _decodedContent) { HeaderStart = start, HeaderEnd = headerEnd, BodyStart = bodyStart };
        _ctx.EntityCount++;
        if (boundaryInHeaders)
        {
            entity.BodyEnd = bodyStart;
            hit = headerHit;
            return entity;
        }
        if (entity.ContentTransferEncoding == ContentEncoding.Unknown)
            Problem(MimeProblemKind.UnknownTransferEncoding, bodyStart, hl.Get("Content-Transfer-Encoding")?.UnfoldedValue);
        bool multipart = ct.MediaType == "multipart";
        bool message = IsMessageType(ct);
        if (multipart || message)
        {
            if (depth >= opt.MaxDepth)
            {
                if (!_ctx.TooDeepReported) { Problem(MimeProblemKind.NestingTooDeep, start); _ctx.TooDeepReported = true; }
                return Leaf(entity, bodyStart, out hit);
            }
            if (_ctx.EntityCount >= opt.MaxEntities)
            {
                if (!_ctx.TooManyReported) { Problem(MimeProblemKind.TooManyEntities, start); _ctx.TooManyReported = true; }
                return Leaf(entity, bodyStart, out hit);
            }
            bool encoded = entity.ContentTransferEncoding is ContentEncoding.Base64 or ContentEncoding.QuotedPrintable or ContentEncoding.UUEncode;
            if (multipart)
            {
                var boundary = ct.Boundary;
                if (string.IsNullOrEmpty(boundary))
                {
                    Problem(MimeProblemKind.MissingBoundaryParameter, cth?.Offset ?? start);
                    return Leaf(entity, bodyStart, out hit);
                }
                // A multipart must not be encoded; mailers that say so anyway mostly send plain parts, so the raw body
                // is tried first and the decoded one only when the boundary is not found there.
                if (encoded) Problem(MimeProblemKind.EncodedCompositeBody, bodyStart, ct.MimeType);
                ParseMultipart(owner, entity, bodyStart, depth, boundary, ct.MediaSubtype == "digest",
                    entity.ContentTransferEncoding is ContentEncoding.Base64 or ContentEncoding.QuotedPrintable, out hit);
                return entity;
            }
            if (encoded)
            {
                // RECOVERY: a base64/QP message/rfc822: decode it and parse the decoded bytes as a separate buffer.
                Problem(MimeProblemKind.EncodedCompositeBody, bodyStart, ct.MimeType);
                Leaf(entity, bodyStart, out hit);
                var decoded = entity.GetContentBytes();
                entity.EmbeddedMessage = MimeParser.ParseDecodedEmbedded(decoded, _ctx, depth + 1, entity);
                return entity;
            }
            var embedded = ParseMessage(bodyStart, depth + 1, entity, out hit);
            entity.EmbeddedMessage = embedded;
            entity.BodyEnd = embedded.Root.BodyEnd;
            return entity;
        }
        return Leaf(entity, bodyStart, out hit);
    }

    // State: LEAF BODY — scan to the next boundary of any open multipart (or the end).
    private readonly MimeEntity Leaf(MimeEntity entity, int bodyStart, out BoundaryHit hit)
    {
        hit = ScanToBoundary(bodyStart);
        entity.BodyEnd = BodyEndBefore(hit, bodyStart);
        return entity;
    }

    // State: MULTIPART — preamble, parts, close delimiter, epilogue.
    private void ParseMultipart(MimeMessage owner, MimeEntity entity, int bodyStart, int depth, string boundary, bool digest, bool encoded, out BoundaryHit hit)
    {
        var bytes = BoundaryBytes(boundary);
        foreach (var b in _boundaries)
        {
            if (b.AsSpan().SequenceEqual(bytes)) { Problem(MimeProblemKind.ReusedBoundary, bodyStart, boundary); break; }
        }
        _boundaries.Add(bytes);
        int level = _boundaries.Count - 1;
        var h = ScanToBoundary(bodyStart);
        if (h.Level == level)
        {
            entity.MarkMultipart();
            entity.SplitBoundary = boundary;
            SplitParts(owner, entity, h, level, depth, boundary, digest, out hit, out int end);
            entity.BodyEnd = end;
            return;
        }
        _boundaries.RemoveAt(level);
        int bodyEnd = BodyEndBefore(h, bodyStart);
        int limit = h.IsEof ? _buf.Length : h.LineStart;
        entity.BodyEnd = bodyEnd;
        hit = h;
        // RECOVERY: a base64/QP multipart whose boundary only shows once decoded: split the decoded copy.
        if (encoded && TrySplitDecoded(owner, entity, depth, boundary, digest)) return;
        // RECOVERY: the declared boundary is mangled, but the body has "--token" ... "--token--" lines.
        if (GuessBoundary(bodyStart, limit) is { } guess)
        {
            _boundaries.Add(guess);
            var g = ScanToBoundary(bodyStart);
            if (g.Level == level)
            {
                string name = Encoding.Latin1.GetString(guess);
                Problem(MimeProblemKind.BoundaryGuessed, g.LineStart, $"declared \"{Cut(boundary)}\", used \"{Cut(name)}\"");
                entity.MarkMultipart();
                entity.SplitBoundary = name;
                SplitParts(owner, entity, g, level, depth, name, digest, out hit, out int end);
                entity.BodyEnd = end;
                return;
            }
            _boundaries.RemoveAt(level);
        }
        Problem(MimeProblemKind.BoundaryNotFound, bodyStart, Cut(boundary));
    }

    private static string Cut(string s) => s.Length > 100 ? s[..100] : s;

    private static byte[] BoundaryBytes(string boundary) =>
        Ascii.IsValid(boundary) ? Encoding.ASCII.GetBytes(boundary) : Encoding.UTF8.GetBytes(boundary);

    /// <summary>Decodes an encoded multipart's body and splits it; false (and no parts) when that finds nothing.</summary>
    private readonly bool TrySplitDecoded(MimeMessage owner, MimeEntity entity, int depth, string boundary, bool digest)
    {
        var decoded = entity.GetContentBytes();
        if (decoded.IsEmpty) return false;
        var inner = new ParserCore(decoded, _ctx, decodedContent: true);
        return inner.SplitDecodedMultipart(owner, entity, depth, boundary, digest);
    }

    /// <summary>In a core over a decoded body: finds the declared (or a guessed) boundary and adds the parts.</summary>
    private bool SplitDecodedMultipart(MimeMessage owner, MimeEntity entity, int depth, string boundary, bool digest)
    {
        _boundaries.Add(BoundaryBytes(boundary));
        var h = ScanToBoundary(0);
        string name = boundary;
        if (h.Level != 0)
        {
            _boundaries.Clear();
            if (GuessBoundary(0, _buf.Length) is not { } guess) return false;
            _boundaries.Add(guess);
            h = ScanToBoundary(0);
            if (h.Level != 0) return false;
            name = Encoding.Latin1.GetString(guess);
            Problem(MimeProblemKind.BoundaryGuessed, h.LineStart, $"declared \"{Cut(boundary)}\", used \"{Cut(name)}\" (decoded body)");
        }
        entity.MarkMultipart();
        entity.HasDecodedParts = true;
        entity.SplitBoundary = name;
        SplitParts(owner, entity, h, 0, depth, name, digest, out _, out _);
        return true;
    }

    /// <summary>
    /// Guesses a boundary from the body between <paramref name="from"/> and <paramref name="limit"/>: the token of
    /// the first line "--token" for which a later line "--token--" exists (and no such close line comes before it).
    /// The token needs a letter or digit, so rows of dashes never count. Each line is looked at once.
    /// </summary>
    private readonly byte[]? GuessBoundary(int from, int limit)
    {
        const int MaxTokens = 1000, MaxTokenLength = 256;
        Dictionary<string, int>? firstOpen = null, firstClose = null, lastClose = null;
        int p = from;
        while (p < limit)
        {
            if (p + 2 < limit && _buf[p] == (byte)'-' && _buf[p + 1] == (byte)'-')
            {
                int lineEnd = Math.Min(FindLineEnd(p, out _), limit);
                var tok = _buf[(p + 2)..lineEnd].TrimEnd(" \t"u8);
                if (tok.Length is > 0 and <= MaxTokenLength && IsBoundaryLike(tok))
                {
                    firstOpen ??= new(StringComparer.Ordinal);
                    firstClose ??= new(StringComparer.Ordinal);
                    lastClose ??= new(StringComparer.Ordinal);
                    if (tok.Length > 2 && tok.EndsWith("--"u8) && IsBoundaryLike(tok[..^2]))
                    {
                        string c = Encoding.Latin1.GetString(tok[..^2]);
                        if (firstClose.Count < MaxTokens) firstClose.TryAdd(c, p);
                        if (lastClose.ContainsKey(c) || lastClose.Count < MaxTokens) lastClose[c] = p;
                    }
                    string o = Encoding.Latin1.GetString(tok);
                    if (firstOpen.Count < MaxTokens) firstOpen.TryAdd(o, p);
                }
            }
            // Next "--" at the start of a line.
            int s = p + 1;
            p = limit;
            while (s < limit)
            {
                int idx = _buf[s..limit].IndexOf("--"u8);
                if (idx < 0) break;
                int q = s + idx;
                if (_buf[q - 1] is (byte)'\n' or (byte)'\r') { p = q; break; }
                s = q + 1;
            }
        }
        if (firstOpen is null) return null;
        string? best = null;
        int bestAt = int.MaxValue;
        foreach (var (tok, at) in firstOpen)
        {
            if (at >= bestAt || !lastClose!.TryGetValue(tok, out int close) || close <= at) continue;
            if (firstClose!.TryGetValue(tok, out int fc) && fc < at) continue;
            best = tok;
            bestAt = at;
        }
        return best is null ? null : Encoding.Latin1.GetBytes(best);
    }

    /// <summary>Printable ASCII (inner blanks allowed), with at least one letter or digit.</summary>
    private static bool IsBoundaryLike(ReadOnlySpan<byte> tok)
    {
        bool alnum = false;
        foreach (byte c in tok)
        {
            if (c < 0x20 || c > 0x7E) return false;
            if ((c | 0x20) is >= (byte)'a' and <= (byte)'z' || c is >= (byte)'0' and <= (byte)'9') alnum = true;
        }
        return alnum;
    }

    /// <summary>From the first delimiter <paramref name="h"/> of <paramref name="level"/>: parts, close delimiter and
    /// epilogue. <paramref name="end"/> is the end of the multipart body in this core's buffer.</summary>
    private void SplitParts(MimeMessage owner, MimeEntity entity, BoundaryHit h, int level, int depth, string boundary, bool digest, out BoundaryHit hit, out int end)
    {
        while (true)
        {
            if (h.Close)
            {
                _boundaries.RemoveAt(level);
                var after = ScanToBoundary(h.Next); // epilogue
                end = BodyEndBefore(after, h.Next);
                hit = after;
                return;
            }
            if (_ctx.EntityCount >= _ctx.Options.MaxEntities)
            {
                if (!_ctx.TooManyReported) { Problem(MimeProblemKind.TooManyEntities, h.LineStart); _ctx.TooManyReported = true; }
                _boundaries.RemoveAt(level);
                var rest = ScanToBoundary(h.Next);
                end = BodyEndBefore(rest, h.Next);
                hit = rest;
                return;
            }
            var child = ParseEntity(owner, entity, h.Next, depth + 1, digest, out var ch);
            entity.AddChild(child);
            if (ch.Level == level) { h = ch; continue; }
            // RECOVERY: end of data or an outer boundary before our close delimiter.
            Problem(MimeProblemKind.MissingCloseBoundary, ch.LineStart, Cut(boundary));
            _boundaries.RemoveAt(level);
            end = child.BodyEnd;
            hit = ch;
            return;
        }
    }

    private readonly int BodyEndBefore(BoundaryHit hit, int floor)
    {
        if (hit.IsEof) return _buf.Length;
        int p = hit.LineStart;
        if (p > floor && _buf[p - 1] == (byte)'\n')
        {
            p--;
            if (p > floor && _buf[p - 1] == (byte)'\r') p--;
        }
        else if (p > floor && _buf[p - 1] == (byte)'\r') p--;
        return Math.Max(p, floor);
    }

    /// <summary>From a line start, finds the next line that is a boundary of an open multipart.</summary>
    private readonly BoundaryHit ScanToBoundary(int pos)
    {
        if (_boundaries.Count == 0 || pos >= _buf.Length) return Eof;
        int p = pos;
        while (true)
        {
            if (p + 1 < _buf.Length && _buf[p] == (byte)'-' && _buf[p + 1] == (byte)'-' && MatchBoundary(p, out var hit)) return hit;
            // Next "--" at the start of a line.
            int s = p + 1;
            while (true)
            {
                if (s >= _buf.Length) return Eof;
                int idx = _buf[s..].IndexOf("--"u8);
                if (idx < 0) return Eof;
                int q = s + idx;
                byte prev = _buf[q - 1];
                if (prev == (byte)'\n' || prev == (byte)'\r') { p = q; break; }
                s = q + 1;
            }
        }
    }

    private readonly bool MatchBoundary(int lineStart, out BoundaryHit hit)
    {
        int lineEnd = FindLineEnd(lineStart, out int next);
        var line = _buf[(lineStart + 2)..lineEnd];
        for (int i = _boundaries.Count - 1; i >= 0; i--)
        {
            var b = _boundaries[i];
            if (!line.StartsWith(b)) continue;
            var rest = line[b.Length..];
            bool close = false;
            if (rest.StartsWith("--"u8)) { close = true; rest = rest[2..]; }
            if (rest.TrimEnd(" \t"u8).IsEmpty)
            {
                hit = new BoundaryHit(i, close, lineStart, next);
                return true;
            }
        }
        hit = default;
        return false;
    }
}

/// <summary>Interned common header names, so parsing does not allocate a string per field name.</summary>
internal static class HeaderNames
{
    private static readonly string[] Known =
    [
        "Received", "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Message-Id", "Return-Path", "Reply-To", "Sender",
        "MIME-Version", "Mime-Version", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-ID", "Content-Description",
        "X-Mailer", "References", "In-Reply-To", "Delivered-To", "X-Spam-Status", "X-Spam-Level", "X-Spam-Checker-Version", "Precedence",
        "List-Unsubscribe", "List-Id", "List-Help", "List-Subscribe", "List-Post", "List-Archive", "Errors-To", "X-Beenthere", "X-Mailman-Version",
        "X-Priority", "X-MSMail-Priority", "X-MimeOLE", "X-Originating-IP", "DKIM-Signature", "Authentication-Results", "X-Original-To",
        "Importance", "Organization", "User-Agent", "X-Loop", "Content-Length", "Lines", "Status", "X-Status", "X-Keywords", "X-UID",
        "Content-Language", "Thread-Topic", "Thread-Index", "X-Virus-Scanned", "X-Accept-Language", "X-Authentication-Warning",
    ];

    private static readonly byte[][] KnownBytes = Known.Select(Encoding.ASCII.GetBytes).ToArray();

    public static string Get(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < KnownBytes.Length; i++)
            if (KnownBytes[i].Length == name.Length && name.SequenceEqual(KnownBytes[i])) return Known[i];
        return Encoding.Latin1.GetString(name);
    }
}
