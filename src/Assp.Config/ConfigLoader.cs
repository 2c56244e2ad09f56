using System.Collections.Frozen;
using System.Text;
using Assp.Config.Files;
using Assp.Config.Lists;
using Assp.Config.Regexes;
using Assp.Config.Registry;

namespace Assp.Config;

/// <summary>What to load: the base folder, the assp.cfg path and per-run overrides (assp run --set name=value).</summary>
public sealed record ConfigSource(string BaseDirectory, string? ConfigPath = null, IReadOnlyList<KeyValuePair<string, string>>? Overrides = null)
{
    public string ResolvedConfigPath => Path.GetFullPath(ConfigPath ?? Path.Combine(BaseDirectory, "assp.cfg"));
}

/// <summary>Builds validated snapshots from assp.cfg, its list files and groups.</summary>
public sealed class ConfigLoader(OptionRegistry registry)
{
    private long _generation;

    public OptionRegistry Registry { get; } = registry;

    /// <summary>Match timeout for every configured regex (lists, weighted regexes, wildcard address lists).</summary>
    public TimeSpan RegexTimeout { get; init; } = ConfigRegex.DefaultMatchTimeout;

    /// <summary>How host names in IP lists are resolved (the system resolver unless replaced).</summary>
    public IpList.HostResolver? HostResolver { get; init; }

    /// <summary>Whether Groups are exported to files/group_export (off for check-config, which must not write).</summary>
    public bool ExportGroups { get; init; } = true;

    /// <summary>
    /// Whether Groups may run exec: commands. A root process that will drop to runAsUser keeps this off until it
    /// has: the files that hold the commands belong to that user, so running them as root would hand out root.
    /// </summary>
    public bool AllowExec { get; set; } = true;

