using Assp.Bayes;

namespace Assp.Bayes.Tests;

public class TokenizerTests
{
    [Theory]
    [InlineData("#ff00aa", "randcolor")]
    [InlineData("12.000", "randnumber")]
    [InlineData("3.14", "randnumber")]
    [InlineData("hello!!!!", "hello")]
    [InlineData("--wow--", "wow")]
    [InlineData("don't", "donquotet")]
    [InlineData("a1b2c3d4e5f6", "randword")]
    [InlineData("1:2", "randwildnum")]
    [InlineData("12:30pm", "randnumber:randnumberpm")]
    [InlineData("free", "free")]
    public void Words_are_cleaned_by_ASSPs_rules(string raw, string expected) =>
        Assert.Equal([expected], Tokenizer.Words(raw));

    [Fact]
    public void Words_are_lower_cased_runs_of_two_or_more_word_characters()
    {
        Assert.Equal(["hello", "world", "ok"], Tokenizer.Words("Hello, WORLD! a ok"));
    }

    [Fact]
    public void A_mail_address_becomes_24_hex_digits_of_its_md5()
    {
        var words = Tokenizer.Words("write to Someone@Example.COM today");
        Assert.Equal(4, words.Count);
        // md5("someone@example.com") = 2a6dbbe4c1a0b3a5ba0b7a6aee2d1c9e... : only its first 24 hex digits are kept
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("someone@example.com"u8.ToArray()))[..24];
        Assert.Equal(expected, words[2]);
    }

    [Fact]
    public void A_link_becomes_its_host_four_times_then_the_pieces_of_its_path()
    {
        var words = Tokenizer.Words("see http://www.Example.com/buy/cheap?id=pills&x=1");
        Assert.Equal(["see", "www.example.com", "www.example.com", "www.example.com", "www.example.com", "buy"], words);
    }

    [Fact]
    public void Long_words_are_cut_to_37_characters()
    {
        var word = new string('x', 60);
        Assert.Equal(37, Assert.Single(Tokenizer.Words(word)).Length);
    }

    [Fact]
    public void The_subject_is_marked_word_by_word_and_kept_whole_when_longer_than_a_sequence()
    {
        Assert.Equal("ssub Hi ssub there ", CorpusText.MarkSubject("Hi there"));
        Assert.Equal("Buy cheap pills right now ssub Buy ssub cheap ssub pills ssub right ssub now ",
            CorpusText.MarkSubject("Buy cheap pills right now"));
        Assert.Contains("lotsaspaces", CorpusText.MarkSubject("a     b"));
    }

    [Fact]
    public void The_message_text_has_helo_addresses_subject_and_decoded_html_body()
    {
        var raw = "Received: from x (helo=mail.spammer.example) by mx\r\nFrom: Bob <bob@sender.example>\r\nTo: alice@local.example\r\n" +
                  "Subject: =?utf-8?B?R3LDvMOfZQ==?=\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
                  "<html><body><p>Caf=C3=A9 <b>deal</b> <a href=3D\"http://shop.example/x\">click</a></p><script>x()</script></body></html>\r\n";
        var text = CorpusText.FromRaw(System.Text.Encoding.UTF8.GetBytes(raw), 4000);
        Assert.Contains("helo: mail.spammer.example", text);
        Assert.Contains("sender bob@sender.example", text);
        Assert.Contains("rcpt alice@local.example", text);
        Assert.Contains("ssub Grüße", text);
        Assert.Contains("Café", text);
        Assert.Contains("href http://shop.example/x", text);
        Assert.Contains("jscripttag", text);
        Assert.Contains("boldifytext", text);
        Assert.DoesNotContain("<p>", text);
    }

    [Fact]
    public void Only_the_header_and_MaxBytes_of_the_body_are_read()
    {
        var raw = System.Text.Encoding.ASCII.GetBytes("Subject: s\r\n\r\n" + new string('a', 100) + " tailword");
        var limited = CorpusText.Limit(raw, 50);
        Assert.Equal("Subject: s\r\n\r\n".Length + 50, limited.Length);
        Assert.DoesNotContain("tailword", CorpusText.FromRaw(raw, 50));
        Assert.Contains("tailword", CorpusText.FromRaw(raw, 0));
    }

    [Fact]
    public void Broken_input_never_throws()
    {
        var longRun = "Subject: x\r\n\r\n" + string.Concat(Enumerable.Repeat("ab.cd@ef", 40_000)) + " http://" + new string('a', 50_000);
        Assert.NotEmpty(Tokenizer.Words(CorpusText.FromRaw(System.Text.Encoding.Latin1.GetBytes(longRun), 0)));
        foreach (var s in new[] { "", "\0\0\0", "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<<<<a href=", "%%%%" })
            _ = Tokenizer.Words(CorpusText.FromRaw(System.Text.Encoding.Latin1.GetBytes(s), 4000));
    }

    [Theory]
    [InlineData("12:30")]
    [InlineData("5pm")]
    [InlineData("10:45am")]
    [InlineData("am")]
    [InlineData("pm5")]
    [InlineData("2026-11-22")]
    [InlineData("(555)123-4567")]
    [InlineData("12,50%")]
    [InlineData("\u0663\u0664")]          // Arabic-Indic digits count as digits, as \\d does
    [InlineData("12abc")]
    [InlineData("!!")]
    [InlineData("")]
    [InlineData("1am2")]
    public void IsWildNum_agrees_with_the_reference_pattern(string word) =>
        Assert.Equal(Tokenizer.WildNumRe().IsMatch(word), Tokenizer.IsWildNum(word));
}

