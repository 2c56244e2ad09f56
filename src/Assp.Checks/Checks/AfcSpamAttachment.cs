using System.Globalization;
using Assp.Bayes;
using Assp.Checks.Decision;
using Assp.Mime;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP_AFCDetectSpamAttachRe (with DoASSP_AFC enabled): each MIME part of an incoming mail whose Content-Type matches
/// is looked up in spamdb by its key (<see cref="AttachmentHashes"/>) - the recipient's private entry first, then the
/// domain's, then the global one. A part known as spam (probability above baysProbability) refuses the mail, unless
/// an earlier AFC rule already replaced that part. As in ASSP_AFC this is not done for whitelisted, relayed or local
/// mail, nor for noprocessing mail (mail that is noprocessing only for its size is looked at).
/// </summary>
public sealed class AfcSpamAttachment(CheckServices services) : IMessageCheck
{
    /// <summary>The plugin's switch decides the mode (1 = block); the plugin has no valence of its own.</summary>
    public static readonly CheckDefinition Check = new("DoASSP_AFC", "[Attachment]", null, CollectOption: "extAttachLog");

    /// <summary>ASSP_AFC gives only the reason; as a reply it needs a code.</summary>
    public const string Reply = "554 5.7.1 spam attachment found";

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    /// <summary>After the attachment and virus checks, whose replacements take a part out of this check.</summary>
    public int Order => 520;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        if (cfg.GetChoice("DoASSP_AFC") != 1 || services.Store is not { } store) return Verdict.Pass;
        var types = cfg.GetRegex("ASSP_AFCDetectSpamAttachRe");
        double threshold = cfg.GetDecimal("baysProbability");
        if (types.Count == 0 || threshold <= 0 || st.RelayOk || c.Mail.IsOutgoing || st.IsWhitelisted) return Verdict.Pass;
        if (st.NoProcessing is { } np && !np.StartsWith("message size", StringComparison.Ordinal)) return Verdict.Pass;
        var msg = st.ReplacementMessage is { } changed ? MimeParser.Parse(changed) : st.Parsed;
        if (msg is null) return Verdict.Pass;
        var db = SpamDbProvider.For(store).Current;
        if (!db.HasBayes) return Verdict.Pass;
        var scope = PrivateScope.For(c.Mail.Recipients.FirstOrDefault(), cfg.GetChoice("DoPrivatSpamdb"));
        int logLevel = cfg.GetChoice("AttachmentLog");
        int bad = 0;
        foreach (var (part, key) in AttachmentHashes.Parts(msg, types.IsMatch))
        {
            // The matched text, as ASSP logs it; only looked for when a line is written.
            string Shown() => $"{types.Match(part.Headers.Get("Content-Type")?.UnfoldedValue) ?? part.MimeType} - {part.FileName ?? ""}";
            if (logLevel >= 2) c.Log($"info: spam attachment check ({Shown()})");
            double p = Probability(db, scope, key);
            if (p <= threshold) continue;
            bad++;
            if (logLevel >= 1)
                c.Log($"info: spam attachment ({Shown()}) found in MIME part - spam probability is {p.ToString("0.#####", CultureInfo.InvariantCulture)}");
        }
        if (bad == 0) return Verdict.Pass;
        return c.Engine.Hit(Check, cfg, st, c.Ip, "spam attachment found", c.Log, (0, 0), reply: Reply);
    }

    /// <summary>The first entry spamdb has for the key: private, domain, global (0 when none).</summary>
    private static double Probability(SpamDatabase db, PrivateScope scope, string key)
    {
        if (scope.User is { } user && db.Bayes.Get(TokenHash.Of(user + " " + key)) is var pu and > 0) return pu;
        if (scope.Domain is { } domain && db.Bayes.Get(TokenHash.Of(domain + " " + key)) is var pd and > 0) return pd;
        return db.Bayes.Get(TokenHash.Of(key));
    }
}
