namespace Assp.Auth.Dkim;

/// <summary>The outcome of one DKIM-Signature, with the names RFC 8601 uses in Authentication-Results.</summary>
public enum DkimStatus
{
    /// <summary>The message carries no DKIM-Signature header (only used for <see cref="DkimResult.Overall"/>).</summary>
    None,
    /// <summary>Header and body hashes verified against the published key.</summary>
    Pass,
    /// <summary>The signature or the body hash did not verify.</summary>
    Fail,
    /// <summary>The signature could not be judged but nothing is known to be wrong (e.g. an algorithm we do not implement).</summary>
    Neutral,
    /// <summary>The key could not be fetched now (DNS trouble); a later try may succeed.</summary>
    TempError,
    /// <summary>The signature or the key record is malformed, missing, revoked or expired.</summary>
    PermError,
    /// <summary>The signature verified but local policy refuses it (e.g. l= covering only part of the body, a short RSA key).</summary>
    Policy,
}

/// <summary>
/// The result of one DKIM-Signature header. <see cref="Domain"/> (d=) is what DMARC aligns with the From domain;
/// only signatures with <see cref="Status"/> <see cref="DkimStatus.Pass"/> count for alignment.
/// </summary>
/// <param name="Status">The verdict.</param>
/// <param name="Domain">The signing domain (d=), lower case; empty when the header was too broken to name one.</param>
/// <param name="Selector">The selector (s=), or empty.</param>
/// <param name="Identity">The agent or user identifier (i=), defaulting to "@" + d= as RFC 6376 3.5 says.</param>
/// <param name="Algorithm">The a= tag as written (e.g. rsa-sha256, ed25519-sha256), or empty.</param>
/// <param name="Reason">A short human reason (e.g. "body hash did not verify", "key revoked"); empty on pass.</param>
/// <param name="HeaderB">The first characters of b= (RFC 6008 header.b), for telling signatures apart in reports.</param>
/// <param name="Testing">The key record carries t=y: the domain is testing DKIM, verifiers should not treat failures harshly.</param>
/// <param name="SignedHeaders">The header names listed in h=, lower case, in order.</param>
/// <param name="BodyOnlyPartlySigned">l= was present and shorter than the body (content was appended after signing).</param>
public sealed record DkimSignatureResult(
    DkimStatus Status,
    string Domain,
    string Selector,
    string Identity,
    string Algorithm,
    string Reason,
    string HeaderB,
    bool Testing,
    IReadOnlyList<string> SignedHeaders,
    bool BodyOnlyPartlySigned)
{
    /// <summary>RFC 8601 method result name (pass, fail, neutral, temperror, permerror, policy).</summary>
    public string ResultName => DkimResult.Name(Status);

    /// <summary>A DomainKey-Signature (RFC 4870) rather than a DKIM-Signature: it never counts for DMARC.</summary>
    public bool DomainKeys { get; init; }
}

/// <summary>All signatures of one message, in header order (topmost first).</summary>
public sealed record DkimResult(IReadOnlyList<DkimSignatureResult> Signatures)
{
    public static readonly DkimResult NoSignatures = new([]);

    /// <summary>
    /// One verdict for the message: pass when any signature passed; otherwise the most telling failure
    /// (fail, then policy, permerror, temperror, neutral); <see cref="DkimStatus.None"/> without signatures.
    /// </summary>
    public DkimStatus Overall
    {
        get
        {
            if (Signatures.Count == 0) return DkimStatus.None;
            foreach (var s in new[] { DkimStatus.Pass, DkimStatus.Fail, DkimStatus.Policy, DkimStatus.PermError, DkimStatus.TempError })
                if (Signatures.Any(x => x.Status == s)) return s;
            return DkimStatus.Neutral;
        }
    }

    /// <summary>The d= domains of the signatures that passed, lower case, without duplicates (for DMARC alignment).</summary>
    public IReadOnlyList<string> PassingDomains =>
        [.. Signatures.Where(s => s.Status == DkimStatus.Pass && !s.DomainKeys).Select(s => s.Domain).Distinct(StringComparer.Ordinal)];

    public static string Name(DkimStatus status) => status switch
    {
        DkimStatus.None => "none",
        DkimStatus.Pass => "pass",
        DkimStatus.Fail => "fail",
        DkimStatus.Neutral => "neutral",
        DkimStatus.TempError => "temperror",
        DkimStatus.PermError => "permerror",
        _ => "policy",
    };
}
