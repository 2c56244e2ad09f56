using System.Text;

namespace Assp.Mime.Tests;

public class UuencodeTests
{
    [Fact]
    public void Round_trip_and_find_in_text_part()
    {
        var data = Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray();
        var text = "Hi, see the file below\n\n" + Uuencode.Encode(data, "dir/evil.exe", 0x1ED) + "\nbye\n";
        var m = TestUtil.Parse("Subject: uu\n\n" + text, lf: true);
        var item = Assert.Single(m.UuencodedAttachments);
        Assert.Equal("evil.exe", item.FileName);
        Assert.Equal(0x1ED, item.Mode);
        Assert.Equal(data, item.Content);
        Assert.Equal(300, item.DecodedSize);
    }

    [Fact]
    public void Unterminated_and_fake_begin_lines()
    {
        var items = Uuencode.Find(Encoding.ASCII.GetBytes("begin here we go\nbegin 644 a.txt\n#86)C\n"));
        var item = Assert.Single(items);
        Assert.Equal("abc", Encoding.ASCII.GetString(item.Content));
        Assert.Empty(Uuencode.Find(Encoding.ASCII.GetBytes("let us begin 644 x\n")));
    }
}
