using System.Buffers;
using System.Globalization;
using System.Text;
using Assp.Checks;
using Assp.Smtp.Protocol;

namespace Assp.Smtp.Session;

public sealed partial class ProxySession
{
    private static readonly SmtpPhase[] s_dataPhases = [SmtpPhase.DataHeader, SmtpPhase.DataBody];

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
        if (_ctx.RecipientList.Count == 0 && _emailCommand is null && !_blockReportRequest)
        {
            if (!_ctx.RelayAllowed) Penalize("erValencePB", "EmptyRecipient");
            await ErrorAsync("503 5.5.2 Need Recipient", ct).ConfigureAwait(false);
            return;
        }
        if (await RelaySenderRefusedAsync(ct).ConfigureAwait(false))
        {
            _closing = true;
            return;
        }
        Queue("354 End data with <CR><LF>.<CR><LF>\r\n");
        await FlushAsync(ct).ConfigureAwait(false);

        _ctx.Message ??= new MessageBuffer(MemoryLimitPerMessage, Path.Combine(_cfg.BaseDirectory, "tmp"));
        _ctx.Message.Reset();
        long limit = MaxMessageSize;
        var outcome = await ReceiveMessageAsync(_ctx.Message, limit, ct).ConfigureAwait(false);
        if (outcome == ReceiveOutcome.PreHeaderDrop) return;   // preHeaderRe: 421 sent, the session is closing
        if (outcome == ReceiveOutcome.Disconnected)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> client disconnected during DATA after {_ctx.Message.Length} bytes; nothing was delivered");
            _closing = true;
            return;
        }
        if (outcome == ReceiveOutcome.StoreFailed)
        {
            Queue("451 Requested action aborted: local error in processing\r\n");
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            ResetTransaction();
            return;
        }
        if (outcome == ReceiveOutcome.TooLarge)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> message larger than {limit} bytes refused");
            _server.Statistics.Refused(null, "maxSize", temporary: false, inTransaction: true);
            await ErrorAsync(_cfg["maxSizeError"].Replace("MAXSIZE", limit.ToString(CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            return;
        }
        InspectMessageForLogging();

        // maxRealSize: the size times the number of recipients (what the MTA will store in the end).
        long realLimit = _ctx.RelayAllowed ? SizeLimit("maxRealSize", "MaxRealSizeAdr") : SizeLimit("maxRealSizeExternal", "MaxRealSizeExternalAdr");
        long realSize = _ctx.Message.Length * _ctx.RecipientList.Count;
        if (realLimit > 0 && realSize > realLimit)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> message of {_ctx.Message.Length} bytes to {_ctx.RecipientList.Count} recipients exceeds {realLimit}");
            _server.Statistics.Refused(null, "maxRealSize", temporary: false, inTransaction: true);
            await ErrorAsync(_cfg["maxRealSizeError"].Replace("MAXREALSIZE", realLimit.ToString(CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            return;
        }

        // ---- the email interface: the message is the request ----
        if (_blockReportRequest)
        {
            await BlockReportDataAsync(ct).ConfigureAwait(false);
            return;
        }
        if (_emailCommand is not null)
        {
            await EmailInterfaceDataAsync(ct).ConfigureAwait(false);
            return;
        }

        // ---- NullAddresses / CatchallallISP2NULL (Recipients/): taken and silently discarded ----
        if (_ctx.CheckState.Message.NullConnection)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> NULL connection: message of {_ctx.Message.Length} bytes discarded");
            _server.Statistics.MessageDone(_ctx.CheckState.Message, Assp.Checks.Statistics.MessageOutcome.Discarded, 0);
            Queue("250 OK\r\n");
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            ResetTransaction();
            return;
        }

        Mark(Monitoring.SessionPhase.Checking);
        foreach (var phase in s_dataPhases)
        {
            var verdict = await _pipeline.RunAsync(phase, _ctx, ct).ConfigureAwait(false);
            if (!verdict.Refuses) continue;
            // A refused message is collected as its verdict says (spam folder, discarded, …); a temporary refusal is not final.
            var refusedFile = verdict.Kind == VerdictKind.TempFail ? null : CollectMessage();
            if (verdict.Kind != VerdictKind.TempFail) QueueSpamCopy();
            await RefuseAsync(verdict, phase == SmtpPhase.DataHeader ? "header" : "body", ct, FileSuffix(refusedFile)).ConfigureAwait(false);
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            return;
        }
        // A check may have moved the mail to the NULL connection (Back250OKISP): 250 OK, and it is dropped.
        if (_ctx.CheckState.Message.NullConnection)
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> NULL connection: message of {_ctx.Message.Length} bytes discarded");
            _server.Statistics.MessageDone(_ctx.CheckState.Message, Assp.Checks.Statistics.MessageOutcome.Discarded, _ctx.Message.Length);
            Queue("250 OK\r\n");
            await ResetUpstreamTransactionAsync(ct).ConfigureAwait(false);
            ResetTransaction();
            return;
        }

        // A check changed the body (ASSP_AFCReplBadAttach): the changed message is what goes on.
        if (_ctx.CheckState.Message.ReplacementMessage is { } changed)
        {
            _ctx.Message.Reset();
            _ctx.Message.Write(changed);
            _ctx.CheckState.Message.ReplacementMessage = null;
        }

        Mark(Monitoring.SessionPhase.Forwarding);
        var reply = await DeliverAsync(ct).ConfigureAwait(false);
        if (reply is null) return;   // the MTA failed mid-transfer; the client got 451 and the session is closing
        var size = _ctx.Message.Length;
        var storedFile = FileSuffix(CollectMessage());
        // A spam let through (test mode, spam lovers) may be copied like a blocked one; delivered ham per the ham copy options.
        if (_ctx.CheckState.Message.SpamFound) QueueSpamCopy();
        else if (reply.IsSuccess) QueueHamCopy();
        if (reply.IsSuccess)
        {
            _ctx.Delivered = true;
            _server.CountDelivered();
            _server.Statistics.MessageDone(_ctx.CheckState.Message, Assp.Checks.Statistics.MessageOutcome.Delivered, size);
            Queue(reply.ToWire());
            foreach (var rcpt in _ctx.RecipientList)
                Log($"[MessageOK] {_ctx.RemoteAddress} <{_ctx.MailFrom}> to: {rcpt} message ok - {size} bytes - {reply}{LoggedSubject}{storedFile}");
        }
        else
        {
            Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> the MTA refused the message: {reply}{storedFile}");
            _server.Statistics.Refused(_ctx.CheckState.Message, "MTA", temporary: reply.Code < 500, inTransaction: true);
            await ErrorAsync(reply, ct).ConfigureAwait(false);
        }
        await _pipeline.RunAsync(SmtpPhase.AfterDelivery, _ctx, ct).ConfigureAwait(false);
        ResetTransaction();
    }

    /// <summary>
    /// Hands the message to the collector when its verdict names a collection folder; returns the stored file
    /// (relative to the base folder) or null. The file starts with the X-Assp- lines (StoreASSPHeader; the spam flag
    /// lines left out, as ASSP does, so a rebuild does not learn them) and our Received line.
    /// </summary>
    private string? CollectMessage()
    {
        var st = _ctx.CheckState.Message;
        if (st.Collect is not { } target || target == Assp.Checks.Decision.CollectTarget.None || _ctx.Message is null) return null;
        var block = new StringBuilder();
        if (_cfg.GetBool("StoreASSPHeader"))
        {
            block.Append("X-Assp-Version: ASSP for .NET ").Append(SmtpProxyServer.Version).Append(" on ").Append(MyName).Append("\r\n");
            foreach (var line in AsspHeaders().Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.StartsWith("X-Assp-Spam:", StringComparison.OrdinalIgnoreCase) || line.StartsWith("X-Assp-Spam-Level:", StringComparison.OrdinalIgnoreCase)) continue;
                block.Append(line).Append("\r\n");
            }
        }
        block.Append(ReceivedHeader());
        var subject = st.Parsed is { } parsed ? parsed.Subject : RawSubject(_ctx.Message);
        return _server.Collector.Collect(_cfg, new Collection.MessageCollector.Request(target, subject, Encoding.UTF8.GetBytes(block.ToString()),
            StripOwnHeaders, _ctx.MessageId, _logForced), _ctx.Message);
    }

    /// <summary>The maillog's " -> folder/file" for a stored message when fileLogging is on (inclResendLink other than
    /// disabled switches it on, as in ASSP: block reports find the stored files through these names).</summary>
    private string FileSuffix(string? file) =>
        file is not null && (_cfg.GetBool("fileLogging") || _cfg.GetChoice("inclResendLink") != 0) ? " -> " + file : "";

    /// <summary>The Subject as it stands in the header (the parsed message is missing only when no check parsed it).</summary>
    private static string? RawSubject(MessageBuffer message)
    {
        var head = new byte[16 * 1024];
        int n;
        using (var s = message.OpenRead()) n = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var text = Encoding.Latin1.GetString(head, 0, n);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end >= 0) text = text[..end];
        foreach (var line in ("\r\n" + text).Split("\r\n"))
            if (line.StartsWith("Subject:", StringComparison.OrdinalIgnoreCase)) return line[8..].Trim();
        return null;
    }

    private enum ReceiveOutcome { Complete, TooLarge, Disconnected, PreHeaderDrop, StoreFailed }

    /// <summary>Reads the message up to the lone dot: removes dot-stuffing, turns bare LF into CRLF, stops storing past the size limit.</summary>
    private async Task<ReceiveOutcome> ReceiveMessageAsync(MessageBuffer buffer, long limit, CancellationToken ct)
    {
        var receiver = new DataReceiver(buffer, limit);
        // preHeaderRe (issue 9): header lines are tested as they arrive, before the rest of the message is read.
        var preHeader = _ctx.RelayAllowed ? null : PreHeaderScanner.For(_cfg);
        _dataDeadline ??= new ReadDeadline(ct);
        var timeout = IdleTimeout;
        // Larger reads while the message comes in; the session goes back to its small buffer afterwards.
        _reader.EnsureCapacity(DataReadBuffer);
        try
        {
            while (true)
            {
                _reader.Consume(receiver.Scan(_reader.BufferedSpan));
                if (preHeader is { HeaderPassed: false } && buffer.TryGetMemory(out var stored) && preHeader.CheckStored(stored.Span) is { } hit)
                {
                    await DropForPreHeaderAsync(hit).ConfigureAwait(false);
                    return ReceiveOutcome.PreHeaderDrop;
                }
                if (receiver.Ended)
                {
                    if (receiver.StoreFailure is { } failure)
                    {
                        Log($"error: cannot store the message from <{_ctx.MailFrom}> in {buffer.TempFolder}: {failure.Message}; the client was told to try again");
                        return ReceiveOutcome.StoreFailed;
                    }
                    return receiver.TooLarge ? ReceiveOutcome.TooLarge : ReceiveOutcome.Complete;
                }
                // The idle limit counts from the last read, not from the start of the message.
                if (!await _reader.FillAsync(_dataDeadline.Start(timeout)).ConfigureAwait(false)) return ReceiveOutcome.Disconnected;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            if (_cfg.GetBool("ConTimeOutDebug"))
                Log($"{_ctx.RemoteAddress} <{_ctx.MailFrom}> timeout while receiving the message after {buffer.Length} bytes{TimeoutDebug()}");
            return ReceiveOutcome.Disconnected;
        }
        finally
        {
            _dataDeadline.Stop();
            _reader.TrimCapacity(CommandReadBuffer);
        }
    }

    /// <summary>preHeaderRe matched: 421 at once and the connection is dropped (ASSP's early header check).</summary>
    private async Task DropForPreHeaderAsync(string hit)
    {
        Log($"[preHeaderRE][block] {_ctx.RemoteAddress} early (pre)header line check found {hit}");
        await SendNowAsync($"421 {MyName} Service not available, closing transmission channel\r\n", CancellationToken.None).ConfigureAwait(false);
        _closing = true;
    }

    /// <summary>The idle limit while a message comes in; not ended by a graceful stop, so transfers can finish.</summary>
    private ReadDeadline? _dataDeadline;

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
    /// Hands the checked message to the MTA: our Received line in front, the X-Assp- lines at the end of the header.
    /// A message in memory goes out in one write: as "BDAT size LAST" with the message when the MTA offers
    /// CHUNKING (one round trip, nothing to dot-stuff), else after DATA and its 354, dot-stuffed with the final
    /// dot. A message on disk is streamed after DATA. Returns the MTA's reply, or null when the MTA failed (the
    /// client then gets 451 and the connection closes).
    /// </summary>
    private async Task<SmtpReply?> DeliverAsync(CancellationToken ct)
    {
        try
        {
            var message = _ctx.Message!;
            var prefix = _ctx.CheckState.Message.SubjectPrefix;
            var subjectPrefix = prefix.Length > 0 ? EncodeSubjectPrefix(prefix) : null;
            var addition = Encoding.UTF8.GetBytes(AsspHeaders());
            if (message.TryGetMemory(out var stored))
            {
                // genDKIM/genARC sign the bytes the MTA gets: the final message is put together first, the signatures
                // go on top, and the result is only dot-stuffed on the way out.
                PooledOutput? final = null;
                string? signatures = null;
                if (OutboundSigning.Wanted(_cfg, _ctx))
                {
                    final = new PooledOutput(stored.Length + 4096);
                    var plain = new OutboundMessage(StripOwnHeaders, addition, subjectPrefix, dotStuff: false, _ctx.CheckState.Message.HeaderReplacements,
                        _ctx.CheckState.Message.DroppedHeaderFields);
                    plain.Write(stored.Span, final: true, final);
                    plain.Finish(final, withFinalDot: false, endWithLineEnd: true);
                    try
                    {
                        signatures = OutboundSigning.Sign(_cfg, _ctx, final.WrittenMemory, Log);
                    }
                    catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or FormatException or InvalidOperationException)
                    {
                        Log($"error: DKIM/ARC signing failed - {ex.Message}; the message goes out unsigned");
                    }
                    if (signatures is not null)
                    {
                        stored = final.WrittenMemory;
                        addition = [];
                        subjectPrefix = null;
                    }
                }
                using var finalOwner = final;
                bool bdat = _upstreamChunking;
                // DATA goes first: its 354 comes back while the message is put together.
                if (!bdat) await _upstream!.SendLineAsync("DATA", ct).ConfigureAwait(false);
                using var output = new PooledOutput(stored.Length + 4096, headroom: bdat ? 32 : 0);
                output.WriteUtf8(ReceivedHeader());
                if (signatures is not null) output.WriteUtf8(signatures);
                // Signed bytes already carry our headers and the FBMTV replacements; they go out as they are.
                var writer = new OutboundMessage(StripOwnHeaders && signatures is null, addition, subjectPrefix, dotStuff: !bdat,
                    signatures is null ? _ctx.CheckState.Message.HeaderReplacements : null, signatures is null ? _ctx.CheckState.Message.DroppedHeaderFields : null);
                writer.Write(stored.Span, final: true, output);
                writer.Finish(output, withFinalDot: !bdat, endWithLineEnd: true);
                if (bdat)
                {
                    output.Prepend(Encoding.ASCII.GetBytes($"BDAT {output.WrittenCount.ToString(CultureInfo.InvariantCulture)} LAST\r\n"));
                }
                else
                {
                    var go = await _upstream!.ReadReplyAsync(UpstreamCommandTimeout, ct).ConfigureAwait(false);
                    if (go.Code != 354) return go;
                }
                await _upstream!.WriteAsync(output.WrittenMemory, ct).ConfigureAwait(false);
                var reply = await _upstream.ReadReplyAsync(UpstreamDataTimeout, ct).ConfigureAwait(false);
                if (bdat && !reply.IsSuccess && reply.Code != 421) await AbandonUpstreamBdatAsync(ct).ConfigureAwait(false);
                return reply;
            }

            if (OutboundSigning.Wanted(_cfg, _ctx) && await SignOnDiskAsync(message, addition, subjectPrefix, ct).ConfigureAwait(false) is { } signedFile)
            {
                // The signed bytes carry our headers and replacements already: they go out as they are, after the signature.
                await using (signedFile.File)
                {
                    var go = await _upstream!.CommandAsync("DATA", UpstreamCommandTimeout, ct).ConfigureAwait(false);
                    if (go.Code != 354) return go;
                    signedFile.File.Position = 0;
                    await CopyDotStuffedAsync(signedFile.File, _upstream.DataStream, false, ct, prefix: Encoding.UTF8.GetBytes(ReceivedHeader() + signedFile.Signature),
                        withFinalDot: true).ConfigureAwait(false);
                    await _upstream.DataStream.FlushAsync(ct).ConfigureAwait(false);
                    return await _upstream.ReadReplyAsync(UpstreamDataTimeout, ct).ConfigureAwait(false);
                }
            }
            var goOn = await _upstream!.CommandAsync("DATA", UpstreamCommandTimeout, ct).ConfigureAwait(false);
            if (goOn.Code != 354) return goOn;
            var stream = _upstream.DataStream;
            await using (var source = message.OpenRead())
            {
                await CopyDotStuffedAsync(source, stream, StripOwnHeaders, ct, addition, Encoding.UTF8.GetBytes(ReceivedHeader()),
                    withFinalDot: true, subjectPrefix: subjectPrefix, headerReplacements: _ctx.CheckState.Message.HeaderReplacements,
                    droppedFields: _ctx.CheckState.Message.DroppedHeaderFields).ConfigureAwait(false);
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

    /// <summary>
    /// genDKIM for a message kept on disk: the final bytes (our headers, subject tag and replacements put in, not
    /// dot-stuffed) go to a second temporary file beside the spool, which is signed by streaming it. Returns that file
    /// (positioned anywhere) with the signature, or null when nothing was signed; the file deletes itself when closed.
    /// </summary>
    private async Task<(FileStream File, string Signature)?> SignOnDiskAsync(MessageBuffer message, byte[] addition, byte[]? subjectPrefix,
        CancellationToken ct)
    {
        Directory.CreateDirectory(message.TempFolder);
        var file = new FileStream(Path.Combine(message.TempFolder, $"signed-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.None, 65536, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await using (var source = message.OpenRead())
            {
                await CopyDotStuffedAsync(source, file, StripOwnHeaders, ct, addition, withFinalDot: false, subjectPrefix: subjectPrefix,
                    headerReplacements: _ctx.CheckState.Message.HeaderReplacements, dotStuff: false).ConfigureAwait(false);
            }
            await file.FlushAsync(ct).ConfigureAwait(false);
            var signature = await OutboundSigning.SignStreamAsync(_cfg, _ctx, file, Log, ct).ConfigureAwait(false);
            if (signature is not null) return (file, signature);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or FormatException or InvalidOperationException)
        {
            Log($"error: DKIM signing failed - {ex.Message}; the message goes out unsigned");
        }
        await file.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// After a refused BDAT, MTAs differ in whether the transaction is still open (RFC 3030 leaves it to RSET):
    /// an RSET makes sure the next MAIL starts clean.
    /// </summary>
    private async Task AbandonUpstreamBdatAsync(CancellationToken ct)
    {
        try
        {
            var reply = await _upstream!.CommandAsync("RSET", UpstreamCommandTimeout, ct).ConfigureAwait(false);
            if (!reply.IsSuccess) _closing = true;
        }
        catch (IOException)
        {
            _closing = true;
        }
    }

    /// <summary>Incoming mail may not bring X-Assp- headers of its own: only this proxy writes them.</summary>
    private bool StripOwnHeaders => !_ctx.RelayAllowed;

    /// <summary>
    /// ASSP's Received: line, put in front of the message: the client's PTR name (or "unknown"), IP and HELO. For outgoing
    /// mail HideIPandHelo ("ip=… helo=…") puts other values in place of the internal client's IP and HELO.
    /// </summary>
    private string ReceivedHeader()
    {
        var with = (_ctx.Esmtp ? "ESMTP" : "SMTP") + (_ctx.IsTls ? "S" : "") + (_ctx.IsAuthenticated ? "A" : "");
        string ip = _ctx.RemoteAddress.ToString(), helo = _ctx.Helo ?? "";
        if (_ctx.RelayAllowed)
        {
            foreach (var token in _cfg["HideIPandHelo"].Split([' ', ',', '|'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (token.StartsWith("ip=", StringComparison.OrdinalIgnoreCase) && token.Length > 3) ip = token[3..];
                else if (token.StartsWith("helo=", StringComparison.OrdinalIgnoreCase) && token.Length > 5) helo = token[5..];
            }
        }
        return $"Received: from {ReverseName() ?? "unknown"} ([{ip}] helo={helo})\r\n\tby {MyName} with {with} (ASSP for .NET {SmtpProxyServer.Version});\r\n\t{ReceivedDate()}\r\n";
    }

    /// <summary>
    /// RelayOnlyLocalDomains / RelayOnlyLocalSender: at DATA, mail relayed by a local client must come from a local domain
    /// (or a valid local address); otherwise the connection is dropped without a reply. Bounces and EmailSenderOK
    /// senders may always relay.
    /// </summary>
    private async Task<bool> RelaySenderRefusedAsync(CancellationToken ct)
    {
        bool domains = _cfg.GetBool("RelayOnlyLocalDomains"), sender = _cfg.GetBool("RelayOnlyLocalSender");
        if (!_ctx.RelayAllowed || !(domains || sender)) return false;
        var from = _ctx.MailFrom ?? "";
        if (from.Length == 0 || _ctx.CheckState.Message.IsBounce || _cfg.GetAddressList("EmailSenderOK").Contains(from)) return false;
        int at = from.LastIndexOf('@');
        var domain = at >= 0 ? from[(at + 1)..] : "";
        string? why = null;
        if (domain.Length == 0 || !await _pipeline.IsLocalDomainAsync(_cfg, domain, ct).ConfigureAwait(false))
            why = "the sender domain is not local";
        else if (sender && !await _pipeline.IsLocalAddressAsync(_cfg, from, ct).ConfigureAwait(false))
            why = "the sender is not a valid local address";
        if (why is null) return false;
        Log($"{_ctx.RemoteAddress} <{from}> relaying refused: {why} ({(sender ? "RelayOnlyLocalSender" : "RelayOnlyLocalDomains")}) -- dropping connection");
        return true;
    }

    private sealed record DateText(long Second, string Text);
    private static DateText? s_receivedDate;

    /// <summary>The date of the Received line, formatted once a second rather than once a message.</summary>
    private static string ReceivedDate()
    {
        long second = Environment.TickCount64 / 1000;
        if (s_receivedDate is { } cached && cached.Second == second) return cached.Text;
        var now = DateTimeOffset.Now;
        var text = now.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture) + now.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", "");
        s_receivedDate = new DateText(second, text);
        return text;
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
    /// Copies a stored message (CRLF lines) to the MTA in chunks, dot-stuffing lines that start with '.', and
    /// optionally leaving out X-Assp- header fields with their continuation lines; headerAddition goes at the end of
    /// the header, prefix in front of everything (see <see cref="OutboundMessage"/>).
    /// </summary>
    internal static async Task CopyDotStuffedAsync(Stream source, Stream target, bool stripAsspHeaders, CancellationToken ct,
        byte[]? headerAddition = null, byte[]? prefix = null, bool withFinalDot = false, byte[]? subjectPrefix = null,
        IReadOnlyList<(string Find, string Replace)>? headerReplacements = null, IReadOnlyCollection<string>? droppedFields = null,
        bool dotStuff = true)
    {
        var writer = new OutboundMessage(stripAsspHeaders, headerAddition, subjectPrefix, dotStuff, headerReplacements, droppedFields);
        using var output = new PooledOutput(128 * 1024);
        if (prefix is not null) output.Write(prefix);
        // Room for a header line up to MaxPiece that is still waiting for its end, plus a full read behind it.
        var buffer = ArrayPool<byte>.Shared.Rent(2 * OutboundMessage.MaxPiece);
        try
        {
            int have = 0;
            while (true)
            {
                int read = await source.ReadAsync(buffer.AsMemory(have), ct).ConfigureAwait(false);
                have += read;
                int used = writer.Write(buffer.AsSpan(0, have), final: read == 0, output);
                buffer.AsSpan(used, have - used).CopyTo(buffer);
                have -= used;
                if (output.WrittenCount >= 64 * 1024)
                {
                    await target.WriteAsync(output.WrittenMemory, ct).ConfigureAwait(false);
                    output.Clear();
                }
                if (read == 0) break;
            }
            writer.Finish(output, withFinalDot, endWithLineEnd: !dotStuff);
            if (output.WrittenCount > 0) await target.WriteAsync(output.WrittenMemory, ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
