namespace Assp.Auth.Dkim;

/// <summary>A parsed DKIM-Signature header (RFC 6376 3.5), or the reason it could not be used.</summary>
public sealed class DkimSignature
{
    private DkimSignature() { }

    public required DkimHeaderField Field { get; init; }
    public DkimTagList Tags { get; private init; } = null!;
    public DkimAlgorithm Algorithm { get; private init; }
    public string AlgorithmName { get; private init; } = "";
    public DkimCanonicalization HeaderCanonicalization { get; private init; }
    public DkimCanonicalization BodyCanonicalization { get; private init; }
    public string Domain { get; private init; } = "";
    public string Selector { get; private init; } = "";
    public string Identity { get; private init; } = "";
    public IReadOnlyList<string> SignedHeaders { get; private init; } = [];
    public long? BodyLength { get; private init; }
    public long? Timestamp { get; private init; }
    public long? Expiration { get; private init; }
    public byte[] Signature { get; private init; } = [];
    public byte[] BodyHash { get; private init; } = [];
    public string SignatureText { get; private init; } = "";

    /// <summary>
    /// Parses and validates a DKIM-Signature field. On failure returns null and a result naming what is wrong
    /// (permerror, or neutral for an algorithm we do not know).
    /// </summary>
    public static DkimSignature? Parse(DkimHeaderField field, out DkimSignatureResult? failure)
    {
        failure = null;
        var tags = DkimTagList.Parse(field.Value, out var error);
        if (tags is null)
        {
            failure = Failed(DkimStatus.PermError, "", "", "", "", error, "");
            return null;
        }
        string d = (tags["d"] ?? "").ToLowerInvariant();
        string s = tags["s"] ?? "";
        string a = tags["a"] ?? "";
        string b = DkimTagList.WithoutWhitespace(tags["b"] ?? "");
        string i = tags["i"] ?? (d.Length > 0 ? "@" + d : "");
        var headerB = b.Length > 8 ? b[..8] : b;
        DkimSignatureResult Fail(DkimStatus st, string why) => Failed(st, d, s, i, a, why, headerB);

        if (tags["v"] != "1") { failure = Fail(DkimStatus.PermError, tags["v"] is null ? "signature has no v=" : "signature version is not 1"); return null; }
        foreach (var required in new[] { "a", "b", "bh", "d", "h", "s" })
            if (!tags.Contains(required)) { failure = Fail(DkimStatus.PermError, $"signature has no {required}="); return null; }
        if (DkimCrypto.ParseAlgorithm(a) is not { } algorithm) { failure = Fail(DkimStatus.Neutral, $"unsupported algorithm {a}"); return null; }
        if (algorithm == DkimAlgorithm.RsaSha1) { failure = Fail(DkimStatus.PermError, "rsa-sha1 is not accepted (RFC 8301)"); return null; }

        var c = (tags["c"] ?? "simple/simple").Split('/');
        var hc = DkimCanonicalizer.ParseName(c[0].Trim());
        var bc = c.Length > 1 ? DkimCanonicalizer.ParseName(c[1].Trim()) : DkimCanonicalization.Simple;
        if (hc is null || bc is null || c.Length > 2) { failure = Fail(DkimStatus.PermError, $"unknown canonicalization {tags["c"]}"); return null; }

        var h = tags["h"]!.Split(':', StringSplitOptions.TrimEntries).Select(x => x.ToLowerInvariant()).ToArray();
        if (h.Any(x => x.Length == 0)) { failure = Fail(DkimStatus.PermError, "h= has an empty header name"); return null; }
        if (!h.Contains("from")) { failure = Fail(DkimStatus.PermError, "From is not signed"); return null; }
        if (d.Length == 0 || s.Length == 0) { failure = Fail(DkimStatus.PermError, "empty d= or s="); return null; }

        var at = i.LastIndexOf('@');
        if (at < 0) { failure = Fail(DkimStatus.PermError, "i= has no @"); return null; }
        var idDomain = i[(at + 1)..].ToLowerInvariant();
        if (idDomain != d && !idDomain.EndsWith("." + d, StringComparison.Ordinal)) { failure = Fail(DkimStatus.PermError, "i= domain is not d= or a subdomain of it"); return null; }

        if (tags["q"] is { } q && !q.Split(':').Any(x => x.Trim().StartsWith("dns/txt", StringComparison.OrdinalIgnoreCase)))
        { failure = Fail(DkimStatus.PermError, $"unsupported query method {q}"); return null; }

        long? l = null, t = null, x = null;
        if (tags["l"] is { } ls) { if (!TryNumber(ls, out var v)) { failure = Fail(DkimStatus.PermError, "l= is not a number"); return null; } l = v; }
        if (tags["t"] is { } ts) { if (!TryNumber(ts, out var v)) { failure = Fail(DkimStatus.PermError, "t= is not a number"); return null; } t = v; }
        if (tags["x"] is { } xs) { if (!TryNumber(xs, out var v)) { failure = Fail(DkimStatus.PermError, "x= is not a number"); return null; } x = v; }
        if (t is { } tt && x is { } xx && xx < tt) { failure = Fail(DkimStatus.PermError, "x= is before t="); return null; }

        byte[] sig, bh;
        try
        {
            sig = Convert.FromBase64String(b);
            bh = Convert.FromBase64String(DkimTagList.WithoutWhitespace(tags["bh"]!));
        }
        catch (FormatException)
        {
            failure = Fail(DkimStatus.PermError, "b= or bh= is not base64");
            return null;
        }

        return new DkimSignature
        {
            Field = field,
            Tags = tags,
            Algorithm = algorithm,
            AlgorithmName = a,
            HeaderCanonicalization = hc.Value,
            BodyCanonicalization = bc.Value,
            Domain = d,
            Selector = s,
            Identity = i,
            SignedHeaders = h,
            BodyLength = l,
            Timestamp = t,
            Expiration = x,
            Signature = sig,
            BodyHash = bh,
            SignatureText = b,
        };
    }

