using System.Net;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.Decision;

/// <summary>The envelope to analyze a stored message with; what is not given is taken from the message.</summary>
public sealed record AnalyzeEnvelope(IPAddress? Ip = null, string? Helo = null, string? From = null, IReadOnlyList<string>? Recipients = null,
    bool Outgoing = false);

/// <summary>What the analyzer found for one message.</summary>
public sealed record AnalysisResult(
    string Source,
    string Ip,
    string? Helo,
    string From,
    IReadOnlyList<string> Recipients,
    string Decision,
    string? Reply,
    string? RefusedAt,
    double MessageScore,
    IReadOnlyList<CheckReport> Checks,
    IReadOnlyList<ScoreEntry> Scores,
    IReadOnlyList<string> Classes,
    IReadOnlyList<string> Headers,
    string SubjectPrefix,
    string Collect,
    IReadOnlyList<string> Log)
{
    /// <summary>The Bayesian and HMM verdicts with their most significant tokens (what made the probability).</summary>
    public IReadOnlyList<StatisticalVerdict> Statistics { get; init; } = [];
}

/// <summary>One statistical filter's result for the analyzer: its probability, confidence and top tokens.</summary>
public sealed record StatisticalVerdict(string Filter, double Probability, double Confidence, int Results, IReadOnlyList<Assp.Bayes.TokenScore> TopTokens);

/// <summary>
/// Runs a stored message through every check that works offline, as if it arrived now, without changing any
/// database (the engine must be built over read-only reputation views). The engine of `assp analyze` and the
/// GUI's Mail Analyzer.
/// </summary>
public static class MessageAnalyzer
{
    /// <summary>How many of a statistical filter's tokens the analyzer shows.</summary>
    public const int TopTokens = 20;

