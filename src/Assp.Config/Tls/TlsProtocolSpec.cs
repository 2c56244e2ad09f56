using System.Security.Authentication;

namespace Assp.Config.Tls;

/// <summary>
/// Reads SSL_version (IO::Socket::SSL syntax: "SSLv23:!SSLv3:!SSLv2", "TLSv1_2", "SSLv23:!TLSv1:!TLSv1_1") into the
/// TLS versions .NET may negotiate. SSL 2 and 3 do not exist in .NET: excluding them changes nothing, asking for only
/// them is an error. When every TLS version stays allowed the system's own choice is used (SslProtocols.None), so the
/// operating system's crypto policy still rules out what it considers broken.
/// </summary>
public static class TlsProtocolSpec
{
#pragma warning disable SYSLIB0039 // TLS 1.0 and 1.1 are obsolete, but an admin may still name them on purpose
    private const SslProtocols AllTls = SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13;

    public static SslProtocols Parse(string value, out string? error)
    {
        error = null;
        SslProtocols allowed = 0;
        bool anyPositive = false, legacyOnly = false;
        var excluded = (SslProtocols)0;
        foreach (var raw in value.Split([':', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            bool negated = raw.StartsWith('!');
            var name = (negated ? raw[1..] : raw).ToUpperInvariant().Replace("_", "", StringComparison.Ordinal);
            SslProtocols? versions = name switch
            {
                "SSLV23" or "SSLV2/3" => AllTls,
                "SSLV2" or "SSLV3" => 0,
                "TLSV1" => SslProtocols.Tls,
                "TLSV11" => SslProtocols.Tls11,
                "TLSV12" => SslProtocols.Tls12,
                "TLSV13" => SslProtocols.Tls13,
                _ => null,
            };
            if (versions is null)
            {
                error = $"'{raw}' is not an SSL/TLS version (SSLv23, TLSv1, TLSv1_1, TLSv1_2, TLSv1_3, each may have ! in front)";
                return SslProtocols.None;
            }
            if (negated) excluded |= versions.Value;
            else
            {
                anyPositive = true;
                if (versions.Value == 0) legacyOnly = true;
                allowed |= versions.Value;
            }
        }
        if (!anyPositive) allowed = AllTls;
        allowed &= ~excluded;
        if (allowed == 0)
        {
            error = legacyOnly
                ? $"'{value}' asks for SSL 2/3 only, which .NET does not implement (TLS 1.0 to 1.3 are possible)"
                : $"'{value}' excludes every TLS version";
            return SslProtocols.None;
        }
        return allowed == AllTls ? SslProtocols.None : allowed;
    }
#pragma warning restore SYSLIB0039
}
