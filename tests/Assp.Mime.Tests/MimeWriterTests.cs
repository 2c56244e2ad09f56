using System.Text;

namespace Assp.Mime.Tests;

public class MimeWriterTests
{
    private const string Msg = "Received: from a by b; 1 Jan 2020 00:00:00 +0000\r\nSubject: hello\r\nX-Spam: old\r\nFrom: a@b.c\r\nX-Spam: older\r\n\r\nbody\r\n";

    private static string Write(string input, Action<MimeWriter> edit)
    {
        var m = MimeParser.Parse(Encoding.UTF8.GetBytes(input));
        var w = new MimeWriter(m);
        edit(w);
        return Encoding.UTF8.GetString(w.ToArray());
    }

    [Fact]
    public void No_edits_gives_identical_bytes()
    {
        Assert.Equal(Msg, Write(Msg, _ => { }));
    }

    [Fact]
    public void Add_at_top_and_end()
    {
        var s = Write(Msg, w => w.AddAtTop("X-Top", "1").AddAtTop("X-Top0", "0").AddAtEnd("X-End", "e"));
        Assert.Equal("X-Top0: 0\r\nX-Top: 1\r\n" + Msg.Replace("X-Spam: older\r\n", "X-Spam: older\r\nX-End: e\r\n"), s);
    }

    [Fact]
    public void Remove_and_replace()
    {
        var s = Write(Msg, w => w.Remove("x-spam").Replace("Subject", "new subject"));
        Assert.Equal("Received: from a by b; 1 Jan 2020 00:00:00 +0000\r\nSubject: new subject\r\nFrom: a@b.c\r\n\r\nbody\r\n", s);
        var r = Write(Msg, w => w.Replace("X-Spam", "yes"));
        Assert.Equal(Msg.Replace("X-Spam: old\r\n", "X-Spam: yes\r\n").Replace("X-Spam: older\r\n", ""), r);
        var added = Write(Msg, w => w.Replace("X-New", "n"));
        Assert.Contains("X-Spam: older\r\nX-New: n\r\n\r\nbody", added);
    }

    [Fact]
    public void Uses_the_message_line_ending_and_handles_header_only_messages()
    {
        Assert.Equal("A: 1\nX: y\n\nb", Write("A: 1\n\nb", w => w.AddAtEnd("X", "y")));
        Assert.Equal("A: 1\r\nX: y\r\n", Write("A: 1", w => w.AddAtEnd("X", "y")));
    }

    [Fact]
    public void Long_and_non_ascii_values_are_folded_and_encoded()
    {
        var s = Write(Msg, w => w.AddAtTop("X-Long", string.Join(" ", Enumerable.Repeat("word", 40))).AddAtTop("X-U", "Grüße"));
        Assert.All(s.Split("\r\n"), line => Assert.True(line.Length <= 80, line));
        var again = MimeParser.Parse(Encoding.UTF8.GetBytes(s));
        Assert.Equal("Grüße", again.Headers["X-U"]);
        Assert.Equal(string.Join(" ", Enumerable.Repeat("word", 40)), again.Headers["X-Long"]);
        Assert.EndsWith("\r\n\r\nbody\r\n", s);
    }

    [Fact]
    public void Multipart_body_bytes_are_untouched()
    {
        var mp = "Subject: s\nContent-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/plain\n\nx\n--b--\npost\n";
        Assert.Equal("X: 1\n" + mp, Write(mp, w => w.AddAtTop("X", "1")));
    }

    [Fact]
    public async Task WriteToAsync_writes_the_same_bytes()
    {
        var m = MimeParser.Parse(Encoding.UTF8.GetBytes(Msg));
        using var ms = new MemoryStream();
        await new MimeWriter(m).AddAtTop("X", "1").WriteToAsync(ms);
        Assert.Equal("X: 1\r\n" + Msg, Encoding.UTF8.GetString(ms.ToArray()));
    }
}

public class MimeWriterNestedTests
{
    private const string Mp = """
        Subject: s
        Content-Type: multipart/mixed; boundary=b

        preamble
        --b
        Content-Type: text/plain
        X-Old: 1

        text
        --b
        Content-Type: message/rfc822

        Subject: inner
        X-Inner: i

        inner body
        --b
        straight into text
        --b--
        epilogue
        """;

    private static (MimeMessage Msg, string Text) Load(string text, bool crlf = false)
    {
        var t = text.Replace("\r\n", "\n");
        if (crlf) t = t.Replace("\n", "\r\n");
        return (MimeParser.Parse(Encoding.UTF8.GetBytes(t)), t);
    }

    private static string Out(MimeWriter w) => Encoding.UTF8.GetString(w.ToArray());

    [Fact]
    public void Part_header_edits_leave_everything_else_identical()
    {
        var (m, t) = Load(Mp);
        var part = m.Root.Children[0];
        var s = Out(new MimeWriter(m).AddAtTop(part, "X-Top", "t").AddAtEnd(part, "X-End", "e").Replace(part, "Content-Type", "text/plain; charset=utf-8"));
        Assert.Equal(t.Replace("--b\nContent-Type: text/plain\nX-Old: 1\n\ntext", "--b\nX-Top: t\nContent-Type: text/plain; charset=utf-8\nX-Old: 1\nX-End: e\n\ntext"), s);
        var r = Out(new MimeWriter(m).Remove(part, "x-old"));
        Assert.Equal(t.Replace("X-Old: 1\n", ""), r);
        var again = MimeParser.Parse(Encoding.UTF8.GetBytes(s));
        Assert.Equal("t", again.Root.Children[0].Headers["X-Top"]);
        Assert.Equal("utf-8", again.Root.Children[0].Charset);
        Assert.Equal(3, again.Root.Children.Count);
    }

