using System.Net;
using Assp.Auth.Spf;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace Assp.Auth.Tests;

/// <summary>The openspf RFC 7208 test suite (TestData/rfc7208-tests.yml, licence beside it), every scenario and test.</summary>
public sealed class SpfSuiteTests(ITestOutputHelper output)
{
    private sealed record SuiteTest(string Id, InMemorySpfDns Zone, string Host, string Helo, string MailFrom, string[] Results, string? Explanation);

    private static readonly Lazy<IReadOnlyList<SuiteTest>> Suite = new(Load);

    private static IReadOnlyList<SuiteTest> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "rfc7208-tests.yml");
        var stream = new YamlStream();
        using (var reader = new StreamReader(path)) stream.Load(reader);
        var tests = new List<SuiteTest>();
        foreach (var doc in stream.Documents)
        {
            var root = (YamlMappingNode)doc.RootNode;
            string section = Scalar(root, "description") ?? "?";
            var zone = LoadZone(root.Children.TryGetValue(new YamlScalarNode("zonedata"), out var z) ? (YamlMappingNode)z : null);
            foreach (var (key, value) in ((YamlMappingNode)root[new YamlScalarNode("tests")]).Children)
            {
                var t = (YamlMappingNode)value;
                var resultNode = t[new YamlScalarNode("result")];
                string[] results = resultNode is YamlSequenceNode seq
                    ? [.. seq.Children.Select(n => ((YamlScalarNode)n).Value!)]
                    : [((YamlScalarNode)resultNode).Value!];
                tests.Add(new SuiteTest($"{section}/{((YamlScalarNode)key).Value}", zone, Scalar(t, "host")!, Scalar(t, "helo") ?? "",
                    Scalar(t, "mailfrom") ?? "", results, Scalar(t, "explanation")));
            }
        }
        return tests;
    }

    private static string? Scalar(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var n) ? ((YamlScalarNode)n).Value : null;

    /// <summary>
    /// The suite's zone conventions: type SPF stands for a TXT record unless the name lists TXT records of its own
    /// ("TXT: NONE" meaning none at all); a bare TIMEOUT makes every lookup of the name without an answer time out.
    /// </summary>
    private static InMemorySpfDns LoadZone(YamlMappingNode? data)
    {
        var zone = new InMemorySpfDns();
        if (data is null) return zone;
        foreach (var (key, value) in data.Children)
        {
            string name = ((YamlScalarNode)key).Value!;
            zone.Touch(name);
            var entries = ((YamlSequenceNode)value).Children;
            bool hasTxt = entries.OfType<YamlMappingNode>().Any(m => m.Children.Keys.Any(k => ((YamlScalarNode)k).Value == "TXT"));
            foreach (var entry in entries)
            {
                if (entry is YamlScalarNode { Value: "TIMEOUT" })
                {
                    zone.SetTimeout(name);
                    continue;
                }
                foreach (var (tk, tv) in ((YamlMappingNode)entry).Children)
                {
                    string type = ((YamlScalarNode)tk).Value!;
                    if (type == "SPF")
                    {
                        if (hasTxt) continue;
                        type = "TXT";
                    }
                    if (tv is YamlScalarNode { Value: "NONE" }) continue;
                    object v = type switch
                    {
                        "MX" => (int.Parse(((YamlScalarNode)((YamlSequenceNode)tv).Children[0]).Value!, System.Globalization.CultureInfo.InvariantCulture),
                                 ((YamlScalarNode)((YamlSequenceNode)tv).Children[1]).Value!),
                        "TXT" when tv is YamlSequenceNode parts => parts.Children.Select(p => ((YamlScalarNode)p).Value!).ToArray(),
                        _ => ((YamlScalarNode)tv).Value!,
                    };
                    zone.Add(name, type, v);
                }
            }
        }
        return zone;
    }

    public static TheoryData<string> Ids()
    {
        var data = new TheoryData<string>();
        foreach (var t in Suite.Value) data.Add(t.Id);
        return data;
    }

    private static async Task<(bool Ok, string Detail)> RunAsync(SuiteTest t)
    {
        var evaluator = new SpfEvaluator(t.Zone, new SpfOptions { DefaultExplanation = "DEFAULT", ReceiverName = "receiver.example.org" });
        var r = await evaluator.CheckMailFromAsync(IPAddress.Parse(t.Host), t.MailFrom, t.Helo);
        bool ok = t.Results.Contains(r.ResultText);
        // The suite writes one expected ip6 nibble name in upper case where RFC 7208 7.3 produces lower case; case is not significant in DNS names.
        if (ok && t.Explanation is not null && r.Result == SpfResult.Fail)
            ok = string.Equals(t.Explanation, r.Explanation, StringComparison.OrdinalIgnoreCase);
        return (ok, $"{t.Id}: expected {string.Join("|", t.Results)}{(t.Explanation is null ? "" : $" '{t.Explanation}'")}, got {r.ResultText} '{r.Explanation}' ({r.Mechanism ?? r.Problem})");
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public async Task Scenario(string id)
    {
        var (ok, detail) = await RunAsync(Suite.Value.Single(t => t.Id == id));
        Assert.True(ok, detail);
    }

    [Fact]
    public async Task WholeSuitePasses()
    {
        int passed = 0;
        var failures = new List<string>();
        foreach (var t in Suite.Value)
        {
            var (ok, detail) = await RunAsync(t);
            if (ok) passed++;
            else failures.Add(detail);
        }
        output.WriteLine($"RFC 7208 suite: {passed} of {Suite.Value.Count} passed");
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{passed}/{Suite.Value.Count} passed:\n" + string.Join("\n", failures));
    }
}
