using System.Buffers;
using System.Text;

namespace Assp.Smtp.Session;

/// <summary>
/// A growable output buffer rented from the shared pool (no large allocation per message). Room kept free in
/// front (headroom) lets a command whose text depends on the content, such as "BDAT size LAST", go out in the
/// same write as the content.
/// </summary>
internal sealed class PooledOutput : IDisposable
{
    private byte[] _buffer;
    private int _start;
    private int _end;

    public PooledOutput(int initial, int headroom = 0)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(initial + headroom);
        _start = _end = headroom;
    }

    public int WrittenCount => _end - _start;
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(_start, _end - _start);

    /// <summary>Empties the buffer; the headroom is given up.</summary>
    public void Clear() => _start = _end = 0;

    public void Write(ReadOnlySpan<byte> data)
    {
        if (_end + data.Length > _buffer.Length) Grow(data.Length);
        data.CopyTo(_buffer.AsSpan(_end));
        _end += data.Length;
    }

    private void Grow(int more)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _end + more));
        _buffer.AsSpan(0, _end).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void WriteUtf8(string text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (_end + max > _buffer.Length) Grow(max);
        _end += Encoding.UTF8.GetBytes(text, _buffer.AsSpan(_end));
    }

    /// <summary>Puts data in front of what is written, in the headroom.</summary>
    public void Prepend(ReadOnlySpan<byte> data)
    {
        if (data.Length > _start) throw new InvalidOperationException("not enough headroom");
        _start -= data.Length;
        data.CopyTo(_buffer.AsSpan(_start));
    }

    public void Dispose()
    {
        var b = _buffer;
        _buffer = [];
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}
