using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Recipients;

public enum AddressStatus
{
    /// <summary>The address exists (or nothing is configured to say otherwise).</summary>
    Valid,
    /// <summary>The address does not exist.</summary>
    Invalid,
    /// <summary>Nobody could tell right now (LDAP down with LDAPFail on, the MTA answered 4xx): try later.</summary>
    TempFail,
}

public readonly record struct AddressValidation(AddressStatus Status, string Source, string Detail = "");

/// <summary>
/// Is this address at a local domain a real mailbox? ASSP's order: the ldaplistdb cache, LocalAddresses_Flat
/// (@domain, bare domains with LocalAddresses_Flat_Domains, the address), then LDAP (DoLDAP) and the VRFY callout
/// (DoVRFY, for domains with an MTA in localDomains/LocalAddresses_Flat) — LDAP first, VRFY as its fallback.
/// Addresses LDAP or VRFY confirm go into the cache. A lookup that fails (server down) counts as valid unless
/// LDAPFail is on; then it is a temporary failure. Subaddresses (SepChar) are checked without their tag.
/// </summary>
public sealed class LocalAddressValidator(LdapListCache? cache, LdapLookup? ldap = null, SmtpVerifier? vrfy = null, TimeProvider? clock = null)
{
    private readonly LdapLookup _ldap = ldap ?? new LdapLookup();
    private readonly SmtpVerifier _vrfy = vrfy ?? new SmtpVerifier();
    public LdapListCache? Cache { get; } = cache;
    /// <summary>Is a domain local (localDomains, else ldLDAP)? Shares the ldaplistdb cache.</summary>
    public LdapDomainLookup Domains { get; } = new(cache, clock ?? TimeProvider.System, ldap);

    public static LocalAddressValidator For(Assp.Checks.Decision.CheckServices services) =>
        new(services.Store is { } store ? new LdapListCache(store.Table(StoreTables.LdapList), services.Time) : null, clock: services.Time);

    public ValueTask<bool> IsLocalDomainAsync(ConfigSnapshot cfg, string domain, CancellationToken ct) => Domains.IsLocalAsync(cfg, domain, ct);

    /// <summary>Does any option validate local addresses (LocalAddresses_Flat, DoLDAP, or DoVRFY with an MTA map)?</summary>
    public static bool Configured(ConfigSnapshot cfg) =>
        LocalAddressLists.For(cfg).Flat.Count > 0 || cfg.GetBool("DoLDAP") || (cfg.GetBool("DoVRFY") && LocalAddressLists.For(cfg).HasVrfyRoutes);

    public async Task<AddressValidation> ValidateAsync(ConfigSnapshot cfg, string address, CancellationToken ct)
    {
        if (!Configured(cfg)) return new(AddressStatus.Valid, "unchecked");
        var uh = LocalAddressLists.WithoutSubaddress(cfg, address.Trim().Trim('<', '>'));
        if (CacheFor(cfg) is { } cache && cache.Find(cfg, uh)) return new(AddressStatus.Valid, "ldapcache");
        if (LocalAddressLists.FlatContains(cfg, uh)) return new(AddressStatus.Valid, "LocalAddresses_Flat");
        return await LookupAsync(cfg, uh, ct).ConfigureAwait(false);
    }

