using Assp.Config.Registry;

namespace Assp.Config.Tests;

public class CharsetRulesTests
{
    private static ConfigSnapshot Load(TestPaths.TempDir dir) =>
        new ConfigLoader(OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));

    [Theory]
    [InlineData("UTF-8")]
    [InlineData("utf8")]
    [InlineData("ISO-8859-1")]
    [InlineData("iso8859-15")]
    [InlineData("latin1")]
    [InlineData("cp1250")]
    [InlineData("windows-1252")]
    [InlineData("KOI8-R")]
    [InlineData("Shift_JIS")]
    [InlineData("cp437")]
    public void Perl_spellings_are_known(string name) => Assert.True(CharsetRules.IsKnown(name), name);

    [Theory]
    [InlineData("")]
    [InlineData("bogus")]
    [InlineData("iso-8859-99")]
    [InlineData("cp99999")]
    public void Unknown_names_are_not(string name) => Assert.False(CharsetRules.IsKnown(name), name);

    [Fact]
    public void Good_rules_load()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "inChrSetConv:=UTF-8=>ISO-8859-1|ISO-8859-15=>ISO-8859-1\noutChrSetConv:=ISO-8859-1=>UTF-8|windows-1250=>UTF-8\n");
        var cfg = Load(dir);
        Assert.DoesNotContain(cfg.Issues, i => i.Option is "inChrSetConv" or "outChrSetConv");
        Assert.Equal("UTF-8=>ISO-8859-1|ISO-8859-15=>ISO-8859-1", cfg["inChrSetConv"]);
    }

    [Fact]
    public void An_unknown_charset_is_an_error_naming_option_and_value()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "inChrSetConv:=UTF-8=>ISO-8859-1|UTF-8=>klingon-1\n");
        var cfg = Load(dir);
        var issue = Assert.Single(cfg.Issues, i => i.Option == "inChrSetConv");
        Assert.Equal(IssueSeverity.Error, issue.Severity);
        Assert.Equal("UTF-8=>ISO-8859-1|UTF-8=>klingon-1", issue.Value);
        Assert.Contains("unknown charset 'klingon-1' in 'UTF-8=>klingon-1'", issue.Message, StringComparison.Ordinal);
        Assert.Equal("", cfg["inChrSetConv"]);   // the default is used, as for every invalid value
    }

    [Fact]
    public void Rules_in_a_file_are_checked_line_by_line()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/conv.txt", "# rules\nUTF-8=>ISO-8859-1\nfoo=>UTF-8\nnot a rule\n");
        dir.File("assp.cfg", "outChrSetConv:=file:files/conv.txt\n");
        var cfg = Load(dir);
        var issues = cfg.Issues.Where(i => i.Option == "outChrSetConv").ToList();
        Assert.Equal(2, issues.Count);
        Assert.All(issues, i => Assert.Equal(IssueSeverity.Error, i.Severity));
        Assert.Contains(issues, i => i.Value == "foo=>UTF-8" && i.Line == 3 && i.Message.Contains("unknown charset 'foo'", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Value == "not a rule" && i.Message.Contains("is not a FROM=>TO rule", StringComparison.Ordinal));
    }
}
