using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Assp.Config.Lists;

namespace Assp.Config.Regexes;

/// <summary>How an entry's N/W/L/I flag treats one class of mail.</summary>
public enum NwliUse : byte
{
    /// <summary>No flag: the option's own setting decides.</summary>
    Default,
    /// <summary>Letter without sign: scan this class.</summary>
    Scan,
    /// <summary>'+': scan only mail of this class.</summary>
    Only,
    /// <summary>'-': never scan mail of this class.</summary>
    Never,
}

/// <summary>The N (noprocessing), W (whitelisted), L (local), I (ISP) flags of a weighted regex entry.</summary>
public readonly record struct NwliFlags(NwliUse N, NwliUse W, NwliUse L, NwliUse I)
{
    public static readonly NwliFlags None = default;

    /// <summary>Parses "N-W+LI" style text (the part after ':>' or between '!!!').</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out NwliFlags flags)
    {
        flags = None;
        NwliUse n = default, w = default, l = default, i = default;
        int pos = 0;
        if (text.IsEmpty) return false;
        while (pos < text.Length)
        {
            char letter = char.ToUpperInvariant(text[pos++]);
            var use = NwliUse.Scan;
            if (pos < text.Length && text[pos] is '+' or '-')
            {
                use = text[pos] == '+' ? NwliUse.Only : NwliUse.Never;
                pos++;
            }
            switch (letter)
            {
                case 'N': n = use; break;
                case 'W': w = use; break;
                case 'L': l = use; break;
                case 'I': i = use; break;
                default: return false;
            }
        }
        flags = new NwliFlags(n, w, l, i);
        return true;
    }

    /// <summary>Fills unset letters from a file-level default ("!!!NWLI!!!").</summary>
    public NwliFlags Over(NwliFlags defaults) => new(
        N == NwliUse.Default ? defaults.N : N, W == NwliUse.Default ? defaults.W : W,
        L == NwliUse.Default ? defaults.L : L, I == NwliUse.Default ? defaults.I : I);

    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb, 'N', N); Append(sb, 'W', W); Append(sb, 'L', L); Append(sb, 'I', I);
        return sb.ToString();

        static void Append(StringBuilder sb, char c, NwliUse u)
        {
            if (u == NwliUse.Default) return;
            sb.Append(c);
            if (u == NwliUse.Only) sb.Append('+');
            else if (u == NwliUse.Never) sb.Append('-');
        }
    }
}

/// <summary>The classes a message belongs to, as far as N/W/L/I flags care.</summary>
public readonly record struct MailClasses(bool NoProcessing, bool Whitelisted, bool Local, bool Isp)
{
    /// <summary>
    /// Whether an entry with these flags scans this mail. defaultScan says, per letter, what the option's own
    /// settings decide for mail of that class (e.g. bombReWL off means whitelisted mail is not scanned).
    /// </summary>
    public bool Allows(NwliFlags flags, Func<char, bool> defaultScan)
    {
        return Check(flags.N, NoProcessing, 'N') && Check(flags.W, Whitelisted, 'W')
            && Check(flags.L, Local, 'L') && Check(flags.I, Isp, 'I');

        bool Check(NwliUse use, bool member, char letter) => use switch
        {
            NwliUse.Only => member,
            NwliUse.Never => !member,
            NwliUse.Scan => true,
            _ => !member || defaultScan(letter),
        };
    }
}

/// <summary>One weighted entry: the regex, its weight, its flags and where it was written.</summary>
public sealed record WeightedRegexEntry(string Source, Regex Regex, double Weight, bool HasWeight, NwliFlags Flags, ListEntry Origin);

/// <summary>One hit of a weighted regex option: which entry matched, on what text, with what weight.</summary>
public readonly record struct WeightedHit(WeightedRegexEntry Entry, string MatchedText)
{
    public double Weight => Entry.Weight;
}

/// <summary>
/// A `**` option: entries "regex=>weight" or "~regex with | ~=>weight", optionally followed by ":>NWLI" flags;
/// a whole-line "!!!NWLI!!!" in the file sets the default flags. One combined regex finds candidate matches
/// quickly; each hit is then attributed to the entry that matches it.
/// </summary>
public sealed class WeightedRegexList
{
    public static readonly WeightedRegexList Empty = new([], [], NwliFlags.None);

