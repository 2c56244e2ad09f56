using System.Security.Cryptography;
using Assp.Auth.Dkim;

namespace Assp.Auth.Arc;

/// <summary>One ARC set: the three header fields of one instance.</summary>
internal sealed record ArcSet(int Instance, DkimHeaderField Seal, DkimTagList SealTags, DkimHeaderField MessageSignature, DkimTagList AmsTags, DkimHeaderField Results, string ResultsValue);

/// <summary>RFC 8617 5.2 chain validation.</summary>
public sealed class ArcValidator(IDkimDns dns, DkimVerifierOptions? options = null)
{
    private const int MaxInstances = 50;
    private readonly DkimVerifier _keys = new(dns, options);

    public async Task<ArcResult> ValidateAsync(DkimMessage message, CancellationToken cancellationToken = default)
    {
        var (sets, structureError) = Collect(message);
        if (sets is null && structureError.Length == 0) return ArcResult.NoChain;
        if (sets is null) return Fail(structureError);
        int n = sets.Count;
        var newest = sets[^1];
        var sealDomain = (newest.SealTags["d"] ?? "").ToLowerInvariant();
        ArcResult Failed(string why) => new(ArcChainStatus.Fail, why, n, sealDomain, newest.ResultsValue, 0);

        if (newest.SealTags["cv"]?.ToLowerInvariant() == "fail") return Failed("newest ARC-Seal has cv=fail");
        foreach (var set in sets)
        {
            var cv = set.SealTags["cv"]?.ToLowerInvariant();
            if (set.Instance == 1 ? cv != "none" : cv != "pass") return Failed($"ARC-Seal i={set.Instance} has cv={cv}");
        }

        var ams = await VerifyMessageSignatureAsync(message, newest, cancellationToken).ConfigureAwait(false);
        if (ams.Length > 0) return Failed($"ARC-Message-Signature i={n}: {ams}");
        int oldestPass = 1;
        for (int i = n - 2; i >= 0; i--)
        {
            if ((await VerifyMessageSignatureAsync(message, sets[i], cancellationToken).ConfigureAwait(false)).Length > 0)
            {
                oldestPass = i + 2;
                break;
            }
        }

        for (int i = n - 1; i >= 0; i--)
        {
            var seal = await VerifySealAsync(sets, i, cancellationToken).ConfigureAwait(false);
            if (seal.Length > 0) return Failed($"ARC-Seal i={i + 1}: {seal}");
        }
        return new ArcResult(ArcChainStatus.Pass, "", n, sealDomain, newest.ResultsValue, oldestPass);

        ArcResult Fail(string why) => new(ArcChainStatus.Fail, why, 0, "", "", 0);
    }

    /// <summary>
    /// The ARC sets in instance order, or null: without an error when there is no ARC header at all, with one when
    /// the sets are incomplete, duplicated or malformed.
    /// </summary>
    internal static (List<ArcSet>? Sets, string Error) Collect(DkimMessage message)
    {
        var seals = new Dictionary<int, (DkimHeaderField, DkimTagList)>();
        var sigs = new Dictionary<int, (DkimHeaderField, DkimTagList)>();
        var results = new Dictionary<int, (DkimHeaderField, string)>();
        bool any = false;
        foreach (var h in message.Headers)
        {
            if (h.Is("ARC-Seal") || h.Is("ARC-Message-Signature"))
            {
                any = true;
                var tags = DkimTagList.Parse(h.Value, out var error);
                if (tags is null) return (null, $"{h.Name}: {error}");
                if (!TryInstance(tags["i"], out int i)) return (null, $"{h.Name} has no valid i=");
                var target = h.Is("ARC-Seal") ? seals : sigs;
                if (!target.TryAdd(i, (h, tags))) return (null, $"two {h.Name} headers with i={i}");
            }
            else if (h.Is("ARC-Authentication-Results"))
            {
                any = true;
                var value = h.Value;
                int semi = value.IndexOf(';');
                var first = semi < 0 ? value : value[..semi];
                var eq = first.IndexOf('=');
                if (eq < 0 || first[..eq].Trim() != "i" || !TryInstance(first[(eq + 1)..], out int i))
                    return (null, "ARC-Authentication-Results has no valid i=");
                if (!results.TryAdd(i, (h, semi < 0 ? "" : value[(semi + 1)..].Trim()))) return (null, $"two ARC-Authentication-Results headers with i={i}");
            }
        }
        if (!any) return (null, "");
        int n = Math.Max(seals.Keys.DefaultIfEmpty(0).Max(), Math.Max(sigs.Keys.DefaultIfEmpty(0).Max(), results.Keys.DefaultIfEmpty(0).Max()));
        if (n > MaxInstances) return (null, $"more than {MaxInstances} ARC sets");
        var sets = new List<ArcSet>(n);
        for (int i = 1; i <= n; i++)
        {
            if (!seals.TryGetValue(i, out var s) || !sigs.TryGetValue(i, out var m) || !results.TryGetValue(i, out var r))
                return (null, $"ARC set i={i} is incomplete");
            sets.Add(new ArcSet(i, s.Item1, s.Item2, m.Item1, m.Item2, r.Item1, r.Item2));
        }
        if (seals.Count != n || sigs.Count != n || results.Count != n) return (null, "ARC instances are not numbered 1 to N");
        return (sets, "");
    }

    /// <summary>The highest i= of any ARC-Seal, even in a broken chain (0 without one).</summary>
    internal static int HighestInstance(DkimMessage message)
    {
        int max = 0;
        foreach (var h in message.Headers.Where(h => h.Is("ARC-Seal")))
            if (DkimTagList.Parse(h.Value, out _) is { } t && TryInstance(t["i"], out int i)) max = Math.Max(max, i);
        return max;
    }

