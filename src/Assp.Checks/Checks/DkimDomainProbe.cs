using Assp.Auth.Dmarc;
using Assp.Dns;

namespace Assp.Checks.Checks;

/// <summary>
/// The DNS half of ASSP's DKIM pre-check (DKIMCacheInterval): does a sender domain publish DKIM keys? It looks for the
/// "_domainkey" name at the organisational domain and at each level down to the sender domain. The name exists
/// (with records of its own, or as the parent of selector records: NOERROR without data, RFC 8020) when the domain
/// has keys. A wildcard could make any name look present, so a made-up sibling name is asked as a control: only when
/// that one does not exist, or answers differently, does "_domainkey" count. DNS errors never count.
/// </summary>
public static class DkimDomainProbe
{
    private const string ControlLabel = "_assp-no-dkim-probe";

    public static async Task<bool> PublishesKeysAsync(DnsResolver dns, string domain, CancellationToken ct)
    {
        var d = domain.Trim().TrimEnd('.').ToLowerInvariant();
        if (d.Length == 0 || !d.Contains('.')) return false;
        var org = DmarcEvaluator.OrganizationalDomain(d);
        var levels = new List<string> { org };
        if (d.Length > org.Length && d.EndsWith("." + org, StringComparison.Ordinal))
        {
            var labels = d[..^(org.Length + 1)].Split('.');
            for (int i = labels.Length - 1; i >= 0; i--) levels.Add(string.Join('.', labels[i..]) + "." + org);
        }
        foreach (var level in levels)
        {
            var keys = await dns.QueryAsync("_domainkey." + level, DnsRecordType.TXT, ct).ConfigureAwait(false);
            if (keys.Status is not (DnsStatus.Success or DnsStatus.NoData)) continue;
            var control = await dns.QueryAsync(ControlLabel + "." + level, DnsRecordType.TXT, ct).ConfigureAwait(false);
            if (control.Status == DnsStatus.NxDomain) return true;
            // A wildcard answers the control with TXT but left "_domainkey" without: it exists in the zone itself.
            if (control.Status == DnsStatus.Success && keys.Status == DnsStatus.NoData) return true;
            if (control.Status == DnsStatus.Success && keys.Status == DnsStatus.Success
                && !keys.Texts.Order(StringComparer.Ordinal).SequenceEqual(control.Texts.Order(StringComparer.Ordinal))) return true;
        }
        return false;
    }
}
