using System.Security.Cryptography;

namespace Assp.Auth.Dkim;

/// <summary>The signing algorithms of RFC 6376 and RFC 8463.</summary>
public enum DkimAlgorithm
{
    RsaSha1,
    RsaSha256,
    Ed25519Sha256,
}

/// <summary>Algorithm names, hashing, and signature creation and checking shared by DKIM and ARC.</summary>
public static class DkimCrypto
{
    public static DkimAlgorithm? ParseAlgorithm(string a) => a.ToLowerInvariant() switch
    {
        "rsa-sha256" => DkimAlgorithm.RsaSha256,
        "rsa-sha1" => DkimAlgorithm.RsaSha1,
        "ed25519-sha256" => DkimAlgorithm.Ed25519Sha256,
        _ => null,
    };

    public static string Name(DkimAlgorithm a) => a switch
    {
        DkimAlgorithm.RsaSha1 => "rsa-sha1",
        DkimAlgorithm.RsaSha256 => "rsa-sha256",
        _ => "ed25519-sha256",
    };

    public static HashAlgorithmName Hash(DkimAlgorithm a) => a == DkimAlgorithm.RsaSha1 ? HashAlgorithmName.SHA1 : HashAlgorithmName.SHA256;

    public static string KeyType(DkimAlgorithm a) => a == DkimAlgorithm.Ed25519Sha256 ? "ed25519" : "rsa";

    public static string HashName(DkimAlgorithm a) => a == DkimAlgorithm.RsaSha1 ? "sha1" : "sha256";

    /// <summary>Checks <paramref name="signature"/> over the canonical header data.</summary>
    public static bool Verify(DkimAlgorithm a, DkimPublicKey key, byte[] data, byte[] signature)
    {
        if (a == DkimAlgorithm.Ed25519Sha256)
            return key.Ed25519Key is { } ed && Ed25519.Verify(ed, SHA256.HashData(data), signature);
        if (key.Rsa is not { } rsa) return false;
        try
        {
            return rsa.VerifyData(data, signature, Hash(a), RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>A DKIM public key record (RFC 6376 3.6.1), parsed from the selector's TXT record.</summary>
public sealed class DkimPublicKey
{
    private DkimPublicKey() { }

    /// <summary>k=: rsa or ed25519.</summary>
    public string KeyType { get; private init; } = "rsa";

    /// <summary>p= was empty: the key was revoked.</summary>
    public bool Revoked { get; private init; }

    /// <summary>t=y: the domain is testing DKIM.</summary>
    public bool Testing { get; private init; }

    /// <summary>t=s: the i= domain must equal d= (no subdomains).</summary>
    public bool StrictIdentity { get; private init; }

    /// <summary>h=: the hash algorithms the key may be used with, or null for any.</summary>
    public IReadOnlyList<string>? HashAlgorithms { get; private init; }

    /// <summary>g=: the DomainKeys granularity (local parts the key may sign for, one "*" allowed); null when absent. DKIM ignores it.</summary>
    public string? Granularity { get; private init; }

    /// <summary>s=: the service types; null means "*".</summary>
    public IReadOnlyList<string>? ServiceTypes { get; private init; }

    public RSA? Rsa { get; private init; }

    public byte[]? Ed25519Key { get; private init; }

    /// <summary>Size of the RSA modulus in bits (0 for Ed25519).</summary>
    public int KeyBits => Rsa?.KeySize ?? 0;

    /// <summary>Parses a key record; null with a reason when it is not a usable DKIM key record.</summary>
    public static DkimPublicKey? Parse(string record, out string error)
    {
        var tags = DkimTagList.Parse(record, out error);
        if (tags is null) return null;
        if (tags["v"] is { } v && (v != "DKIM1" || tags.Names[0] != "v"))
        {
            error = "key record v= is not DKIM1 or not first";
            return null;
        }
        if (tags["p"] is not { } p)
        {
            error = "key record has no p=";
            return null;
        }
        var k = (tags["k"] ?? "rsa").ToLowerInvariant();
        var flags = (tags["t"] ?? "").Split(':', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var services = tags["s"]?.Split(':', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var hashes = tags["h"]?.Split(':', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(h => h.ToLowerInvariant()).ToArray();
        p = DkimTagList.WithoutWhitespace(p);
        bool revoked = p.Length == 0;
        RSA? rsa = null;
        byte[]? ed = null;
        if (!revoked)
        {
            byte[] bytes;
            try { bytes = Convert.FromBase64String(p); }
            catch (FormatException) { error = "key record p= is not base64"; return null; }
            if (k == "rsa")
            {
                rsa = ImportRsa(bytes);
                if (rsa is null) { error = "key record p= is not an RSA public key"; return null; }
            }
            else if (k == "ed25519")
            {
                if (bytes.Length != Ed25519.KeySize) { error = "key record p= is not a 32-byte Ed25519 key"; return null; }
                ed = bytes;
            }
            else
            {
                error = $"key type k={k} is not supported";
                return null;
            }
        }
        return new DkimPublicKey
        {
            KeyType = k,
            Revoked = revoked,
            Testing = flags.Contains("y", StringComparer.OrdinalIgnoreCase),
            StrictIdentity = flags.Contains("s", StringComparer.OrdinalIgnoreCase),
            HashAlgorithms = hashes,
            ServiceTypes = services,
            Granularity = tags["g"],
            Rsa = rsa,
            Ed25519Key = ed,
        };
    }

    /// <summary>An RSA key from SubjectPublicKeyInfo (what RFC 6376 specifies) or a bare PKCS#1 RSAPublicKey (seen in the wild).</summary>
    private static RSA? ImportRsa(byte[] der)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportSubjectPublicKeyInfo(der, out _);
            return rsa;
        }
        catch (CryptographicException)
        {
        }
        try
        {
            rsa.ImportRSAPublicKey(der, out _);
            return rsa;
        }
        catch (CryptographicException)
        {
            rsa.Dispose();
            return null;
        }
    }
}
