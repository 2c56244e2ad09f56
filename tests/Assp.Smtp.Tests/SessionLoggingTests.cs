using Assp.Checks;

namespace Assp.Smtp.Tests;

/// <summary>
/// The logging options of a proxied session, against the scripted MTA: noLog, noLogRe, allLogRe (with noLogLineRe),
/// subjectLogging and its delimiters, UseUnicode4SubjectLogging, the debug files (debug, debugIP, debugRe,
/// debugNoWriteBody), sendNoopInfo and ConTimeOutDebug.
/// </summary>
public partial class DeliveryTests
{
    private const string SubjectMessage = "From: a@client.example\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?= from the test\r\nX-Probe: monitor\r\n\r\nthe body text\r\n";

    private static async Task<string> OneMessageLogAsync(params (string Name, string Value)[] settings)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartWithLogAsync(mta.Port, settings);
        await using (var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example"))
        {
            Assert.Equal(250, (await client.SendMessageAsync(SubjectMessage)).Code);
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        }
        return await proxy.StopAndReadLogAsync();
    }

    [Fact]
    public async Task Without_log_switches_the_delivered_mail_is_logged_with_its_subject_as_written()
    {
        var log = await OneMessageLogAsync();
        var ok = Assert.Single(log.Split('\n'), l => l.Contains("[MessageOK]"));
        // subjectLogging is on by default; without UseUnicode4SubjectLogging the encoded word stays as written.
        Assert.Contains(" [=?UTF-8?B?R3LDvMOfZQ==?= from the test]", ok);
    }

    [Fact]
    public async Task SubjectLogging_uses_subjectStart_and_subjectEnd_and_UseUnicode4SubjectLogging_decodes()
    {
        var log = await OneMessageLogAsync(("subjectStart", "<<"), ("subjectEnd", ">>"), ("UseUnicode4SubjectLogging", "1"));
        Assert.Contains(" <<Grüße from the test>>", Assert.Single(log.Split('\n'), l => l.Contains("[MessageOK]")));
        var off = await OneMessageLogAsync(("subjectLogging", ""));
        Assert.DoesNotContain("from the test", Assert.Single(off.Split('\n'), l => l.Contains("[MessageOK]")));
    }

    [Fact]
    public async Task NoLog_keeps_a_monitoring_IP_out_of_the_maillog()
    {
        var log = await OneMessageLogAsync(("noLog", "127.0.0.1"), ("ConnectionLog", "1"));
        Assert.DoesNotContain("[MessageOK]", log);
        Assert.DoesNotContain("Connected: session", log);
    }

    [Fact]
    public async Task NoLogRe_on_the_header_stops_logging_that_mail()
    {
        var log = await OneMessageLogAsync(("noLogRe", "X-Probe: monitor"));
        Assert.DoesNotContain("[MessageOK]", log);
    }

    [Fact]
    public async Task AllLogRe_wins_over_noLog_for_a_problem_address()
    {
        var log = await OneMessageLogAsync(("noLog", "127.0.0.1"), ("allLogRe", "user@example\\.com"));
        Assert.Contains("allLogRe: 'user@example.com' found in the recipient", log);
        Assert.Contains("[MessageOK]", log);
    }

    [Fact]
    public async Task NoLogLineRe_drops_single_lines_of_a_session()
    {
        var log = await OneMessageLogAsync(("noLogLineRe", "MessageOK"), ("ConnectionLog", "1"));
        Assert.DoesNotContain("[MessageOK]", log);
        Assert.Contains("Connected: session", log);
    }

    private static string[] DebugFiles(Proxy proxy)
    {
        var folder = Path.Combine(proxy.BaseDirectory, "logs", "debug");
        return Directory.Exists(folder) ? Directory.GetFiles(folder, "*.dbg") : [];
    }

    [Fact]
    public async Task DebugIP_writes_a_debug_file_with_the_dialog_and_the_message()
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartWithLogAsync(mta.Port, ("debugIP", "127.0.0.1"));
        await using (var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example"))
        {
            Assert.Equal(250, (await client.SendMessageAsync(SubjectMessage)).Code);
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        }
        await proxy.StopAndReadLogAsync();
        var file = Assert.Single(DebugFiles(proxy));
        var text = await File.ReadAllTextAsync(file);
        Assert.Contains("is in debugIP", text);
        Assert.Contains("C: EHLO client.example", text);
        Assert.Contains("C: RCPT TO:<user@example.com>", text);
        Assert.Contains("S: 354", text);
        Assert.Contains("the body text", text);
        Assert.Contains("[MessageOK]", text);
    }

    [Fact]
    public async Task DebugRe_starts_the_file_when_it_matches_and_debugNoWriteBody_leaves_the_body_out()
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartWithLogAsync(mta.Port, ("debugRe", "X-Probe"), ("debugNoWriteBody", "1"));
        await using (var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example"))
        {
            Assert.Empty(DebugFiles(proxy));
            Assert.Equal(250, (await client.SendMessageAsync(SubjectMessage)).Code);
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        }
        await proxy.StopAndReadLogAsync();
        var text = await File.ReadAllTextAsync(Assert.Single(DebugFiles(proxy)));
        Assert.Contains("debugRe matched 'X-Probe' in the header", text);
        Assert.Contains("X-Probe: monitor", text);
        Assert.Contains("body not written: debugNoWriteBody", text);
        Assert.DoesNotContain("the body text", text);
        Assert.Contains("C: QUIT", text);
    }

