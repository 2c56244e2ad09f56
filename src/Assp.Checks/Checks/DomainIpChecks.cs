using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Assp.Auth.Spf;
using Assp.Checks.Decision;
using Assp.Checks.Delaying;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// DoDomainIP: a sender domain seen from more than maxSMTPdomainIP different IPs (their /24 or /64 with
/// DelayUseNetblocks) within maxSMTPdomainIPExpiration seconds is over the limit until that window ends. Over the
/// limit it scores idValencePB (not in monitor mode); in block mode the mail is refused
/// "554 5.7.1 too many different IP's for domain '@domain'" and the connection closed. Only clients already in the
/// PenaltyBox's black box are counted; exempt are white-box IPs, whitelisted, noprocessing and RWL-trusted mail,
/// ispip (unless the original sender IP is known), acceptAllMail, noPB, noDelay, noBlockingIPs, whiteListedIPs,
/// noProcessingIPs, the domains in maxSMTPdomainIPWL, and any IP/domain whose SPF check passed.
/// ASSP looks at MAIL FROM when it can already tell SPF's verdict (SPF off, or a cached result); otherwise, and for
/// mail relayed by an ISP, it looks once the header is in, after the SPF check.
/// </summary>
public sealed class DomainIpCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoDomainIP", "[IPperDomain]", "idValencePB");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.MailFrom;
    // Before DoFrequencyIP, as in ASSP.
    public int Order => 4;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(DomainIpLimit.For(services).Run(context, atMailFrom: true));
}

/// <summary>The DoDomainIP look after the header: mail relayed by an ISP (its original sender IP) and mail whose SPF
/// result was not known at MAIL FROM.</summary>
public sealed class DomainIpHeaderCheck(CheckServices services) : IMessageCheck
{
    public CheckDefinition Definition => DomainIpCheck.Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    // Right after the SPF check (60), before the PenaltyBox extreme check.
    public int Order => 62;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(DomainIpLimit.For(services).Run(context, atMailFrom: false));
}

/// <summary>The per-domain IP counts shared by both DoDomainIP looks (in memory, like ASSP's SMTPdomainIP hashes).</summary>
internal sealed class DomainIpLimit(CheckServices services)
{
    private static readonly ConditionalWeakTable<CheckServices, DomainIpLimit> s_instances = new();
    public static DomainIpLimit For(CheckServices services) => s_instances.GetValue(services, s => new DomainIpLimit(s));

    private const int PruneAbove = 10_000;
    private long _nextPrune;

    private sealed class DomainCounter
    {
        public int Tries;
        public long WindowStart;
        public readonly HashSet<string> Networks = new(StringComparer.Ordinal);
    }

    private readonly ConcurrentDictionary<string, DomainCounter> _domains = new(StringComparer.OrdinalIgnoreCase);

