using System.Security.Cryptography;

namespace Assp.Auth.Dkim;

/// <summary>What a DomainKey-Signature is made with.</summary>
public sealed record DomainKeysSigningOptions
{
    public required string Domain { get; init; }
    public required string Selector { get; init; }
    public required RSA Key { get; init; }
    /// <summary>c=nofws (true) or c=simple.</summary>
    public bool Nofws { get; init; } = true;
    /// <summary>Names for h= (those present in the message are listed); null signs every header field without h=.</summary>
    public IReadOnlyList<string>? Headers { get; init; }
}

/// <summary>Creates DomainKey-Signature header fields (RFC 4870), for ASSP's DKIMgenConfig selectors in DomainKeys mode.</summary>
public static class DomainKeysSigner
{
    /// <summary>The complete "DomainKey-Signature: ..." field, folded, ending with CRLF; to be put on top of the header.</summary>
    public static string Sign(DkimMessage message, DomainKeysSigningOptions o)
    {
        var (tags, signed) = Prepare(message, o);
        using var hasher = new DomainKeysHasher(o.Nofws);
        hasher.AddHeaders(signed);
        hasher.AddBody(message.Body.Span, final: true);
        return Finish(tags, hasher.Hash(), o);
    }

    /// <summary>
    /// Signs a message whose body is read from <paramref name="body"/> (positioned at the first body byte), so a large
    /// message kept on disk is never in memory; only the header fields of <paramref name="headers"/> are used.
    /// </summary>
    public static async Task<string> SignAsync(DkimMessage headers, Stream body, DomainKeysSigningOptions o, CancellationToken cancellationToken = default)
    {
        var (tags, signed) = Prepare(headers, o);
        using var hasher = new DomainKeysHasher(o.Nofws);
        hasher.AddHeaders(signed);
        var buffer = new byte[64 * 1024];
        int have = 0;
        while (true)
        {
            int read = await body.ReadAsync(buffer.AsMemory(have), cancellationToken).ConfigureAwait(false);
            have += read;
            int used = hasher.AddBody(buffer.AsSpan(0, have), final: read == 0);
            if (read == 0) break;
            buffer.AsSpan(used, have - used).CopyTo(buffer);
            have -= used;
            if (have == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        }
        return Finish(tags, hasher.Hash(), o);
    }

    private static (List<string> Tags, IReadOnlyList<DkimHeaderField> Signed) Prepare(DkimMessage message, DomainKeysSigningOptions o)
    {
        var tags = new List<string> { "a=rsa-sha1", "c=" + (o.Nofws ? "nofws" : "simple"), "d=" + o.Domain, "s=" + o.Selector, "q=dns" };
        string[]? h = null;
        if (o.Headers is { } wanted)
        {
            h = [.. wanted.Select(n => n.ToLowerInvariant()).Distinct().Where(n => message.Headers.Any(f => f.Is(n)))];
            if (h.Length > 0) tags.Add("h=" + string.Join(":", h));
            else h = null;
        }
        return (tags, DomainKeysVerifier.SelectSigned(message.Headers, -1, h));
    }

    private static string Finish(List<string> tags, byte[] hash, DomainKeysSigningOptions o)
    {
        var b = Convert.ToBase64String(o.Key.SignHash(hash, HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1));
        return DkimSigner.Fold("DomainKey-Signature", tags) + ";\r\n b=" + DkimSigner.FoldBase64(b) + "\r\n";
    }
}
