using Assp.Checks;

namespace Assp.Checks.Tests;

public class LocalDomainsTests
{
    private static LocalDomains Domains() =>
        LocalDomains.For(TestConfig.Create(("localDomains", "Example.org|kiosk.example|*.Kiosk.example.net"), ("myName", "proxy.test")));

    [Theory]
    [InlineData("example.org")]
    [InlineData("EXAMPLE.ORG")]
    [InlineData("example.org.")]
    [InlineData("KIOSK.example")]
    [InlineData("team.kiosk.example.net")]
    [InlineData("Team.KIOSK.Example.NET")]
    [InlineData("proxy.test")]
    [InlineData("assp.local")]
    public void Local_domains_match_in_any_ascii_case(string domain) => Assert.True(Domains().IsLocal(domain));

    [Theory]
    [InlineData("sub.example.org")]
    [InlineData("example.org.far.example")]
    [InlineData("xkiosk.example.net")]
    [InlineData("team.kiosk.example.net.far.example")]
    [InlineData("[127.0.0.1]")]
    // Unicode lookalikes are other domains: the Kelvin sign (U+212A) and the dotless i (U+0131) fold to 'k'/'I'
    // under Unicode case rules, but not in DNS.
    [InlineData("\u212Aiosk.example")]
    [InlineData("team.\u212Aiosk.example.net")]
    [InlineData("team.k\u0131osk.example.net")]
    [InlineData("k\u0131osk.example")]
    [InlineData("ex\u0430mple.org")]
    public void Lookalikes_and_other_domains_are_foreign(string domain) => Assert.False(Domains().IsLocal(domain));
}
