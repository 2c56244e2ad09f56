using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Regexes;
using Assp.Mime.Attachments;

namespace Assp.Checks.Checks;

/// <summary>
/// One attachment rule as ASSP applies it: a "block" extension regex (the name's last extension matching it is
/// refused) and/or a "good" one (anything not matching it is refused). Both are alternations of extensions without
/// the dot, compiled as <c>\.(?:alternation)$</c> case-insensitively with a match timeout.
/// The pseudo extension <c>exe-bin</c> in a rule turns on detection by content (ASSP_AFC): a file whose bytes are
/// an executable, script, library or Office macro is refused even when its name says otherwise; <c>:TAG</c>
/// entries (:WIN, :ELF, :MOS, :PEF, :WSH, :CSC, :ARC, :MMC, :MSOM, :MSOLE, :HLMSOLE, :PDF, :JSPDF, :URIPDF, :CERTPDF) are
/// exceptions to that.
/// </summary>
public sealed class AttachmentRule
{
    private readonly Regex? _block;
    private readonly Regex? _good;

    public AttachmentRule(string? block, string? good)
    {
        BlockSource = Clean(block);
        GoodSource = Clean(good);
        _block = BlockSource.Length > 0 ? Compile(BlockSource) : null;
        _good = GoodSource.Length > 0 ? Compile(GoodSource) : null;
    }

    /// <summary>A rule that refuses nothing (the files of the mail are not judged, only what is inside archives).</summary>
    public static readonly AttachmentRule Nothing = new(null, null);

    public string BlockSource { get; }
    public string GoodSource { get; }
    public bool IsEmpty => _block is null && _good is null;

    private static string Clean(string? alternation) => string.Join('|', (alternation ?? "").Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

    private static Regex Compile(string alternation) => ConfigRegex.Compile($@"\.(?:{alternation})$", ConfigRegex.DefaultMatchTimeout, ignoreCase: true);

    private static bool Matches(Regex regex, string extension) => ConfigRegex.SafeMatch(regex, extension) is not null;

    /// <summary>Does the block rule list this (pseudo) extension, e.g. ".crypt-zip"?</summary>
    public bool Blocks(string extension) => _block is not null && Matches(_block, extension);

    /// <summary>Does the good rule list this (pseudo) extension?</summary>
    public bool Allows(string extension) => _good is not null && Matches(_good, extension);

    /// <summary>Is there a good rule (anything it does not list is refused)?</summary>
    public bool HasGood => _good is not null;

    /// <summary>Is a file with this name refused? <paramref name="name"/> may be empty (then only content counts).</summary>
    /// <param name="checkGood">False inside archives: the allowlist judges the attachment's name, not its members' names (their content still counts).</param>
    public string? Refuses(string name, DetectedType? content, bool checkGood = true)
    {
        var ext = LastExtension(name);
        if (ext is not null)
        {
            if (_block is not null && Matches(_block, ext)) return $"extension {ext}";
            if (checkGood && _good is not null && !Matches(_good, ext)) return $"extension {ext} not allowed";
        }
        else if (checkGood && _good is not null && name.Length > 0 && !Matches(_good, ".")) return "no extension";
        if (content is not null)
        {
            // Content detection needs exe-bin in a block rule; a good rule refuses executables unless it allows them.
            // Every class found must be excepted (:TAG) for the file to pass; :PDF excepts all PDF classes.
            bool blockByContent = _block is not null && Matches(_block, ".exe-bin");
            bool goodByContent = _good is not null && !Matches(_good, ".exe-bin");
            foreach (var tag in ContentTags(content))
            {
                bool pdfAll = tag.EndsWith("PDF", StringComparison.Ordinal);
                if (blockByContent && !Matches(_block!, "." + tag) && !(pdfAll && Matches(_block!, ".:PDF"))) return $"content {content} ({tag})";
                if (goodByContent && !Matches(_good!, "." + tag) && !(pdfAll && Matches(_good!, ".:PDF"))) return $"content {content} ({tag})";
            }
        }
        return null;
    }

    /// <summary>The name's last extension with its dot (".exe"), as ASSP's <c>(\.[^\.]+)$</c> takes it; null when none.</summary>
    public static string? LastExtension(string name)
    {
        int dot = name.LastIndexOf('.');
        return dot >= 0 && dot < name.Length - 1 ? name[dot..] : null;
    }

    /// <summary>
    /// The ASSP_AFC classes of executable content (":WIN", …) found in a file; empty for harmless content.
    /// PDF: JavaScript is :JSPDF, links to executables or local files :URIPDF, a certificate signature :CERTPDF,
    /// launch actions and embedded files :PDF; JavaScript run on opening together with a launch action or an
    /// embedded file is a known attack and only :PDF excepts it. OLE: macros are :MSOM, embedded objects or
    /// packages :MSOLE (a plain legacy document is harmless, as :HLMSOLE says), installers (msi/msp) :WIN.
    /// </summary>
    public static IReadOnlyList<string> ContentTags(DetectedType type)
    {
        if (type.Kind == "pdf") return PdfTags(type.Detail ?? "");
        if (type.HasMacros) return [":MSOM"];
        if (type.Kind == "ole")
        {
            var d = type.Detail ?? "";
            if (d.StartsWith("msi", StringComparison.Ordinal) || d.StartsWith("msp", StringComparison.Ordinal)) return [":WIN"];
            return d.Contains("embedded objects", StringComparison.Ordinal) ? [":MSOLE"] : [];
        }
        string? tag = type.Kind switch
        {
            "exe" or "lnk" or "chm" => ":WIN",
            "elf" => ":ELF",
            "macho" or "java-class" or "jar" or "apk" => ":MOS",
            "pef" => ":PEF",
            "mmc" => ":MMC",
            "ar" => ":ARC",
            // Windows script families (vbs, js, wsf, hta, ps1, batch) are :WSH; shebang scripts are common scripts (:CSC).
            "script" => type.Detail is { } d2 && d2.StartsWith("shebang", StringComparison.Ordinal) ? ":CSC" : ":WSH",
            _ => null,
        };
        return tag is null ? [] : [tag];
    }

    private static IReadOnlyList<string> PdfTags(string detail)
    {
        bool Has(string finding) => detail.Split("; ").Contains(finding);
        bool js = Has("JavaScript"), runsOnOpen = Has("OpenAction") || Has("AA"), drops = Has("Launch") || Has("EmbeddedFile");
        if (js && runsOnOpen && drops) return [":PDF"];
        var tags = new List<string>();
        if (js) tags.Add(":JSPDF");
        if (Has("ExeURI")) tags.Add(":URIPDF");
        if (Has("Signed")) tags.Add(":CERTPDF");
        if (drops) tags.Add(":PDF");
        return tags;
    }
}

/// <summary>
/// The attachment rules of one configuration: the four levels (BadAttachL1..L3 cumulative, GoodAttach for level 4)
/// and the per-user rules of UserAttach.
/// </summary>
public sealed class AttachmentRules
{
    private readonly AttachmentRule?[] _levels = new AttachmentRule?[5];

