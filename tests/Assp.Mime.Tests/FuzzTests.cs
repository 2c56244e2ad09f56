using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Assp.Mime.Tests;

/// <summary>Mutation and adversarial inputs: the parser must terminate, not throw, and do bounded work.</summary>
public class FuzzTests
{
    private static readonly byte[][] Seeds = BuildSeeds();

    private static byte[][] BuildSeeds()
    {
        var list = new List<byte[]>
        {
            Encoding.ASCII.GetBytes("From: a@b.c\r\nSubject: =?utf-8?B?SGk=?=\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npre\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9=\r\n\r\n--b2\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b2--\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b1\r\nContent-Type: application/octet-stream; name*0*=utf-8''a%20; name*1=b.exe\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==\r\n--b1--\r\nepilogue\r\n"),
            // A mangled boundary (guessed from the body) and transfer-encoded multiparts (parsed from decoded copies).
            Encoding.ASCII.GetBytes("Subject: g\r\nContent-Type: multipart/alternative; boundary=\"=_decl\"\r\n\r\npre\r\n--=_used\r\nContent-Type: text/plain\r\n\r\na\r\n--=_used\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n\r\nb\r\n--in--\r\n--=_used--\r\n"),
            Encoding.ASCII.GetBytes("Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                Convert.ToBase64String(Encoding.ASCII.GetBytes("--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n--b--\r\n")) + "\r\n"),
            Encoding.ASCII.GetBytes("Content-Type: multipart/mixed; boundary=\"=_q\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n--=3D_q\r\n\r\nsoft=\r\nbreak\r\n--=3D_q--\r\n"),
        };
        if (Corpus.Directory is not null)
        {
            var files = Corpus.Files();
            for (int i = 0; i < files.Count; i += Math.Max(1, files.Count / 40)) list.Add(File.ReadAllBytes(files[i]));
        }
        return list.ToArray();
    }

    private static void ParseFully(byte[] data)
    {
        var m = MimeParser.Parse(data);
        int n = 0;
        foreach (var e in m.Entities)
        {
            if (++n > 50000) break;
            _ = e.GetText();
            _ = e.FileName;
            _ = e.UuencodedItems;
        }
        _ = m.From; _ = m.To; _ = m.Date; _ = m.Received; _ = m.Subject; _ = m.MessageId; _ = m.References;
        var round = new MimeWriter(m).ToArray();
        Assert.Equal(data, round);
        OffsetInvariants.Check(m);
    }

    [Fact]
    public void Truncation_at_random_points()
    {
        var gen = Gen.Zip(Gen.Choose(0, Seeds.Length - 1), Gen.Choose(0, int.MaxValue));
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(400), Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var seed = Seeds[t.Item1];
            ParseFully(seed.AsSpan(0, t.Item2 % (seed.Length + 1)).ToArray());
            return true;
        }));
    }

    [Fact]
    public void Random_byte_flips_and_insertions()
    {
        var interesting = new byte[] { 0, (byte)'\r', (byte)'\n', (byte)'-', (byte)':', (byte)'=', (byte)'?', (byte)'"', (byte)';', (byte)' ', 0xFF, 0xC3 };
        var edit = Gen.Zip(Gen.Choose(0, int.MaxValue), Gen.Elements(interesting));
        var gen = Gen.Zip(Gen.Choose(0, Seeds.Length - 1), edit.ArrayOf());
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(400), Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var data = (byte[])Seeds[t.Item1].Clone();
            foreach (var (pos, b) in t.Item2) if (data.Length > 0) data[pos % data.Length] = b;
            ParseFully(data);
            return true;
        }));
    }

    [Fact]
    public void Boundary_games()
    {
        var pieces = new[]
        {
            "--a\r\n", "--a--\r\n", "--b\r\n", "--b--\r\n", "--a \r\n", "--\r\n", "\r\n", "text\r\n", "Content-Type: multipart/mixed; boundary=a\r\n",
            "Content-Type: multipart/mixed; boundary=b\r\n", "Content-Type: message/rfc822\r\n", "Content-Type: multipart/digest; boundary=a\r\n",
            "Content-Transfer-Encoding: base64\r\n", "--a", "\r", "\n", "X: y\r\n", " folded\r\n",
        };
        var gen = Gen.Elements(pieces).ArrayOf();
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll(gen.ToArbitrary(), parts =>
        {
            ParseFully(Encoding.ASCII.GetBytes("Content-Type: multipart/mixed; boundary=a\r\n\r\n" + string.Concat(parts)));
            return true;
        }));
    }

    private static void Bounded(Action action, double seconds, long bytes)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        action();
        sw.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sw.Elapsed.TotalSeconds < seconds, $"took {sw.Elapsed}");
        Assert.True(allocated < bytes, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void Ten_thousand_deep_multipart_nesting()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 10000; i++) sb.Append("Content-Type: multipart/mixed; boundary=\"d").Append(i).Append("\"\r\n\r\n--d").Append(i).Append("\r\n");
        sb.Append("\r\ninnermost\r\n");
        for (int i = 9999; i >= 0; i--) sb.Append("--d").Append(i).Append("--\r\n");
        var data = Encoding.ASCII.GetBytes(sb.ToString());
        MimeMessage? m = null;
        Bounded(() => m = MimeParser.Parse(data), 10, 200L << 20);
        Assert.True(m!.HasProblem(MimeProblemKind.NestingTooDeep));
        Assert.True(m.Entities.Max(e => e.Depth) <= MimeParserOptions.Default.MaxDepth);
        Assert.Equal(data, new MimeWriter(m).ToArray());
    }

    [Fact]
    public void Ten_thousand_deep_message_rfc822_nesting()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 10000; i++) sb.Append("Content-Type: message/rfc822\r\n\r\n");
        sb.Append("Subject: bottom\r\n\r\nx");
        var data = Encoding.ASCII.GetBytes(sb.ToString());
        MimeMessage? m = null;
        Bounded(() => m = MimeParser.Parse(data), 10, 100L << 20);
        Assert.True(m!.HasProblem(MimeProblemKind.NestingTooDeep));
        Assert.Equal(data, new MimeWriter(m).ToArray());
    }

    [Fact]
    public void Megabyte_header_lines()
    {
        var big = new string('x', 3 << 20);
        var data = Encoding.ASCII.GetBytes("Subject: " + big + "\r\nX-Folded: a\r\n " + big + "\r\n\r\nbody");
        MimeMessage? m = null;
        Bounded(() => m = MimeParser.Parse(data), 10, 64L << 20);
        Assert.True(m!.HasProblem(MimeProblemKind.HeaderBlockTooLarge));
        Assert.Equal(data, new MimeWriter(m).ToArray());
        var ok = MimeParser.Parse(Encoding.ASCII.GetBytes("Subject: " + new string('y', 500_000) + "\r\n\r\nb"));
        Assert.Equal(500_000, ok.Subject!.Length);
    }

    [Fact]
    public void Many_parts_and_many_boundary_like_lines()
    {
        var sb = new StringBuilder("Content-Type: multipart/mixed; boundary=p\r\n\r\n");
        for (int i = 0; i < 50000; i++) sb.Append("--p\r\n\r\nx\r\n--px\r\n");
        var data = Encoding.ASCII.GetBytes(sb.ToString());
        MimeMessage? m = null;
        Bounded(() => m = MimeParser.Parse(data), 10, 400L << 20);
        Assert.True(m!.Root.Children.Count <= MimeParserOptions.Default.MaxEntities);
        Assert.Equal(data, new MimeWriter(m).ToArray());
    }

    [Fact]
    public void Random_bytes()
    {
        var gen = Gen.Choose(0, 255).Select(i => (byte)i).ArrayOf();
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(gen.ToArbitrary(), data =>
        {
            ParseFully(data);
            return true;
        }));
    }

    [Fact]
    public void Header_decoders_survive_random_strings()
    {
        var chars = Gen.Elements("=?_BbQq'\"<>@,;:()[]\\%*. aé\u00ff\t0123456789abcdef-xn".ToCharArray()).ArrayOf().Select(a => new string(a));
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(2000), Prop.ForAll(chars.ToArbitrary(), s =>
        {
            _ = EncodedWords.Decode(s);
            _ = AddressParser.ParseList(s).SelectMany(a => a.Mailboxes).Select(x => (x.Address, x.UnicodeDomain, x.AsciiDomain)).ToList();
            _ = ContentType.Parse(s).Parameters.ToList();
            _ = ContentDisposition.Parse(s).FileName;
            _ = DateParser.Parse(s);
            _ = ReceivedHeader.Parse(s);
            _ = MessageIds.ParseList(s);
            _ = Idn.TryDecodePunycode(s, out _);
            return true;
        }));
    }
}
