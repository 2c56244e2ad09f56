using System.Text;

namespace Assp.Config.Lists;

/// <summary>
/// Reads ASSP list files: one entry per line, '#' and ';' comments, "# include file" lines (nested, loop-safe).
/// Remembers every file it touched with its write time, so a reload can tell whether anything changed.
/// </summary>
public sealed class ListFileReader(string baseDirectory)
{
    private const int MaxIncludeDepth = 16;

    public string BaseDirectory { get; } = baseDirectory;

    /// <summary>Every file read so far (including missing ones, with DateTime.MinValue) and its last write time.</summary>
    public Dictionary<string, DateTime> FilesRead { get; } = new(StringComparer.Ordinal);

    public string Resolve(string path, string? relativeTo = null)
    {
        path = path.Trim().Replace('\\', '/');
        if (Path.IsPathRooted(path)) return Path.GetFullPath(path);
        var fromBase = Path.GetFullPath(Path.Combine(BaseDirectory, path));
        if (relativeTo is null || File.Exists(fromBase)) return fromBase;
        var fromFile = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(relativeTo)!, path));
        return File.Exists(fromFile) ? fromFile : fromBase;
    }

    /// <summary>Path shown to the admin: relative to the base folder where possible.</summary>
    public string Display(string fullPath)
    {
        var rel = Path.GetRelativePath(BaseDirectory, fullPath);
        return rel.StartsWith("..", StringComparison.Ordinal) ? fullPath : rel.Replace('\\', '/');
    }

    /// <summary>
    /// The entries of a file. With keepTrailingComments the text after an entry stays (the Groups file, whose
    /// lines are read whole, as ASSP does).
    /// </summary>
    public List<ListEntry> ReadEntries(string path, string option, List<ConfigIssue> issues, bool keepTrailingComments,
        Action<string, ListEntry>? onDirective = null)
    {
        var result = new List<ListEntry>();
        var full = Resolve(path);
        Read(full, option, issues, keepTrailingComments, result, new Stack<string>(), onDirective, includedFrom: null);
        return result;
    }

    private void Read(string full, string option, List<ConfigIssue> issues, bool keepTrailingComments, List<ListEntry> into,
        Stack<string> chain, Action<string, ListEntry>? onDirective, ListEntry? includedFrom)
    {
        var display = Display(full);
        if (chain.Contains(full))
        {
            issues.Add(new ConfigIssue(IssueSeverity.Error, option, null,
                $"include loop: {display} includes itself (through {string.Join(" -> ", chain.Reverse().Select(Display))})",
                includedFrom?.File, includedFrom?.Line ?? 0));
            return;
        }
        if (chain.Count >= MaxIncludeDepth)
        {
            issues.Add(new ConfigIssue(IssueSeverity.Error, option, null, $"includes nested deeper than {MaxIncludeDepth} levels",
                includedFrom?.File, includedFrom?.Line ?? 0));
            return;
        }
        string[] lines;
        try
        {
            FilesRead[full] = File.GetLastWriteTimeUtc(full);
            if (!File.Exists(full))
            {
                FilesRead[full] = DateTime.MinValue;
                issues.Add(new ConfigIssue(chain.Count == 0 ? IssueSeverity.Warning : IssueSeverity.Error, option, null,
                    $"file {display} does not exist; it counts as empty", includedFrom?.File, includedFrom?.Line ?? 0));
                return;
            }
            lines = DecodeLines(File.ReadAllBytes(full));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            issues.Add(new ConfigIssue(IssueSeverity.Error, option, null, $"cannot read {display}: {ex.Message}",
                includedFrom?.File, includedFrom?.Line ?? 0));
            return;
        }
        chain.Push(full);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.Trim();
            if (trimmed.Length == 0) continue;
            if (TryParseInclude(trimmed, out var includePath))
            {
                var here = new ListEntry(trimmed, display, i + 1);
                Read(Resolve(includePath, full), option, issues, keepTrailingComments, into, chain, onDirective, here);
                continue;
            }
            if (trimmed[0] is '#' or ';')
            {
                // Whole-line comments; some carry directives (!!!NWLI!!! defaults, assp-no-sync, a-d-n-o-r).
                onDirective?.Invoke(trimmed, new ListEntry(trimmed, display, i + 1));
                continue;
            }
            var text = keepTrailingComments ? trimmed : StripTrailingComment(trimmed).Trim();
            if (text.Length == 0) continue;
            into.Add(new ListEntry(text, display, i + 1));
        }
        chain.Pop();
    }

    /// <summary>"# include file" (also "#include file"); the file name may be quoted.</summary>
    public static bool TryParseInclude(string trimmed, out string path)
    {
        path = "";
        if (trimmed.Length < 9 || trimmed[0] != '#') return false;
        var rest = trimmed.AsSpan(1).TrimStart();
        if (!rest.StartsWith("include", StringComparison.OrdinalIgnoreCase)) return false;
        rest = rest[7..];
        if (rest.Length == 0 || !char.IsWhiteSpace(rest[0])) return false;
        var p = rest.Trim().Trim("\"'").ToString();
        if (p.Length == 0) return false;
        path = p;
        return true;
    }

    /// <summary>
    /// Drops a comment after an entry: ASSP starts a comment at any '#' or ';' not preceded by a backslash, in
    /// regex files too ("\#" and "\;" keep the character, and the backslash stays, which regexes read as literal).
    /// </summary>
    public static string StripTrailingComment(string line)
    {
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] is '#' or ';' && (i == 0 || line[i - 1] != '\\')) return line[..i].TrimEnd();
        }
        return line;
    }

    /// <summary>UTF-8 when the bytes are valid UTF-8 (BOM dropped), else Latin-1; lines without line-end characters.</summary>
    public static string[] DecodeLines(byte[] bytes)
    {
        string text;
        try
        {
            var span = bytes.AsSpan();
            if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) span = span[3..];
            text = new UTF8Encoding(false, true).GetString(span);
        }
        catch (DecoderFallbackException)
        {
            text = Encoding.Latin1.GetString(bytes);
        }
        return text.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
    }
}
