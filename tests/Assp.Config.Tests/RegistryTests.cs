using System.Text;
using Assp.Config.Registry;

namespace Assp.Config.Tests;

public class RegistryTests
{
    private static readonly OptionRegistry Registry = OptionRegistry.Default;

    private static List<string[]> ReadOptionsTsv() =>
        File.ReadAllLines(TestPaths.Data("options.tsv"), Encoding.Latin1).Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split('\t')).ToList();

    [Fact]
    public void Every_option_of_options_tsv_is_registered_with_its_section_widget_choices_and_default()
    {
        var rows = ReadOptionsTsv();
        Assert.Equal(1137, rows.Count);
        // ASSP's options plus the few of this build that ASSP does not have (each says so in its description).
        string[] netOnly = ["BayesAlgorithm"];
        Assert.Equal(rows.Count + netOnly.Length, Registry.Count);
        Assert.All(netOnly, n => Assert.DoesNotContain(rows, r => r[0] == n));
        foreach (var r in rows)
        {
            var o = Registry.Find(r[0]);
            Assert.True(o is not null, $"{r[0]} missing");
            Assert.Equal(r[1], o!.Section);
            Assert.Equal(r[2], o.Widget);
            Assert.Equal(r[4], o.Default);
            Assert.Equal(r[3], string.Join("|", o.Choices.Select(c => c.Code + ":" + c.Label)));
        }
    }

    [Fact]
    public void Every_default_passes_its_own_validation()
    {
        var failures = Registry.Options.Select(o => (o.Name, Error: o.Validate(o.Default))).Where(x => x.Error is not null).ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures.Select(f => $"{f.Name}: {f.Error}")));
    }

    [Fact]
    public void Every_option_has_a_description_and_widgets_map_to_kinds()
    {
        foreach (var o in Registry.Options)
        {
            Assert.False(string.IsNullOrWhiteSpace(o.Description), o.Name);
            if (o.Widget == "checkbox") Assert.Equal(OptionKind.Bool, o.Kind);
            if (o.Widget == "listbox") Assert.Equal(OptionKind.Choice, o.Kind);
            if (o.Widget.StartsWith("pass", StringComparison.Ordinal)) Assert.Equal(OptionKind.Password, o.Kind);
        }
    }

    [Theory]
    [InlineData("MaxSizeAddr", "MaxSizeAdr")]
    [InlineData("b1SpamLovers", "blSpamLovers")]
    [InlineData("DoInvalidFormatHello", "DoInvalidFormatHelo")]
    [InlineData("Idaplistdb", "ldaplistdb")]
    [InlineData("DNSTimeout", "DNStimeout")]
    [InlineData("midValencePB", "midiValencePB")]
    [InlineData("listenport", "listenPort")]
    public void Misspellings_from_the_reference_resolve_to_the_real_name(string written, string real)
    {
        var o = Registry.Resolve(written, out bool alias);
        Assert.NotNull(o);
        Assert.Equal(real, o!.Name);
        Assert.True(alias);
    }

    [Fact]
    public void Names_that_differ_only_in_case_stay_distinct()
    {
        Assert.Equal("spamlog", Registry.Resolve("spamlog", out _)!.Name);
        Assert.Equal("SpamLog", Registry.Resolve("SpamLog", out _)!.Name);
        Assert.Null(Registry.Resolve("SPAMLOG", out _));
        Assert.Null(Registry.Resolve("noSuchOption", out _));
    }

    [Theory]
    [InlineData("DoTLS", "2", true)]
    [InlineData("DoTLS", "7", false)]
    [InlineData("EnableDelaying", "1", true)]
    [InlineData("EnableDelaying", "yes", false)]
    [InlineData("MaxErrors", "10", true)]
    [InlineData("MaxErrors", "ten", false)]
    [InlineData("MaxErrors", "-3", false)]
    [InlineData("spfValencePB", "15,10", true)]
    [InlineData("spfValencePB", "15;10", false)]
    [InlineData("listenPort", "0.0.0.0:25|[::]:25", true)]
    [InlineData("listenPort", "SSL:465", true)]
    [InlineData("listenPort", "1.2.3.4:99999", false)]
    [InlineData("smtpDestination", "INBOUND:10026", true)]
    [InlineData("smtpDestination", "host:name:1", false)]
    [InlineData("SpamError", "554 5.7.1 go away", true)]
    [InlineData("SpamError", "go away", false)]
    [InlineData("LogRollDays", "0", false)]
    public void Values_are_checked_against_kind_and_rule(string option, string value, bool valid)
    {
        var error = Registry.Get(option).Validate(value);
        Assert.True(valid == (error is null), $"{option}='{value}': {error}");
    }

    [Fact]
    public void Choice_errors_list_the_allowed_codes()
    {
        var error = Registry.Get("ValidateSPF").Validate("9");
        Assert.NotNull(error);
        Assert.Contains("1 (block)", error);
    }
}

