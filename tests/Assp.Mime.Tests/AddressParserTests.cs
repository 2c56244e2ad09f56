namespace Assp.Mime.Tests;

public class AddressParserTests
{
    private static MailboxAddress One(string s) => Assert.IsType<MailboxAddress>(Assert.Single(AddressParser.ParseList(s)));

    [Theory]
    [InlineData("john@example.com", null, "john", "example.com")]
    [InlineData("John Doe <john@example.com>", "John Doe", "john", "example.com")]
    [InlineData("\"Doe, John\" <john@example.com>", "Doe, John", "john", "example.com")]
    [InlineData("john@example.com (John Doe)", "John Doe", "john", "example.com")]
    [InlineData("<john@example.com>", null, "john", "example.com")]
    [InlineData("\"john smith\"@example.com", null, "john smith", "example.com")]
    [InlineData("John Q. Public <jqp@example.com>", "John Q. Public", "jqp", "example.com")]
    [InlineData("=?iso-8859-1?q?Andr=E9?= Pirard <p@ulg.ac.be>", "André Pirard", "p", "ulg.ac.be")]
    [InlineData("\"=?utf-8?B?Sm9zw6k=?=\" <jose@example.es>", "José", "jose", "example.es")]
    [InlineData("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "Pete", "pete", "silly.test")]
    [InlineData("<@route1,@route2:user@example.com>", null, "user", "example.com")]
    [InlineData("user @ example . com", null, "user", "example.com")]
    [InlineData("postmaster", null, "postmaster", "")]
    [InlineData("Joe <joe@[192.0.2.1]>", "Joe", "joe", "[192.0.2.1]")]
    [InlineData("John Doe john@example.com", "John Doe", "john", "example.com")]
    [InlineData("Broken <broken@example.com", "Broken", "broken", "example.com")]
    [InlineData("Jörg <jörg@bücher.de>", "Jörg", "jörg", "bücher.de")]
    public void Mailboxes(string input, string? name, string local, string domain)
    {
        var m = One(input);
        Assert.Equal(name, m.DisplayName);
        Assert.Equal(local, m.LocalPart);
        Assert.Equal(domain, m.Domain);
    }

    [Fact]
    public void Lists_and_groups()
    {
        var list = AddressParser.ParseList("a@x.com, \"B, Bee\" <b@y.com>, Friends: c@z.com, D <d@w.com>;, undisclosed-recipients:;");
        Assert.Equal(4, list.Count);
        var g = Assert.IsType<GroupAddress>(list[2]);
        Assert.Equal("Friends", g.Name);
        Assert.Equal(["c@z.com", "d@w.com"], g.Members.Select(m => m.Address).ToArray());
        var empty = Assert.IsType<GroupAddress>(list[3]);
        Assert.Empty(empty.Members);
        Assert.Equal(4, list.SelectMany(a => a.Mailboxes).Count());
    }

    [Fact]
    public void Quoted_local_part_is_requoted_in_Address()
    {
        Assert.Equal("\"john smith\"@example.com", One("\"john smith\"@example.com").Address);
        Assert.Equal("a.b@example.com", One("a.b@example.com").Address);
    }

    [Fact]
    public void Idn_domains_are_decoded_and_encoded()
    {
        var m = One("Hans <hans@xn--bcher-kva.example>");
        Assert.Equal("bücher.example", m.UnicodeDomain);
        var u = One("hans@bücher.example");
        Assert.Equal("xn--bcher-kva.example", u.AsciiDomain);
        Assert.True(u.IsInternational);
        Assert.False(m.IsInternational);
    }

    [Fact]
    public void Garbage_does_not_throw()
    {
        foreach (var s in new[] { "", ",,,", "<<<>>>", "\"unterminated", "(((", "a@", "@b", ":;:;", "\\", "<@", "a:b:c;d" })
            _ = AddressParser.ParseList(s);
        Assert.Empty(AddressParser.ParseList(",,,"));
        Assert.True(AddressParser.TryParseMailbox("x <y@z.w>", out var mb));
        Assert.Equal("y@z.w", mb.Address);
    }

    [Fact]
    public void Message_accessors_flatten_fields()
    {
        var m = TestUtil.Parse("From: A <a@x.com>\nTo: b@x.com, Team: c@x.com;\nCc: d@x.com\nCc: e@x.com\n\n");
        Assert.Equal("a@x.com", m.From.Single().Address);
        Assert.Equal(2, m.To.Count);
        Assert.Equal(2, m.Cc.Count);
        Assert.Equal(2, m.Addresses("To").Count);
    }
}
