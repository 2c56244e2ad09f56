using System.Text;
using Assp.Config.Files;
using Assp.Config.Lists;
using Assp.Config.Regexes;
using Assp.Fuzzing;
using FsCheck.Fluent;

namespace Assp.Config.Tests.Fuzz;

/// <summary>
/// Hostile input for the configuration side: assp.cfg files and list entries built by mutating the lines of a real
/// assp.cfg, plus random bytes. Every parser answers with its documented outcome (a ConfigIssue, a
/// PerlRegexException) and nothing else escapes.
/// </summary>
public class ConfigFuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string RealCfg = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "realistic", "assp.cfg"));

    private static readonly byte[][] CfgSeeds = [Encoding.UTF8.GetBytes(RealCfg), .. RealCfg.Split('\n').Select(l => Encoding.UTF8.GetBytes(l + "\n"))];

    /// <summary>The values of the real assp.cfg and typical list entries of every list kind.</summary>
    private static readonly byte[][] EntrySeeds =
    [
        .. RealCfg.Split('\n').Select(l => l.IndexOf(":=", StringComparison.Ordinal) is var i and >= 0 ? l[(i + 2)..] : l).Select(Encoding.UTF8.GetBytes),
        .. new[]
        {
            "192.0.2.0/24", "10.1.", "2001:db8::/32", "192.0.2.1-192.0.2.9", "192.0.2.7 # comment", "[groupname]", "host.example.com",
            "@example.com", "*@example.org", "user@*.example.net", "sender@a.example=>rcpt@b.example", "~(?i)cheap\\s+meds~=>25:>N-W-",
            "^(?:\\w[\\w\\.\\-]*\\.\\w{2,6})$", "(a+)+$", "\\p{L}{2,}", "(?<name>x)\\k<name>", "[[:alpha:]]+", "x{2,}?", "(?{ code })",
        }.Select(Encoding.UTF8.GetBytes),
    ];

    private static readonly byte[] Interesting = "|:=>~#*@[]()\\{}.,-/ \t\r\n\0\xFF?+^$"u8.ToArray();

    [Fact]
    public void Assp_cfg_files_never_fail_to_parse_and_save_back_the_same_bytes()
    {
        var runs = FuzzRun.For(FuzzRun.Mutations(CfgSeeds, Interesting), data =>
        {
            var file = AsspConfigFile.Parse(data);
            foreach (var entry in file.Entries.Take(50)) _ = file.Get(entry.Name);
            _ = file.MalformedLines.Count();
            Assert.Equal(data, file.ToBytes(ensureSavedMarker: false));
        });
        output.WriteLine($"{runs} inputs in {FuzzRun.Budget.TotalSeconds:0} s");
        Assert.True(runs > 0);
    }

    private static List<ListEntry> Entries(byte[] data) =>
        Encoding.UTF8.GetString(data).Split('|', '\n').Select((t, i) => new ListEntry(t, null, i)).ToList();

    [Fact]
    public void List_entries_of_every_kind_compile_to_issues_never_to_exceptions()
    {
        var timeout = TimeSpan.FromMilliseconds(50);
        var runs = FuzzRun.For(FuzzRun.Mutations(EntrySeeds, Interesting), data =>
        {
            var entries = Entries(data);
            var issues = new List<ConfigIssue>();
            var ips = IpList.Compile(entries, "fuzzIps", issues, timeout, _ => []);
            _ = ips.Contains("192.0.2.7");
            var addresses = AddressList.Compile(entries, "fuzzAddresses", issues, timeout);
            _ = addresses.Contains("user@example.com");
            var domains = DomainList.Compile(entries, "fuzzDomains", issues, timeout);
            _ = domains.Matches("user@example.com", "rcpt@example.org");
            var regexes = RegexList.Compile(entries, "fuzzRe", issues, timeout, ignoreCase: true);
            _ = regexes.Match("Subject: cheap meds from host.example.com");
            var weighted = WeightedRegexList.Compile(entries, "fuzzWeighted", issues, timeout, ignoreCase: true);
            _ = weighted.Matches("Subject: cheap meds from host.example.com");
        });
        output.WriteLine($"{runs} inputs in {FuzzRun.Budget.TotalSeconds:0} s");
        Assert.True(runs > 0);
    }

    [Fact]
    public void Perl_patterns_translate_or_raise_PerlRegexException_only()
    {
        var runs = FuzzRun.For(FuzzRun.Mutations(EntrySeeds, Interesting), data =>
        {
            var pattern = Encoding.UTF8.GetString(data);
            try
            {
                var t = PerlRegexTranslator.Translate(pattern, ignoreCase: data.Length % 2 == 0);
                // What the translator hands on must be a pattern .NET accepts.
                _ = new System.Text.RegularExpressions.Regex(t.Pattern, t.Options, TimeSpan.FromMilliseconds(50));
            }
            catch (PerlRegexException)
            {
            }
        });
        output.WriteLine($"{runs} inputs in {FuzzRun.Budget.TotalSeconds:0} s");
        Assert.True(runs > 0);
    }
}
