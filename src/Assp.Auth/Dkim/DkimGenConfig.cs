namespace Assp.Auth.Dkim;

/// <summary>One selector of one domain from ASSP's DKIM signing file, with its key loaded.</summary>
public sealed record DkimGenSelector(string Domain, string Selector, DkimSigningKey Key, DkimCanonicalization HeaderCanonicalization,
    DkimCanonicalization BodyCanonicalization, IReadOnlyList<string> Headers, string? Identity)
{
    public DkimSigningOptions ToOptions(DateTimeOffset? now = null) => new()
    {
        Domain = Domain,
        Selector = Selector,
        Key = Key,
        HeaderCanonicalization = HeaderCanonicalization,
        BodyCanonicalization = BodyCanonicalization,
        Headers = Headers,
        Identity = Identity,
        SigningTime = now,
    };

    /// <summary>Mode=Domainkey: this selector makes a DomainKey-Signature (RFC 4870) instead of a DKIM-Signature.</summary>
    public bool DomainKeys { get; init; }

    /// <summary>For DomainKeys: c=nofws (else simple).</summary>
    public bool DomainKeysNofws { get; init; } = true;

    /// <summary>For DomainKeys: the Headers= names for h=, or null (no h=: every header field is signed).</summary>
    public IReadOnlyList<string>? DomainKeysHeaders { get; init; }

    public DomainKeysSigningOptions ToDomainKeysOptions() => new()
    {
        Domain = Domain,
        Selector = Selector,
        Key = Key.Rsa ?? throw new InvalidOperationException("DomainKeys need an RSA key"),
        Nofws = DomainKeysNofws,
        Headers = DomainKeysHeaders,
    };
}

/// <summary>
/// ASSP's DKIM/ARC signing configuration (the DKIMgenConfig file, dkim/dkimconfig.txt): XML-like blocks
/// <c>&lt;domain&gt; &lt;selector&gt; Key=Value ... &lt;/selector&gt; &lt;/domain&gt;</c>. Keys used: KeyFile (PEM, RSA or
/// Ed25519; relative paths from the ASSP base folder), Algorithm (rsa-sha256, ed25519-sha256; rsa-sha1 is signed as
/// rsa-sha256, RFC 8301), Method (c=, "relaxed" alone meaning relaxed/simple), Headers (names separated by ':'),
/// Identity (i=), Mode (DKIM, or Domainkey for a DomainKey-Signature: RSA only, Method nofws (default) or simple,
/// Headers optional — without it every header field is signed).
/// Names are case-sensitive as in ASSP, domains are matched in lower case.
/// </summary>
public sealed class DkimGenConfig
{
    private readonly Dictionary<string, List<DkimGenSelector>> _domains;

    private DkimGenConfig(Dictionary<string, List<DkimGenSelector>> domains, IReadOnlyList<string> problems)
    {
        _domains = domains;
        Problems = problems;
    }

    public static readonly DkimGenConfig Empty = new(new Dictionary<string, List<DkimGenSelector>>(), []);

    /// <summary>What was wrong, each with its file location (the selector concerned is left out).</summary>
    public IReadOnlyList<string> Problems { get; }

    public IEnumerable<string> Domains => _domains.Keys;

    /// <summary>The selectors configured for a domain (exact name, lower case), or none.</summary>
    public IReadOnlyList<DkimGenSelector> For(string domain) =>
        _domains.TryGetValue(domain.ToLowerInvariant(), out var list) ? list : [];

    /// <summary>One of the domain's selectors, picked at random as ASSP does (one signature per mail), or null.</summary>
    public DkimGenSelector? Pick(string domain)
    {
        var list = For(domain);
        return list.Count == 0 ? null : list[Random.Shared.Next(list.Count)];
    }

    /// <summary>One of the domain's DKIM (not DomainKeys) selectors at random, or null: ARC seals need a DKIM-style key.</summary>
    public DkimGenSelector? PickDkim(string domain)
    {
        var list = For(domain).Where(s => !s.DomainKeys).ToList();
        return list.Count == 0 ? null : list[Random.Shared.Next(list.Count)];
    }

