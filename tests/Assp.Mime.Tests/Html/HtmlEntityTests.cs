using Assp.Mime.Html;

namespace Assp.Mime.Tests.Html;

public class HtmlEntityTests
{
    [Theory]
    [InlineData("&amp;", "&")]
    [InlineData("&lt;&gt;&quot;&apos;", "<>\"'")]
    [InlineData("&nbsp;", "\u00A0")]
    [InlineData("&copy; &reg; &trade;", "© ® ™")]
    [InlineData("&euro;&pound;&yen;&cent;", "€£¥¢")]
    [InlineData("&hellip;&mdash;&ndash;", "…—–")]
    [InlineData("&lsquo;&rsquo;&ldquo;&rdquo;&sbquo;&bdquo;", "‘’“”‚„")]
    [InlineData("&zwnj;&zwj;&shy;", "\u200C\u200D\u00AD")]
    [InlineData("&auml;&ouml;&uuml;&szlig;&Auml;", "äöüßÄ")]
    [InlineData("&eacute;&egrave;&ccedil;&ntilde;&oslash;&aring;&aelig;&thorn;&eth;", "éèçñøåæþð")]
    [InlineData("&iexcl;&iquest;&laquo;&raquo;&deg;&plusmn;&sup2;&frac12;&times;&divide;&micro;&para;&sect;&middot;", "¡¿«»°±²½×÷µ¶§·")]
    [InlineData("&alpha;&Omega;&pi;&rarr;&hearts;&infin;", "αΩπ→♥∞")]
    [InlineData("&bull;&dagger;&permil;&larr;&uarr;&check;&star;", "•†‰←↑✓☆")]
    [InlineData("&NotNestedGreaterGreater;", "\u2AA2\u0338")]
    [InlineData("&fjlig;", "fj")]
    public void Named_entities(string html, string expected) => Assert.Equal(expected, HtmlText.DecodeEntities(html));

    [Theory]
    [InlineData("&#65;", "A")]
    [InlineData("&#65", "A")]
    [InlineData("&#065;&#x41;&#X41;&#x0041", "AAAA")]
    [InlineData("&#x1F600;", "\U0001F600")]
    [InlineData("&#128512;", "\U0001F600")]
    [InlineData("&#150;", "\u2013")] // windows-1252 remap
    [InlineData("&#x80;", "\u20AC")]
    [InlineData("&#0;", "\uFFFD")]
    [InlineData("&#xD800;", "\uFFFD")]
    [InlineData("&#x110000;", "\uFFFD")]
    [InlineData("&#99999999999999999999;", "\uFFFD")]
    [InlineData("&#;", "&#;")]
    [InlineData("&#x;", "&#x;")]
    [InlineData("&#xg;", "&#xg;")]
    [InlineData("&#65abc", "Aabc")]
    public void Numeric_references(string html, string expected) => Assert.Equal(expected, HtmlText.DecodeEntities(html));

    [Theory]
    [InlineData("&amp", "&")]
    [InlineData("&copy 2024", "© 2024")]
    [InlineData("&notit;", "¬it;")]
    [InlineData("&nbspx", "\u00A0x")]
    [InlineData("&AMP", "&")]
    [InlineData("&unknown;", "&unknown;")]
    [InlineData("&euro", "&euro")] // not a legacy name: needs the semicolon
    [InlineData("& amp;", "& amp;")]
    [InlineData("&", "&")]
    [InlineData("&&amp;", "&&")]
    [InlineData("AT&T", "AT&T")]
    [InlineData("&Amp;", "&Amp;")] // names are case-sensitive
    public void Edge_cases(string html, string expected) => Assert.Equal(expected, HtmlText.DecodeEntities(html));

    [Theory]
    [InlineData("?a=1&copy=2", "?a=1&copy=2")]
    [InlineData("?a=1&copyx", "?a=1&copyx")]
    [InlineData("?a=1&copy;", "?a=1©")]
    [InlineData("?a=1&copy", "?a=1©")]
    [InlineData("&lt=3", "&lt=3")]
    public void Attribute_rules(string value, string expected) => Assert.Equal(expected, HtmlText.DecodeAttributeEntities(value));

    [Fact]
    public void The_full_html5_table_is_there()
    {
        Assert.True(HtmlEntities.Count >= 2000, $"only {HtmlEntities.Count} entities");
        // All of Latin-1 by name.
        string[] latin1 =
        [
            "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo", "not", "shy",
            "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot", "cedil", "sup1", "ordm",
            "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig",
            "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve",
            "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN",
            "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc",
            "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml",
            "divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
        ];
        for (int k = 0; k < latin1.Length; k++)
            Assert.Equal(((char)(0xA0 + k)).ToString(), HtmlEntities.Lookup(latin1[k]));
    }

    [Fact]
    public void Entities_in_text_are_decoded_by_ToText()
    {
        Assert.Equal("Fish & Chips <3 — £5", HtmlText.ToText("Fish &amp; Chips &lt;3 &mdash; &pound;5").Text);
    }

    [Fact]
    public void Entity_encoded_markup_stays_text()
    {
        Assert.Equal("<script>alert(1)</script>", HtmlText.ToText("&lt;script&gt;alert(1)&lt;/script&gt;").Text);
    }
}
