using System.Text.RegularExpressions;
using Assp.Config.Registry;

namespace Assp.Server.Tests;

/// <summary>Every option name the code reads must be a real ASSP option: a typo would only show at run time.</summary>
public partial class OptionNameUsageTests
{
    [GeneratedRegex(@"(?:(?:cfg|_cfg|Config|Current|snapshot)\[""|\.Get(?:Bool|Int|Long|Decimal|Choice|Valence|IpList|AddressList|DomainList|Regex|WeightedRegex|ListEntries|String)\("")([A-Za-z0-9_]+)""")]
    private static partial Regex OptionAccess();

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Assp.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public void Option_names_used_in_the_source_exist()
    {
        var src = Path.Combine(RepoRoot(), "src");
        var used = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .SelectMany(f => OptionAccess().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Name: m.Groups[1].Value)))
            .ToList();
        Assert.True(used.Count > 30, $"only {used.Count} option reads found; is the pattern still right?");
        var unknown = used.Where(u => OptionRegistry.Default.Find(u.Name) is null).Distinct().ToList();
        Assert.True(unknown.Count == 0, string.Join("\n", unknown.Select(u => $"{u.File}: {u.Name}")));
    }

    [GeneratedRegex(@"\.Get(IpList|AddressList|DomainList|Regex|WeightedRegex)\(""([A-Za-z0-9_]+)""")]
    private static partial Regex TypedListAccess();

    [Fact]
    public void Typed_list_accessors_are_used_on_options_of_that_kind()
    {
        var src = Path.Combine(RepoRoot(), "src");
        var wrong = new List<string>();
        foreach (var f in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            foreach (Match m in TypedListAccess().Matches(File.ReadAllText(f)))
            {
                var kind = OptionRegistry.Default.Find(m.Groups[2].Value)?.Kind;
                var expected = m.Groups[1].Value switch
                {
                    "IpList" => OptionKind.IpList, "AddressList" => OptionKind.AddressList, "DomainList" => OptionKind.DomainList,
                    "Regex" => OptionKind.Regex, _ => OptionKind.WeightedRegex,
                };
                if (kind != expected) wrong.Add($"{Path.GetFileName(f)}: Get{m.Groups[1].Value}(\"{m.Groups[2].Value}\") but the option is {kind}");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>The logging options: each is read by the code, or reported as not used / without effect when set.</summary>
    [Theory]
    [InlineData("noLog")] [InlineData("noLogRe")] [InlineData("noLogLineRe")] [InlineData("allLogRe")] [InlineData("subjectLogging")]
    [InlineData("subjectStart")] [InlineData("subjectEnd")] [InlineData("UseUnicode4SubjectLogging")] [InlineData("regexLogging")]
    [InlineData("tagLogging")] [InlineData("ipmatchLogging")] [InlineData("slmatchLogging")] [InlineData("MessageLog")]
    [InlineData("sendNoopInfo")] [InlineData("ConTimeOutDebug")] [InlineData("IgnoreMIMEErrors")] [InlineData("AddRegexHeader")]
    [InlineData("RBLLog")] [InlineData("URIBLLog")] [InlineData("RWLLog")] [InlineData("BacksctrLog")] [InlineData("LDAPLog")]
    [InlineData("VRFYLog")] [InlineData("ReportLog")] [InlineData("ScheduleLog")] [InlineData("SenderBaseLog")] [InlineData("SignalLog")]
    [InlineData("WorkerLog")] [InlineData("SNMPLog")] [InlineData("DataBaseDebug")] [InlineData("DNSResponseLog")] [InlineData("spamSBLog")]
    [InlineData("debug")] [InlineData("debugCode")] [InlineData("debugIP")] [InlineData("debugRe")] [InlineData("debugNoWriteBody")]
    [InlineData("sysLog")] [InlineData("sysLogIp")] [InlineData("sysLogPort")] [InlineData("SysLogFac")]
    [InlineData("MaillogTailBytes")] [InlineData("MaillogTailJump")]
    public void Logging_options_are_read_or_reported(string name)
    {
        var registry = OptionRegistry.Default;
        var option = registry.Get(name);
        if (registry.IsNotUsed(option) || registry.WithoutEffectYet(name) is not null) return;
        var src = Path.Combine(RepoRoot(), "src");
        var readers = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.EndsWith("OptionRegistry.cs", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f).Contains($"\"{name}\"", StringComparison.Ordinal));
        Assert.NotEmpty(readers);
    }
}