    private readonly WeightedRegexEntry[] _entries;
    /// <summary>The alternations that find candidates: one run by the linear-time engine for the entries it supports,
    /// one backtracking for the rest (lookarounds, backreferences, atomic groups).</summary>
    private readonly Regex[] _scanners;

    public IReadOnlyList<WeightedRegexEntry> Entries => _entries;
    public NwliFlags FileDefaultFlags { get; }
    public int Count => _entries.Length;

    private WeightedRegexList(WeightedRegexEntry[] entries, Regex[] scanners, NwliFlags fileDefaults)
    {
        _entries = entries;
        _scanners = scanners;
        FileDefaultFlags = fileDefaults;
    }

    /// <summary>
    /// The score one hit contributes: |weight| ≤ 6 multiplies the check's valence (the product cut to a whole
    /// number, as ASSP does), larger weights are the score themselves. An entry without a weight counts as 1.
    /// </summary>
    public static double Score(double weight, double valence) => Math.Abs(weight) <= 6 ? Math.Truncate(weight * valence) : weight;

    public static WeightedRegexList Compile(IEnumerable<ListEntry> entries, string option, List<ConfigIssue> issues, TimeSpan timeout,
        bool ignoreCase, NwliFlags fileDefaults = default)
    {
        var list = new List<WeightedRegexEntry>();
        var combined = new StringBuilder();
        var linear = new List<string>();
        // A line may hold several entries ("a=>1|b=>2"), as ASSP joins lines with '|' before it parses weights.
        foreach (var e in entries.SelectMany(x => ConfigLoader.SplitWeighted(x.Text).Select(part => x with { Text = part })))
        {
            var text = e.Text.Trim();
            if (text.Length == 0) continue;
            if (TryParseDefaultFlags(text, out var lineDefaults))
            {
                fileDefaults = lineDefaults;
                continue;
            }
            if (!TryParseEntry(RegexList.StripNoOptimizeMarkers(text), out var pattern, out var weight, out var hasWeight, out var flags, out var syntaxError))
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, option, e.Text, syntaxError!, e.File, e.Line));
                continue;
            }
            var translated = ConfigRegex.TryTranslate(pattern, ignoreCase, timeout, out var error);
            if (translated is null)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, option, e.Text, "invalid regular expression: " + error, e.File, e.Line));
                continue;
            }
            var regex = new Regex(translated, RegexOptions.CultureInvariant, timeout);
            list.Add(new WeightedRegexEntry(pattern, regex, weight, hasWeight, flags, e));
            // An entry with backreferences cannot share the alternation (its group numbers would shift); the
            // alternation then only finds candidates and a catch-all pass covers that entry.
            // Each entry is a named group of the alternation, so a hit names its entry without running it again.
            // Entries the linear-time engine supports go to its alternation: a long list then costs one pass over
            // the text instead of one try per entry at every position, and cannot backtrack exponentially.
            var part = "(?<" + GroupName(list.Count - 1) + ">" + (ConfigRegex.HasBackreference(translated) ? NeutralizeBackreferences(translated) : translated) + ")";
            if (SupportsLinear(translated)) linear.Add(part);
            else AppendAlternative(combined, part);
        }
        // Flags written on entries win; the file default fills the letters they leave open.
        var final = list.Select(x => x with { Flags = x.Flags.Over(fileDefaults) }).ToArray();
        var scanners = new List<Regex>();
        AddLinear(linear, scanners, combined, timeout);
        if (combined.Length > 0)
            scanners.Add(new Regex(combined.ToString(), RegexOptions.CultureInvariant | (combined.Length < 200_000 ? RegexOptions.Compiled : RegexOptions.None), timeout));
        return new WeightedRegexList(final, [.. scanners], fileDefaults);
    }

    private static void AppendAlternative(StringBuilder sb, string part)
    {
        if (sb.Length > 0) sb.Append('|');
        sb.Append(part);
    }

    /// <summary>
    /// Builds linear-time alternations of the parts; the engine limits the size of one automaton, so a list too
    /// large for one is split in halves until each part fits (a single part that does not goes to the backtracking one).
    /// </summary>
    private static void AddLinear(List<string> parts, List<Regex> scanners, StringBuilder backtracking, TimeSpan timeout)
    {
        if (parts.Count == 0) return;
        try
        {
            scanners.Add(new Regex(string.Join('|', parts), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, timeout));
        }
        catch (NotSupportedException) when (parts.Count > 1)
        {
            int half = parts.Count / 2;
            AddLinear(parts[..half], scanners, backtracking, timeout);
            AddLinear(parts[half..], scanners, backtracking, timeout);
        }
        catch (NotSupportedException)
        {
            AppendAlternative(backtracking, parts[0]);
        }
    }

    private static bool SupportsLinear(string translated)
    {
        if (ConfigRegex.HasBackreference(translated)) return false;
        try
        {
            _ = new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
            return true;
        }
        catch (NotSupportedException)
        {
            return false;
        }
    }

    private static string GroupName(int index) => "__w" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The entry a candidate match belongs to: the alternative that matched when it applies to this mail and, for
    /// an entry with backreferences, really matches there; otherwise (as ASSP's weightRe does) the first applicable
    /// entry that matches the matched text.
    /// </summary>
    private WeightedRegexEntry? Attribute(Match m, string input, MailClasses mail, Func<char, bool> defaultScan)
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            if (!m.Groups[GroupName(i)].Success) continue;
            var entry = _entries[i];
            if (mail.Allows(entry.Flags, defaultScan))
            {
                if (!ConfigRegex.HasBackreference(entry.Regex.ToString())) return entry;
                var em = entry.Regex.Match(input, m.Index);
                if (em.Success && em.Index == m.Index) return entry;
            }
            break;
        }
        foreach (var entry in _entries)
            if (mail.Allows(entry.Flags, defaultScan) && entry.Regex.IsMatch(m.Value)) return entry;
        return null;
    }

    /// <summary>
    /// For the candidate alternation only: a backreference becomes "match anything", so the alternation finds a
    /// superset of positions; the entry's own regex then decides.
    /// </summary>
    private static string NeutralizeBackreferences(string translated)
    {
        var sb = new StringBuilder(translated.Length);
        for (int i = 0; i < translated.Length; i++)
        {
            char c = translated[i];
            if (c == '\\' && i + 1 < translated.Length)
            {
                char n = translated[i + 1];
                if (n == 'k' && i + 2 < translated.Length && translated[i + 2] == '<')
                {
                    int close = translated.IndexOf('>', i + 3);
                    if (close > 0) { sb.Append("(?:.*?)"); i = close; continue; }
                }
                if (n >= '1' && n <= '9')
                {
                    int j = i + 1;
                    while (j < translated.Length && char.IsAsciiDigit(translated[j])) j++;
                    sb.Append("(?:.*?)");
                    i = j - 1;
                    continue;
                }
                sb.Append(c).Append(n);
                i++;
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>A line "!!!NWLI!!!" (any of the letters, with + or -).</summary>
    internal static bool TryParseDefaultFlags(string text, out NwliFlags flags)
    {
        flags = default;
        return text.Length > 6 && text.StartsWith("!!!", StringComparison.Ordinal) && text.EndsWith("!!!", StringComparison.Ordinal)
            && NwliFlags.TryParse(text.AsSpan(3, text.Length - 6), out flags);
    }

    /// <summary>Splits one entry into its regex, weight and flags.</summary>
    internal static bool TryParseEntry(string text, out string pattern, out double weight, out bool hasWeight, out NwliFlags flags, out string? error)
    {
        pattern = text;
        weight = 1;
        hasWeight = false;
        flags = default;
        error = null;
        string rest;
        if (text.StartsWith('~'))
        {
            int close = text.IndexOf("~=>", 1, StringComparison.Ordinal);
            if (close < 0)
            {
                if (text.Length > 1 && text.EndsWith('~'))
                {
                    pattern = text[1..^1];
                    return true;
                }
                error = "an entry that starts with '~' must end with '~' or '~=>weight'";
                return false;
            }
            pattern = text[1..close];
            rest = text[(close + 3)..];
        }
        else
        {
            int arrow = text.LastIndexOf("=>", StringComparison.Ordinal);
            if (arrow < 0) return true;
            // "=>" followed by something that is not a weight belongs to the regex itself.
            var candidate = text[(arrow + 2)..];
            int flagAt = candidate.IndexOf(":>", StringComparison.Ordinal);
            var weightText = flagAt >= 0 ? candidate[..flagAt] : candidate;
            if (!double.TryParse(weightText.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _)) return true;
            pattern = text[..arrow];
            rest = candidate;
        }
        int flagsAt = rest.IndexOf(":>", StringComparison.Ordinal);
        var w = (flagsAt >= 0 ? rest[..flagsAt] : rest).Trim();
        if (!double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture, out weight))
        {
            error = $"'{w}' is not a weight (a number after '=>')";
            return false;
        }
        hasWeight = true;
        if (flagsAt >= 0 && !NwliFlags.TryParse(rest.AsSpan(flagsAt + 2).Trim(), out flags))
        {
            error = $"'{rest[(flagsAt + 2)..]}' is not a set of N/W/L/I flags (like N-W+LI)";
            return false;
        }
        if (pattern.Length == 0)
        {
            error = "the regular expression before '=>' is empty";
            return false;
        }
        return true;
    }

    /// <summary>
    /// Every hit in the input, up to maxHits, from entries that apply to this mail. Timeouts end the scan early
    /// (what was found so far is returned).
    /// </summary>
    public List<WeightedHit> Matches(string? input, MailClasses mail, Func<char, bool> defaultScan, int maxHits = int.MaxValue)
    {
        var hits = new List<WeightedHit>();
        if (_scanners.Length == 0 || string.IsNullOrEmpty(input)) return hits;
        try
        {
            foreach (var scanner in _scanners)
            {
                for (var m = scanner.Match(input); m.Success && hits.Count < maxHits; m = m.NextMatch())
                {
                    if (Attribute(m, input, mail, defaultScan) is { } entry) hits.Add(new WeightedHit(entry, m.Value));
                    if (m.Length == 0) break;
                }
            }
        }
        catch (RegexMatchTimeoutException)
        {
            // A hostile or pathological pattern: keep what was found, never stall the caller.
        }
        return hits;
    }

    /// <summary>
    /// Every hit in the input, one at a time, so the caller can stop early (a score cap, a search-time limit).
    /// Each candidate of the combined regex is attributed to the first entry that applies to this mail and
    /// matches at the same place; a match timeout ends the scan (onTimeout is told).
    /// </summary>
    public IEnumerable<WeightedHit> Scan(string? input, MailClasses mail, Func<char, bool> defaultScan, Action? onTimeout = null)
    {
        if (string.IsNullOrEmpty(input)) yield break;
        foreach (var scanner in _scanners)
        {
            foreach (var hit in ScanWith(scanner, input, mail, defaultScan, onTimeout)) yield return hit;
        }
    }

    private IEnumerable<WeightedHit> ScanWith(Regex scanner, string input, MailClasses mail, Func<char, bool> defaultScan, Action? onTimeout)
    {
        var m = Guarded(() => scanner.Match(input), onTimeout);
        while (m is { Success: true })
        {
            var found = m;
            bool timedOut = false;
            WeightedRegexEntry? entry = null;
            try
            {
                entry = Attribute(found, input, mail, defaultScan);
            }
            catch (RegexMatchTimeoutException)
            {
                onTimeout?.Invoke();
                timedOut = true;
            }
            if (timedOut) yield break;
            if (entry is not null) yield return new WeightedHit(entry, found.Value);
            var current = m;
            m = Guarded(() => current.NextMatch(), onTimeout);
        }
    }

    private static Match? Guarded(Func<Match> match, Action? onTimeout)
    {
        try
        {
            return match();
        }
        catch (RegexMatchTimeoutException)
        {
            onTimeout?.Invoke();
            return null;
        }
    }

    /// <summary>Hits for mail that is in none of the N/W/L/I classes.</summary>
    public List<WeightedHit> Matches(string? input) => Matches(input, default, _ => true);
}
