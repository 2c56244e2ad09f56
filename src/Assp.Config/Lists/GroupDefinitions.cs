using System.Diagnostics;

namespace Assp.Config.Lists;

/// <summary>
/// The groups of ASSP's Groups option: "[name]" headers, each followed by its members. A member line is a literal
/// entry, "# include file", "exec:command" (the command's output, split on ',', '|' or line ends) or
/// "ldap:{...}" (an LDAP query; recognised, reported, and not run until LDAP support exists).
/// Elsewhere, a list entry "[name]" stands for all members of that group.
/// </summary>
public sealed class GroupDefinitions
{
    public static readonly GroupDefinitions None = new(new Dictionary<string, List<ListEntry>>(StringComparer.OrdinalIgnoreCase));

    private readonly Dictionary<string, List<ListEntry>> _groups;

    private GroupDefinitions(Dictionary<string, List<ListEntry>> groups) => _groups = groups;

    public IReadOnlyCollection<string> Names => _groups.Keys;

    public bool TryGet(string name, out IReadOnlyList<ListEntry> members)
    {
        if (_groups.TryGetValue(name, out var list))
        {
            members = list;
            return true;
        }
        members = [];
        return false;
    }

    /// <summary>How long an exec: command may run before it is stopped.</summary>
    public static TimeSpan ExecTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public static GroupDefinitions Load(string value, ListFileReader reader, List<ConfigIssue> issues, bool exportFiles, bool allowExec = true)
    {
        const string option = "Groups";
        var groups = new Dictionary<string, List<ListEntry>>(StringComparer.OrdinalIgnoreCase);
        value = value.Trim();
        if (value.Length == 0) return new GroupDefinitions(groups);
        if (!value.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            issues.Add(new ConfigIssue(IssueSeverity.Error, option, value, "Groups must be a file: reference (for example file:files/groups.txt)"));
            return new GroupDefinitions(groups);
        }
        var lines = reader.ReadEntries(value[5..], option, issues, keepTrailingComments: true);
        List<ListEntry>? current = null;
        string pending = "";
        foreach (var line in lines)
        {
            var t = pending + line.Text;
            // A line ending in '/' continues on the next one (long ldap: lines).
            if (t.EndsWith('/') && !t.StartsWith('['))
            {
                pending = t[..^1].TrimEnd();
                continue;
            }
            pending = "";
            if (t.Length > 2 && t[0] == '[' && t[^1] == ']' && !t.Contains('|'))
            {
                var name = t[1..^1].Trim();
                if (name.Length == 0 || name.Any(char.IsWhiteSpace))
                {
                    issues.Add(new ConfigIssue(IssueSeverity.Error, option, t, "a group name cannot be empty or contain spaces", line.File, line.Line));
                    current = null;
                    continue;
                }
                if (!groups.TryGetValue(name, out current)) groups[name] = current = [];
                continue;
            }
            if (current is null)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, option, t, "entry before the first [group] header", line.File, line.Line));
                continue;
            }
            if (t.StartsWith("exec:", StringComparison.OrdinalIgnoreCase))
            {
                if (!allowExec)
                {
                    issues.Add(new ConfigIssue(IssueSeverity.Info, option, t,
                        "exec: runs once the process has dropped to runAsUser (never as root)", line.File, line.Line));
                    continue;
                }
                foreach (var item in RunExec(t[5..].Trim(), line, issues)) current.Add(item);
                continue;
            }
            if (t.StartsWith("ldap:", StringComparison.OrdinalIgnoreCase))
            {
                issues.Add(new ConfigIssue(IssueSeverity.Warning, option, t,
                    "ldap: group imports are recognised but need LDAP support, which this version does not have yet; the line adds no members",
                    line.File, line.Line));
                continue;
            }
            // Group lines carry no trailing comments (ASSP reads them whole).
            current.Add(line with { Text = t });
        }
        ResolveNested(groups, issues);
        var result = new GroupDefinitions(groups);
        if (exportFiles) result.Export(Path.Combine(reader.BaseDirectory, "files", "group_export"), issues);
        return result;
    }

    /// <summary>Groups may name other groups; members are expanded until none is left (cycles are reported).</summary>
    private static void ResolveNested(Dictionary<string, List<ListEntry>> groups, List<ConfigIssue> issues)
    {
        var done = new Dictionary<string, List<ListEntry>>(StringComparer.Ordinal);
        foreach (var name in groups.Keys.ToList()) groups[name] = Resolve(name, []);

        List<ListEntry> Resolve(string name, HashSet<string> path)
        {
            if (done.TryGetValue(name, out var ready)) return ready;
            if (!path.Add(name))
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, "Groups", $"[{name}]", $"group [{name}] contains itself ({string.Join(" -> ", path)} -> {name})"));
                return [];
            }
            var result = new List<ListEntry>();
            foreach (var m in groups[name])
            {
                if (TryParseToken(m.Text, out var inner, out var extension) && groups.ContainsKey(inner))
                    result.AddRange(Resolve(inner, path).Select(x => x with { Text = x.Text + extension }));
                else result.Add(m);
            }
            path.Remove(name);
            return done[name] = result;
        }
    }

    /// <summary>"[name]" optionally followed by an extension ("[bosses]=>25"); names use letters, digits, '.', '-', '_'.</summary>
    internal static bool TryParseToken(string text, out string name, out string extension)
    {
        name = extension = "";
        var t = text.Trim();
        if (t.Length < 3 || t[0] != '[') return false;
        int close = t.IndexOf(']');
        if (close < 2) return false;
        var inner = t[1..close].Trim();
        if (inner.Length == 0 || !inner.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@')) return false;
        name = inner;
        extension = string.Concat(t[(close + 1)..].Where(c => !char.IsWhiteSpace(c)));
        return true;
    }

    private static IEnumerable<ListEntry> RunExec(string command, ListEntry line, List<ConfigIssue> issues)
    {
        if (command.Length == 0)
        {
            issues.Add(new ConfigIssue(IssueSeverity.Error, "Groups", line.Text, "exec: needs a command", line.File, line.Line));
            return [];
        }
        try
        {
            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(command);
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(ExecTimeout))
            {
                process.Kill(entireProcessTree: true);
                issues.Add(new ConfigIssue(IssueSeverity.Error, "Groups", line.Text,
                    $"exec: command ran longer than {ExecTimeout.TotalSeconds:0} s and was stopped", line.File, line.Line));
                return [];
            }
            if (process.ExitCode != 0)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Warning, "Groups", line.Text,
                    $"exec: command exited with {process.ExitCode}: {stderr.Result.Trim()}", line.File, line.Line));
            }
            return stdout.Result.Split([',', '|', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(item => line with { Text = item }).ToList();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            issues.Add(new ConfigIssue(IssueSeverity.Error, "Groups", line.Text, $"exec: could not run: {ex.Message}", line.File, line.Line));
            return [];
        }
    }

    /// <summary>Writes each group's members to files/group_export/NAME.txt, as ASSP does, for admins to inspect.</summary>
    private void Export(string folder, List<ConfigIssue> issues)
    {
        try
        {
            Directory.CreateDirectory(folder);
            foreach (var (name, members) in _groups)
            {
                var path = Path.Combine(folder, name + ".txt");
                var text = string.Join('\n', members.Select(m => m.Text)) + "\n";
                if (!File.Exists(path) || File.ReadAllText(path) != text) File.WriteAllText(path, text);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            issues.Add(new ConfigIssue(IssueSeverity.Warning, "Groups", null, $"could not write group exports to {folder}: {ex.Message}"));
        }
    }

    /// <summary>
    /// Replaces "[group]" entries by the group's members; text after the token ("[bosses]=>25") is appended to
    /// every member. Unknown or empty groups are reported and add nothing (ASSP warns the same way).
    /// </summary>
    public IEnumerable<ListEntry> Expand(IEnumerable<ListEntry> entries, string option, List<ConfigIssue> issues)
    {
        foreach (var e in entries)
        {
            if (!TryParseToken(e.Text, out var name, out var extension))
            {
                yield return e;
                continue;
            }
            if (TryGet(name, out var members) && members.Count > 0)
            {
                foreach (var m in members) yield return m with { Text = m.Text + extension };
            }
            else
            {
                issues.Add(new ConfigIssue(IssueSeverity.Warning, option, $"[{name}]", $"group [{name}] is not defined in Groups or is empty", e.File, e.Line));
            }
        }
    }

    /// <summary>Replaces "[group]" items inside one side of a "a|b=>c|[g]" entry.</summary>
    public string ExpandInline(string side, string option, ListEntry origin, List<ConfigIssue> issues)
    {
        if (!side.Contains('[')) return side;
        var parts = new List<string>();
        foreach (var item in side.Split('|'))
        {
            var t = item.Trim();
            if (t.Length > 2 && t[0] == '[' && t[^1] == ']')
            {
                if (TryGet(t[1..^1].Trim(), out var members) && members.Count > 0) parts.AddRange(members.Select(m => m.Text));
                else issues.Add(new ConfigIssue(IssueSeverity.Warning, option, t, $"group {t} is not defined in Groups or is empty", origin.File, origin.Line));
            }
            else parts.Add(t);
        }
        return string.Join('|', parts);
    }
}
