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

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_file is null && _memory!.Length + data.Length > _memoryLimit)
        {
            Directory.CreateDirectory(_tempFolder);
            _file = new FileStream(Path.Combine(_tempFolder, $"msg-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite,
                FileShare.Read, 65536, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            _memory.Position = 0;
            await _memory.CopyToAsync(_file, cancellationToken).ConfigureAwait(false);
            _memory.Dispose();
            _memory = null;
        }
        if (_file is not null) await _file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        else _memory!.Write(data.Span);
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
        _file?.Dispose();
        _file = null;
        _memory ??= new MemoryStream();
        _memory.SetLength(0);
    }

    public void Dispose()
    {
        _file?.Dispose();
        _memory?.Dispose();
    }
}
