using Assp.Mime.Html;

namespace Assp.Mime.Tests.Html;

public class HtmlTextTests
{
    private static HtmlTextResult T(string html) => HtmlText.ToText(html);

    [Theory]
    [InlineData("<p>Hello <b>world</b></p>", "Hello world")]
    [InlineData("Hello   \r\n\t  world", "Hello world")]
    [InlineData("<div>one</div><div>two</div>", "one\ntwo")]
    [InlineData("a<br>b", "a\nb")]
    [InlineData("a<br><br><br><br>b", "a\n\nb")]
    [InlineData("<ul><li>x<li>y</ul>z", "x\ny\nz")]
    [InlineData("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc")]
    [InlineData("<h1>Title</h1><p>Body</p>", "Title\nBody")]
    [InlineData("<pre>line1\nline2</pre>", "line1\nline2")]
    [InlineData("  <p>  leading and trailing  </p>  ", "leading and trailing")]
    [InlineData("", "")]
    [InlineData("plain text, no markup", "plain text, no markup")]
    public void Converts_markup_to_text(string html, string expected) => Assert.Equal(expected, T(html).Text);

    [Theory]
    [InlineData("<p>unclosed <b>bold <i>italic", "unclosed bold italic")]
    [InlineData("a < b and c > d", "a < b and c > d")]
    [InlineData("x <3 y", "x <3 y")]
    [InlineData("<p>text<", "text<")]
    [InlineData("before<a href=\"x", "before")] // end of input inside a tag drops it
    [InlineData("<b>a</i>b</b>c", "abc")]
    [InlineData("</p>stray</div>end", "stray\nend")]
    [InlineData("<div<div>>x", ">x")]
    [InlineData("<!DOCTYPE html><html><body>hi</body></html>", "hi")]
    [InlineData("<?xml version=\"1.0\"?><p>x</p>", "x")]
    [InlineData("a</>b", "ab")]
    [InlineData("a<//b>c", "ac")]
    [InlineData("<p title='a > b'>text</p>", "text")]
    [InlineData("<img src=x alt=y>after", "after")]
    [InlineData("<P ALIGN=CENTER>Shout</P>", "Shout")]
    public void Tolerates_broken_markup(string html, string expected) => Assert.Equal(expected, T(html).Text);

    [Fact]
    public void Script_and_style_content_is_not_text()
    {
        var r = T("<head><style>p{color:red}</style><script>var a = '<p>not text</p>';</script></head><body>visible</body>");
        Assert.Equal("visible", r.Text);
        Assert.DoesNotContain("not text", r.HiddenText);
    }

    [Fact]
    public void Script_end_tag_is_found_case_insensitively_and_fake_ends_are_skipped()
    {
        var r = T("<SCRIPT>if (a</b) x = '</scripty>';</ScRiPt >after");
        Assert.Equal("after", r.Text);
    }

    [Fact]
    public void Unclosed_script_swallows_the_rest()
    {
        Assert.Equal("before", T("before<script>alert(1)").Text);
    }

    [Fact]
    public void Title_is_reported_not_shown()
    {
        var r = T("<html><head><title>Big  &amp; Cheap</title></head><body>x</body></html>");
        Assert.Equal("Big & Cheap", r.Title);
        Assert.Equal("x", r.Text);
    }

    [Fact]
    public void Comment_splitting_a_word_is_joined_and_exposed()
    {
        var r = T("Buy via<!-- hash buster -->gra now");
        Assert.Equal("Buy viagra now", r.Text);
        Assert.Equal("hash buster", r.HiddenText);
        Assert.Equal(1, r.CommentCount);
    }

    [Theory]
    [InlineData("a<!---->b", "ab")]
    [InlineData("a<!-->b", "ab")]
    [InlineData("a<!--->b", "ab")]
    [InlineData("a<!-- x -- y -->b", "ab")]
    [InlineData("a<!-- x --!>b", "ab")]
    [InlineData("a<!-- never closed b", "a")]
    [InlineData("a<![CDATA[ hidden ]]>b", "ab")]
    public void Comment_forms(string html, string expected) => Assert.Equal(expected, T(html).Text);

