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