public class TokenizerLoopTests
{
    [Theory]
    [InlineData("abcdef")]
    [InlineData("abcdef1")]
    [InlineData("x0123456789abcdefz")]
    [InlineData("abcde")]
    [InlineData("deadbeef.cafe12345")]
    [InlineData("gg")]
    [InlineData("")]
    public void ReplaceHexRuns_agrees_with_the_reference_pattern(string word) =>
        Assert.Equal(Tokenizer.HexRe().Replace(word, "randword"), Tokenizer.ReplaceHexRuns(word));

    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("a1b22c333")]
    [InlineData("1,000.50$")]
    [InlineData("x.y")]
    [InlineData("٣٤٥")]
    [InlineData("7")]
    [InlineData("")]
    public void ReplaceNumberRuns_agrees_with_the_reference_pattern(string word) =>
        Assert.Equal(Tokenizer.NumberRe().Replace(word, "randnumber"), Tokenizer.ReplaceNumberRuns(word));

    [Theory]
    [InlineData("mx1.google.com a-b--c abc- x1am 10am deadbe.ef Mail.Example.COM a.b ab..cd ab.c1.2 abcdef0 ab-12 w3.org a.b.c-d x.y. é.a")]
    [InlineData("Hello WORLD thequickbrownfoxjumpsoverthelazydogagainandagain ab-cd-ef1 DeadBeef cafe12 a1b2c3 Zz9 x9.y8 q-")]
    public void Words_that_cleaning_leaves_alone_are_only_lower_cased(string text)
    {
        var pieces = new List<string>();
        foreach (var raw in text.Split(' '))
        {
            if (!Tokenizer.IsUnchangedByCleaning(raw)) continue;
            pieces.Clear();
            Tokenizer.CleanWord(raw, pieces);
            var lower = raw.ToLowerInvariant();
            Assert.Equal([lower.Length > Tokenizer.MaxWordLength ? lower[..Tokenizer.MaxWordLength] : lower], pieces.Select(p => p.Length > Tokenizer.MaxWordLength ? p[..Tokenizer.MaxWordLength] : p));
        }
        Assert.False(Tokenizer.IsUnchangedByCleaning("mx1.google.com"));
        Assert.False(Tokenizer.IsUnchangedByCleaning("1am"));
        Assert.True(Tokenizer.IsUnchangedByCleaning("Mail.Example.COM"));
    }

    [Theory]
    [InlineData("Received: from Mail.Example.COM ([10.0.0.1]) by mx.example.org with ESMTP id 4A1B2C3D4E5F for <bob@example.org>; Mon, 2 Nov 2026 08:00:00 +0000")]
    [InlineData("mx1.google.com a-b--c abc- x1am 10am deadbe.ef Mail.Example.COM a.b ab..cd ab.c1.2 abcdef0 ab-12 w3.org a.b.c-d x.y. é.a")]
    [InlineData("Deadbeef CAFEBABE Straße abcdefghijklmnopqrstuvwxyzabcdefghijklmnop http://smtp.example.com/x?y=1 \"quoted\" it's")]
    public void Word_hashes_are_the_hashes_of_the_words(string text)
    {
        ulong seed = TokenHash.Append(TokenHash.Seed, "received:");
        var expected = Tokenizer.Words(text).Select(w => TokenHash.Finish(TokenHash.Append(seed, w))).ToHashSet();
        var hashes = new HashSet<ulong>();
        Tokenizer.AddWordHashes(text, seed, hashes);
        Assert.Equal(expected.Order(), hashes.Order());
    }
}
