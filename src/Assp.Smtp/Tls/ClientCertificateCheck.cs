using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Assp.Config;

namespace Assp.Smtp.Tls;

/// <summary>
/// Decides whether a client certificate is good enough where one is required (smtpSSLRequireClientCert,
/// statSSLRequireClientCert): it must be there and chain to SSLCaFile when that is set, else to the system's trusted
/// roots.
/// </summary>
public static class ClientCertificateCheck
{
    public static bool Accepts(ConfigSnapshot cfg, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null) return false;
        var authorities = Authorities(cfg);
        if (authorities is null) return errors == SslPolicyErrors.None;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var cert = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(cert);
    }

    private sealed record Holder(X509Certificate2Collection? Authorities);

    private static X509Certificate2Collection? Authorities(ConfigSnapshot cfg) => cfg.Derived("Tls.ClientAuthorities", c =>
    {
        var file = c["SSLCaFile"].Trim();
        if (file.Length == 0) return new Holder(null);
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(Path.IsPathRooted(file) ? file : Path.Combine(c.BaseDirectory, file));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // An unreadable CA file must not let every certificate through: nothing chains to an empty set.
        }
        return new Holder(collection);
    }).Authorities;
}