    [Fact]
    public void Comments_can_be_kept_out_of_hidden_text()
    {
        var r = HtmlText.ToText("a<!--x-->b", new HtmlTextOptions { CommentsToHiddenText = false });
        Assert.Equal("ab", r.Text);
        Assert.Equal("", r.HiddenText);
    }

    [Theory]
    [InlineData("<span style=\"display:none\">SECRET</span>", "display:none")]
    [InlineData("<span style=\"DISPLAY : NONE !important\">SECRET</span>", "display:none")]
    [InlineData("<div style=\"visibility:hidden\">SECRET</div>", "visibility:hidden")]
    [InlineData("<span style=\"font-size:0\">SECRET</span>", "font-size")]
    [InlineData("<span style=\"font-size:0px\">SECRET</span>", "font-size")]
    [InlineData("<span style=\"font-size:1px\">SECRET</span>", "font-size")]
    [InlineData("<span style=\"font-size: 0.5pt\">SECRET</span>", "font-size")]
    [InlineData("<span style=\"font-size:0.05em\">SECRET</span>", "font-size")]
    [InlineData("<span style=\"opacity:0\">SECRET</span>", "opacity")]
    [InlineData("<span style=\"opacity:0.01\">SECRET</span>", "opacity")]
    [InlineData("<div style=\"height:0;overflow:hidden\">SECRET</div>", "zero-size")]
    [InlineData("<div style=\"max-height:0px; overflow: hidden\">SECRET</div>", "zero-size")]
    [InlineData("<div style=\"width:0;overflow:hidden\">SECRET</div>", "zero-size")]
    [InlineData("<span style=\"color:#ffffff\">SECRET</span>", "color")]
    [InlineData("<span style=\"color:white\">SECRET</span>", "color")]
    [InlineData("<span style=\"color:#FEFEFE\">SECRET</span>", "color")]
    [InlineData("<span style=\"color:rgb(250, 250, 250)\">SECRET</span>", "color")]
    [InlineData("<span style=\"color:transparent\">SECRET</span>", "color")]
    [InlineData("<span style=\"color:rgba(0,0,0,0)\">SECRET</span>", "color")]
    [InlineData("<font color=\"#fff\">SECRET</font>", "color")]
    [InlineData("<font color=ffffff>SECRET</font>", "color")]
    [InlineData("<span hidden>SECRET</span>", "hidden-attribute")]
    [InlineData("<span style=\"mso-hide:all\">SECRET</span>", "mso-hide:all")]
    [InlineData("<span style=\"position:absolute;left:-9999px\">SECRET</span>", "offscreen")]
    [InlineData("<p style=\"text-indent:-10000px\">SECRET</p>", "offscreen")]
    [InlineData("<span style=\"display:/**/none\">SECRET</span>", "display:none")]
    public void Hidden_text_is_moved_out_of_the_visible_text(string hidden, string trick)
    {
        var r = T("Hello " + hidden + " world");
        Assert.Equal("Hello world", r.Text);
        Assert.Equal("SECRET", r.HiddenText);
        Assert.Contains(trick, r.HidingTricks);
        Assert.Equal(1, r.HiddenElementCount);
    }

    [Theory]
    [InlineData("<span style=\"font-size:12px\">shown</span>")]
    [InlineData("<span style=\"color:#333\">shown</span>")]
    [InlineData("<span style=\"color:red\">shown</span>")]
    [InlineData("<div style=\"height:0\">shown</div>")] // overflow visible: still shows
    [InlineData("<div style=\"overflow:hidden\">shown</div>")]
    [InlineData("<span style=\"opacity:0.9\">shown</span>")]
    [InlineData("<span style=\"display:inline-block\">shown</span>")]
    [InlineData("<span style=\"garbage;;;:;color\">shown</span>")]
    public void Ordinary_styles_stay_visible(string html)
    {
        var r = T(html);
        Assert.Equal("shown", r.Text);
        Assert.Equal("", r.HiddenText);
        Assert.Empty(r.HidingTricks);
    }

