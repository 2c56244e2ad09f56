namespace Assp.Mime.Tests;

/// <summary>Hand-checked messages from the SpamAssassin public corpus (values verified by reading the files).</summary>
public class CorpusSampleTests
{
    private static MimeMessage Load(string rel) => MimeParser.Parse(Corpus.Read(rel));

    [Fact]
    public void Iso2022jp_subject_split_over_two_words_and_japanese_attachment_name()
    {
        var m = Load("ham/hard_ham-00039.b2b936a8501444b213f61f9ff193b480.eml");
        Assert.Equal("日本語の件名（サブジェクト）　スパムメールではありません！", m.Subject);
        Assert.Equal("伊東　仁", m.From[0].DisplayName);
        Assert.Equal("hito@opentext.com", m.From[0].Address);
        var att = Assert.Single(m.Attachments);
        Assert.Equal("マイルストーン表示.bmp", att.FileName);
        Assert.Equal("image/bmp", att.MimeType);
        Assert.Equal(220518, att.DecodedSize);
        Assert.Equal(new DateTimeOffset(2002, 7, 11, 11, 1, 45, TimeSpan.FromHours(-4)), m.Date);
        Assert.Equal("172.21.0.46", m.Received[0].FromIp!.ToString());
    }

    [Fact]
    public void Iso2022jp_subject_in_three_words_with_ascii_tail()
    {
        var m = Load("ham/hard_ham-00042.5b7f2a0e87c853e8c8e13d556c1320d2.eml");
        Assert.Equal("Re: 三菱化学エンジニアリング様プロセスダウンについて  - ticket #55606OTC1 -", m.Subject);
        Assert.Equal("Hitoshi Ito", m.From[0].DisplayName);
    }

    [Fact]
    public void Big5_q_encoded_subject_nested_multipart_related()
    {
        var m = Load("spam/spam-00252.7e355e0c5fd1de609684544262435579.eml");
        Assert.Equal("不看會後悔", m.Subject);
        Assert.Equal("multipart/related", m.Root.MimeType);
        Assert.Equal("multipart/alternative", m.Root.Children[0].MimeType);
        Assert.Equal("text/html", Assert.Single(m.TextParts).MimeType);
        Assert.True(m.HasProblem(MimeProblemKind.EightBitHeader)); // raw Big5 bytes in From
    }

    [Fact]
    public void Latin1_q_subject_with_umlaut()
    {
        var m = Load("ham/easy_ham-02434.37126367f2a918fead5ff8ea834cc334.eml");
        Assert.Equal("Re: RE: [zzzzteana] Sitting Bull über alles [Long]", m.Subject);
        Assert.Equal("Bill Jacobs", m.From[0].DisplayName);
        Assert.Equal("zzzzteana@yahoogroups.com", m.To[0].Address);
    }

    [Fact]
    public void Related_html_mail_with_five_inline_images()
    {
        var m = Load("spam/spam_2-00200.2fcabc2b58baa0ebc051e3ea3dfafd8f.eml");
        Assert.Equal("Votre maintenance Informatique", m.Subject);
        Assert.Equal(["bandeau.jpg", "carreauloupe.jpg", "carreaufleche.jpg", "logo.jpg", "bouton.gif"], m.Attachments.Select(a => a.FileName!).ToArray());
        Assert.Equal([10751, 3823, 4098, 8911, 5023], m.Attachments.Select(a => a.DecodedSize).ToArray());
        Assert.Equal(["text/plain", "text/html"], m.TextParts.Select(t => t.MimeType).ToArray());
        Assert.Equal("IPOGEA", m.From[0].DisplayName);
    }

    [Fact]
    public void Uuencoded_oops_files_in_a_plain_text_mail()
    {
        var m = Load("ham/hard_ham-00189.c69e4af5bfa5a1bcb403eefe112e5e45.eml");
        Assert.Equal("Re: kernel BUG at filemap.c:843!", m.Subject);
        Assert.Equal([("oops1.dat", 4916), ("oops2.dat", 5077), ("oops3.dat", 4736)],
            m.UuencodedAttachments.Select(u => (u.FileName!, u.DecodedSize)).ToArray());
        Assert.Equal("Eric Sandeen", m.To[0].DisplayName);
    }

    [Fact]
    public void Broken_content_type_with_file_parameter_still_yields_the_attachment()
    {
        var m = Load("spam/spam_2-01359.deafa1d42658c6624c6809a446b7f369.eml");
        var att = Assert.Single(m.Attachments);
        Assert.Equal("Yinxiang Motorcycles.doc", att.FileName);
        Assert.Equal(64000, att.DecodedSize);
        Assert.Equal("Ms.Huang (Sales Manager)", m.From[0].DisplayName);
        Assert.Equal("motorcycle@qinghecq.com", m.From[0].Address);
    }

    [Fact]
    public void Encoded_word_glued_inside_a_display_name()
    {
        var m = Load("ham/easy_ham-00011.fbcde1b4833bdbaaf0ced723edd6e355.eml");
        Assert.Equal("David Höhn", m.From[0].DisplayName);
        Assert.Equal("dh@uptime.at", m.From[0].Address);
        Assert.Equal("B98ABFA4.1F87%dh@uptime.at", m.MessageId);
    }

    [Fact]
    public void Mangled_boundary_is_guessed_from_the_body()
    {
        // Declared "=Multipart Boundary 0925021429", used "= Multipart Boundary 0925021429".
        var m = Load("spam/spam-00467.5b733c506b7165424a0d4a298e67970f.eml");
        Assert.Equal("Printer Cartridges as low as $1.21 each!", m.Subject);
        Assert.False(m.HasProblem(MimeProblemKind.BoundaryNotFound));
        var p = Assert.Single(m.Problems, p => p.Kind == MimeProblemKind.BoundaryGuessed);
        Assert.Contains("\"= Multipart Boundary 0925021429\"", p.Detail);
        Assert.Equal(["text/plain", "text/html"], m.Root.Children.Select(c => c.MimeType).ToArray());
        Assert.Empty(m.Attachments);
    }

    [Fact]
    public void Quoted_printable_declared_on_a_multipart_is_split_anyway()
    {
        var m = Load("spam/spam_2-00673.89b0df1a8a6e1a95c48f1f63e48648f4.eml");
        Assert.True(m.HasProblem(MimeProblemKind.EncodedCompositeBody));
        Assert.Equal(["text/plain", "text/html"], m.TextParts.Select(t => t.MimeType).ToArray());
        Assert.Contains("remove@nouce1.com", m.TextParts.First().GetText());
    }

    [Fact]
    public void Comment_style_from_address()
    {
        var m = Load("ham/easy_ham-00032.57e29a75bca42afb412fc68d5051aa20.eml");
        Assert.Equal("Robert Harley", m.From[0].DisplayName);
        Assert.Equal("harley@argote.ch", m.From[0].Address);
    }
}
