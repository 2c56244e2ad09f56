using System.Text;
using Assp.Auth.Dkim;

namespace Assp.Auth.Arc;

/// <summary>What an ARC set is signed with and what it records.</summary>
public sealed record ArcSigningOptions
{
    public required string Domain { get; init; }
    public required string Selector { get; init; }
    public required DkimSigningKey Key { get; init; }
    /// <summary>
    /// The Authentication-Results value to record (authserv-id first, e.g. "mx.example.org; spf=pass ...");
    /// becomes the ARC-Authentication-Results after "i=N;".
    /// </summary>
    public required string AuthenticationResults { get; init; }
    /// <summary>Header names the ARC-Message-Signature covers (those present, once per instance).</summary>
    public IReadOnlyList<string> Headers { get; init; } = DkimSigningOptions.DefaultHeaders;
    /// <summary>t=; null for now.</summary>
    public DateTimeOffset? SigningTime { get; init; }
}

/// <summary>Adds one ARC set (RFC 8617 5.1) on top of an existing chain.</summary>
public static class ArcSigner
{
    /// <summary>
    /// The three new header fields, in the order they go on top of the message (ARC-Seal first), each ending with
    /// CRLF; or null when the chain already has 50 sets or its newest seal already says cv=fail. A chain found
    /// broken here gets a set with cv=fail whose seal covers only the new set (RFC 8617 5.1.2), so the break is on
    /// record once.
    /// </summary>
    public static IReadOnlyList<string>? Sign(DkimMessage message, ArcResult chain, ArcSigningOptions o)
    {
        if (chain.Instances >= 50 || ArcValidator.NewestSealRecordsFailure(message)) return null;
        bool broken = chain.Status == ArcChainStatus.Fail;
        int i = (broken ? ArcValidator.HighestInstance(message) : chain.Instances) + 1;
        if (i > 50) return null;
        var alg = DkimCrypto.Name(o.Key.Algorithm);
        var time = (o.SigningTime ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();

        var aar = "ARC-Authentication-Results: i=" + i + "; " + o.AuthenticationResults.Trim() + "\r\n";

        var (bh, _) = DkimCanonicalizer.HashBody(message.Body.Span, DkimCanonicalization.Relaxed, DkimCrypto.Hash(o.Key.Algorithm), null);
        var signed = new List<string>();
        foreach (var name in o.Headers)
        {
            if (name.Equals("ARC-Seal", StringComparison.OrdinalIgnoreCase)) continue;
            int count = message.Headers.Count(h => h.Is(name));
            for (int k = 0; k < count; k++) signed.Add(name.ToLowerInvariant());
        }
        // Tags in alphabetical order with b= second, as common ARC signers write them; b= is filled in last.
        var amsTags = new List<string> { $"a={alg}", "b=", $"bh={Convert.ToBase64String(bh)}", "c=relaxed/relaxed", $"d={o.Domain}", $"h={string.Join(":", signed)}", $"i={i}", $"s={o.Selector}", $"t={time}" };
        var amsUnsigned = DkimSigner.Fold("ARC-Message-Signature", amsTags);
        var amsField = new DkimHeaderField("ARC-Message-Signature", Encoding.Latin1.GetBytes(amsUnsigned));
        var amsData = DkimVerifier.HeaderHashInput(message, signed, amsField, DkimCanonicalization.Relaxed);
        var ams = InsertSignature(amsUnsigned, o.Key.Sign(amsData)) + "\r\n";

        var (sets, _) = ArcValidator.Collect(message);
        var chainFields = broken ? [] : (sets ?? []).Select(s => (s.Results, s.MessageSignature, s.Seal)).ToList();
        var cv = broken ? "fail" : i == 1 ? "none" : "pass";
        var sealTags = new List<string> { $"a={alg}", "b=", $"cv={cv}", $"d={o.Domain}", $"i={i}", $"s={o.Selector}", $"t={time}" };
        var sealUnsigned = DkimSigner.Fold("ARC-Seal", sealTags);
        chainFields.Add((Field("ARC-Authentication-Results", aar), Field("ARC-Message-Signature", ams), Field("ARC-Seal", sealUnsigned)));
        var seal = InsertSignature(sealUnsigned, o.Key.Sign(ArcValidator.SealHashInput(chainFields))) + "\r\n";
        return [seal, ams, aar];
    }

    /// <summary>
    /// The Authentication-Results this host wrote, merged into one value for the ARC-Authentication-Results:
    /// "authserv-id; result; result ..." from every Authentication-Results header whose authserv-id is
    /// <paramref name="authServId"/>, top to bottom; null when there is none.
    /// </summary>
    public static string? MergeAuthenticationResults(DkimMessage message, string authServId)
    {
        var results = new List<string>();
        foreach (var h in message.Headers.Where(h => h.Is("Authentication-Results")))
        {
            var v = h.Value;
            int semi = v.IndexOf(';');
            var id = (semi < 0 ? v : v[..semi]).Trim();
            if (!id.Equals(authServId, StringComparison.OrdinalIgnoreCase)) continue;
            if (semi < 0) continue;
            results.AddRange(v[(semi + 1)..].Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        }
        return results.Count == 0 ? null : authServId + "; " + string.Join(";\r\n ", results);
    }

    private static DkimHeaderField Field(string name, string text) => new(name, Encoding.Latin1.GetBytes(text));

    /// <summary>
    /// Puts the base64 signature after the (empty) "b=" of an unsigned field, unfolded: a later ARC-Seal covers this
    /// field in relaxed form, where a fold inside b= would become a space; common ARC signers (and the ARC test
    /// suite's expected seals) keep b= on one line.
    /// </summary>
    private static string InsertSignature(string unsigned, byte[] signature)
    {
        int b = unsigned.IndexOf(" b=;", StringComparison.Ordinal);
        return unsigned[..(b + 3)] + Convert.ToBase64String(signature) + unsigned[(b + 3)..];
    }
}
