namespace Assp.Checks.Decision;

/// <summary>The stored codes of ASSP's check drop-downs.</summary>
public enum CheckMode { Disabled = 0, Block = 1, Monitor = 2, Score = 3, TestMode = 4 }

/// <summary>ASSP's collection codes: where a processed message is stored.</summary>
public enum CollectTarget { None = 0, Spam = 1, NotSpam = 2, SpamAndCopy = 3, OkMail = 4, Quarantine = 5, Discard = 6, DiscardAndCopy = 7 }

/// <summary>
/// One check as the decision engine sees it: the ASSP options that drive its mode, score, test mode, spam
/// lovers, whitelist/noprocessing/local-mail switches (…WL, …NP, …Local), collection and reply. The name is the enabling option and is what
/// the maillog, the X-Assp headers and the analyzer show. HaterList (e.g. baysSpamHaters): when every recipient is on it,
/// the check's test mode and spam-lover pass do not count. TestModeUsers (baysTestModeUserAddresses): when every
/// recipient is on it, a spam verdict of the check only tags.
/// </summary>
public sealed record CheckDefinition(
    string Name,
    string Tag,
    string? ValenceOption,
    string? TestModeOption = null,
    string? LoverList = null,
    string? WhitelistSwitch = null,
    string? NoProcessingSwitch = null,
    string? CollectOption = null,
    string ReplyOption = "SpamError",
    bool RunsOnOutgoing = false,
    string? LocalSwitch = null,
    string? HaterList = null,
    string? TestModeUsers = null)
{
    /// <summary>The drop-down value as configured (0 when the option is not a mode option of this build).</summary>
    public CheckMode ConfiguredMode(Assp.Config.ConfigSnapshot cfg) =>
        cfg.Registry.Find(Name) is not null ? (CheckMode)Math.Clamp(cfg.GetChoice(Name), 0, 4) : CheckMode.Disabled;
}

/// <summary>The checks whose verdicts this engine combines (later check issues add theirs).</summary>
public static class Checks
{
    public static readonly CheckDefinition BlackDomain = new("DoBlackDomain", "[BlackDomain]", "blValencePB",
        TestModeOption: "blTestMode", LoverList: "blSpamLovers", WhitelistSwitch: "DoBlackDomainWL",
        NoProcessingSwitch: "DoBlackDomainNP", CollectOption: "blDomainLog");

    /// <summary>The message score limits (DoPenaltyMessage: 0 disabled, 1 block, 2 monitor, 4 tagging).</summary>
    public static readonly CheckDefinition MessageScore = new("DoPenaltyMessage", "[MessageLimit]", "msValencePB",
        TestModeOption: "msTestMode", LoverList: "pbSpamLovers", CollectOption: "spamMSLog", ReplyOption: "PenaltyError");

    /// <summary>The IP's history in the PenaltyBox (DoPenalty: 0 disabled, 1 block, 2 monitor/messageScoring).</summary>
    public static readonly CheckDefinition PenaltyBox = new("DoPenalty", "[Penalty]", "pbValencePB",
        TestModeOption: "pbTestMode", LoverList: "pbSpamLovers", CollectOption: "spamPBLog", ReplyOption: "PenaltyError");

    public static readonly CheckDefinition PenaltyExtreme = new("DoPenaltyExtreme", "[PenaltyExtreme]", "pbeValencePB",
        TestModeOption: "pbTestMode", LoverList: "pbSpamLovers", WhitelistSwitch: "ExtremeWL", NoProcessingSwitch: "ExtremeNP",
        CollectOption: "spamPBLog", ReplyOption: "PenaltyError");

    public static readonly CheckDefinition PenaltyExtremeSmtp = new("DoPenaltyExtremeSMTP", "[PenaltyExtreme]", "pbeValencePB",
        WhitelistSwitch: "ExtremeWL", NoProcessingSwitch: "ExtremeNP", ReplyOption: "PenaltyError");

    /// <summary>DNSBL on the sending IP (ValidateRBL); RBLWL also checks whitelisted mail.</summary>
    public static readonly CheckDefinition Dnsbl = new("ValidateRBL", "[DNSBL]", "rblValencePB",
        TestModeOption: "rblTestMode", LoverList: "rblSpamLovers", WhitelistSwitch: "RBLWL", CollectOption: "RBLFailLog", ReplyOption: "RBLError",
        HaterList: "rblSpamHaters");

    /// <summary>URIBL on the domains of the message's links (ValidateURIBL).</summary>
    public static readonly CheckDefinition Uribl = new("ValidateURIBL", "[URIBL]", "uriblValencePB",
        TestModeOption: "uriblTestMode", LoverList: "uriblSpamLovers", WhitelistSwitch: "URIBLWL", NoProcessingSwitch: "URIBLNP",
        CollectOption: "URIBLFailLog", ReplyOption: "URIBLError", LocalSwitch: "URIBLLocal");

    /// <summary>Bounces from an IP on a DNS backscatter list (DoBackSctr; its drop-down has its own test mode).</summary>
    public static readonly CheckDefinition Backscatter = new("DoBackSctr", "[BackScatter]", "backsctrValencePB",
        WhitelistSwitch: "BackWL", NoProcessingSwitch: "BackNP", CollectOption: "BackLog");

    public static IReadOnlyList<CheckDefinition> All { get; } = [BlackDomain, MessageScore, PenaltyBox, PenaltyExtreme, PenaltyExtremeSmtp, Dnsbl, Uribl, Backscatter];
}
