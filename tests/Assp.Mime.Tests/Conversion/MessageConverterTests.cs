using System.Text;
using Assp.Mime.Attachments;
using Assp.Mime.Conversion;
using Assp.Mime.Tests.Attachments;

namespace Assp.Mime.Tests.Conversion;

public class MessageConverterTests
{
    private static CharsetMap Map(params string[] rules)
    {
        var problems = new List<string>();
        var map = CharsetMap.Parse(rules, problems);
        Assert.Empty(problems);
        return map;
    }

    private static byte[] Utf8Mail() => Encoding.UTF8.GetBytes(
        "From: a@example.org\r\n" +
        "Subject: =?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("Grüße aus Köln")) + "?= now\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
        "--b1\r\n" +
        "Content-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n" +
        "--b2\r\n" +
        "Content-Type: text/plain; charset=utf-8; format=flowed\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n\r\n" +
        "Grüße, 5 € and 日本\r\nline two\r\n" +
        "--b2\r\n" +
        "Content-Type: text/html; charset=\"UTF-8\"\r\n" +
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        Convert.ToBase64String(Encoding.UTF8.GetBytes("<p>Grüße</p>")) + "\r\n" +
        "--b2--\r\n" +
        "--b1\r\n" +
        "Content-Type: application/pdf; name=\"a.pdf\"\r\n" +
        "Content-Transfer-Encoding: base64\r\n" +
        "Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n" +
        "JVBERi0xLjQKJcfsj6IK\r\n" +
        "--b1--\r\n");

    [Fact]
    public void Utf8_text_parts_and_header_words_become_latin1()
    {
        var original = Utf8Mail();
        var result = MessageConverter.Convert(MimeParser.Parse(original), new ConversionOptions { Charsets = Map("UTF-8=>ISO-8859-1") });
        Assert.NotNull(result.Message);
        var text = Encoding.Latin1.GetString(result.Message);
        var msg = MimeParser.Parse(result.Message);

        var plain = msg.Entities.Single(e => e.MimeType == "text/plain");
        Assert.Equal("ISO-8859-1", plain.Charset);
        Assert.Equal("flowed", plain.ContentType.Parameters["format"]);
        // 8-bit result: quoted-printable, as ASSP sets it; the euro sign and the CJK letters are not in Latin-1 and become '?'.
        Assert.Equal(ContentEncoding.QuotedPrintable, plain.ContentTransferEncoding);
        Assert.Contains("Gr=FC=DFe, 5 ? and ??\r\nline two\r\n", text, StringComparison.Ordinal);
        Assert.Equal("Grüße, 5 ? and ??\r\nline two", plain.GetText());   // the last line break belongs to the boundary

        var html = msg.Entities.Single(e => e.MimeType == "text/html");
        Assert.Equal("ISO-8859-1", html.Charset);
        Assert.Equal(ContentEncoding.Base64, html.ContentTransferEncoding);
        Assert.Equal(Encoding.Latin1.GetBytes("<p>Grüße</p>"), html.GetContentBytes().ToArray());

        // The Subject's encoded word is in the new charset; the attachment and the boundaries are untouched.
        Assert.Contains("Subject: =?ISO-8859-1?B?" + Convert.ToBase64String(Encoding.Latin1.GetBytes("Grüße aus Köln")) + "?= now\r\n", text, StringComparison.Ordinal);
        Assert.Equal("Grüße aus Köln now", msg.Subject);
        Assert.Contains("Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\nJVBERi0xLjQKJcfsj6IK\r\n--b1--\r\n", text, StringComparison.Ordinal);
        Assert.Contains(result.Log, l => l == "character set conversion: from UTF-8 to ISO-8859-1 in MIME part 4");
        Assert.Contains(result.Log, l => l.StartsWith("info: done header conversion from UTF-8 to ISO-8859-1", StringComparison.Ordinal));
        Assert.Equal(MimeParser.Parse(original).Entities.Count(), msg.Entities.Count());
    }

    [Fact]
    public void Latin1_becomes_utf8_and_quoted_printable_stays()
    {
        var mail = Encoding.ASCII.GetBytes(
            "Subject: =?iso-8859-1?Q?caf=E9_cr=E8me?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 =80 5\r\n");
        var result = MessageConverter.Convert(MimeParser.Parse(mail), new ConversionOptions { Charsets = Map("ISO-8859-1=>UTF-8") });
        Assert.NotNull(result.Message);
        var text = Encoding.ASCII.GetString(result.Message);
        var msg = MimeParser.Parse(result.Message);
        Assert.Equal("UTF-8", msg.Root.Charset);
        Assert.Equal(ContentEncoding.QuotedPrintable, msg.Root.ContentTransferEncoding);
        // 0x80 is read as Windows-1252's euro sign (what the sender meant), then written in UTF-8.
        Assert.Equal("café € 5\r\n", Encoding.UTF8.GetString(msg.Root.GetContentBytes().Span));
        Assert.Contains("Subject: =?UTF-8?Q?caf=C3=A9_cr=C3=A8me?=\r\n", text, StringComparison.Ordinal);
        Assert.Equal("café crème", msg.Subject);
        // A message without MIME-Version gets one, as ASSP adds it.
        Assert.Equal("1.0", msg.Headers["MIME-Version"]);
    }

