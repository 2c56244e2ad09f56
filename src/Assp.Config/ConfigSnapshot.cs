using System.Collections.Frozen;
using System.Globalization;
using Assp.Config.Lists;
using Assp.Config.Regexes;
using Assp.Config.Registry;

namespace Assp.Config;

/// <summary>
/// One immutable, fully validated view of the configuration. Every session reads options through the snapshot it
/// started with, so a reload never changes a message half way. Lists and regexes are compiled once, at load.
/// </summary>
public sealed class ConfigSnapshot
{
    private readonly FrozenDictionary<string, string> _values;
    private readonly FrozenDictionary<string, object> _compiled;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, object> _derived = new(StringComparer.Ordinal);

    public OptionRegistry Registry { get; }
    public string BaseDirectory { get; }
    public string ConfigPath { get; }
    public long Generation { get; }
    public DateTimeOffset LoadedAt { get; }
    public IReadOnlyList<ConfigIssue> Issues { get; }
    /// <summary>Names in assp.cfg that are not options; kept and written back untouched.</summary>
    public IReadOnlyDictionary<string, string> UnknownEntries { get; }
    /// <summary>List files read for this snapshot and their write times (for reload on change).</summary>
    public IReadOnlyDictionary<string, DateTime> FilesRead { get; }
    public GroupDefinitions Groups { get; }

    /// <summary>True when an IP list held host names that were resolved into addresses (they age; see host2IPminTTL).</summary>
    public bool ResolvesHostNames { get; internal init; }

    internal ConfigSnapshot(OptionRegistry registry, string baseDirectory, string configPath, long generation,
        FrozenDictionary<string, string> values, FrozenDictionary<string, object> compiled, IReadOnlyList<ConfigIssue> issues,
        IReadOnlyDictionary<string, string> unknown, IReadOnlyDictionary<string, DateTime> filesRead, GroupDefinitions groups)
    {
        Registry = registry;
        BaseDirectory = baseDirectory;
        ConfigPath = configPath;
        Generation = generation;
        LoadedAt = DateTimeOffset.UtcNow;
        _values = values;
        _compiled = compiled;
        Issues = issues;
        UnknownEntries = unknown;
        FilesRead = filesRead;
        Groups = groups;
    }

    public bool HasErrors => Issues.Any(i => i.Severity == IssueSeverity.Error);

    /// <summary>The raw value of an option (its default when not set).</summary>
    public string this[string name] => _values.TryGetValue(name, out var v) ? v
        : throw new KeyNotFoundException($"'{name}' is not an ASSP option");

    public string GetString(string name) => this[name];

    public bool IsDefault(string name) => this[name] == Registry.Get(name).Default;

    public bool GetBool(string name)
    {
        var v = this[name].Trim();
        return v.Length > 0 && v != "0";
    }

    public int GetInt(string name, int fallback = 0) =>
        long.TryParse(this[name].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? (int)Math.Clamp(v, int.MinValue, int.MaxValue) : fallback;

    public long GetLong(string name, long fallback = 0) =>
        long.TryParse(this[name].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    public double GetDecimal(string name, double fallback = 0) =>
        double.TryParse(this[name].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    /// <summary>A drop-down's stored code as a number (0 disabled, 1 block, 2 monitor, 3 score, 4 testmode for mode options).</summary>
    public int GetChoice(string name) => GetInt(name);

    /// <summary>A PenaltyBox valence: the message score and the IP score (the IP score is the message score when only one is given).</summary>
    public (double Message, double Ip) GetValence(string name)
    {
        var parts = this[name].Split(',', '|');
        double msg = parts.Length > 0 && double.TryParse(parts[0].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : 0;
        double ip = parts.Length > 1 && double.TryParse(parts[1].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var i) ? i : msg;
        return (msg, ip);
    }

    public IpList GetIpList(string name) => Compiled(name, OptionKind.IpList, IpList.Empty);
    public AddressList GetAddressList(string name) => Compiled(name, OptionKind.AddressList, AddressList.Empty);
    public DomainList GetDomainList(string name) => Compiled(name, OptionKind.DomainList, DomainList.Empty);
    public RegexList GetRegex(string name) => Compiled(name, OptionKind.Regex, RegexList.Empty);
    public WeightedRegexList GetWeightedRegex(string name) => Compiled(name, OptionKind.WeightedRegex, WeightedRegexList.Empty);

    /// <summary>The expanded entries of any list option (files, includes and groups resolved).</summary>
    public IReadOnlyList<ListEntry> GetListEntries(string name)
    {
        var def = Registry.Get(name);
        if (!def.Kind.IsList()) throw new InvalidOperationException($"{name} is not a list option");
        return _compiled.TryGetValue(name + "\0entries", out var e) ? (IReadOnlyList<ListEntry>)e : [];
    }

    private T Compiled<T>(string name, OptionKind kind, T empty) where T : class
    {
        var def = Registry.Get(name);
        if (def.Kind != kind) throw new InvalidOperationException($"{name} is a {def.Kind.ToToken()} option, not {kind.ToToken()}");
        return _compiled.TryGetValue(name, out var o) ? (T)o : empty;
    }

    /// <summary>
    /// Something computed once from this snapshot (a matcher built from several options, parsed listeners) and
    /// reused by every session that runs on it; a reload starts with an empty cache.
    /// </summary>
    public T Derived<T>(string key, Func<ConfigSnapshot, T> factory) where T : class =>
        (T)_derived.GetOrAdd(key, static (_, state) => state.factory(state.self), (factory, self: this));

    /// <summary>All values (for show-config and the GUI), in registry order.</summary>
    public IEnumerable<(OptionDefinition Option, string Value)> All() => Registry.Options.Select(o => (o, _values[o.Name]));
}
