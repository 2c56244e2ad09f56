using static Assp.Mime.Tests.TestUtil;

namespace Assp.Mime.Tests;

public class HeaderListTests
{
    [Fact]
    public void Lookup_is_case_insensitive_and_order_and_duplicates_are_kept()
    {
        var m = Parse("Received: one\nreceived: two\nSUBJECT: s\nX-A: 1\n\n");
        var h = m.Headers;
        Assert.Equal(4, h.Count);
        Assert.Equal("s", h["subject"]);
        Assert.Equal(["one", "two"], h.GetAll("RECEIVED").Select(x => x.Value).ToArray());
        Assert.Equal(2, h.CountOf("Received"));
        Assert.Equal("two", h.GetLast("received")!.Value);
        Assert.Equal(2, h.IndexOf("subject"));
        Assert.Equal("SUBJECT", h[2].Name);
        Assert.Null(h["missing"]);
        Assert.False(h.Contains("missing"));
    }

    [Fact]
    public void Folded_values_are_unfolded_and_raw_bytes_kept()
    {
        var m = Parse("Subject: a long\n\tfolded\n  subject\nX: y\n\n");
        var s = m.Headers.Get("Subject")!;
        Assert.Equal("a long\tfolded  subject", s.Value);
        Assert.Equal("Subject: a long\r\n\tfolded\r\n  subject\r\n", Str(s.RawLine));
        Assert.Equal(" a long\r\n\tfolded\r\n  subject", Str(s.RawValue));
        Assert.Equal(0, s.Offset);
    }

    [Fact]
    public void Encoded_words_are_decoded_in_Value_but_not_in_UnfoldedValue()
    {
        var m = Parse("Subject: =?utf-8?B?SGVsbG8g8J+Ygg==?=\n\n");
        var s = m.Headers.Get("Subject")!;
        Assert.Equal("Hello 😂", s.Value);
        Assert.Equal("=?utf-8?B?SGVsbG8g8J+Ygg==?=", s.UnfoldedValue);
    }

    [Fact]
    public void New_headers_are_encoded_and_sanitized()
    {
        var h = new Header("X-Test", "Grüße\r\nBcc: evil@example.com");
        Assert.Equal("Grüße Bcc: evil@example.com", h.UnfoldedValue);
        Assert.StartsWith("X-Test: =?utf-8?B?", Str(h.RawLine));
        Assert.Throws<ArgumentException>(() => new Header("Bad Name", "x"));
    }

    [Fact]
    public void Eight_bit_values_decode_as_utf8_or_latin1()
    {
        var m = MimeParser.Parse(System.Text.Encoding.Latin1.GetBytes("X-L: \u00e9t\u00e9\n\n"));
        Assert.Equal("été", m.Headers["X-L"]);
        Assert.True(m.Headers.Get("X-L")!.HasEightBitBytes);
    }
}
