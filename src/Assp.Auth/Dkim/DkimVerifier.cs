using System.Security.Cryptography;
using Assp.Auth.Spf;

namespace Assp.Auth.Dkim;

/// <summary>Local choices a verifier makes where the RFCs leave room.</summary>
public sealed record DkimVerifierOptions
{
    /// <summary>RSA keys shorter than this are refused (RFC 8301: at least 1024).</summary>
    public int MinimumRsaBits { get; init; } = 1024;

    /// <summary>Signatures checked per message at most; the rest are ignored (a cheap defence against floods of headers).</summary>
    public int MaxSignatures { get; init; } = 10;

    /// <summary>When set, a signature whose l= leaves part of the body unsigned gets <see cref="DkimStatus.Policy"/> instead of pass.</summary>
    public bool RefusePartialBody { get; init; }

    /// <summary>The clock for x= (tests set it).</summary>
    public Func<DateTimeOffset> Now { get; init; } = () => DateTimeOffset.UtcNow;
}

/// <summary>RFC 6376 verification of every DKIM-Signature of a message (with RFC 8301 and RFC 8463).</summary>
public sealed class DkimVerifier(IDkimDns dns, DkimVerifierOptions? options = null)
{
    private readonly DkimVerifierOptions _options = options ?? new DkimVerifierOptions();

    public async Task<DkimResult> VerifyAsync(DkimMessage message, CancellationToken cancellationToken = default)
    {
        var results = new List<DkimSignatureResult>();
        foreach (var field in message.Headers.Where(h => h.Is("DKIM-Signature")).Take(_options.MaxSignatures))
            results.Add(await VerifyOneAsync(message, field, cancellationToken).ConfigureAwait(false));
        return new DkimResult(results);
    }

    private async Task<DkimSignatureResult> VerifyOneAsync(DkimMessage message, DkimHeaderField field, CancellationToken cancellationToken)
    {
        var sig = DkimSignature.Parse(field, out var failure);
        if (sig is null) return failure!;
        var headerB = sig.SignatureText.Length > 8 ? sig.SignatureText[..8] : sig.SignatureText;
        DkimSignatureResult Result(DkimStatus status, string reason, bool testing = false, bool partial = false) =>
            new(status, sig.Domain, sig.Selector, sig.Identity, sig.AlgorithmName, reason, headerB, testing, sig.SignedHeaders, partial);

        if (sig.Expiration is { } x && x < _options.Now().ToUnixTimeSeconds())
            return Result(DkimStatus.PermError, "signature expired");

        var (key, keyFailure, keyStatus) = await FetchKeyAsync(sig.Selector, sig.Domain, sig.Algorithm, cancellationToken).ConfigureAwait(false);
        if (key is null) return Result(keyStatus, keyFailure);
        if (key.StrictIdentity)
        {
            var idDomain = sig.Identity[(sig.Identity.LastIndexOf('@') + 1)..].ToLowerInvariant();
            if (idDomain != sig.Domain) return Result(DkimStatus.PermError, "key has t=s but i= is a subdomain of d=", key.Testing);
        }

        var (bodyHash, canonicalLength) = DkimCanonicalizer.HashBody(message.Body.Span, sig.BodyCanonicalization, DkimCrypto.Hash(sig.Algorithm), sig.BodyLength);
        if (sig.BodyLength is { } l && l > canonicalLength)
            return Result(DkimStatus.Fail, "l= is longer than the body", key.Testing);
        bool partial = sig.BodyLength is { } l2 && l2 < canonicalLength;

        var data = HeaderHashInput(message, sig.SignedHeaders, field, sig.HeaderCanonicalization);
        if (!DkimCrypto.Verify(sig.Algorithm, key, data, sig.Signature))
            return Result(DkimStatus.Fail, "signature did not verify", key.Testing, partial);
        if (!CryptographicOperations.FixedTimeEquals(bodyHash, sig.BodyHash))
            return Result(DkimStatus.Fail, "body hash did not verify", key.Testing, partial);
        if (partial && _options.RefusePartialBody)
            return Result(DkimStatus.Policy, "l= leaves part of the body unsigned", key.Testing, partial);
        return Result(DkimStatus.Pass, "", key.Testing, partial);
    }

    /// <summary>
    /// The bytes the header signature covers: the selected header fields canonicalised, then the signature field
    /// itself with an empty b= and no terminator (RFC 6376 3.7).
    /// </summary>
    public static byte[] HeaderHashInput(DkimMessage message, IEnumerable<string> signedHeaders, DkimHeaderField signatureField, DkimCanonicalization c)
    {
        var data = new List<byte>(1024);
        foreach (var h in message.SelectSigned(signedHeaders, signatureField))
            DkimCanonicalizer.AppendHeader(data, h.Raw.Span, c);
        DkimCanonicalizer.AppendHeader(data, DkimSignature.WithoutSignatureValue(signatureField.Raw.Span), c, withoutTerminator: true);
        return [.. data];
    }

    /// <summary>Fetches and checks the key record for a selector; on failure a status and reason instead.</summary>
    public async Task<(DkimPublicKey? Key, string Reason, DkimStatus Status)> FetchKeyAsync(string selector, string domain, DkimAlgorithm algorithm, CancellationToken cancellationToken)
    {
        var name = selector + "._domainkey." + domain;
        SpfDnsAnswer<string> answer;
        try
        {
            answer = await dns.GetTxtAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (null, "key lookup failed: " + e.Message, DkimStatus.TempError);
        }
        if (answer.IsError) return (null, "key lookup failed (DNS)", DkimStatus.TempError);
        if (answer.IsVoid) return (null, "no key for signature", DkimStatus.PermError);

        string reason = "key record unusable";
        foreach (var record in answer.Records)
        {
            var key = DkimPublicKey.Parse(record, out var error);
            if (key is null) { reason = error; continue; }
            if (key.Revoked) return (null, "key revoked", DkimStatus.PermError);
            if (key.KeyType != DkimCrypto.KeyType(algorithm)) return (null, $"key type {key.KeyType} does not match the signature algorithm", DkimStatus.PermError);
            if (key.HashAlgorithms is { } hashes && !hashes.Contains(DkimCrypto.HashName(algorithm)))
                return (null, "key h= does not allow the signature's hash algorithm", DkimStatus.PermError);
            if (key.ServiceTypes is { } services && !services.Any(s => s is "*" || s.Equals("email", StringComparison.OrdinalIgnoreCase)))
                return (null, "key s= does not include email", DkimStatus.PermError);
            if (key.Rsa is not null && key.KeyBits < _options.MinimumRsaBits)
                return (null, $"RSA key of {key.KeyBits} bits is too short", DkimStatus.PermError);
            return (key, "", DkimStatus.Pass);
        }
        return (null, reason, DkimStatus.PermError);
    }
}