    public Verdict Run(CheckContext c, bool atMailFrom)
    {
        var cfg = c.Config;
        var st = c.State;
        var mode = DomainIpCheck.Check.ConfiguredMode(cfg);
        int max = cfg.GetInt("maxSMTPdomainIP", 10);
        if (mode == CheckMode.Disabled || max <= 0 || st.Transparent || st.RelayOk || c.Mail.Class != ConnectionClass.External) return Verdict.Pass;
        var sender = c.Mail.MailFrom ?? "";
        int at = sender.LastIndexOf('@');
        if (at < 0 || at == sender.Length - 1) return Verdict.Pass;
        var domain = sender[(at + 1)..].Trim().TrimEnd('>').ToLowerInvariant();
        // Each transaction's sender domain is counted once (at MAIL FROM or after the header).
        var doneMarker = "DoDomainIP:" + domain;
        if (c.Mail.CheckState.Done.Contains(doneMarker)) return Verdict.Pass;

        // The IP the domain is counted for: the client, or the original sender behind an ISP relay.
        IPAddress ip;
        if (st.IsIsp)
        {
            if (atMailFrom || st.OriginalIp is not { } origin) return Verdict.Pass;
            ip = origin;
        }
        else ip = c.Mail.RemoteAddress;

        if (st.IsWhitelisted || st.IsNoProcessing || st.RwlOk || st.NoPenaltyBox || st.PenaltyWhite || CheckHelpers.AcceptAll(c)) return Verdict.Pass;
        foreach (var list in new[] { "noPB", "noProcessingIPs", "whiteListedIPs", "noDelay", "acceptAllMail", "noBlockingIPs" })
            if (cfg.GetIpList(list).Contains(ip)) return Verdict.Pass;
        if (Exempt(cfg, domain)) return Verdict.Pass;
        var engine = c.Engine;
        if (engine.IpReputation.BlackTotal(cfg, ip) is null || engine.IpReputation.IsWhite(cfg, ip)) return Verdict.Pass;

        var spf = new SpfService(services);
        if (atMailFrom)
        {
            // With SPF on, MAIL FROM can only decide when a cached result says the IP may send for the domain.
            if (cfg.GetChoice("ValidateSPF") != 0
                && (cfg.GetDecimal("SPFCacheInterval") <= 0 || spf.FindCachedResult(cfg, ip, domain) is not { } cached || cached.Result == SpfResult.Pass))
                return Verdict.Pass;
        }
        else if ((st.SpfResult ?? spf.FindCachedResult(cfg, ip, domain)) is { Result: SpfResult.Pass }) return Verdict.Pass;

        c.Mail.CheckState.Done.Add(doneMarker);
        int tries = Count(cfg, domain, Greylist.Network(ip, cfg.GetBool("DelayUseNetblocks")));
        if (tries <= max) return Verdict.Pass;

        if (atMailFrom) StartBackgroundSpf(c, spf, ip, sender, domain);

        bool testMode = mode == CheckMode.TestMode || (mode == CheckMode.Block && cfg.GetBool("allTestMode"));
        if (testMode) mode = CheckMode.Score;
        string tag = mode switch { CheckMode.Monitor => "[monitoring]", CheckMode.Score => testMode ? "[testmode]" : "[scoring]", _ => DomainIpCheck.Check.Tag };
        var reason = $"'@{domain}' passed limit({max}) of ips per domain";
        int sessionLog = cfg.GetChoice("SessionLog");
        if ((sessionLog >= 1 && tries == max + 1) || (sessionLog >= 2 && tries > max + 1)) c.Log($"{tag} {reason}");
        st.Prepend.Clear().Append(DomainIpCheck.Check.Tag);
        if (mode != CheckMode.Monitor) engine.AddPenalty(cfg, st, ip, "idValencePB", "LimitingIPDomain", 0, c.Log);
        var outcome = mode switch { CheckMode.Monitor => "monitor", CheckMode.Score => testMode ? "testmode" : "score", _ => "block" };
        st.Reports.Add(new CheckReport(DomainIpCheck.Check.Name, outcome, mode == CheckMode.Monitor ? 0 : cfg.GetValence("idValencePB").Message, reason));
        if (mode != CheckMode.Block) return Verdict.Pass;
        // After the header ASSP lets the mail pass rather than answer 250 and drop it (send250OK / send250OKISP).
        if (!atMailFrom && (cfg.GetBool("send250OK") || (st.IsIsp && cfg.GetBool("send250OKISP")))) return Verdict.Pass;
        return Verdict.BlockAndClose($"554 5.7.1 too many different IP's for domain '@{domain}'", reason);
    }

    /// <summary>maxSMTPdomainIPWL: domains (with * wildcards) matched from the start of the sender's domain.</summary>
    private static bool Exempt(ConfigSnapshot cfg, string domain)
    {
        var regex = cfg.Derived("Checks.maxSMTPdomainIPWL", c =>
        {
            var parts = c.GetListEntries("maxSMTPdomainIPWL").Select(e => e.Text.Trim()).Where(t => t.Length > 0)
                .Select(t => string.Join(".*", t.Split('*').Select(Regex.Escape))).ToList();
            // An empty list exempts nothing.
            var pattern = parts.Count == 0 ? "(?!)" : "^(?:" + string.Join("|", parts) + ")";
            return new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout);
        });
        try
        {
            return regex.IsMatch(domain);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>Counts this network for the domain and returns how many different networks it has in its window.</summary>
    private int Count(ConfigSnapshot cfg, string domain, string network)
    {
        long now = services.Time.GetUtcNow().ToUnixTimeSeconds();
        long expiry = cfg.GetInt("maxSMTPdomainIPExpiration", 7200);
        if (_domains.Count > PruneAbove && now >= Interlocked.Read(ref _nextPrune))
        {
            Interlocked.Exchange(ref _nextPrune, now + 60);
            foreach (var (key, old) in _domains)
                lock (old)
                    if (now - old.WindowStart > expiry) _domains.TryRemove(key, out _);
        }

        var counter = _domains.GetOrAdd(domain, _ => new DomainCounter());
        lock (counter)
        {
            if (counter.Tries == 0 || now - counter.WindowStart > expiry)
            {
                counter.Tries = 1;
                counter.WindowStart = now;
                counter.Networks.Clear();
                counter.Networks.Add(network);
            }
            else if (counter.Networks.Add(network))
            {
                // ASSP's window starts again when the domain first changes its IP.
                if (counter.Tries == 1) counter.WindowStart = now;
                counter.Tries++;
            }
            return counter.Tries;
        }
    }

    /// <summary>enableSPFbackground: an SPF lookup in the background fills the SPF cache, so that a domain whose IPs are
    /// allowed by its SPF record is not held back by this limit next time.</summary>
    private static void StartBackgroundSpf(CheckContext c, SpfService spf, IPAddress ip, string sender, string domain)
    {
        var cfg = c.Config;
        if (cfg.GetChoice("ValidateSPF") == 0 || !cfg.GetBool("enableSPFbackground") || cfg.GetDecimal("SPFCacheInterval") <= 0) return;
        if (c.Services.Dns is null || spf.FindCachedResult(cfg, ip, domain) is not null) return;
        spf.StartBackground(cfg, ip, sender, c.Mail.Helo, null);
    }
}