    public ConfigSnapshot Load(ConfigSource source)
    {
        var issues = new List<ConfigIssue>();
        var baseDir = Path.GetFullPath(source.BaseDirectory);
        var cfgPath = source.ResolvedConfigPath;
        var cfgDisplay = Path.GetFileName(cfgPath);
        var values = Registry.Options.ToDictionary(o => o.Name, o => o.Default, StringComparer.Ordinal);
        var unknown = new Dictionary<string, string>(StringComparer.Ordinal);

        if (File.Exists(cfgPath))
        {
            AsspConfigFile file;
            try
            {
                file = AsspConfigFile.Load(cfgPath);
            }
            catch (IOException ex)
            {
                throw new ConfigException($"cannot read {cfgPath}: {ex.Message}");
            }
            ApplyFile(file, cfgDisplay, values, unknown, issues);
        }
        else
        {
            issues.Add(new ConfigIssue(IssueSeverity.Info, null, null, $"{cfgPath} does not exist; every option has its default"));
        }

        foreach (var (name, value) in source.Overrides ?? [])
        {
            var def = Registry.Resolve(name, out _);
            if (def is null)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, name, value, "--set names an option that does not exist", "--set"));
                continue;
            }
            var error = def.Validate(value);
            if (error is not null)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, def.Name, value, error + $" (rule: {def.Rule})", "--set"));
                continue;
            }
            values[def.Name] = value;
        }

        var reader = new ListFileReader(baseDir);
        var groups = GroupDefinitions.Load(values["Groups"], reader, issues, ExportGroups, AllowExec);
        var compiled = new Dictionary<string, object>(StringComparer.Ordinal);
        bool resolvedHostNames = false;
        var hostResolver = HostResolver ?? IpList.SystemResolver;
        IpList.HostResolver noteHostNames = host => { resolvedHostNames = true; return hostResolver(host); };
        foreach (var def in Registry.Options)
        {
            if (!def.Kind.IsList()) continue;
            var value = values[def.Name];
            if (value.Trim().Length == 0 || def.Name == "Groups") continue;
            var entries = ExpandValue(def, value, reader, groups, issues);
            compiled[def.Name + "\0entries"] = entries;
            // Charset rules in a file are checked line by line (an inline value was checked with the option).
            if (def.Rule.ChecksCharsets && FileReference(value) is not null)
                foreach (var e in entries)
                    if (CharsetRules.Error(e.Text) is { } bad)
                        issues.Add(new ConfigIssue(IssueSeverity.Error, def.Name, Shorten(e.Text), bad + "; this line is not used", e.File, e.Line));
            object? matcher = def.Kind switch
            {
                OptionKind.IpList => IpList.Compile(ExpandScopedGroups(entries, def.Name, groups, issues), def.Name, issues, RegexTimeout, noteHostNames),
                OptionKind.AddressList => AddressList.Compile(entries, def.Name, issues, RegexTimeout),
                OptionKind.DomainList => DomainList.Compile(ExpandScopedGroups(entries, def.Name, groups, issues), def.Name, issues, RegexTimeout),
                OptionKind.Regex => RegexList.Compile(entries, def.Name, issues, RegexTimeout, RegexIgnoresCase(def)),
                OptionKind.WeightedRegex => WeightedRegexList.Compile(entries, def.Name, issues, RegexTimeout, RegexIgnoresCase(def)),
                _ => null,
            };
            if (matcher is not null) compiled[def.Name] = matcher;
        }

        return new ConfigSnapshot(Registry, baseDir, cfgPath, Interlocked.Increment(ref _generation),
            values.ToFrozenDictionary(StringComparer.Ordinal), compiled.ToFrozenDictionary(StringComparer.Ordinal), issues,
            unknown, new Dictionary<string, DateTime>(reader.FilesRead), groups) { ResolvesHostNames = resolvedHostNames };
    }

    private void ApplyFile(AsspConfigFile file, string display, Dictionary<string, string> values, Dictionary<string, string> unknown, List<ConfigIssue> issues)
    {
        foreach (var (line, text) in file.MalformedLines)
        {
            issues.Add(new ConfigIssue(IssueSeverity.Warning, null, null, $"not a name:=value line, ignored: '{Shorten(text)}'", display, line));
        }
        if (!file.HasSavedMarker)
        {
            issues.Add(new ConfigIssue(IssueSeverity.Warning, AsspConfigFile.SavedMarkerName, null,
                "the file has no ConfigSavedOK:=1 line, so it may be cut short (an interrupted save)", display));
        }
        foreach (var entry in file.Entries)
        {
            if (entry.Name == AsspConfigFile.SavedMarkerName) continue;
            var def = Registry.Resolve(entry.Name, out bool wasAlias);
            if (def is null)
            {
                unknown[entry.Name] = entry.Value;
                var severity = Registry.IsObsolete(entry.Name) ? IssueSeverity.Info : IssueSeverity.Warning;
                var why = Registry.IsObsolete(entry.Name)
                    ? "option no longer exists in ASSP 2.6.8; kept in the file, not used"
                    : "unknown option; kept in the file and written back, not used";
                issues.Add(new ConfigIssue(severity, entry.Name, null, why, display, entry.Line));
                continue;
            }
            if (wasAlias)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Info, entry.Name, null, $"read as {def.Name} (the real ASSP name)", display, entry.Line));
            }
            // Options that only tune Perl never fail a load, whatever they hold.
            var error = Registry.IsNotUsed(def) ? null : def.Validate(entry.Value);
            if (error is not null)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, def.Name, Shorten(def.IsSecret ? "********" : entry.Value),
                    $"{error} (rule: {def.Rule}); the default '{Shorten(def.Default)}' is used instead", display, entry.Line));
                continue;
            }
            values[def.Name] = entry.Value;
            // Set means a value other than empty or 0 (a checkbox that is off is not a request).
            if (entry.Value.Trim() is { Length: > 0 } set && set != "0" && CannotHonour.TryGetValue(def.Name, out var limitation))
                issues.Add(new ConfigIssue(IssueSeverity.Warning, def.Name, Shorten(entry.Value), limitation, display, entry.Line));
            if (NotNeeded.TryGetValue(def.Name, out var notNeeded) && entry.Value.Trim() != def.Default && !(def.Default.Length == 0 && entry.Value.Trim() == "0"))
                issues.Add(new ConfigIssue(IssueSeverity.Warning, def.Name, Shorten(def.IsSecret ? "********" : entry.Value), notNeeded, display, entry.Line));
            if (Registry.IsNotUsed(def) && entry.Value != def.Default)
                issues.Add(new ConfigIssue(IssueSeverity.Info, def.Name, entry.Value, $"not used by this implementation ({Registry.NotUsedReason(def)}); kept in assp.cfg", display, entry.Line));
            if (Registry.WithoutEffectYet(def.Name) is { } noEffect && entry.Value != def.Default)
                issues.Add(new ConfigIssue(IssueSeverity.Info, def.Name, entry.Value, $"has no effect yet: {noEffect}; kept in assp.cfg", display, entry.Line));
        }
    }

    /// <summary>Options ASSP uses that this implementation cannot carry out; setting one gives a warning saying why.</summary>
    private static readonly Dictionary<string, string> CannotHonour = new(StringComparer.Ordinal)
    {
        ["ldapLocalIPAddress"] = "cannot be honoured: System.DirectoryServices.Protocols offers no way to choose the local (source) " +
            "address of an LDAP connection, so the operating system's routing picks it; set up source routing for the LDAP hosts instead",
        ["AllowInternalsInRegex"] = "cannot be honoured: it lets regexes name ASSP's internal Perl variables (${EmailDomainRe} and the like), " +
            "which do not exist here; write the pattern out in the regex instead",
    };

    /// <summary>
    /// Database options whose job is done differently here; a value other than the default gives a warning saying
    /// what to use instead (README: "Database options").
    /// </summary>
    private static readonly Dictionary<string, string> NotNeeded = new(StringComparer.Ordinal)
    {
        ["useDB4griplist"] = "not used: the griplist is a table of the instance's database (data/assp.db, or PostgreSQL when griplist is DB:), never BerkeleyDB",
        ["DBCacheMaxAge"] = "not used: PostgreSQL records are always cached in memory and refreshed within seconds when another node changes them",
        ["preventBulkImport"] = "not used: imports write record by record in batched transactions and never change table properties",
        ["adminusersdbNoBIN"] = "not used: admin user records are stored as text",
        ["adminusersdbpass"] = "not used: admin passwords are stored as PBKDF2 hashes, so the admin users table needs no passphrase",
        ["ImportMysqlDB"] = "not used: there is no run-now switch; files in importDBDir are imported at start, or run 'assp db import --dbdir <importDBDir>'",
        ["ExportMysqlDB"] = "not used: there is no run-now switch; run 'assp db export' (writes to exportDBDir) or 'assp export --to DIR'",
        ["fillUpImportDBDir"] = "not used: put a backup back with 'assp restore --version L|1-9' instead of copying it into importDBDir",
    };

    private static string Shorten(string s) => s.Length <= 120 ? s : s[..117] + "...";

    /// <summary>A value "file:path" (ASSP tolerates spaces around the colon) gives the path, else null.</summary>
    public static string? FileReference(string value)
    {
        var v = value.AsSpan().Trim();
        if (!v.StartsWith("file", StringComparison.OrdinalIgnoreCase)) return null;
        var rest = v[4..].TrimStart();
        if (rest.Length == 0 || rest[0] != ':') return null;
        var path = rest[1..].Trim();
        return path.Length == 0 ? null : path.ToString();
    }

    internal List<ListEntry> ExpandValue(OptionDefinition def, string value, ListFileReader reader, GroupDefinitions groups, List<ConfigIssue> issues)
    {
        bool isRegex = def.Kind is OptionKind.Regex or OptionKind.WeightedRegex;
        IEnumerable<ListEntry> raw;
        var path = FileReference(value);
        if (path is not null)
        {
            raw = reader.ReadEntries(path, def.Name, issues, keepTrailingComments: false);
        }
        else if (def.Kind == OptionKind.Regex)
        {
            raw = [new ListEntry(value.Trim(), null, 0)];
        }
        else if (def.Kind == OptionKind.WeightedRegex)
        {
            raw = SplitWeighted(value).Select(s => new ListEntry(s, null, 0));
        }
        else
        {
            // Inline values are not comment-stripped, except IP lists, whose entries may carry "# comment".
            raw = value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => def.Kind == OptionKind.IpList ? ListFileReader.StripTrailingComment(s) : s)
                .Where(s => s.Length > 0)
                .Select(s => new ListEntry(s, null, 0));
        }
        // ASSP's "do not optimise this file" markers are switches for its optimiser, not patterns.
        return isRegex ? raw.Where(e => e.Text is not ("a-d-n-o-r" or "assp-do-not-optimize-regex")).ToList()
            : groups.Expand(raw, def.Name, issues).ToList();
    }

    /// <summary>
    /// Splits a weighted value into entries at each '|' that is not inside "~...~", parentheses or a character
    /// class, so "a=>1|~b|c~=>2" gives two entries while "charset=(?:BIG5|GB2312)" stays one regex.
    /// </summary>
    internal static List<string> SplitWeighted(string value)
    {
        var result = new List<string>();
        int depth = 0, start = 0;
        bool inTilde = false, inClass = false;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\\') { i++; continue; }
            if (inClass) { if (c == ']') inClass = false; continue; }
            if (c == '~' && (inTilde || value.AsSpan(start, i - start).Trim().Length == 0)) { inTilde = !inTilde; continue; }
            if (inTilde) continue;
            if (c == '[') inClass = true;
            else if (c == '(') depth++;
            else if (c == ')' && depth > 0) depth--;
            else if (c == '|' && depth == 0)
            {
                Add(value[start..i]);
                start = i + 1;
            }
        }
        Add(value[start..]);
        return result;

        void Add(string part)
        {
            part = part.Trim();
            if (part.Length > 0) result.Add(part);
        }
    }

    private static IEnumerable<ListEntry> ExpandScopedGroups(List<ListEntry> entries, string option, GroupDefinitions groups, List<ConfigIssue> issues)
    {
        foreach (var e in entries)
        {
            int arrow = e.Text.IndexOf("=>", StringComparison.Ordinal);
            if (arrow < 0 || !e.Text.Contains('[')) { yield return e; continue; }
            var left = groups.ExpandInline(e.Text[..arrow], option, e, issues);
            var right = groups.ExpandInline(e.Text[(arrow + 2)..], option, e, issues);
            yield return e with { Text = left + "=>" + right };
        }
    }

    /// <summary>ASSP matches its configured regexes without regard to case.</summary>
    private static bool RegexIgnoresCase(OptionDefinition def) => true;
}
