using Assp.Auth.Arc;
using Assp.Auth.Dkim;
using Assp.Checks.Decision;

namespace Assp.Checks.Checks;

/// <summary>
/// ASSP's ARC validation (DoARC) of incoming mail: records the chain result for the DKIM check and DMARC
/// (<see cref="MessageState.Arc"/>) and adds it to X-Original-Authentication-Results. Never refuses by itself; a
/// passing chain sealed by a host matching trustedAuthForwarders makes its recorded results trusted.
/// </summary>
public sealed class ArcCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Arc = new("DoARC", "[ARC]", null);

    public CheckDefinition Definition => Arc;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 5;

    public async ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var st = context.State;
        if (services.Dns is not { } dns || st.Parsed is not { } parsed || !context.Applies(Arc)) return Verdict.Pass;
        var result = await new ArcValidator(new Assp.Auth.Spf.DnsResolverSpfDns(dns.Resolver))
            .ValidateAsync(DkimMessage.FromMime(parsed), cancellationToken).ConfigureAwait(false);
        st.Arc = result;
        if (result.Status == ArcChainStatus.None) return Verdict.Pass;
        context.Log($"ARC {result.Name} (i={result.Instances}{(result.SealDomain.Length > 0 ? ", sealed by " + result.SealDomain : "")}){(result.Reason.Length > 0 ? " - " + result.Reason : "")}");
        DkimCheck.AddOriginalAuthenticationResult(context, "arc", result.Name);
        return Verdict.Pass;
    }

    /// <summary>A passing chain whose newest seal (d=) matches trustedAuthForwarders: its recorded results are trusted.</summary>
    public static bool IsTrusted(CheckContext context, ArcResult? arc) =>
        arc is { Status: ArcChainStatus.Pass } && context.Config.GetRegex("trustedAuthForwarders").Match(arc.SealDomain) is not null;

    /// <summary>The result a trusted chain recorded for a method ("dkim", "spf", "dmarc"), e.g. "pass"; null if none.</summary>
    public static string? RecordedResult(ArcResult arc, string method)
    {
        foreach (var part in arc.AuthenticationResults.Split(';'))
        {
            var p = part.Trim();
            if (!p.StartsWith(method + "=", StringComparison.OrdinalIgnoreCase)) continue;
            var value = p[(method.Length + 1)..];
            int end = value.IndexOfAny([' ', '\t', '(']);
            return (end < 0 ? value : value[..end]).ToLowerInvariant();
        }
        return null;
    }
}

/// <summary>
/// ASSP's DKIM validation (DoDKIM) of incoming mail over the whole message: every DKIM and DomainKeys signature is
/// verified (<see cref="MessageState.Dkim"/> keeps the DKIM ones for DMARC; DomainKeys count for the verdict only). A failure scores dkimValencePB, or refuses with
/// SenderInvalidError in block mode; a signature whose key is in testing (t=y) only logs. Without DoStrictDKIM a
/// signature whose header hash verifies but whose body changed on the way passes as "suspicious-OK". A pass earns
/// dkimOkValencePB, counts like an RWL hit and clears the IP's PenaltyBox entry; its identity (i=) may make the mail
/// whitelisted (DKIMWLAddresses) or noprocessing (DKIMNPAddresses). noDKIMAddresses and noDKIMIP exempt mail;
/// AddDKIMHeader adds X-Assp-DKIM. With DKIMCacheInterval (days) the envelope sender domain of a passing mail is
/// remembered, and a later unsigned mail from it within the interval fails as a domain mismatch; an unsigned mail from a
/// domain not (or no longer) in the cache fails the same way when DNS shows the domain publishes DKIM keys
/// (<see cref="DkimDomainProbe"/>), and the domain is cached. A passing ARC chain sealed by a trustedAuthForwarders host that recorded
/// dkim=pass stands in for a signature broken in forwarding.
/// </summary>
public sealed class DkimCheck(CheckServices services) : IMessageCheck
{
    public static readonly CheckDefinition Dkim = new("DoDKIM", "[DKIM]", "dkimValencePB",
        TestModeOption: "dkimTestMode", CollectOption: "DKIMLog", ReplyOption: "SenderInvalidError");

    public CheckDefinition Definition => Dkim;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 10;

