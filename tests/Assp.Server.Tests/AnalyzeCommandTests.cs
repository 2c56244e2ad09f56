using System.Text.Json;

namespace Assp.Server.Tests;

public class AnalyzeCommandTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "assp-analyze-" + Guid.NewGuid().ToString("N"));

    public AnalyzeCommandTests()
    {
        Directory.CreateDirectory(_base);
        File.WriteAllText(Path.Combine(_base, "assp.cfg"), "blackListedDomains:=spam.example\nspamSubject:=[SPAM]\n");
        File.WriteAllText(Path.Combine(_base, "bad.eml"),
            "Received: from mx.bad.example ([198.51.100.7]) by mx.local.test; Sat, 21 Nov 2026 10:00:00 +0000\r\n" +
            "From: Bad <bad@spam.example>\r\nTo: user@local.test\r\nSubject: pills\r\n\r\nbuy\r\n");
        File.WriteAllText(Path.Combine(_base, "good.eml"), "From: friend@good.example\r\nTo: user@local.test\r\nSubject: lunch\r\n\r\nsee you\r\n");
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);

    private async Task<(int Exit, string Out)> Run(params string[] args)
    {
        var output = new StringWriter();
        int exit = await Cli.RunAsync(["analyze", "--base", _base, .. args], output, new StringWriter());
        return (exit, output.ToString());
    }

    [Fact]
    public async Task TablesShowEachCheckAndTheDecision()
    {
        var (exit, text) = await Run(Path.Combine(_base, "bad.eml"), Path.Combine(_base, "good.eml"));
        Assert.Equal(0, exit);
        Assert.Contains("DoBlackDomain", text);
        Assert.Contains("blacklisted domain 'bad@spam.example'", text);
        Assert.Contains("BLOCK at header - 554 5.7.1 Mail appears to be unsolicited -- send error reports to postmaster@local.test", text);
        Assert.Contains("via 198.51.100.7", text);
        Assert.Contains("message score 0: PASS", text);
    }

    [Fact]
    public async Task JsonIsOneObjectPerMessageAndEnvelopeOptionsApply()
    {
        var (exit, text) = await Run("--json", "--ip", "192.0.2.1", "--from", "other@fine.example", "--rcpt", "boss@local.test",
            Path.Combine(_base, "bad.eml"), Path.Combine(_base, "good.eml"));
        Assert.Equal(0, exit);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var bad = JsonDocument.Parse(lines[0]);
        Assert.Equal("192.0.2.1", bad.RootElement.GetProperty("ip").GetString());
        Assert.Equal("boss@local.test", bad.RootElement.GetProperty("recipients")[0].GetString());
        // The From: header is still blacklisted even with another envelope sender.
        Assert.Equal("block", bad.RootElement.GetProperty("decision").GetString());
        using var good = JsonDocument.Parse(lines[1]);
        Assert.Equal("pass", good.RootElement.GetProperty("decision").GetString());
    }

    [Fact]
    public async Task BadIpIsAClearError()
    {
        var (exit, text) = await Run("--ip", "not-an-ip", Path.Combine(_base, "bad.eml"));
        Assert.Equal(2, exit);
        Assert.Contains("--ip 'not-an-ip' is not an IP address", text);
    }
}