    public static async Task<AnalysisResult> AnalyzeAsync(ICheckPipeline pipeline, ConfigSnapshot cfg, byte[] message, string source,
        AnalyzeEnvelope envelope, CancellationToken ct = default)
    {
        var parsed = MimeParser.Parse(message);
        var ip = envelope.Ip ?? OriginIp(parsed) ?? IPAddress.Any;
        var from = envelope.From ?? ReturnPath(parsed) ?? parsed.From.FirstOrDefault()?.Address ?? "";
        var rcpts = envelope.Recipients is { Count: > 0 } r ? r
            : [.. parsed.To.Concat(parsed.Cc).Select(m => m.Address).Distinct(StringComparer.OrdinalIgnoreCase)];
        if (rcpts.Count == 0) rcpts = ["postmaster@localhost"];
        var ctx = new AnalyzeContext(cfg, ip, message)
        {
            Helo = envelope.Helo,
            Class = envelope.Outgoing ? ConnectionClass.Relay : ConnectionClass.External,
        };

        string? refusedAt = null;
        Verdict verdict = Verdict.Pass;
        async Task<bool> Phase(SmtpPhase phase, string name)
        {
            verdict = await pipeline.RunAsync(phase, ctx, ct).ConfigureAwait(false);
            if (verdict.Refuses) refusedAt = name;
            return verdict.Refuses;
        }

        if (!await Phase(SmtpPhase.Connect, "connect") && !await Phase(SmtpPhase.Helo, "helo"))
        {
            ctx.MailFrom = from;
            if (!await Phase(SmtpPhase.MailFrom, "mail from"))
            {
                Verdict lastRcptRefusal = Verdict.Pass;
                foreach (var rcpt in rcpts)
                {
                    ctx.RecipientList.Add(rcpt);
                    var v = await pipeline.RunAsync(SmtpPhase.RcptTo, ctx, ct).ConfigureAwait(false);
                    if (v.Refuses)
                    {
                        ctx.Log($"recipient {rcpt} refused: {v.Reply}");
                        ctx.RecipientList.RemoveAt(ctx.RecipientList.Count - 1);
                        lastRcptRefusal = v;
                    }
                }
                if (ctx.RecipientList.Count == 0)
                {
                    verdict = lastRcptRefusal;
                    refusedAt = "rcpt to";
                }
                else
                {
                    // The statistical checks keep their top tokens for the report.
                    ctx.CheckState.Message.Statistics.Explain = true;
                    if (!await Phase(SmtpPhase.DataHeader, "header"))
                        await Phase(SmtpPhase.DataBody, "body");
                }
            }
        }

        var st = ctx.CheckState.Message;
        var classes = new List<string>();
        if (st.RelayOk) classes.Add("outgoing");
        if (st.Whitelisted is { } w) classes.Add("whitelisted: " + w);
        if (st.NoProcessing is { } n) classes.Add("noprocessing: " + n);
        if (st.Red is { } red) classes.Add("redlisted: " + red);
        if (st.SpamLover != 0 && (st.SpamLover & 1) != 0) classes.Add(st.SpamLover == 3 ? "spam lover (SpamLoversRe)" : "spam lover");
        if (st.AllHaters) classes.Add("spam haters");
        if (st.Transparent) classes.Add("transparent");
        if (st.IsBounce) classes.Add("bounce");
        string decision = verdict.Refuses ? (verdict.Kind == VerdictKind.TempFail ? "tempfail" : verdict.Kind == VerdictKind.Drop ? "drop" : "block")
            : st.SpamFound ? "tag" : "pass";
        var collect = st.Collect is { } c && c != CollectTarget.None ? $"{DecisionEngine.CollectFolderOption(c)} ({(int)c})" : "none";
        var statistics = new List<StatisticalVerdict>();
        if (st.Statistics.Hmm is { } hmm) statistics.Add(new StatisticalVerdict("HMM", hmm.Probability, hmm.Confidence, hmm.Results, [.. hmm.Tokens.Take(TopTokens)]));
        if (st.Statistics.Bayes is { } bayes)
            statistics.Add(new StatisticalVerdict("Bayesian", bayes.Probability, bayes.Confidence, bayes.Results, [.. bayes.Tokens.Take(TopTokens)]));
        return new AnalysisResult(source, ip.ToString(), envelope.Helo, from, rcpts, decision, verdict.Refuses ? verdict.Reply : null, refusedAt,
            st.MessageScore, [.. st.Reports], [.. st.Scores], classes, [.. st.Headers], st.SubjectPrefix, collect, [.. ctx.LogLines])
        { Statistics = statistics };
    }

    /// <summary>The sending host's IP: the first public address in the Received chain, newest first.</summary>
    private static IPAddress? OriginIp(MimeMessage msg)
    {
        foreach (var h in msg.Headers.GetAll("Received"))
        {
            var received = ReceivedHeader.Parse(h.UnfoldedValue);
            if (received.FromIp is { } ip && !DecisionEngine.IsPrivate(ip)) return ip;
        }
        return null;
    }

    private static string? ReturnPath(MimeMessage msg)
    {
        var value = msg.Headers["Return-Path"];
        if (value is null) return null;
        var trimmed = value.Trim().Trim('<', '>').Trim();
        return trimmed;
    }

    private sealed class AnalyzeContext(ConfigSnapshot cfg, IPAddress ip, byte[] message) : IMailContext
    {
        public ConfigSnapshot Config => cfg;
        public string SessionId => "analyze";
        public IPAddress RemoteAddress => ip;
        public IPAddress LocalAddress => IPAddress.Loopback;
        public int LocalPort => 25;
        public ConnectionClass Class { get; init; }
        public bool IsAuthenticated => false;
        public bool IsTls => false;
        public string? Helo { get; init; }
        public string? MailFrom { get; set; }
        public List<string> RecipientList { get; } = [];
        public IReadOnlyList<string> Recipients => RecipientList;
        public bool IsOutgoing => Class != ConnectionClass.External;
        public Stream? OpenMessage() => new MemoryStream(message, writable: false);
        public long MessageSize => message.Length;
        public CheckSession CheckState { get; } = new();
        public bool Delivered => false;
        public List<string> LogLines { get; } = [];
        public void Log(string line) => LogLines.Add(line);
    }
}
