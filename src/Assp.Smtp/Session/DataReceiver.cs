namespace Assp.Smtp.Session;

/// <summary>
/// Stores message data as it arrives, up to the lone dot, in bulk: runs of ordinary lines go into the buffer as
/// they came; only a leading dot (dot-stuffing, removed) or a bare LF (made CRLF) breaks a run. What is stored is
/// the message as checks read it: CRLF lines, not dot-stuffed. Past the size limit nothing more is stored, but
/// the data is still read to its end.
/// </summary>
internal sealed class DataReceiver(MessageBuffer buffer, long limit)
{
    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    private bool _atLineStart = true;
    private bool _lastWasCr;

    /// <summary>The end line (".") has been seen.</summary>
    public bool Ended { get; private set; }

    /// <summary>The message grew past the limit; it is not stored completely.</summary>
    public bool TooLarge { get; private set; }

    /// <summary>The spool could not be written (disk full, read-only); the rest is read and dropped.</summary>
    public Exception? StoreFailure { get; private set; }

    /// <summary>
    /// Takes what it can of the received bytes and returns how many it consumed: all of them, except a dot at the
    /// start of a line whose meaning the next bytes decide, and nothing after the end line.
    /// </summary>
    public int Scan(ReadOnlySpan<byte> data)
    {
        int pos = 0, run = 0;
        while (pos < data.Length)
        {
            if (_atLineStart && data[pos] == (byte)'.')
            {
                int rest = data.Length - pos;
                if (rest == 1 || (rest == 2 && data[pos + 1] == (byte)'\r'))
                {
                    Store(data[run..pos]);
                    return Done(data, pos);
                }
                if (data[pos + 1] == (byte)'\n' || (data[pos + 1] == (byte)'\r' && data[pos + 2] == (byte)'\n'))
                {
                    Store(data[run..pos]);
                    End();
                    return pos + (data[pos + 1] == (byte)'\n' ? 2 : 3);
                }
                // A stuffed dot: left out.
                Store(data[run..pos]);
                run = ++pos;
            }
            int lf = data[pos..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                // The rest of a line that goes on in the next read.
                _atLineStart = false;
                pos = data.Length;
                break;
            }
            lf += pos;
            bool cr = lf > 0 ? data[lf - 1] == (byte)'\r' : _lastWasCr;
            if (!cr)
            {
                // A bare LF ends a line too; stored as CRLF.
                Store(data[run..lf]);
                Store(CrLf);
                run = lf + 1;
            }
            pos = lf + 1;
            _atLineStart = true;
        }
        Store(data[run..pos]);
        return Done(data, pos);
    }

    private int Done(ReadOnlySpan<byte> data, int consumed)
    {
        if (consumed > 0) _lastWasCr = data[consumed - 1] == (byte)'\r';
        return consumed;
    }

    /// <summary>The end line: what the spool file still buffers is written now, so a full disk still gets a 451.</summary>
    private void End()
    {
        Ended = true;
        if (TooLarge || StoreFailure is not null) return;
        try
        {
            buffer.Flush();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            StoreFailure = ex;
        }
    }

    private void Store(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || TooLarge || StoreFailure is not null) return;
        if (limit > 0 && buffer.Length + bytes.Length > limit)
        {
            TooLarge = true;
            return;
        }
        try
        {
            buffer.Write(bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Read on to the end line so the client hears a 4xx instead of a broken connection.
            StoreFailure = ex;
        }
    }
}
