using System.Numerics;
using System.Security.Cryptography;

namespace Assp.Auth.Dkim;

/// <summary>
/// Ed25519 (RFC 8032 5.1) over System.Numerics.BigInteger: .NET offers no Ed25519 in
/// System.Security.Cryptography. Used for ed25519-sha256 DKIM and ARC signatures (RFC 8463).
/// Not constant-time: signing keys here are the admin's own DKIM keys on the admin's machine, and verification
/// only handles public data.
/// </summary>
public static class Ed25519
{
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");
    private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
    private static readonly BigInteger SqrtMinusOne = BigInteger.ModPow(2, (P - 1) / 4, P);
    private static readonly Point BasePoint = MakeBase();

    public const int KeySize = 32;
    public const int SignatureSize = 64;

    /// <summary>Checks a 64-byte signature of <paramref name="message"/> under a 32-byte public key.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != KeySize || signature.Length != SignatureSize) return false;
        var a = Decode(publicKey);
        var r = Decode(signature[..32]);
        if (a is null || r is null) return false;
        var s = new BigInteger(signature[32..], isUnsigned: true, isBigEndian: false);
        if (s >= L) return false;
        var k = HashToScalar(signature[..32], publicKey, message);
        var left = Multiply(BasePoint, s);
        var right = Add(r.Value, Multiply(a.Value, k));
        return AreEqual(left, right);
    }

    /// <summary>The public key of a 32-byte private key (seed).</summary>
    public static byte[] PublicKeyFromSeed(ReadOnlySpan<byte> seed)
    {
        var (scalar, _) = Expand(seed);
        return Encode(Multiply(BasePoint, scalar));
    }

    /// <summary>Signs <paramref name="message"/> with a 32-byte private key (seed); deterministic.</summary>
    public static byte[] Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> message)
    {
        if (seed.Length != KeySize) throw new ArgumentException("An Ed25519 private key has 32 bytes.", nameof(seed));
        var (a, prefix) = Expand(seed);
        var publicKey = Encode(Multiply(BasePoint, a));
        var r = Mod(new BigInteger(Sha512(prefix, message), isUnsigned: true, isBigEndian: false), L);
        var rEncoded = Encode(Multiply(BasePoint, r));
        var k = HashToScalar(rEncoded, publicKey, message);
        var s = Mod(r + k * a, L);
        var signature = new byte[SignatureSize];
        rEncoded.CopyTo(signature, 0);
        ToLittleEndian32(s).CopyTo(signature, 32);
        return signature;
    }

    /// <summary>
    /// The 32-byte seed from a PKCS#8 "PRIVATE KEY" DER (OID 1.3.101.112), as openssl genpkey -algorithm ed25519
    /// writes it; null when it is not one.
    /// </summary>
    public static byte[]? SeedFromPkcs8(ReadOnlySpan<byte> der)
    {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } } is 48 bytes.
        ReadOnlySpan<byte> prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
        if (der.Length < 48 || !der[..16].SequenceEqual(prefix)) return null;
        return der.Slice(16, 32).ToArray();
    }

    private readonly record struct Point(BigInteger X, BigInteger Y, BigInteger Z, BigInteger T);

    private static (BigInteger Scalar, byte[] Prefix) Expand(ReadOnlySpan<byte> seed)
    {
        var h = SHA512.HashData(seed);
        h[0] &= 248;
        h[31] &= 127;
        h[31] |= 64;
        return (new BigInteger(h.AsSpan(0, 32), isUnsigned: true, isBigEndian: false), h[32..]);
    }

    private static BigInteger HashToScalar(ReadOnlySpan<byte> r, ReadOnlySpan<byte> a, ReadOnlySpan<byte> m)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        h.AppendData(r);
        h.AppendData(a);
        h.AppendData(m);
        return Mod(new BigInteger(h.GetHashAndReset(), isUnsigned: true, isBigEndian: false), L);
    }

    private static byte[] Sha512(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        h.AppendData(a);
        h.AppendData(b);
        return h.GetHashAndReset();
    }

    private static BigInteger Mod(BigInteger x) => Mod(x, P);

    private static BigInteger Mod(BigInteger x, BigInteger m)
    {
        var r = BigInteger.Remainder(x, m);
        return r.Sign < 0 ? r + m : r;
    }

    private static BigInteger Inverse(BigInteger x) => BigInteger.ModPow(Mod(x, P), P - 2, P);

    private static Point Add(Point p, Point q)
    {
        var a = Mod((p.Y - p.X) * (q.Y - q.X));
        var b = Mod((p.Y + p.X) * (q.Y + q.X));
        var c = Mod(2 * p.T * q.T * D);
        var d = Mod(2 * p.Z * q.Z);
        var e = b - a;
        var f = d - c;
        var g = d + c;
        var h = b + a;
        return new Point(Mod(e * f), Mod(g * h), Mod(f * g), Mod(e * h));
    }

    private static Point Multiply(Point p, BigInteger s)
    {
        var q = new Point(0, 1, 1, 0);
        while (s > 0)
        {
            if (!s.IsEven) q = Add(q, p);
            p = Add(p, p);
            s >>= 1;
        }
        return q;
    }

    private static bool AreEqual(Point p, Point q) =>
        Mod(p.X * q.Z - q.X * p.Z) == 0 && Mod(p.Y * q.Z - q.Y * p.Z) == 0;

    private static BigInteger? RecoverX(BigInteger y, bool sign)
    {
        if (y >= P) return null;
        var x2 = Mod((y * y - 1) * Inverse(D * y * y + 1));
        if (x2.IsZero) return sign ? null : BigInteger.Zero;
        var x = BigInteger.ModPow(x2, (P + 3) / 8, P);
        if (Mod(x * x - x2) != 0) x = Mod(x * SqrtMinusOne);
        if (Mod(x * x - x2) != 0) return null;
        if (!x.IsEven != sign) x = P - x;
        return x;
    }

    private static Point? Decode(ReadOnlySpan<byte> encoded)
    {
        Span<byte> copy = stackalloc byte[32];
        encoded.CopyTo(copy);
        bool sign = (copy[31] >> 7) == 1;
        copy[31] &= 0x7f;
        var y = new BigInteger(copy, isUnsigned: true, isBigEndian: false);
        if (RecoverX(y, sign) is not { } x) return null;
        return new Point(x, y, 1, Mod(x * y));
    }

    private static byte[] Encode(Point p)
    {
        var zInv = Inverse(p.Z);
        var x = Mod(p.X * zInv);
        var y = Mod(p.Y * zInv);
        var bytes = ToLittleEndian32(y);
        if (!x.IsEven) bytes[31] |= 0x80;
        return bytes;
    }

    private static byte[] ToLittleEndian32(BigInteger v)
    {
        var bytes = new byte[32];
        v.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        return bytes;
    }

    private static Point MakeBase()
    {
        var y = Mod(4 * Inverse(5));
        var x = RecoverX(y, false)!.Value;
        return new Point(x, y, 1, Mod(x * y));
    }
}
