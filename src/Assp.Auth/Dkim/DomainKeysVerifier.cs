using System.Security.Cryptography;
using Assp.Mime;

namespace Assp.Auth.Dkim;

/// <summary>
/// Verification of DomainKey-Signature headers (RFC 4870, the historic predecessor of DKIM), judged the way
/// Mail::DKIM — the library ASSP verifies with — judges them: only the header fields below the signature are signed
/// (narrowed by h= when present), "simple" or "nofws" canonicalisation, one RSA-SHA1 signature over headers and body,
/// the signing identity is the Sender: (else From:) address and must lie in d= or below, and the key's g= limits the
/// local parts it may sign for. Results carry <see cref="DkimSignatureResult.DomainKeys"/> so DMARC never counts them.
/// </summary>
public sealed class DomainKeysVerifier(IDkimDns dns, DkimVerifierOptions? options = null)
{
    private readonly DkimVerifierOptions _options = options ?? new DkimVerifierOptions();
    private readonly DkimVerifier _keys = new(dns, options);

    public async Task<DkimResult> VerifyAsync(DkimMessage message, CancellationToken cancellationToken = default)
    {
        var results = new List<DkimSignatureResult>();
        for (int i = 0; i < message.Headers.Count && results.Count < _options.MaxSignatures; i++)
            if (message.Headers[i].Is("DomainKey-Signature"))
                results.Add(await VerifyOneAsync(message, i, cancellationToken).ConfigureAwait(false));
        return new DkimResult(results);
    }

    private async Task<DkimSignatureResult> VerifyOneAsync(DkimMessage message, int index, CancellationToken cancellationToken)
    {
        var tags = DkimTagList.Parse(message.Headers[index].Value, out var error);
        string d = (tags?["d"] ?? "").ToLowerInvariant(), s = tags?["s"] ?? "";
        string b = DkimTagList.WithoutWhitespace(tags?["b"] ?? "");
        var headerB = b.Length > 8 ? b[..8] : b;
        string identity = "";
        IReadOnlyList<string> signedNames = [];
        DkimSignatureResult Result(DkimStatus status, string reason, bool testing = false) =>
            new(status, d, s, identity, "rsa-sha1", reason, headerB, testing, signedNames, false) { DomainKeys = true };

        if (tags is null) return Result(DkimStatus.PermError, error);
        var algorithm = (tags["a"] ?? "").ToLowerInvariant();
        if (algorithm.Length > 0 && algorithm != "rsa-sha1") return Result(DkimStatus.Neutral, $"unsupported algorithm {algorithm}");
        var c = (tags["c"] ?? "").ToLowerInvariant();
        bool nofws = c == "nofws";
        if (c.Length > 0 && c != "simple" && !nofws) return Result(DkimStatus.PermError, $"unknown canonicalization {c}");
        // Many signers leave out q=; dns is the only method there is.
        if (tags["q"] is { } q && !q.Equals("dns", StringComparison.OrdinalIgnoreCase)) return Result(DkimStatus.PermError, $"unsupported query method {q}");
        if (d.Length == 0) return Result(DkimStatus.PermError, "signature has no d=");
        if (s.Length == 0) return Result(DkimStatus.PermError, "signature has no s=");
        if (b.Length == 0) return Result(DkimStatus.PermError, "signature has no b=");
        byte[] signature;
        try { signature = Convert.FromBase64String(b); }
        catch (FormatException) { return Result(DkimStatus.PermError, "b= is not base64"); }

        string[]? h = null;
        if (tags["h"] is { } hList)
        {
            h = [.. hList.Split(':', StringSplitOptions.TrimEntries).Select(x => x.ToLowerInvariant())];
            if (h.Any(x => x.Length == 0)) return Result(DkimStatus.PermError, "h= has an empty header name");
        }
        var signed = SelectSigned(message.Headers, index, h);
        signedNames = [.. signed.Select(f => f.Name.ToLowerInvariant())];

        identity = SigningIdentity(signed) ?? "";
        int at = identity.LastIndexOf('@');
        if (at < 0) return Result(DkimStatus.PermError, "no Sender or From address among the signed headers");
        var idDomain = identity[(at + 1)..].ToLowerInvariant();
        if (idDomain != d && !idDomain.EndsWith("." + d, StringComparison.Ordinal))
            return Result(DkimStatus.PermError, "the sender's domain is not d= or below it");

        var (key, keyFailure, keyStatus) = await _keys.FetchKeyAsync(s, d, DkimAlgorithm.RsaSha1, cancellationToken).ConfigureAwait(false);
        if (key?.Rsa is not { } rsa) return Result(key is null ? keyStatus : DkimStatus.PermError, key is null ? keyFailure : "key is not RSA");
        if (!GranularityAllows(key.Granularity, identity[..at]))
            return Result(DkimStatus.PermError, "key g= does not cover the sender", key.Testing);

        using var hasher = new DomainKeysHasher(nofws);
        hasher.AddHeaders(signed);
        hasher.AddBody(message.Body.Span, final: true);
        bool ok;
        try { ok = rsa.VerifyHash(hasher.Hash(), signature, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1); }
        catch (CryptographicException) { ok = false; }
        return ok ? Result(DkimStatus.Pass, "", key.Testing) : Result(DkimStatus.Fail, "signature did not verify", key.Testing);
    }

