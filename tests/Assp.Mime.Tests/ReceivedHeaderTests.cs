using System.Net;

namespace Assp.Mime.Tests;

public class ReceivedHeaderTests
{
    [Fact]
    public void Full_postfix_style_header()
    {
        var r = ReceivedHeader.Parse("from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org (Postfix) with ESMTPS id 4AB12 for <user@example.org>; Thu, 22 Aug 2002 18:26:25 +0700");
        Assert.Equal("mail.example.com", r.From);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), r.FromIp);
        Assert.Equal("mail.example.com", r.FromReverseName);
        Assert.Equal("mx.example.org", r.By);
        Assert.Equal("ESMTPS", r.With);
        Assert.Equal("4AB12", r.Id);
        Assert.Equal("user@example.org", r.For);
        Assert.Equal(new DateTimeOffset(2002, 8, 22, 18, 26, 25, TimeSpan.FromHours(7)), r.Date);
    }

    [Fact]
    public void Bracketed_ip_as_helo_and_ipv6()
    {
        var r = ReceivedHeader.Parse("from [198.51.100.7] by mx; Mon, 1 Jan 2024 00:00:00 +0000");
        Assert.Equal(IPAddress.Parse("198.51.100.7"), r.FromIp);
        var r6 = ReceivedHeader.Parse("from helo (unknown [IPv6:2001:db8::1]) by mx with ESMTP");
        Assert.Equal(IPAddress.Parse("2001:db8::1"), r6.FromIp);
        Assert.Null(r6.Date);
    }

    [Fact]
    public void Partial_and_garbage_headers()
    {
        var r = ReceivedHeader.Parse("by localhost with local id 123");
        Assert.Null(r.From);
        Assert.Equal("localhost", r.By);
        Assert.Equal("123", r.Id);
        _ = ReceivedHeader.Parse("");
        _ = ReceivedHeader.Parse("((((( [[[ ;;;");
        Assert.Null(ReceivedHeader.Parse("from x ([999.1.1.1])").FromIp);
    }

    [Fact]
    public void Chain_from_a_message_in_order()
    {
        var m = TestUtil.Parse("Received: from b ([10.0.0.2]) by c; 1 Jan 2020 00:00:02 +0000\nReceived: from a ([10.0.0.1]) by b; 1 Jan 2020 00:00:01 +0000\n\n");
        Assert.Equal(["10.0.0.2", "10.0.0.1"], m.Received.Select(r => r.FromIp!.ToString()).ToArray());
    }
}
