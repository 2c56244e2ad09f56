using Assp.Config;
using Assp.Config.Registry;

namespace Assp.Checks.Tests;

/// <summary>Builds a configuration snapshot for a test: defaults plus the given values, in a fresh base folder.</summary>
internal static class TestConfig
{
    public static ConfigSnapshot Create(params (string Name, string Value)[] values) => Create(null, values);

    /// <summary>With <paramref name="files"/> written into the base folder first (relative path → content).</summary>
    public static ConfigSnapshot Create(IReadOnlyDictionary<string, string>? files, params (string Name, string Value)[] values)
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-checks-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var (path, content) in files ?? new Dictionary<string, string>())
        {
            var full = Path.Combine(dir, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }
        var loader = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false };
        var snapshot = loader.Load(new ConfigSource(dir, Overrides: [.. values.Select(v => KeyValuePair.Create(v.Name, v.Value))]));
        var errors = snapshot.Issues.Where(i => i.Severity == IssueSeverity.Error).ToList();
        if (errors.Count > 0) throw new InvalidOperationException("test config invalid: " + string.Join("; ", errors.Select(e => e.ToString())));
        return snapshot;
    }
}
