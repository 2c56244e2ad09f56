using System.Globalization;
using System.Text;

namespace Assp.Storage;

/// <summary>How an import treats what the table already holds.</summary>
public enum FlatImportMode
{
    /// <summary>Adds the file's records, replacing records with the same key (ASSP's <c>.add</c> files).</summary>
    Add,
    /// <summary>Empties the table first (ASSP's <c>.rpl</c> files, and a migration from an ASSP base folder).</summary>
    Replace,
}

/// <summary>A line that was skipped, with where it is.</summary>
public sealed record FlatFileProblem(string File, long Line, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Reason}" : $"{File}: {Reason}";
}

/// <summary>How far an import has come (reported every few thousand lines and once at the end).</summary>
public sealed record FlatFileProgress(string File, string Table, long BytesRead, long TotalBytes, long Records)
{
    public double Fraction => TotalBytes <= 0 ? 1 : Math.Min(1, (double)BytesRead / TotalBytes);
}

public sealed record FlatFileImportResult(string Table, string File, FlatImportMode Mode, long Lines, long Imported,
    long Skipped, IReadOnlyList<FlatFileProblem> Problems)
{
    /// <summary>At most this many problems are kept in <see cref="Problems"/>; <see cref="Skipped"/> counts all.</summary>
    public const int MaxProblemsKept = 1000;
}

public sealed record FlatFileExportResult(string Table, string File, long Written, long Skipped,
    IReadOnlyList<FlatFileProblem> Problems);

/// <summary>Where an ASSP base folder keeps its list files (ASSP's option names and defaults).</summary>
public sealed record AsspFileLocations
{
    public string Whitelistdb { get; init; } = "whitelist";
    public string Redlistdb { get; init; } = "redlist";
    public string Persblackdb { get; init; } = "persblack";
    public string Ldaplistdb { get; init; } = "ldaplist";
    public string Delaydb { get; init; } = "delaydb";
    /// <summary>A prefix: the PenaltyBox files are <c>&lt;pbdb&gt;.black.db</c>, <c>&lt;pbdb&gt;.white.db</c>, ….</summary>
    public string Pbdb { get; init; } = "pb/pbdb";
    public string Spamdb { get; init; } = "spamdb";
    public string Griplist { get; init; } = "griplist";

    /// <summary>Each table with its file relative to the base folder; options that are empty or "DB:…" have no file.</summary>
    public IEnumerable<(string Table, string RelativePath)> Files()
    {
        static bool IsFile(string v) => !string.IsNullOrWhiteSpace(v) && !v.TrimStart().StartsWith("DB:", StringComparison.OrdinalIgnoreCase);
        if (IsFile(Whitelistdb)) yield return (StoreTables.Whitelist, Whitelistdb.Trim());
        if (IsFile(Redlistdb)) yield return (StoreTables.Redlist, Redlistdb.Trim());
        if (IsFile(Persblackdb)) yield return (StoreTables.PersBlack, Persblackdb.Trim());
        if (IsFile(Ldaplistdb)) yield return (StoreTables.LdapList, Ldaplistdb.Trim());
        if (IsFile(Delaydb))
        {
            yield return (StoreTables.DelayDb, Delaydb.Trim());
            yield return (StoreTables.DelayDbWhite, Delaydb.Trim() + ".white");
        }
        if (IsFile(Pbdb))
            foreach (var part in AsspDatabases.PenaltyBoxParts)
                yield return ("pbdb." + part + ".db", Pbdb.Trim() + "." + part + ".db");
        if (IsFile(Spamdb))
        {
            string spamdb = Spamdb.Trim();
            yield return (StoreTables.SpamDb, spamdb);
            yield return (StoreTables.SpamDbHelo, spamdb + ".helo");
            // ASSP keeps the HMM database next to spamdb.
            int slash = spamdb.LastIndexOfAny(['/', '\\']);
            yield return (AsspDatabases.HmmDb, slash < 0 ? "HMMdb" : spamdb[..(slash + 1)] + "HMMdb");
        }
        if (IsFile(Griplist)) yield return (StoreTables.Griplist, Griplist.Trim());
    }
}

/// <summary>ASSP database names beyond <see cref="StoreTables"/>.</summary>
public static class AsspDatabases
{
    public const string HmmDb = "HMMdb";

    /// <summary>The PenaltyBox family: ASSP keeps each in <c>&lt;pbdb&gt;.&lt;part&gt;.db</c>.</summary>
    public static readonly IReadOnlyList<string> PenaltyBoxParts =
        ["white", "black", "rbl", "uribl", "ptr", "mxa", "rwl", "spf", "sb", "trap", "dkim", "batv", "back"];
}