    /// <summary>UserAttach: lower-cased key (address, user part, @domain, *@domain wildcard) → its rule types.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> UserRules { get; }

    /// <summary>The ASSP_AFC <c>zip:</c> lines of UserAttach, keyed like <see cref="UserRules"/>: they judge the files inside archives.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ZipRules { get; }
    public IReadOnlyList<string> Problems { get; }
    private int _problemsLogged;

    /// <summary>Writes the rule problems to the maillog once per configuration.</summary>
    public void LogProblemsOnce(Action<string> log)
    {
        if (Problems.Count == 0 || Interlocked.Exchange(ref _problemsLogged, 1) != 0) return;
        foreach (var p in Problems) log("warning: " + p);
    }

    private AttachmentRules(ConfigSnapshot cfg)
    {
        var problems = new List<string>();
        string l1 = cfg["BadAttachL1"], l2 = cfg["BadAttachL2"], l3 = cfg["BadAttachL3"];
        _levels[1] = TryRule(Join(l1), null, "BadAttachL1", problems);
        _levels[2] = TryRule(Join(l1, l2), null, "BadAttachL2", problems);
        _levels[3] = TryRule(Join(l1, l2, l3), null, "BadAttachL3", problems);
        _levels[4] = cfg["GoodAttach"].Trim().Length > 0 ? TryRule(null, cfg["GoodAttach"], "GoodAttach", problems) : null;
        var lines = cfg.GetListEntries("UserAttach").Select(e => e.Text).ToList();
        UserRules = UserAttachParser.Parse(lines, problems, cfg.Groups);
        ZipRules = UserAttachParser.Parse(lines, problems, cfg.Groups, zipRules: true);
        Problems = problems;
    }

    public static AttachmentRules For(ConfigSnapshot cfg) => cfg.Derived("Checks.AttachmentRules", c => new AttachmentRules(c));

    private static string Join(params string[] parts) => string.Join('|', parts.Select(p => p.Trim()).Where(p => p.Length > 0));

    private static AttachmentRule? TryRule(string? block, string? good, string option, List<string> problems)
    {
        try { return new AttachmentRule(block, good) is { IsEmpty: false } r ? r : null; }
        catch (Exception ex) when (ex is ArgumentException or PerlRegexException)
        {
            problems.Add($"{option}: invalid extension regex '{block ?? good}': {ex.Message}");
            return null;
        }
    }

    /// <summary>The rule of a level (1–4), or null when the level checks nothing.</summary>
    public AttachmentRule? Level(int level) => level is >= 1 and <= 4 ? _levels[level] : null;

    /// <summary>
    /// The combined UserAttach rule for this mail, or null when no rule names the sender or the first recipient.
    /// Incoming mail uses block|block-in (good|good-in), outgoing block|block-out, of both addresses. Runtime
    /// removals (--+ext) of either address take the extension out of the combined rule, so a recipient's rule can
    /// lift a sender's and the other way round. A NoCheckIf= condition that the mail meets skips that whole check
    /// (good or block); <paramref name="validated"/> answers whether the mail is "spf", "dkim" or "sig" validated.
    /// </summary>
    public UserAttachDecision? ForUsers(string? sender, string? firstRecipient, bool outgoing, Func<string, bool> validated, List<string> problems) =>
        Decide(UserRules, sender, firstRecipient, outgoing, validated, problems);

