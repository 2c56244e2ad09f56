using System.Text;
using Assp.Config.Regexes;
using Assp.Smtp.Session;

namespace Assp.Smtp.Tests;

/// <summary>preHeaderRe's line scanner: header lines as they are stored, never past the blank line.</summary>
public class PreHeaderScannerTests
{
    private static PreHeaderScanner Scanner(string pattern) =>
        new(RegexList.Compile([new Assp.Config.Lists.ListEntry(pattern, null, 0)], "preHeaderRe", [], ConfigRegex.DefaultMatchTimeout, true));

    [Fact]
    public void Lines_are_tested_as_they_complete()
    {
        var scanner = Scanner("^X-Bad:");
        var stored = Encoding.ASCII.GetBytes("From: a@b\r\nX-Ba");
        Assert.Null(scanner.CheckStored(stored));
        stored = Encoding.ASCII.GetBytes("From: a@b\r\nX-Bad: 1\r\n");
        Assert.Equal("X-Bad:", scanner.CheckStored(stored));
    }

    [Fact]
    public void The_body_is_not_tested()
    {
        var scanner = Scanner("^X-Bad:");
        Assert.Null(scanner.CheckStored(Encoding.ASCII.GetBytes("From: a@b\r\n\r\nX-Bad: 1\r\n")));
        Assert.True(scanner.HeaderPassed);
    }

    [Fact]
    public void Command_lines_are_tested()
    {
        Assert.Equal("HELO evil", Scanner("HELO evil").CheckLine("HELO evil.example"));
        Assert.Null(Scanner("HELO evil").CheckLine("HELO good.example"));
    }
}
