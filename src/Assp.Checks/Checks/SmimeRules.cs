using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// The signing rules of ASSP_AFCSMIME (one per line of its file): "sender|*domain|[group] =&gt; certfile=PEM,
/// keyfile=PEM, keypass=[password], emailaddress=[tag|SAN], rcpt=[-]addr ..." and "-sender|*domain|[group]" lines
/// that exclude. Keys are addresses, domains or wildcards (* and ?); the first key that matches the envelope sender
/// in reverse sorted order wins. A rule whose certificate or key cannot be read, is not valid now, is not for
/// digitalSignature, has no email address or cannot sign is left out with a problem naming the option and line.
/// </summary>
public sealed class SmimeRules
{
    public const string Option = "ASSP_AFCSMIME";

    /// <summary>One usable rule: the certificate with its private key and the address it certifies.</summary>
    public sealed record Rule(string Key, X509Certificate2 Certificate, string EmailAddress, IReadOnlyList<string> Include, IReadOnlyList<string> Exclude)
    {
        /// <summary>rcpt=: with include entries the recipient must match one, and it must match no exclude entry.</summary>
        public bool AllowsRecipient(string? recipient)
        {
            if (Include.Count == 0 && Exclude.Count == 0) return true;
            var r = recipient ?? "";
            if (Include.Count > 0 && !Include.Any(k => Matches(k, r))) return false;
            return !Exclude.Any(k => Matches(k, r));
        }
    }

    public static readonly SmimeRules Empty = new([], [], []);

    private SmimeRules(IReadOnlyList<Rule> rules, IReadOnlyList<string> excluded, IReadOnlyList<string> problems)
    {
        Rules = rules;
        Excluded = excluded;
        Problems = problems;
    }

    /// <summary>The signing rules, in the order they are tried.</summary>
    public IReadOnlyList<Rule> Rules { get; }
    /// <summary>Senders that are never signed (the "-" lines).</summary>
    public IReadOnlyList<string> Excluded { get; }
    public IReadOnlyList<string> Problems { get; }

    public static SmimeRules For(ConfigSnapshot cfg) => cfg.Derived("Checks.SmimeRules", c => Parse(c, c.GetListEntries(Option).Select(e => e.Text), DateTimeOffset.UtcNow));

    /// <summary>The rule for a sender, or null when none matches or the sender is excluded.</summary>
    public Rule? ForSender(string? sender)
    {
        if (string.IsNullOrEmpty(sender) || Excluded.Any(k => Matches(k, sender))) return null;
        return Rules.FirstOrDefault(r => Matches(r.Key, sender));
    }

    public bool IsExcluded(string? sender) => !string.IsNullOrEmpty(sender) && Excluded.Any(k => Matches(k, sender));

    internal static SmimeRules Parse(ConfigSnapshot cfg, IEnumerable<string> lines, DateTimeOffset now)
    {
        var problems = new List<string>();
        // Keys first: a line's sender side may list several keys and groups; each key gets the line's settings.
        var entries = new List<(string Key, bool Skip, string? Values, string Line)>();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            var arrow = line.IndexOf("=>", StringComparison.Ordinal);
            var keys = (arrow < 0 ? line : line[..arrow]).Trim();
            var values = arrow < 0 ? null : line[(arrow + 2)..].Trim();
            bool skip = keys.StartsWith('-');
            if (skip) keys = keys[1..].Trim();
            foreach (var item in keys.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (item.Length > 2 && item[0] == '[' && item[^1] == ']')
                {
                    if (cfg.Groups.TryGet(item[1..^1].Trim(), out var members) && members.Count > 0)
                        entries.AddRange(members.Select(m => (m.Text.Trim().ToLowerInvariant(), skip, values, line)));
                    else problems.Add($"{Option}: group {item} in '{Shown(line)}' is not defined or empty - ignored");
                    continue;
                }
                entries.Add((item.ToLowerInvariant(), skip, values, line));
            }
        }

