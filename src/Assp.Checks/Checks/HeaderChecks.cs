using System.Text;
using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.Checks;

/// <summary>
/// HeaderMaxLength: a header larger than this many bytes (a sign of a mail loop) ends the message with ASSP's
/// "554 5.7.1 possible mailloop - oversized header (N)". Blank or 0 turns it off. Applies to every mail.
/// </summary>
public sealed class HeaderMaxLengthCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("HeaderMaxLength", "[OversizedHeader]", null, RunsOnOutgoing: true);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 1;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        long max = c.Config.GetLong("HeaderMaxLength");
        if (max <= 0 || c.State.Parsed is not { } msg) return Verdict.Pass;
        long length = msg.Root.BodyStart - msg.Root.HeaderStart;
        if (length <= max) return Verdict.Pass;
        c.State.Prepend.Clear().Append(Check.Tag);
        c.Log($"Possible Mailloop: Headerlength ({length}) > {max}");
        c.State.Reports.Add(new CheckReport(Check.Name, "block", 0, $"oversized header ({length})"));
        return Verdict.Block($"554 5.7.1 possible mailloop - oversized header ({length})", "oversized header");
    }
}

/// <summary>
/// detectMailLoop: more than this many Received: lines written by us (by myName or a myNameAlso name, with an ASSP
/// product comment) mean the mail is looping; it is refused with ASSP's 554 5.7.1. 0 turns it off.
/// </summary>
public sealed class MailLoopCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("detectMailLoop", "[MailLoop]", null, RunsOnOutgoing: true);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 2;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        int max = c.Config.GetInt("detectMailLoop");
        if (max <= 0 || c.State.Parsed is not { } msg) return Verdict.Pass;
        var own = OwnReceived(c.Config);
        int count = 0;
        foreach (var h in msg.Headers.GetAll("Received"))
            if (own.IsMatch(h.UnfoldedValue) && ++count > max) break;
        if (count <= max) return Verdict.Pass;
        var text = $"possible mailloop - found own received header more than {max} times";
        c.State.Prepend.Clear().Append(Check.Tag);
        c.Log("warning: " + text);
        c.State.Reports.Add(new CheckReport(Check.Name, "block", 0, text));
        return Verdict.Block("554 5.7.1 " + text, "mail loop");
    }

    private sealed record OwnNames(Regex Re);

    /// <summary>"… by &lt;one of our names&gt; with &lt;protocol&gt; (ASSP …": the line ASSP and this proxy write.</summary>
    internal static Regex OwnReceived(ConfigSnapshot cfg) => cfg.Derived("Checks.detectMailLoop", x =>
    {
        var names = new List<string> { x["myName"].Trim() };
        names.AddRange(x["myNameAlso"].Split([' ', ',', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var alternatives = string.Join('|', names.Where(n => n.Length > 0).Select(Regex.Escape));
        if (alternatives.Length == 0) alternatives = @"[^\s\S]";   // no name: matches nothing
        // Our own pattern of escaped names, run by the linear-time engine: no input can make it slow, so it has no
        // time limit, which under a CPU starved by load fired on ordinary mail and cost the session (soak, issue 14).
        return new OwnNames(new Regex($@"\bby\s+(?:{alternatives})\s+with\s+\S+\s+\(ASSP\b",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, Regex.InfiniteMatchTimeout));
    }).Re;
}

/// <summary>
/// DoNoFrom (monitor or score): faults of the From:/Sender: header, chosen by the bits of DoNoFromSelect (1 both
/// missing, 2 different domains, 4 several From, 8 several Sender, 16 no or invalid From address, 32 invalid
/// Sender address), each scoring nofromValencePB. With more than one fault DoNoFromRemovesNPWL takes away the
/// whitelisted (1), noprocessing (2) or both (3) flags (not noprocessing for size).
/// </summary>
public sealed class NoFromCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoNoFrom", "[FromMissing]", "nofromValencePB", WhitelistSwitch: "DoNoFromWL",
        NoProcessingSwitch: "DoNoFromNP");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 65;

    private static readonly Regex ValidAddress = new(@"^[^@\s<>()\[\],;:""]+@(?:(?:[\p{L}\p{N}_](?:[\p{L}\p{N}_-]{0,61}[\p{L}\p{N}_])?\.)+[\p{L}\p{N}-]{2,63}|\[[0-9a-f.:]+\])$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        var from = c.Mail.MailFrom ?? "";
        if (!c.Applies(Check) || st.Parsed is not { } msg || from.Length == 0 || CheckHelpers.AcceptAll(c)) return Verdict.Pass;
        if (DecisionEngine.IsPrivate(c.Ip) || from.Contains("news", StringComparison.OrdinalIgnoreCase)) return Verdict.Pass;

        var faults = Faults(msg, cfg.GetInt("DoNoFromSelect", 59));
        foreach (var fault in faults)
            c.Engine.Hit(Check, cfg, st, c.Ip, fault, c.Log);   // monitor or score: never refuses

        if (faults.Count > 1 && Check.ConfiguredMode(cfg) != CheckMode.Monitor)
        {
            int remove = cfg.GetChoice("DoNoFromRemovesNPWL");
            if ((remove & 1) != 0 && st.Whitelisted is not null)
            {
                c.Log($"DoNoFrom: {faults.Count} From:/Sender: faults - the whitelisted flag ({st.Whitelisted}) is removed");
                st.Whitelisted = null;
            }
            if ((remove & 2) != 0 && st.NoProcessing is { } np && !np.StartsWith("message size", StringComparison.Ordinal))
            {
                c.Log($"DoNoFrom: {faults.Count} From:/Sender: faults - the noprocessing flag ({np}) is removed");
                st.NoProcessing = null;
            }
        }
        return Verdict.Pass;
    }

    /// <summary>The faults of the selected kinds, as the reasons the maillog shows.</summary>
    internal static List<string> Faults(MimeMessage msg, int select)
    {
        var faults = new List<string>();
        var fromHeaders = msg.Headers.GetAll("From").ToList();
        var senderHeaders = msg.Headers.GetAll("Sender").ToList();
        var fromAddresses = msg.From;
        var senderAddresses = msg.Sender;

        if ((select & 1) != 0 && fromHeaders.Count == 0 && senderHeaders.Count == 0)
            faults.Add("From: and Sender: header missing");
        if ((select & 2) != 0)
        {
            var domains = fromAddresses.Concat(senderAddresses).Select(m => m.Domain.ToLowerInvariant()).Where(d => d.Length > 0).Distinct().ToList();
            if (domains.Count > 1) faults.Add($"different domains in From:/Sender: ({string.Join(", ", domains)})");
        }
        if ((select & 4) != 0 && (fromHeaders.Count > 1 || fromAddresses.Count > 1))
            faults.Add($"multiple From: addresses or headers ({fromHeaders.Count} headers, {fromAddresses.Count} addresses)");
        if ((select & 8) != 0 && (senderHeaders.Count > 1 || senderAddresses.Count > 1))
            faults.Add($"multiple Sender: addresses or headers ({senderHeaders.Count} headers, {senderAddresses.Count} addresses)");
        // A missing From: counts here when Sender: is there (both missing is fault 1).
        if ((select & 16) != 0 && (fromHeaders.Count > 0 || senderHeaders.Count > 0) && !fromAddresses.Any(m => ValidAddress.IsMatch(m.Address)))
            faults.Add(fromHeaders.Count == 0 ? "From missing" : $"no valid address in From: '{Shorten(fromHeaders[0].UnfoldedValue)}'");
        if ((select & 32) != 0 && senderHeaders.Count > 0 && !senderAddresses.Any(m => ValidAddress.IsMatch(m.Address)))
            faults.Add($"no valid address in Sender: '{Shorten(senderHeaders[0].UnfoldedValue)}'");
        return faults;
    }

    private static string Shorten(string s)
    {
        s = s.Trim();
        return s.Length > 60 ? s[..60] + "..." : s;
    }
}