    /// <summary>Parses the file's lines (comments already removed); <paramref name="readFile"/> reads a KeyFile.</summary>
    public static DkimGenConfig Parse(IEnumerable<(string Text, string Location)> lines, Func<string, string> readFile)
    {
        var domains = new Dictionary<string, List<DkimGenSelector>>(StringComparer.Ordinal);
        var problems = new List<string>();
        string? domain = null, selector = null, selectorAt = null;
        Dictionary<string, string>? values = null;
        foreach (var (raw, at) in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            if (line.StartsWith("</", StringComparison.Ordinal) && line.EndsWith('>'))
            {
                var name = line[2..^1].Trim();
                if (selector is not null && name == selector)
                {
                    if (Build(domain!, selector, values!, readFile, out var why) is { } built)
                    {
                        if (!domains.TryGetValue(built.Domain, out var list)) domains[built.Domain] = list = [];
                        list.Add(built);
                    }
                    else problems.Add($"{selectorAt}: selector {selector} of {domain}: {why}");
                    selector = null;
                    values = null;
                }
                else if (selector is null && domain is not null && name == domain) domain = null;
                else problems.Add($"{at}: unexpected {line}");
                continue;
            }
            if (line.StartsWith('<') && line.EndsWith('>'))
            {
                var name = line[1..^1].Trim();
                if (domain is null) domain = name;
                else if (selector is null) { selector = name; selectorAt = at; values = new Dictionary<string, string>(StringComparer.Ordinal); }
                else problems.Add($"{at}: {line} inside selector {selector}");
                continue;
            }
            int eq = line.IndexOf('=');
            if (values is null || eq <= 0)
            {
                problems.Add($"{at}: '{line}' is outside a selector block or not Key=Value");
                continue;
            }
            values[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        if (selector is not null || domain is not null) problems.Add($"end of file: <{selector ?? domain}> is not closed");
        return new DkimGenConfig(domains, problems);
    }

    private static DkimGenSelector? Build(string domain, string selector, Dictionary<string, string> v, Func<string, string> readFile, out string why)
    {
        why = "";
        bool domainKeys = false;
        if (v.TryGetValue("Mode", out var mode) && !mode.Equals("DKIM", StringComparison.OrdinalIgnoreCase))
        {
            domainKeys = mode.Equals("Domainkey", StringComparison.OrdinalIgnoreCase) || mode.Equals("DomainKeys", StringComparison.OrdinalIgnoreCase)
                || mode.Equals("DK", StringComparison.OrdinalIgnoreCase);
            if (!domainKeys)
            {
                why = $"Mode={mode} is neither DKIM nor Domainkey";
                return null;
            }
        }
        if (!v.TryGetValue("KeyFile", out var keyFile) || keyFile.Length == 0)
        {
            why = "no KeyFile";
            return null;
        }
        DkimSigningKey key;
        try
        {
            key = DkimSigningKey.FromPem(readFile(keyFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            why = $"KeyFile {keyFile}: {e.Message}";
            return null;
        }
        if (domainKeys) return BuildDomainKeys(domain, selector, v, key, keyFile, out why);
        var algorithm = v.TryGetValue("Algorithm", out var a) ? a.ToLowerInvariant() : (key.IsEd25519 ? "ed25519-sha256" : "rsa-sha256");
        if (algorithm is not ("rsa-sha256" or "rsa-sha1" or "ed25519-sha256"))
        {
            why = $"Algorithm={a} is not supported";
            return null;
        }
        if ((algorithm == "ed25519-sha256") != key.IsEd25519)
        {
            why = $"Algorithm={algorithm} does not match the {(key.IsEd25519 ? "Ed25519" : "RSA")} key in {keyFile}";
            return null;
        }
        var method = (v.TryGetValue("Method", out var m) ? m : "relaxed").Split('/');
        var hc = DkimCanonicalizer.ParseName(method[0].Trim());
        var bc = method.Length > 1 ? DkimCanonicalizer.ParseName(method[1].Trim()) : DkimCanonicalization.Simple;
        if (hc is null || bc is null || method.Length > 2)
        {
            why = $"Method={m} is not simple or relaxed";
            return null;
        }
        IReadOnlyList<string> headers = v.TryGetValue("Headers", out var h)
            ? [.. h.Split(':', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)]
            : DkimSigningOptions.DefaultHeaders;
        return new DkimGenSelector(domain.ToLowerInvariant(), selector, key, hc.Value, bc.Value, headers,
            v.TryGetValue("Identity", out var i) && i.Length > 0 ? i : null);
    }

    private static DkimGenSelector? BuildDomainKeys(string domain, string selector, Dictionary<string, string> v, DkimSigningKey key, string keyFile, out string why)
    {
        why = "";
        if (key.IsEd25519)
        {
            why = $"Mode=Domainkey needs an RSA key, {keyFile} holds Ed25519";
            return null;
        }
        if (v.TryGetValue("Algorithm", out var a) && !a.Equals("rsa-sha1", StringComparison.OrdinalIgnoreCase))
        {
            why = $"Algorithm={a} is not rsa-sha1, the only DomainKeys algorithm";
            return null;
        }
        var method = v.TryGetValue("Method", out var m) ? m.Trim().ToLowerInvariant() : "nofws";
        if (method is not ("nofws" or "simple"))
        {
            why = $"Method={m} is not nofws or simple (DomainKeys)";
            return null;
        }
        IReadOnlyList<string>? headers = v.TryGetValue("Headers", out var h)
            ? [.. h.Split(':', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)]
            : null;
        return new DkimGenSelector(domain.ToLowerInvariant(), selector, key, DkimCanonicalization.Simple, DkimCanonicalization.Simple,
            headers ?? [], null)
        {
            DomainKeys = true,
            DomainKeysNofws = method == "nofws",
            DomainKeysHeaders = headers,
        };
    }
}
