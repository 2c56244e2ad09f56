using System.Text;
using Assp.Config;
using Assp.Config.Registry;

namespace Assp.Server.Tests;

/// <summary>RebuildNotify: the rebuild report goes to its addresses in the notification format.</summary>
public class RebuildNotifyTests
{
    private static ConfigSnapshot Config(params (string Name, string Value)[] values)
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-rebuildnotify-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false }
            .Load(new ConfigSource(dir, Overrides: [.. values.Select(v => KeyValuePair.Create(v.Name, v.Value))]));
    }

    [Fact]
    public async Task The_rebuild_report_is_mailed_to_every_RebuildNotify_address()
    {
        var cfg = Config(("RebuildNotify", "admin@local.test|bayes@local.test"), ("EmailFrom", "assp@local.test"), ("myName", "gate.local.test"));
        var sent = new List<(string From, IReadOnlyList<string> To, string Mail)>();
        var log = new List<string>();
        await SpamDbRebuild.NotifyAsync(cfg, "Spam Weight: 1,234\r\n", log.Add, default, (_, from, to, mail, _) =>
        {
            sent.Add((from, to, Encoding.ASCII.GetString(mail)));
            return Task.FromResult<string?>(null);
        });
        var one = Assert.Single(sent);
        Assert.Equal("assp@local.test", one.From);
        Assert.Equal(["admin@local.test", "bayes@local.test"], one.To);
        Assert.Contains("Subject: RebuildSpamDB-report from gate.local.test\r\n", one.Mail);
        Assert.Contains("X-Assp-Notification: YES\r\n", one.Mail);
        Assert.Contains("Spam Weight: 1,234", one.Mail);
        Assert.Equal(["info: the rebuild report was sent to admin@local.test,bayes@local.test"], log);
    }

    [Fact]
    public async Task Without_RebuildNotify_nothing_is_sent_and_a_failure_is_logged_as_error()
    {
        int calls = 0;
        var log = new List<string>();
        await SpamDbRebuild.NotifyAsync(Config(), "report", log.Add, default, (_, _, _, _, _) => { calls++; return Task.FromResult<string?>(null); });
        Assert.Equal(0, calls);
        await SpamDbRebuild.NotifyAsync(Config(("RebuildNotify", "admin@local.test")), "report", log.Add, default,
            (_, _, _, _, _) => Task.FromResult<string?>("connection refused"));
        Assert.Equal(["error: unable to send the rebuild report to admin@local.test - connection refused"], log);
    }
}
