using System.Text;
using Assp.Auth.Arc;
using Assp.Auth.Dkim;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace Assp.Auth.Tests.Dkim;

/// <summary>
/// The ValiMail ARC test suite (TestData/arc-draft-*.yml, licence in arc-tests.LICENSE): every validation scenario
/// must give its cv; every signing scenario must give the expected ARC set, which our validator must accept.
/// </summary>
public sealed class ArcSuiteTests(ITestOutputHelper output)
{
    private sealed record ValidationCase(string Id, string Message, string Cv, InMemoryDkimDns Dns);

    private sealed record SigningCase(string Id, string Message, long T, string[] Headers, string SrvId, string As, string Ams, string Aar,
        InMemoryDkimDns Dns, string Domain, string Selector, string PrivateKey);

    private static IEnumerable<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(AppContext.BaseDirectory, "TestData", file))) stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
    }

    private static string? Scalar(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var n) && n is YamlScalarNode s ? s.Value : null;

    private static InMemoryDkimDns Zone(YamlMappingNode root)
    {
        var dns = new InMemoryDkimDns();
        foreach (var key in new[] { "txt-records", "txt_records" })
            if (root.Children.TryGetValue(new YamlScalarNode(key), out var z) && z is YamlMappingNode records)
                foreach (var (name, value) in records.Children)
                    dns.Add(((YamlScalarNode)name).Value!, ((YamlScalarNode)value).Value!.Replace("\n", ""));
        return dns;
    }

    /// <summary>YAML gives LF lines; SMTP messages have CRLF.</summary>
    private static string Crlf(string s) => s.Replace("\r\n", "\n").Replace("\n", "\r\n");

    private static IEnumerable<(string Id, YamlMappingNode Test, YamlMappingNode Root)> Tests(string file)
    {
        foreach (var root in Documents(file))
        {
            var section = Scalar(root, "description") ?? "?";
            foreach (var (key, value) in ((YamlMappingNode)root[new YamlScalarNode("tests")]).Children)
                yield return ($"{section}/{((YamlScalarNode)key).Value}", (YamlMappingNode)value, root);
        }
    }

    /// <summary>
    /// The validation suite from its JSON form: the YAML form has block scalars starting with indented lines (headers
    /// that begin with whitespace) that YamlDotNet refuses; the JSON has the same scenarios.
    /// </summary>
    private static readonly Lazy<List<ValidationCase>> Validation = new(() =>
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "arc-draft-validation-tests.json")));
        var cases = new List<ValidationCase>();
        foreach (var scenario in doc.RootElement.EnumerateArray())
        {
            var dns = new InMemoryDkimDns();
            foreach (var key in new[] { "txt-records", "txt_records" })
                if (scenario.TryGetProperty(key, out var records))
                    foreach (var r in records.EnumerateObject()) dns.Add(r.Name, r.Value.GetString()!.Replace("\n", ""));
            var section = scenario.GetProperty("description").GetString();
            foreach (var t in scenario.GetProperty("tests").EnumerateObject())
                cases.Add(new ValidationCase($"{section}/{t.Name}", Crlf(t.Value.GetProperty("message").GetString() ?? ""),
                    t.Value.GetProperty("cv").GetString()!.Trim(), dns));
        }
        return cases;
    });

    private static readonly Lazy<List<SigningCase>> Signing = new(() =>
        [.. Tests("arc-draft-sign-tests.yml").Select(t => new SigningCase(t.Id, Crlf(Scalar(t.Test, "message") ?? ""),
            long.Parse(Scalar(t.Test, "t")!), Scalar(t.Test, "sig-headers")!.Split(':'), Scalar(t.Test, "srv-id")!,
            Scalar(t.Test, "AS") ?? "", Scalar(t.Test, "AMS") ?? "", Scalar(t.Test, "AAR") ?? "",
            Zone(t.Root), Scalar(t.Root, "domain")!, Scalar(t.Root, "sel")!, Scalar(t.Root, "privatekey")!))]);

    public static TheoryData<string> ValidationIds() => [.. Validation.Value.Select(c => c.Id)];

    public static TheoryData<string> SigningIds() => [.. Signing.Value.Select(c => c.Id)];

    private static DkimMessage Parse(string message) => DkimMessage.Parse(Encoding.Latin1.GetBytes(message));

    [Theory]
    [MemberData(nameof(ValidationIds))]
    public async Task Validation_scenario_gives_the_expected_cv(string id)
    {
        var c = Validation.Value.Single(x => x.Id == id);
        var result = await new ArcValidator(c.Dns).ValidateAsync(Parse(c.Message));
        output.WriteLine($"{id}: {result.Name} {result.Reason}");
        if (c.Cv.Length == 0)
        {
            // An empty cv is the suite's "chain terminated": a seal already records cv=fail. That is a failed chain.
            Assert.Equal(ArcChainStatus.Fail, result.Status);
            Assert.Contains("cv=fail", result.Reason);
            return;
        }
        Assert.Equal(c.Cv.ToLowerInvariant(), result.Name);
    }

    [Fact]
    public void Suite_sizes_are_as_expected()
    {
        output.WriteLine($"validation {Validation.Value.Count}, signing {Signing.Value.Count}");
        Assert.True(Validation.Value.Count > 150);
        Assert.True(Signing.Value.Count > 10);
    }

    [Theory]
    [MemberData(nameof(SigningIds))]
    public async Task Signing_scenario_gives_the_expected_set_and_it_validates(string id)
    {
        var c = Signing.Value.Single(x => x.Id == id);
        var message = Parse(c.Message);
        var chain = await new ArcValidator(c.Dns).ValidateAsync(message);
        var ar = ArcSigner.MergeAuthenticationResults(message, c.SrvId) ?? c.SrvId + "; none";
        var set = ArcSigner.Sign(message, chain, new ArcSigningOptions
        {
            Domain = c.Domain,
            Selector = c.Selector,
            Key = DkimSigningKey.FromPem(c.PrivateKey),
            AuthenticationResults = ar,
            Headers = c.Headers,
            SigningTime = DateTimeOffset.FromUnixTimeSeconds(c.T),
        });
        if (c.As.Trim().Length == 0)
        {
            // The suite expects no new set (a failure already recorded by cv=fail).
            Assert.Null(set);
            return;
        }
        Assert.NotNull(set);
        output.WriteLine(string.Concat(set));
        // The published set must itself validate; then ours must match it tag for tag (RSA PKCS#1 is deterministic).
        // The published seals were made over an AMS with b= on one line, so that is how it is put back.
        var published = Parse($"ARC-Seal: {Folded(c.As)}ARC-Message-Signature: {Unfolded(c.Ams)}ARC-Authentication-Results: {Folded(c.Aar)}" + c.Message);
        var publishedResult = await new ArcValidator(c.Dns).ValidateAsync(published);
        var expectedAfter = chain.Status == ArcChainStatus.Fail ? ArcChainStatus.Fail : ArcChainStatus.Pass;
        Assert.True(publishedResult.Status == expectedAfter, "published set: " + publishedResult.Reason);
        AssertSameTags(c.Ams, Value(set[1]));
        Assert.Equal(Relaxed(c.Aar), Relaxed(Value(set[2])));
        AssertSameTags(c.As, Value(set[0]));

        var signed = Parse(string.Concat(set) + c.Message);
        var after = await new ArcValidator(c.Dns).ValidateAsync(signed);
        // A chain that was already broken stays failed (the new set records cv=fail); otherwise it passes.
        Assert.Equal(expectedAfter, after.Status);
    }

    /// <summary>A YAML block value as a folded header value: continuation lines get a leading space.</summary>
    private static string Folded(string v) => v.TrimEnd('\n').Replace("\n", "\r\n ") + "\r\n";

    /// <summary>Like <see cref="Folded"/> but with the b= value on one line.</summary>
    private static string Unfolded(string v)
    {
        int b = v.IndexOf("\nb=", StringComparison.Ordinal) + 1;
        int semi = v.IndexOf(';', b);
        return Folded(v[..b] + v[b..semi].Replace("\n", "") + v[semi..]);
    }

    private static string Value(string field) => field[(field.IndexOf(':') + 1)..];

    private static string Relaxed(string value) =>
        string.Join(' ', value.Replace("\r", " ").Replace("\n", " ").Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));

    private static void AssertSameTags(string expected, string actual)
    {
        static Dictionary<string, string> Tags(string v)
        {
            var t = DkimTagList.Parse(v, out var error) ?? throw new InvalidOperationException(error);
            return t.Names.ToDictionary(n => n, n => DkimTagList.WithoutWhitespace(t[n]!));
        }
        Assert.Equal(Tags(expected).OrderBy(x => x.Key), Tags(actual).OrderBy(x => x.Key));
    }
}
