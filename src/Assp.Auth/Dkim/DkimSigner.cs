using System.Security.Cryptography;
using System.Text;

namespace Assp.Auth.Dkim;

/// <summary>A private key for signing: RSA or Ed25519 (32-byte seed).</summary>
public sealed class DkimSigningKey
{
    private DkimSigningKey(RSA? rsa, byte[]? seed)
    {
        Rsa = rsa;
        Ed25519Seed = seed;
    }

    public RSA? Rsa { get; }
    public byte[]? Ed25519Seed { get; }

    public static DkimSigningKey FromRsa(RSA rsa) => new(rsa, null);

    public static DkimSigningKey FromEd25519Seed(byte[] seed) =>
        seed.Length == Ed25519.KeySize ? new(null, seed) : throw new ArgumentException("An Ed25519 private key has 32 bytes.", nameof(seed));

    /// <summary>
    /// Reads a PEM private key: RSA ("RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY") or Ed25519 (PKCS#8, as
    /// openssl genpkey writes it). Throws <see cref="FormatException"/> with the reason otherwise.
    /// </summary>
    public static DkimSigningKey FromPem(string pem)
    {
        const string begin = "-----BEGIN PRIVATE KEY-----";
        int b = pem.IndexOf(begin, StringComparison.Ordinal);
        if (b >= 0)
        {
            int e = pem.IndexOf("-----END PRIVATE KEY-----", b, StringComparison.Ordinal);
            if (e > b)
            {
                byte[] der;
                try { der = Convert.FromBase64String(pem[(b + begin.Length)..e]); }
                catch (FormatException) { throw new FormatException("the PEM key is not valid base64"); }
                if (Ed25519.SeedFromPkcs8(der) is { } seed) return FromEd25519Seed(seed);
            }
        }
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
            throw new FormatException("no RSA or Ed25519 private key found in the PEM text");
        }
        return FromRsa(rsa);
    }

    public bool IsEd25519 => Ed25519Seed is not null;

    /// <summary>The algorithm to sign with: ed25519-sha256 for Ed25519 keys, rsa-sha256 for RSA.</summary>
    public DkimAlgorithm Algorithm => IsEd25519 ? DkimAlgorithm.Ed25519Sha256 : DkimAlgorithm.RsaSha256;

    /// <summary>The p= value to publish in the selector's TXT record.</summary>
    public string PublicKeyBase64 => IsEd25519
        ? Convert.ToBase64String(Ed25519.PublicKeyFromSeed(Ed25519Seed))
        : Convert.ToBase64String(Rsa!.ExportSubjectPublicKeyInfo());

    /// <summary>The TXT record text for this key ("v=DKIM1; k=...; p=...").</summary>
    public string KeyRecord => $"v=DKIM1; k={(IsEd25519 ? "ed25519" : "rsa")}; p={PublicKeyBase64}";

    public byte[] Sign(byte[] data) => IsEd25519
        ? Ed25519.Sign(Ed25519Seed, SHA256.HashData(data))
        : Rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
}

/// <summary>What to sign with and how (one selector of one domain).</summary>
public sealed record DkimSigningOptions
{
    public required string Domain { get; init; }
    public required string Selector { get; init; }
    public required DkimSigningKey Key { get; init; }
    /// <summary>Header names to sign; those present are signed (once per instance).</summary>
    public IReadOnlyList<string> Headers { get; init; } = DefaultHeaders;
    public DkimCanonicalization HeaderCanonicalization { get; init; } = DkimCanonicalization.Relaxed;
    public DkimCanonicalization BodyCanonicalization { get; init; } = DkimCanonicalization.Relaxed;
    /// <summary>i=, or null to leave it out.</summary>
    public string? Identity { get; init; }
    /// <summary>Seconds after signing at which the signature expires (x=), or null.</summary>
    public long? ExpirationSeconds { get; init; }
    /// <summary>t= and the base for x=; null for now.</summary>
    public DateTimeOffset? SigningTime { get; init; }