    [Fact]
    public void Hidden_element_splitting_a_word_is_joined()
    {
        var r = T("Cheap via<span style=\"display:none\">qzx</span>gra here");
        Assert.Equal("Cheap viagra here", r.Text);
        Assert.Equal("qzx", r.HiddenText);
    }

    [Fact]
    public void Hidden_block_does_not_break_the_line()
    {
        Assert.Equal("viagra", T("via<div style='display:none'>x</div>gra").Text);
    }

    [Fact]
    public void Hiding_is_inherited_by_children()
    {
        var r = T("<div style='display:none'><p>one <b>two</b></p><span style='color:red'>three</span></div>shown");
        Assert.Equal("shown", r.Text);
        Assert.Equal("one two three", r.HiddenText);
    }

    [Fact]
    public void White_text_on_dark_background_is_visible()
    {
        var r = T("<table><tr><td bgcolor=\"#000000\"><font color=\"#ffffff\">Readable</font></td></tr></table>");
        Assert.Equal("Readable", r.Text);
        Assert.Equal("", r.HiddenText);
    }

    [Fact]
    public void Text_matching_a_dark_background_is_hidden()
    {
        var r = T("<body bgcolor=black text=white>Visible <font color=\"#000001\">secret</font> end</body>");
        Assert.Equal("Visible end", r.Text);
        Assert.Equal("secret", r.HiddenText);
    }

    [Fact]
    public void Background_from_style_is_inherited()
    {
        var r = T("<div style=\"background:url(x.gif) #336699 no-repeat\"><span style=\"color:#336699\">blue on blue</span> shown</div>");
        Assert.Equal("shown", r.Text);
        Assert.Equal("blue on blue", r.HiddenText);
    }

    [Fact]
    public void Colour_check_can_be_disabled()
    {
        var r = HtmlText.ToText("<span style='color:#fff'>x</span>", new HtmlTextOptions { ColorTolerance = -1 });
        Assert.Equal("x", r.Text);
    }

    [Fact]
    public void Unclosed_hidden_paragraph_ends_at_next_paragraph()
    {
        var r = T("<p style='display:none'>hidden<p>visible");
        Assert.Equal("visible", r.Text);
        Assert.Equal("hidden", r.HiddenText);
    }

    [Fact]
    public void Unclosed_hidden_list_item_ends_at_next_item()
    {
        var r = T("<ul><li style='font-size:0'>a<li>b</ul>");
        Assert.Equal("b", r.Text);
        Assert.Equal("a", r.HiddenText);
    }

    [Fact]
    public void Hidden_table_cell_ends_at_next_cell()
    {
        var r = T("<table><tr><td style='display:none'>a<td>b</table>");
        Assert.Equal("b", r.Text);
        Assert.Equal("a", r.HiddenText);
    }

    [Theory]
    [InlineData("via\u200Bgra")]
    [InlineData("via\u200Cgra")]
    [InlineData("via\u200Dgra")]
    [InlineData("via\uFEFFgra")]
    [InlineData("via\u00ADgra")]
    [InlineData("via\u2060gra")]
    [InlineData("via&shy;gra")]
    [InlineData("via&zwnj;gra")]
    [InlineData("via&zwj;gra")]
    [InlineData("via&#8203;gra")]
    [InlineData("via&#x200B;gra")]
    [InlineData("via&#xFEFF;gra")]
    [InlineData("via\U000E0041gra")]
    [InlineData("via&#xE0041;gra")]
    [InlineData("v&shy;i&shy;a&shy;g&shy;r&shy;a")]
    [InlineData("via<wbr>gra")]
    [InlineData("<b>v</b><i>ia</i><u>gra</u>")]
    public void Invisible_characters_and_inline_markup_inside_words_are_joined(string html)
    {
        Assert.Equal("viagra", T(html).Text);
    }

    [Fact]
    public void Invisible_characters_are_counted()
    {
        Assert.Equal(5, T("v&shy;i\u200Ba&zwj;g\uFEFFr&#173;a").InvisibleCharacterCount);
    }

