using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP_AFCKnownGoodEXE: SHA-256 hashes (hex, any case) of files that always pass the attachment check, one a line,
/// each optionally followed by the compression levels it holds for ("0,1", "0-2", "0...8", "*" or nothing = all;
/// level 0 is the attachment itself, 1 a member of an archive attachment, …) and a # comment. Virus scans still run.
/// </summary>
public sealed class KnownGoodAttachments
{
    public static readonly KnownGoodAttachments Empty = new(new Dictionary<string, Func<int, bool>>(), []);

    private static readonly Regex LineFormat = new(@"^\s*([0-9a-fA-F]{64})(?:\s+([0-9*.,\-\s]+?))?\s*(?:#.*)?$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    private readonly Dictionary<string, Func<int, bool>> _hashes;

    private KnownGoodAttachments(Dictionary<string, Func<int, bool>> hashes, IReadOnlyList<string> problems)
    {
        _hashes = hashes;
        Problems = problems;
    }

    /// <summary>Lines that are not a hash with levels (they are skipped).</summary>
    public IReadOnlyList<string> Problems { get; }

    public int Count => _hashes.Count;

    public static KnownGoodAttachments For(ConfigSnapshot cfg) =>
        cfg.Derived("Checks.KnownGoodEXE", c => Parse(c.GetListEntries("ASSP_AFCKnownGoodEXE").Select(e => e.Text)));

    public static KnownGoodAttachments Parse(IEnumerable<string> lines)
    {
        var hashes = new Dictionary<string, Func<int, bool>>(StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            var m = LineFormat.Match(line);
            if (!m.Success || Levels(m.Groups[2].Value) is not { } levels)
            {
                problems.Add($"ASSP_AFCKnownGoodEXE: '{line}' is not a SHA256 hex hash with optional levels - skipped");
                continue;
            }
            hashes[m.Groups[1].Value] = hashes.TryGetValue(m.Groups[1].Value, out var before) ? l => before(l) || levels(l) : levels;
        }
        return new KnownGoodAttachments(hashes, problems);
    }

    /// <summary>"0,2-4,6...8" → a test on the level; "" and "*" hold for every level; null when malformed.</summary>
    private static Func<int, bool>? Levels(string spec)
    {
        spec = spec.Replace(" ", "", StringComparison.Ordinal);
        if (spec.Length == 0 || spec == "*") return _ => true;
        var ranges = new List<(int From, int To)>();
        foreach (var piece in spec.Split(','))
        {
            var bounds = piece.Split(["...", "-"], StringSplitOptions.None);
            if (bounds.Length is < 1 or > 2 || !int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)) return null;
            int to = from;
            if (bounds.Length == 2 && !int.TryParse(bounds[1], NumberStyles.None, CultureInfo.InvariantCulture, out to)) return null;
            ranges.Add((Math.Min(from, to), Math.Max(from, to)));
        }
        return level => ranges.Any(r => level >= r.From && level <= r.To);
    }

    /// <summary>The file's SHA-256 in lower-case hex, as the maillog shows it.</summary>
    public static string Hash(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Whether the hash is listed for this compression level.</summary>
    public bool IsKnownGood(string hash, int level) => _hashes.TryGetValue(hash, out var levels) && levels(level);
}