/// <summary>
/// ASSP's flat-file formats, both ways.
///
/// Every ASSP list file (whitelist, redlist, pb/pbdb.*.db, delaydb, delaydb.white, persblack, ldaplist, griplist,
/// spamdb, …) and the files of importDBDir/exportDBDir share one layout: a file that starts with an empty line,
/// then one record per line, key and value separated by the byte 0x02, lines ending in LF. ASSP's file-backed hash
/// looks keys up by binary search, so written files are sorted by key bytes. ASSP itself ignores records whose key
/// or value is empty; neither key nor value can contain LF, CR or 0x02. The bytes are not tied to a charset: a line
/// that is valid UTF-8 is read as UTF-8, any other as Latin-1; files are written in UTF-8.
///
/// Import skips (and reports with file:line) lines it cannot use instead of giving up on the whole file.
/// </summary>
public static class AsspFlatFiles
{
    public const byte Separator = 0x02;

    /// <summary>Lines longer than this are reported and skipped (ASSP's records are a few hundred bytes at most).</summary>
    public const int MaxLineBytes = 1 << 20;

    private const int ProgressEveryLines = 50_000;
    private static readonly Encoding Utf8 = new UTF8Encoding(false);

    // ---------------------------------------------------------------- import

    /// <summary>
    /// Imports one file into <paramref name="table"/>. The record's time is taken from the value where ASSP keeps
    /// one there (see <see cref="UpdatedFromValue"/>), else the store clock's now.
    /// </summary>
    public static FlatFileImportResult ImportFile(IStoreTable table, string path, FlatImportMode mode = FlatImportMode.Add,
        IProgress<FlatFileProgress>? progress = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        clock ??= TimeProvider.System;
        long now = clock.GetUtcNow().ToUnixTimeSeconds();
        var problems = new List<FlatFileProblem>();
        long lines = 0, imported = 0, skipped = 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long total = stream.Length;
        if (mode == FlatImportMode.Replace) table.Clear();
        ReadLines(stream, (line, lineNo, position) =>
        {
            lines = lineNo;
            if (TryParse(line, out var key, out var value, out var reason))
            {
                table.Set(key, value, UpdatedFromValue(table.Name, value, clock) ?? now);
                imported++;
            }
            else if (reason is not null)
            {
                skipped++;
                if (problems.Count < FlatFileImportResult.MaxProblemsKept) problems.Add(new FlatFileProblem(path, lineNo, reason));
            }
            if (progress is not null && lineNo % ProgressEveryLines == 0)
                progress.Report(new FlatFileProgress(path, table.Name, position, total, imported));
        }, (lineNo, reason) =>
        {
            skipped++;
            if (problems.Count < FlatFileImportResult.MaxProblemsKept) problems.Add(new FlatFileProblem(path, lineNo, reason));
        });
        progress?.Report(new FlatFileProgress(path, table.Name, total, total, imported));
        return new FlatFileImportResult(table.Name, path, mode, lines, imported, skipped, problems);
    }

    /// <summary>
    /// ASSP's importDBDir: for every <c>&lt;table&gt;.rpl</c> the table is replaced, then every
    /// <c>&lt;table&gt;.add</c> is added (ASSP's order). With <paramref name="renameToOk"/> each imported file is
    /// renamed to <c>….OK</c> afterwards, as ASSP does, so it is not imported twice.
    /// </summary>
    public static IReadOnlyList<FlatFileImportResult> ImportDbDir(IStore store, string folder, bool renameToOk = false,
        IProgress<FlatFileProgress>? progress = null, Func<string, bool>? include = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var results = new List<FlatFileImportResult>();
        if (!Directory.Exists(folder)) return results;
        var files = Directory.GetFiles(folder)
            .Select(f => (File: f, Ext: Path.GetExtension(f).ToLowerInvariant()))
            .Where(f => f.Ext is ".rpl" or ".add")
            .OrderBy(f => Path.GetFileNameWithoutExtension(f.File), StringComparer.Ordinal)
            .ThenBy(f => f.Ext == ".rpl" ? 0 : 1)
            .ToList();
        foreach (var (file, ext) in files)
        {
            string table = TableFromAsspName(Path.GetFileNameWithoutExtension(file));
            if (table.Length == 0 || (include is not null && !include(table))) continue;
            var mode = ext == ".rpl" ? FlatImportMode.Replace : FlatImportMode.Add;
            results.Add(ImportFile(store.Table(table), file, mode, progress, store.Clock));
            if (renameToOk) File.Move(file, file + ".OK", overwrite: true);
        }
        return results;
    }

