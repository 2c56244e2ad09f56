using Assp.Auth.Dkim;

namespace Assp.Auth.Tests.Dkim;

/// <summary>RFC 8032 7.1 test vectors 1 to 3 (secret key, public key, message, signature).</summary>
public sealed class Ed25519Tests
{
    public static TheoryData<string, string, string, string> Vectors => new()
    {
        { "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
        { "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
          "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
        { "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
          "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Public_key_signature_and_verification_match_the_rfc(string secret, string pub, string message, string signature)
    {
        var seed = Convert.FromHexString(secret);
        var msg = Convert.FromHexString(message);
        Assert.Equal(pub, Convert.ToHexStringLower(Ed25519.PublicKeyFromSeed(seed)));
        Assert.Equal(signature, Convert.ToHexStringLower(Ed25519.Sign(seed, msg)));
        Assert.True(Ed25519.Verify(Convert.FromHexString(pub), msg, Convert.FromHexString(signature)));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Changed_message_or_signature_does_not_verify(string secret, string pub, string message, string signature)
    {
        _ = secret;
        var key = Convert.FromHexString(pub);
        var sig = Convert.FromHexString(signature);
        Assert.False(Ed25519.Verify(key, Convert.FromHexString(message + "00"), sig));
        sig[5] ^= 1;
        Assert.False(Ed25519.Verify(key, Convert.FromHexString(message), sig));
        var sig2 = Convert.FromHexString(signature);
        sig2[40] ^= 0x10;
        Assert.False(Ed25519.Verify(key, Convert.FromHexString(message), sig2));
    }

    [Fact]
    public void Signature_with_s_not_below_the_group_order_is_refused()
    {
        var (_, pub, msg, signature) = ("", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "", "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
        var sig = Convert.FromHexString(signature);
        // s + L is the same point multiple but must be rejected (malleability, RFC 8032 5.1.7).
        var s = new System.Numerics.BigInteger(sig.AsSpan(32), isUnsigned: true);
        var l = System.Numerics.BigInteger.Pow(2, 252) + System.Numerics.BigInteger.Parse("27742317777372353535851937790883648493");
        var bigger = (s + l).ToByteArray(isUnsigned: true);
        Array.Clear(sig, 32, 32);
        bigger.CopyTo(sig, 32);
        Assert.False(Ed25519.Verify(Convert.FromHexString(pub), Convert.FromHexString(msg), sig));
    }
}