    /// <summary>Asks LDAP and/or the VRFY MTA (no cache, no lists): the cross-check uses it too.</summary>
    public async Task<AddressValidation> LookupAsync(ConfigSnapshot cfg, string uh, CancellationToken ct)
    {
        int at = uh.LastIndexOf('@');
        var domain = at >= 0 ? uh[(at + 1)..] : "";
        var hosts = cfg.GetBool("DoVRFY") ? LocalAddressLists.For(cfg).VrfyHostsFor(domain) : null;
        bool doLdap = cfg.GetBool("DoLDAP");
        if (!doLdap && hosts is null) return new(AddressStatus.Invalid, "LocalAddresses_Flat");

        LookupResult? failure = null;
        if (doLdap)
        {
            var r = await _ldap.FindAddressAsync(cfg, uh, ct).ConfigureAwait(false);
            if (r.Outcome == LookupOutcome.Found) return Confirmed(cfg, uh, "LDAP", r.Detail);
            if (hosts is null)
                return r.Outcome == LookupOutcome.NotFound ? new(AddressStatus.Invalid, "LDAP", r.Detail) : Failed(cfg, "LDAP", r.Detail);
            if (r.Outcome != LookupOutcome.NotFound) failure = r;
        }
        var v = await _vrfy.VerifyAsync(cfg, uh, hosts!, ct).ConfigureAwait(false);
        return v.Outcome switch
        {
            LookupOutcome.Found => Confirmed(cfg, uh, "VRFY", v.Detail),
            LookupOutcome.NotFound => new(AddressStatus.Invalid, "VRFY", v.Detail),
            LookupOutcome.TempFail => new(AddressStatus.TempFail, "VRFY", v.Detail),
            _ => Failed(cfg, failure is null ? "VRFY" : "LDAP and VRFY", failure is { } f ? f.Detail + "; " + v.Detail : v.Detail),
        };
    }

    /// <summary>
    /// The LDAP/VRFY cross-check (LDAPcrossCheckInterval): entries idle for MaxLDAPlistDays go, so do addresses whose
    /// domain is no longer local (localDomains or ldLDAP) and those LDAP/VRFY now deny; "@domain" entries of ldLDAP go when the
    /// directory no longer knows the domain. Entries a failing lookup cannot decide stay.
    /// </summary>
    public async Task<(int Expired, int Removed, int Kept)> CrossCheckAsync(ConfigSnapshot cfg, CancellationToken ct)
    {
        if (CacheFor(cfg) is not { } cache) return (0, 0, 0);
        int expired = cache.RemoveExpired(cfg), removed = 0, kept = 0;
        var local = LocalDomains.For(cfg);
        foreach (var (key, _) in cache.Table.Scan())
        {
            ct.ThrowIfCancellationRequested();
            int at = key.LastIndexOf('@');
            bool gone = at switch
            {
                < 0 => true,
                // "@domain": a domain ldLDAP found; it stays while the directory still knows it (or localDomains lists it).
                0 => !local.IsLocal(key[1..]) && (!cfg.GetBool("ldLDAP")
                    || (await Domains.QueryAsync(cfg, key[1..], ct).ConfigureAwait(false)).Outcome == LookupOutcome.NotFound),
                _ => !await Domains.IsLocalAsync(cfg, key[(at + 1)..], ct).ConfigureAwait(false)
                    || (await LookupAsync(cfg, key, ct).ConfigureAwait(false)) is { Status: AddressStatus.Invalid },
            };
            if (gone && cache.Remove(key)) removed++;
            else kept++;
        }
        return (expired, removed, kept);
    }

    /// <summary>The cache, unless ldaplistdb is emptied (then ASSP keeps no verified addresses).</summary>
    private LdapListCache? CacheFor(ConfigSnapshot cfg) => cfg["ldaplistdb"].Trim().Length > 0 ? Cache : null;

    private AddressValidation Confirmed(ConfigSnapshot cfg, string uh, string source, string detail)
    {
        CacheFor(cfg)?.Add(uh);
        return new(AddressStatus.Valid, source, detail);
    }

    /// <summary>LDAPFail ("LDAP/VRFY failures return false"): on, nobody is accepted while lookups fail (temporarily); off, everybody.</summary>
    private static AddressValidation Failed(ConfigSnapshot cfg, string source, string detail) =>
        cfg.GetBool("LDAPFail") ? new(AddressStatus.TempFail, source, "lookup failed: " + detail) : new(AddressStatus.Valid, source, "lookup failed: " + detail);
}