    internal static DkimSignatureResult Failed(DkimStatus status, string d, string s, string i, string a, string why, string headerB) =>
        new(status, d, s, i, a, why, headerB, false, [], false);

    private static bool TryNumber(string s, out long v)
    {
        s = s.Trim();
        v = 0;
        if (s.Length == 0 || !s.All(char.IsAsciiDigit)) return false;
        // Up to 12 digits per RFC 6376; longer numbers are read as "far in the future" rather than rejected.
        if (!long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out v)) v = long.MaxValue;
        return true;
    }

    /// <summary>
    /// The header field with the value of its b= tag removed (RFC 6376 3.7), as raw bytes: everything else,
    /// folding included, stays as it was.
    /// </summary>
    public static byte[] WithoutSignatureValue(ReadOnlySpan<byte> raw, string tag = "b")
    {
        var text = DkimCanonicalizer.Latin1(raw);
        int colon = text.IndexOf(':');
        int pos = colon + 1;
        while (pos < text.Length)
        {
            // At the start of a tag-spec: skip whitespace, read the name.
            int nameStart = pos;
            while (nameStart < text.Length && text[nameStart] is ' ' or '\t' or '\r' or '\n') nameStart++;
            int eq = text.IndexOf('=', nameStart);
            int semi = text.IndexOf(';', nameStart);
            if (eq < 0) break;
            if (semi >= 0 && semi < eq) { pos = semi + 1; continue; }
            var name = text[nameStart..eq].TrimEnd(' ', '\t', '\r', '\n');
            int valueEnd = semi < 0 ? TrimTerminatorEnd(text) : semi;
            if (name == tag)
                return System.Text.Encoding.Latin1.GetBytes(text[..(eq + 1)] + text[valueEnd..]);
            if (semi < 0) break;
            pos = semi + 1;
        }
        return raw.ToArray();
    }

    private static int TrimTerminatorEnd(string text)
    {
        int end = text.Length;
        while (end > 0 && text[end - 1] is '\r' or '\n') end--;
        return end;
    }
}
