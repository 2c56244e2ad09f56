using System.Globalization;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.EmailInterface;

/// <summary>
/// EmailAnalyze (and DoAdditionalAnalyze for spam/ham reports): each mail the request carries (attached mails,
/// else the request itself) runs through the offline analyzer, and the findings become the reply's lines. The
/// pipeline must be one that changes no database (a read-only analysis pipeline).
/// </summary>
public static class EmailAnalysis
{
    public static async Task<EmailOutcome> AnalyzeAsync(ICheckPipeline pipeline, ConfigSnapshot cfg, ReadOnlyMemory<byte> request, CancellationToken ct)
    {
        var lines = new List<string>();
        var report = MimeParser.Parse(request);
        var messages = EmailRequestText.ReportedMessages(report);
        int n = 0;
        foreach (var reported in messages)
        {
            n++;
            var bytes = reported.Source[reported.Start..reported.End].ToArray();
            var subject = reported.Subject ?? "";
            var result = await MessageAnalyzer.AnalyzeAsync(pipeline, cfg, bytes, $"message {n}", new AnalyzeEnvelope(), ct).ConfigureAwait(false);
            if (lines.Count > 0) lines.Add("");
            lines.Add($"Analysis of message {n} of {messages.Count}" + (subject.Length > 0 ? $" (Subject: {subject})" : ""));
            lines.AddRange(Format(result));
        }
        return new EmailOutcome(EmailCommand.Analyze, lines, []);
    }

    /// <summary>The analyzer's result as plain text lines.</summary>
    public static IEnumerable<string> Format(AnalysisResult r)
    {
        yield return $"  envelope: from <{r.From}> to {string.Join(", ", r.Recipients)} via {r.Ip}" + (r.Helo is null ? "" : $" (HELO {r.Helo})");
        if (r.Classes.Count > 0) yield return "  classes: " + string.Join("; ", r.Classes);
        foreach (var c in r.Checks)
            yield return $"  {c.Check}: {c.Outcome}, score {DecisionEngine.Num(c.Score)}" + (c.Reason.Length > 0 ? $" - {c.Reason}" : "");
        foreach (var s in r.Scores.Where(s => !r.Checks.Any(c => c.Reason == s.Reason)))
            yield return $"  {s.Check}: score {DecisionEngine.Num(s.MessageScore)} - {s.Reason}";
        foreach (var v in r.Statistics)
        {
            yield return $"  {v.Filter}: spam probability {P(v.Probability)}, confidence {P(v.Confidence)}, {v.Results} database values";
            foreach (var t in v.TopTokens.Take(10)) yield return $"    {t.Token} {P(t.Probability)}";
        }
        yield return $"  message score {DecisionEngine.Num(r.MessageScore)}: {r.Decision.ToUpperInvariant()}"
            + (r.RefusedAt is null ? "" : $" at {r.RefusedAt}") + (r.Reply is null ? "" : $" - {r.Reply}");
        if (r.SubjectPrefix.Length > 0) yield return $"  subject tag: {r.SubjectPrefix}";
        foreach (var h in r.Headers) yield return "  " + h;
        yield return $"  collect: {r.Collect}";
    }

    private static string P(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
