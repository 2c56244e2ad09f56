using System.Net;
using System.Text;
using Assp.Mime;

namespace Assp.Checks.Decision;

/// <summary>One line of a message's score sheet: which check, what it added, why.</summary>
public sealed record ScoreEntry(string Check, double MessageScore, double IpScore, string Reason);

/// <summary>ASSP's obfuscatedip, obfuscateduri, maximumuri and maximumuniqueuri flags of a message.</summary>
public readonly record struct UriFindings(bool ObfuscatedIp, bool ObfuscatedUri, bool TooManyUris, bool TooManyDomains)
{
    public bool Any => ObfuscatedIp || ObfuscatedUri || TooManyUris || TooManyDomains;
}

/// <summary>What one check said about the message (for the maillog, headers and the analyzer).</summary>
public sealed record CheckReport(string Check, string Outcome, double Score, string Reason);

/// <summary>
/// What the decision engine knows about the message in progress: its classes (outgoing, whitelisted,
/// noprocessing, redlisted, spam lovers), its score, its tags and the headers to add. A new one starts with
/// every MAIL FROM; connection facts and the connect/HELO checks' findings are copied in from <see cref="CheckSession"/>.
/// </summary>
public sealed class MessageState
{
    /// <summary>Local or outgoing mail (authenticated, relayPort, acceptAllMail): ASSP's "relayok".</summary>
    public bool RelayOk { get; set; }
    public bool IsBounce { get; set; }
    public bool IsIsp { get; set; }
    /// <summary>Why the mail is whitelisted, or null.</summary>
    public string? Whitelisted { get; set; }
    /// <summary>Why the mail is not processed, or null.</summary>
    public string? NoProcessing { get; set; }
    /// <summary>What made the mail redlisted, or null.</summary>
    public string? Red { get; set; }
    /// <summary>All recipients are transparent: nothing is checked, stored or logged.</summary>
    public bool Transparent { get; set; }
    /// <summary>ASSP's spamlover bits for the global spamLovers list: 1 some recipient loves spam, 2 some does not, 3 set by SpamLoversRe.</summary>
    public int SpamLover { get; set; }
    /// <summary>Per lover list (e.g. blSpamLovers, including the global list): 1 = every local recipient loves it.</summary>
    public Dictionary<string, int> LoverBits { get; } = new(StringComparer.Ordinal);
    /// <summary>The highest personal spam limit of the recipients' lover entries ("addr=>score"), or null.</summary>
    public double? SpamMaxScore { get; set; }
    public string? SpamMaxScoreInfo { get; set; }
    /// <summary>Every recipient is a spam hater: no test mode or lover pass.</summary>
    public bool AllHaters { get; set; }
    public bool NotSpamTagged { get; set; }
    public bool NoPenaltyBox { get; set; }
    public bool PenaltyWhite { get; set; }
    public string? AddressedToSpamBucket { get; set; }
    public bool NoCollect { get; set; }
    /// <summary>An RWL/DNSWL vouched for the IP: the IP-based checks are skipped (ASSP's rwlok).</summary>
    public bool RwlOk { get; set; }
    /// <summary>What URIBL saw in the links (URIBLNoObfuscated, URIBLmaxuris, URIBLmaxdomains); each adds to the spam probability of the Bayesian and HMM checks.</summary>
    public UriFindings UriFindings { get; set; }
    /// <summary>The DNSBL verdict was already taken (ForceRBLCache at MAIL FROM): the header phase does not count it again.</summary>
    public bool DnsblDone { get; set; }
    /// <summary>Recipients so far on the noProcessing list (every one must be for noprocessing by recipient).</summary>
    public int NpRecipients { get; set; }
    public int HaterCount { get; set; }
    /// <summary>Per recipient list (the per-check haters, baysTestModeUserAddresses): 1 = every recipient so far is on it.</summary>
    public Dictionary<string, int> RecipientListBits { get; } = new(StringComparer.Ordinal);
    /// <summary>baysSpamLoversRed: some recipient is a Bayesian spam lover, so spam is collected as discarded, not as spam.</summary>
    public bool BayesLoverNotCollected { get; set; }
    /// <summary>The last recipient is on the noProcessing list (it is not greylisted).</summary>
    public bool LastRecipientNoProcessing { get; set; }
    /// <summary>groupSpamLovers: whether the first recipient was a lover (later ones must agree).</summary>
    public bool? LoverGroup { get; set; }

