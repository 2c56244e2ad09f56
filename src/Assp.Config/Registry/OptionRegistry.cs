using System.Collections.Frozen;
using System.Reflection;
using System.Text;

namespace Assp.Config.Registry;

/// <summary>
/// All ASSP 2.6.8 options, built once from the embedded options.tsv (names, sections, widgets, choices,
/// defaults) and option-rules.tsv (kind, validation rule, description).
/// </summary>
public sealed class OptionRegistry
{
    private static readonly Lazy<OptionRegistry> s_default = new(LoadEmbedded);

    /// <summary>Names the ASSP reference spells differently from assp.pl; the value is the real name.</summary>
    private static readonly (string Alias, string Real)[] s_aliases =
    [
        ("MaxRealSizeAddr", "MaxRealSizeAdr"), ("MaxSizeAddr", "MaxSizeAdr"),
        ("MaxRealSizeExternalAddr", "MaxRealSizeExternalAdr"), ("MaxSizeExternalAddr", "MaxSizeExternalAdr"),
        ("b1SpamLovers", "blSpamLovers"), ("h1SpamLovers", "hlSpamLovers"),
        ("ccMailReplaceReceipt", "ccMailReplaceRecpt"), ("ReplaceReceipt", "ReplaceRecpt"),
        ("rIValencePB", "rlValencePB"), ("midValencePB", "midiValencePB"),
        ("DoInvalidFormatHello", "DoInvalidFormatHelo"), ("invalidFormatHelloRe", "invalidFormatHeloRe"),
        ("DoHelloWL", "DoHeloWL"), ("DoHelloNP", "DoHeloNP"), ("hValencePB", "hlValencePB"),
        ("ipValencePB", "iplValencePB"), ("Idaplistdb", "ldaplistdb"), ("LDAPIFail", "LDAPFail"),
        ("noAUTHHelloRe", "noAUTHHeloRe"), ("onlyAUTHHelloRe", "onlyAUTHHeloRe"),
        ("bITestMode", "blTestMode"), ("hITestMode", "hlTestMode"), ("URIBLNTP", "URIBLNP"),
        ("noDMARCDReportDomain", "noDMARCReportDomain"), ("SPFOVERRIDE", "SPFoverride"),
        ("SPFFallback", "SPFfallback"), ("SPFLocalRecord", "SPFlocalRecord"), ("HMMusesbdb", "HMMusesBDB"),
        ("TLSProxyListenPorts", "TLStoProxyListenPorts"), ("SNMPWritable", "SNMPwriteable"),
        ("LDAPTimeout", "LDAPtimeout"), ("MaxLDAPListDays", "MaxLDAPlistDays"), ("DNSTimeout", "DNStimeout"),
        ("RebuildFileDialogTimeLimit", "RebuildFileTimeLimit"), ("usePerlIOScalar", "usePerlIOscalar"),
        ("DOLDAPSSL", "DoLDAPSSL"), ("IdLDAPRoot", "LDAPRoot"), ("IdLDAPFilter", "LDAPFilter"),
        ("IdapLocalIPAddress", "ldapLocalIPAddress"), ("DKIMNPAAddresses", "DKIMNPAddresses"),
        ("DKIMNPAaddresses", "DKIMNPAddresses"), ("ASSP_AFCRepBadAttach", "ASSP_AFCReplBadAttach"),
        ("ASSP_AFCRepBadAttachText", "ASSP_AFCReplBadAttachText"), ("ASSP_AFCRepViriParts", "ASSP_AFCReplViriParts"),
        ("ASSP_AFCRepViriPartsText", "ASSP_AFCReplViriPartsText"), ("ASSP_AFCMSGSIZEcore", "ASSP_AFCMSGSIZEscore"),
        ("ASSP_AFCExtractAttMail", "ASSP_AFCextractAttMail"),
        ("ASSP_DCCdccfd", "ASSP_DCCdccifd"), ("ASSP_FakeMXFakeMX", "ASSP_FakeMxFakeMX"),
    ];

