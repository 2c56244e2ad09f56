namespace Assp.Config.Lists;

/// <summary>One entry of a list option after files, includes and groups are expanded; remembers where it came from.</summary>
public readonly record struct ListEntry(string Text, string? File, int Line)
{
    public string Location => File is null ? "" : $"{File}:{Line}";
}
