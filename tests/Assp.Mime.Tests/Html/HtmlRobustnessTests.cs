using System.Text;
using Assp.Mime.Html;
using Assp.Mime.Uris;
using FsCheck;
using FsCheck.Fluent;

namespace Assp.Mime.Tests.Html;

public class HtmlRobustnessTests
{
    private static readonly FsCheck.Config Runs = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500);

    /// <summary>Strings made of markup fragments, so that the tokenizer sees tags, comments, entities and
    /// styles in every order, not just random letters.</summary>
    private static readonly Gen<string> HtmlSoup =
        Gen.Elements(
            "<", ">", "</", "/>", "<!--", "-->", "--!>", "<![CDATA[", "]]>", "<!DOCTYPE html>", "<?x?>", "&", "&amp;", "&amp",
            "&#", "&#x", "&#1234;", "&#x1F600", "&#0;", "&#99999999999;", "&notit;", "&shy;", "&zwnj;", ";", "=", "\"", "'",
            "<p>", "</p>", "<div style=\"display:none\">", "</div>", "<span style='color:#fff'>", "</span>", "<br>",
            "<script>", "</script>", "<style>", "</style>", "<title>", "</title>", "<textarea>", "<plaintext>", "<a href=",
            "http://", "www.", "example.com", "xn--", "\u200B", "\u00AD", "\uD83D", "\uDE00", "\0", " ", "\n", "\t", "x", "é",
            "<table><tr><td bgcolor=black>", "<font color=", "url(", ")", "style=", "<li>", "<pre>", "<meta http-equiv=refresh content='0;url=")
        .ArrayOf().Select(parts => string.Concat(parts));

    [Fact]
    public void Random_strings_never_throw()
    {
        Check.One(Runs, Prop.ForAll(ArbMap.Default.ArbFor<string>(), (string s) =>
        {
            s ??= ""; // FsCheck does generate null strings
            var r = HtmlText.ToText(s);
            UriExtractor.Extract(s, isHtml: true);
            UriExtractor.Extract(s, isHtml: false);
            return r.Text is not null && r.HiddenText is not null;
        }));
    }

    [Fact]
    public void Markup_soup_never_throws()
    {
        Check.One(Runs, Prop.ForAll(HtmlSoup.ToArbitrary(), s =>
        {
            var r = HtmlText.ToText(s);
            UriExtractor.Extract(s, isHtml: true);
            UriExtractor.Extract(s, isHtml: false);
            return !r.Text.EndsWith(' ') && !r.Text.StartsWith(' ') && !r.Text.Contains("  ", StringComparison.Ordinal);
        }));
    }

    [Fact]
    public void Random_hosts_and_punycode_never_throw()
    {
        Check.One(Runs, Prop.ForAll(ArbMap.Default.ArbFor<string>(), (string s) =>
        {
            s ??= ""; // FsCheck does generate null strings
            Punycode.Decode(s);
            Punycode.Encode(s);
            Punycode.ToAscii(s);
            Punycode.ToUnicode(s);
            PublicSuffixList.GetRegistrableDomain(s);
            UriExtractor.ParseUri(s);
            UriExtractor.ParseUri("http://" + s);
            return true;
        }));
    }

    public static TheoryData<string> HostileInputs()
    {
        const int size = 1 << 20;
        var rnd = new Random(7);
        string[] fragments = ["<", "<a ", "<!--", "&", "&#", "<div>", "</div>", "<span style=display:none>", "'", "\"", "x", " ", "http://", "a.com "];
        var soup = new StringBuilder(size);
        while (soup.Length < size) soup.Append(fragments[rnd.Next(fragments.Length)]);
        var random = new StringBuilder(size);
        while (random.Length < size) random.Append((char)rnd.Next(1, 0x3000));
        return new TheoryData<string>
        {
            new string('<', size),
            string.Concat(Enumerable.Repeat("<div>", size / 5)),
            string.Concat(Enumerable.Repeat("</x>", size / 4)),
            string.Concat(Enumerable.Repeat("<!--", size / 4)),
            string.Concat(Enumerable.Repeat("<!-- -- ", size / 8)),
            string.Concat(Enumerable.Repeat("&amp", size / 4)),
            string.Concat(Enumerable.Repeat("&#x", size / 3)),
            "<a " + string.Concat(Enumerable.Repeat("b ", size / 2)) + ">",
            "<a " + string.Concat(Enumerable.Repeat("b='", size / 3)),
            string.Concat(Enumerable.Repeat("<script>", size / 8)),
            string.Concat(Enumerable.Repeat("<style>url(", size / 11)),
            string.Concat(Enumerable.Repeat("<p style=\"display:none\">x", size / 26)),
            string.Concat(Enumerable.Repeat("<li>", size / 4)),
            string.Concat(Enumerable.Repeat("a.", size / 2)),
            string.Concat(Enumerable.Repeat("http://", size / 7)),
            string.Concat(Enumerable.Repeat("www.a.com ", size / 10)),
            string.Concat(Enumerable.Repeat("\u200B", size)),
            soup.ToString(),
            random.ToString(),
        };
    }

    [Theory]
    [MemberData(nameof(HostileInputs))]
    public void One_megabyte_of_hostile_input_finishes_quickly(string input)
    {
        // Allocation, not wall time, is the bound here: it is deterministic on a loaded machine and grows with any
        // quadratic copying. The time itself is measured by the benchmarks (bench/).
        long before = GC.GetAllocatedBytesForCurrentThread();
        HtmlText.ToText(input);
        UriExtractor.Extract(input, isHtml: true);
        UriExtractor.Extract(input, isHtml: false);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 400L * input.Length, $"allocated {allocated:N0} bytes for {input.Length:N0} characters starting {input[..20]}");
    }
}