    /// <summary>Names ASSP documents but 2.6.8 no longer has; loaded and ignored with a notice.</summary>
    private static readonly FrozenSet<string> s_obsolete = new[] { "SPF2", "LocalPolicySPF" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Options about Perl itself (module switches, interpreter threads, self-update of the Perl code) that have no
    /// meaning in this implementation. They load, are kept in assp.cfg, and are reported as not used.
    /// </summary>
    private static readonly FrozenSet<string> s_notUsed = new[]
    {
        "NumComWorkers", "ReservedOutboundWorkers", "autoRestartDiedThreads", "MonitorMainThread", "EnableHighPerformance",
        "ThreadCycleTime", "MaintThreadCycleTime", "RebuildThreadCycleTime", "ThreadStackSize", "IOEngine", "MinPollTime",
        "WorkerCPUPriority", "asspCpuAffinity", "PreAllocMem", "FreeupMemoryGarbage", "OrderedTieHashTableSize",
        "useDB4IntCache", "AutoUpdateASSP", "noModuleAutoUpdate", "AutoRestartAfterCodeChange", "ALARMtimeout",
        // Logging of Perl's own machinery: worker thread actions, a Perl expression that switches debugging on, and
        // the trace of Perl DBI's database connections.
        "WorkerLog", "debugCode", "DataBaseDebug",
        // Names of Perl subs (lib/CorrectASSPcfg.pm) that edit IO::Socket::SSL's parameter hash or verify certificates,
        // and a file of such parameters: there is no Perl to call and no IO::Socket::SSL hash here. The TLS options
        // themselves (SSL_version, SSL_cipher_list, SSLCaFile, …RequireClientCert) cover what they are mostly used for.
        "SSLSMTPConfigure", "SSLWEBConfigure", "SSLSTATConfigure", "SSLSMTPCertVerifyCB", "SSLWEBCertVerifyCB", "SSLSTATCertVerifyCB",
        "SSLAdvancedServerConfigFile",
        // Retries of IO::Socket::SSL's non-blocking "SSL wants a read first": .NET's handshake waits for the peer itself.
        "SSLRetryOnError",
        // Handing an accepted socket to a Perl worker thread, the restart of the Perl process, its cache sweep loop.
        "ConnectionTransferTimeOut", "AutoRestart", "CleanCacheEvery",
        // Perl module and console choices.
        "HTMLParser", "ConsoleCharset",
        // The Perl rebuild's memory model, BerkeleyDB temp hashes and its database-version checks.
        "RebuildUsesFileModel", "useDB4Rebuild", "forceRebuildDowngrade", "ignoreDBVersionMissMatch",
        // Shown by ASSP's GUI: the config file it runs with and the version that wrote it.
        "asspCfg", "asspCfgVersion",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Options that are not used for a reason other than tuning Perl; the reason is what the load says.</summary>
    private static readonly FrozenDictionary<string, string> s_notUsedBecause = new Dictionary<string, string>
    {
        // ASSP orders its Perl plugins by these numbers; here the checks have one fixed order (ASSP's default one).
        ["ASSP_AFCPriority"] = "it orders ASSP's Perl plugins; the checks here run in one fixed order",
        // A deliberate difference: a shared, well-known root password is what this build's admin accounts replace.
        ["webAdminPassword"] = "the web admin has its own accounts with salted password hashes in data/assp.db; the first start prints a one-time password for user admin, and ASSP's root password opens nothing",
        ["HMMusesBDB"] = "it puts ASSP's HMMdb into a BerkeleyDB file; here HMMdb is kept in the same store as spamdb",
        ["LDAPShowDB"] = "it is a button of ASSP's GUI that opens its LDAP cache file; the LDAP answers are cached in data/assp.db here",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private const string PerlModuleSection = "(generated: Perl module switch)";

    private const string GlobalPenaltyBox = "the global PenaltyBox is a subscription service on the ASSP project's servers, and this build exchanges no data with them";
    private const string Griplist = "the griplist (IP reputation shared by ASSP installations) is only exchanged with the ASSP project's servers, which this build never contacts, so there is no grip value to score";
    private const string Snmp = "there is no SNMP AgentX subagent; the statistics port's /metrics page gives the counters";
    private const string ConfigSync = "configuration sharing between ASSP nodes is not built; several proxies share their databases through PostgreSQL instead";
    private const string Pop3Collect = "collecting mail from POP3 mailboxes (ASSP's assp_pop3.pl) is not built";

    /// <summary>
    /// Options that only change features this implementation does not have yet: they load and are kept, and a value
    /// other than the default is reported (with the reason) so it is never silently ignored.
    /// </summary>
    private static readonly FrozenDictionary<string, string> s_withoutEffectYet = new Dictionary<string, string>
    {
        ["ASSP_AFCDoVirusTotalVirusScan"] = "VirusTotal is not queried: this implementation sends nothing about a mail (not even a hash) to a service on the internet; ClamAV and FileScan still scan every part",
        ["send250toIP"] = "neither ASSP's sources nor its reference say what it does, so nothing is guessed",
        ["DelayShowDB"] = "the greylisting database is kept in data/assp.db, not in a file; there is no file view to point at",
        ["DelayShowDBwhite"] = "the greylisting database is kept in data/assp.db, not in a file; the web list editor searches its delaydb.white tuplets",
        ["enableWhois"] = "there is no WHOIS client: \"SenderBase first\" and \"WHOIS first\" ask SenderBase only, \"WHOIS only\" looks nothing up",
        ["DoGlobalBlack"] = GlobalPenaltyBox,
        ["DoGlobalWhite"] = GlobalPenaltyBox,
        ["GPBDownloadLists"] = GlobalPenaltyBox,
        ["GPBautoLibUpdate"] = GlobalPenaltyBox,
        ["globalClientName"] = GlobalPenaltyBox,
        ["globalClientPass"] = GlobalPenaltyBox,
        ["globalClientLicDate"] = GlobalPenaltyBox,
        ["globalValencePB"] = GlobalPenaltyBox,
        ["noGriplistDownload"] = Griplist,
        ["noGriplistUpload"] = Griplist,
        ["gripValencePB"] = Griplist,
        ["ispgripvalue"] = Griplist,
        ["SNMP"] = Snmp,
        ["SNMPAgentXSocket"] = Snmp,
        ["SNMPBaseOID"] = Snmp,
        ["SNMPUser"] = Snmp,
        ["SNMPreturnBOOL"] = Snmp,
        ["SNMPwriteable"] = Snmp,
        ["enableCFGShare"] = ConfigSync,
        ["isShareMaster"] = ConfigSync,
        ["isShareSlave"] = ConfigSync,
        ["syncCFGPass"] = ConfigSync,
        ["syncConfigFile"] = ConfigSync,
        ["syncServer"] = ConfigSync,
        ["syncShowGUIDetails"] = ConfigSync,
        ["syncTestMode"] = ConfigSync,
        ["syncUsesSSL"] = ConfigSync,
        ["POP3ConfigFile"] = Pop3Collect,
        ["POP3Interval"] = Pop3Collect,
        ["POP3KeepRejected"] = Pop3Collect,
        ["POP3debug"] = Pop3Collect,
        ["POP3fork"] = Pop3Collect,
        ["SNMPLog"] = "there is no SNMP agent, so there is nothing SNMP to log",
        ["DNSResponseLog"] = "the DNS client does not write its answers to the maillog; the checks log what the answers meant",
        ["QueueUserBlockReports"] = "block report requests by email are always answered at once, never queued",
        ["QueueSchedule"] = "block report requests are not queued (QueueUserBlockReports), so there is no queue to run",
        ["DoT10Stat"] = "block reports carry no top-10 statistics",
        ["BlockReportHTTPName"] = "block reports carry no links to the web interface, so no host name is needed for them",
        ["ExtraBlockReportLog"] = "no separate blocking-only log is written; block reports search the maillog",
        ["MaxKeepDeleted"] = "deleted corpus files are not kept in a trash list",
        ["ConfigChangeSchedule"] = "scheduled configuration changes are not carried out",
        ["totalizeSpamStats"] = "statistics are not uploaded to the ASSP totals",
        ["enableGraphStats"] = "no statistics graphs are kept",
        ["httpLocalIPAddress"] = "nothing is downloaded over HTTP yet",
        ["proxyserver"] = "nothing is downloaded over HTTP yet",
        ["proxyuser"] = "nothing is downloaded over HTTP yet",
        ["proxypass"] = "nothing is downloaded over HTTP yet",
        ["downloadBackDNSFile"] = "the backscatter list file is not downloaded; backscatter lists are asked over DNS",
        ["httpRequireCookies"] = "the web interface always uses its session cookie",
        ["normalizeUnicode"] = "text is not Unicode-normalized before the checks",
        ["checkFilePermOnStart"] = "file permissions are not checked at start",
        ["setFilePermOnStart"] = "file permissions are not set at start",
        ["EnableFloatingMenu"] = "the web interface has its own layout",
        ["EnableInternalNamesInDesc"] = "the web interface always shows the option names",
        ["IndexSlideSpeed"] = "the web interface has its own layout",
        ["RememberGUIPos"] = "the web interface has its own layout",
        ["ShowPerformanceData"] = "the web interface has its own layout",
        ["hideAlphaIndex"] = "the web interface has its own layout",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Why a set option has no effect yet, or null when it works.</summary>
    public string? WithoutEffectYet(string name) => s_withoutEffectYet.GetValueOrDefault(name);

    private readonly FrozenDictionary<string, OptionDefinition> _byName;
    private readonly FrozenDictionary<string, string> _aliases;
    private readonly FrozenDictionary<string, string> _byLowerName;

    public IReadOnlyList<OptionDefinition> Options { get; }
    public IReadOnlyList<string> Sections { get; }

    public static OptionRegistry Default => s_default.Value;

    public OptionRegistry(IReadOnlyList<OptionDefinition> options)
    {
        Options = options;
        _byName = options.ToFrozenDictionary(o => o.Name, StringComparer.Ordinal);
        Sections = options.Select(o => o.Section).Distinct().ToArray();
        _aliases = s_aliases.Where(a => _byName.ContainsKey(a.Real) && !_byName.ContainsKey(a.Alias))
            .ToFrozenDictionary(a => a.Alias, a => a.Real, StringComparer.Ordinal);
        // Case-insensitive fallback only where the lower-case name is unique (spamlog and SpamLog both exist).
        _byLowerName = options.GroupBy(o => o.Name.ToLowerInvariant()).Where(g => g.Count() == 1)
            .ToFrozenDictionary(g => g.Key, g => g.First().Name, StringComparer.Ordinal);
    }

    public int Count => Options.Count;

    public OptionDefinition? Find(string name) => _byName.GetValueOrDefault(name);

    public OptionDefinition Get(string name) =>
        _byName.TryGetValue(name, out var o) ? o : throw new KeyNotFoundException($"'{name}' is not an ASSP option");

    public bool IsObsolete(string name) => s_obsolete.Contains(name);

    /// <summary>True for ASSP options that tune Perl (modules, threads, self-update) or order Perl plugins: accepted, kept, not used.</summary>
    public bool IsNotUsed(OptionDefinition option) =>
        option.Section == PerlModuleSection || s_notUsed.Contains(option.Name) || s_notUsedBecause.ContainsKey(option.Name);

    /// <summary>Why a not-used option is not used (for the load's notice).</summary>
    public string NotUsedReason(OptionDefinition option) => s_notUsedBecause.GetValueOrDefault(option.Name) ?? "it tunes Perl";

    /// <summary>
    /// Maps a name as written in a config file to the real option: exact, then a known misspelling, then a
    /// unique case-insensitive match. Returns null for names that are not options.
    /// </summary>
    public OptionDefinition? Resolve(string name, out bool wasAlias)
    {
        wasAlias = false;
        if (_byName.TryGetValue(name, out var exact)) return exact;
        if (_aliases.TryGetValue(name, out var real) || _byLowerName.TryGetValue(name.ToLowerInvariant(), out real))
        {
            wasAlias = true;
            return _byName[real];
        }
        return null;
    }

    private static OptionRegistry LoadEmbedded()
    {
        var asm = typeof(OptionRegistry).Assembly;
        // options.tsv is ASSP's own data and is Latin-1 (its choice labels hold accented letters).
        var optionsText = ReadResource(asm, "Assp.Config.options.tsv", Encoding.Latin1);
        var rulesText = ReadResource(asm, "Assp.Config.option-rules.tsv", Encoding.UTF8);
        return Build(optionsText, rulesText);
    }

    private static string ReadResource(Assembly asm, string name, Encoding encoding)
    {
        using var stream = asm.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing");
        using var reader = new StreamReader(stream, encoding);
        return reader.ReadToEnd();
    }

    /// <summary>Builds a registry from the two tables; every option must have a rule line.</summary>
    public static OptionRegistry Build(string optionsTsv, string rulesTsv)
    {
        var rules = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var line in SplitLines(rulesTsv))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var cols = line.Split('\t');
            if (cols.Length < 5) throw new FormatException($"option-rules.tsv: expected 5 columns in '{line}'");
            rules[cols[0]] = cols;
        }
        var list = new List<OptionDefinition>(1200);
        bool header = true;
        foreach (var line in SplitLines(optionsTsv))
        {
            if (header) { header = false; continue; }
            if (line.Length == 0) continue;
            var cols = line.Split('\t');
            if (cols.Length < 5) throw new FormatException($"options.tsv: expected 5 columns in '{line}'");
            var name = cols[0];
            if (!rules.TryGetValue(name, out var rule))
                throw new FormatException($"option-rules.tsv has no line for option {name}");
            if (!OptionKindExtensions.TryParse(rule[1], out var kind))
                throw new FormatException($"option-rules.tsv: unknown kind '{rule[1]}' for {name}");
            list.Add(new OptionDefinition
            {
                Name = name,
                Section = cols[1],
                Widget = cols[2],
                Kind = kind,
                Choices = ParseChoices(cols[3]),
                Default = cols[4],
                Rule = OptionRule.Parse(rule[2]),
                Description = rule[4],
            });
        }
        return new OptionRegistry(list);
    }

    private static IEnumerable<string> SplitLines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r'));

    internal static IReadOnlyList<OptionChoice> ParseChoices(string text)
    {
        if (text.Length == 0) return [];
        var result = new List<OptionChoice>();
        foreach (var part in text.Split('|'))
        {
            int colon = part.IndexOf(':');
            result.Add(colon < 0 ? new OptionChoice(part, part) : new OptionChoice(part[..colon], part[(colon + 1)..]));
        }
        return result;
    }
}
