using System.Text.RegularExpressions;
using Assp.Config.Registry;

namespace Assp.Config.Tests;

/// <summary>
/// An admin's assp.cfg must never hold an option that is silently ignored: every option is named by the code that
/// reads it, or the registry says at load why it does nothing here.
/// </summary>
public class OptionCoverageTests
{
    [Fact]
    public void Every_option_is_read_by_some_code_or_reported_at_load_as_without_effect()
    {
        var src = Path.Combine(RepoRoot(), "src");
        var named = new HashSet<string>(StringComparer.Ordinal);
        var quoted = new Regex("\"([A-Za-z][A-Za-z0-9_]*)\"", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
        var registryFile = Path.Combine(src, "Assp.Config", "Registry", "OptionRegistry.cs");
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var sep = Path.DirectorySeparatorChar;
            if (file.Contains($"{sep}obj{sep}", StringComparison.Ordinal) || file.Contains($"{sep}bin{sep}", StringComparison.Ordinal)) continue;
            // Being listed as not used or without effect is not being read.
            if (file == registryFile) continue;
            foreach (Match m in quoted.Matches(File.ReadAllText(file))) named.Add(m.Groups[1].Value);
        }
        var registry = OptionRegistry.Default;
        var silent = registry.Options
            .Where(o => !registry.IsNotUsed(o) && registry.WithoutEffectYet(o.Name) is null && !named.Contains(o.Name))
            .Select(o => o.Name).ToList();
        Assert.True(silent.Count == 0, "options no code reads and the load does not report: " + string.Join(", ", silent));
    }

    [Fact]
    public void The_reasons_given_at_load_name_the_option_and_why()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "webAdminPassword:=secret123\nLDAPShowDB:=x\n");
        var cfg = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.Contains(cfg.Issues, i => i.Option == "webAdminPassword" && i.Message.Contains("one-time password", StringComparison.Ordinal));
        Assert.Contains(cfg.Issues, i => i.Option == "LDAPShowDB" && i.Message.Contains("LDAP cache", StringComparison.Ordinal));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Assp.slnx"))) return dir.FullName;
        throw new InvalidOperationException("the repository (Assp.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