    [Fact]
    public void Nbsp_is_a_space_for_the_reader()
    {
        Assert.Equal("a b c", T("a&nbsp;b&nbsp;&nbsp; c").Text);
    }

    [Fact]
    public void Links_are_collected_in_order_and_entity_decoded()
    {
        var r = T("""
            <body background="bg.jpg">
            <a href="http://a.example/?x=1&amp;y=2">a</a>
            <img src='http://img.example/i.png'>
            <form action=http://form.example/post></form>
            <table background="http://tbl.example/t.gif"><tr><td>x</td></tr></table>
            <div style="background-image: url('http://css.example/a.png')">y</div>
            <style>.c { background: url(http://style.example/b.png) }</style>
            <a href="&#104;&#116;&#116;&#112;://ent.example/">e</a>
            <meta http-equiv="Refresh" content="0; URL=http://refresh.example/">
            <img srcset="http://s1.example/a.png 1x, http://s2.example/b.png 2x">
            </body>
            """);
        Assert.Equal(
        [
            "bg.jpg", "http://a.example/?x=1&y=2", "http://img.example/i.png", "http://form.example/post",
            "http://tbl.example/t.gif", "http://css.example/a.png", "http://style.example/b.png", "http://ent.example/",
            "http://refresh.example/", "http://s1.example/a.png", "http://s2.example/b.png",
        ], r.Links);
        Assert.True(r.LinkDetails.Single(l => l.Url == "http://ent.example/").HadEntities);
        Assert.False(r.LinkDetails.Single(l => l.Url == "http://img.example/i.png").HadEntities);
    }

    [Fact]
    public void Links_of_hidden_elements_are_kept_and_marked()
    {
        var r = T("<div style='display:none'><a href='http://hidden.example/'>x</a></div><a href='http://shown.example/'>y</a>");
        Assert.Equal(["http://hidden.example/", "http://shown.example/"], r.Links);
        Assert.True(r.LinkDetails[0].Hidden);
        Assert.False(r.LinkDetails[1].Hidden);
    }

    [Fact]
    public void Attribute_entities_follow_the_attribute_rules()
    {
        var r = T("<a href=\"http://x.example/?a=1&copy=2&lang=en&amp;b=&lt;\">x</a>");
        Assert.Equal("http://x.example/?a=1&copy=2&lang=en&b=<", r.Links.Single());
    }

    [Fact]
    public void Attributes_in_odd_forms_are_read()
    {
        var r = T("<a\nhref\n=\n'http://one.example/'>1</a><a HREF=http://two.example/>2</a><a title=\"x\"href=\"http://three.example/\">3</a>");
        Assert.Equal(["http://one.example/", "http://two.example/", "http://three.example/"], r.Links);
        Assert.Equal("123", r.Text);
    }

    [Fact]
    public void Textarea_content_is_text_with_entities()
    {
        Assert.Equal("a <b> &\nafter", T("<textarea>a <b> &amp;</textarea>after").Text);
    }

    [Fact]
    public void Real_world_spam_shape()
    {
        const string html = """
            <html><head><style>.x{}</style></head>
            <body bgcolor="#FFFFFF">
            <div style="font-size:1px;color:#ffffff">lorem ipsum dolor sit amet</div>
            <p>Get your <b>C</b>ia<!-- zz -->lis for <span style="display:none">xyz</span>ch&#101;ap!</p>
            <p><a href="http://3232235777/shop">Order n&#x6F;w</a></p>
            </body></html>
            """;
        var r = T(html);
        Assert.Equal("Get your Cialis for cheap!\nOrder now", r.Text);
        Assert.Contains("lorem ipsum dolor sit amet", r.HiddenText);
        Assert.Contains("xyz", r.HiddenText);
        Assert.Contains("zz", r.HiddenText);
        Assert.Equal(["http://3232235777/shop"], r.Links);
    }

    [Fact]
    public void Null_input_is_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => HtmlText.ToText(null!));
    }
}
