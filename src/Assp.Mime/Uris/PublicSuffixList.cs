namespace Assp.Mime.Uris;

/// <summary>A parsed Public Suffix List (https://publicsuffix.org/list/) with the standard algorithm:
/// the longest matching rule wins, "*" labels are wildcards, "!" rules are exceptions that win over
/// everything, and an unlisted TLD is a public suffix by the implicit "*" rule.</summary>
public sealed class PublicSuffixRules
{
    [Flags]
    private enum Kind : byte
    {
        None = 0,
        Normal = 1,
        Wildcard = 2,
        Exception = 4,
        NormalPrivate = 8,
        WildcardPrivate = 16,
        ExceptionPrivate = 32,
    }

    private readonly Dictionary<string, Kind> _rules = new(StringComparer.Ordinal);

    private PublicSuffixRules() { }

    /// <summary>Number of rules read.</summary>
    public int Count { get; private set; }

    /// <summary>Number of rules from the private section (between the BEGIN/END PRIVATE DOMAINS markers).</summary>
    public int PrivateCount { get; private set; }

    /// <summary>Parses the list in its published format: one rule a line, "//" comments, the
    /// "===BEGIN PRIVATE DOMAINS===" comment starting the private section.</summary>
    public static PublicSuffixRules Parse(string listText)
    {
        ArgumentNullException.ThrowIfNull(listText);
        var rules = new PublicSuffixRules();
        bool inPrivate = false;
        foreach (var rawLine in listText.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith("//", StringComparison.Ordinal))
            {
                if (line.Contains("===BEGIN PRIVATE DOMAINS===", StringComparison.Ordinal)) inPrivate = true;
                else if (line.Contains("===END PRIVATE DOMAINS===", StringComparison.Ordinal)) inPrivate = false;
                continue;
            }
            int sp = line.IndexOfAny([' ', '\t']);
            if (sp > 0) line = line[..sp];
            Kind kind;
            if (line.StartsWith('!')) { kind = inPrivate ? Kind.ExceptionPrivate : Kind.Exception; line = line[1..]; }
            else if (line.StartsWith("*.", StringComparison.Ordinal)) { kind = inPrivate ? Kind.WildcardPrivate : Kind.Wildcard; line = line[2..]; }
            else kind = inPrivate ? Kind.NormalPrivate : Kind.Normal;
            string key = Punycode.ToUnicode(line);
            if (key.Length == 0) continue;
            rules._rules.TryGetValue(key, out var existing);
            rules._rules[key] = existing | kind;
            rules.Count++;
            if (inPrivate) rules.PrivateCount++;
        }
        return rules;
    }

    /// <summary>True when <paramref name="label"/> is a top-level domain the list knows (a rule of one
    /// label, or the base of a wildcard such as "*.ck").</summary>
    public bool IsKnownTld(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        if (label.Length == 0 || label.Contains('.')) return false;
        return _rules.ContainsKey(Punycode.ToUnicode(label));
    }

    /// <summary>The public suffix of <paramref name="host"/> in the host's own form (ASCII or Unicode,
    /// lower-cased), or null for empty labels, a leading dot or an IP address.</summary>
    public string? GetPublicSuffix(string? host, bool includePrivate = true)
    {
        var labels = Prepare(host);
        if (labels is null) return null;
        int len = SuffixLength(labels, includePrivate);
        return string.Join('.', labels, labels.Length - len, len);
    }

    /// <summary>The registrable domain (public suffix plus one label) of <paramref name="host"/> in the
    /// host's own form, lower-cased and without trailing dot; null when the host is itself a public
    /// suffix, is not a valid name, or is an IP address.</summary>
    public string? GetRegistrableDomain(string? host, bool includePrivate = true)
    {
        var labels = Prepare(host);
        if (labels is null) return null;
        int len = SuffixLength(labels, includePrivate);
        if (len >= labels.Length) return null;
        return string.Join('.', labels, labels.Length - len - 1, len + 1);
    }

    private static string[]? Prepare(string? host)
    {
        if (string.IsNullOrWhiteSpace(host)) return null;
        string h = host.Trim().ToLowerInvariant();
        if (h.EndsWith('.')) h = h[..^1];
        if (h.Length == 0 || h.StartsWith('.')) return null;
        if (h.Contains(':') || h.All(c => char.IsAsciiDigit(c) || c == '.')) return null; // IP addresses
        var labels = h.Split('.');
        foreach (var l in labels) if (l.Length == 0) return null;
        return labels;
    }

    private int SuffixLength(string[] labels, bool includePrivate)
    {
        var normal = Kind.Normal | (includePrivate ? Kind.NormalPrivate : Kind.None);
        var wildcard = Kind.Wildcard | (includePrivate ? Kind.WildcardPrivate : Kind.None);
        var exception = Kind.Exception | (includePrivate ? Kind.ExceptionPrivate : Kind.None);

        int n = labels.Length;
        // suffixes[i] = Unicode form of labels[i..]
        var suffixes = new string[n + 1];
        suffixes[n] = "";
        for (int i = n - 1; i >= 0; i--)
        {
            string label = labels[i].StartsWith("xn--", StringComparison.Ordinal) ? Punycode.ToUnicode(labels[i]) : labels[i];
            suffixes[i] = i == n - 1 ? label : label + "." + suffixes[i + 1];
        }

        for (int i = 0; i < n; i++)
        {
            if (_rules.TryGetValue(suffixes[i], out var k) && (k & exception) != 0) return n - i - 1;
        }
        for (int i = 0; i < n; i++)
        {
            if (_rules.TryGetValue(suffixes[i], out var k) && (k & normal) != 0) return n - i;
            if (i + 1 < n && _rules.TryGetValue(suffixes[i + 1], out var w) && (w & wildcard) != 0) return n - i;
        }
        return 1; // the implicit "*" rule
    }
}

/// <summary>The Public Suffix List embedded in this assembly (from the npm package psl 1.15.0; the
/// list itself is MPL-2.0, see public_suffix_list.LICENSE.txt).</summary>
public static class PublicSuffixList
{
    private const string ResourceName = "Assp.Mime.Uris.public_suffix_list.dat";

    private static readonly Lazy<PublicSuffixRules> Embedded = new(Load);

    /// <summary>The embedded rules.</summary>
    public static PublicSuffixRules Rules => Embedded.Value;

    /// <summary>Registrable domain of <paramref name="host"/> ("www.example.co.uk" → "example.co.uk"),
    /// or null when the host is a public suffix or not a domain name. Uses the private section too.</summary>
    public static string? GetRegistrableDomain(string? host) => Rules.GetRegistrableDomain(host);

    /// <summary>Registrable domain, with or without the private section's rules.</summary>
    public static string? GetRegistrableDomain(string? host, bool includePrivate) => Rules.GetRegistrableDomain(host, includePrivate);

    /// <summary>Public suffix of <paramref name="host"/> ("www.example.co.uk" → "co.uk").</summary>
    public static string? GetPublicSuffix(string? host) => Rules.GetPublicSuffix(host);

    /// <summary>True when the label is a TLD the list knows.</summary>
    public static bool IsKnownTld(string label) => Rules.IsKnownTld(label);

    private static PublicSuffixRules Load()
    {
        using var stream = typeof(PublicSuffixList).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
        using var reader = new StreamReader(stream);
        return PublicSuffixRules.Parse(reader.ReadToEnd());
    }
}
