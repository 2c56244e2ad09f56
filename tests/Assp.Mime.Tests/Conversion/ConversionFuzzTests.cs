using System.Text;
using Assp.Mime.Attachments;
using Assp.Mime.Conversion;
using FsCheck;
using FsCheck.Fluent;

namespace Assp.Mime.Tests.Conversion;

/// <summary>Damaged TNEF data and damaged mail: the TNEF decoding and the conversion never throw, and what they
/// write is a message the parser reads again.</summary>
public class ConversionFuzzTests
{
    private static readonly CharsetMap Rules = CharsetMap.Parse(["UTF-8=>ISO-8859-1|windows-1252=>UTF-8|ISO-8859-1=>UTF-8"], []);

    private static readonly byte[] Tnef = MessageConverterTests.WinmailDat();

    private static readonly byte[][] Mails =
    [
        MessageConverterTests.MailWithTnef(Tnef),
        Encoding.UTF8.GetBytes("Subject: =?utf-8?q?=C3=A4?= x\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nä ö ü €\r\n--b\r\n" +
            "Content-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<b>=E4</b>\r\n--b--\r\n"),
    ];

    private static byte[] Mutate(byte[] seed, IEnumerable<(int Pos, int Val)> flips, int cutPercent)
    {
        var b = (byte[])seed.Clone();
        foreach (var (pos, val) in flips) b[pos % b.Length] = (byte)val;
        int len = cutPercent >= 50 ? b.Length : b.Length * (cutPercent * 2) / 100;
        return b[..len];
    }

    private static bool ConvertsSafely(byte[] mail)
    {
        var result = MessageConverter.Convert(MimeParser.Parse(mail), new ConversionOptions { Charsets = Rules, ConvertTnef = true, KeepTnef = false });
        if (result.Message is { } converted) _ = MimeParser.Parse(converted).Entities.Count();
        return true;
    }

    [Fact]
    public void Damaged_tnef_inside_a_mail_never_breaks_the_conversion()
    {
        var gen = from flips in Gen.ListOf(Gen.Choose(0, 1 << 20).Zip(Gen.Choose(0, 255)))
                  from cut in Gen.Choose(0, 100)
                  select MessageConverterTests.MailWithTnef(Mutate(Tnef, flips, cut));
        Prop.ForAll(gen.ToArbitrary(), mail =>
        {
            _ = TnefToMime.Parts(TnefReader.List(mail));
            return ConvertsSafely(mail);
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void Damaged_mail_never_breaks_the_conversion()
    {
        var gen = from seed in Gen.Elements(Mails)
                  from flips in Gen.ListOf(Gen.Choose(0, 1 << 20).Zip(Gen.Choose(0, 255)))
                  from cut in Gen.Choose(0, 100)
                  select Mutate(seed, flips, cut);
        Prop.ForAll(gen.ToArbitrary(), ConvertsSafely).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300));
    }
}
