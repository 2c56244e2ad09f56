using System.Security.Cryptography;
using Assp.Auth.Dkim;

namespace Assp.Auth.Tests.Dkim;

/// <summary>ASSP's DKIMgenConfig file format (dkim/dkimconfig.txt).</summary>
public sealed class DkimGenConfigTests
{
    private static readonly string RsaPem = RSA.Create(2048).ExportRSAPrivateKeyPem();
    private static readonly string EdPem = "-----BEGIN PRIVATE KEY-----\n" +
        Convert.ToBase64String(Convert.FromHexString("302e020100300506032b657004220420" + "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")) +
        "\n-----END PRIVATE KEY-----\n";

    private static DkimGenConfig Parse(string text) =>
        DkimGenConfig.Parse(text.Split('\n').Select((l, i) => (l, $"dkimconfig.txt:{i + 1}")), path => path switch
        {
            "rsa.pem" => RsaPem,
            "ed.pem" => EdPem,
            _ => throw new FileNotFoundException($"no such file {path}"),
        });

    [Fact]
    public void Domains_and_selectors_with_their_settings()
    {
        var c = Parse("""
            <Example.org>
             <sel1>
               Algorithm=rsa-sha1
               Method=relaxed
               Headers=Message-ID:From:Subject:To
               KeyFile=rsa.pem
               Identity=news@example.org
             </sel1>
             <sel2>
               KeyFile=ed.pem
               Method=simple/relaxed
             </sel2>
            </Example.org>
            <other.test>
              <s>
                KeyFile=rsa.pem
                Mode=DKIM
              </s>
            </other.test>
            """);
        Assert.Empty(c.Problems);
        Assert.Equal(["example.org", "other.test"], c.Domains.Order());
        var sels = c.For("EXAMPLE.ORG");
        Assert.Equal(2, sels.Count);
        var s1 = sels[0];
        Assert.Equal(("sel1", DkimCanonicalization.Relaxed, DkimCanonicalization.Simple), (s1.Selector, s1.HeaderCanonicalization, s1.BodyCanonicalization));
        Assert.Equal(["Message-ID", "From", "Subject", "To"], s1.Headers);
        Assert.Equal("news@example.org", s1.Identity);
        Assert.Equal(DkimAlgorithm.RsaSha256, s1.Key.Algorithm);   // rsa-sha1 is signed as rsa-sha256 (RFC 8301)
        Assert.True(sels[1].Key.IsEd25519);
        Assert.Equal((DkimCanonicalization.Simple, DkimCanonicalization.Relaxed), (sels[1].HeaderCanonicalization, sels[1].BodyCanonicalization));
        Assert.Equal(DkimSigningOptions.DefaultHeaders, sels[1].Headers);
        Assert.Contains(c.Pick("example.org")!.Selector, new[] { "sel1", "sel2" });
        Assert.Null(c.Pick("nowhere.test"));
    }

    [Fact]
    public void Broken_selectors_are_reported_with_their_place_and_left_out()
    {
        var c = Parse("""
            <example.org>
             <dk>
               Mode=Domainkey
               KeyFile=rsa.pem
               Method=relaxed
             </dk>
             <nokey>
               Method=relaxed
             </nokey>
             <missing>
               KeyFile=missing.pem
             </missing>
             <mismatch>
               Algorithm=ed25519-sha256
               KeyFile=rsa.pem
             </mismatch>
             <badmethod>
               KeyFile=rsa.pem
               Method=nofws
             </badmethod>
             <good>
               KeyFile=rsa.pem
             </good>
            </example.org>
            stray=line
            """);
        Assert.Equal(["good"], c.For("example.org").Select(s => s.Selector));
        Assert.Contains("dkimconfig.txt:2: selector dk of example.org: Method=relaxed is not nofws or simple (DomainKeys)", c.Problems);
        Assert.Contains("dkimconfig.txt:7: selector nokey of example.org: no KeyFile", c.Problems);
        Assert.Contains(c.Problems, p => p.StartsWith("dkimconfig.txt:10: selector missing of example.org: KeyFile missing.pem: no such file", StringComparison.Ordinal));
        Assert.Contains("dkimconfig.txt:13: selector mismatch of example.org: Algorithm=ed25519-sha256 does not match the RSA key in rsa.pem", c.Problems);
        Assert.Contains("dkimconfig.txt:17: selector badmethod of example.org: Method=nofws is not simple or relaxed", c.Problems);
        Assert.Contains("dkimconfig.txt:25: 'stray=line' is outside a selector block or not Key=Value", c.Problems);
    }

    [Fact]
    public void Domainkey_mode_selectors_sign_DomainKeys()
    {
        var c = Parse("""
            <example.org>
             <dk1>
               Mode=Domainkey
               KeyFile=rsa.pem
             </dk1>
             <dk2>
               Mode=Domainkey
               Method=simple
               Headers=From:To:Subject
               KeyFile=rsa.pem
             </dk2>
             <dk3>
               Mode=Domainkey
               KeyFile=ed.pem
             </dk3>
            </example.org>
            """);
        var s = c.For("example.org");
        Assert.Equal(["dk1", "dk2"], s.Select(x => x.Selector));
        Assert.True(s[0].DomainKeys && s[0].DomainKeysNofws && s[0].DomainKeysHeaders is null);
        Assert.True(s[1].DomainKeys && !s[1].DomainKeysNofws);
        Assert.Equal(["From", "To", "Subject"], s[1].DomainKeysHeaders!);
        Assert.Contains("dkimconfig.txt:12: selector dk3 of example.org: Mode=Domainkey needs an RSA key, ed.pem holds Ed25519", c.Problems);
        Assert.Null(c.PickDkim("example.org"));
    }
}
