using Assp.Mime.Uris;

namespace Assp.Mime.Tests.Uris;

public class PunycodeTests
{
    // RFC 3492 section 7.1 samples and well-known IDN labels.
    [Theory]
    [InlineData("bücher", "bcher-kva")]
    [InlineData("münchen", "mnchen-3ya")]
    [InlineData("食狮", "85x722f")]
    [InlineData("公司", "55qx5d")]
    [InlineData("中国", "fiqs8s")]
    [InlineData("пример", "e1afmkfd")]
    [InlineData("ليهمابتكلموشعربي؟", "egbpdaj6bu4bxfgehfvwxn")]                          // (A) Arabic
    [InlineData("他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye")]                          // (B) Chinese
    [InlineData("Pročprostěnemluvíčesky", "Proprostnemluvesky-uyb24dma41a")]             // (D) Czech
    [InlineData("למההםפשוטלאמדבריםעברית", "4dbcagdahymbxekheh6e0a7fei0b")]             // (E) Hebrew
    [InlineData("почемужеонинеговорятпорусски", "b1abfaaepdrnnbgefbadotcwatmq2g4l")]    // (K) Russian
    [InlineData("3年B組金八先生", "3B-ww4c5e180e575a65lsy2b")]                             // (L)
    [InlineData("安室奈美恵-with-SUPER-MONKEYS", "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n")] // (M)
    [InlineData("paypal", "paypal-")]
    [InlineData("😀", "e28h")]
    public void Encodes_and_decodes(string unicode, string encoded)
    {
        Assert.Equal(encoded, Punycode.Encode(unicode));
        Assert.Equal(unicode, Punycode.Decode(encoded));
    }

    [Theory]
    [InlineData("xn--bcher-kva.example", "bücher.example")]
    [InlineData("XN--BCHER-KVA.EXAMPLE", "bücher.example")]
    [InlineData("www.xn--85x722f.xn--55qx5d.cn", "www.食狮.公司.cn")]
    [InlineData("xn--80ak6aa92e.com", "аррӏе.com")] // the Cyrillic "apple" homograph
    [InlineData("plain.example", "plain.example")]
    [InlineData("xn--invalid!!.example", "xn--invalid!!.example")]
    public void ToUnicode_decodes_xn_labels(string ascii, string unicode) => Assert.Equal(unicode, Punycode.ToUnicode(ascii));

    [Theory]
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    [InlineData("BÜCHER.Example", "xn--bcher-kva.example")]
    [InlineData("www.食狮.公司.cn", "www.xn--85x722f.xn--55qx5d.cn")]
    [InlineData("食狮。中国", "xn--85x722f.xn--fiqs8s")] // ideographic full stop as dot
    [InlineData("аррӏе.com", "xn--80ak6aa92e.com")]
    [InlineData("plain.example", "plain.example")]
    public void ToAscii_encodes_unicode_labels(string unicode, string ascii) => Assert.Equal(ascii, Punycode.ToAscii(unicode));

    [Theory]
    [InlineData("99999999999999")]
    [InlineData("a-")]
    [InlineData("-")]
    [InlineData("ü-abc")]
    [InlineData("zzzzzzzzzzzzzzzzzzzzzzzzzzz")]
    public void Decode_rejects_or_survives_garbage(string input)
    {
        var ex = Record.Exception(() => Punycode.Decode(input));
        Assert.Null(ex);
    }

    [Fact]
    public void Round_trips_random_unicode()
    {
        var rnd = new Random(42);
        for (int k = 0; k < 2000; k++)
        {
            var chars = new char[rnd.Next(1, 20)];
            for (int j = 0; j < chars.Length; j++)
            {
                int cp = rnd.Next(4) == 0 ? rnd.Next('a', 'z' + 1) : rnd.Next(0xA0, 0xD7FF);
                chars[j] = (char)cp;
            }
            string s = new(chars);
            var enc = Punycode.Encode(s);
            Assert.NotNull(enc);
            Assert.Equal(s, Punycode.Decode(enc!));
        }
    }

    [Fact]
    public void Agrees_with_IdnMapping_where_that_works()
    {
        // Under InvariantGlobalization IdnMapping may throw or pass labels through; compare only when it
        // produced an xn-- form.
        var idn = new System.Globalization.IdnMapping();
        foreach (var host in new[] { "bücher.example", "食狮.公司.cn", "пример.рф" })
        {
            string? theirs = null;
            try { theirs = idn.GetAscii(host); } catch (ArgumentException) { } catch (PlatformNotSupportedException) { }
            if (theirs is not null && theirs.Contains("xn--", StringComparison.Ordinal))
                Assert.Equal(theirs, Punycode.ToAscii(host));
        }
    }
}
