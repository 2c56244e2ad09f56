using Assp.Mime.Uris;

namespace Assp.Mime.Tests.Uris;

/// <summary>Cases from the official test list (publicsuffix.org tests/test_psl.txt, checkPublicSuffix),
/// adapted where the current list changed a rule.</summary>
public class PublicSuffixListTests
{
    [Theory]
    // null / malformed
    [InlineData(null, null)]
    [InlineData("", null)]
    // Mixed case.
    [InlineData("COM", null)]
    [InlineData("example.COM", "example.com")]
    [InlineData("WwW.example.COM", "example.com")]
    // Leading dot.
    [InlineData(".com", null)]
    [InlineData(".example", null)]
    [InlineData(".example.com", null)]
    [InlineData(".example.example", null)]
    // Unlisted TLD.
    [InlineData("example", null)]
    [InlineData("example.example", "example.example")]
    [InlineData("b.example.example", "example.example")]
    [InlineData("a.b.example.example", "example.example")]
    // TLD with only 1 rule.
    [InlineData("biz", null)]
    [InlineData("domain.biz", "domain.biz")]
    [InlineData("b.domain.biz", "domain.biz")]
    [InlineData("a.b.domain.biz", "domain.biz")]
    // TLD with some 2-level rules.
    [InlineData("com", null)]
    [InlineData("example.com", "example.com")]
    [InlineData("b.example.com", "example.com")]
    [InlineData("a.b.example.com", "example.com")]
    [InlineData("uk.com", null)]
    [InlineData("example.uk.com", "example.uk.com")]
    [InlineData("b.example.uk.com", "example.uk.com")]
    [InlineData("a.b.example.uk.com", "example.uk.com")]
    [InlineData("test.ac", "test.ac")]
    // TLD with only 1 (wildcard) rule.
    [InlineData("mm", null)]
    [InlineData("c.mm", null)]
    [InlineData("b.c.mm", "b.c.mm")]
    [InlineData("a.b.c.mm", "b.c.mm")]
    // More complex TLD.
    [InlineData("jp", null)]
    [InlineData("test.jp", "test.jp")]
    [InlineData("www.test.jp", "test.jp")]
    [InlineData("ac.jp", null)]
    [InlineData("test.ac.jp", "test.ac.jp")]
    [InlineData("www.test.ac.jp", "test.ac.jp")]
    [InlineData("kyoto.jp", null)]
    [InlineData("test.kyoto.jp", "test.kyoto.jp")]
    [InlineData("ide.kyoto.jp", null)]
    [InlineData("b.ide.kyoto.jp", "b.ide.kyoto.jp")]
    [InlineData("a.b.ide.kyoto.jp", "b.ide.kyoto.jp")]
    [InlineData("c.kobe.jp", null)]
    [InlineData("b.c.kobe.jp", "b.c.kobe.jp")]
    [InlineData("a.b.c.kobe.jp", "b.c.kobe.jp")]
    [InlineData("city.kobe.jp", "city.kobe.jp")]
    [InlineData("www.city.kobe.jp", "city.kobe.jp")]
    // TLD with a wildcard rule and exceptions.
    [InlineData("ck", null)]
    [InlineData("test.ck", null)]
    [InlineData("b.test.ck", "b.test.ck")]
    [InlineData("a.b.test.ck", "b.test.ck")]
    [InlineData("www.ck", "www.ck")]
    [InlineData("www.www.ck", "www.ck")]
    // US K12.
    [InlineData("us", null)]
    [InlineData("test.us", "test.us")]
    [InlineData("www.test.us", "test.us")]
    [InlineData("ak.us", null)]
    [InlineData("test.ak.us", "test.ak.us")]
    [InlineData("www.test.ak.us", "test.ak.us")]
    [InlineData("k12.ak.us", null)]
    [InlineData("test.k12.ak.us", "test.k12.ak.us")]
    [InlineData("www.test.k12.ak.us", "test.k12.ak.us")]
    // IDN labels.
    [InlineData("食狮.com.cn", "食狮.com.cn")]
    [InlineData("食狮.公司.cn", "食狮.公司.cn")]
    [InlineData("www.食狮.公司.cn", "食狮.公司.cn")]
    [InlineData("shishi.公司.cn", "shishi.公司.cn")]
    [InlineData("公司.cn", null)]
    [InlineData("食狮.中国", "食狮.中国")]
    [InlineData("www.食狮.中国", "食狮.中国")]
    [InlineData("shishi.中国", "shishi.中国")]
    [InlineData("中国", null)]
    // Same as above, but punycoded.
    [InlineData("xn--85x722f.com.cn", "xn--85x722f.com.cn")]
    [InlineData("xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn")]
    [InlineData("www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn")]
    [InlineData("shishi.xn--55qx5d.cn", "shishi.xn--55qx5d.cn")]
    [InlineData("xn--55qx5d.cn", null)]
    [InlineData("xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s")]
    [InlineData("www.xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s")]
    [InlineData("shishi.xn--fiqs8s", "shishi.xn--fiqs8s")]
    [InlineData("xn--fiqs8s", null)]
    // Everyday cases.
    [InlineData("www.example.co.uk", "example.co.uk")]
    [InlineData("co.uk", null)]
    [InlineData("example.co.uk.", "example.co.uk")]
    [InlineData("a..example.com", null)]
    [InlineData("192.168.1.1", null)]
    [InlineData("www.bbc.co.uk", "bbc.co.uk")]
    [InlineData("mail.google.com", "google.com")]
    [InlineData("sub.example.com.au", "example.com.au")]
    public void Registrable_domain(string? host, string? expected) =>
        Assert.Equal(expected, PublicSuffixList.GetRegistrableDomain(host));

