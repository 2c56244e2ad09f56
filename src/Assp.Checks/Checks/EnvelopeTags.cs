using Assp.Auth.Batv;
using Assp.Auth.Srs;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// The envelope tags of outgoing mail and their checks on the bounces that come back:
/// SRS (EnableSRS, SRSAliasDomain, SRSSecretKey, SRSTimestampMaxAge, SRSHashLength, SRSno, noSRS) rewrites the
/// sender of relayed mail from foreign domains and reverses valid SRS bounce addresses, refusing forged or expired
/// ones with "551 5.7.6 invalid SRS signature"; BATV (DoBATV, BATVSec, removeBATVTag, remindBATVTag,
/// noBackSctrAddresses, noBackSctrIP, BackWL, BackNP, batvValencePB, BackLog) tags the sender of outgoing mail with
/// prvs= and checks that bounces to local users carry a valid tag. The SMTP engine calls these through
/// <see cref="ICheckPipeline"/>; the rewritten addresses are what the MTA sees.
/// </summary>
public static class EnvelopeTags
{
    public const string BatvReply = "554 5.7.10 BATV error - bounce address - message was never sent by this domain - RCPT RCPTADDR";
    public const string RemindTable = "BATVTag";

    /// <summary>BATV as a check: its drop-down has block, monitor, score and test mode.</summary>
    public static readonly CheckDefinition Batv = new("DoBATV", "[BATV]", "batvValencePB", WhitelistSwitch: "BackWL",
        NoProcessingSwitch: "BackNP", CollectOption: "BackLog");

    internal static SrsRewriter? Srs(ConfigSnapshot cfg, TimeProvider clock)
    {
        if (!cfg.GetBool("EnableSRS")) return null;
        var secret = cfg["SRSSecretKey"];
        if (secret.Trim().Length == 0) return null;
        return new SrsRewriter(secret, cfg.GetInt("SRSTimestampMaxAge", 2), cfg.GetInt("SRSHashLength", 6), clock);
    }

    internal static BatvTagger? Tagger(ConfigSnapshot cfg, TimeProvider clock)
    {
        var secrets = cfg.Derived("batv-secrets", c => TagSecret.ParseList(c.GetListEntries("BATVSec").Select(e => e.Text)));
        return secrets.Count == 0 ? null : new BatvTagger(secrets, clock);
    }

    private static bool IsLocal(ConfigSnapshot cfg, string address)
    {
        int at = address.LastIndexOf('@');
        return at > 0 && LocalDomains.For(cfg).IsLocal(address[(at + 1)..]);
    }