    /// <summary>The combined <c>zip:</c> rule for the files inside this mail's archives, or null when no zip: line
    /// names the sender or the first recipient; combined and skipped (NoCheckIf=) like <see cref="ForUsers"/>.</summary>
    public UserAttachDecision? ForArchiveMembers(string? sender, string? firstRecipient, bool outgoing, Func<string, bool> validated, List<string> problems) =>
        Decide(ZipRules, sender, firstRecipient, outgoing, validated, problems);

    private static UserAttachDecision? Decide(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> rules, string? sender,
        string? firstRecipient, bool outgoing, Func<string, bool> validated, List<string> problems)
    {
        if (rules.Count == 0) return null;
        var dir = outgoing ? "out" : "in";
        var good = new List<string>();
        var block = new List<string>();
        var remove = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        bool matched = false, skipGood = false, skipBlock = false;
        var skipped = new List<string>();
        foreach (var address in new[] { sender, firstRecipient })
        {
            if (Find(rules, address) is not { } types) continue;
            matched = true;
            foreach (var (type, target) in new[] { ("good", good), ("good-" + dir, good), ("block", block), ("block-" + dir, block) })
            {
                if (types.TryGetValue(type, out var re) && re.Length > 0) target.Add(re);
                if (types.TryGetValue(UserAttachParser.RuntimeRemovalKey(type), out var rm)) remove.UnionWith(rm.Split('|'));
                if (types.TryGetValue(UserAttachParser.NoCheckIfKey(type), out var condition) && Holds(condition, validated))
                {
                    if (type.StartsWith("good", StringComparison.Ordinal)) skipGood = true; else skipBlock = true;
                    skipped.Add($"{type}=>NoCheckIf={condition}");
                }
            }
        }
        if (!matched) return null;
        var blockText = skipBlock ? "" : Combine(block, remove);
        var goodText = skipGood ? "" : Combine(good, remove);
        var skipNote = skipped.Count > 0 ? string.Join(", ", skipped) : null;
        if (blockText.Length == 0 && goodText.Length == 0)
            return skipNote is not null || good.Count + block.Count > 0 ? new UserAttachDecision(null, skipNote) : null;
        try { return new UserAttachDecision(new AttachmentRule(blockText, goodText), skipNote); }
        catch (Exception ex) when (ex is ArgumentException or PerlRegexException)
        {
            problems.Add($"UserAttach: invalid extension regex for {sender}/{firstRecipient}: {ex.Message}");
            return null;
        }
    }

    /// <summary>The alternatives of the collected regexes without the runtime removals.</summary>
    private static string Combine(List<string> regexes, HashSet<string> remove) =>
        string.Join('|', regexes.SelectMany(UserAttachParser.SplitAlternatives).Where(a => a.Length > 0 && !remove.Contains(a))
            .Distinct(StringComparer.OrdinalIgnoreCase));

    /// <summary>"Spf.DkimSig": any dot-separated term holds when all its states (spf, dkim, sig written together) hold.</summary>
    public static bool Holds(string condition, Func<string, bool> validated)
    {
        foreach (var term in condition.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var t = term.ToLowerInvariant();
            bool all = t.Length > 0;
            for (int i = 0; i < t.Length && all;)
            {
                var state = t.AsSpan(i).StartsWith("dkim") ? "dkim" : t.AsSpan(i).StartsWith("spf") ? "spf" : t.AsSpan(i).StartsWith("sig") ? "sig" : null;
                if (state is null || !validated(state)) all = false;
                i += state?.Length ?? 1;
            }
            if (all) return true;
        }
        return false;
    }

    /// <summary>ASSP's lookup order: the full address, then the user part, then the domain (as @domain or *@domain), then wildcards.</summary>
    private static IReadOnlyDictionary<string, string>? Find(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> rules, string? address)
    {
        if (string.IsNullOrEmpty(address)) return null;
        var a = address.Trim().Trim('<', '>').ToLowerInvariant();
        int at = a.LastIndexOf('@');
        var user = at > 0 ? a[..at] : a;
        var domain = at >= 0 ? a[at..] : "";
        foreach (var key in new[] { a, user, user + "@", domain, "*" + domain })
            if (key.Length > 0 && rules.TryGetValue(key, out var r)) return r;
        foreach (var (key, rule) in rules)
            if ((key.Contains('*') || key.Contains('?')) && Glob(key, a)) return rule;
        return null;
    }

    private static bool Glob(string pattern, string text)
    {
        var re = "^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$";
        return Regex.IsMatch(text, re, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
    }
}

/// <summary>The UserAttach outcome for one mail: the rule to apply (null: nothing left to check) and which
/// NoCheckIf= conditions skipped a check.</summary>
public sealed record UserAttachDecision(AttachmentRule? Rule, string? Skipped);
