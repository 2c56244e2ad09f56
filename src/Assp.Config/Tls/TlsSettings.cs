using System.Net.Security;
using System.Security.Authentication;

namespace Assp.Config.Tls;

/// <summary>
/// The TLS options every encrypted connection of the proxy uses (SMTP listeners and STARTTLS, connections to the
/// MTA, the statistics port): SSL_version, SSL_cipher_list, SSLtimeout, maxSSLRenegotiations and SSLDEBUG.
/// Built once per configuration snapshot.
/// </summary>
public sealed class TlsSettings
{
    /// <summary>The versions to allow; None lets the system choose (every TLS version the OS still permits).</summary>
    public SslProtocols Protocols { get; }

    /// <summary>The suites in preference order, or null for the system's defaults.</summary>
    public IReadOnlyList<TlsCipherSuite>? CipherSuites { get; }

    /// <summary>Why SSL_cipher_list could not be applied on this platform, or null.</summary>
    public string? CipherListProblem { get; }

    /// <summary>How long a handshake may take (SSLtimeout); null when 0 (the connection's own timeouts apply).</summary>
    public TimeSpan? HandshakeTimeout { get; }

    /// <summary>SSLDEBUG: 0 quiet, 1 handshakes, 2 also certificates, 3 also the settings used.</summary>
    public int DebugLevel { get; }

    /// <summary>
    /// .NET cannot count client-initiated renegotiations, so any limit (maxSSLRenegotiations above 0) refuses them all;
    /// 0 (no limit) allows them.
    /// </summary>
    public bool AllowRenegotiation { get; }

    private readonly CipherSuitesPolicy? _policy;

    public TlsSettings(ConfigSnapshot cfg)
    {
        Protocols = TlsProtocolSpec.Parse(cfg["SSL_version"], out _);
        CipherSuites = OpenSslCipherList.Parse(cfg["SSL_cipher_list"], out _);
        if (CipherSuites is not null)
        {
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
                _policy = new CipherSuitesPolicy(CipherSuites);
            else
                CipherListProblem = "SSL_cipher_list cannot be applied on this operating system (.NET only sets cipher suites with OpenSSL); the system's defaults are used";
        }
        int seconds = cfg.GetInt("SSLtimeout", 5);
        HandshakeTimeout = seconds > 0 ? TimeSpan.FromSeconds(seconds) : null;
        DebugLevel = cfg.GetChoice("SSLDEBUG");
        AllowRenegotiation = cfg.GetInt("maxSSLRenegotiations", 10) == 0;
    }

    public static TlsSettings For(ConfigSnapshot cfg) => cfg.Derived("Tls.Settings", c => new TlsSettings(c));

    public void Apply(SslServerAuthenticationOptions options)
    {
        options.EnabledSslProtocols = Protocols;
        options.AllowRenegotiation = AllowRenegotiation;
        if (_policy is not null) options.CipherSuitesPolicy = _policy;
    }

    public void Apply(SslClientAuthenticationOptions options)
    {
        options.EnabledSslProtocols = Protocols;
        if (_policy is not null) options.CipherSuitesPolicy = _policy;
    }

    /// <summary>One line for the maillog at SSLDEBUG 3.</summary>
    public string Describe() =>
        $"protocols {(Protocols == SslProtocols.None ? "system default" : Protocols.ToString())}, ciphers " +
        (CipherSuites is null ? "system default" : string.Join(":", CipherSuites.Select(OpenSslCipherList.Name))) +
        $", handshake timeout {(HandshakeTimeout is { } t ? $"{t.TotalSeconds:0}s" : "none")}, client renegotiation {(AllowRenegotiation ? "allowed" : "refused")}";
}