    public async ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var cfg = context.Config;
        var st = context.State;
        var ip = context.Ip;
        if (services.Dns is not { } dns || st.Parsed is not { } parsed || !context.Applies(Dkim) || st.IsBounce) return Verdict.Pass;
        var from = context.Mail.MailFrom ?? "";
        var exempt = cfg.GetAddressList("noDKIMAddresses");
        if ((from.Length > 0 && exempt.Contains(from)) || context.Mail.Recipients.Any(exempt.Contains)) return Verdict.Pass;
        if (cfg.GetIpList("noDKIMIP").Contains(ip)) return Verdict.Pass;

        var message = DkimMessage.FromMime(parsed);
        var keys = new Assp.Auth.Spf.DnsResolverSpfDns(dns.Resolver);
        var dkimOnly = await new DkimVerifier(keys).VerifyAsync(message, cancellationToken).ConfigureAwait(false);
        var domainKeys = await new DomainKeysVerifier(keys).VerifyAsync(message, cancellationToken).ConfigureAwait(false);
        st.Dkim = dkimOnly;
        // DMARC aligns the From domain with the d= of the DKIM signatures that verified (never DomainKeys).
        st.DkimResults = [.. dkimOnly.Signatures.Select(s => new Assp.Auth.Dmarc.DkimDomainResult(s.Domain, s.Status == DkimStatus.Pass))];
        // ASSP's verifier (Mail::DKIM) judges DKIM and DomainKeys signatures together; so does the verdict here.
        var result = domainKeys.Signatures.Count == 0 ? dkimOnly : new DkimResult([.. dkimOnly.Signatures, .. domainKeys.Signatures]);

        var passed = result.Signatures.FirstOrDefault(s => s.Status == DkimStatus.Pass);
        string verified;
        if (passed is null && !cfg.GetBool("DoStrictDKIM")
            && result.Signatures.FirstOrDefault(s => s.Status == DkimStatus.Fail && s.Reason == "body hash did not verify") is { } altered)
        {
            // Only the body digest differs: a hop changed the body. ASSP lets that pass unless DoStrictDKIM.
            passed = altered;
            verified = "body altered - header passed - suspicious-OK";
        }
        else
        {
            verified = result.Overall switch
            {
                DkimStatus.Pass => "verified-OK",
                DkimStatus.None => "no-signature",
                DkimStatus.Fail => "failed",
                _ => "invalid-signature",
            };
        }
        if (passed is null && result.Overall != DkimStatus.None && ArcCheck.IsTrusted(context, st.Arc) && ArcCheck.RecordedResult(st.Arc!, "dkim") == "pass")
        {
            verified = $"trusted ARC result of {st.Arc!.SealDomain}";
            passed = result.Signatures[0];
        }
        AddOriginalAuthenticationResult(context, "dkim", passed is { DomainKeys: false } ? "pass" : DkimResult.Name(dkimOnly.Overall));
        if (domainKeys.Signatures.Count > 0) AddOriginalAuthenticationResult(context, "domainkeys", DkimResult.Name(domainKeys.Overall));