    [Theory]
    [InlineData("foo.blogspot.com", true, "foo.blogspot.com")]
    [InlineData("foo.blogspot.com", false, "blogspot.com")]
    [InlineData("x.y.github.io", true, "y.github.io")]
    [InlineData("x.y.github.io", false, "github.io")]
    public void Private_section_is_optional(string host, bool includePrivate, string expected) =>
        Assert.Equal(expected, PublicSuffixList.GetRegistrableDomain(host, includePrivate));

    [Theory]
    [InlineData("www.example.co.uk", "co.uk")]
    [InlineData("a.b.c.kobe.jp", "c.kobe.jp")]
    [InlineData("www.city.kobe.jp", "kobe.jp")]
    [InlineData("example.unknowntld", "unknowntld")]
    public void Public_suffix(string host, string expected) => Assert.Equal(expected, PublicSuffixList.GetPublicSuffix(host));

    [Fact]
    public void Embedded_list_is_loaded_with_both_sections()
    {
        Assert.True(PublicSuffixList.Rules.Count > 9000);
        Assert.True(PublicSuffixList.Rules.PrivateCount > 2000);
        Assert.True(PublicSuffixList.IsKnownTld("com"));
        Assert.True(PublicSuffixList.IsKnownTld("ck"));      // only as "*.ck"
        Assert.True(PublicSuffixList.IsKnownTld("xn--fiqs8s"));
        Assert.False(PublicSuffixList.IsKnownTld("txt"));
        Assert.False(PublicSuffixList.IsKnownTld("co.uk"));
    }

    [Fact]
    public void Custom_list_can_be_parsed()
    {
        var rules = PublicSuffixRules.Parse("""
            // comment
            example
            *.wild.example
            !keep.wild.example
            // ===BEGIN PRIVATE DOMAINS===
            hosted.example
            """);
        Assert.Equal(4, rules.Count);
        Assert.Equal(1, rules.PrivateCount);
        Assert.Equal("a.b.wild.example", rules.GetRegistrableDomain("x.a.b.wild.example"));
        Assert.Equal("keep.wild.example", rules.GetRegistrableDomain("x.keep.wild.example"));
        Assert.Equal("me.hosted.example", rules.GetRegistrableDomain("www.me.hosted.example"));
        Assert.Equal("hosted.example", rules.GetRegistrableDomain("www.me.hosted.example", includePrivate: false));
    }
}
