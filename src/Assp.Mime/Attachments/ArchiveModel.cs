namespace Assp.Mime.Attachments;

/// <summary>Problems found while listing an archive.</summary>
[Flags]
public enum ArchiveIssues
{
    /// <summary>Nothing noteworthy.</summary>
    None = 0,
    /// <summary>Decompression bomb: extreme claimed compression ratio or total size, overlapping zip entries, or the
    /// uncompressed read budget was exhausted. Listing stopped reading.</summary>
    Bomb = 1,
    /// <summary>A nested archive lies deeper than <see cref="ArchiveListOptions.MaxDepth"/> and was not opened.</summary>
    TooDeep = 2,
    /// <summary>More entries than <see cref="ArchiveListOptions.MaxEntries"/>; the rest was not listed.</summary>
    TooManyEntries = 4,
    /// <summary>The archive (or an entry) is damaged or truncated.</summary>
    Corrupt = 8,
    /// <summary>The format is recognised but its members cannot be listed (bzip2, xz, encrypted or unsupported
    /// 7z headers, encrypted rar headers, damaged directories).</summary>
    NotListable = 16,
    /// <summary>At least one entry (or the whole directory) is password-protected.</summary>
    Encrypted = 32,
    /// <summary>The input or a nested archive exceeded a size limit and was not (fully) read.</summary>
    TooLarge = 64,
}

/// <summary>Limits for <see cref="ArchiveLister.List"/>. All limits are shared across nesting levels.</summary>
public sealed record ArchiveListOptions
{
    /// <summary>Default limits.</summary>
    public static ArchiveListOptions Default { get; } = new();

    /// <summary>How many levels of archives inside archives are opened (the outer archive is depth 0).</summary>
    public int MaxDepth { get; init; } = 3;

    /// <summary>Entries listed in total, over all levels.</summary>
    public int MaxEntries { get; init; } = 2000;

    /// <summary>Decompressed bytes actually read, over all levels (sniffing and nested archives).</summary>
    public long MaxTotalUncompressedBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Sum of the uncompressed sizes the archive claims; more is reported as a bomb.</summary>
    public long MaxClaimedUncompressedBytes { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Claimed compression ratio (uncompressed / compressed) above which an entry larger than
    /// <see cref="RatioCheckMinBytes"/> is reported as a bomb.</summary>
    public double MaxCompressionRatio { get; init; } = 250;

    /// <summary>Entries smaller than this are never judged by their ratio.</summary>
    public long RatioCheckMinBytes { get; init; } = 1024 * 1024;

    /// <summary>Largest nested archive that is decompressed into memory to be listed.</summary>
    public long MaxNestedArchiveBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Largest non-seekable input buffered into memory.</summary>
    public long MaxArchiveBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>How many leading bytes of each entry are decompressed to detect its type.</summary>
    public int SniffBytes { get; init; } = 4096;

    /// <summary>Whether entries are opened at all (type detection and nested archives).</summary>
    public bool ReadEntryContent { get; init; } = true;

    /// <summary>Also hash each ZIP member's whole content (SHA-256, within the byte budget), for known-good lists.</summary>
    public bool HashEntries { get; init; }
}

/// <summary>One member of an archive.</summary>
public sealed class ArchiveEntry
{
    /// <summary>The member name as stored (may contain directories).</summary>
    public required string Name { get; init; }

    /// <summary>The name prefixed with the names of the enclosing archives, separated by "/" ("a.zip/b.zip/x.exe").</summary>
    public required string Path { get; init; }

    /// <summary>Uncompressed size as claimed by the archive (or measured), when known.</summary>
    public long? Size { get; internal set; }

    /// <summary>Compressed size, when known.</summary>
    public long? CompressedSize { get; init; }

    /// <summary>The entry is password-protected.</summary>
    public bool IsEncrypted { get; init; }

    /// <summary>The entry is a directory.</summary>
    public bool IsDirectory { get; init; }

    /// <summary>The type detected from the entry's first bytes, when they could be read cheaply.</summary>
    public DetectedType? DetectedType { get; internal set; }

    /// <summary>The member's SHA-256 in lower-case hex when <see cref="ArchiveListOptions.HashEntries"/> asked for it.</summary>
    public string? Sha256 { get; internal set; }

    /// <summary>The listing of this entry when it is itself an archive and was opened.</summary>
    public ArchiveListing? Nested { get; internal set; }

    /// <summary>Why something was not done or what was odd ("too deep", "encrypted", "ratio 1000:1").</summary>
    public string? Note { get; internal set; }

    /// <inheritdoc/>
    public override string ToString() => $"{Path} ({Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} bytes{(IsEncrypted ? ", encrypted" : "")}{(DetectedType is null ? "" : ", " + DetectedType)})";
}

/// <summary>The members of an archive, with nested listings and problems found.</summary>
public sealed class ArchiveListing
{
    internal readonly List<ArchiveEntry> EntryList = [];
    internal readonly List<string> NoteList = [];

    /// <summary>The archive's name as given (or the entry name for nested archives).</summary>
    public string? Name { get; init; }

    /// <summary>The detected type of the archive itself.</summary>
    public required DetectedType Type { get; init; }

    /// <summary>"zip", "tar", "tar.gz", "gzip", "rar", "cab", "7z", … or "none" when the input is no archive.</summary>
    public required string Format { get; init; }

    /// <summary>Nesting depth (0 for the outer archive).</summary>
    public int Depth { get; init; }

    /// <summary>The members (directories included).</summary>
    public IReadOnlyList<ArchiveEntry> Entries => EntryList;

    /// <summary>Problems found at this level.</summary>
    public ArchiveIssues Issues { get; internal set; }

    /// <summary>Human-readable notes explaining the issues.</summary>
    public IReadOnlyList<string> Notes => NoteList;

    /// <summary>Problems found at this level or any nested level.</summary>
    public ArchiveIssues AllIssues
    {
        get
        {
            var i = Issues;
            foreach (var e in EntryList) if (e.Nested is { } n) i |= n.AllIssues;
            return i;
        }
    }

    /// <summary>True when this level or a nested one was found to be a bomb.</summary>
    public bool IsBomb => (AllIssues & ArchiveIssues.Bomb) != 0;

    /// <summary>True when a nested archive was not opened because of the depth limit.</summary>
    public bool IsTooDeep => (AllIssues & ArchiveIssues.TooDeep) != 0;

    /// <summary>True when the members could be listed (at least partly).</summary>
    public bool IsListable => (Issues & ArchiveIssues.NotListable) == 0;

    /// <summary>All entries of this and every nested listing, depth first.</summary>
    public IEnumerable<ArchiveEntry> AllEntries()
    {
        foreach (var e in EntryList)
        {
            yield return e;
            if (e.Nested is { } n)
                foreach (var inner in n.AllEntries()) yield return inner;
        }
    }

    internal void Add(ArchiveIssues issue, string note)
    {
        Issues |= issue;
        if (NoteList.Count < 100) NoteList.Add(note);
    }
}
