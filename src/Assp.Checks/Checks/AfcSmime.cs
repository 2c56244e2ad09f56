using System.Text;
using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Mime;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP_AFCSMIME (with DoASSP_AFC enabled): relayed mail whose envelope sender has a rule in the file (and whose first
/// recipient the rule's rcpt= allows) is S/MIME signed with the rule's certificate and key, when it is not signed
/// already and is all 7-bit. When the certificate is for another address (a corporate certificate) From: gets that
/// address, Reply-To: the original From: (when there is none), and References: "&lt;assp-corp-smime-sender&gt;".
/// An incoming reply whose References: carries such a tag for a local address gets that address added to To:.
/// Runs last among the body checks: nothing may change the mail after it is signed.
/// </summary>
public sealed class AfcSmime : IMessageCheck
{
    public static readonly CheckDefinition Check = new(SmimeRules.Option, "[SMIME]", null, RunsOnOutgoing: true);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 990;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static readonly Regex s_address = new(@"[^\s<>""@,;:()\[\]]+@[^\s<>""@,;:()\[\]]+", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    private static readonly Regex s_replyTag = new(@"assp-corp-smime-([^\s<>""@,;:()\[\]]+@[^\s<>""@,;:()\[\]]+)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        if (cfg.GetChoice("DoASSP_AFC") != 1 || cfg[SmimeRules.Option].Trim().Length == 0) return Verdict.Pass;
        var rules = SmimeRules.For(cfg);
        if (cfg.Derived("Checks.SmimeProblemsLogged", _ => new StrongBox()) is { } logged && Interlocked.Exchange(ref logged.Done, 1) == 0)
            foreach (var p in rules.Problems) c.Log("warning: " + p);
        if (rules.Rules.Count == 0) return Verdict.Pass;
        var source = st.ReplacementMessage ?? st.Parsed?.Source.ToArray();
        if (source is null) return Verdict.Pass;
        var text = Encoding.Latin1.GetString(source);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var header = split < 0 ? text.EndsWith("\r\n", StringComparison.Ordinal) ? text : text + "\r\n" : text[..(split + 2)];
        var body = split < 0 ? "" : text[(split + 4)..];
        var first = c.Mail.Recipients.Count > 0 ? c.Mail.Recipients[0] : null;
        bool relayed = st.RelayOk || c.Mail.IsOutgoing;

        if (!relayed)
        {
            ReplyToCorporateAddress(c, rules, header, body);
            return Verdict.Pass;
        }
        var msg = st.ReplacementMessage is { } changed ? MimeParser.Parse(changed) : st.Parsed!;
        if (IsSigned(msg)) return Verdict.Pass;
        if (rules.ForSender(c.Mail.MailFrom) is not { } rule || !rule.AllowsRecipient(first)) return Verdict.Pass;
        if (source.Any(b => b >= 0x80))
        {
            c.Log("info: no SMIME signature - the mail is not 7-bit clean");
            return Verdict.Pass;
        }

        var fields = SmimeSigner.Fields(header).ToList();
        int fromIndex = fields.FindIndex(f => f.StartsWith("From:", StringComparison.OrdinalIgnoreCase));
        var from = fromIndex >= 0 ? fields[fromIndex][5..].Trim() : "";
        var newFrom = from;
        if (fromIndex >= 0 && s_address.Match(from) is { Success: true } sender)
        {
            if (!sender.Value.Equals(rule.EmailAddress, StringComparison.OrdinalIgnoreCase))
                newFrom = from[..sender.Index] + rule.EmailAddress + from[(sender.Index + sender.Length)..];
            fields[fromIndex] = "From: " + newFrom + "\r\n";
            if (!fields.Any(f => f.StartsWith("Reply-To:", StringComparison.OrdinalIgnoreCase)))
                fields.Insert(fromIndex + 1, "Reply-To: " + from + "\r\n");
            if (!newFrom.Equals(from, StringComparison.OrdinalIgnoreCase))
            {
                var tag = $"<assp-corp-smime-{sender.Value}>";
                int refIndex = fields.FindIndex(f => f.StartsWith("References:", StringComparison.OrdinalIgnoreCase));
                if (refIndex < 0) fields.Add("References: " + tag + "\r\n");
                else if (!fields[refIndex].Contains(tag, StringComparison.OrdinalIgnoreCase)) fields[refIndex] = fields[refIndex].TrimEnd('\r', '\n') + "\r\n " + tag + "\r\n";
            }
        }
        try
        {
            st.ReplacementMessage = SmimeSigner.Sign(rule.Certificate, string.Concat(fields), body, c.Services.Time.GetUtcNow());
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            c.Log($"warning: unable to add SMIME signature - {ex.Message}");
            return Verdict.Pass;
        }
        c.Log($"info: added SMIME signature for '{newFrom}'");
        return Verdict.Pass;
    }

    /// <summary>An incoming mail with our corporate-signing tag in References: for a local address: that address is
    /// added to To: (a client that ignored Reply-To: answered the certificate's address).</summary>
    private static void ReplyToCorporateAddress(CheckContext c, SmimeRules rules, string header, string body)
    {
        var fields = SmimeSigner.Fields(header).ToList();
        var references = fields.FirstOrDefault(f => f.StartsWith("References:", StringComparison.OrdinalIgnoreCase));
        if (references is null || s_replyTag.Match(references) is not { Success: true } m) return;
        var address = m.Groups[1].Value;
        var domain = address[(address.LastIndexOf('@') + 1)..];
        if (!LocalDomains.For(c.Config).IsLocal(domain) || rules.IsExcluded(c.Mail.MailFrom)) return;
        int toIndex = fields.FindIndex(f => f.StartsWith("To:", StringComparison.OrdinalIgnoreCase));
        if (toIndex >= 0 && fields[toIndex].Contains(address, StringComparison.OrdinalIgnoreCase)) return;
        if (toIndex < 0) fields.Add($"To: <{address}>\r\n");
        else fields[toIndex] = fields[toIndex].TrimEnd('\r', '\n') + $",\r\n <{address}>\r\n";
        c.State.ReplacementMessage = Encoding.Latin1.GetBytes(string.Concat(fields) + "\r\n" + body);
        c.Log($"info: mail from {c.Mail.MailFrom} in reply to SMIME signed mail found - added recipient {address}");
    }

    /// <summary>Signed or encrypted already (multipart/signed, a PKCS#7 or PGP signature part, an encrypted body).</summary>
    private static bool IsSigned(MimeMessage msg) =>
        msg.Entities.Any(e => e.MimeType is "multipart/signed" or "multipart/encrypted" or "application/pkcs7-mime" or "application/x-pkcs7-mime"
            or "application/pkcs7-signature" or "application/x-pkcs7-signature" or "application/pgp-signature");

    private sealed class StrongBox
    {
        public int Done;
    }
}