    /// <summary>True when the ARC-Seal with the highest i= carries cv=fail: the chain's failure is already recorded.</summary>
    internal static bool NewestSealRecordsFailure(DkimMessage message)
    {
        int max = 0;
        string? cv = null;
        foreach (var h in message.Headers.Where(h => h.Is("ARC-Seal")))
            if (DkimTagList.Parse(h.Value, out _) is { } t && TryInstance(t["i"], out int i) && i > max)
            {
                max = i;
                cv = t["cv"];
            }
        return string.Equals(cv?.Trim(), "fail", StringComparison.OrdinalIgnoreCase);
    }

    private static bool TryInstance(string? s, out int i)
    {
        i = 0;
        s = s?.Trim();
        return !string.IsNullOrEmpty(s) && s.All(char.IsAsciiDigit) && s.Length <= 2 && int.TryParse(s, out i) && i is >= 1 and <= MaxInstances;
    }

    /// <summary>Checks an ARC-Message-Signature like a DKIM signature; empty when it verifies, else the reason.</summary>
    private async Task<string> VerifyMessageSignatureAsync(DkimMessage message, ArcSet set, CancellationToken cancellationToken)
    {
        var t = set.AmsTags;
        foreach (var required in new[] { "a", "b", "bh", "d", "h", "s" })
            if (t[required] is null) return $"no {required}=";
        if (DkimCrypto.ParseAlgorithm(t["a"]!) is not { } alg || alg == DkimAlgorithm.RsaSha1) return $"unsupported algorithm {t["a"]}";
        // Without c= an AMS is read as relaxed/relaxed, as the ARC suite and its reference implementation do.
        var c = (t["c"] ?? "relaxed/relaxed").Split('/');
        var hc = DkimCanonicalizer.ParseName(c[0].Trim());
        var bc = c.Length > 1 ? DkimCanonicalizer.ParseName(c[1].Trim()) : DkimCanonicalization.Simple;
        if (hc is null || bc is null || c.Length > 2) return "unknown canonicalization";
        var h = t["h"]!.Split(':', StringSplitOptions.TrimEntries).Select(x => x.ToLowerInvariant()).ToArray();
        if (h.Contains("arc-seal")) return "h= includes ARC-Seal";
        byte[] sig, bh;
        try
        {
            sig = Convert.FromBase64String(DkimTagList.WithoutWhitespace(t["b"]!));
            bh = Convert.FromBase64String(DkimTagList.WithoutWhitespace(t["bh"]!));
        }
        catch (FormatException)
        {
            return "b= or bh= is not base64";
        }
        var (key, why, _) = await _keys.FetchKeyAsync(t["s"]!, t["d"]!.ToLowerInvariant(), alg, cancellationToken).ConfigureAwait(false);
        if (key is null) return why;
        var (hash, _) = DkimCanonicalizer.HashBody(message.Body.Span, bc.Value, DkimCrypto.Hash(alg), null);
        if (!CryptographicOperations.FixedTimeEquals(hash, bh)) return "body hash did not verify";
        var data = DkimVerifier.HeaderHashInput(message, h, set.MessageSignature, hc.Value);
        return DkimCrypto.Verify(alg, key, data, sig) ? "" : "signature did not verify";
    }

    /// <summary>Checks the ARC-Seal of sets[index] over all sets up to it (RFC 8617 5.1.1); empty when it verifies.</summary>
    private async Task<string> VerifySealAsync(List<ArcSet> sets, int index, CancellationToken cancellationToken)
    {
        var t = sets[index].SealTags;
        foreach (var required in new[] { "a", "b", "cv", "d", "s" })
            if (t[required] is null) return $"no {required}=";
        if (t["h"] is not null) return "h= is not allowed in ARC-Seal";
        if (DkimCrypto.ParseAlgorithm(t["a"]!) is not { } alg || alg == DkimAlgorithm.RsaSha1) return $"unsupported algorithm {t["a"]}";
        byte[] sig;
        try { sig = Convert.FromBase64String(DkimTagList.WithoutWhitespace(t["b"]!)); }
        catch (FormatException) { return "b= is not base64"; }
        var (key, why, _) = await _keys.FetchKeyAsync(t["s"]!, t["d"]!.ToLowerInvariant(), alg, cancellationToken).ConfigureAwait(false);
        if (key is null) return why;
        return DkimCrypto.Verify(alg, key, SealHashInput(sets.Take(index + 1).Select(s => (s.Results, s.MessageSignature, s.Seal)).ToList()), sig)
            ? "" : "signature did not verify";
    }

    /// <summary>
    /// What an ARC-Seal signs: for each set in order its AAR, AMS and AS, relaxed; the last AS with an empty b= and
    /// no line terminator.
    /// </summary>
    internal static byte[] SealHashInput(IReadOnlyList<(DkimHeaderField Aar, DkimHeaderField Ams, DkimHeaderField As)> sets)
    {
        var data = new List<byte>(2048);
        for (int i = 0; i < sets.Count; i++)
        {
            DkimCanonicalizer.AppendHeader(data, sets[i].Aar.Raw.Span, DkimCanonicalization.Relaxed);
            DkimCanonicalizer.AppendHeader(data, sets[i].Ams.Raw.Span, DkimCanonicalization.Relaxed);
            if (i < sets.Count - 1)
                DkimCanonicalizer.AppendHeader(data, sets[i].As.Raw.Span, DkimCanonicalization.Relaxed);
            else
                DkimCanonicalizer.AppendHeader(data, DkimSignature.WithoutSignatureValue(sets[i].As.Raw.Span), DkimCanonicalization.Relaxed, withoutTerminator: true);
        }
        return [.. data];
    }
}