public class NotUsedOptionTests
{
    [Fact]
    public void Logging_options_without_a_counterpart_here_say_so_when_set()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "WorkerLog:=2\ndebugCode:=$Con{$fh}->{isbounce}\nDataBaseDebug:=1\nSNMPLog:=2\nSenderBaseLog:=0\nspamSBLog:=1\n"
            + "DNSResponseLog:=1\nregexLogging:=0\nAddRegexHeader:=1\nConfigSavedOK:=1\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(cfg.Issues, i => i.Severity == IssueSeverity.Error);
        Assert.Equal(["DataBaseDebug", "WorkerLog", "debugCode"],
            cfg.Issues.Where(i => i.Message.StartsWith("not used by this implementation", StringComparison.Ordinal)).Select(i => i.Option!).Order(StringComparer.Ordinal));
        // SenderBaseLog and spamSBLog work (the SenderBase check): nothing is said about them.
        // regexLogging and AddRegexHeader work (RegexMatchNote): nothing is said about them either.
        Assert.Equal(["DNSResponseLog", "SNMPLog"],
            cfg.Issues.Where(i => i.Message.StartsWith("has no effect yet", StringComparison.Ordinal)).Select(i => i.Option!).Order(StringComparer.Ordinal));
        // At their defaults nothing is said.
        File.WriteAllText(Path.Combine(dir.Path, "assp.cfg"), "regexLogging:=1\nSNMPLog:=1\nConfigSavedOK:=1\n");
        var quiet = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(quiet.Issues, i => i.Option is "regexLogging" or "SNMPLog");
    }

    [Fact]
    public void Perl_tuning_options_load_and_are_reported_as_not_used()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "NumComWorkers:=12\nuseNetDNS:=0\nThreadCycleTime:=500\nConfigSavedOK:=1\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(cfg.Issues, i => i.Severity == IssueSeverity.Error);
        Assert.Equal(["NumComWorkers", "ThreadCycleTime", "useNetDNS"],
            cfg.Issues.Where(i => i.Message.StartsWith("not used by this implementation")).Select(i => i.Option!).Order());
        Assert.Equal("12", cfg["NumComWorkers"]);
        Assert.Equal("500", cfg["ThreadCycleTime"]);   // out of ASSP's range, but never an error here
        Assert.False(cfg.Registry.IsNotUsed(cfg.Registry.Get("listenPort")));
    }

    [Fact]
    public void LdapLocalIPAddress_is_kept_but_warned_about_with_its_value()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("files/ldapsource.txt", "22.* => 192.168.1.1\n");
        dir.File("assp.cfg", "ldapLocalIPAddress:=file:files/ldapsource.txt\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        var warning = Assert.Single(cfg.Issues, i => i.Option == "ldapLocalIPAddress");
        Assert.Equal(IssueSeverity.Warning, warning.Severity);
        Assert.Equal("file:files/ldapsource.txt", warning.Value);
        Assert.Contains("cannot be honoured", warning.Message);
        Assert.Equal("file:files/ldapsource.txt", cfg["ldapLocalIPAddress"]);

        dir.File("assp.cfg", "ldapLocalIPAddress:=\n");
        cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(cfg.Issues, i => i.Option == "ldapLocalIPAddress");
    }

    [Fact]
    public void AllowInternalsInRegex_switched_on_is_warned_about_and_off_is_not()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "AllowInternalsInRegex:=1\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        var warning = Assert.Single(cfg.Issues, i => i.Option == "AllowInternalsInRegex");
        Assert.Equal(IssueSeverity.Warning, warning.Severity);
        Assert.Equal("1", warning.Value);
        Assert.Contains("cannot be honoured", warning.Message);

        dir.File("assp.cfg", "AllowInternalsInRegex:=0\n");
        cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(cfg.Issues, i => i.Option == "AllowInternalsInRegex");
    }

    [Fact]
    public void Module_switches_and_options_without_effect_yet_are_named_when_set()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "useMailDKIMVerifier:=0\nASSP_AFCDoVirusTotalVirusScan:=1\ndoDKIMConv:=1\nAddURIS2MyHeader:=1\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.Contains(cfg.Issues, i => i.Option == "useMailDKIMVerifier" && i.Message.StartsWith("not used by this implementation", StringComparison.Ordinal));
        Assert.Contains(cfg.Issues, i => i.Option == "ASSP_AFCDoVirusTotalVirusScan" && i.Severity == IssueSeverity.Info
            && i.Message.StartsWith("has no effect yet: VirusTotal is not queried: this implementation sends nothing about a mail", StringComparison.Ordinal));
        Assert.Equal("1", cfg["ASSP_AFCDoVirusTotalVirusScan"]);
        // doDKIMConv and AddURIS2MyHeader work now: nothing is said about them.
        Assert.DoesNotContain(cfg.Issues, i => i.Option is "doDKIMConv" or "AddURIS2MyHeader");
        // At the default nothing is said.
        dir.File("assp.cfg", "ASSP_AFCDoVirusTotalVirusScan:=0\n");
        cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(cfg.Issues, i => i.Option == "ASSP_AFCDoVirusTotalVirusScan");
    }

    [Theory]
    [InlineData("send250toIP", "192.0.2.1")]
    [InlineData("DelayShowDB", "file:otherdelaydb")]
    [InlineData("DelayShowDBwhite", "file:otherdelaydb.white")]
    public void Scoring_and_session_options_without_effect_yet_are_named_when_set(string option, string value)
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", $"{option}:={value}\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.Contains(cfg.Issues, i => i.Option == option && i.Severity == IssueSeverity.Info && i.Message.StartsWith("has no effect yet", StringComparison.Ordinal));
        Assert.Equal(value, cfg[option]);
    }

    [Theory]
    [InlineData("autValencePB", "70")]
    [InlineData("myHelo", "MYNAME")]
    [InlineData("DisableVRFY", "1")]
    [InlineData("baysSpamHaters", "a@example.com")]
    [InlineData("bccValencePB", "30")]
    public void Options_that_work_now_are_not_named(string option, string value)
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", $"{option}:={value}\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(cfg.Issues, i => i.Option == option && i.Message.StartsWith("has no effect", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("DoGlobalBlack", "1", "global PenaltyBox")]
    [InlineData("GPBDownloadLists", "0", "global PenaltyBox")]
    [InlineData("globalValencePB", "150", "global PenaltyBox")]
    [InlineData("gripValencePB", "10", "griplist")]
    [InlineData("ispgripvalue", "0.3", "griplist")]
    [InlineData("noGriplistUpload", "1", "griplist")]
    [InlineData("SNMP", "1", "SNMP")]
    [InlineData("SNMPAgentXSocket", "tcp:localhost:7050", "SNMP")]
    [InlineData("enableCFGShare", "1", "configuration sharing")]
    [InlineData("syncServer", "10.1.1.2:25", "configuration sharing")]
    [InlineData("syncCFGPass", "secret", "configuration sharing")]
    [InlineData("POP3Interval", "10", "POP3")]
    [InlineData("enableWhois", "2", "WHOIS")]
    [InlineData("POP3ConfigFile", "file:files/mypop3.txt", "POP3")]
    public void Internet_service_groups_not_built_are_named_when_set(string option, string value, string reason)
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", $"{option}:={value}\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        var notice = Assert.Single(cfg.Issues, i => i.Option == option && i.Message.StartsWith("has no effect yet: ", StringComparison.Ordinal));
        Assert.Equal(IssueSeverity.Info, notice.Severity);
        Assert.Contains(reason, notice.Message, StringComparison.Ordinal);
        Assert.Equal(value, cfg[option]);
        // At its default nothing is said about it.
        var def = Assp.Config.Registry.OptionRegistry.Default.Get(option).Default;
        dir.File("assp.cfg", $"{option}:={def}\n");
        cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(cfg.Issues, i => i.Option == option && i.Message.StartsWith("has no effect", StringComparison.Ordinal));
    }

    [Fact]
    public void Perl_ssl_hooks_and_perl_internals_are_not_used_and_missing_features_are_named()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "SSLSMTPConfigure:=CorrectASSPcfg::configSMTPSSL\nSSLWEBCertVerifyCB:=CorrectASSPcfg::checkWebSSLCert\n"
                             + "SSLAdvancedServerConfigFile:=/etc/assp/ssl.txt\nSSLRetryOnError:=3\nConnectionTransferTimeOut:=60\nuseDB4Rebuild:=0\n"
                             + "QueueUserBlockReports:=2\nproxyserver:=proxy.example:3128\nBayesMaxProcessTime:=30\nhideAlphaIndex:=1\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.DoesNotContain(cfg.Issues, i => i.Severity == IssueSeverity.Error);
        foreach (var name in new[] { "SSLSMTPConfigure", "SSLWEBCertVerifyCB", "SSLAdvancedServerConfigFile", "SSLRetryOnError", "ConnectionTransferTimeOut", "useDB4Rebuild" })
            Assert.Contains(cfg.Issues, i => i.Option == name && i.Message.StartsWith("not used by this implementation", StringComparison.Ordinal));
        Assert.Contains(cfg.Issues, i => i.Option == "QueueUserBlockReports" && i.Message.Contains("always answered at once", StringComparison.Ordinal));
        Assert.Contains(cfg.Issues, i => i.Option == "proxyserver" && i.Message.StartsWith("has no effect yet: nothing is downloaded", StringComparison.Ordinal));
        Assert.DoesNotContain(cfg.Issues, i => i.Option == "BayesMaxProcessTime");   // works now (the statistical checks' time budget)
        Assert.Contains(cfg.Issues, i => i.Option == "hideAlphaIndex" && i.Message.StartsWith("has no effect yet", StringComparison.Ordinal));
        Assert.Equal("CorrectASSPcfg::configSMTPSSL", cfg["SSLSMTPConfigure"]);   // kept for assp.cfg
        // The TLS and DNS options that work now say nothing.
        dir.File("assp.cfg", "SSL_version:=TLSv1_2\nSSLtimeout:=9\nbanFailedSSLIP:=2\nDNSReuseSocket:=0\nRBLsocktime:=3\nhost2IPminTTL:=600\nTCPBufferSize:=tcprecv=65536\nMaxFinConWaitTime:=20\n");
        cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        string[] working = ["SSL_version", "SSLtimeout", "banFailedSSLIP", "DNSReuseSocket", "RBLsocktime", "host2IPminTTL", "TCPBufferSize", "MaxFinConWaitTime"];
        Assert.DoesNotContain(cfg.Issues, i => working.Contains(i.Option));
        Assert.Equal("tcprecv=65536", cfg["TCPBufferSize"]);
    }

    [Fact]
    public void The_ASSP_AFC_options_load_with_their_misspellings_and_the_ones_not_carried_out_are_named()
    {
        using var dir = new TestPaths.TempDir();
        dir.File("assp.cfg", "ASSP_AFCRepViriParts:=1\nASSP_AFCMSGSIZEcore:=500000=>10,1000000=>5\nASSP_AFCExtractAttMail:=1\n"
                             + "ASSP_AFCWebScript:=/usr/bin/move.sh $relayok FILENAME\nASSP_AFCPriority:=3\n");
        var cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.Equal("1", cfg["ASSP_AFCReplViriParts"]);
        Assert.Equal("1", cfg["ASSP_AFCextractAttMail"]);
        Assert.Equal("500000=>10,1000000=>5", cfg["ASSP_AFCMSGSIZEscore"]);
        Assert.DoesNotContain(cfg.Issues, i => i.Option == "ASSP_AFCWebScript");
        // The plugin order has no meaning here: kept, and named as not used with the reason.
        Assert.Equal("3", cfg["ASSP_AFCPriority"]);
        Assert.Contains(cfg.Issues, i => i.Option == "ASSP_AFCPriority" && i.Severity == IssueSeverity.Info
            && i.Message.StartsWith("not used by this implementation (it orders ASSP's Perl plugins", StringComparison.Ordinal));
        Assert.DoesNotContain(cfg.Issues, i => i.Option == "ASSP_AFCReplViriParts" && i.Message.StartsWith("has no effect", StringComparison.Ordinal));
        // A malformed size list is refused with the option named; the default (empty) is used.
        dir.File("assp.cfg", "ASSP_AFCMSGSIZEscore:=big=>10\n");
        cfg = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
        Assert.Contains(cfg.Issues, i => i.Option == "ASSP_AFCMSGSIZEscore" && i.Severity == IssueSeverity.Error);
        Assert.Equal("", cfg["ASSP_AFCMSGSIZEscore"]);
    }
}