    /// <summary>
    /// Migration: imports the list files of an ASSP base folder (<paramref name="locations"/> as in its assp.cfg;
    /// ASSP's defaults when null). Each table found replaces the table in the store; missing files are skipped.
    /// </summary>
    public static IReadOnlyList<FlatFileImportResult> ImportBaseFolder(IStore store, string baseFolder,
        AsspFileLocations? locations = null, IProgress<FlatFileProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var results = new List<FlatFileImportResult>();
        foreach (var (table, rel) in (locations ?? new AsspFileLocations()).Files())
        {
            string path = Path.Combine(baseFolder, rel);
            if (File.Exists(path))
                results.Add(ImportFile(store.Table(table), path, FlatImportMode.Replace, progress, store.Clock));
        }
        return results;
    }

    /// <summary>
    /// The time ASSP keeps in a value, if any: whitelist, redlist, delaydb, persblack and ldaplist values start with
    /// the Unix time of the last update; PenaltyBox values are "created updated …". Null when there is no plausible
    /// time (spamdb probabilities, griplist values, removal markers).
    /// </summary>
    public static long? UpdatedFromValue(string table, string value, TimeProvider? clock = null)
    {
        long max = (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds() + 86_400;
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(value);
        ReadOnlySpan<char> v = value;
        if (table.StartsWith("pbdb.", StringComparison.Ordinal))
        {
            int space = v.IndexOf(' ');
            if (space > 0)
            {
                var rest = v[(space + 1)..];
                int end = rest.IndexOf(' ');
                if (Plausible(end < 0 ? rest : rest[..end], max) is { } ut) return ut;
            }
        }
        int digits = 0;
        while (digits < v.Length && char.IsAsciiDigit(v[digits])) digits++;
        if (digits < v.Length && v[digits] is not (' ' or '\t' or ',')) return null;    // "0.75" is not a time
        return Plausible(v[..digits], max);

        static long? Plausible(ReadOnlySpan<char> s, long max)
        {
            if (s.Length is < 9 or > 10 || !long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long t)) return null;
            return t >= 946_684_800 && t <= max ? t : null;     // from 2000 until tomorrow
        }
    }

    // ---------------------------------------------------------------- export

    /// <summary>
    /// Writes a table in ASSP's layout (leading empty line, sorted, key 0x02 value). The file is written beside the
    /// target and renamed over it, so a reader never sees half a file. Records ASSP could not read back (empty, or
    /// with LF, CR or 0x02 inside) are skipped and reported.
    /// </summary>
    public static FlatFileExportResult ExportFile(IStoreTable table, string path)
    {
        ArgumentNullException.ThrowIfNull(table);
        var problems = new List<FlatFileProblem>();
        long skipped = 0;
        var rows = new List<(byte[] Key, string Value)>();
        foreach (var (key, record) in table.Scan())
        {
            string? reason = key.Length == 0 ? "empty key"
                : record.Value.Length == 0 ? $"key '{Shorten(key)}': empty value (ASSP ignores such records)"
                : HasForbidden(key) ? $"key '{Shorten(key)}' contains LF, CR or 0x02"
                : HasForbidden(record.Value) ? $"value of key '{Shorten(key)}' contains LF, CR or 0x02"
                : null;
            if (reason is not null)
            {
                skipped++;
                if (problems.Count < FlatFileImportResult.MaxProblemsKept) problems.Add(new FlatFileProblem(path, 0, reason));
                continue;
            }
            rows.Add((Utf8.GetBytes(key), record.Value));
        }
        // ASSP finds keys by binary search over the file, comparing bytes.
        rows.Sort((a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));

        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            stream.WriteByte((byte)'\n');
            byte[] buffer = new byte[256];
            foreach (var (key, value) in rows)
            {
                int need = key.Length + 2 + Utf8.GetMaxByteCount(value.Length);
                if (need > buffer.Length) buffer = new byte[need * 2];
                key.CopyTo(buffer, 0);
                int n = key.Length;
                buffer[n++] = Separator;
                n += Utf8.GetBytes(value, buffer.AsSpan(n));
                buffer[n++] = (byte)'\n';
                stream.Write(buffer, 0, n);
            }
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
        return new FlatFileExportResult(table.Name, full, rows.Count, skipped, problems);
    }