    /// <summary>The envelope sender as it goes on to the MTA (MAIL FROM passed the checks).</summary>
    public static string Sender(IMailContext ctx, CheckServices services, string sender)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        if (sender.Length == 0) return sender;
        string result = sender;
        if (st.RelayOk && !st.IsBounce)
        {
            // SRS: relayed mail from a foreign sender (forwarding) gets a return path in our alias domain.
            if (!IsLocal(cfg, sender) && !cfg.GetAddressList("SRSno").Contains(sender) && Srs(cfg, services.Time) is { } srs)
            {
                bool ours = true;
                try { srs.Reverse(sender); } catch (SrsException) { ours = false; }
                if (!ours)
                {
                    try
                    {
                        result = srs.Forward(sender, cfg["SRSAliasDomain"].Trim());
                        ctx.Log($"SRS rewriting sender '{sender}' into '{result}'");
                    }
                    catch (SrsException e)
                    {
                        ctx.Log($"SRS rewriting sender '{sender}' failed: {e.Message}");
                    }
                }
            }
            // BATV: our own senders' bounces must come back with our tag.
            else if (Batv.ConfiguredMode(cfg) != CheckMode.Disabled && !BatvTagger.IsTagged(sender)
                && !cfg.GetAddressList("noBackSctrAddresses").Contains(sender) && Tagger(cfg, services.Time) is { } batv
                && batv.Tag(sender) is { } tagged)
            {
                result = tagged;
                if (cfg.GetChoice("BATVLog") >= 1) ctx.Log($"info : changed sender from {sender} to {tagged}");
            }
        }
        else if (!st.RelayOk && BatvTagger.IsTagged(sender))
        {
            var plain = BatvTagger.RemoveTag(sender);
            if (cfg.GetBool("remindBATVTag") && services.Store is { } store)
                store.Table(RemindTable).Set(plain.ToLowerInvariant(), sender);   // for our MTA's bounces to this sender
            if (cfg.GetBool("removeBATVTag"))
            {
                result = plain;
                if (cfg.GetChoice("BATVLog") >= 2) ctx.Log($"BATV-Tag removed from sender address {sender}");
            }
        }
        st.UpstreamMailFrom = result == sender ? null : result;
        return result;
    }

    /// <summary>
    /// A recipient before the RCPT checks: our SRS or BATV tag taken off (the address the checks and the MTA see),
    /// or a refusal for a forged one.
    /// </summary>
    public static (string Address, Verdict Verdict) Recipient(IMailContext ctx, DecisionEngine engine, CheckServices services, string rcpt)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        st.UpstreamRecipient = null;
        if (st.RelayOk) return (RemindedTag(ctx, services, rcpt), Verdict.Pass);

        var address = rcpt;
        if (Srs(cfg, services.Time) is { } srs)
        {
            if (SrsRewriter.IsSrs(rcpt))
            {
                string? failed = null;
                try
                {
                    address = srs.Reverse(rcpt);
                    if (SrsRewriter.IsSrs(address))
                    {
                        // SRS1 gave an SRS0 address: ours when its domain is local, otherwise another forwarder's.
                        try { address = srs.Reverse(address); }
                        catch (SrsException e) when (!IsLocal(cfg, address)) { _ = e; }
                    }
                }
                catch (SrsException e)
                {
                    failed = e.Message;
                }
                if (failed is not null && !st.IsIsp && !cfg.GetIpList("noSRS").Contains(ctx.RemoteAddress))
                {
                    var reason = $"invalid SRS signature: {failed}";
                    ctx.Log(reason);
                    st.Prepend.Clear().Append("[RelayAttempt]");
                    engine.AddPenalty(cfg, st, ctx.RemoteAddress, "rlValencePB", reason, 0, ctx.Log);
                    return (rcpt, Verdict.Block("551 5.7.6 " + reason, reason));
                }
                if (failed is null)
                {
                    ctx.Log($"info: SRS - replace {rcpt} with {address}");
                    st.IsBounce = true;
                    st.BounceTagValid = true;
                }
            }
            else if (st.IsBounce) st.InvalidSrsBounce = true;
        }

        var verdict = Verdict.Pass;
        if (BatvTagger.IsTagged(address) || (st.IsBounce && !st.BounceTagValid))
        {
            (address, verdict) = CheckBatv(ctx, engine, services, address);
            verdict = DecisionEngine.OkForIspBounce(cfg, st, verdict, ctx.Log);
        }
        if (!address.Equals(rcpt, StringComparison.Ordinal)) st.UpstreamRecipient = address;
        return (address, verdict);
    }

    private static (string, Verdict) CheckBatv(IMailContext ctx, DecisionEngine engine, CheckServices services, string rcpt)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        var plain = BatvTagger.RemoveTag(rcpt);
        var stripped = cfg.GetBool("removeBATVTag") ? plain : rcpt;
        var mode = Batv.ConfiguredMode(cfg);
        if (mode == CheckMode.Disabled || !st.IsBounce || !DecisionEngine.Applies(Batv, cfg, st)
            || cfg.GetIpList("noBackSctrIP").Contains(ctx.RemoteAddress)
            || cfg.GetAddressList("noBackSctrAddresses").Contains(plain) || cfg.GetAddressList("noBackSctrAddresses").Contains(ctx.MailFrom ?? "")
            || Tagger(cfg, services.Time) is not { } batv)
            return (stripped, Verdict.Pass);
        var status = batv.Validate(rcpt, out var original);
        if (status == BatvStatus.UnknownGeneration)
        {
            ctx.Log($"warning: no BATV secret key found in config for the generation in {rcpt} - key was maybe deleted from configuration");
            return (stripped, Verdict.Pass);
        }
        if (status == BatvStatus.Valid)
        {
            if (cfg.GetChoice("BATVLog") >= 1) ctx.Log($"BATV-check pass for bounce sender <{ctx.MailFrom}> rcpt {rcpt}");
            st.BounceTagValid = mode != CheckMode.TestMode;
            return (original, Verdict.Pass);   // our own tag: the MTA gets the plain address
        }
        var reason = status switch
        {
            BatvStatus.NotTagged => $"BATV check failed for bounce sender <{ctx.MailFrom}> rcpt {rcpt} (no BATV tag)",
            BatvStatus.Expired => $"BATV check failed for bounce sender <{ctx.MailFrom}> rcpt {rcpt} (expired tag)",
            _ => $"BATV check failed for bounce sender <{ctx.MailFrom}> rcpt {rcpt} (garbled tag)",
        };
        if (mode == CheckMode.TestMode)
        {
            ctx.Log($"[testmode] {reason}");
            return (stripped, Verdict.Pass);
        }
        if (cfg.GetChoice("BATVLog") >= 1 && mode != CheckMode.Monitor) ctx.Log(reason);
        engine.IpReputation.DeleteWhite(cfg, ctx.RemoteAddress);
        var verdict = engine.Hit(Batv, cfg, st, ctx.RemoteAddress, reason, ctx.Log, done: true,
            reply: BatvReply.Replace("RCPTADDR", rcpt, StringComparison.Ordinal));
        return (stripped, verdict);
    }

    /// <summary>remindBATVTag: an outgoing bounce to a sender whose foreign tag we saw gets that tag back (at most 7 days old).</summary>
    private static string RemindedTag(IMailContext ctx, CheckServices services, string rcpt)
    {
        var cfg = ctx.Config;
        var st = ctx.CheckState.Message;
        if (!cfg.GetBool("remindBATVTag") || !st.IsBounce || services.Store is not { } store) return rcpt;
        var table = store.Table(RemindTable);
        if (!table.TryGet(rcpt.ToLowerInvariant(), out var record)) return rcpt;
        if (services.Time.GetUtcNow().ToUnixTimeSeconds() - record.Updated > 7 * 86400)
        {
            table.Remove(rcpt.ToLowerInvariant());
            return rcpt;
        }
        if (cfg.GetChoice("BATVLog") >= 2) ctx.Log($"reminded BATV-Tag {record.Value} for recipient {rcpt}");
        st.UpstreamRecipient = record.Value;
        return record.Value;
    }
}