        if (passed is not null)
        {
            if (cfg.GetBool("AddDKIMHeader")) st.SetHeader("X-Assp-DKIM", verified);
            context.Log($"{(passed.DomainKeys ? "DomainKeys" : "DKIM")} signature {verified} - d={passed.Domain} s={passed.Selector} i={passed.Identity}");
            st.RwlOk = true;
            context.Engine.AddPenalty(cfg, st, ip, "dkimOkValencePB", "DKIM pass", 1, context.Log);
            if (!st.RelayOk)
            {
                st.NoPenaltyBox = true;
                context.Engine.IpReputation.DeleteBlack(cfg, ip);
            }
            if (CacheTable(cfg) is { } cache && SenderDomain(from) is { } signing) cache.Set(signing, "1", services.Time.GetUtcNow().ToUnixTimeSeconds());
            var rcpt = context.Mail.Recipients.Count > 0 ? context.Mail.Recipients[0] : null;
            foreach (var sig in result.Signatures.Where(s => s.Status == DkimStatus.Pass))
            {
                var identity = sig.Identity.StartsWith('@') ? sig.Domain : sig.Identity;
                if (st.Whitelisted is null && cfg.GetDomainList("DKIMWLAddresses").Matches(identity, rcpt)) st.Whitelisted = $"DKIMWLAddresses '{identity}'";
                if (st.NoProcessing is null && cfg.GetDomainList("DKIMNPAddresses").Matches(identity, rcpt)) st.NoProcessing = $"DKIMNPAddresses '{identity}'";
            }
            return Verdict.Pass;
        }
        if (cfg.GetBool("AddDKIMHeader")) st.SetHeader("X-Assp-DKIM", verified);
        if (result.Overall == DkimStatus.None)
        {
            // DKIMCacheInterval: a domain that signed before, or that publishes DKIM keys, must sign.
            if (CacheTable(cfg) is { } cache && SenderDomain(from) is { } domain)
            {
                string? mismatch = null;
                if (cache.TryGet(domain, out var seen))
                {
                    var age = services.Time.GetUtcNow().ToUnixTimeSeconds() - seen.Updated;
                    if (age <= cfg.GetDecimal("DKIMCacheInterval") * 86400)
                        mismatch = $"DKIM domain mismatch - {domain} found in DKIMCache, but no DKIM-Signature found in mail header";
                    else cache.Remove(domain);
                }
                if (mismatch is null && await DkimDomainProbe.PublishesKeysAsync(dns.Resolver, domain, cancellationToken).ConfigureAwait(false))
                {
                    cache.Set(domain, "1", services.Time.GetUtcNow().ToUnixTimeSeconds());
                    mismatch = $"DKIM domain mismatch - DKIM config found in DNS for {domain}, but no DKIM-Signature found in mail header";
                }
                if (mismatch is not null)
                {
                    if (cfg.GetBool("AddDKIMHeader")) st.SetHeader("X-Assp-DKIM", "failed");
                    return context.Engine.Hit(Dkim, cfg, st, ip, mismatch, context.Log,
                        reply: cfg["SenderInvalidError"].Replace("REASON", mismatch, StringComparison.Ordinal));
                }
            }
            context.Log("DKIM signature not found");
            return Verdict.Pass;
        }
        var failed = result.Signatures.FirstOrDefault(s => s.Status == DkimStatus.Fail);
        if (failed is null)
        {
            // permerror, temperror, neutral: ASSP counts these as invalid signatures and does not score them.
            var why = result.Signatures[0];
            context.Log($"DKIM signature invalid - {why.ResultName}: {why.Reason} (d={why.Domain})");
            return Verdict.Pass;
        }
        if (failed.Testing)
        {
            context.Log($"DKIM signature failed - but the key is in test mode (t=y) - {failed.Reason} (d={failed.Domain})");
            return Verdict.Pass;
        }
        var reason = $"DKIM fail";
        context.Log($"{(failed.DomainKeys ? "DomainKeys" : "DKIM")} signature failed - {failed.Reason} (d={failed.Domain} s={failed.Selector})");
        var reply = cfg["SenderInvalidError"].Replace("REASON", reason, StringComparison.Ordinal);
        return context.Engine.Hit(Dkim, cfg, st, ip, reason, context.Log, reply: reply);
    }

    /// <summary>The DKIM pre-check cache (domains seen signing), when DKIMCacheInterval is on and there is a store.</summary>
    private Assp.Storage.IStoreTable? CacheTable(Assp.Config.ConfigSnapshot cfg) =>
        cfg.GetDecimal("DKIMCacheInterval") > 0 && services.Store is { } store ? store.Table("DKIMCache") : null;

    private static string? SenderDomain(string from)
    {
        int at = from.LastIndexOf('@');
        return at > 0 && at < from.Length - 1 ? from[(at + 1)..].ToLowerInvariant() : null;
    }

    /// <summary>Adds "method=result" to X-Original-Authentication-Results ("myName; dkim=pass arc=none"), as ASSP writes it.</summary>
    internal static void AddOriginalAuthenticationResult(CheckContext context, string method, string result)
    {
        const string name = "X-Original-Authentication-Results";
        var st = context.State;
        var existing = st.Headers.FirstOrDefault(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));
        var value = existing is null ? $"{context.Config["myName"]};" : existing[(name.Length + 1)..].Trim();
        var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(p => !p.StartsWith(method + "=", StringComparison.OrdinalIgnoreCase));
        st.SetHeader(name, string.Join(' ', parts.Append($"{method}={result}")));
    }
}