    /// <summary>
    /// The header fields a DomainKey-Signature covers: all fields below it, or with h= only the named ones, in the
    /// order Mail::DKIM presents them (walking h= from its end; a name listed once brings every field of that name,
    /// a name listed n times takes the fields from the bottom one by one).
    /// </summary>
    public static IReadOnlyList<DkimHeaderField> SelectSigned(IReadOnlyList<DkimHeaderField> headers, int signatureIndex, IReadOnlyList<string>? h)
    {
        var below = new List<DkimHeaderField>();
        for (int i = signatureIndex + 1; i < headers.Count; i++) below.Add(headers[i]);
        if (h is null) return below;

        var byName = new Dictionary<string, List<DkimHeaderField>>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in below)
        {
            if (!byName.TryGetValue(field.Name, out var list)) byName[field.Name] = list = [];
            list.Add(field);
        }
        var remaining = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in h) remaining[name] = remaining.GetValueOrDefault(name) + 1;
        var picked = new List<DkimHeaderField>();
        for (int n = h.Count - 1; n >= 0; n--)
        {
            var name = h[n];
            remaining[name]--;
            if (!byName.TryGetValue(name, out var fields) || fields.Count == 0) continue;
            if (remaining[name] > 0)
            {
                picked.Insert(0, fields[^1]);
                fields.RemoveAt(fields.Count - 1);
            }
            else
            {
                picked.InsertRange(0, fields);
                fields.Clear();
            }
        }
        return picked;
    }

    /// <summary>The address of the last signed Sender: field, else of the last signed From: field; null when neither parses.</summary>
    private static string? SigningIdentity(IReadOnlyList<DkimHeaderField> signed)
    {
        string? sender = null, from = null;
        foreach (var field in signed)
        {
            if (field.Is("Sender")) sender = field.Value;
            else if (field.Is("From")) from = field.Value;
        }
        return FirstAddress(sender) ?? FirstAddress(from);
    }

    private static string? FirstAddress(string? value)
    {
        if (value is null) return null;
        foreach (var address in AddressParser.ParseList(value, maxAddresses: 10))
            foreach (var mailbox in address.Mailboxes)
                return mailbox.LocalPart + "@" + mailbox.Domain;
        return null;
    }

    /// <summary>g= of the key: absent, empty or "*" allows any local part; otherwise one optional "*" wildcard.</summary>
    private static bool GranularityAllows(string? g, string localPart)
    {
        if (string.IsNullOrEmpty(g) || g == "*") return true;
        int star = g.IndexOf('*');
        if (star < 0) return g.Equals(localPart, StringComparison.Ordinal);
        var prefix = g[..star];
        var suffix = g[(star + 1)..].Replace("*", "", StringComparison.Ordinal);
        return localPart.Length >= prefix.Length + suffix.Length
            && localPart.StartsWith(prefix, StringComparison.Ordinal) && localPart.EndsWith(suffix, StringComparison.Ordinal);
    }
}
