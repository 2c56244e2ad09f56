using System.Globalization;

namespace Assp.Storage;

/// <summary>What a backup wrote for one table.</summary>
public sealed record BackupTableResult(string Table, string File, long Written, long Skipped, IReadOnlyList<FlatFileProblem> Problems);

/// <summary>One backup version found in a backup folder.</summary>
public sealed record BackupVersion(int Version, string Table, string File, long Bytes, DateTime WrittenUtc);

/// <summary>
/// Versioned backups of a store in ASSP's export layout (backupDBDir: ten versions). The newest backup of a table is
/// <c>&lt;table&gt;.bak</c>; each new backup shifts the older ones to <c>&lt;table&gt;.bak.1</c> … <c>.bak.9</c>
/// and drops the tenth. Every file is readable by ASSP's importDBDir after renaming it to <c>&lt;table&gt;.rpl</c>.
/// </summary>
public static class AsspBackups
{
    /// <summary>How many versions of each table are kept (ASSP: "ten versions of backups").</summary>
    public const int Versions = 10;

    private const string Suffix = ".bak";

    /// <summary>The file name of a version: 0 is the newest (<c>.bak</c>), 1 … 9 the older ones.</summary>
    public static string FileName(string table, int version)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(version, Versions);
        return version == 0 ? table + Suffix : table + Suffix + "." + version.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Reads ASSP's version selector as <c>fillUpImportDBDir</c> and <c>assp restore --version</c> take it:
    /// "L" (or empty) for the last backup, 1 … 9 for an older one.
    /// </summary>
    public static bool TryParseVersion(string? text, out int version)
    {
        var t = (text ?? "").Trim();
        if (t.Length == 0 || t.Equals("L", StringComparison.OrdinalIgnoreCase)) { version = 0; return true; }
        return int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out version) && version is >= 1 and < Versions;
    }

    /// <summary>
    /// Writes every table (or <paramref name="tables"/>) into <paramref name="folder"/> as a new newest version,
    /// shifting the older versions first. <paramref name="progress"/> gets each table's name before it is written.
    /// </summary>
    public static IReadOnlyList<BackupTableResult> Backup(IStore store, string folder, IEnumerable<string>? tables = null,
        IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        Directory.CreateDirectory(folder);
        var results = new List<BackupTableResult>();
        foreach (var name in (tables ?? store.TableNames).Order(StringComparer.Ordinal).ToList())
        {
            if (name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
                throw new ArgumentException($"Table name '{name}' cannot be a file name.", nameof(tables));
            progress?.Report(name);
            Rotate(folder, name);
            var r = AsspFlatFiles.ExportFile(store.Table(name), Path.Combine(folder, FileName(name, 0)));
            results.Add(new BackupTableResult(name, r.File, r.Written, r.Skipped, r.Problems));
        }
        return results;
    }

    /// <summary>
    /// Replaces each table that has a backup of <paramref name="version"/> in <paramref name="folder"/> with it
    /// (only <paramref name="tables"/> when given). Tables without such a file are left alone.
    /// </summary>
    public static IReadOnlyList<FlatFileImportResult> Restore(IStore store, string folder, int version = 0,
        IEnumerable<string>? tables = null, IProgress<FlatFileProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var wanted = tables?.ToHashSet(StringComparer.Ordinal);
        var results = new List<FlatFileImportResult>();
        foreach (var found in List(folder).Where(v => v.Version == version && (wanted is null || wanted.Contains(v.Table))))
            results.Add(AsspFlatFiles.ImportFile(store.Table(found.Table), found.File, FlatImportMode.Replace, progress, store.Clock));
        store.Flush();
        return results;
    }

    /// <summary>Every backup file in <paramref name="folder"/>, by table then version (newest first).</summary>
    public static IReadOnlyList<BackupVersion> List(string folder)
    {
        var found = new List<BackupVersion>();
        if (!Directory.Exists(folder)) return found;
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(file);
            if (Parse(name) is not { } parsed) continue;
            var info = new FileInfo(file);
            found.Add(new BackupVersion(parsed.Version, parsed.Table, info.FullName, info.Length, info.LastWriteTimeUtc));
        }
        return found.OrderBy(v => v.Table, StringComparer.Ordinal).ThenBy(v => v.Version).ToList();
    }

    /// <summary>The table and version of a backup file name, or null for other files.</summary>
    internal static (string Table, int Version)? Parse(string fileName)
    {
        if (fileName.EndsWith(Suffix, StringComparison.Ordinal) && fileName.Length > Suffix.Length)
            return (fileName[..^Suffix.Length], 0);
        int dot = fileName.LastIndexOf('.');
        if (dot <= 0) return null;
        var head = fileName[..dot];
        if (!head.EndsWith(Suffix, StringComparison.Ordinal) || head.Length == Suffix.Length) return null;
        if (!int.TryParse(fileName.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v is < 1 or >= Versions)
            return null;
        return (head[..^Suffix.Length], v);
    }

    /// <summary>Shifts <c>.bak.8</c> to <c>.bak.9</c>, …, <c>.bak</c> to <c>.bak.1</c>; the oldest is overwritten.</summary>
    private static void Rotate(string folder, string table)
    {
        for (int v = Versions - 2; v >= 0; v--)
        {
            var from = Path.Combine(folder, FileName(table, v));
            if (File.Exists(from)) File.Move(from, Path.Combine(folder, FileName(table, v + 1)), overwrite: true);
        }
    }
}
