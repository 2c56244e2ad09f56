namespace Assp.Mime.Tests;

public class EncodedWordsTests
{
    [Theory]
    [InlineData("=?ISO-8859-1?Q?a?=", "a")]
    [InlineData("=?ISO-8859-1?Q?a?= b", "a b")]
    [InlineData("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab")]
    [InlineData("=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=", "ab")]
    [InlineData("=?ISO-8859-1?Q?a_b?=", "a b")]
    [InlineData("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b")]
    [InlineData("=?utf-8?q?caf=C3=A9?=", "café")]
    [InlineData("=?UTF-8?B?Q2Fmw6k=?=", "Café")]
    [InlineData("=?iso-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", "André Pirard <PIRARD@vm1.ulg.ac.be>")]
    [InlineData("plain text", "plain text")]
    [InlineData("=?not an encoded word", "=?not an encoded word")]
    [InlineData("=?utf-8?X?abc?=", "=?utf-8?X?abc?=")]
    public void Rfc2047_examples(string input, string expected) => Assert.Equal(expected, EncodedWords.Decode(input));

    [Fact]
    public void Words_glued_together_or_to_text_are_decoded()
    {
        Assert.Equal("David Höhn", EncodedWords.Decode("David H=?ISO-8859-1?B?9g==?=hn"));
        Assert.Equal("ab", EncodedWords.Decode("=?utf-8?Q?a?==?utf-8?Q?b?="));
    }

    [Fact]
    public void Unencoded_spaces_inside_q_text_are_tolerated()
    {
        Assert.Equal("hello big world", EncodedWords.Decode("=?utf-8?Q?hello big_world?="));
    }

    [Fact]
    public void Broken_base64_and_missing_padding_are_tolerated()
    {
        Assert.Equal("Café", EncodedWords.Decode("=?utf-8?B?Q2Fmw6k?="));
        Assert.Equal("Café", EncodedWords.Decode("=?utf-8?B?Q2Fm w6k*=?="));
    }

    [Fact]
    public void Unknown_charset_falls_back_to_latin1()
    {
        Assert.Equal("caf\u00e9", EncodedWords.Decode("=?x-klingon?Q?caf=E9?="));
    }

    [Fact]
    public void Language_suffix_is_ignored()
    {
        Assert.Equal("Hello", EncodedWords.Decode("=?US-ASCII*EN?Q?Hello?="));
    }

    [Fact]
    public void Multibyte_character_split_across_words_is_joined()
    {
        // "é" (C3 A9) split between two words of the same charset.
        Assert.Equal("café", EncodedWords.Decode("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?="));
        // ISO-2022-JP with escape sequences spread over two words.
        Assert.Equal("日本語の件名（サブジェクト）　スパムメールではありません！", EncodedWords.Decode(
            "=?iso-2022-jp?B?GyRCRnxLXDhsJE43b0w+IUolNSVWJTglJyUvJUghSyEhJTkbKEI=?= =?iso-2022-jp?B?GyRCJVElYCVhITwlayRHJE8kIiRqJF4kOyRzISobKEI=?="));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("Grüße aus Köln — 😂 and a rather long tail that needs more than one encoded word to fit")]
    public void Encode_round_trips(string s)
    {
        var enc = EncodedWords.EncodeIfNeeded(s);
        Assert.Equal(s, EncodedWords.Decode(enc));
        Assert.All(enc.Split(' '), w => Assert.True(w.Length <= 75 || !w.StartsWith("=?", StringComparison.Ordinal)));
    }
}
