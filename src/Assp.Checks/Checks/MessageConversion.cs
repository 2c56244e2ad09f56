using System.Text;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Mime;
using Assp.Mime.Conversion;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP's charset and TNEF conversions, done on the message as it is about to be forwarded (after every other body
/// check, on an earlier change such as a replaced attachment): inChrSetConv and doInFixTNEF/keepInTNEF for mail that
/// is not relayed, outChrSetConv and doOutFixTNEF/keepOutTNEF for relayed mail. Not done for noprocessing mail unless
/// convertNP, for DKIM-signed mail unless doDKIMConv, for S/MIME or PGP signed or encrypted mail, nor for mail larger
/// than neverQueueSize. ConvLog sets how much the maillog says; TNEFDEBUG adds what was read from the TNEF data.
/// </summary>
public sealed class MessageConversion : IMessageCheck
{
    public static readonly CheckDefinition Check = new("inChrSetConv", "[Conversion]", null, RunsOnOutgoing: true);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 950;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    /// <summary>The conversions configured for one direction.</summary>
    private sealed record Settings(CharsetMap Charsets, bool Tnef, bool KeepTnef, IReadOnlyList<string> Problems)
    {
        public bool Any => !Charsets.IsEmpty || Tnef;
    }

    private static Settings For(ConfigSnapshot cfg, bool relayed) => cfg.Derived(relayed ? "Checks.Conversion.out" : "Checks.Conversion.in", c =>
    {
        var option = relayed ? "outChrSetConv" : "inChrSetConv";
        var problems = new List<string>();
        var map = CharsetMap.Parse(c.GetListEntries(option).Select(e => e.Text), problems);
        return new Settings(map, c.GetBool(relayed ? "doOutFixTNEF" : "doInFixTNEF"), c.GetBool(relayed ? "keepOutTNEF" : "keepInTNEF"),
            problems.Select(p => $"{option}: {p} - the rule is not used").ToList());
    });

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        bool relayed = st.RelayOk || c.Mail.IsOutgoing;
        var settings = For(cfg, relayed);
        if (!settings.Any) return Verdict.Pass;
        int convLog = cfg.GetChoice("ConvLog");
        bool debug = cfg.GetBool("TNEFDEBUG");
        foreach (var p in settings.Problems) if (debug || convLog >= 2) c.Log("warning: " + p);

        long neverQueue = cfg.GetLong("neverQueueSize");
        if (neverQueue > 0 && c.Mail.MessageSize > neverQueue)
        {
            c.Log($"info: message is too large ( > neverQueueSize {neverQueue} byte) to be queued for further internal processing! Skipping charset conversion.");
            return Verdict.Pass;
        }
        var msg = st.ReplacementMessage is { } changed ? MimeParser.Parse(changed) : st.Parsed;
        if (msg is null) return Verdict.Pass;
        if (st.IsNoProcessing && !cfg.GetBool("convertNP"))
        {
            if (debug || convLog >= 2) c.Log("info: no MIME/TNEF conversion for noprocessing mail (convertNP is off)");
            return Verdict.Pass;
        }
        if (!cfg.GetBool("doDKIMConv") && (msg.Headers.Contains("DKIM-Signature") || msg.Headers.Contains("DomainKey-Signature")))
        {
            if (debug || convLog >= 2) c.Log("info: no MIME/TNEF conversion for DKIM-signed mail (doDKIMConv is off)");
            return Verdict.Pass;
        }
        if (IsSigned(msg))
        {
            if (debug || convLog >= 2) c.Log("info: no MIME/TNEF conversion for a signed or encrypted mail");
            return Verdict.Pass;
        }

        ConversionResult result;
        try
        {
            result = MessageConverter.Convert(msg, new ConversionOptions { Charsets = settings.Charsets, ConvertTnef = settings.Tnef, KeepTnef = settings.KeepTnef });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or IndexOutOfRangeException or DecoderFallbackException)
        {
            // As ASSP: a conversion that fails sends the mail unconverted.
            if (convLog >= 1) c.Log($"info: charset conversion aborted - the unconverted mail is processed - {ex.Message}");
            return Verdict.Pass;
        }
        if (debug) foreach (var line in result.Debug) c.Log("debug: " + line);
        if (convLog >= 1) foreach (var line in result.Log) c.Log(line);
        if (result.Message is null)
        {
            if (debug || convLog >= 2) c.Log("info: no MIME/TNEF conversion done");
            return Verdict.Pass;
        }
        st.ReplacementMessage = result.Message;
        if (convLog >= 1) c.Log($"info: MIME/TNEF conversion successful ({(relayed ? "outgoing" : "incoming")} mail, {msg.Source.Length} -> {result.Message.Length} bytes)");
        return Verdict.Pass;
    }

    /// <summary>S/MIME or PGP signed or encrypted content: changing a byte would break it (ASSP leaves such mail alone).</summary>
    private static bool IsSigned(MimeMessage msg) => msg.Entities.Any(e => e.MimeType is "multipart/signed" or "multipart/encrypted"
        or "application/pkcs7-mime" or "application/x-pkcs7-mime" or "application/pkcs7-signature" or "application/x-pkcs7-signature"
        or "application/pgp-signature" or "application/pgp-encrypted");
}
