using Assp.Auth.Spf;
using Assp.Mime.Uris;

namespace Assp.Auth.Dmarc;

/// <summary>
/// One DKIM signature as DMARC needs it: the signing domain (d=) and whether it verified. The DKIM verifier's
/// per-signature results map onto this (domain, status == pass).
/// </summary>
public readonly record struct DkimDomainResult(string Domain, bool Passed);

/// <summary>The DMARC verdict on a message (RFC 8601 names: none, pass, fail, temperror, permerror).</summary>
public enum DmarcResult { None, Pass, Fail, TempError, PermError }

/// <summary>
/// What DMARC concluded: the result, the record and the domain it came from, the alignment found, and the
/// policy to apply after p/sp and pct (<see cref="AppliedPolicy"/> is None on pass or without a record).
/// </summary>
public sealed record DmarcOutcome(
    DmarcResult Result,
    string FromDomain,
    string? PolicyDomain,
    DmarcRecord? Record,
    bool SpfAligned,
    bool DkimAligned,
    DmarcPolicy AppliedPolicy,
    DmarcPolicy PublishedPolicy,
    bool SampledOut,
    string? Problem)
{
    public string ResultText => Result.ToString().ToLowerInvariant();
}

/// <summary>
/// DMARC (RFC 7489): policy discovery at _dmarc.&lt;From domain&gt; and then at its organisational domain (the
/// Public Suffix List of Assp.Mime), identifier alignment of the SPF and DKIM results in relaxed or strict mode,
/// and the policy to apply (sp= for subdomains, pct= sampling).
/// </summary>
public sealed class DmarcEvaluator(ISpfDns dns, Func<int, int>? sampler = null)
{
    private readonly Func<int, int> _sample = sampler ?? (max => Random.Shared.Next(max));

    /// <summary>The organisational domain (6.6.3): the registrable domain by the Public Suffix List.</summary>
    public static string OrganizationalDomain(string domain)
    {
        var d = domain.Trim().TrimEnd('.').ToLowerInvariant();
        return PublicSuffixList.GetRegistrableDomain(d) ?? d;
    }

    /// <summary>Do two domains align: identical (strict) or sharing the organisational domain (relaxed)?</summary>
    public static bool Aligned(string fromDomain, string authDomain, DmarcAlignment mode)
    {
        var a = fromDomain.Trim().TrimEnd('.');
        var b = authDomain.Trim().TrimEnd('.');
        if (a.Length == 0 || b.Length == 0) return false;
        if (a.Equals(b, StringComparison.OrdinalIgnoreCase)) return true;
        return mode == DmarcAlignment.Relaxed
            && OrganizationalDomain(a).Equals(OrganizationalDomain(b), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Finds the policy record for a From domain: its own, else the organisational domain's.</summary>
    public async Task<(DmarcRecord? Record, string? PolicyDomain, DmarcResult Status, string? Problem)> DiscoverAsync(string fromDomain,
        CancellationToken cancellationToken = default)
    {
        var domain = fromDomain.Trim().TrimEnd('.').ToLowerInvariant();
        var (record, status, problem) = await LookupAsync(domain, cancellationToken).ConfigureAwait(false);
        if (record is not null || status == DmarcResult.TempError) return (record, record is null ? null : domain, status, problem);
        var org = OrganizationalDomain(domain);
        if (org.Equals(domain, StringComparison.Ordinal)) return (null, null, DmarcResult.None, problem);
        var (orgRecord, orgStatus, orgProblem) = await LookupAsync(org, cancellationToken).ConfigureAwait(false);
        return (orgRecord, orgRecord is null ? null : org, orgStatus, orgProblem ?? problem);
    }

    private async Task<(DmarcRecord?, DmarcResult, string?)> LookupAsync(string domain, CancellationToken ct)
    {
        var answer = await dns.GetTxtAsync("_dmarc." + domain, ct).ConfigureAwait(false);
        if (answer.IsError) return (null, DmarcResult.TempError, $"DNS error looking up _dmarc.{domain}");
        var candidates = answer.Records.Where(DmarcRecord.LooksLikeDmarc).ToList();
        // 6.6.3: none, or more than one, means no policy at this name.
        if (candidates.Count != 1)
            return (null, DmarcResult.None, candidates.Count > 1 ? $"more than one DMARC record at _dmarc.{domain}" : null);
        var record = DmarcRecord.Parse(candidates[0], out var problem);
        return (record, DmarcResult.None, problem is null ? null : $"_dmarc.{domain}: {problem}");
    }

    /// <summary>
    /// Evaluates a message: <paramref name="spfDomain"/> is the domain SPF checked (MAIL FROM, or HELO for a null
    /// sender) and <paramref name="spfPassed"/> whether it passed; <paramref name="dkim"/> are the DKIM signatures.
    /// </summary>
    public async Task<DmarcOutcome> EvaluateAsync(string fromDomain, string? spfDomain, bool spfPassed, IEnumerable<DkimDomainResult> dkim,
        CancellationToken cancellationToken = default)
    {
        var from = fromDomain.Trim().TrimEnd('.').ToLowerInvariant();
        var (record, policyDomain, status, problem) = await DiscoverAsync(from, cancellationToken).ConfigureAwait(false);
        if (record is null)
            return new DmarcOutcome(status, from, null, null, false, false, DmarcPolicy.None, DmarcPolicy.None, false, problem);
        bool spfAligned = spfPassed && spfDomain is not null && Aligned(from, spfDomain, record.SpfAlignment);
        bool dkimAligned = dkim.Any(s => s.Passed && Aligned(from, s.Domain, record.DkimAlignment));
        // sp= applies when the policy came from the organisational domain for a subdomain.
        var published = policyDomain is not null && !policyDomain.Equals(from, StringComparison.Ordinal) ? record.SubdomainPolicy : record.Policy;
        if (spfAligned || dkimAligned)
            return new DmarcOutcome(DmarcResult.Pass, from, policyDomain, record, spfAligned, dkimAligned, DmarcPolicy.None, published, false, null);
        var applied = published;
        bool sampledOut = false;
        if (record.Percent < 100 && applied != DmarcPolicy.None && _sample(100) >= record.Percent)
        {
            // 6.6.4: a message not sampled gets the next less strict policy.
            applied = applied == DmarcPolicy.Reject ? DmarcPolicy.Quarantine : DmarcPolicy.None;
            sampledOut = true;
        }
        return new DmarcOutcome(DmarcResult.Fail, from, policyDomain, record, false, false, applied, published, sampledOut, null);
    }
}
