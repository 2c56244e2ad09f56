using System.Collections.Frozen;
using System.Globalization;
using System.Net.Security;

namespace Assp.Config.Tls;

/// <summary>
/// Reads an OpenSSL cipher string (SSL_cipher_list, e.g. "DEFAULT:!aNULL:!RC4" or "ECDHE+AESGCM:!SHA1") into the
/// ordered TLS cipher suites .NET is given. Names and keywords come from the OpenSSL table in openssl-ciphers.tsv;
/// the operators are OpenSSL's: plain adds, "!" removes for good, "-" removes, "+" moves to the end, "a+b" is the
/// intersection, "@STRENGTH" sorts by key length. As in OpenSSL the string only governs TLS 1.2 and older; TLS 1.3
/// keeps its own three suites unless TLS 1.3 suite names (TLS_AES_256_GCM_SHA384 ...) are listed.
/// </summary>
public static class OpenSslCipherList
{
    private sealed record Cipher(TlsCipherSuite Suite, string Name, int Bits, FrozenSet<string> Keywords);

    private static readonly Lazy<(Cipher[] All, FrozenSet<string> Keywords)> s_table = new(LoadTable);

    private static readonly TlsCipherSuite[] s_tls13Default =
        [TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, TlsCipherSuite.TLS_AES_128_GCM_SHA256];

    private static readonly FrozenDictionary<string, TlsCipherSuite> s_tls13Names = new Dictionary<string, TlsCipherSuite>(StringComparer.Ordinal)
    {
        ["TLS_AES_256_GCM_SHA384"] = TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        ["TLS_CHACHA20_POLY1305_SHA256"] = TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        ["TLS_AES_128_GCM_SHA256"] = TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        ["TLS_AES_128_CCM_SHA256"] = TlsCipherSuite.TLS_AES_128_CCM_SHA256,
        ["TLS_AES_128_CCM_8_SHA256"] = TlsCipherSuite.TLS_AES_128_CCM_8_SHA256,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// The suites in preference order, or null when the value is empty (the system's defaults apply). An error names
    /// the part of the value that cannot be used.
    /// </summary>
    public static IReadOnlyList<TlsCipherSuite>? Parse(string value, out string? error)
    {
        error = null;
        value = value.Trim();
        if (value.Length == 0) return null;
        var (all, keywords) = s_table.Value;
        var list = new List<Cipher>();
        var banned = new HashSet<TlsCipherSuite>();
        var tls13 = new List<TlsCipherSuite>();
        foreach (var token in value.Split([':', ',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.StartsWith('@'))
            {
                if (token == "@STRENGTH") list = [.. list.OrderByDescending(c => c.Bits)];
                else if (!token.StartsWith("@SECLEVEL=", StringComparison.Ordinal))
                {
                    error = $"'{token}' is not a cipher-string command (only @STRENGTH and @SECLEVEL=n are)";
                    return null;
                }
                // @SECLEVEL is left to the system's OpenSSL policy.
                continue;
            }
            char op = token[0] is '!' or '-' or '+' ? token[0] : ' ';
            var body = op == ' ' ? token : token[1..];
            if (s_tls13Names.TryGetValue(body, out var suite13))
            {
                if (op == ' ') { if (!tls13.Contains(suite13)) tls13.Add(suite13); }
                else tls13.Remove(suite13);
                continue;
            }
            IEnumerable<Cipher> selected = all;
            foreach (var part in body.Split('+'))
            {
                if (all.FirstOrDefault(c => c.Name.Equals(part, StringComparison.OrdinalIgnoreCase)) is { } named)
                    selected = selected.Where(c => c == named);
                else if (keywords.Contains(part))
                    selected = selected.Where(c => c.Keywords.Contains(part));
                else if (op is '!' or '-')
                    selected = [];  // removing something OpenSSL here does not have changes nothing
                else
                {
                    error = $"'{part}' is neither a cipher nor a cipher-string keyword the system's OpenSSL knows";
                    return null;
                }
            }
            var matched = selected.ToArray();
            switch (op)
            {
                case '!':
                    foreach (var c in matched) banned.Add(c.Suite);
                    list.RemoveAll(c => banned.Contains(c.Suite));
                    break;
                case '-':
                    list.RemoveAll(matched.Contains);
                    break;
                case '+':
                    var moved = list.Where(matched.Contains).ToArray();
                    list.RemoveAll(matched.Contains);
                    list.AddRange(moved);
                    break;
                default:
                    foreach (var c in matched)
                        if (!banned.Contains(c.Suite) && !list.Contains(c)) list.Add(c);
                    break;
            }
        }
        if (list.Count == 0 && tls13.Count == 0)
        {
            error = $"'{value}' leaves no cipher the system's OpenSSL can use";
            return null;
        }
        return [.. (tls13.Count > 0 ? tls13 : (IEnumerable<TlsCipherSuite>)s_tls13Default), .. list.Select(c => c.Suite)];
    }

    /// <summary>The OpenSSL name of a suite, for log lines (the IANA name when OpenSSL has none).</summary>
    public static string Name(TlsCipherSuite suite) =>
        s_table.Value.All.FirstOrDefault(c => c.Suite == suite)?.Name ?? suite.ToString();

    private static (Cipher[], FrozenSet<string>) LoadTable()
    {
        using var stream = typeof(OpenSslCipherList).Assembly.GetManifestResourceStream("Assp.Config.openssl-ciphers.tsv")
            ?? throw new InvalidOperationException("embedded resource openssl-ciphers.tsv is missing");
        using var reader = new StreamReader(stream);
        var ciphers = new List<Cipher>();
        var keywords = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var cols = line.Split('\t');
            var tags = cols[3].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            keywords.UnionWith(tags);
            if (cols[0] == "-") continue;
            ciphers.Add(new Cipher((TlsCipherSuite)ushort.Parse(cols[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), cols[1],
                int.Parse(cols[2], CultureInfo.InvariantCulture), tags.ToFrozenSet(StringComparer.Ordinal)));
        }
        return (ciphers.ToArray(), keywords.ToFrozenSet(StringComparer.Ordinal));
    }
}
