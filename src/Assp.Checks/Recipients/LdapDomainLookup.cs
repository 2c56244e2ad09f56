using System.Collections.Concurrent;
using Assp.Config;

namespace Assp.Checks.Recipients;

/// <summary>
/// ldLDAP: a domain missing from localDomains is still local when the directory knows it. The ldaplistdb cache is
/// asked first ("@domain" entries, as ASSP keeps them; they stay while mail comes in and the cross-check confirms
/// them); then, with ldLDAP on, ldLDAPFilter is searched under ldLDAPRoot (LDAPRoot when empty), DOMAIN standing for
/// the domain in both. A domain the directory confirmed is cached in ldaplistdb; one it denied is not asked again
/// for five minutes. A directory that cannot be asked never makes a domain local: ASSP answers "local" then (unless
/// LDAPFail), which turns the proxy into an open relay for every domain while LDAP is down; here the relay rules win.
/// </summary>
public sealed class LdapDomainLookup(LdapListCache? cache, TimeProvider clock, LdapLookup? ldap = null)
{
    private static readonly TimeSpan NotFoundMemory = TimeSpan.FromMinutes(5);
    private readonly LdapLookup _ldap = ldap ?? new LdapLookup();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _notFound = new(StringComparer.Ordinal);

    public static string CacheKey(string domain) => "@" + domain.Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>localDomains (with myName/defaultLocalHost), then the cache and ldLDAP.</summary>
    public async ValueTask<bool> IsLocalAsync(ConfigSnapshot cfg, string domain, CancellationToken ct)
    {
        domain = domain.Trim().TrimEnd('.').ToLowerInvariant();
        if (domain.Length == 0 || domain.StartsWith('[')) return false;
        if (LocalDomains.For(cfg).IsLocal(domain)) return true;
        if (CacheFor(cfg) is { } c && c.Find(cfg, CacheKey(domain))) return true;
        if (!cfg.GetBool("ldLDAP")) return false;
        if (_notFound.TryGetValue(domain, out var since))
        {
            if (clock.GetUtcNow() - since < NotFoundMemory) return false;
            _notFound.TryRemove(domain, out _);
        }
        var r = await QueryAsync(cfg, domain, ct).ConfigureAwait(false);
        switch (r.Outcome)
        {
            case LookupOutcome.Found:
                CacheFor(cfg)?.Add(CacheKey(domain));
                _notFound.TryRemove(domain, out _);
                return true;
            case LookupOutcome.NotFound:
                _notFound[domain] = clock.GetUtcNow();
                return false;
            default:
                // Deliberately stricter than ASSP (see above): relaying is refused until the directory answers again.
                return false;
        }
    }

    /// <summary>The directory search alone (no lists, no cache); the cross-check uses it for "@domain" entries.</summary>
    public Task<LookupResult> QueryAsync(ConfigSnapshot cfg, string domain, CancellationToken ct)
    {
        var filter = cfg["ldLDAPFilter"].Trim();
        var root = cfg["ldLDAPRoot"].Trim() is { Length: > 0 } own ? own : cfg["LDAPRoot"].Trim();
        if (filter.Length == 0 || root.Length == 0) return Task.FromResult(LookupResult.Error("ldLDAPFilter or ldLDAPRoot/LDAPRoot is empty"));
        return _ldap.SearchAsync(cfg, root.Replace("DOMAIN", domain, StringComparison.Ordinal),
            filter.Replace("DOMAIN", LdapLookup.Escape(domain), StringComparison.Ordinal), ct);
    }

    private LdapListCache? CacheFor(ConfigSnapshot cfg) => cfg["ldaplistdb"].Trim().Length > 0 ? cache : null;
}
