using System.Buffers;
using System.Globalization;
using System.Text;
using Assp.Checks;
using Assp.Smtp.Protocol;

namespace Assp.Smtp.Session;

public sealed partial class ProxySession
{
    private static readonly byte[] CrLf = "\r\n"u8.ToArray();

    private async Task DataAsync(string argument, CancellationToken ct)
    {
        if (argument.Trim().Length > 0)
        {
            await ErrorAsync("501 5.5.4 syntax error (no parameters allowed)", ct).ConfigureAwait(false);
            return;
        }
        if (_ctx.MailFrom is null)
        {
            await ErrorAsync("503 5.5.1 need MAIL command", ct).ConfigureAwait(false);
            return;
        }
        if (_ctx.RecipientList.Count == 0)
        {
            await ErrorAsync("503 5.5.2 Need Recipient", ct).ConfigureAwait(false);
            return;
        }
        Queue("354 End data with <CR><LF>.<CR><LF>\r\n");
        await FlushAsync(ct).ConfigureAwait(false);

        _ctx.Message ??= new MessageBuffer(MemoryLimitPerMessage, Path.Combine(_cfg.BaseDirectory, "tmp"));
        _ctx.Message.Reset();
        long limit = MaxMessageSize;
        var outcome = await ReceiveMessageAsync(_ctx.Message, limit, ct).ConfigureAwait(false);
        if (outcome == ReceiveOutcome.Disconnected)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> client disconnected during DATA after {_ctx.Message.Length} bytes; nothing was delivered");
            _closing = true;
            return;
        }
        if (outcome == ReceiveOutcome.TooLarge)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> message larger than {limit} bytes refused");
            await ErrorAsync(_cfg["maxSizeError"].Replace("MAXSIZE", limit.ToString(CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            return;
        }

        // maxRealSize: the size times the number of recipients (what the MTA will store in the end).
        long realLimit = _ctx.RelayAllowed ? SizeLimit("maxRealSize", "MaxRealSizeAdr") : SizeLimit("maxRealSizeExternal", "MaxRealSizeExternalAdr");
        long realSize = _ctx.Message.Length * _ctx.RecipientList.Count;
        if (realLimit > 0 && realSize > realLimit)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> message of {_ctx.Message.Length} bytes to {_ctx.RecipientList.Count} recipients exceeds {realLimit}");
            await ErrorAsync(_cfg["maxRealSizeError"].Replace("MAXREALSIZE", realLimit.ToString(CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            return;
        }

        foreach (var phase in new[] { SmtpPhase.DataHeader, SmtpPhase.DataBody })
        {
            var verdict = await _pipeline.RunAsync(phase, _ctx, ct).ConfigureAwait(false);
            if (!verdict.Refuses) continue;
            await RefuseAsync(verdict, phase == SmtpPhase.DataHeader ? "header" : "body", ct).ConfigureAwait(false);
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            return;
        }

        var reply = await DeliverAsync(ct).ConfigureAwait(false);
        if (reply is null) return;   // the MTA failed mid-transfer; the client got 451 and the session is closing
        var size = _ctx.Message.Length;
        if (reply.IsSuccess)
        {
            _ctx.Delivered = true;
            _server.CountDelivered();
            Queue(reply.ToWire());
            foreach (var rcpt in _ctx.RecipientList)
                Log($"[MessageOK] {_ctx.RemoteAddress} <{_ctx.MailFrom}> to: {rcpt} message ok - {size} bytes - {reply}");
        }
        else
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> the MTA refused the message: {reply}");
            await ErrorAsync(reply, ct).ConfigureAwait(false);
        }
        await _pipeline.RunAsync(SmtpPhase.AfterDelivery, _ctx, ct).ConfigureAwait(false);
        ResetTransaction();
    }

    private enum ReceiveOutcome { Complete, TooLarge, Disconnected }

    /// <summary>Reads the message up to the lone dot: removes dot-stuffing, turns bare LF into CRLF, stops storing past the size limit.</summary>
    private async Task<ReceiveOutcome> ReceiveMessageAsync(MessageBuffer buffer, long limit, CancellationToken ct)
    {
        bool tooLarge = false;
        bool atLineStart = true;
        // One idle timer for the whole message, pushed forward at most once a second (not once per line).
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var timeout = IdleTimeout;
        idle.CancelAfter(timeout);
        long lastReset = Environment.TickCount64;
        while (true)
        {
            LineResult line;
            if (Environment.TickCount64 - lastReset > 1000)
            {
                idle.CancelAfter(timeout);
                lastReset = Environment.TickCount64;
            }
            try
            {
                line = await _reader.ReadLineAsync(MaxDataChunk, allowPartial: true, idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return ReceiveOutcome.Disconnected;
            }
            if (line.Status == LineStatus.EndOfStream) return ReceiveOutcome.Disconnected;
            var bytes = line.Bytes;
            if (atLineStart && line.Status == LineStatus.Line)
            {
                if (bytes.Length == 1 && bytes.Span[0] == '.') return tooLarge ? ReceiveOutcome.TooLarge : ReceiveOutcome.Complete;
            }
            if (atLineStart && bytes.Length > 0 && bytes.Span[0] == '.') bytes = bytes[1..];
            bool complete = line.Status == LineStatus.Line;
            if (!tooLarge)
            {
                long after = buffer.Length + bytes.Length + (complete ? 2 : 0);
                if (limit > 0 && after > limit) tooLarge = true;
                else
                {
                    await buffer.WriteAsync(bytes, ct).ConfigureAwait(false);
                    if (complete) await buffer.WriteAsync(CrLf, ct).ConfigureAwait(false);
                }
            }
            atLineStart = complete;
        }
    }

    /// <summary>Leaves the MTA's transaction clean after a message the proxy refused.</summary>
    private async Task ResetUpstreamTransactionAsync(CancellationToken ct)
    {
        try
        {
            await _upstream!.CommandAsync("RSET", UpstreamCommandTimeout, ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            _closing = true;
        }
        ResetTransaction();
    }

    /// <summary>
    /// Hands the checked message to the MTA: DATA, our headers, the message dot-stuffed, the final dot. Returns the
    /// MTA's reply, or null when the MTA failed (the client then gets 451 and the connection closes).
    /// </summary>
    private async Task<SmtpReply?> DeliverAsync(CancellationToken ct)
    {
        try
        {
            var go = await _upstream!.CommandAsync("DATA", UpstreamCommandTimeout, ct).ConfigureAwait(false);
            if (go.Code != 354) return go;
            var stream = _upstream.DataStream;
            // Received line, message and final dot go out in as few writes as possible (one for most mail).
            await using (var message = _ctx.Message!.OpenRead())
            {
                var prefix = _ctx.CheckState.Message.SubjectPrefix;
                await CopyDotStuffedAsync(message, stream, StripOwnHeaders, ct, Encoding.UTF8.GetBytes(AsspHeaders()),
                    Encoding.UTF8.GetBytes(ReceivedHeader()), withFinalDot: true,
                    subjectPrefix: prefix.Length > 0 ? EncodeSubjectPrefix(prefix) : null).ConfigureAwait(false);
            }
            await stream.FlushAsync(ct).ConfigureAwait(false);
            return await _upstream.ReadReplyAsync(UpstreamDataTimeout, ct).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            Log($"error: the MTA failed while taking the message from <{_ctx.MailFrom}>: {ex.Message}; the client was told to try again");
            Queue("451 Requested action aborted: local error in processing\r\n");
            await FlushAsync(ct).ConfigureAwait(false);
            _closing = true;
            return null;
        }
    }

    /// <summary>Incoming mail may not bring X-Assp- headers of its own: only this proxy writes them.</summary>
    private bool StripOwnHeaders => !_ctx.RelayAllowed;

    /// <summary>ASSP's Received: line, put in front of the message: the client's PTR name (or "unknown"), IP and HELO.</summary>
    private string ReceivedHeader()
    {
        var with = (_ctx.Esmtp ? "ESMTP" : "SMTP") + (_ctx.IsTls ? "S" : "") + (_ctx.IsAuthenticated ? "A" : "");
        var now = DateTimeOffset.Now;
        var date = now.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture) + now.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", "");
        return $"Received: from {_ctx.RemoteHostName ?? "unknown"} ([{_ctx.RemoteAddress}] helo={_ctx.Helo})\r\n\tby {MyName} with {with} (ASSP for .NET {SmtpProxyServer.Version});\r\n\t{date}\r\n";
    }

    /// <summary>The X-Assp- header lines, added at the end of the message header as ASSP does.</summary>
    private string AsspHeaders()
    {
        var sb = new StringBuilder();
        sb.Append("X-Assp-ID: ").Append(MyName).Append(' ').Append(_ctx.MessageId).Append("\r\n");
        sb.Append("X-Assp-Session: ").Append(_ctx.SessionId).Append(" (mail ").Append(_ctx.MessageCount).Append(")\r\n");
        int intended = _cfg.GetChoice("AddIntendedForHeader");
        bool outgoing = _ctx.IsOutgoing;
        if (intended == 3 || (intended == 1 && outgoing) || (intended == 2 && !outgoing))
        {
            sb.Append("X-Assp-Envelope-From: ").Append(_ctx.MailFrom).Append("\r\n");
            foreach (var rcpt in _ctx.RecipientList) sb.Append("X-Assp-Intended-For: ").Append(rcpt).Append("\r\n");
        }
        // The decision engine's lines (spam flags, scores, reasons); header injection is impossible: one line each.
        foreach (var line in _ctx.CheckState.Message.Headers)
            sb.Append(line.Replace('\r', ' ').Replace('\n', ' ')).Append("\r\n");
        return sb.ToString();
    }

    /// <summary>The subject tag as header bytes: ASCII as is, anything else as an RFC 2047 encoded word.</summary>
    private static byte[] EncodeSubjectPrefix(string prefix)
    {
        var clean = prefix.Replace('\r', ' ').Replace('\n', ' ');
        if (Ascii.IsValid(clean)) return Encoding.ASCII.GetBytes(clean);
        return Encoding.ASCII.GetBytes("=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes(clean)) + "?=");
    }

    /// <summary>
    /// Copies the stored message (CRLF lines) to the MTA, dot-stuffing lines that start with '.', and optionally
    /// leaving out X-Assp- header fields with their continuation lines; headerAddition goes at the end of the header.
    /// </summary>
    internal static async Task CopyDotStuffedAsync(Stream source, Stream target, bool stripAsspHeaders, CancellationToken ct,
        byte[]? headerAddition = null, byte[]? prefix = null, bool withFinalDot = false, byte[]? subjectPrefix = null)
    {
        bool added = headerAddition is null || headerAddition.Length == 0;
        bool subjectDone = subjectPrefix is null;
        using var reader = new SmtpLineReader(source, 64 * 1024 + 2);
        using var output = new PooledOutput(128 * 1024);
        if (prefix is not null) output.Write(prefix);
        bool lineStart = true, inHeader = true, skipping = false;
        while (true)
        {
            var line = await reader.ReadLineAsync(MaxDataChunk, allowPartial: true, ct).ConfigureAwait(false);
            if (line.Status == LineStatus.EndOfStream) break;
            var bytes = line.Bytes.Span;
            bool complete = line.Status == LineStatus.Line;
            if (lineStart && inHeader)
            {
                if (bytes.Length == 0)
                {
                    inHeader = false;
                    if (!subjectDone)
                    {
                        // ASSP adds a Subject to tag when the message has none.
                        output.Write("Subject: "u8);
                        output.Write(subjectPrefix);
                        output.Write(CrLf);
                        subjectDone = true;
                    }
                    if (!added)
                    {
                        output.Write(headerAddition);
                        added = true;
                    }
                }
                else if (bytes[0] is (byte)' ' or (byte)'\t') { /* continuation: keeps the previous field's fate */ }
                else skipping = stripAsspHeaders && bytes.Length >= 7 && Ascii.EqualsIgnoreCase(bytes[..7], "X-Assp-"u8);
            }
            if (!(inHeader && skipping))
            {
                if (lineStart && bytes.Length > 0 && bytes[0] == '.') output.Write("."u8);
                if (!subjectDone && lineStart && inHeader && bytes.Length >= 8 && Ascii.EqualsIgnoreCase(bytes[..8], "Subject:"u8))
                {
                    // "Subject: [SPAM] original subject"
                    output.Write(bytes[..8]);
                    output.Write(" "u8);
                    output.Write(subjectPrefix);
                    var rest = bytes[8..];
                    if (rest.Length > 0 && rest[0] is not ((byte)' ' or (byte)'\t')) output.Write(" "u8);
                    bytes = rest;
                    subjectDone = true;
                }
                output.Write(bytes);
                if (complete) output.Write(CrLf);
            }
            lineStart = complete;
            if (output.WrittenCount >= 64 * 1024)
            {
                await target.WriteAsync(output.WrittenMemory, ct).ConfigureAwait(false);
                output.Clear();
            }
        }
        // A message without a body (no empty line): the additions close its header.
        if (!subjectDone)
        {
            if (!lineStart) output.Write(CrLf);
            output.Write("Subject: "u8);
            output.Write(subjectPrefix);
            output.Write(CrLf);
            lineStart = true;
        }
        if (!added)
        {
            if (!lineStart) output.Write(CrLf);
            output.Write(headerAddition);
            lineStart = true;
        }
        if (withFinalDot)
        {
            if (!lineStart) output.Write(CrLf);
            output.Write(".\r\n"u8);
        }
        if (output.WrittenCount > 0) await target.WriteAsync(output.WrittenMemory, ct).ConfigureAwait(false);
    }

    /// <summary>A growable output buffer rented from the shared pool (no large allocation per message).</summary>
    private sealed class PooledOutput(int initial) : IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(initial);
        public int WrittenCount { get; private set; }
        public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, WrittenCount);
        public void Clear() => WrittenCount = 0;

        public void Write(ReadOnlySpan<byte> data)
        {
            if (WrittenCount + data.Length > _buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, WrittenCount + data.Length));
                _buffer.AsSpan(0, WrittenCount).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }
            data.CopyTo(_buffer.AsSpan(WrittenCount));
            WrittenCount += data.Length;
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
    }
}
