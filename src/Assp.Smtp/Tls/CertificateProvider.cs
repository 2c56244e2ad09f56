using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Assp.Config;

namespace Assp.Smtp.Tls;

/// <summary>
/// The server certificate for STARTTLS and SSL listeners: SSLCertFile + SSLKeyFile (PEM, relative paths under the
/// base folder; an encrypted key is opened with SSLPKPassword). When they do not exist, a self-signed pair for myName is generated once and written there, so
/// TLS works from the first start.
/// </summary>
public static class CertificateProvider
{
    public static X509Certificate2? Load(ConfigSnapshot cfg, Action<string>? log = null) => cfg.Derived("Smtp.Certificate", c => new Holder(LoadCore(c, log))).Certificate;

    private sealed record Holder(X509Certificate2? Certificate);

    private static X509Certificate2? LoadCore(ConfigSnapshot cfg, Action<string>? log)
    {
        var certPath = Resolve(cfg, cfg["SSLCertFile"]);
        var keyPath = Resolve(cfg, cfg["SSLKeyFile"]);
        if (certPath is null || keyPath is null)
        {
            log?.Invoke("TLS: SSLCertFile or SSLKeyFile is empty; STARTTLS is not offered");
            return null;
        }
        try
        {
            if (!File.Exists(certPath) || !File.Exists(keyPath))
            {
                GenerateSelfSigned(cfg["myName"], certPath, keyPath);
                log?.Invoke($"TLS: generated a self-signed certificate for {cfg["myName"]} in {certPath}");
            }
            // SSLPKPassword: the key file is encrypted PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY").
            var password = cfg["SSLPKPassword"];
            using var pem = password.Length > 0
                ? X509Certificate2.CreateFromEncryptedPemFile(certPath, password, keyPath)
                : X509Certificate2.CreateFromPemFile(certPath, keyPath);
            // Re-import so the key is usable by SslStream on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
        {
            var hint = cfg["SSLPKPassword"].Length > 0 ? " (is SSLPKPassword the key's password?)"
                : KeyIsEncrypted(keyPath) ? " (the key is encrypted: set SSLPKPassword)" : "";
            log?.Invoke($"TLS: cannot use {certPath} / {keyPath}: {ex.Message}{hint}; STARTTLS is not offered");
            return null;
        }
    }

    private static bool KeyIsEncrypted(string keyPath)
    {
        try { return File.ReadAllText(keyPath).Contains("ENCRYPTED", StringComparison.Ordinal); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    private static string? Resolve(ConfigSnapshot cfg, string value)
    {
        value = value.Trim();
        if (value.Length == 0) return null;
        return Path.IsPathRooted(value) ? value : Path.GetFullPath(Path.Combine(cfg.BaseDirectory, value));
    }

    public static void GenerateSelfSigned(string hostName, string certPath, string keyPath)
    {
        using var rsa = RSA.Create(2048);
        var name = string.IsNullOrWhiteSpace(hostName) ? "localhost" : hostName.Trim();
        var request = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
        Directory.CreateDirectory(Path.GetDirectoryName(certPath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(keyPath)!);
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