/// <summary>
/// DoSameSubject: more than subjectFrequencyNumSubj-1 mails with the same (normalised) subject within
/// subjectFrequencyInt seconds score isValencePB; block mode refuses with ASSP's "554 5.7.1 too many mails with
/// same subject", 4 is the test mode. Scope: subjectFrequencyOnly, NoSubjectFrequency (envelope sender) and
/// NoSubjectFrequencyIP. Outgoing, whitelisted, noprocessing and noBlockingIPs mail is not counted.
/// </summary>
public sealed class SameSubjectCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoSameSubject", "[SameSubject]", "isValencePB", CollectOption: "spamBombLog");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 35;

    private readonly FrequencyCache _cache = new();

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        var ip = c.Ip;
        long interval = cfg.GetLong("subjectFrequencyInt");
        int limit = cfg.GetInt("subjectFrequencyNumSubj");
        if (interval <= 0 || limit <= 0)
        {
            _cache.Clear();
            return Verdict.Pass;
        }
        if (!c.Applies(Check) || CheckHelpers.IspWithoutOrigin(st) || cfg.GetIpList("noBlockingIPs").Contains(ip)) return Verdict.Pass;
        var subject = Normalize(st.OriginalSubject);
        if (subject.Length == 0) return Verdict.Pass;
        var from = c.Mail.MailFrom ?? "";
        var only = cfg.GetAddressList("subjectFrequencyOnly");
        if (only.Count > 0 && !only.Contains(from)) return Verdict.Pass;
        if (cfg.GetAddressList("NoSubjectFrequency").Contains(from) || cfg.GetIpList("NoSubjectFrequencyIP").Contains(ip)) return Verdict.Pass;

        var now = services.Time.GetUtcNow().ToUnixTimeSeconds();
        var (count, _) = _cache.Add(subject, now, 1, interval);
        if (count < limit) return Verdict.Pass;
        var reason = $"passed limit({limit}) of same subjects in {interval} seconds";
        return c.Engine.Hit(Check, cfg, st, ip, reason, c.Log, reply: "554 5.7.1 too many mails with same subject");
    }

    /// <summary>Lower case words of two or more letters or digits, so that small changes in punctuation or case still count as the same subject.</summary>
    internal static string Normalize(string? subject)
    {
        if (string.IsNullOrWhiteSpace(subject)) return "";
        var sb = new StringBuilder();
        var word = new StringBuilder();
        foreach (var ch in subject.ToLowerInvariant().Append(' '))
        {
            if (char.IsLetterOrDigit(ch)) { word.Append(ch); continue; }
            if (word.Length >= 2) sb.Append(sb.Length > 0 ? " " : "").Append(word);
            word.Clear();
        }
        return sb.Length > 0 ? sb.ToString() : subject.Trim().ToLowerInvariant();
    }
}