    [Fact]
    public void Embedded_message_header_and_top_level_edits_combine()
    {
        var (m, t) = Load(Mp);
        var inner = m.Root.Children[1].EmbeddedMessage!.Root;
        var s = Out(new MimeWriter(m).Remove(inner, "X-Inner").AddAtTop("X-Outer", "o").AddAtEnd(m.Root.Children[1], "X-Part", "p"));
        Assert.Equal("X-Outer: o\n" + t.Replace("X-Inner: i\n", "").Replace("Content-Type: message/rfc822\n", "Content-Type: message/rfc822\nX-Part: p\n"), s);
    }

    [Fact]
    public void A_part_without_header_or_empty_line_gets_one()
    {
        var (m, t) = Load(Mp);
        var bare = m.Root.Children[2];
        Assert.Empty(bare.Headers);
        var s = Out(new MimeWriter(m).AddAtEnd(bare, "Content-Type", "text/plain"));
        Assert.Equal(t.Replace("--b\nstraight into text", "--b\nContent-Type: text/plain\n\nstraight into text"), s);
        var again = MimeParser.Parse(Encoding.UTF8.GetBytes(s));
        Assert.Equal("straight into text", again.Root.Children[2].GetText());
    }

    [Fact]
    public void Entities_of_other_messages_and_decoded_content_are_refused()
    {
        var (m, _) = Load(Mp);
        var (other, _) = Load(Mp);
        Assert.Throws<ArgumentException>(() => new MimeWriter(m).AddAtTop(other.Root.Children[0], "X", "1"));
        var b64 = Convert.ToBase64String(Encoding.ASCII.GetBytes("--i\n\nx\n--i--\n"));
        var enc = MimeParser.Parse(Encoding.ASCII.GetBytes($"Content-Type: multipart/mixed; boundary=i\nContent-Transfer-Encoding: base64\n\n{b64}\n"));
        Assert.True(enc.Root.Children[0].IsInDecodedContent);
        Assert.Throws<ArgumentException>(() => new MimeWriter(enc).Remove(enc.Root.Children[0], "X"));
        var rfc = MimeParser.Parse(Encoding.ASCII.GetBytes("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + Convert.ToBase64String("Subject: x\n\ny"u8.ToArray()) + "\n"));
        Assert.Throws<ArgumentException>(() => new MimeWriter(rfc).AddAtTop(rfc.Root.EmbeddedMessage!.Root, "X", "1"));
        // The encoded multipart itself can be edited; its encoded body is copied as it is.
        var s = new MimeWriter(enc).AddAtTop(enc.Root, "X", "1").ToArray();
        Assert.Equal(Encoding.ASCII.GetBytes($"X: 1\nContent-Type: multipart/mixed; boundary=i\nContent-Transfer-Encoding: base64\n\n{b64}\n"), s);
    }

    [Fact]
    public void Crlf_parts_get_crlf_fields()
    {
        var (m, _) = Load(Mp, crlf: true);
        var s = Out(new MimeWriter(m).AddAtTop(m.Root.Children[0], "X-New", "n"));
        Assert.Contains("--b\r\nX-New: n\r\nContent-Type: text/plain\r\n", s);
    }

    [Fact]
    public void Editing_every_corpus_part_changes_only_those_headers()
    {
        if (Corpus.Directory is null) return;
        int edited = 0;
        foreach (var f in Corpus.Files())
        {
            var bytes = File.ReadAllBytes(f);
            var m = MimeParser.Parse(bytes);
            var parts = m.Entities.Where(e => e != m.Root && !e.IsInDecodedContent).ToList();
            if (parts.Count == 0) continue;
            var w = new MimeWriter(m);
            foreach (var p in parts) w.AddAtTop(p, "X-Part-Mark", "1");
            var again = MimeParser.Parse(w.ToArray());
            var parts2 = again.Entities.Where(e => e != again.Root && !e.IsInDecodedContent).ToList();
            Assert.True(parts.Count == parts2.Count, Path.GetFileName(f));
            for (int i = 0; i < parts.Count; i++)
            {
                Assert.True(parts2[i].Headers.Get("X-Part-Mark") is not null, $"{Path.GetFileName(f)} part {i}");
                Assert.Equal(parts[i].MimeType, parts2[i].MimeType);
                Assert.True(parts[i].RawBody.Span.SequenceEqual(parts2[i].RawBody.Span) || parts[i].IsMultipart || parts[i].EmbeddedMessage is not null, $"{Path.GetFileName(f)} part {i} body");
            }
            // Removing the marks again gives the original bytes.
            var back = new MimeWriter(again);
            foreach (var p in parts2) back.Remove(p, "X-Part-Mark");
            Assert.True(bytes.AsSpan().SequenceEqual(back.ToArray()), Path.GetFileName(f));
            edited++;
        }
        Assert.True(edited > 500, $"only {edited} multipart messages");
    }
}
