using Assp.Config.Lists;
using Assp.Config.Regexes;
using Assp.Config.Registry;
using Xunit.Abstractions;

namespace Assp.Config.Tests.Fuzz;

/// <summary>
/// Regex denial of service: classic catastrophic patterns an admin (or an attacker with GUI access) might put in
/// the configuration, and hostile subjects against every regex option's default pattern. Each must end at its
/// match timeout instead of holding a worker; the hang guard fails the test instead of stalling CI.
/// </summary>
public class RegexDosTests(ITestOutputHelper output)
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

    private static void WithinHangGuard(Action action)
    {
        var work = Task.Run(action);
        Assert.True(work.Wait(TimeSpan.FromSeconds(120)), "a regex match did not end at its timeout");
        work.GetAwaiter().GetResult();
    }

    [Theory]
    [InlineData("(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!")]
    [InlineData("(a|aa)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!")]
    [InlineData("^(\\w+\\s?)*$", "an ordinary looking subject line that goes on and on and on and on and on!")]
    [InlineData("(x+x+)+y", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    [InlineData("(.*a){25}", "aaaaaaaaaaaaaaaaaaaaaaaaxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    [InlineData("^(([a-z])+.)+[A-Z]([a-z])+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!")]
    public void A_catastrophic_pattern_in_the_config_ends_at_its_timeout(string pattern, string subject)
    {
        var plain = RegexList.Compile([new ListEntry(pattern, null, 0)], "blackRe", [], MatchTimeout, ignoreCase: true);
        var weighted = WeightedRegexList.Compile([new ListEntry(pattern + "=>10", null, 0)], "bombRe", [], MatchTimeout, ignoreCase: true);
        WithinHangGuard(() =>
        {
            Assert.Null(plain.Match(subject));
            Assert.Empty(weighted.Matches(subject));
        });
        Assert.True(plain.Timeouts >= 1, "the match ended without reaching its timeout: the pattern is not hostile here");
    }

    /// <summary>Inputs that make common patterns backtrack: long runs, near-misses, deep nesting, huge lines.</summary>
    private static readonly string[] HostileSubjects =
    [
        new string('a', 50_000) + "!",
        string.Concat(Enumerable.Repeat("a.", 20_000)) + "@",
        string.Concat(Enumerable.Repeat("=?utf-8?B?", 5_000)),
        new string(' ', 50_000) + "x",
        string.Concat(Enumerable.Repeat("x-", 30_000)),
        string.Concat(Enumerable.Repeat("<a href=\"http://", 5_000)),
        string.Concat(Enumerable.Repeat("1.", 20_000)),
        new string('@', 30_000),
        string.Concat(Enumerable.Repeat("ab", 25_000)) + "\n" + new string('.', 20_000),
    ];

    [Fact]
    public void Hostile_subjects_against_every_default_regex_pattern_end()
    {
        var dir = Directory.CreateTempSubdirectory("assp-redos-").FullName;
        try
        {
            var snapshot = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false }.Load(new ConfigSource(dir));
            int options = 0, withPattern = 0;
            long timeouts = 0;
            foreach (var option in OptionRegistry.Default.Options)
            {
                if (option.Kind == OptionKind.Regex)
                {
                    options++;
                    var list = snapshot.GetRegex(option.Name);
                    if (list.Count > 0) withPattern++;
                    WithinHangGuard(() =>
                    {
                        foreach (var subject in HostileSubjects) _ = list.Match(subject);
                    });
                    timeouts += list.Timeouts;
                }
                else if (option.Kind == OptionKind.WeightedRegex)
                {
                    options++;
                    var list = snapshot.GetWeightedRegex(option.Name);
                    if (list.Count > 0) withPattern++;
                    WithinHangGuard(() =>
                    {
                        foreach (var subject in HostileSubjects) _ = list.Matches(subject);
                    });
                }
            }
            output.WriteLine($"regex options {options}, with a default pattern {withPattern}, match timeouts hit {timeouts}");
            Assert.True(options > 20);
            Assert.True(withPattern > 0);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
