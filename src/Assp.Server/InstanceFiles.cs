using System.Text.Json;
using Assp.Config;

namespace Assp.Server;

/// <summary>What a running instance publishes about itself for `assp status`, next to its pid file.</summary>
public sealed record InstanceStatus(int Pid, string Version, DateTimeOffset Started, DateTimeOffset Updated, long ConfigGeneration,
    string ConfigLoaded, IReadOnlyList<string> Listeners, int ActiveSessions, long SessionsTotal, long MessagesDelivered)
{
    /// <summary>The scheduled maintenance jobs with their last and next runs.</summary>
    public IReadOnlyList<Assp.Config.Scheduling.JobStatus> Jobs { get; init; } = [];
}

/// <summary>The pid file (ASSP's `pidfile` option, relative to the base) and the status file beside it.</summary>
public static class InstanceFiles
{
    public static string PidPath(ConfigSnapshot cfg)
    {
        var name = cfg["pidfile"].Trim();
        if (name.Length == 0) name = "pid";
        return Path.GetFullPath(Path.Combine(cfg.BaseDirectory, name));
    }

    public static string StatusPath(string baseDirectory) => Path.Combine(baseDirectory, "tmp", "status.json");

    public static void WritePid(ConfigSnapshot cfg) => File.WriteAllText(PidPath(cfg), Environment.ProcessId + "\n");

    public static int? ReadPid(ConfigSnapshot cfg)
    {
        var path = PidPath(cfg);
        if (!File.Exists(path)) return null;
        return int.TryParse(File.ReadAllText(path).Trim(), out var pid) ? pid : null;
    }

    public static void RemovePid(ConfigSnapshot cfg)
    {
        var path = PidPath(cfg);
        if (ReadPid(cfg) == Environment.ProcessId) File.Delete(path);
    }

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public static void WriteStatus(string baseDirectory, InstanceStatus status)
    {
        var path = StatusPath(baseDirectory);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(status, s_json));
        File.Move(temp, path, overwrite: true);
    }

    public static InstanceStatus? ReadStatus(string baseDirectory)
    {
        var path = StatusPath(baseDirectory);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<InstanceStatus>(File.ReadAllText(path)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
