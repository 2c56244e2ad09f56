using Assp.Mime.Html;

namespace Assp.Mime.Tests.Html;

/// <summary>Text hidden through &lt;style&gt; rules (classes, ids, tags) rather than inline styles.</summary>
public class StyleSheetHidingTests
{
    private static HtmlTextResult T(string html) => HtmlText.ToText(html);

    [Theory]
    [InlineData("<style>.x{display:none}</style>", "<span class=\"x\">SECRET</span>", "display:none")]
    [InlineData("<style>.x { DISPLAY : NONE !important }</style>", "<span class=x>SECRET</span>", "display:none")]
    [InlineData("<style>#h{visibility:hidden}</style>", "<div id=\"h\">SECRET</div>", "visibility:hidden")]
    [InlineData("<style>span.tiny{font-size:0}</style>", "<span class=\"a tiny b\">SECRET</span>", "font-size")]
    [InlineData("<style>.w{color:#fff}</style>", "<font class=\"w\">SECRET</font>", "color")]
    [InlineData("<style>.z{height:0}.z{overflow:hidden}</style>", "<div class=\"z\">SECRET</div>", "zero-size")]
    [InlineData("<style>.o{position:absolute;left:-9999px}</style>", "<p class=\"o\">SECRET</p>", "offscreen")]
    [InlineData("<style>.X{display:none}</style>", "<span class=\"x\">SECRET</span>", "display:none")] // quirks mode
    [InlineData("<style><!-- .x{display:none} --></style>", "<span class=\"x\">SECRET</span>", "display:none")]
    [InlineData("<style>/* c */ .a, .x /* c */ {display:none}</style>", "<span class=\"x\">SECRET</span>", "display:none")]
    [InlineData("<style>@media screen { .x{display:none} }</style>", "<span class=\"x\">SECRET</span>", "display:none")]
    [InlineData("<style>@import url(a.css); .x{display:none}</style>", "<span class=\"x\">SECRET</span>", "display:none")]
    [InlineData("<style type=\"text/css\">div .x{opacity:0}</style>", "<div><b class=\"x\">SECRET</b></div>", "opacity")]
    [InlineData("<style>p > span{display:none}</style>", "<p><span>SECRET</span></p>", "display:none")]
    [InlineData("<style>body .p .x{mso-hide:all}</style>", "<div class=\"p\"><span><i class=\"x\">SECRET</i></span></div>", "mso-hide:all")]
    public void Class_id_and_tag_rules_hide_text(string style, string hidden, string trick)
    {
        var r = T($"<html><head>{style}</head><body>Hello {hidden} world</body></html>");
        Assert.Equal("Hello world", r.Text.Replace('\n', ' '));
        Assert.Equal("SECRET", r.HiddenText);
        Assert.Contains(trick, r.HidingTricks);
        Assert.Contains("style-rule", r.HidingTricks);
        Assert.Equal(1, r.HiddenElementCount);
    }

    [Fact]
    public void A_style_block_after_the_element_still_applies()
    {
        var r = T("<body>Cheap via<span class=\"q\">qzx</span>gra<style>.q{display:none}</style></body>");
        Assert.Equal("Cheapviagra".Length, r.Text.Replace(" ", "", StringComparison.Ordinal).Length);
        Assert.Equal("Cheap viagra", r.Text);
        Assert.Equal("qzx", r.HiddenText);
    }

