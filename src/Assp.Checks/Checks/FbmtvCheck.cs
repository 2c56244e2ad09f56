using System.Text;
using Assp.Auth.Batv;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// FBMTV (DoMSGIDsig): outgoing mail gets its Message-ID tagged (MSGIDpreTag, MSGIDSec; not for noRedMSGIDsig
/// redlisted mail, only for MSGIDsigAddresses senders when set, not when noMSGIDsigRe matches or the addresses are in
/// noBackSctrAddresses). Incoming mail loses our tags from its header again; a reply carrying a valid tag is treated
/// per MSGIDsigProc (whitelisted and/or noprocessing); a bounce without one (unless BATV or SRS already proved it)
/// is backscatter: fbmtvValencePB, "554 5.7.8 Bounce address - message was never sent by this domain" in block mode,
/// BackLog collection, noBackSctrIP/noBackSctrAddresses/noBackSctrRe/MSGIDsigAddresses exemptions, BackWL/BackNP.
/// </summary>
public sealed class FbmtvCheck(CheckServices services) : IMessageCheck
{
    public const string Reply = "554 5.7.8 Bounce address - message was never sent by this domain";

    public static readonly CheckDefinition Fbmtv = new("DoMSGIDsig", "[MSGID-sig]", "fbmtvValencePB", WhitelistSwitch: "BackWL",
        NoProcessingSwitch: "BackNP", CollectOption: "BackLog", RunsOnOutgoing: true);

    public CheckDefinition Definition => Fbmtv;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 5;

