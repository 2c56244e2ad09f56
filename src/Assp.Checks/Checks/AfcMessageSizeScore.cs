using System.Globalization;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP_AFCMSGSIZEscore (with DoASSP_AFC enabled): "size=>score,..." pairs; taken from the highest size down, the
/// first size the mail reaches adds its score to the message score (not to the IP; a score of 0 ends the search with
/// nothing added). As in ASSP_AFC it applies to incoming mail that is neither whitelisted nor noprocessing - mail
/// that is noprocessing only because of its size (npSize) still counts.
/// </summary>
public sealed class AfcMessageSizeScore : IMessageCheck
{
    public static readonly CheckDefinition Check = new("ASSP_AFCMSGSIZEscore", "[messageSize]", null);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 90;

    public ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var st = c.State;
        if (cfg.GetChoice("DoASSP_AFC") != 1 || st.RelayOk || c.Mail.IsOutgoing || st.IsWhitelisted) return ValueTask.FromResult(Verdict.Pass);
        // npSize marks big mail noprocessing with this reason; any other noprocessing reason exempts the mail.
        if (st.NoProcessing is { } np && !np.StartsWith("message size", StringComparison.Ordinal)) return ValueTask.FromResult(Verdict.Pass);
        var steps = Steps(cfg);
        if (steps.Count == 0) return ValueTask.FromResult(Verdict.Pass);
        long size = c.Mail.MessageSize;
        foreach (var (from, score) in steps)
        {
            if (size < from) continue;
            if (score != 0)
                c.Engine.AddPenalty(cfg, st, c.Ip, score, 0, $"SIZE:{size.ToString(CultureInfo.InvariantCulture)}(>{from.ToString(CultureInfo.InvariantCulture)})",
                    status: 1, c.Log, Check.Name);
            break;
        }
        return ValueTask.FromResult(Verdict.Pass);
    }

    /// <summary>The pairs of the option, highest size first (the registry rule has already refused a malformed value).</summary>
    public static IReadOnlyList<(long Size, int Score)> Steps(ConfigSnapshot cfg) =>
        cfg.Derived("Checks.AfcMessageSizeScore", c =>
        {
            var steps = new List<(long Size, int Score)>();
            foreach (var pair in c["ASSP_AFCMSGSIZEscore"].Replace(" ", "", StringComparison.Ordinal).Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = pair.Split("=>");
                if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
                    && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var score))
                    steps.Add((from, score));
            }
            return (IReadOnlyList<(long, int)>)steps.OrderByDescending(s => s.Size).ToList();
        });
}
