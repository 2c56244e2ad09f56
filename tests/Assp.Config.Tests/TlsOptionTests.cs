using System.Net.Security;
using System.Security.Authentication;
using Assp.Config.Tls;
using Xunit;

namespace Assp.Config.Tests;

#pragma warning disable SYSLIB0039 // the tests name TLS 1.0/1.1 because admins may
public class TlsOptionTests
{
    private static ConfigSnapshot Load(TestPaths.TempDir dir, string cfgText)
    {
        dir.File("assp.cfg", cfgText);
        return new ConfigLoader(Registry.OptionRegistry.Default) { ExportGroups = false }.Load(new ConfigSource(dir.Path));
    }

    [Theory]
    [InlineData("SSLv23:!SSLv3:!SSLv2", SslProtocols.None)]
    [InlineData("sslv23:!sslv3;!sslv2", SslProtocols.None)]
    [InlineData("TLSv1_2", SslProtocols.Tls12)]
    [InlineData("TLSv12:TLSv13", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("SSLv23:!TLSv1:!TLSv1_1", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("SSLv2/3:!TLSv1_3", SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12)]
    [InlineData("!TLSv1", SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13)]
    public void SSL_version_becomes_the_TLS_versions_dotnet_allows(string value, SslProtocols expected)
    {
        Assert.Equal(expected, TlsProtocolSpec.Parse(value, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("SSLv3", "SSL 2/3 only")]
    [InlineData("SSLv23:!TLSv1:!TLSv1_1:!TLSv1_2:!TLSv1_3", "excludes every TLS version")]
    [InlineData("TLSv1_4", "'TLSv1_4' is not an SSL/TLS version")]
    public void SSL_version_that_dotnet_cannot_honour_is_an_error_naming_it(string value, string expected)
    {
        TlsProtocolSpec.Parse(value, out var error);
        Assert.NotNull(error);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Cipher_list_follows_the_openssl_operators()
    {
        var suites = OpenSslCipherList.Parse("ECDHE+AESGCM:!aECDSA", out var error);
        Assert.Null(error);
        Assert.NotNull(suites);
        // TLS 1.3 keeps its suites (the cipher string only governs TLS 1.2 and older, as in OpenSSL).
        Assert.Equal(TlsCipherSuite.TLS_AES_256_GCM_SHA384, suites[0]);
        var tls12 = suites.Skip(3).ToArray();
        Assert.Equal([TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256], tls12);

        // "+" moves to the end, "-" removes but allows adding back, "!" removes for good.
        var moved = OpenSslCipherList.Parse("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:+AES128", out _)!.Skip(3).ToArray();
        Assert.Equal([TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256], moved);
        var readded = OpenSslCipherList.Parse("AES256-SHA:-AES256-SHA:AES256-SHA", out _)!.Skip(3).ToArray();
        Assert.Equal([TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA], readded);
        var banned = OpenSslCipherList.Parse("AES256-SHA:AES128-SHA:!AES256-SHA:AES256-SHA", out _)!.Skip(3).ToArray();
        Assert.Equal([TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA], banned);
    }

    [Fact]
    public void Usual_admin_cipher_strings_are_accepted_and_drop_what_they_exclude()
    {
        var suites = OpenSslCipherList.Parse("DEFAULT:!aNULL:!RC4:!MD5", out var error);
        Assert.Null(error);
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, suites!);
        var withAnon = OpenSslCipherList.Parse("ALL", out error)!;
        Assert.Contains(withAnon, s => s.ToString().Contains("_anon_", StringComparison.Ordinal));
        var noAnon = OpenSslCipherList.Parse("ALL:!LOW:!EXP:!ADH", out error)!;
        Assert.Null(error);
        Assert.DoesNotContain(noAnon, s => s.ToString().Contains("_DH_anon_", StringComparison.Ordinal));
        var strong = OpenSslCipherList.Parse("HIGH:!aNULL:!SHA1:@STRENGTH", out error)!;
        Assert.Null(error);
        Assert.DoesNotContain(TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA, strong);
        Assert.Null(OpenSslCipherList.Parse("  ", out error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("RC4-SHA", "'RC4-SHA' is neither a cipher")]
    [InlineData("RC4:MEDIUM", "leaves no cipher")]
    [InlineData("HIGH:@FOO", "'@FOO' is not a cipher-string command")]
    public void Cipher_list_the_system_cannot_honour_is_an_error_naming_the_part(string value, string expected)
    {
        Assert.Null(OpenSslCipherList.Parse(value, out var error));
        Assert.NotNull(error);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Tls13_suite_names_replace_the_tls13_defaults()
    {
        var suites = OpenSslCipherList.Parse("TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES256-GCM-SHA384", out var error)!;
        Assert.Null(error);
        Assert.Equal([TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384], suites);
    }

    [Fact]
    public void Bad_values_in_assp_cfg_are_errors_naming_option_and_value_and_the_default_is_used()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Load(dir, "SSL_version:=SSLv3\nSSL_cipher_list:=RC4-MD5\n");
        var versionError = Assert.Single(cfg.Issues, i => i.Option == "SSL_version");
        Assert.Equal(IssueSeverity.Error, versionError.Severity);
        Assert.Equal("SSLv3", versionError.Value);
        Assert.Equal("SSLv23:!SSLv3:!SSLv2", cfg["SSL_version"]);
        var cipherError = Assert.Single(cfg.Issues, i => i.Option == "SSL_cipher_list");
        Assert.Contains("RC4-MD5", cipherError.Message);
        Assert.Equal("", cfg["SSL_cipher_list"]);
    }

    [Fact]
    public void Settings_carry_the_options_into_the_dotnet_options()
    {
        using var dir = new TestPaths.TempDir();
        var cfg = Load(dir, "SSL_version:=TLSv1_2\nSSL_cipher_list:=ECDHE-RSA-AES256-GCM-SHA384\nSSLtimeout:=7\nmaxSSLRenegotiations:=0\nSSLDEBUG:=2\n");
        Assert.False(cfg.HasErrors);
        var tls = TlsSettings.For(cfg);
        var server = new SslServerAuthenticationOptions();
        tls.Apply(server);
        Assert.Equal(SslProtocols.Tls12, server.EnabledSslProtocols);
        Assert.NotNull(server.CipherSuitesPolicy);
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.CipherSuites!);
        Assert.True(server.AllowRenegotiation);
        Assert.Equal(TimeSpan.FromSeconds(7), tls.HandshakeTimeout);
        Assert.Equal(2, tls.DebugLevel);
        Assert.Contains("ECDHE-RSA-AES256-GCM-SHA384", tls.Describe());

        var defaults = TlsSettings.For(Load(dir, ""));
        var client = new SslClientAuthenticationOptions();
        defaults.Apply(client);
        Assert.Equal(SslProtocols.None, client.EnabledSslProtocols);
        Assert.Null(client.CipherSuitesPolicy);
        Assert.False(defaults.AllowRenegotiation);   // maxSSLRenegotiations 10: .NET cannot count, so none are allowed
        Assert.Equal(TimeSpan.FromSeconds(5), defaults.HandshakeTimeout);
        Assert.Null(TlsSettings.For(Load(dir, "SSLtimeout:=0\n")).HandshakeTimeout);
    }
}

public class TcpBufferSizeTests
{
    [Theory]
    [InlineData("tcprecv=65536, tcpsnd=131072", 65536, 131072)]
    [InlineData("tcprcv = 8192|sslrcv=0|sslsnd=16384", 8192, null)]
    [InlineData("", null, null)]
    public void TCPBufferSize_gives_the_tcp_sizes(string value, int? receive, int? send)
    {
        var sizes = Net.TcpBufferSizes.Parse(value, out var error);
        Assert.Null(error);
        Assert.Equal((receive, send), (sizes.Receive, sizes.Send));
    }

    [Theory]
    [InlineData("tcprecv=4096", "sizes are 8192 to 99999999")]
    [InlineData("tcpsnd=0", "sizes are 8192 to 99999999")]
    [InlineData("udpsnd=9000", "'udpsnd' is not one of")]
    [InlineData("tcprecv", "is not name=size")]
    public void Bad_TCPBufferSize_is_an_error_naming_the_part(string value, string expected)
    {
        Assert.Contains(expected, Registry.OptionRegistry.Default.Get("TCPBufferSize").Validate(value));
    }

    [Fact]
    public void The_sizes_are_set_on_the_socket()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        int before = socket.SendBufferSize;
        var wanted = before * 2 + 8192;
        new Net.TcpBufferSizes(null, wanted).Apply(socket);
        // Linux reports double what was asked (its bookkeeping share); either way it is at least the request.
        Assert.True(socket.SendBufferSize >= wanted, $"{socket.SendBufferSize} < {wanted}");
    }
}
