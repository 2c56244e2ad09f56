using System.Net;
using System.Security.Cryptography;
using Assp.Smtp.Tls;

namespace Assp.Smtp.Tests;

/// <summary>The SSL-failed cache (banFailedSSLIP, noBanFailedSSLIP) and the encrypted key (SSLPKPassword).</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-tls-" + Guid.NewGuid().ToString("N"));

    public TlsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly IPAddress Public = IPAddress.Parse("203.0.113.9");
    private static readonly IPAddress Private = IPAddress.Parse("192.168.1.20");

    [Fact]
    public void Public_ips_are_banned_at_once_private_ones_at_the_second_failure_for_twelve_hours()
    {
        var time = new ManualTime();
        var cache = new SslFailedCache(time);
        var cfg = BlockReportTestSupport.Config(_dir);   // banFailedSSLIP 3 (both)
        Assert.True(cache.RecordFailure(Public, cfg));
        Assert.True(cache.IsBanned(Public));
        Assert.False(cache.RecordFailure(Private, cfg));
        Assert.False(cache.IsBanned(Private));
        Assert.True(cache.RecordFailure(Private, cfg));
        Assert.True(cache.IsBanned(Private));
        time.Now += TimeSpan.FromHours(11);
        Assert.True(cache.IsBanned(Public));
        time.Now += TimeSpan.FromHours(1);
        Assert.False(cache.IsBanned(Public));
        Assert.Empty(cache.Banned());
    }

    [Fact]
    public void The_choice_says_whose_failures_count_and_acceptAllMail_counts_as_private()
    {
        var cache = new SslFailedCache(new ManualTime());
        var publicOnly = BlockReportTestSupport.Config(_dir, ("banFailedSSLIP", "2"));
        cache.RecordFailure(Private, publicOnly);
        cache.RecordFailure(Private, publicOnly);
        Assert.False(cache.IsBanned(Private));
        Assert.True(cache.RecordFailure(Public, publicOnly));

        var privateOnly = BlockReportTestSupport.Config(_dir, ("banFailedSSLIP", "1"), ("acceptAllMail", "198.51.100.0/24"));
        var partner = IPAddress.Parse("198.51.100.7");
        Assert.False(cache.RecordFailure(IPAddress.Parse("203.0.113.10"), privateOnly));
        Assert.False(cache.RecordFailure(partner, privateOnly));
        Assert.True(cache.RecordFailure(partner, privateOnly));

        var excluded = BlockReportTestSupport.Config(_dir, ("noBanFailedSSLIP", "203.0.113.0/24"));
        var other = IPAddress.Parse("203.0.113.11");
        Assert.False(cache.RecordFailure(other, excluded));
        Assert.False(cache.IsBanned(other));
        Assert.False(cache.RecordFailure(other, BlockReportTestSupport.Config(_dir, ("banFailedSSLIP", "0"))));
    }

    [Fact]
    public void A_good_handshake_forgets_the_first_failure()
    {
        var cache = new SslFailedCache(new ManualTime());
        var cfg = BlockReportTestSupport.Config(_dir);
        cache.RecordFailure(Private, cfg);
        cache.RecordSuccess(Private);
        Assert.False(cache.RecordFailure(Private, cfg));   // a fresh first failure again
    }

    [Fact]
    public void An_encrypted_key_is_opened_with_SSLPKPassword_and_a_wrong_one_is_reported()
    {
        var cert = Path.Combine(_dir, "certs", "c.pem");
        var key = Path.Combine(_dir, "certs", "k.pem");
        CertificateProvider.GenerateSelfSigned("mx.example.com", cert, key);
        using (var rsa = RSA.Create())
        {
            rsa.ImportFromPem(File.ReadAllText(key));
            File.WriteAllText(key, rsa.ExportEncryptedPkcs8PrivateKeyPem("s3cret",
                new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000)));
        }
        var logged = new List<string>();
        var withPassword = BlockReportTestSupport.Config(_dir, ("SSLCertFile", "certs/c.pem"), ("SSLKeyFile", "certs/k.pem"), ("SSLPKPassword", "s3cret"));
        var loaded = CertificateProvider.Load(withPassword, logged.Add);
        Assert.NotNull(loaded);
        Assert.True(loaded.HasPrivateKey);
        Assert.Contains("mx.example.com", loaded.Subject);

        var without = BlockReportTestSupport.Config(_dir, ("SSLCertFile", "certs/c.pem"), ("SSLKeyFile", "certs/k.pem"));
        Assert.Null(CertificateProvider.Load(without, logged.Add));
        Assert.Contains(logged, l => l.Contains("the key is encrypted: set SSLPKPassword", StringComparison.Ordinal));
        var wrong = BlockReportTestSupport.Config(_dir, ("SSLCertFile", "certs/c.pem"), ("SSLKeyFile", "certs/k.pem"), ("SSLPKPassword", "nope"));
        Assert.Null(CertificateProvider.Load(wrong, logged.Add));
        Assert.Contains(logged, l => l.Contains("is SSLPKPassword the key's password?", StringComparison.Ordinal));
    }
}
