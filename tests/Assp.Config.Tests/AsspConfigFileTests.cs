using System.Text;
using Assp.Config.Files;

namespace Assp.Config.Tests;

public class AsspConfigFileTests
{
    [Theory]
    [InlineData("a:=1\nb:=two\nConfigSavedOK:=1\n")]
    [InlineData("a:=1\r\nb:=x:=y\r\nConfigSavedOK:=1\r\n")]
    [InlineData("# comment\n\njunk line\nname:=\nConfigSavedOK:=1")]
    [InlineData("")]
    public void Unchanged_files_round_trip_byte_for_byte(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var file = AsspConfigFile.Parse(bytes);
        Assert.Equal(bytes, file.ToBytes(ensureSavedMarker: false));
    }

    [Fact]
    public void Latin1_bytes_and_a_bom_survive_a_round_trip()
    {
        byte[] latin1 = [.. Encoding.ASCII.GetBytes("spamSubject:=[Spam "), 0xE9, .. Encoding.ASCII.GetBytes("]\nConfigSavedOK:=1\n")];
        Assert.Equal(latin1, AsspConfigFile.Parse(latin1).ToBytes());
        byte[] bom = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("a:=ü\nConfigSavedOK:=1\n")];
        var file = AsspConfigFile.Parse(bom);
        Assert.Equal("ü", file.Get("a"));
        Assert.Equal(bom, file.ToBytes());
    }

    [Fact]
    public void Values_keep_everything_after_the_first_separator()
    {
        var file = AsspConfigFile.Parse(Encoding.UTF8.GetBytes("re:=a:=b|c=>1\n"));
        Assert.Equal("a:=b|c=>1", file.Get("re"));
    }

    [Fact]
    public void Set_changes_only_its_line_and_keeps_crlf()
    {
        var file = AsspConfigFile.Parse(Encoding.UTF8.GetBytes("a:=1\r\nb:=2\r\nConfigSavedOK:=1\r\n"));
        file.Set("b", "3");
        file.Set("c", "new");
        Assert.Equal("a:=1\r\nb:=3\r\nc:=new\r\nConfigSavedOK:=1\r\n", Encoding.UTF8.GetString(file.ToBytes()));
    }

    [Fact]
    public void The_last_duplicate_counts_and_is_the_one_changed()
    {
        var file = AsspConfigFile.Parse(Encoding.UTF8.GetBytes("a:=1\na:=2\n"));
        Assert.Equal("2", file.Get("a"));
        file.Set("a", "9");
        Assert.Equal("a:=1\na:=9\nConfigSavedOK:=1\n", Encoding.UTF8.GetString(file.ToBytes()));
    }

    [Fact]
    public void Saving_adds_the_closing_marker_and_keeps_a_backup()
    {
        using var dir = new TestPaths.TempDir();
        var path = dir.File("assp.cfg", "a:=1\n");
        var file = AsspConfigFile.Load(path);
        Assert.False(file.HasSavedMarker);
        file.Set("a", "2");
        file.Save(path);
        Assert.Equal("a:=2\nConfigSavedOK:=1\n", File.ReadAllText(path));
        Assert.Equal("a:=1\n", File.ReadAllText(path + ".bak"));
    }

    [Fact]
    public void Multi_line_values_are_refused()
    {
        var file = AsspConfigFile.CreateEmpty();
        Assert.Throws<ArgumentException>(() => file.Set("a", "x\ny"));
    }
}
