namespace Assp.Smtp.Session;

/// <summary>
/// Holds one received message: in memory up to a bound, then in a temporary file that deletes itself, so a
/// large message never costs more than the bound in memory.
/// </summary>
public sealed class MessageBuffer : IDisposable
{
    private readonly int _memoryLimit;
    private readonly string _tempFolder;
    private MemoryStream? _memory = new();
    private FileStream? _file;

    public MessageBuffer(int memoryLimit, string tempFolder)
    {
        _memoryLimit = memoryLimit;
        _tempFolder = tempFolder;
    }

    public long Length => _file?.Length ?? _memory!.Length;
    public bool IsOnDisk => _file is not null;

    private long _written;

    /// <summary>The length as another thread may read it (the live connections view) while the session writes.</summary>
    public long WrittenBytes => Interlocked.Read(ref _written);
    /// <summary>Where the temporary files go (also used for the signed copy of a large message).</summary>
    public string TempFolder => _tempFolder;

    /// <summary>
    /// Appends data. Synchronous: in memory it is a copy, and past the bound the file takes it through its own
    /// 64 KiB buffer, so the disk is written in large blocks.
    /// </summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (_file is null && _memory!.Length + data.Length > _memoryLimit)
        {
            Directory.CreateDirectory(_tempFolder);
            _file = new FileStream(Path.Combine(_tempFolder, $"msg-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite,
                FileShare.Read, 65536, FileOptions.DeleteOnClose);
            _file.Write(_memory.GetBuffer(), 0, (int)_memory.Length);
            _memory.Dispose();
            _memory = null;
        }
        if (_file is not null) _file.Write(data);
        else _memory!.Write(data);
        Interlocked.Add(ref _written, data.Length);
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(data.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Writes what the file still buffers, at the end of the data: a full disk is then found while the client can
    /// still be told 451, not later when the message is read.
    /// </summary>
    public void Flush() => _file?.Flush();

    /// <summary>The whole message when it is held in memory (no copy); false when it is on disk.</summary>
    public bool TryGetMemory(out ReadOnlyMemory<byte> message)
    {
        if (_file is not null)
        {
            message = default;
            return false;
        }
        message = _memory!.GetBuffer().AsMemory(0, (int)_memory.Length);
        return true;
    }

    /// <summary>A fresh read-only view from the start; several may be open one after another.</summary>
    public Stream OpenRead()
    {
        if (_file is not null)
        {
            _file.Flush();
            return new FileStream(_file.SafeFileHandle.IsClosed ? throw new ObjectDisposedException(nameof(MessageBuffer)) : _file.Name,
                FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 65536, FileOptions.Asynchronous);
        }
        return new MemoryStream(_memory!.GetBuffer(), 0, (int)_memory.Length, writable: false);
    }

    public void Reset()
    {
        CloseFile();
        _memory ??= new MemoryStream();
        _memory.SetLength(0);
        Interlocked.Exchange(ref _written, 0);
    }

    public void Dispose()
    {
        CloseFile();
        _memory?.Dispose();
    }

    /// <summary>
    /// Closing flushes the file's buffer; after a failed write on a full disk that fails again. The message is
    /// dropped anyway (the file deletes itself), so the failure must not stop the session from closing.
    /// </summary>
    private void CloseFile()
    {
        var file = _file;
        _file = null;
        try { file?.Dispose(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }
}
