using System.Net;
using Assp.Mime.Uris;

namespace Assp.Mime.Tests.Uris;

public class UriExtractorTests
{
    private static FoundUri One(string text, bool isHtml = false)
    {
        var all = UriExtractor.Extract(text, isHtml);
        return Assert.Single(all);
    }

    private static string[] Hosts(string text, bool isHtml = false) =>
        UriExtractor.Extract(text, isHtml).Select(u => u.Host).ToArray();

    [Theory]
    [InlineData("Visit http://www.example.com/page?x=1 today", "http://www.example.com/page?x=1", "www.example.com", "example.com")]
    [InlineData("secure: https://login.example.co.uk.", "https://login.example.co.uk", "login.example.co.uk", "example.co.uk")]
    [InlineData("(see http://example.org/a_(b))", "http://example.org/a_(b)", "example.org", "example.org")]
    [InlineData("link: <http://example.net/x>", "http://example.net/x", "example.net", "example.net")]
    [InlineData("\"http://example.net/q\"", "http://example.net/q", "example.net", "example.net")]
    [InlineData("go to www.shop.example.de now", "www.shop.example.de", "www.shop.example.de", "example.de")]
    [InlineData("ftp://files.example.com/pub", "ftp://files.example.com/pub", "files.example.com", "example.com")]
    [InlineData("http://example.com:8080/x", "http://example.com:8080/x", "example.com", "example.com")]
    public void Finds_plain_urls(string text, string original, string host, string registrable)
    {
        var u = One(text);
        Assert.Equal(original, u.Original);
        Assert.Equal(host, u.Host);
        Assert.Equal(registrable, u.RegistrableDomain);
        Assert.False(u.IsIp);
    }

    [Fact]
    public void Scheme_is_reported()
    {
        Assert.Equal("https", One("https://a.example.com/").Scheme);
        Assert.Null(One("www.example.com").Scheme);
        Assert.Equal("mailto", One("write to mailto:sales@shop.example.com please").Scheme);
        Assert.Equal("shop.example.com", One("mailto:sales@shop.example.com?subject=hi").Host);
    }

    [Theory]
    [InlineData("Buy at cheap-pills.com today", "cheap-pills.com")]
    [InlineData("cheap-pills.ru/order", "cheap-pills.ru")]
    [InlineData("Go to spam.xyz/now!", "spam.xyz")]
    [InlineData("see example.co.uk.", "example.co.uk")]
    [InlineData("it's at mail.example.it", "mail.example.it")]
    [InlineData("bit.ly/abc123", "bit.ly")]
    [InlineData("t.me/joinchat/x", "t.me")]
    public void Finds_bare_domains_with_real_tlds(string text, string host) => Assert.Equal([host], Hosts(text));

    [Theory]
    [InlineData("open file.txt and readme.md")]
    [InlineData("e.g. this, i.e. that")]
    [InlineData("version 1.2.3.4 released")]
    [InlineData("mail me at john.doe@example.com")]  // addresses are not URIs
    [InlineData("Hello.World and No.It")]
    [InlineData("script.py or run.sh")]
    [InlineData("Mr.Smith arrived at 10.30")]
    [InlineData("the value foo.bar is nothing")]
    [InlineData("/usr/share/doc/example.com")]
    [InlineData("javascript:void(0)")]
    public void Avoids_false_positives(string text) => Assert.Empty(UriExtractor.Extract(text, false));

    [Fact]
    public void Bare_domains_can_be_switched_off()
    {
        Assert.Empty(UriExtractor.Extract("cheap-pills.com", false, new UriExtractorOptions { BareDomains = false }));
        Assert.Single(UriExtractor.Extract("http://cheap-pills.com", false, new UriExtractorOptions { BareDomains = false }));
    }