        var rules = new List<Rule>();
        var excluded = new List<string>();
        foreach (var (key, skip, values, line) in entries.OrderByDescending(e => e.Key, StringComparer.Ordinal))
        {
            if (skip)
            {
                excluded.Add(key);
                continue;
            }
            if (string.IsNullOrEmpty(values))
            {
                problems.Add($"{Option}: invalid entry '{Shown(line)}' is ignored - check the syntax");
                continue;
            }
            if (Load(key, values, line, now, problems) is { } rule) rules.Add(rule);
        }
        return new SmimeRules(rules, excluded, problems);
    }

    /// <summary>An entry's line with its password hidden, for messages.</summary>
    private static string Shown(string line) => Regex.Replace(line, @"keypass\s*=\s*[^,]*", "keypass=***", RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));

    private static Rule? Load(string key, string values, string line, DateTimeOffset now, List<string> problems)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in values.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq < 0) settings[pair] = "";
            else settings[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
        }
        var shown = Shown(line);
        if (!settings.TryGetValue("certfile", out var certFile) || certFile.Length == 0)
        {
            problems.Add($"{Option}: missing 'certfile' in '{shown}' - entry is ignored");
            return null;
        }
        if (!settings.TryGetValue("keyfile", out var keyFile) || keyFile.Length == 0)
        {
            problems.Add($"{Option}: missing 'keyfile' in '{shown}' - entry is ignored");
            return null;
        }
        foreach (var unknown in settings.Keys.Where(k => k.ToLowerInvariant() is not ("certfile" or "keyfile" or "keypass" or "emailaddress" or "rcpt")))
            problems.Add($"{Option}: ignoring invalid/unused parameter '{unknown}' in '{shown}'");
        if (!File.Exists(certFile))
        {
            problems.Add($"{Option}: can't find 'certfile' {certFile} in '{shown}' - entry is ignored");
            return null;
        }
        if (!File.Exists(keyFile))
        {
            problems.Add($"{Option}: can't find 'keyfile' {keyFile} in '{shown}' - entry is ignored");
            return null;
        }
        X509Certificate2 cert;
        try
        {
            var pass = settings.GetValueOrDefault("keypass") ?? "";
            cert = pass.Length > 0 ? X509Certificate2.CreateFromEncryptedPemFile(certFile, pass, keyFile) : X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            problems.Add($"{Option}: error while reading the certificate '{certFile}' with the key '{keyFile}' - {ex.Message} - entry is ignored");
            return null;
        }
        if (cert.NotBefore.ToUniversalTime() > now.UtcDateTime)
        {
            problems.Add($"{Option}: the certificate '{certFile}' is not yet valid - notBefore: {cert.NotBefore.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}");
            return null;
        }
        if (cert.NotAfter.ToUniversalTime() < now.UtcDateTime)
        {
            problems.Add($"{Option}: the certificate '{certFile}' is no longer valid - notAfter: {cert.NotAfter.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}");
            return null;
        }
        var usage = cert.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (usage is null || (usage.KeyUsages & X509KeyUsageFlags.DigitalSignature) == 0)
        {
            problems.Add($"{Option}: the certificate '{certFile}' is not valid for SMIME signing - available key usages are: '{usage?.KeyUsages.ToString() ?? "none"}'");
            return null;
        }
        var email = CertificateEmail(cert, settings.GetValueOrDefault("emailaddress"));
        if (email is null)
        {
            problems.Add($"{Option}: the subject of the certificate '{certFile}' contains no valid email address 'emailAddress' - {cert.Subject}");
            return null;
        }
        try
        {
            SmimeSigner.Signature(cert, "\r\n"u8.ToArray(), now);
        }
        catch (CryptographicException ex)
        {
            problems.Add($"{Option}: can't create SMIME signature for '{shown}' - entry is ignored - {ex.Message}");
            return null;
        }
        var include = new List<string>();
        var exclude = new List<string>();
        if (settings.GetValueOrDefault("rcpt") is { Length: > 0 } rcpt)
        {
            var words = rcpt.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < words.Length; i++)
            {
                var w = words[i];
                if (w == "-" && i + 1 < words.Length) exclude.Add(words[++i].ToLowerInvariant());
                else if (w.StartsWith('-')) exclude.Add(w[1..].ToLowerInvariant());
                else include.Add(w.ToLowerInvariant());
            }
        }
        return new Rule(key, cert, email, include, exclude);
    }

    private const string EmailOid = "1.2.840.113549.1.9.1";

    /// <summary>The address the certificate is for: the subject's emailAddress, or the subject element named by
    /// emailaddress= (CN, Email, ...), or with emailaddress=SAN (and when the subject has none) the first rfc822Name
    /// of the subject alternative names.</summary>
    internal static string? CertificateEmail(X509Certificate2 cert, string? tag)
    {
        bool san = string.Equals(tag, "SAN", StringComparison.OrdinalIgnoreCase);
        string? found = null;
        if (!san)
        {
            foreach (var rdn in cert.SubjectName.EnumerateRelativeDistinguishedNames())
            {
                if (rdn.HasMultipleElements) continue;
                var oid = rdn.GetSingleElementType();
                bool wanted = string.IsNullOrEmpty(tag) || tag.Equals("emailaddress", StringComparison.OrdinalIgnoreCase)
                    ? oid.Value == EmailOid
                    : tag.Equals(oid.FriendlyName, StringComparison.OrdinalIgnoreCase) || tag.Equals(oid.Value, StringComparison.Ordinal)
                      || (oid.Value == EmailOid && tag.ToLowerInvariant() is "email" or "e");
                if (wanted && rdn.GetSingleElementValue() is { } v && IsAddress(v)) { found = v; break; }
            }
        }
        found ??= SanEmails(cert).FirstOrDefault(IsAddress);
        return found?.Trim().ToLowerInvariant();
    }

    private static bool IsAddress(string v) => v.IndexOf('@') is > 0 and var at && at < v.Length - 1 && !v.Any(char.IsWhiteSpace);

    /// <summary>The rfc822Name entries ([1] IA5String) of the subject alternative name extension.</summary>
    private static IEnumerable<string> SanEmails(X509Certificate2 cert)
    {
        var ext = cert.Extensions["2.5.29.17"];
        if (ext is null) yield break;
        var names = new List<string>();
        try
        {
            var seq = new AsnReader(ext.RawData, AsnEncodingRules.DER).ReadSequence();
            var rfc822 = new Asn1Tag(TagClass.ContextSpecific, 1);
            while (seq.HasData)
            {
                if (seq.PeekTag().HasSameClassAndValue(rfc822)) names.Add(seq.ReadCharacterString(UniversalTagNumber.IA5String, rfc822));
                else seq.ReadEncodedValue();
            }
        }
        catch (AsnContentException) { }
        foreach (var n in names) yield return n;
    }

    /// <summary>Does an address match a key: an address, a domain (with or without a leading @), or a wildcard
    /// pattern (* and ?) over the address or, for a key without @, over the domain.</summary>
    public static bool Matches(string key, string address)
    {
        var a = address.Trim().Trim('<', '>').ToLowerInvariant();
        var at = a.LastIndexOf('@');
        var domain = at >= 0 ? a[(at + 1)..] : a;
        var k = key.ToLowerInvariant();
        if (k == "*") return true;
        if (k.StartsWith('@')) return Glob(k[1..], domain);
        return k.Contains('@') ? Glob(k, a) : Glob(k, domain);
    }

    /// <summary>Wildcard match without backtracking blow-up (* any run, ? one character).</summary>
    private static bool Glob(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t])) { p++; t++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
            else if (star >= 0) { p = star + 1; t = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