    /// <summary>A common choice of fields that identify a message and that relays rarely change.</summary>
    public static readonly IReadOnlyList<string> DefaultHeaders =
        ["From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc", "MIME-Version", "Content-Type",
         "Content-Transfer-Encoding", "In-Reply-To", "References"];
}

/// <summary>Creates DKIM-Signature header fields (RFC 6376 5).</summary>
public static class DkimSigner
{
    /// <summary>The complete "DKIM-Signature: ..." field, folded, ending with CRLF; to be put on top of the header.</summary>
    public static string Sign(DkimMessage message, DkimSigningOptions o)
    {
        var (bodyHash, _) = DkimCanonicalizer.HashBody(message.Body.Span, o.BodyCanonicalization, DkimCrypto.Hash(o.Key.Algorithm), null);
        return Sign(message, bodyHash, o);
    }

    /// <summary>The hash algorithm a key signs with, for a body hashed elsewhere (<see cref="DkimCanonicalizer.HashBodyAsync"/>).</summary>
    public static System.Security.Cryptography.HashAlgorithmName BodyHashAlgorithm(DkimSigningOptions o) => DkimCrypto.Hash(o.Key.Algorithm);

    /// <summary>
    /// Signs with a body hash computed elsewhere (a body streamed from disk): only the header fields of
    /// <paramref name="message"/> are used.
    /// </summary>
    public static string Sign(DkimMessage message, byte[] bodyHash, DkimSigningOptions o)
    {
        var alg = o.Key.Algorithm;
        var signed = new List<string>();
        foreach (var name in o.Headers)
        {
            int count = message.Headers.Count(h => h.Is(name));
            for (int i = 0; i < count; i++) signed.Add(name);
        }
        if (!signed.Any(n => n.Equals("From", StringComparison.OrdinalIgnoreCase))) signed.Insert(0, "From");
        var time = (o.SigningTime ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();

        var tags = new List<string>
        {
            "v=1", "a=" + DkimCrypto.Name(alg),
            "c=" + DkimCanonicalizer.Name(o.HeaderCanonicalization) + "/" + DkimCanonicalizer.Name(o.BodyCanonicalization),
            "d=" + o.Domain, "s=" + o.Selector,
        };
        if (o.Identity is { Length: > 0 } id) tags.Add("i=" + id);
        tags.Add("t=" + time);
        if (o.ExpirationSeconds is { } exp) tags.Add("x=" + (time + exp));
        tags.Add("h=" + string.Join(":", signed));
        tags.Add("bh=" + Convert.ToBase64String(bodyHash));
        var unsigned = Fold("DKIM-Signature", tags) + ";\r\n b=";

        var field = new DkimHeaderField("DKIM-Signature", Encoding.Latin1.GetBytes(unsigned));
        var data = DkimVerifier.HeaderHashInput(message, signed, field, o.HeaderCanonicalization);
        var b = Convert.ToBase64String(o.Key.Sign(data));
        return unsigned + FoldBase64(b) + "\r\n";
    }

    /// <summary>
    /// "Name: tag; tag; ..." with lines kept under about 78 characters, folded only between tags and with a space
    /// (some verifiers look for " i=N;" literally).
    /// </summary>
    internal static string Fold(string name, IEnumerable<string> tags)
    {
        var sb = new StringBuilder(name).Append(':');
        int lineLength = sb.Length;
        bool first = true;
        foreach (var tag in tags)
        {
            var piece = (first ? "" : ";") ;
            sb.Append(piece);
            lineLength += piece.Length;
            if (lineLength + tag.Length + 1 > 76 && !first)
            {
                sb.Append("\r\n ");
                lineLength = 1;
            }
            else
            {
                sb.Append(' ');
                lineLength++;
            }
            sb.Append(tag);
            lineLength += tag.Length;
            first = false;
        }
        return sb.ToString();
    }

    internal static string FoldBase64(string b)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < b.Length; i += 72)
        {
            if (i > 0) sb.Append("\r\n  ");
            sb.Append(b, i, Math.Min(72, b.Length - i));
        }
        return sb.ToString();
    }
}