    /// <summary>ASSP's exportDBDir: one file per table, named like the table (<c>whitelist</c>, <c>pbdb.black.db</c>, …).</summary>
    public static IReadOnlyList<FlatFileExportResult> ExportDbDir(IStore store, string folder, IEnumerable<string>? tables = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var results = new List<FlatFileExportResult>();
        foreach (var name in tables ?? store.TableNames)
        {
            if (name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
                throw new ArgumentException($"Table name '{name}' cannot be a file name.", nameof(tables));
            results.Add(ExportFile(store.Table(name), Path.Combine(folder, name)));
        }
        return results;
    }

    /// <summary>Writes the store's tables back as the list files of an ASSP base folder (only tables the store has).</summary>
    public static IReadOnlyList<FlatFileExportResult> ExportBaseFolder(IStore store, string baseFolder, AsspFileLocations? locations = null,
        Func<string, bool>? include = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var existing = store.TableNames.ToHashSet(StringComparer.Ordinal);
        var results = new List<FlatFileExportResult>();
        foreach (var (table, rel) in (locations ?? new AsspFileLocations()).Files())
            if (existing.Contains(table) && (include is null || include(table)))
                results.Add(ExportFile(store.Table(table), Path.Combine(baseFolder, rel)));
        return results;
    }

    /// <summary>ASSP's name of a table in importDBDir/exportDBDir files where it differs from ours (persblackdb).</summary>
    public static string AsspTableName(string table) => table == StoreTables.PersBlack ? "persblackdb" : table;

    /// <summary>Our table for an ASSP import/export file name (the reverse of <see cref="AsspTableName"/>).</summary>
    public static string TableFromAsspName(string name) => name == "persblackdb" ? StoreTables.PersBlack : name;

    // ---------------------------------------------------------------- line handling

    /// <summary>
    /// Splits one line (without its LF) into key and value. False with a null reason for lines that are simply
    /// empty (ASSP's files start with one); false with a reason for lines to report.
    /// </summary>
    internal static bool TryParse(ReadOnlySpan<byte> line, out string key, out string value, out string? reason)
    {
        key = value = "";
        while (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];     // files edited on Windows
        if (line.IsEmpty || line.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0) { reason = null; return false; }
        int sep = line.IndexOf(Separator);
        if (sep < 0) { reason = "no 0x02 separator between key and value"; return false; }
        var k = line[..sep];
        var v = line[(sep + 1)..];
        if (v.IndexOf(Separator) >= 0) { reason = "more than one 0x02 separator"; return false; }
        if (k.IsEmpty) { reason = "empty key"; return false; }
        if (v.IsEmpty) { reason = "empty value (ASSP ignores such records)"; return false; }
        if (k.IndexOf((byte)'\r') >= 0 || v.IndexOf((byte)'\r') >= 0) { reason = "CR inside the record"; return false; }
        key = Decode(k);
        value = Decode(v);
        reason = null;
        return true;
    }

    private static string Decode(ReadOnlySpan<byte> bytes) =>
        Utf8Validate(bytes) ? Utf8.GetString(bytes) : Encoding.Latin1.GetString(bytes);

    private static bool Utf8Validate(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);

    /// <summary>
    /// Streams the lines of a file, numbering them from 1. Overlong lines are reported through
    /// <paramref name="bad"/> and skipped. <paramref name="line"/> receives the bytes read so far for progress.
    /// </summary>
    internal delegate void LineHandler(ReadOnlySpan<byte> line, long lineNo, long position);

    internal static void ReadLines(Stream stream, LineHandler line, Action<long, string> bad)
    {
        byte[] buf = new byte[1 << 16];
        int start = 0, end = 0;
        long lineNo = 0, position = 0;
        bool skipping = false;                      // inside an overlong line: drop bytes until its LF
        while (true)
        {
            int nl = buf.AsSpan(start, end - start).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                lineNo++;
                position += nl + 1;
                if (skipping) skipping = false;
                else line(buf.AsSpan(start, nl), lineNo, position);
                start += nl + 1;
                continue;
            }
            if (start > 0)
            {
                Buffer.BlockCopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            }
            if (end == buf.Length)
            {
                if (buf.Length >= MaxLineBytes)
                {
                    if (!skipping) bad(lineNo + 1, $"line longer than {MaxLineBytes} bytes");
                    skipping = true;
                    position += end;
                    end = 0;
                }
                else Array.Resize(ref buf, buf.Length * 2);
            }
            int n = stream.Read(buf, end, buf.Length - end);
            if (n == 0)
            {
                if (end > start)
                {
                    lineNo++;
                    position += end - start;
                    if (!skipping) line(buf.AsSpan(start, end - start), lineNo, position);
                }
                return;
            }
            end += n;
        }
    }

    private static bool HasForbidden(string s) => s.AsSpan().IndexOfAny('\n', '\r', '\x02') >= 0;

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