    [Fact]
    public void Aliases_find_the_rule_and_7bit_text_keeps_its_encoding()
    {
        var mail = Encoding.ASCII.GetBytes("Content-Type: text/plain; charset=\"utf8\"\r\n\r\nplain ascii\r\n");
        var result = MessageConverter.Convert(MimeParser.Parse(mail), new ConversionOptions { Charsets = Map("UTF-8=>latin1") });
        Assert.NotNull(result.Message);
        Assert.Equal("Content-Type: text/plain; charset=\"latin1\"\r\nMIME-Version: 1.0\r\n\r\nplain ascii\r\n", Encoding.ASCII.GetString(result.Message));
    }

    [Fact]
    public void Nothing_to_do_gives_no_message()
    {
        var mail = Utf8Mail();
        Assert.Null(MessageConverter.Convert(MimeParser.Parse(mail), new ConversionOptions { Charsets = Map("ISO-8859-2=>UTF-8") }).Message);
        Assert.Null(MessageConverter.Convert(MimeParser.Parse(mail), new ConversionOptions()).Message);
        // A rule from a charset to itself does nothing.
        Assert.Null(MessageConverter.Convert(MimeParser.Parse(mail), new ConversionOptions { Charsets = Map("utf8=>UTF-8") }).Message);
    }

    [Fact]
    public void Unknown_charsets_and_bad_rules_are_reported()
    {
        var problems = new List<string>();
        var map = CharsetMap.Parse(["UTF-8=>bogus-charset|x=>|ISO-8859-15=>ISO-8859-1", "windows-1250=>UTF-8"], problems);
        Assert.Equal(2, map.Count);
        Assert.Contains("unknown charset 'bogus-charset' in rule 'UTF-8=>bogus-charset'", problems);
        Assert.Contains("'x=>' is not a FROM=>TO rule", problems);
    }

    // ---------------------------------------------------------------- TNEF

    internal static readonly byte[] PdfBytes = Encoding.ASCII.GetBytes("%PDF-1.4\n%\xc7\xec\n1 0 obj << >> endobj\n%%EOF\n");
    internal static readonly byte[] ExeBytes = [.. "MZ"u8, .. Enumerable.Range(0, 300).Select(i => (byte)(i * 7))];

    internal static byte[] WinmailDat() => new TnefWriter()
        .Version()
        .Attr(1, 0x00069007, [0xE4, 0x04, 0, 0, 0, 0, 0, 0])   // attOemCodepage 1252
        .Attr(1, 0x00078008, TnefWriter.Z8("IPM.Microsoft Mail.Note"))
        .Subject("Quarterly figures")
        .Attr(1, 0x0002800C, Encoding.Latin1.GetBytes("Hello Müller,\r\nsee attached.\r\n"))
        .RendData().Title("REPORT~1.PDF").Data(PdfBytes)
        .AttachProps((TnefWriter.PtString8, 0x3707, TnefWriter.Z8("report 2024.pdf")))
        .RendData().Title("INVOIC~1.EXE").Data(ExeBytes)
        .AttachProps((TnefWriter.PtString8, 0x3707, TnefWriter.Z8("invoice.pdf.exe")))
        .ToArray();

    internal static byte[] MailWithTnef(byte[] tnef, string contentType = "application/ms-tnef; name=\"winmail.dat\"", bool disposition = true) =>
        Encoding.ASCII.GetBytes(
            "From: boss@example.org\r\nSubject: figures\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n" +
            "--xx\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nsee the attachment\r\n" +
            "--xx\r\nContent-Type: " + contentType + "\r\nContent-Transfer-Encoding: base64\r\n" +
            (disposition ? "Content-Disposition: attachment; filename=\"winmail.dat\"\r\n" : "") + "\r\n" +
            Convert.ToBase64String(tnef, Base64FormattingOptions.InsertLineBreaks) + "\r\n--xx--\r\n");

