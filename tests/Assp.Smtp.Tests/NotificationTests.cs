using System.Text;
using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Registry;
using Assp.Smtp.Notifications;

namespace Assp.Smtp.Tests;

public class NotificationTests
{
    private static ConfigSnapshot Config(params (string Name, string Value)[] values)
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-notify-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var loader = new ConfigLoader(OptionRegistry.Default) { AllowExec = false, ExportGroups = false };
        var cfg = loader.Load(new ConfigSource(dir, Overrides: [.. values.Select(v => KeyValuePair.Create(v.Name, v.Value))]));
        Assert.DoesNotContain(cfg.Issues, i => i.Severity == IssueSeverity.Error);
        return cfg;
    }

    [Fact]
    public void NotifyRe_entries_take_recipients_and_subjects_and_default_to_Notify()
    {
        var cfg = Config(("Notify", "admin@local.test"),
            ("NotifyRe", "error:|adminupdate:=>a@local.test,b@local.test=>configuration was changed|warning:=>=>a warning|error:=>c@local.test"));
        var rules = NotifyRules.Build(cfg).Rules;
        Assert.Equal(3, rules.Count);
        var error = rules.Single(r => r.PatternText == "error:");
        Assert.Equal(["admin@local.test", "c@local.test"], error.Recipients);
        Assert.Null(error.Subject);
        var admin = rules.Single(r => r.PatternText == "adminupdate:");
        Assert.Equal(["a@local.test", "b@local.test"], admin.Recipients);
        Assert.Equal("configuration was changed", admin.Subject);
        var warning = rules.Single(r => r.PatternText == "warning:");
        Assert.Equal(["admin@local.test"], warning.Recipients);
        Assert.Equal("a warning", warning.Subject);
    }

    [Fact]
    public void An_entry_without_any_recipient_notifies_nobody()
    {
        var cfg = Config(("NotifyRe", "error:"));
        Assert.Empty(NotifyRules.Build(cfg).Rules);
    }

    [Fact]
    public void Matching_is_case_insensitive_and_NoNotifyRe_vetoes()
    {
        var cfg = Config(("Notify", "admin@local.test"), ("NotifyRe", "error:|restart"), ("NoNotifyRe", @"\[root.*?\]"));
        var rules = NotifyRules.For(cfg);
        Assert.Single(rules.Matching(cfg, "Nov-22-26 02:00:00 [Main_Thread] ERROR: disk full"));
        Assert.Empty(rules.Matching(cfg, "Nov-22-26 02:00:00 [Main_Thread] error: [root 127.0.0.1] changed"));
        Assert.Empty(rules.Matching(cfg, "Nov-22-26 02:00:00 [Main_Thread] info: all fine"));
        Assert.Equal(2, rules.Matching(cfg, "error: restart failed").Count);
    }

    [Fact]
    public void The_notification_mail_has_ASSPs_headers_and_a_quoted_printable_body()
    {
        var cfg = Config(("myName", "gate.local.test"), ("UseLocalTime", "0"));
        var mail = Encoding.ASCII.GetString(LogNotifier.Build(cfg, "ASSP <assp@local.test>", ["admin@local.test", "Boss <boss@local.test>"],
            "ASSP event notification from gate.local.test [error: x]", "log event on host gate.local.test:\r\n\r\nerror: Grüße = bad\r\n",
            new DateTimeOffset(2026, 11, 22, 3, 4, 5, TimeSpan.Zero), 7));
        Assert.StartsWith("Date: Sun, 22 Nov 2026 03:04:05 +0000\r\nX-Assp-Notification: YES\r\nFrom: ASSP <assp@local.test>\r\n", mail);
        Assert.Contains("To: <admin@local.test>, Boss <boss@local.test>\r\n", mail);
        Assert.Contains("Subject: ASSP event notification from gate.local.test [error: x]\r\n", mail);
        Assert.Contains("Content-Transfer-Encoding: quoted-printable\r\n", mail);
        Assert.Contains("error: Gr=C3=BC=C3=9Fe =3D bad\r\n", mail);
        Assert.Equal("assp@local.test", LogNotifier.EnvelopeAddress("ASSP <assp@local.test>"));
    }

    [Fact]
    public void Quoted_printable_lines_stay_short_and_trailing_space_is_encoded()
    {
        var qp = LogNotifier.QuotedPrintable(new string('a', 200) + " ");
        Assert.All(qp.Split("\r\n"), l => Assert.True(l.Length <= 76));
        Assert.EndsWith("=20", qp);
    }

    [Fact]
    public async Task Matching_maillog_lines_are_mailed_and_the_notifiers_own_lines_never_notify()
    {
        var cfg = Config(("Notify", "admin@local.test"), ("EmailFrom", "assp@local.test"), ("myName", "gate.local.test"),
            ("NotifyRe", "error:|info: notification=>other@local.test=>loop"), ("asspLog", "0"), ("MaintenanceLog", "1"));
        var sent = new List<(string From, string To, string Mail)>();
        var second = new TaskCompletionSource();
        var ownLineLogged = new TaskCompletionSource();
        await using var log = new MailLog(() => cfg);
        void Log(string m)
        {
            log.Write(m);   // the observer sees the line inside Write, so it is queued (or left out) once Write returns
            if (m.Contains("notification message sent", StringComparison.Ordinal)) ownLineLogged.TrySetResult();
        }
        await using (var notifier = new LogNotifier(() => cfg, Log, (_, from, to, mail, _) =>
        {
            lock (sent)
            {
                sent.Add((from, string.Join(",", to), Encoding.ASCII.GetString(mail)));
                if (sent.Count == 2) second.TrySetResult();
            }
            return Task.FromResult<string?>(null);
        }))
        {
            log.LineObserver = notifier.Offer;
            log.Write("info: nothing to see");
            log.Write("error: the spam database cannot be opened");
            await ownLineLogged.Task.WaitAsync(TimeSpan.FromSeconds(30));
            // Lines are handled in order: by the time this one is mailed, the notifier's own line was looked at.
            log.Write("error: second problem");
            await second.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.Equal(2, sent.Count);
        Assert.DoesNotContain(sent, s => s.To == "other@local.test");
        var one = sent[0];
        // The notifier's "info: notification message sent" line carries the *x* marker: it never notifies.
        Assert.Equal("assp@local.test", one.From);
        Assert.Equal("admin@local.test", one.To);
        Assert.Contains("Subject: ASSP event notification from gate.local.test [error: the spam database cannot be opene]", one.Mail);
        Assert.Contains("error: the spam database cannot be opened", one.Mail);
    }
}
