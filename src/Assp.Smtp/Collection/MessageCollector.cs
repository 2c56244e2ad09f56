using System.Buffers;
using System.Globalization;
using System.Threading.Channels;
using Assp.Checks.Collection;
using Assp.Checks.Decision;
using Assp.Checks.Virus;
using Assp.Config;
using Assp.Smtp.Session;

namespace Assp.Smtp.Collection;

/// <summary>
/// Stores processed messages in the corpus and collection folders (ASSP's Maillog): the folder follows the message's
/// collection code, freqSpam/freqNonSpam keep only every n-th spam/ham (a skipped spam goes to discarded instead,
/// for block reports), names follow <see cref="CollectFileNames"/>, and at most max(StoreCompleteMail,
/// MaxBytes + header) bytes of the message are kept, after the X-Assp- lines (StoreASSPHeader) and our Received line.
/// The name is chosen at once (the maillog can name the file); the bytes are written by one background writer through
/// a bounded queue into a temporary file that is then renamed, so a slow or full disk never holds up a session and
/// a reader never sees half a file. A failed write is a maillog warning; the mail itself is not affected.
/// </summary>
public sealed class MessageCollector : IAsyncDisposable
{
    private const int CounterSaveEvery = 16;

    private readonly Channel<Job> _queue;
    private readonly Task _writer;
    private readonly Action<string?, string> _log;
    private readonly Random _random;
    private readonly Lock _lock = new();
    private long _counter = -1;
    private long _savedCounter;
    private string? _counterFile;
    private int _hamCount;
    private int _spamCount;