    [Theory]
    [InlineData("http://3232235777/", "192.168.1.1", "dword-ip")]
    [InlineData("http://0xC0A80101/", "192.168.1.1", "dword-ip,hex-ip")]
    [InlineData("http://0xC0.0xA8.1.1/", "192.168.1.1", "hex-ip")]
    [InlineData("http://0300.0250.1.1/", "192.168.1.1", "octal-ip")]
    [InlineData("http://0300.0250.0401/", "192.168.1.1", "short-ip,octal-ip")]
    [InlineData("http://192.168.257/", "192.168.1.1", "short-ip")]
    [InlineData("http://192.11010305/", "192.168.1.1", "short-ip")]
    [InlineData("http://00000300.0xa8.00001.1/", "192.168.1.1", "octal-ip,hex-ip")]
    [InlineData("http://192.168.1.1/", "192.168.1.1", null)]
    public void Numeric_ip_forms(string url, string ip, string? trick)
    {
        var u = One(url);
        Assert.True(u.IsIp);
        Assert.Equal(IPAddress.Parse(ip), u.Ip);
        Assert.Equal(ip, u.Host);
        Assert.Null(u.RegistrableDomain);
        Assert.Equal(trick, u.Obfuscation);
    }

    [Theory]
    [InlineData("http://256.1.1.1/")]
    [InlineData("http://4294967296/")]
    [InlineData("http://09.1.1.1/")]
    public void Invalid_numeric_hosts_are_not_ips(string url)
    {
        var found = UriExtractor.Extract(url, false);
        Assert.All(found, u => Assert.False(u.IsIp));
    }