    [Fact]
    public void Tnef_part_becomes_mime_parts_and_is_kept()
    {
        var result = MessageConverter.Convert(MimeParser.Parse(MailWithTnef(WinmailDat())), new ConversionOptions { ConvertTnef = true, KeepTnef = true });
        Assert.NotNull(result.Message);
        Assert.True(result.TnefConverted);
        var msg = MimeParser.Parse(result.Message);
        var parts = msg.Root.Children;
        Assert.Equal(["text/plain", "application/ms-tnef", "text/plain", "application/pdf", "application/x-msdownload"], parts.Select(p => p.MimeType));
        Assert.Equal(WinmailDat(), parts[1].GetContentBytes().ToArray());
        Assert.Equal("Hello Müller,\r\nsee attached.\r\n", parts[2].GetText());
        Assert.Equal("windows-1252", parts[2].Charset);
        Assert.Equal("report 2024.pdf", parts[3].FileName);
        Assert.Equal(PdfBytes, parts[3].GetContentBytes().ToArray());
        Assert.Equal("invoice.pdf.exe", parts[4].FileName);
        Assert.Equal(ExeBytes, parts[4].GetContentBytes().ToArray());
        Assert.True(parts[4].IsAttachment);
        Assert.Contains(result.Log, l => l.StartsWith("added attachment part invoice.pdf.exe from TNEF to MIME", StringComparison.Ordinal));
        Assert.Contains(result.Debug, l => l.Contains("2 attachment(s)", StringComparison.Ordinal));
        Assert.DoesNotContain(msg.Problems, p => p.Kind is MimeProblemKind.InvalidBase64 or MimeProblemKind.BoundaryGuessed);
    }

    [Fact]
    public void Tnef_part_is_removed_when_not_kept_and_the_body_follows_the_charset_rules()
    {
        var result = MessageConverter.Convert(MimeParser.Parse(MailWithTnef(WinmailDat())),
            new ConversionOptions { ConvertTnef = true, KeepTnef = false, Charsets = Map("windows-1252=>UTF-8") });
        var msg = MimeParser.Parse(result.Message!);
        Assert.Equal(["text/plain", "text/plain", "application/pdf", "application/x-msdownload"], msg.Root.Children.Select(p => p.MimeType));
        Assert.Equal("UTF-8", msg.Root.Children[1].Charset);
        Assert.Equal(Encoding.UTF8.GetBytes("Hello Müller,\r\nsee attached.\r\n"), msg.Root.Children[1].GetContentBytes().ToArray());
        Assert.DoesNotContain(msg.Entities, e => e.MimeType == "application/ms-tnef");
    }

    [Theory]
    [InlineData("application/octet-stream; name=\"winmail.dat\"", true)]   // attached by other than Exchange: ASSP leaves it
    [InlineData("application/ms-tnef", false)]                            // no Content-Disposition
    public void Tnef_is_not_converted_in_the_cases_assp_leaves_alone(string contentType, bool disposition)
    {
        var result = MessageConverter.Convert(MimeParser.Parse(MailWithTnef(WinmailDat(), contentType, disposition)), new ConversionOptions { ConvertTnef = true });
        Assert.Null(result.Message);
    }

    [Fact]
    public void A_tnef_part_without_tnef_data_stays()
    {
        var result = MessageConverter.Convert(MimeParser.Parse(MailWithTnef("not tnef at all"u8.ToArray())), new ConversionOptions { ConvertTnef = true });
        Assert.Null(result.Message);
        Assert.Contains(result.Log, l => l.Contains("no TNEF data", StringComparison.Ordinal));
    }

    [Fact]
    public void Non_ascii_attachment_names_are_encoded()
    {
        var tnef = new TnefWriter().Version().RendData().Title("X.TXT").Data("hi"u8.ToArray())
            .AttachProps((TnefWriter.PtUnicode, 0x3707, TnefWriter.Z16("Übersicht \"Q1\".txt"))).ToArray();
        var result = MessageConverter.Convert(MimeParser.Parse(MailWithTnef(tnef)), new ConversionOptions { ConvertTnef = true, KeepTnef = false });
        var text = Encoding.ASCII.GetString(result.Message!);
        Assert.Contains("filename*=UTF-8''%C3%9Cbersicht%20%22Q1%22.txt", text, StringComparison.Ordinal);
        var part = MimeParser.Parse(result.Message!).Root.Children[1];
        Assert.Equal("Übersicht \"Q1\".txt", part.FileName);
        Assert.Equal("text/plain", part.MimeType);
        Assert.Equal("hi"u8.ToArray(), part.GetContentBytes().ToArray());
    }

    // ---------------------------------------------------------------- quoted-printable

    [Fact]
    public void Quoted_printable_round_trips_and_keeps_lines_short()
    {
        var rnd = new Random(7);
        for (int n = 0; n < 200; n++)
        {
            var data = new byte[rnd.Next(0, 400)];
            rnd.NextBytes(data);
            // Line breaks are CRLF in mail; lone CR/LF are not kept as such.
            for (int i = 0; i < data.Length; i++) if (data[i] is (byte)'\r' or (byte)'\n') data[i] = (byte)'x';
            for (int i = 0; i + 1 < data.Length; i += rnd.Next(20, 120)) { data[i] = (byte)'\r'; data[i + 1] = (byte)'\n'; }
            var encoded = QuotedPrintable.Encode(data);
            Assert.All(encoded.Split("\r\n"), line => Assert.True(line.Length <= 76, line));
            Assert.Equal(data, TransferEncodings.DecodeQuotedPrintable(Encoding.ASCII.GetBytes(encoded), out int bad));
            Assert.Equal(0, bad);
        }
        Assert.Equal("a=20\r\nb=3D", QuotedPrintable.Encode("a \r\nb="u8));
    }
}
