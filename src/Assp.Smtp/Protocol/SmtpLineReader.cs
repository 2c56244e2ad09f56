using System.Buffers;

namespace Assp.Smtp.Protocol;

public enum LineStatus { Line, Partial, TooLong, EndOfStream }

/// <summary>One line read from a peer; the bytes stay valid until the next read.</summary>
public readonly record struct LineResult(LineStatus Status, ReadOnlyMemory<byte> Bytes, bool BareLf);

/// <summary>
/// Reads CRLF (or bare LF) terminated lines from a stream into one pooled buffer. Over-long lines are either
/// reported (commands: the rest of the line is skipped) or handed out in pieces (message data), so memory per
/// connection stays bounded whatever the peer sends.
/// </summary>
public sealed class SmtpLineReader : IDisposable
{
    private Stream _stream;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _skipping;

    public SmtpLineReader(Stream stream, int bufferSize = 8192)
    {
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    /// <summary>Bytes received but not yet returned as lines (a pipelined batch).</summary>
    public int Buffered => _end - _start;

    /// <summary>True when a whole line is already buffered (the client pipelined more commands).</summary>
    public bool HasBufferedLine => _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n') >= 0;

    /// <summary>Switches to a new stream (after a TLS handshake) and drops anything buffered from the old one.</summary>
    public int ReplaceStream(Stream stream)
    {
        int dropped = _end - _start;
        _stream = stream;
        _start = _end = 0;
        return dropped;
    }

    /// <summary>
    /// Reads one line of at most maxLength bytes (without its line end). With allowPartial, a longer line comes out
    /// in maxLength pieces with status Partial; without it, the line is consumed and TooLong is returned.
    /// </summary>
    public async ValueTask<LineResult> ReadLineAsync(int maxLength, bool allowPartial, CancellationToken cancellationToken)
    {
        if (_buffer.Length < maxLength + 2) Grow(maxLength + 2);
        while (true)
        {
            var window = _buffer.AsSpan(_start, _end - _start);
            int lf = window.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                int lineEnd = _start + lf;
                bool cr = lf > 0 && _buffer[lineEnd - 1] == '\r';
                int contentLength = cr ? lf - 1 : lf;
                var result = new LineResult(LineStatus.Line, _buffer.AsMemory(_start, contentLength), !cr);
                _start = lineEnd + 1;
                if (_skipping)
                {
                    _skipping = false;
                    if (!allowPartial) return new LineResult(LineStatus.TooLong, ReadOnlyMemory<byte>.Empty, false);
                }
                if (contentLength > maxLength && !allowPartial) return new LineResult(LineStatus.TooLong, ReadOnlyMemory<byte>.Empty, false);
                return result;
            }
            if (_end - _start >= maxLength)
            {
                // No line end within the limit.
                if (allowPartial)
                {
                    // Keep a trailing CR back: it may be the first half of CRLF.
                    int take = _buffer[_end - 1] == '\r' ? _end - _start - 1 : _end - _start;
                    var piece = _buffer.AsMemory(_start, take);
                    _start += take;
                    return new LineResult(LineStatus.Partial, piece, false);
                }
                _skipping = true;
                _start = _end = 0;
            }
            Compact();
            int read = await _stream.ReadAsync(_buffer.AsMemory(_end, _buffer.Length - _end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                // Whatever is left without a line end is incomplete and not handed out.
                return new LineResult(LineStatus.EndOfStream, ReadOnlyMemory<byte>.Empty, false);
            }
            _end += read;
        }
    }

    /// <summary>The bytes received and not yet consumed, for bulk reading (message data); valid until the next read.</summary>
    public ReadOnlySpan<byte> BufferedSpan => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Marks bytes of <see cref="BufferedSpan"/> as consumed.</summary>
    public void Consume(int count)
    {
        if ((uint)count > (uint)(_end - _start)) throw new ArgumentOutOfRangeException(nameof(count));
        _start += count;
    }

    /// <summary>Grows the buffer to at least size bytes (message data comes in larger reads).</summary>
    public void EnsureCapacity(int size)
    {
        if (_buffer.Length < size) Grow(size);
    }

    /// <summary>Goes back to a buffer of about size bytes when what is left unread fits (an idle session keeps little).</summary>
    public void TrimCapacity(int size)
    {
        int left = _end - _start;
        if (_buffer.Length <= 2 * size || left > size) return;
        var smaller = ArrayPool<byte>.Shared.Rent(size);
        Buffer.BlockCopy(_buffer, _start, smaller, 0, left);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = smaller;
        _start = 0;
        _end = left;
    }

    /// <summary>Reads at least one more byte into the buffer behind what is left unconsumed; false at the end of the stream.</summary>
    public async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        Compact();
        if (_end == _buffer.Length) Grow(_buffer.Length * 2);
        int read = await _stream.ReadAsync(_buffer.AsMemory(_end, _buffer.Length - _end), cancellationToken).ConfigureAwait(false);
        if (read == 0) return false;
        _end += read;
        return true;
    }

    private void Compact()
    {
        if (_start == 0) return;
        if (_start == _end)
        {
            _start = _end = 0;
            return;
        }
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
        _end -= _start;
        _start = 0;
    }

    private void Grow(int size)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        Buffer.BlockCopy(_buffer, _start, bigger, 0, _end - _start);
        _end -= _start;
        _start = 0;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose()
    {
        var b = _buffer;
        _buffer = [];
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}