    [Fact]
    public void Ipv6_literal()
    {
        var u = One("http://[2001:db8::1]:8080/x");
        Assert.True(u.IsIp);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), u.Ip);
    }

    [Theory]
    [InlineData("http://%77%77%77.%65vil.example/", "www.evil.example", "percent-encoding")]
    [InlineData("http://www.bank.com@evil.example/login", "evil.example", "userinfo")]
    [InlineData("http://www.bank.com:secure@evil.example/", "evil.example", "userinfo")]
    [InlineData("http://www.bank.com%40evil.example/", "evil.example", "percent-encoding,userinfo")]
    [InlineData(@"http:\\evil.example\path", "evil.example", "backslashes")]
    [InlineData(@"http:/\evil.example/path", "evil.example", "backslashes")]
    [InlineData("http://evil.example./", "evil.example", "trailing-dot")]
    [InlineData("http://evil.example.../", "evil.example", "trailing-dot")]
    [InlineData("http://EvIl.ExAmPlE/", "evil.example", "mixed-case")]
    [InlineData("hxxp://evil[.]example/x", "evil.example", "defanged")]
    [InlineData("hxxps://evil(.)example/", "evil.example", "defanged")]
    public void Undoes_host_obfuscation(string text, string host, string trick)
    {
        var u = One(text);
        Assert.Equal(host, u.Host);
        Assert.Equal(trick, u.Obfuscation);
    }

    [Fact]
    public void Userinfo_with_numeric_ip()
    {
        var u = One("http://paypal.com@3232235777/");
        Assert.Equal("192.168.1.1", u.Host);
        Assert.Equal("userinfo,dword-ip", u.Obfuscation);
    }

    [Fact]
    public void Unicode_host_gets_its_punycode_form()
    {
        var u = One("http://bücher.example/");
        Assert.Equal("xn--bcher-kva.example", u.Host);
        Assert.Equal("bücher.example", u.UnicodeHost);
        Assert.Equal("xn--bcher-kva.example", u.RegistrableDomain);
        Assert.Equal("idn", u.Obfuscation);
    }

    [Fact]
    public void Punycode_host_gets_its_unicode_form()
    {
        var u = One("http://www.xn--80ak6aa92e.com/");
        Assert.Equal("www.xn--80ak6aa92e.com", u.Host);
        Assert.Equal("www.аррӏе.com", u.UnicodeHost);
        Assert.Equal("xn--80ak6aa92e.com", u.RegistrableDomain);
        Assert.Equal("idn", u.Obfuscation);
    }

    [Fact]
    public void Idn_registrable_domain_uses_unicode_rules()
    {
        var u = One("http://www.食狮.公司.cn/");
        Assert.Equal("www.xn--85x722f.xn--55qx5d.cn", u.Host);
        Assert.Equal("xn--85x722f.xn--55qx5d.cn", u.RegistrableDomain);
    }

    [Fact]
    public void Zero_width_characters_inside_a_url_are_removed()
    {
        var u = One("visit http://ev\u200Bil.exa\u00ADmple.com/ now");
        Assert.Equal("evil.example.com", u.Host);
        Assert.Equal("http://ev\u200Bil.exa\u00ADmple.com/", u.Original);
        Assert.Equal("invisible-characters", u.Obfuscation);
    }

    [Fact]
    public void Html_links_are_entity_decoded()
    {
        var u = One("<a href=\"&#104;ttp://&#x65;vil.example/\">click</a>", isHtml: true);
        Assert.Equal("evil.example", u.Host);
        Assert.Equal("html-entities", u.Obfuscation);
    }

    [Fact]
    public void Html_href_with_newlines_is_joined_like_a_browser()
    {
        var u = One("<a href=\"ht\ntp://evil.example/\">x</a>", isHtml: true);
        Assert.Equal("evil.example", u.Host);
        Assert.Equal("whitespace", u.Obfuscation);
    }

    [Fact]
    public void Html_finds_links_visible_text_and_hidden_text()
    {
        const string html = """
            <p>Go to <a href="http://link.example.com/a">our shop</a> or type www.typed.example.net</p>
            <p>Also cheap-meds.<!-- x -->com today</p>
            <div style="display:none">hidden-site.com</div>
            <img src="cid:part1@local"><a href="/relative/path">rel</a>
            <a href="javascript:window.open('http://popup.example.org/')">js</a>
            """;
        Assert.Equal(
            ["link.example.com", "popup.example.org", "www.typed.example.net", "cheap-meds.com", "hidden-site.com"],
            Hosts(html, isHtml: true));
    }

    [Fact]
    public void Html_anchor_text_equal_to_href_is_reported_once()
    {
        Assert.Single(UriExtractor.Extract("<a href=\"http://x.example.com/\">http://x.example.com/</a>", true));
    }

    [Fact]
    public void Html_user_at_host_in_href()
    {
        var all = UriExtractor.Extract("<a href='http://www.bank.com&#64;evil.example/'>www.bank.com</a>", true);
        Assert.Equal(["evil.example", "www.bank.com"], all.Select(x => x.Host));
        var u = all[0];
        Assert.Equal("evil.example", u.Host);
        Assert.Contains("userinfo", u.Obfuscation!);
        Assert.Contains("html-entities", u.Obfuscation!);
    }

    [Fact]
    public void Several_urls_in_order()
    {
        Assert.Equal(
            ["a.example.com", "b.example.org", "www.c.example.net"],
            Hosts("first http://a.example.com, then https://b.example.org; last www.c.example.net."));
    }

    [Fact]
    public void ParseUri_handles_single_values()
    {
        Assert.Equal("evil.example", UriExtractor.ParseUri("//evil.example/x")!.Host);
        Assert.Null(UriExtractor.ParseUri("javascript:alert(1)"));
        Assert.Null(UriExtractor.ParseUri("http://"));
        Assert.Null(UriExtractor.ParseUri("http://exa mple.com/"));
    }

    [Fact]
    public void Output_is_capped()
    {
        string text = string.Concat(Enumerable.Range(0, 500).Select(k => $"http://h{k}.example.com/ "));
        Assert.Equal(100, UriExtractor.Extract(text, false, new UriExtractorOptions { MaxUris = 100 }).Count);
    }
}