    internal static MessageIdTagger? Tagger(ConfigSnapshot cfg, TimeProvider clock)
    {
        var pre = cfg["MSGIDpreTag"].Trim();
        if (pre.Length is < 2 or > 5 || !pre.All(char.IsAsciiLetterOrDigit)) return null;
        var secrets = cfg.Derived("msgid-secrets", c => TagSecret.ParseList(c.GetListEntries("MSGIDSec").Select(e => e.Text)));
        return secrets.Count == 0 ? null : new MessageIdTagger(pre, secrets, clock);
    }

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var cfg = context.Config;
        var st = context.State;
        var mode = Fbmtv.ConfiguredMode(cfg);
        if (mode == CheckMode.Disabled || st.Transparent || Tagger(cfg, services.Time) is not { } tagger) return ValueTask.FromResult(Verdict.Pass);
        var text = Head(context);
        return ValueTask.FromResult(st.RelayOk ? TagOutgoing(context, tagger, text)
            : DecisionEngine.OkForIspBounce(cfg, st, CheckIncoming(context, tagger, text, mode), context.Log));
    }

    /// <summary>The start of the message that ASSP's content options look at: the header and MaxBytes of the rest.</summary>
    private static string Head(CheckContext context)
    {
        using var stream = context.Mail.OpenMessage();
        if (stream is null) return "";
        int max = Math.Max(context.Config.GetInt("MaxBytes", 4000), 0) + 64 * 1024;
        var buffer = new byte[(int)Math.Min(max, Math.Max(context.Mail.MessageSize, 0))];
        int read = 0, n;
        while (read < buffer.Length && (n = stream.Read(buffer, read, buffer.Length - read)) > 0) read += n;
        return Encoding.Latin1.GetString(buffer, 0, read);
    }

    /// <summary>Tags the Message-ID of an outgoing message (the pipeline calls this for relayed mail).</summary>
    public static void TagOutgoing(CheckContext context)
    {
        if (Fbmtv.ConfiguredMode(context.Config) == CheckMode.Disabled || context.State.Transparent
            || Tagger(context.Config, context.Services.Time) is not { } tagger) return;
        TagOutgoing(context, tagger, Head(context));
    }

    private static Verdict TagOutgoing(CheckContext context, MessageIdTagger tagger, string text)
    {
        var cfg = context.Config;
        var st = context.State;
        var from = context.Mail.MailFrom ?? "";
        if (cfg.GetBool("noRedMSGIDsig") && st.IsRed) return Verdict.Pass;
        if (cfg.GetListEntries("MSGIDsigAddresses").Count > 0 && !cfg.GetAddressList("MSGIDsigAddresses").Contains(from)) return Verdict.Pass;
        var noBack = cfg.GetAddressList("noBackSctrAddresses");
        if (noBack.Contains(from) || context.Mail.Recipients.Any(noBack.Contains)) return Verdict.Pass;
        if (cfg.GetRegex("noMSGIDsigRe").Match(text) is { } noSig)
        {
            RegexMatchNote.Record(context.Mail, "noMSGIDsigRe", noSig, "no MSGID signing");
            return Verdict.Pass;
        }
        if (st.Parsed?.Headers.Get("Message-ID")?.UnfoldedValue is not { } raw) return Verdict.Pass;
        int open = raw.IndexOf('<'), close = raw.IndexOf('>', open + 1);
        if (open < 0 || close < 0) return Verdict.Pass;
        var id = raw[(open + 1)..close];
        if (id.StartsWith(tagger.PreTag + ".", StringComparison.Ordinal) || st.HeaderReplacements.Any(r => r.Find == "<" + id + ">")
            || tagger.Tag(id) is not { } tagged) return Verdict.Pass;
        st.HeaderReplacements.Add(("<" + id + ">", "<" + tagged + ">"));
        if (cfg.GetChoice("MSGIDsigLog") >= 2) context.Log($"info: added MSGID signature '{tagged[..^id.Length]}' to header");
        return Verdict.Pass;
    }

    private static Verdict CheckIncoming(CheckContext context, MessageIdTagger tagger, string text, CheckMode mode)
    {
        var cfg = context.Config;
        var st = context.State;
        var tags = tagger.Find(text).ToList();
        foreach (var tag in tags.Where(t => t.Valid).Select(t => t.TagText).Distinct())
            st.HeaderReplacements.Add((tag, ""));          // the original references come back
        bool valid = tags.Any(t => t.Valid);
        if (!st.IsBounce)
        {
            if (valid)
            {
                // A reply to our own mail: MSGIDsigProc 1 whitelists, 2 noprocessing, 3 both.
                int proc = cfg.GetChoice("MSGIDsigProc");
                if ((proc & 1) != 0) st.Whitelisted ??= "valid MSGID signature";
                if ((proc & 2) != 0) st.NoProcessing ??= "valid MSGID signature";
                if (cfg.GetChoice("MSGIDsigLog") >= 2) context.Log("info: found valid MSGID signature in a reply");
            }
            return Verdict.Pass;
        }
        if (st.BounceTagValid || !context.Applies(Fbmtv) || cfg.GetIpList("noBackSctrIP").Contains(context.Mail.RemoteAddress)) return Verdict.Pass;
        var rcpt = context.Mail.Recipients.Count > 0 ? context.Mail.Recipients[0] : "";
        if (cfg.GetListEntries("MSGIDsigAddresses").Count > 0 && !cfg.GetAddressList("MSGIDsigAddresses").Contains(rcpt)) return Verdict.Pass;
        var noBack = cfg.GetAddressList("noBackSctrAddresses");
        if (noBack.Contains(rcpt) || noBack.Contains(context.Mail.MailFrom ?? "")) return Verdict.Pass;
        if (cfg.GetRegex("noBackSctrRe").Match(text) is { } noBackMatch)
        {
            RegexMatchNote.Record(context.Mail, "noBackSctrRe", noBackMatch, "nobackscatter");
            return Verdict.Pass;
        }
        if (valid)
        {
            if (cfg.GetChoice("MSGIDsigLog") >= 2) context.Log("MSGID signing OK for bounce message");
            return Verdict.Pass;
        }
        var reason = $"MSGID-sig check failed for bounce sender {context.Mail.MailFrom}";
        if (mode is CheckMode.Monitor or CheckMode.TestMode)
        {
            if (cfg.GetChoice("MSGIDsigLog") >= 1) context.Log($"[{(mode == CheckMode.Monitor ? "monitoring" : "testmode")}] {reason}");
            return Verdict.Pass;
        }
        context.Engine.IpReputation.DeleteWhite(cfg, context.Ip);
        return context.Engine.Hit(Fbmtv, cfg, st, context.Ip, reason, context.Log, reply: Reply);
    }
}