    /// <param name="log">Writes a maillog line (message id, text).</param>
    /// <param name="capacity">Messages that may wait for the writer; past that a message is not collected (and logged).</param>
    public MessageCollector(Action<string?, string>? log, int capacity = 128, Random? random = null)
    {
        _log = log ?? ((_, _) => { });
        _random = random ?? new Random();
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(Math.Max(1, capacity)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Collections written so far (for tests and status).</summary>
    public long Written => Interlocked.Read(ref _written);
    private long _written;

    /// <summary>Collections that failed (disk full, folder not writable) or found the queue full.</summary>
    public long Failed => Interlocked.Read(ref _failed);
    private long _failed;

    /// <summary>A message to store: the header block goes first, then the message from its spool.</summary>
    /// <param name="Complete">keep the whole message whatever StoreCompleteMail says (allLogRe).</param>
    internal sealed record Request(CollectTarget Target, string? Subject, byte[] HeaderBlock, bool StripAsspHeaders, string? MessageId, bool Complete = false);

    private sealed record Job(string Path, string TempFolder, byte[] HeaderBlock, byte[]? Pooled, int PooledLength, Stream? Source,
        long StoreComplete, long MaxBytes, bool Strip, string? MessageId, Assp.Config.Regexes.RegexList NoCollect, ConfigSnapshot? VirusScan)
    {
        /// <summary>MaxAllowedDups for this file's subject, when it applies.</summary>
        public DuplicateLimit? Duplicates { get; init; }
    }

    /// <summary>At most <paramref name="Max"/> files named <paramref name="Prefix"/> + counter stay in the folder;
    /// older ones move to <paramref name="DiscardedFolder"/>.</summary>
    internal sealed record DuplicateLimit(string Prefix, int Max, string DiscardedFolder);

    /// <summary>
    /// Where the code sends the message after freqSpam/freqNonSpam and the folder rules (null: nowhere). Counts the
    /// message for the frequency rules, so call it once per message.
    /// </summary>
    public (CollectTarget Target, string FolderOption)? Plan(ConfigSnapshot cfg, CollectTarget target)
    {
        if (target == CollectTarget.None) return null;
        lock (_lock)
        {
            if (target == CollectTarget.NotSpam)
            {
                if (++_hamCount < cfg.GetInt("freqNonSpam", 1)) return null;
                _hamCount = 0;
            }
            else if (target is CollectTarget.Spam or CollectTarget.SpamAndCopy)
            {
                // A spam skipped by freqSpam is kept in discarded (ASSP does so for block reports).
                if (++_spamCount < cfg.GetInt("freqSpam", 1)) target = CollectTarget.Discard;
                else _spamCount = 0;
            }
        }
        return CorpusFolders.FolderOptionFor(cfg, target) is { } option ? (target, option) : null;
    }

    /// <summary>
    /// Queues the message for its folder and returns the stored file's path relative to the base folder (what the
    /// maillog shows), or null when nothing is stored. Never throws for I/O: problems are logged.
    /// </summary>
    internal string? Collect(ConfigSnapshot cfg, Request request, MessageBuffer message)
    {
        if (Plan(cfg, request.Target) is not { } plan) return null;
        var folder = CorpusFolders.Resolve(cfg, plan.FolderOption)!;
        long counter = NextCounter(cfg);
        long random;
        lock (_lock) random = CollectFileNames.RandomNumber(cfg.GetLong("MaxFiles", 14000), Double(cfg["FilesDistribution"], 1), _random);
        var name = CollectFileNames.FileName(cfg, plan.Target, request.Subject, counter, random);
        var path = Path.Combine(folder, name);
        long storeComplete = request.Complete ? long.MaxValue : Math.Max(0, cfg.GetLong("StoreCompleteMail", 0));
        long maxBytes = Math.Max(0, cfg.GetLong("MaxBytes", 4000));
        var temp = Path.Combine(cfg.BaseDirectory, "tmp", "collect");
        byte[]? pooled = null;
        int pooledLength = 0;
        Stream? source = null;
        try
        {
            if (message.TryGetMemory(out var memory))
            {
                // The session reuses its buffer for the next message: a copy (bounded by the limit) goes to the writer.
                long limit = Limit(storeComplete, maxBytes, HeaderLength(memory.Span));
                pooledLength = (int)Math.Min(memory.Length, limit);
                pooled = ArrayPool<byte>.Shared.Rent(Math.Max(1, pooledLength));
                memory.Span[..pooledLength].CopyTo(pooled);
            }
            else
            {
                // On disk: a handle of our own keeps the spool file readable after the session deletes it.
                source = message.OpenRead();
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _failed);
            _log(request.MessageId, $"warning: the message could not be read for collection in {plan.FolderOption}: {ex.Message}");
            return null;
        }
        var job = new Job(path, temp, request.HeaderBlock, pooled, pooledLength, source, storeComplete, maxBytes, request.StripAsspHeaders, request.MessageId, cfg.GetRegex("noCollectRe"),
            StoredMailScanner.ScansCollected(cfg, plan.FolderOption) ? cfg : null)
        {
            Duplicates = Duplicates(cfg, plan.FolderOption, name, request.Subject),
        };
        if (!_queue.Writer.TryWrite(job))
        {
            Release(job);
            Interlocked.Increment(ref _failed);
            _log(request.MessageId, $"warning: collection queue is full - the message is not stored in {plan.FolderOption}");
            return null;
        }
        return Path.GetRelativePath(cfg.BaseDirectory, path).Replace('\\', '/');
    }

    /// <summary>
    /// MaxAllowedDups: with UseSubjectsAsMaillogNames, at most that many spamlog files with the same subject name are
    /// kept; the oldest beyond go to the discarded folder (which must be set). Subjects matching AllowedDupSubjectRe
    /// are exempt. Null when the rule does not apply to this file.
    /// </summary>
    internal static DuplicateLimit? Duplicates(ConfigSnapshot cfg, string folderOption, string fileName, string? subject)
    {
        if (folderOption != "spamlog" || !cfg.GetBool("UseSubjectsAsMaillogNames")) return null;
        int max = cfg.GetInt("MaxAllowedDups", 0);
        if (max <= 0 || CorpusFolders.Resolve(cfg, "discarded") is not { } discarded) return null;
        if (subject is { Length: > 0 } && cfg.GetRegex("AllowedDupSubjectRe").Match(subject) is not null) return null;
        int cut = fileName.LastIndexOf("--", StringComparison.Ordinal);
        if (cut <= 0) return null;   // no subject, no duplicates to tell apart
        return new DuplicateLimit(fileName[..(cut + 2)], max, discarded);
    }

    /// <summary>Moves the oldest files with the same subject name beyond the limit to the discarded folder.</summary>
    internal static int MoveDuplicates(string folder, DuplicateLimit limit)
    {
        var same = new DirectoryInfo(folder).EnumerateFiles(limit.Prefix + "*")
            .Where(f => f.Name.Length > limit.Prefix.Length && char.IsAsciiDigit(f.Name[limit.Prefix.Length]))
            .OrderBy(f => f.LastWriteTimeUtc).ThenBy(f => f.Name, StringComparer.Ordinal).ToList();
        int moved = 0;
        for (int i = 0; i < same.Count - limit.Max; i++)
        {
            Directory.CreateDirectory(limit.DiscardedFolder);
            same[i].MoveTo(Path.Combine(limit.DiscardedFolder, same[i].Name), overwrite: true);
            moved++;
        }
        return moved;
    }

    /// <summary>How much of the message is kept: all of it up to StoreCompleteMail, and at least the header plus MaxBytes.</summary>
    internal static long Limit(long storeComplete, long maxBytes, long headerLength) => Math.Max(storeComplete, maxBytes + headerLength);

    /// <summary>The length of the header with its blank line; the whole text when there is no blank line.</summary>
    internal static int HeaderLength(ReadOnlySpan<byte> message)
    {
        int end = message.IndexOf("\r\n\r\n"u8);
        return end < 0 ? message.Length : end + 4;
    }

    private static double Double(string value, double fallback) =>
        double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : fallback;

    /// <summary>ASSP's running file counter (1 … 999999999), kept across restarts in the base folder.</summary>
    private long NextCounter(ConfigSnapshot cfg)
    {
        lock (_lock)
        {
            if (_counter < 0)
            {
                _counterFile = Path.Combine(cfg.BaseDirectory, "collectcounter.txt");
                long stored = 0;
                try
                {
                    if (File.Exists(_counterFile)) long.TryParse(File.ReadAllText(_counterFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out stored);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
                // Numbers handed out after the last save may have been used: skip them.
                _counter = stored > 0 ? stored + CounterSaveEvery : 0;
                _savedCounter = _counter;
            }
            if (++_counter > CollectFileNames.CounterWrap) _counter = 1;
            return _counter;
        }
    }

    private void SaveCounter(bool force)
    {
        string? file;
        long value;
        lock (_lock)
        {
            file = _counterFile;
            value = _counter;
            if (file is null || (!force && Math.Abs(value - _savedCounter) < CounterSaveEvery)) return;
            _savedCounter = value;
        }
        try
        {
            File.WriteAllText(file, value.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log(null, $"warning: could not save the collection counter in {file}: {ex.Message}");
        }
    }

    private async Task WriteLoopAsync()
    {
        await foreach (var job in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (await WriteAsync(job).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref _written);
                    if (job.VirusScan is { } cfg) await ScanCollectedAsync(cfg, job).ConfigureAwait(false);
                    if (job.Duplicates is { } dups && MoveDuplicates(Path.GetDirectoryName(job.Path)!, dups) is var moved and > 0)
                        _log(job.MessageId, $"info: moved {moved} older file(s) with the same subject to {dups.DiscardedFolder} (MaxAllowedDups {dups.Max})");
                }
                else _log(job.MessageId, $"info: file {job.Path} was deleted - matched noCollectRe");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                Interlocked.Increment(ref _failed);
                _log(job.MessageId, $"warning: collected mail could not be stored in {job.Path}: {ex.Message}; the mail itself was handled normally");
            }
            finally
            {
                Release(job);
            }
            SaveCounter(force: false);
        }
    }

    /// <summary>
    /// ClamAVLogScan/FileLogScan = 2: the stored file is scanned and, when infected, moved into the viruslog folder.
    /// A scanner that fails leaves the file where it is.
    /// </summary>
    private async Task ScanCollectedAsync(ConfigSnapshot cfg, Job job)
    {
        try
        {
            var virus = await StoredMailScanner.ScanCollectedFileAsync(cfg, job.Path, line => _log(job.MessageId, line), CancellationToken.None).ConfigureAwait(false);
            if (virus is null) return;
            var moved = StoredMailScanner.MoveToVirusFolder(cfg, job.Path);
            _log(job.MessageId, moved is null
                ? $"warning: collected file {job.Path} is virus infected ({virus}) but viruslog names no folder"
                : $"info: moved virus infected file {job.Path} to {moved} - {virus}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log(job.MessageId, $"warning: collected file {job.Path} could not be virus scanned: {ex.Message}");
        }
    }

    private static void Release(Job job)
    {
        if (job.Pooled is not null) ArrayPool<byte>.Shared.Return(job.Pooled);
        job.Source?.Dispose();
    }

    /// <summary>Writes the file; false when noCollectRe matched its start and it was dropped.</summary>
    private static async Task<bool> WriteAsync(Job job)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(job.Path)!);
        Directory.CreateDirectory(job.TempFolder);
        var temp = Path.Combine(job.TempFolder, Guid.NewGuid().ToString("N") + ".tmp");
        long headerLength;
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 65536, FileOptions.Asynchronous))
            {
                await file.WriteAsync(job.HeaderBlock).ConfigureAwait(false);
                var source = job.Source ?? new MemoryStream(job.Pooled!, 0, job.PooledLength, writable: false);
                headerLength = await CopyAsync(source, file, job).ConfigureAwait(false);
            }
            if (job.NoCollect.Count > 0 && await MatchesNoCollectAsync(temp, (int)Math.Min(job.MaxBytes + headerLength, 100_000), job.NoCollect).ConfigureAwait(false))
                return false;
            File.Move(temp, job.Path, overwrite: true);
            return true;
        }
        finally
        {
            try
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>noCollectRe is tested on the stored file's start (our X-Assp- lines included), as ASSP does.</summary>
    private static async Task<bool> MatchesNoCollectAsync(string file, int bytes, Assp.Config.Regexes.RegexList regex)
    {
        var buffer = new byte[Math.Max(0, bytes)];
        int n;
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous))
            n = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false).ConfigureAwait(false);
        return regex.IsMatch(System.Text.Encoding.Latin1.GetString(buffer, 0, n));
    }

    /// <summary>
    /// Copies the message up to its limit, leaving out incoming X-Assp- header lines when asked (only this proxy
    /// writes them). The limit depends on the header length, found as the bytes go by; returns that length.
    /// </summary>
    private static async Task<long> CopyAsync(Stream source, Stream target, Job job)
    {
        var filter = new OutboundMessage(job.Strip, null, null, dotStuff: false);
        using var output = new PooledOutput(128 * 1024);
        var buffer = ArrayPool<byte>.Shared.Rent(2 * OutboundMessage.MaxPiece);
        try
        {
            long consumed = 0, limit = long.MaxValue, headerLength = -1;
            int have = 0;
            uint lastFour = 0;
            bool headerKnown = false;
            while (true)
            {
                int read = await source.ReadAsync(buffer.AsMemory(have, buffer.Length - have)).ConfigureAwait(false);
                if (!headerKnown)
                {
                    for (int i = 0; i < read; i++)
                    {
                        lastFour = (lastFour << 8) | buffer[have + i];
                        if (lastFour == 0x0D0A0D0A)
                        {
                            headerKnown = true;
                            headerLength = consumed + i + 1;
                            limit = Limit(job.StoreComplete, job.MaxBytes, headerLength);
                            break;
                        }
                    }
                    if (read == 0) headerKnown = true;
                }
                read = (int)Math.Min(read, Math.Max(0, limit - consumed));
                consumed += read;
                have += read;
                bool final = read == 0 || consumed >= limit;
                int used = filter.Write(buffer.AsSpan(0, have), final, output);
                buffer.AsSpan(used, have - used).CopyTo(buffer);
                have -= used;
                if (output.WrittenCount >= 64 * 1024)
                {
                    await target.WriteAsync(output.WrittenMemory).ConfigureAwait(false);
                    output.Clear();
                }
                if (final) break;
            }
            filter.Finish(output, withFinalDot: false);
            if (output.WrittenCount > 0) await target.WriteAsync(output.WrittenMemory).ConfigureAwait(false);
            return headerLength < 0 ? consumed : headerLength;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Waits for what is queued to be written (a stop loses no collected mail that was accepted).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        SaveCounter(force: true);
    }
}
