using System.Collections.Concurrent;
using System.Net;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// DoFrequencyIP: an IP already in the PenaltyBox's black box that opens more than maxSMTPipConnects connections
/// within maxSMTPipDuration seconds is over the limit until its count restarts (after maxSMTPipExpiration seconds,
/// or once a window passes with fewer connections). Each connection counts once, at its first MAIL FROM. Over the
/// limit it scores ifValencePB; in block mode the connection is refused "554 5.7.1 too frequent connections for
/// 'IP'" and closed. Exempt: outgoing mail, whitelisted and noprocessing mail, RWL-trusted IPs, ispip,
/// acceptAllMail, noPB, noDelay, noBlockingIPs and white-box IPs.
/// </summary>
public sealed class IpFrequencyCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoFrequencyIP", "[IPfrequency]", "ifValencePB");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.MailFrom;
    public int Order => 5;

    private sealed class Counter
    {
        public int Tries;
        public long WindowStart;
        public long CountStart;
    }

    // The counts live as long as the check (the proxy's lifetime), like ASSP's in-memory IPNumTries.
    private readonly ConcurrentDictionary<IPAddress, Counter> _counters = new();
    private const int PruneAbove = 10_000;
    private long _nextPrune;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        var ip = c.Mail.RemoteAddress;
        var mode = Check.ConfiguredMode(cfg);
        int max = cfg.GetInt("maxSMTPipConnects", 10);
        if (mode == CheckMode.Disabled || max <= 0 || st.Transparent || st.RelayOk) return Verdict.Pass;
        if (!c.Mail.CheckState.Done.Add(Check.Name)) return Verdict.Pass;
        if (st.IsWhitelisted || st.IsNoProcessing || st.RwlOk || st.IsIsp || st.NoPenaltyBox || st.PenaltyWhite || CheckHelpers.AcceptAll(c)) return Verdict.Pass;
        if (cfg.GetIpList("noPB").Contains(ip) || cfg.GetIpList("noDelay").Contains(ip) || cfg.GetIpList("noBlockingIPs").Contains(ip)) return Verdict.Pass;
        var engine = c.Engine;
        if (engine.IpReputation.BlackTotal(cfg, ip) is null || engine.IpReputation.IsWhite(cfg, ip)) return Verdict.Pass;

        int tries = Count(cfg, ip);
        if (tries <= max) return Verdict.Pass;

        bool testMode = mode == CheckMode.TestMode || (mode == CheckMode.Block && cfg.GetBool("allTestMode"));
        if (testMode) mode = CheckMode.Score;
        string tag = mode switch { CheckMode.Monitor => "[monitoring]", CheckMode.Score => testMode ? "[testmode]" : "[scoring]", _ => Check.Tag };
        var reason = $"'{ip}' passed limit({max}) of ip connection frequency";
        int sessionLog = cfg.GetChoice("SessionLog");
        if ((sessionLog >= 1 && tries == max + 1) || (sessionLog >= 2 && tries > max + 1)) c.Log($"{tag} {reason}");
        st.Prepend.Clear().Append(Check.Tag);
        if (mode != CheckMode.Monitor) engine.AddPenalty(cfg, st, ip, "ifValencePB", "IPfrequency", 0, c.Log);
        var outcome = mode switch { CheckMode.Monitor => "monitor", CheckMode.Score => testMode ? "testmode" : "score", _ => "block" };
        st.Reports.Add(new CheckReport(Check.Name, outcome, mode == CheckMode.Monitor ? 0 : cfg.GetValence("ifValencePB").Message, reason));
        if (mode != CheckMode.Block || cfg.GetBool("send250OK")) return Verdict.Pass;
        return Verdict.BlockAndClose($"554 5.7.1 too frequent connections for '{ip}'", reason);
    }

    /// <summary>Counts this connection and returns the IP's count (ASSP's IPNumTries with its two time stamps).</summary>
    private int Count(ConfigSnapshot cfg, IPAddress ip)
    {
        long now = services.Time.GetUtcNow().ToUnixTimeSeconds();
        int max = cfg.GetInt("maxSMTPipConnects", 10);
        long window = cfg.GetInt("maxSMTPipDuration", 90);
        long expiry = cfg.GetInt("maxSMTPipExpiration", 7200);
        // Old counts are dropped at most once a minute (a walk over every IP per connection would cost more than the check).
        if (_counters.Count > PruneAbove && now >= Interlocked.Read(ref _nextPrune))
        {
            Interlocked.Exchange(ref _nextPrune, now + 60);
            foreach (var (key, old) in _counters)
                lock (old)
                    if (now - old.CountStart > expiry || (now - old.WindowStart > window && old.Tries < max)) _counters.TryRemove(key, out _);
        }

        var counter = _counters.GetOrAdd(ip, _ => new Counter { WindowStart = now, CountStart = now });
        lock (counter)
        {
            counter.Tries++;
            if (counter.Tries > 1 && (now - counter.CountStart > expiry || (now - counter.WindowStart > window && counter.Tries < max)))
            {
                counter.Tries = 1;
                counter.WindowStart = now;
                counter.CountStart = now;
            }
            return counter.Tries;
        }
    }
}

/// <summary>
/// DoDamping: a client whose message score is high is slowed down: before each of its commands the proxy waits
/// until message score / DoDamping seconds (at most maxDampingTime) have passed since its previous command. It needs
/// DoPenalty and DoPenaltyMessage, and never applies to outgoing, ISP, whitelisted, noprocessing, redlisted, noPB or
/// white-box sessions. The SMTP engine waits asynchronously; no thread is held.
/// </summary>
public static class Damping
{
    public static TimeSpan DelayFor(IMailContext ctx)
    {
        var cfg = ctx.Config;
        int divisor = cfg.GetInt("DoDamping", 0);
        if (divisor <= 0 || cfg.GetChoice("DoPenalty") == 0 || cfg.GetChoice("DoPenaltyMessage") == 0) return TimeSpan.Zero;
        if (ctx.Class != ConnectionClass.External || ctx.IsAuthenticated) return TimeSpan.Zero;
        var st = ctx.CheckState.Message;
        if (st.RelayOk || st.IsIsp || st.IsWhitelisted || st.IsNoProcessing || st.IsRed || st.NoPenaltyBox || st.PenaltyWhite || st.Transparent)
            return TimeSpan.Zero;
        if (cfg.GetIpList("noPB").Contains(ctx.RemoteAddress)) return TimeSpan.Zero;
        int seconds = (int)(st.MessageScore / divisor);
        if (seconds <= 0) return TimeSpan.Zero;
        int cap = cfg.GetInt("maxDampingTime", 30);
        if (cap > 0) seconds = Math.Min(seconds, cap);
        return TimeSpan.FromSeconds(seconds);
    }
}