    public double MessageScore { get; set; }
    public List<ScoreEntry> Scores { get; } = [];
    public List<CheckReport> Reports { get; } = [];
    /// <summary>The check tags collected so far, e.g. "[BlackDomain][testmode]".</summary>
    public StringBuilder Prepend { get; } = new();
    public bool SpamFound { get; set; }
    public bool TagMode { get; set; }
    public bool MessageLow { get; set; }
    public bool MessageScoreDone { get; set; }
    /// <summary>Set once all checks have run (ASSP tests the score limit only then with MsgScoreOnEnd).</summary>
    public bool AtEnd { get; set; }
    public string? SpamReason { get; set; }
    public string? PassingReason { get; set; }
    /// <summary>The refusal decided for this message, if any.</summary>
    public Verdict? Refusal { get; set; }
    public CollectTarget? Collect { get; set; }
    /// <summary>Header lines (without CRLF) to add at the end of the header when the message is forwarded.</summary>
    public List<string> Headers { get; } = [];
    /// <summary>Text to put in front of the Subject when the message is forwarded (empty: none).</summary>
    public string SubjectPrefix { get; set; } = "";
    /// <summary>The parsed message, once the DATA phase has read it.</summary>
    public MimeMessage? Parsed { get; set; }
    /// <summary>The Bayesian and HMM checks' words and results (DoBayesian, DoHMM).</summary>
    public Assp.Checks.Checks.StatisticalState Statistics { get; } = new();
    /// <summary>Every DKIM signature's result (DoDKIM), for DMARC alignment; null when DKIM was not checked.</summary>
    public Assp.Auth.Dkim.DkimResult? Dkim { get; set; }
    /// <summary>The ARC chain validation (DoARC); null when ARC was not checked.</summary>
    public Assp.Auth.Arc.ArcResult? Arc { get; set; }
    public string? OriginalSubject { get; set; }
    /// <summary>The IP that scores go to (the client, or the original sender found behind an ISP relay).</summary>
    public IPAddress? ScoredIp { get; set; }
    /// <summary>The sender's IP found behind an ISP relay (ispHostnames), or null.</summary>
    public IPAddress? OriginalIp { get; set; }
    /// <summary>The HELO the original sender gave the ISP relay (from the same Received line), or null.</summary>
    public string? OriginalHelo { get; set; }
    /// <summary>The first accepted recipient (LOCALUSER/LOCALDOMAIN in replies).</summary>
    public string? FirstRecipient { get; set; }
    public string? SessionId { get; set; }
    /// <summary>The envelope sender passed SPF (the PTR check skips such mail unless DoReversedSPFOK).</summary>
    public bool SpfPassed { get; set; }
    /// <summary>The SPF result of the envelope sender (the HELO identity for a null sender) once SPF ran; DMARC uses it.</summary>
    public Assp.Auth.Spf.SpfCheckResult? SpfResult { get; set; }
    /// <summary>The DKIM signatures as (d=, verified) once DKIM verification ran; null when it did not. DMARC aligns with them.</summary>
    public IReadOnlyList<Assp.Auth.Dmarc.DkimDomainResult>? DkimResults { get; set; }
    /// <summary>The DMARC verdict once the DMARC check ran.</summary>
    public Assp.Auth.Dmarc.DmarcOutcome? Dmarc { get; set; }
    /// <summary>The envelope sender to send on to the MTA when SRS or BATV rewrote it (null: unchanged).</summary>
    public string? UpstreamMailFrom { get; set; }
    /// <summary>The current recipient as it goes on to the MTA when an SRS or BATV tag was taken off (null: unchanged).</summary>
    public string? UpstreamRecipient { get; set; }
    /// <summary>A valid BATV or SRS tag proved the bounce is a reply to our own mail (ASSP skips the other backscatter checks).</summary>
    public bool BounceTagValid { get; set; }
    /// <summary>What was wrong with the last recipient's BATV tag, for the BATV check (null: nothing).</summary>
    public string? BatvFailure { get; set; }
    /// <summary>Text to change in the header lines of the message as forwarded (FBMTV Message-ID tags in or out).</summary>
    public List<(string Find, string Replace)> HeaderReplacements { get; } = [];
    /// <summary>Header fields (by name) left out of the message as forwarded (removeForeignBCC: BCC).</summary>
    public HashSet<string> DroppedHeaderFields { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>The whole message as it is to go to the MTA when a check changed its body (ASSP_AFCReplBadAttach
    /// removed an attachment); null: the message goes on as received.</summary>
    public byte[]? ReplacementMessage { get; set; }
    /// <summary>A bounce reached a recipient without our SRS signature (SRSValidateBounce decides at DATA).</summary>
    public bool InvalidSrsBounce { get; set; }

    // ---- recipient validation (Recipients/): read by the SMTP session after the RCPT TO phase ----
    /// <summary>CatchAll/CatchAllAll: the address the current RCPT TO goes to instead; the session applies it and clears it.</summary>
    public string? RecipientRewrite { get; set; }
    /// <summary>NullAddresses/CatchallallISP2NULL: the message is taken (250) and silently discarded, nothing goes to the MTA.</summary>
    public bool NullConnection { get; set; }
    /// <summary>The distinct recipients so far (DoMaxDupRcpt counts RCPT TO commands beyond them).</summary>
    public HashSet<string> DistinctRecipients { get; } = new(StringComparer.OrdinalIgnoreCase);
    public int RcptCommands { get; set; }

    public bool IsWhitelisted => Whitelisted is not null;
    public bool IsNoProcessing => NoProcessing is not null;
    public bool IsRed => Red is not null;

    /// <summary>True when every local recipient is on this lover list (ASSP's allLove…==1).</summary>
    public bool AllLove(string? loverList) => loverList is not null && LoverBits.TryGetValue(loverList, out var bits) && bits == 1;

    /// <summary>True when every recipient is on this address list (ASSP's allSH).</summary>
    public bool AllRecipientsIn(string? list) => list is not null && RecipientListBits.TryGetValue(list, out var bits) && bits == 1;

    public void AddHeader(string line)
    {
        if (!Headers.Contains(line, StringComparer.OrdinalIgnoreCase)) Headers.Add(line);
    }

    public void SetHeader(string name, string value)
    {
        Headers.RemoveAll(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));
        Headers.Add(name + ": " + value);
    }
}

/// <summary>The decision engine's state for one SMTP session.</summary>
public sealed class CheckSession
{
    public MessageState Message { get; private set; } = new();
    /// <summary>Connection-level facts decided at connect (kept for every message of the session).</summary>
    public string? IpWhitelisted { get; set; }
    public string? IpNoProcessing { get; set; }
    public bool IsIsp { get; set; }
    public bool NoPenaltyBox { get; set; }
    public bool PenaltyWhite { get; set; }

