namespace Assp.Config;

public enum IssueSeverity { Info, Warning, Error }

/// <summary>A problem found while loading configuration: which option, which value, where, and why.</summary>
public sealed record ConfigIssue(IssueSeverity Severity, string? Option, string? Value, string Message, string? File = null, int Line = 0)
{
    public string Location => File is null ? "" : Line > 0 ? $"{File}:{Line}" : File;

    public override string ToString()
    {
        var where = Location.Length > 0 ? Location + ": " : "";
        var what = Option is null ? "" : Value is null ? $"{Option}: " : $"{Option}='{Value}': ";
        return $"{Severity.ToString().ToLowerInvariant()}: {where}{what}{Message}";
    }
}

/// <summary>Thrown where a caller asks for configuration that cannot be used at all.</summary>
public sealed class ConfigException(string message) : Exception(message);