    [Theory]
    [InlineData("<style>.x:hover{display:none}</style>", "<span class=\"x\">shown</span>")]               // state-dependent
    [InlineData("<style>.x::before{display:none}</style>", "<span class=\"x\">shown</span>")]
    [InlineData("<style>[class=x]{display:none}</style>", "<span class=\"x\">shown</span>")]              // attribute selector
    [InlineData("<style>.a + .x{display:none}</style>", "<b class=\"a\"></b><span class=\"x\">shown</span>")] // sibling
    [InlineData("<style>.x{display:none}</style>", "<span class=\"xx\">shown</span>")]
    [InlineData("<style>.x{display:none}</style>", "<span class=\"y\">shown</span>")]
    [InlineData("<style>div.x{display:none}</style>", "<span class=\"x\">shown</span>")]
    [InlineData("<style>.x.y{display:none}</style>", "<span class=\"x\">shown</span>")]
    [InlineData("<style>#a{display:none}</style>", "<span id=\"b\">shown</span>")]
    [InlineData("<style>p > span{display:none}</style>", "<p><b><span>shown</span></b></p>")]             // not a direct child
    [InlineData("<style>.x{display:none}</style>", "<span class=\"x\" style=\"display:inline\">shown</span>")] // inline wins
    [InlineData("<style>.x{display:none}.x{display:block}</style>", "<span class=\"x\">shown</span>")]   // later rule wins
    [InlineData("<style>#i{display:block}.x{display:none}</style>", "<span id=\"i\" class=\"x\">shown</span>")] // id beats class
    [InlineData("<style media=\"print\">.x{display:none}</style>", "<span class=\"x\">shown</span>")]
    [InlineData("<style>@media print { .x{display:none} }</style>", "<span class=\"x\">shown</span>")]
    [InlineData("<style>@font-face { font-family: x; } .y{color:red}</style>", "<span class=\"x\">shown</span>")]
    [InlineData("<style>.x{color:#fff}</style>", "<span class=\"x\" style=\"background:#000\">shown</span>")]
    [InlineData("<p>.x{display:none}</p>", "<span class=\"x\">shown</span>")]                           // not a style sheet
    public void Rules_that_do_not_hide_leave_text_visible(string style, string html)
    {
        var r = T($"<html><head></head><body>{style}{html}</body></html>");
        Assert.Contains("shown", r.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("shown", r.HiddenText, StringComparison.Ordinal);
        Assert.DoesNotContain("style-rule", r.HidingTricks);
    }

    [Fact]
    public void Important_rules_beat_inline_styles_and_inline_important_beats_them()
    {
        Assert.Equal("S", T("<style>.x{display:none !important}</style><span class=x style='display:inline'>S</span>").HiddenText);
        Assert.Equal("S", T("<style>.x{display:none !important}</style><span class=x style='display:inline !important'>S</span>").Text);
        Assert.Equal("S", T("<span style='display:none !important; display:inline'>S</span>").HiddenText);
    }

    [Fact]
    public void Hidden_by_class_content_and_links_are_marked()
    {
        var r = T("<style>.h{display:none}</style><div class=h><p>one <b>two</b></p><a href='http://hidden.example/'>x</a></div><a href='http://shown.example/'>y</a>");
        Assert.Equal("y", r.Text);
        Assert.Equal("one two x", r.HiddenText);
        Assert.True(r.LinkDetails.Single(l => l.Url.Contains("hidden", StringComparison.Ordinal)).Hidden);
        Assert.False(r.LinkDetails.Single(l => l.Url.Contains("shown", StringComparison.Ordinal)).Hidden);
    }

    [Fact]
    public void Inline_styles_alone_behave_as_before()
    {
        var r = T("a<span style=\"display:none\">b</span>c");
        Assert.Equal("ac", r.Text);
        Assert.DoesNotContain("style-rule", r.HidingTricks);
    }

    [Fact]
    public void Huge_and_broken_style_sheets_stay_bounded()
    {
        var sb = new System.Text.StringBuilder("<style>");
        for (int i = 0; i < 20000; i++) sb.Append(".c").Append(i).Append(" .d > .e{display:none} ");
        sb.Append("{{{ .x{ } } @media { .y{display:none </style>");
        for (int i = 0; i < 2000; i++) sb.Append("<div class=\"c1 d e\">");
        sb.Append("text");
        // Bounded by allocation (deterministic on a loaded machine); the time is for the benchmarks.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var r = T(sb.ToString());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 400L * sb.Length, "allocated too much");
        Assert.NotNull(r.Text);

        // Many rules on one class and many elements carrying it: the per-document budget keeps this short.
        var many = new System.Text.StringBuilder("<style>");
        for (int i = 0; i < 3000; i++) many.Append(".x.y").Append(i).Append("{display:none}");
        many.Append("</style>");
        for (int i = 0; i < 200_000; i++) many.Append("<b class=x>w</b>");
        before = GC.GetAllocatedBytesForCurrentThread();
        var m = T(many.ToString());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 400L * many.Length, "allocated too much");
        Assert.Empty(m.HiddenText);
    }
}
