using Assp.Config.Files;
using Assp.Config.Registry;

namespace Assp.Config;

/// <summary>
/// Holds the current snapshot and replaces it when assp.cfg (with AutoReloadCfg on) or a list file (every
/// ReloadOptionFiles seconds) changes, or when asked (SIGHUP, the GUI). Replacing is a single reference swap:
/// running sessions keep the snapshot they started with, nothing is dropped.
/// </summary>
public sealed class ConfigManager : IDisposable
{
    private readonly ConfigLoader _loader;
    private readonly ConfigSource _source;
    private readonly TimeProvider _time;
    private readonly object _reloadLock = new();
    private ConfigSnapshot _current;
    private ITimer? _timer;
    private (DateTime Write, long Length) _cfgStamp;
    private DateTimeOffset _lastListCheck;
    private DateTimeOffset _loadedAt;

    public ConfigManager(ConfigLoader loader, ConfigSource source, TimeProvider? time = null)
    {
        _loader = loader;
        _source = source;
        _time = time ?? TimeProvider.System;
        _cfgStamp = Stamp(source.ResolvedConfigPath);
        _current = loader.Load(source);
        _lastListCheck = _loadedAt = _time.GetUtcNow();
    }

    public ConfigSnapshot Current => Volatile.Read(ref _current);

    public ConfigSource Source => _source;

    /// <summary>Raised after a new snapshot is in place (on the thread that loaded it).</summary>
    public event Action<ConfigSnapshot, string>? Reloaded;

    /// <summary>Polls for changes every interval (the checks themselves are one stat per watched file).</summary>
    public void StartWatching(TimeSpan interval)
    {
        _timer?.Dispose();
        _timer = _time.CreateTimer(_ => CheckForChanges(), null, interval, interval);
    }

    /// <summary>Reloads now; returns the new snapshot.</summary>
    public ConfigSnapshot Reload(string reason)
    {
        lock (_reloadLock)
        {
            _cfgStamp = Stamp(_source.ResolvedConfigPath);
            var next = _loader.Load(_source);
            Volatile.Write(ref _current, next);
            _lastListCheck = _loadedAt = _time.GetUtcNow();
            Reloaded?.Invoke(next, reason);
            return next;
        }
    }

    /// <summary>One poll: reloads if assp.cfg changed (AutoReloadCfg), host names in IP lists are due to be resolved again
    /// (host2IPminTTL) or a list file changed (ReloadOptionFiles).</summary>
    public bool CheckForChanges()
    {
        var cfg = Current;
        try
        {
            if (cfg.GetBool("AutoReloadCfg") && Stamp(_source.ResolvedConfigPath) != _cfgStamp)
            {
                Reload("assp.cfg changed");
                return true;
            }
            // host2IPminTTL: host names in IP lists are looked up again this often (the system resolver tells no TTL).
            if (cfg.ResolvesHostNames && _time.GetUtcNow() - _loadedAt >= TimeSpan.FromSeconds(Math.Max(1, cfg.GetInt("host2IPminTTL", 300))))
            {
                Reload("host names in IP lists are resolved again (host2IPminTTL)");
                return true;
            }
            var every = cfg.GetInt("ReloadOptionFiles", 300);
            if (every > 0 && _time.GetUtcNow() - _lastListCheck >= TimeSpan.FromSeconds(every))
            {
                _lastListCheck = _time.GetUtcNow();
                foreach (var (path, written) in cfg.FilesRead)
                {
                    var now = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : DateTime.MinValue;
                    if (now != written)
                    {
                        Reload($"{Path.GetFileName(path)} changed");
                        return true;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ConfigException or UnauthorizedAccessException)
        {
            // A half-written file: the next poll tries again; the current snapshot stays in force.
        }
        return false;
    }

    /// <summary>
    /// Changes options in assp.cfg (validated first; nothing is written when any value is invalid), then reloads.
    /// Returns the problems, empty on success.
    /// </summary>
    public IReadOnlyList<ConfigIssue> SetValues(IReadOnlyList<KeyValuePair<string, string>> changes)
    {
        var problems = new List<ConfigIssue>();
        var resolved = new List<(OptionDefinition Def, string Value)>();
        foreach (var (name, value) in changes)
        {
            var def = _loader.Registry.Resolve(name, out _);
            if (def is null)
            {
                problems.Add(new ConfigIssue(IssueSeverity.Error, name, value, "no such option"));
                continue;
            }
            var error = def.Validate(value);
            if (error is not null) problems.Add(new ConfigIssue(IssueSeverity.Error, def.Name, def.IsSecret ? "********" : value, $"{error} (rule: {def.Rule})"));
            else resolved.Add((def, value));
        }
        if (problems.Count > 0) return problems;
        lock (_reloadLock)
        {
            var path = _source.ResolvedConfigPath;
            var file = File.Exists(path) ? AsspConfigFile.Load(path) : AsspConfigFile.CreateEmpty();
            foreach (var (def, value) in resolved) file.Set(def.Name, value);
            file.Save(path);
        }
        Reload("options changed: " + string.Join(", ", resolved.Select(r => r.Def.Name)));
        return problems;
    }

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    public void Dispose() => _timer?.Dispose();
}
