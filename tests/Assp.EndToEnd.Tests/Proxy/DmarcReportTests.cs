using System.IO.Compression;
using System.Xml.Linq;
using Assp.Checks.Checks;
using Assp.Config;
using Assp.Config.Registry;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.Smtp;
using Assp.Storage;

namespace Assp.EndToEnd.Tests.Proxy;

/// <summary>A DMARC aggregate report goes out through relayHost and arrives at a private Postfix as a gzip attachment.</summary>
public class DmarcReportTests
{
    [Fact]
    public async Task A_due_aggregate_report_reaches_the_MTA_through_relayHost()
    {
        await using var mta = await PostfixInstance.StartAsync();
        var dir = Path.Combine(Path.GetTempPath(), "assp-e2e-dmarc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var cfg = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false }.Load(new ConfigSource(dir, Overrides:
        [
            KeyValuePair.Create("DMARCReportFrom", "dmarc-reports@example.com"),
            KeyValuePair.Create("myName", "proxy.assp-e2e.test"),
            KeyValuePair.Create("relayHost", $"127.0.0.1:{mta.Port}"),
            KeyValuePair.Create("smtpDestination", "127.0.0.1:9"),        // must not be used while relayHost is set
        ]));
        using var store = new MemoryStore();
        long day = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 90000;
        var row = new DmarcReportRow("sender.example", day, "192.0.2.7", "sender.example", "example.com", "reject", "fail", "fail",
            "sender.example", "fail", [], false, "reject", "reject", 100, "r", "r", "rua@reports.example");
        store.Table(DmarcReports.Table).Set($"sender.example {day} s1", row.Encode());

        var log = new List<string>();
        int sent = await DmarcReports.SendDueAsync(cfg, store, TimeProvider.System,
            (from, to, message, ct) => ReportMailer.SendAsync(cfg, from, to, message, ct), log.Add, force: false, default);
        Assert.True(sent == 1, string.Join("\n", log));

        var mail = Assert.Single(await mta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20)));
        Assert.Equal("dmarc-reports@example.com", mail.Sender);
        Assert.Equal(["rua@reports.example"], mail.Recipients);
        var text = mail.Text.Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Contains("Subject: Report Domain: sender.example Submitter: proxy.assp-e2e.test", text);
        // Take the base64 attachment out, gunzip it and read the report back.
        var start = text.IndexOf("Content-Disposition: attachment", StringComparison.Ordinal);
        var body = text[(text.IndexOf("\n\n", start, StringComparison.Ordinal) + 2)..];
        var b64 = string.Concat(body[..body.IndexOf("--", StringComparison.Ordinal)].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        using var gz = new GZipStream(new MemoryStream(Convert.FromBase64String(b64)), CompressionMode.Decompress);
        var feedback = XDocument.Load(gz).Root!;
        Assert.Equal("sender.example", feedback.Element("policy_published")!.Element("domain")!.Value);
        Assert.Equal("192.0.2.7", feedback.Element("record")!.Element("row")!.Element("source_ip")!.Value);
        Assert.Empty(DmarcReports.Pending(store));
    }
}