/// <summary>
/// Counts per key in a sliding window of seconds (ASSP keeps such counters in memory: subjects, local senders).
/// Old entries are dropped when a key is touched and in a sweep over all keys at most once per window.
/// </summary>
internal sealed class FrequencyCache
{
    private readonly Dictionary<string, List<(long Time, int Count)>> _entries = new(StringComparer.Ordinal);
    private long _lastSweep;

    /// <summary>Adds <paramref name="count"/> for the key; returns the total within the window (this one included) and the oldest time in it.</summary>
    public (int Total, long Oldest) Add(string key, long now, int count, long window)
    {
        lock (_entries)
        {
            if (now - _lastSweep > window)
            {
                _lastSweep = now;
                foreach (var k in _entries.Keys.ToList())
                    if (_entries[k].TrueForAll(e => e.Time + window < now)) _entries.Remove(k);
            }
            if (!_entries.TryGetValue(key, out var list)) _entries[key] = list = [];
            list.RemoveAll(e => e.Time + window < now);
            list.Add((now, count));
            return (list.Sum(e => e.Count), list[0].Time);
        }
    }

    public int Count
    {
        get { lock (_entries) return _entries.Count; }
    }

    public void Clear()
    {
        lock (_entries) if (_entries.Count > 0) _entries.Clear();
    }
}

/// <summary>
/// removeDispositionNotification: the read-receipt header fields it names (Disposition-Notification-To,
/// Return-Receipt-To, ReturnReceipt, '|'-joined) are taken out of incoming mail that is neither whitelisted nor
/// noprocessing, so a spammer's receipt request cannot make a local user's client answer (and whitelist him).
/// Runs last in the body phase, on the message as it will be forwarded.
/// </summary>
public sealed class DispositionNotificationRemoval : IMessageCheck
{
    public static readonly CheckDefinition Check = new("removeDispositionNotification", "[Header]", null);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 900;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var st = c.State;
        var names = c.Config["removeDispositionNotification"].Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0 || st.Transparent || st.RelayOk || c.Mail.IsOutgoing || st.IsWhitelisted || st.IsNoProcessing) return Verdict.Pass;
        // An earlier change (a replaced attachment) is the message that goes on.
        var msg = st.ReplacementMessage is { } changed ? MimeParser.Parse(changed) : st.Parsed;
        if (msg is null) return Verdict.Pass;
        var found = names.Where(n => msg.Headers.Get(n) is not null).ToList();
        if (found.Count == 0) return Verdict.Pass;
        var writer = new MimeWriter(msg);
        foreach (var name in found) writer.Remove(name);
        st.ReplacementMessage = writer.ToArray();
        c.Log($"info: removed {string.Join(", ", found)} header (removeDispositionNotification)");
        return Verdict.Pass;
    }
}