    [Fact]
    public async Task Sessions_without_debug_switches_write_no_debug_file()
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartWithLogAsync(mta.Port, ("debugRe", "no such text"));
        await using (var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example"))
        {
            Assert.Equal(250, (await client.SendMessageAsync(SubjectMessage)).Code);
        }
        await proxy.StopAndReadLogAsync();
        Assert.Empty(DebugFiles(proxy));
    }

    [Fact]
    public async Task SendNoopInfo_tells_the_MTA_which_client_the_connection_is_for()
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartWithLogAsync(mta.Port, ("sendNoopInfo", "1"));
        await using (var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example"))
        {
            Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        }
        await proxy.StopAndReadLogAsync();
        lock (mta.Commands)
        {
            Assert.Equal("NOOP Connection from: 127.0.0.1", mta.Commands[0]);
            Assert.Equal("EHLO client.example", mta.Commands[1]);
        }
    }

    [Fact]
    public async Task ConTimeOutDebug_writes_the_session_state_with_an_idle_timeout()
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartWithLogAsync(mta.Port, ("ConTimeOutDebug", "1"), ("smtpIdleTimeout", "1"));
        await using (var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example"))
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@client.example>")).Code);
            // The proxy gives up on the silent client and says so.
            Assert.Equal(451, (await client.ReadReplyAsync()).Code);
        }
        var log = await proxy.StopAndReadLogAsync();
        Assert.Contains("idle timeout after 1 seconds", log);
        Assert.Contains("ConTimeOutDebug: session", log);
        Assert.Contains("mail from=<a@client.example>", log);
        Assert.Matches(@"\d\d:\d\d:\d\d MAIL FROM:<a@client\.example>", log);
    }

    /// <summary>A pipeline whose MAIL FROM check tags the mail [Tagged] and logs a line, as a scoring check does.</summary>
    private sealed class TaggingPipeline : ICheckPipeline
    {
        public ValueTask<Verdict> RunAsync(SmtpPhase phase, IMailContext context, CancellationToken cancellationToken)
        {
            if (phase == SmtpPhase.MailFrom)
            {
                context.CheckState.NewMessage();
                context.CheckState.Message.Prepend.Clear().Append("[Tagged]");
                context.Log("test check scored this mail");
            }
            return ValueTask.FromResult(Verdict.Pass);
        }
    }

    [Theory]
    [InlineData("1", "[Tagged] 127.0.0.1 <a@client.example> test check scored this mail")]
    [InlineData("", "127.0.0.1 <a@client.example> test check scored this mail")]
    public async Task TagLogging_puts_the_check_tag_in_front_of_the_session_lines(string tagLogging, string expected)
    {
        await using var mta = new ScriptedMta(chunking: false);
        await using var proxy = await Proxy.StartWithLogAsync(mta.Port, new TaggingPipeline(), ("tagLogging", tagLogging));
        await using (var client = await LineSmtpClient.ConnectAsync(proxy.Port, "client.example"))
        {
            Assert.Equal(250, (await client.SendMessageAsync(SubjectMessage)).Code);
        }
        var log = await proxy.StopAndReadLogAsync();
        var line = Assert.Single(log.Split('\n'), l => l.Contains("test check scored this mail"));
        // As in ASSP the tag stands before the client IP and addresses that expandedLogging adds.
        Assert.True(line.Contains("[Worker_1] " + expected, StringComparison.Ordinal), line);
        Assert.Equal(tagLogging == "1", log.Split('\n').Single(l => l.Contains("[MessageOK]")).Contains("[Tagged] [MessageOK]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task IpmatchLogging_and_slmatchLogging_name_the_lists_the_client_and_addresses_are_on()
    {
        var settings = new[] { ("noPB", "127.0.0.1"), ("noDelay", "127.0.0.0/8"), ("noCollecting", "user@example.com"), ("noScan", "@client.example") };
        var log = await OneMessageLogAsync([.. settings, ("ipmatchLogging", "1"), ("slmatchLogging", "1")]);
        Assert.True(log.Contains("IP 127.0.0.1 matches noPB: 127.0.0.1", StringComparison.Ordinal), log);
        Assert.Contains("IP 127.0.0.1 matches noDelay: 127.0.0.0/8", log);
        Assert.Matches(@"sender a@client\.example matches [^\n]*\bnoScan\b", log);
        Assert.Matches(@"recipient user@example\.com matches [^\n]*\bnoCollecting\b", log);
        var quiet = await OneMessageLogAsync(settings);
        Assert.DoesNotContain("matches noPB", quiet);
        Assert.DoesNotContain("matches noCollecting", quiet);
    }
}