    // --- connection findings (issue 7): what the connect and HELO checks scored is kept for every message of the
    // session, as ASSP keeps the connection's score. Message is a connection-phase state until the first MAIL FROM
    // (and again after a new HELO); NewMessage folds its findings into these and seeds each message with them.
    /// <summary>The score the connect/HELO checks gave this connection.</summary>
    public double ConnectionScore { get; private set; }
    public IReadOnlyList<ScoreEntry> ConnectionScores { get; private set; } = [];
    public IReadOnlyList<CheckReport> ConnectionReports { get; private set; } = [];
    private IReadOnlyList<string> _connectionHeaders = [];
    /// <summary>Connection-level markers of checks that run once per session (ASSP's …done fields).</summary>
    public HashSet<string> Done { get; } = new(StringComparer.Ordinal);

    /// <summary>True while Message is a transaction's state (after MAIL FROM), false in the connect/HELO phases.</summary>
    public bool InTransaction { get; private set; }

    /// <summary>Called before connect/HELO checks: after a finished transaction they get a fresh connection-phase state.</summary>
    public MessageState ConnectionPhase()
    {
        if (InTransaction)
        {
            Message = Seed();
            InTransaction = false;
        }
        return Message;
    }

    public MessageState NewMessage()
    {
        if (!InTransaction)
        {
            // The connection-phase state was seeded with the earlier findings, so it holds all of them now.
            ConnectionScore = Message.MessageScore;
            ConnectionScores = [.. Message.Scores];
            ConnectionReports = [.. Message.Reports];
            _connectionHeaders = [.. Message.Headers];
        }
        Message = Seed();
        InTransaction = true;
        return Message;
    }

    private MessageState Seed()
    {
        var st = new MessageState
        {
            Whitelisted = IpWhitelisted,
            NoProcessing = IpNoProcessing,
            IsIsp = IsIsp,
            NoPenaltyBox = NoPenaltyBox,
            PenaltyWhite = PenaltyWhite,
            MessageScore = ConnectionScore,
        };
        st.Scores.AddRange(ConnectionScores);
        st.Reports.AddRange(ConnectionReports);
        st.Headers.AddRange(_connectionHeaders);
        return st;
    }
}
